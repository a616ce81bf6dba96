//! From, To and Contact values: `(name-addr / addr-spec) *(SEMI param)` (RFC 3261 §20.10, §25.1).

use crate::lex::{Cursor, QuotedError, escaped, is_lws, is_token, parse_digits};
use crate::uri::split_scheme;
use crate::verdict::{Refusal, RefusalCode};

fn fault(header: &str, detail: impl std::fmt::Display) -> Refusal {
    Refusal::new(RefusalCode::MalformedAddress, format!("{header}: {detail}"))
}

/// Checks a From or To value (`list == false`) or a Contact value (`list == true`: a comma list,
/// or `*`). `header` names the field in the refusal detail.
pub(crate) fn check_address(value: &[u8], header: &str, list: bool) -> Result<(), Refusal> {
    let mut c = Cursor::new(value);
    c.skip_lws();
    if list && c.peek() == Some(b'*') {
        c.eat(b'*');
        c.skip_lws();
        if c.at_end() {
            return Ok(());
        }
        c.reset(0);
        c.skip_lws();
    }
    loop {
        address(&mut c, header)?;
        params(&mut c, header)?;
        c.skip_lws();
        match c.peek() {
            None => return Ok(()),
            Some(b',') if list => {
                c.eat(b',');
                c.skip_lws();
            }
            Some(b',') => return Err(fault(header, "more than one value")),
            Some(b) => {
                return Err(fault(
                    header,
                    format_args!("unexpected {} after the address", escaped(&[b])),
                ));
            }
        }
    }
}

/// The URI part: `[display-name] <URI>` or a bare URI.
fn address(c: &mut Cursor<'_>, header: &str) -> Result<(), Refusal> {
    match c.peek() {
        Some(b'"') => {
            c.quoted_string().map_err(|e| match e {
                QuotedError::Unterminated => fault(header, "unterminated quoted display name"),
                QuotedError::BadChar => fault(header, "bad character in quoted display name"),
            })?;
            c.skip_lws();
            if c.peek() != Some(b'<') {
                return Err(fault(header, "quoted display name not followed by <URI>"));
            }
            bracketed_uri(c, header)
        }
        Some(b'<') => bracketed_uri(c, header),
        Some(_) => display_tokens_or_addr_spec(c, header),
        None => Err(fault(header, "empty value")),
    }
}

/// Unquoted display-name characters: `token`, plus UTF-8 beyond the grammar. Phones here send
/// names like `张三 <sip:...>` unquoted; those bytes cannot be mistaken for a separator, unlike
/// the ASCII ones (`,` in RFC 4475 §3.1.2.15) that stay refused.
fn is_display_char(b: u8) -> bool {
    is_token(b) || b >= 0x80
}

/// Tells an unquoted display name (`*(token LWS)` before `<`) from a bare addr-spec: a token
/// directly followed by `:` is a URI scheme.
fn display_tokens_or_addr_spec(c: &mut Cursor<'_>, header: &str) -> Result<(), Refusal> {
    let start = c.pos();
    let mut first = true;
    loop {
        let token = c.take_while(is_display_char);
        if token.is_empty() {
            return Err(fault(
                header,
                format_args!(
                    "display name has a non-token character {}",
                    escaped(&c.rest()[..c.rest().len().min(1)])
                ),
            ));
        }
        if first && c.peek() == Some(b':') {
            c.reset(start);
            return addr_spec(c, header);
        }
        first = false;
        c.skip_lws();
        match c.peek() {
            Some(b'<') => return bracketed_uri(c, header),
            Some(b) if is_display_char(b) => {}
            Some(b) => {
                return Err(fault(
                    header,
                    format_args!(
                        "display name has a non-token character {} (quote it)",
                        escaped(&[b])
                    ),
                ));
            }
            None => return Err(fault(header, "display name without a URI")),
        }
    }
}

/// `<URI>`: no whitespace inside the brackets (RFC 4475 §3.1.2.14), a scheme, a closing `>`.
fn bracketed_uri(c: &mut Cursor<'_>, header: &str) -> Result<(), Refusal> {
    c.eat(b'<');
    let uri = c.take_while(|b| b != b'>');
    if !c.eat(b'>') {
        return Err(fault(header, "< without >"));
    }
    if uri.iter().any(|&b| is_lws(b)) {
        return Err(fault(header, "whitespace inside <>"));
    }
    check_uri(uri, header)
}

