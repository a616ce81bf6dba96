//! Via values: `sent-protocol LWS sent-by *(SEMI via-params)`, comma-separated (RFC 3261 §20.42).

use crate::lex::{Cursor, escaped, is_token};
use crate::verdict::{Refusal, RefusalCode};

/// RFC 3261 §8.1.1.7: branches of RFC 3261 elements start with this.
const MAGIC_COOKIE: &[u8] = b"z9hG4bK";

fn fault(detail: impl Into<String>) -> Refusal {
    Refusal::new(RefusalCode::MalformedVia, detail)
}

/// Checks one Via header field value (possibly several via-parms).
pub(crate) fn check_via(value: &[u8]) -> Result<(), Refusal> {
    let mut c = Cursor::new(value);
    loop {
        c.skip_lws();
        via_parm(&mut c)?;
        c.skip_lws();
        match c.peek() {
            None => return Ok(()),
            Some(b',') => {
                c.eat(b',');
            }
            Some(b) => {
                return Err(fault(format!("unexpected {} in Via", escaped(&[b]))));
            }
        }
    }
}

fn via_parm(c: &mut Cursor<'_>) -> Result<(), Refusal> {
    // sent-protocol = protocol-name SLASH protocol-version SLASH transport, LWS around slashes.
    let name = c.take_while(is_token);
    c.skip_lws();
    if !c.eat(b'/') {
        return Err(fault("sent-protocol lacks /"));
    }
    c.skip_lws();
    let version = c.take_while(is_token);
    c.skip_lws();
    if !c.eat(b'/') {
        return Err(fault("sent-protocol lacks the second /"));
    }
    c.skip_lws();
    let transport = c.take_while(is_token);
    if !name.eq_ignore_ascii_case(b"SIP") || version != b"2.0" {
        return Err(fault(format!(
            "sent-protocol is not SIP/2.0: {}/{}",
            escaped(name),
            escaped(version)
        )));
    }
    if transport.is_empty() {
        return Err(fault("sent-protocol has no transport"));
    }
    if !c.skip_lws() {
        return Err(fault("no whitespace before sent-by"));
    }
    sent_by(c)?;
    via_params(c)
}

/// `host [COLON port]`. Hostnames are allowed `_` beyond the grammar: it is common in the wild
/// and harmless here.
fn sent_by(c: &mut Cursor<'_>) -> Result<(), Refusal> {
    if c.eat(b'[') {
        let ip6 = c.take_while(|b| b.is_ascii_hexdigit() || b == b':' || b == b'.');
        if ip6.is_empty() || !c.eat(b']') {
            return Err(fault("malformed IPv6 reference in sent-by"));
        }
    } else {
        let host = c.take_while(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_'));
        if host.is_empty() {
            return Err(fault("sent-by has no host"));
        }
    }
    let before_colon = c.pos();
    c.skip_lws();
    if c.eat(b':') {
        c.skip_lws();
        let port = c.take_while(|b| b.is_ascii_digit());
        if port.is_empty() || crate::lex::parse_digits(port).is_none_or(|p| p > 65_535) {
            return Err(fault("sent-by port is not 0-65535"));
        }
    } else {
        c.reset(before_colon);
    }
    Ok(())
}

/// `*(SEMI via-params)`; the branch may not be the bare magic cookie (RFC 4475 §3.2.1).
fn via_params(c: &mut Cursor<'_>) -> Result<(), Refusal> {
    loop {
        c.skip_lws();
        if !c.eat(b';') {
            return Ok(());
        }
        c.skip_lws();
        let name = c.take_while(is_token);
        if name.is_empty() {
            return Err(fault("empty Via parameter"));
        }
        c.skip_lws();
        if !c.eat(b'=') {
            continue;
        }
        c.skip_lws();
        let value = if c.peek() == Some(b'"') {
            c.quoted_string()
                .map_err(|_| fault("malformed quoted Via parameter value"))?
        } else {
            c.take_while(|b| is_token(b) || matches!(b, b':' | b'[' | b']'))
        };
        if value.is_empty() {
            return Err(fault(format!(
                "Via parameter {} has = but no value",
                escaped(name)
            )));
        }
        if name.eq_ignore_ascii_case(b"branch") && value == MAGIC_COOKIE {
            return Err(Refusal::new(
                RefusalCode::MagicCookieOnlyBranch,
                "branch is exactly z9hG4bK",
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn via(v: &[u8]) -> Result<(), RefusalCode> {
        check_via(v).map_err(|r| r.code)
    }

    #[test]
    fn accepts_folded_and_spaced_vias() {
        let ok: [&[u8]; 8] = [
            b" SIP/2.0/UDP host.example.com;branch=z9hG4bKkdjuw",
            b" SIP  /   2.0\r\n /UDP\r\n    192.0.2.2;branch=390skdjuw",
            b"  SIP  / 2.0  / TCP     spindle.example.com   ;\r\n  branch  =   z9hG4bK9ikj8  ,\r\n SIP  /    2.0   / UDP  192.168.255.111   ; branch=\r\n z9hG4bK30239",
            b" SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-d87543-4dade06d0bdb11ee-1--d87543-;rport",
            b" SIP/2.0/UNKNOWN t4.example.com;branch=z9hG4bKasd0f3en",
            b" SIP/2.0/TCP host.example.com;received=192.0.2.5;branch=long",
            b" SIP/2.0/UDP [2001:db8::9]:5060;received=2001:db8::1;branch=z9hG4bKx",
            b" SIP/2.0/UDP iftgw.example.com",
        ];
        for v in ok {
            assert_eq!(via(v), Ok(()), "{}", escaped(v));
        }
    }

    #[test]
    fn refuses_broken_vias() {
        let bad: [&[u8]; 9] = [
            b" SIP/2.0/UDP 192.0.2.15;;,;,,",
            b" SIP/2.0/UDP host;branch=",
            b" SIP/2.0/UDP",
            b" SIP/2.0/UDP host:99999",
            b" SIP/7.0/UDP host",
            b" SIP/2.0 host",
            b" SIP/2.0/UDP host,",
            b" SIP/2.0/UDP ho st",
            b"",
        ];
        for v in bad {
            assert_eq!(via(v), Err(RefusalCode::MalformedVia), "{}", escaped(v));
        }
    }

    #[test]
    fn magic_cookie_alone_is_not_a_branch() {
        assert_eq!(
            via(b" SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK"),
            Err(RefusalCode::MagicCookieOnlyBranch)
        );
        assert_eq!(via(b" SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1"), Ok(()));
    }
}
