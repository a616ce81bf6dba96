//! Request-URI syntax: scheme, characters, escapes, and the parts a SIP URI may not carry
//! in a Request-Line.

use crate::lex::escaped;
use crate::verdict::{Refusal, RefusalCode};

/// The scheme of `uri` (`ALPHA *(ALPHA / DIGIT / "+" / "-" / ".") ":"`) and what follows it.
pub(crate) fn split_scheme(uri: &[u8]) -> Option<(&[u8], &[u8])> {
    let colon = uri.iter().position(|&b| b == b':')?;
    let scheme = &uri[..colon];
    let (first, rest) = scheme.split_first()?;
    let valid = first.is_ascii_alphabetic()
        && rest
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'));
    valid.then(|| (scheme, &uri[colon + 1..]))
}

/// Schemes this element routes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scheme {
    Sip,
    Tel,
    Other,
}

fn uri_fault(detail: impl Into<String>) -> Refusal {
    Refusal::new(RefusalCode::MalformedRequestUri, detail)
}

/// Characters RFC 3261 allows anywhere in a SIP URI: unreserved, reserved, `%` for escapes
/// and the IPv6 brackets.
fn is_sip_uri_char(b: u8) -> bool {
    b.is_ascii_alphanumeric()
        || matches!(
            b,
            b'-' | b'_' | b'.' | b'!' | b'~' | b'*' | b'\'' | b'(' | b')' // unreserved marks
                | b';' | b'/' | b'?' | b':' | b'@' | b'&' | b'=' | b'+' | b'$' | b',' // reserved
                | b'%' | b'[' | b']'
        )
}

/// Checks a Request-URI and says which kind of scheme it has. A scheme outside sip/sips/tel is
/// not a syntax fault here: the caller answers it 416 once the rest of the request is known good.
pub(crate) fn check_request_uri(uri: &[u8]) -> Result<Scheme, Refusal> {
    if uri.first() == Some(&b'<') {
        return Err(uri_fault("Request-URI enclosed in <>"));
    }
    if let Some(&bad) = uri
        .iter()
        .find(|&&b| !(0x21..0x7f).contains(&b) || matches!(b, b'<' | b'>' | b'"'))
    {
        return Err(uri_fault(format!(
            "Request-URI has a forbidden character {}",
            escaped(&[bad])
        )));
    }
    let Some((scheme, rest)) = split_scheme(uri) else {
        return Err(uri_fault(format!(
            "Request-URI has no scheme: {}",
            escaped(uri)
        )));
    };
    if rest.is_empty() {
        return Err(uri_fault("Request-URI is only a scheme"));
    }
    if scheme.eq_ignore_ascii_case(b"tel") {
        return Ok(Scheme::Tel);
    }
    if !(scheme.eq_ignore_ascii_case(b"sip") || scheme.eq_ignore_ascii_case(b"sips")) {
        return Ok(Scheme::Other);
    }
    if let Some(&bad) = rest.iter().find(|&&b| !is_sip_uri_char(b)) {
        return Err(uri_fault(format!(
            "SIP Request-URI has a forbidden character {}",
            escaped(&[bad])
        )));
    }
    check_escapes(rest)?;
    // userinfo never contains a raw '@' (RFC 3261 §25.1), so the first one ends it; '?' in the
    // userinfo is legal (RFC 4475 §3.1.1.2) but after the host it starts headers.
    let hostport_etc = match rest.iter().position(|&b| b == b'@') {
        Some(at) => &rest[at + 1..],
        None => rest,
    };
    if hostport_etc.contains(&b'@') {
        return Err(uri_fault("SIP Request-URI has more than one @"));
    }
    if hostport_etc.contains(&b'?') {
        return Err(uri_fault(
            "SIP Request-URI carries escaped headers (RFC 3261 §19.1.5 forbids them there)",
        ));
    }
    let host_end = hostport_etc
        .iter()
        .position(|&b| b == b';')
        .unwrap_or(hostport_etc.len());
    if host_end == 0 {
        return Err(uri_fault("SIP Request-URI has no host"));
    }
    Ok(Scheme::Sip)
}

/// Every `%` must start a `%HEXHEX` escape.
fn check_escapes(s: &[u8]) -> Result<(), Refusal> {
    let mut i = 0;
    while i < s.len() {
        if s[i] == b'%' {
            let ok = s.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
                && s.get(i + 2).is_some_and(u8::is_ascii_hexdigit);
            if !ok {
                return Err(uri_fault("SIP Request-URI has a malformed % escape"));
            }
            i += 3;
        } else {
            i += 1;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(uri: &[u8]) -> Result<Scheme, RefusalCode> {
        check_request_uri(uri).map_err(|r| r.code)
    }

    #[test]
    fn accepts_the_valid_torture_uris() {
        assert_eq!(
            code(b"sip:vivekg@chair-dnrc.example.com;unknownparam"),
            Ok(Scheme::Sip)
        );
        assert_eq!(
            code(b"sip:1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*:&it+has=1,weird!*pas$wo~d_too.(doesn't-it)@example.com"),
            Ok(Scheme::Sip)
        );
        assert_eq!(
            code(b"sip:sips%3Auser%40example.com@example.net"),
            Ok(Scheme::Sip)
        );
        assert_eq!(
            code(b"sip:user;par=u%40example.net@example.com"),
            Ok(Scheme::Sip)
        );
        assert_eq!(code(b"SIPS:[2001:db8::1]:5061"), Ok(Scheme::Sip));
        assert_eq!(code(b"tel:+12345"), Ok(Scheme::Tel));
    }

    #[test]
    fn other_schemes_are_reported_not_refused() {
        assert_eq!(code(b"soap.beep://192.0.2.103:3002"), Ok(Scheme::Other));
        assert_eq!(
            code(b"nobodyKnowsThisScheme:totallyopaquecontent"),
            Ok(Scheme::Other)
        );
    }

    #[test]
    fn refuses_malformed_uris() {
        let bad: [&[u8]; 9] = [
            b"<sip:user@example.com>",
            b"sip:user@example.com?Route=%3Csip:example.com%3E",
            b"sip:host?subject=x",
            b"sip:a%4@example.com",
            b"sip:a%zz@example.com",
            b"example.com",
            b"sip:",
            b"sip:a@b@c",
            b"sip:a\x80@b",
        ];
        for uri in bad {
            assert_eq!(
                code(uri),
                Err(RefusalCode::MalformedRequestUri),
                "{}",
                escaped(uri)
            );
        }
    }

    #[test]
    fn scheme_split_rejects_non_scheme_prefixes() {
        assert_eq!(
            split_scheme(b"isbn:2983"),
            Some((&b"isbn"[..], &b"2983"[..]))
        );
        assert_eq!(split_scheme(b"1sip:x"), None);
        assert_eq!(split_scheme(b":x"), None);
        assert_eq!(split_scheme(b"no colon"), None);
    }
}