/// A URI outside brackets ends at `;` (header parameters follow), `,` or whitespace. RFC 3261
/// §20.10: a URI holding `,`, `?` or `;` must be bracketed, so `?` here is a fault
/// (RFC 4475 §3.1.2.13).
fn addr_spec(c: &mut Cursor<'_>, header: &str) -> Result<(), Refusal> {
    let uri = c.take_while(|b| !matches!(b, b';' | b',') && !is_lws(b));
    if uri.contains(&b'?') {
        return Err(fault(header, "URI with ? must be enclosed in <>"));
    }
    if uri.iter().any(|&b| matches!(b, b'<' | b'>' | b'"')) {
        return Err(fault(header, "URI has <, > or \" in it"));
    }
    check_uri(uri, header)
}

fn check_uri(uri: &[u8], header: &str) -> Result<(), Refusal> {
    match split_scheme(uri) {
        Some((_, rest)) if !rest.is_empty() => {}
        _ => return Err(fault(header, format_args!("not a URI: {}", escaped(uri)))),
    }
    if uri.iter().any(|&b| b < 0x21 || b == 0x7f) {
        return Err(fault(header, "control character in the URI"));
    }
    Ok(())
}

/// `*(SEMI generic-param)`; stops before a `,` or the end.
fn params(c: &mut Cursor<'_>, header: &str) -> Result<(), Refusal> {
    loop {
        c.skip_lws();
        if !c.eat(b';') {
            return Ok(());
        }
        c.skip_lws();
        let name = c.take_while(is_token);
        if name.is_empty() {
            return Err(fault(header, "empty parameter"));
        }
        c.skip_lws();
        if !c.eat(b'=') {
            continue;
        }
        c.skip_lws();
        if c.peek() == Some(b'"') {
            c.quoted_string()
                .map_err(|_| fault(header, "malformed quoted parameter value"))?;
            continue;
        }
        // gen-value = token / host / quoted-string; host adds ':' and brackets (IPv6).
        let value = c.take_while(|b| is_token(b) || matches!(b, b':' | b'[' | b']'));
        if value.is_empty() {
            return Err(fault(header, "parameter with = but no value"));
        }
        if name.eq_ignore_ascii_case(b"expires")
            && parse_digits(value).is_none_or(|n| n > u64::from(u32::MAX))
        {
            return Err(Refusal::new(
                RefusalCode::ExpiresOutOfRange,
                format!("{header} expires parameter: {}", escaped(value)),
            ));
        }
    }
}

/// Whether a To (or From) value carries a `tag` parameter; `None` when its quotes or brackets
/// do not balance, so there is no sound place to put one. Lenient otherwise: it runs on values
/// that may have failed validation (building a 400).
pub(crate) fn tag_state(value: &[u8]) -> Option<bool> {
    let mut c = Cursor::new(value);
    let mut params_start = None;
    while let Some(b) = c.peek() {
        match b {
            b'"' => {
                if c.quoted_string().is_err() {
                    return None;
                }
            }
            b'<' => {
                c.take_while(|b| b != b'>');
                if !c.eat(b'>') {
                    return None;
                }
                params_start = Some(c.pos());
                break;
            }
            b';' => {
                params_start = Some(c.pos());
                break;
            }
            _ => {
                c.eat(b);
            }
        }
    }
    let Some(start) = params_start else {
        return Some(false);
    };
    c.reset(start);
    loop {
        c.take_while(|b| b != b';' && b != b'"');
        if c.peek() == Some(b'"') {
            if c.quoted_string().is_err() {
                return None;
            }
            continue;
        }
        if !c.eat(b';') {
            return Some(false);
        }
        c.skip_lws();
        let name = c.take_while(is_token);
        if name.eq_ignore_ascii_case(b"tag") {
            return Some(true);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn single(v: &[u8]) -> Result<(), RefusalCode> {
        check_address(v, "To", false).map_err(|r| r.code)
    }

    fn list(v: &[u8]) -> Result<(), RefusalCode> {
        check_address(v, "Contact", true).map_err(|r| r.code)
    }

    #[test]
    fn accepts_the_valid_torture_forms() {
        let ok: [&[u8]; 12] = [
            b"\r\n sip:vivekg@chair-dnrc.example.com ;   tag    = 1918181833n",
            b" \"J Rosenberg \\\\\\\"\"       <sip:jdrosen@example.com>\r\n  ;\r\n  tag = 98asjd8",
            b" caller<sip:caller@example.com>;tag=323",
            b" \"BEL:\\\x07 NUL:\\\x00 DEL:\\\x7f\" <sip:1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*@example.com>",
            b" token1~` token2'+_ token3*%!.- <sip:mundane@example.com>;fromParam''~+*_!.-%=\"\xd1\x80\xd0\xb0\";tag=_token~1'+`*%!-.",
            b" \"%Z%45\" <sip:resource@example.com>",
            b" isbn:2983792873",
            b" <http://www.example.com>;tag=3234233",
            b" sip:+19725552222@gw1.example.net;unknownparam",
            b" <sip:user@[2001:db8::1]>;received=[2001:db8::2]",
            b" sip:user@example.com;tag=a;maddr=192.0.2.1",
            b" \"\" <sip:a@b>",
        ];
        for v in ok {
            assert_eq!(single(v), Ok(()), "{}", escaped(v));
        }
    }

    #[test]
    fn unquoted_utf8_display_names_pass() {
        assert_eq!(
            single(" 张三 <sip:8001@example.com>;tag=1".as_bytes()),
            Ok(())
        );
        assert_eq!(
            single(" 张三,李四 <sip:8001@example.com>".as_bytes()),
            Err(RefusalCode::MalformedAddress)
        );
    }

    #[test]
    fn refuses_the_invalid_torture_forms() {
        let bad: [&[u8]; 11] = [
            b" \"Mr. J. User <sip:j.user@example.com>",
            b"    Bell, Alexander <sip:a.g.bell@example.com>;tag=43",
            b" \"Watson, Thomas\" < sip:t.watson@example.org >",
            b" sip:user@example.com?Route=%3Csip:sip.example.com%3E",
            b" sip:a@b, sip:c@d",
            b" Bob",
            b" <sip:a@b",
            b" <nouri>",
            b" sip:a@b;;tag=1",
            b" sip:a@b;tag=",
            b"",
        ];
        for v in bad {
            assert_eq!(
                single(v),
                Err(RefusalCode::MalformedAddress),
                "{}",
                escaped(v)
            );
        }
    }

    #[test]
    fn contact_lists_stars_and_expires() {
        assert_eq!(list(b" *"), Ok(()));
        assert_eq!(
            list(b" <sip:a@b>, \"x, y\" <sip:c@d>;q=0.5 , sip:e@f"),
            Ok(())
        );
        assert_eq!(
            list(b"\r\n  <sip:cal%6Cer@host5.example.net;%6C%72;n%61me=v%61lue%25%34%31>"),
            Ok(())
        );
        assert_eq!(list(b" <sip:a@b>;expires=4294967295"), Ok(()));
        assert_eq!(
            list(b" <sip:user@host129.example.com>\r\n  ;expires=280297596632815"),
            Err(RefusalCode::ExpiresOutOfRange)
        );
        assert_eq!(
            list(b" <sip:a@b>;expires=soon"),
            Err(RefusalCode::ExpiresOutOfRange)
        );
        assert_eq!(list(b" *, <sip:a@b>"), Err(RefusalCode::MalformedAddress));
        assert_eq!(list(b" <sip:a@b>,"), Err(RefusalCode::MalformedAddress));
    }

    #[test]
    fn tag_detection_ignores_uri_params_and_quotes() {
        assert_eq!(tag_state(b"sip:a@b;tag=1"), Some(true));
        assert_eq!(tag_state(b" <sip:a@b> ; TAG = 1"), Some(true));
        assert_eq!(
            tag_state(b"\"x;tag=y\" <sip:a@b;foo>;x=\"q;\";tag=2"),
            Some(true)
        );
        assert_eq!(tag_state(b"<sip:a@b;tag=1>"), Some(false));
        assert_eq!(tag_state(b"\"tag;tag=1\" <sip:a@b>"), Some(false));
        assert_eq!(tag_state(b"sip:a@b;tagx=1"), Some(false));
        assert_eq!(tag_state(b""), Some(false));
        assert_eq!(tag_state(b"\"Mr. J. User <sip:j.user@example.com>"), None);
        assert_eq!(tag_state(b"<sip:a@b;tag=1"), None);
        assert_eq!(tag_state(b"<sip:a@b>;x=\"open;tag=1"), None);
    }
}
