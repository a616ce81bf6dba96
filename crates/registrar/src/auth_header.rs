//! Parsing of an `Authorization` / `Proxy-Authorization` header value (RFC 3261 §25.1 credentials).

use crate::lex::{is_lws, quoted_string, skip_lws};
use std::borrow::Cow;

/// The digest parameters the verifier needs; quoted values are unescaped only when they contain `\`.
#[derive(Debug, Default)]
pub(crate) struct DigestCredentials<'a> {
    pub(crate) username: Option<Cow<'a, str>>,
    pub(crate) realm: Option<Cow<'a, str>>,
    pub(crate) nonce: Option<Cow<'a, str>>,
    pub(crate) uri: Option<Cow<'a, str>>,
    pub(crate) response: Option<Cow<'a, str>>,
    pub(crate) algorithm: Option<Cow<'a, str>>,
    pub(crate) qop: Option<Cow<'a, str>>,
    pub(crate) nc: Option<Cow<'a, str>>,
    pub(crate) cnonce: Option<Cow<'a, str>>,
    pub(crate) opaque: Option<Cow<'a, str>>,
    pub(crate) userhash: Option<Cow<'a, str>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum HeaderError {
    UnsupportedScheme,
    Malformed(&'static str),
}

fn is_token_byte(b: u8) -> bool {
    !is_lws(b) && !matches!(b, b',' | b'=' | b'"') && b.is_ascii_graphic()
}

pub(crate) fn parse(value: &str) -> Result<DigestCredentials<'_>, HeaderError> {
    let s = value.as_bytes();
    let mut i = skip_lws(s, 0);
    let scheme_start = i;
    while i < s.len() && is_token_byte(s[i]) {
        i += 1;
    }
    let scheme = &value[scheme_start..i];
    if scheme.is_empty() {
        return Err(HeaderError::Malformed("missing auth scheme"));
    }
    if !scheme.eq_ignore_ascii_case("Digest") {
        return Err(HeaderError::UnsupportedScheme);
    }
    if i < s.len() && !is_lws(s[i]) {
        return Err(HeaderError::Malformed("bad auth scheme"));
    }

    let mut out = DigestCredentials::default();
    loop {
        i = skip_lws(s, i);
        while i < s.len() && (s[i] == b',' || is_lws(s[i])) {
            i += 1;
        }
        if i >= s.len() {
            break;
        }
        let name_start = i;
        while i < s.len() && is_token_byte(s[i]) {
            i += 1;
        }
        let name = &value[name_start..i];
        if name.is_empty() {
            return Err(HeaderError::Malformed("bad parameter name"));
        }
        i = skip_lws(s, i);
        if i >= s.len() || s[i] != b'=' {
            return Err(HeaderError::Malformed("parameter without value"));
        }
        i = skip_lws(s, i + 1);
        let v: Cow<'_, str> = if i < s.len() && s[i] == b'"' {
            let (v, next) =
                quoted_string(value, i).ok_or(HeaderError::Malformed("unterminated quote"))?;
            i = next;
            v
        } else {
            let start = i;
            while i < s.len() && is_token_byte(s[i]) {
                i += 1;
            }
            if start == i {
                return Err(HeaderError::Malformed("empty parameter value"));
            }
            Cow::Borrowed(&value[start..i])
        };
        i = skip_lws(s, i);
        if i < s.len() && s[i] != b',' {
            return Err(HeaderError::Malformed("missing comma between parameters"));
        }

        let slot = match param_kind(name) {
            Some(Param::Username) => &mut out.username,
            Some(Param::Realm) => &mut out.realm,
            Some(Param::Nonce) => &mut out.nonce,
            Some(Param::Uri) => &mut out.uri,
            Some(Param::Response) => &mut out.response,
            Some(Param::Algorithm) => &mut out.algorithm,
            Some(Param::Qop) => &mut out.qop,
            Some(Param::Nc) => &mut out.nc,
            Some(Param::Cnonce) => &mut out.cnonce,
            Some(Param::Opaque) => &mut out.opaque,
            Some(Param::Userhash) => &mut out.userhash,
            None => continue,
        };
        if slot.is_some() {
            return Err(HeaderError::Malformed("duplicate parameter"));
        }
        *slot = Some(v);
    }
    Ok(out)
}

enum Param {
    Username,
    Realm,
    Nonce,
    Uri,
    Response,
    Algorithm,
    Qop,
    Nc,
    Cnonce,
    Opaque,
    Userhash,
}

/// Case-insensitive match of the known parameter names without allocating.
fn param_kind(name: &str) -> Option<Param> {
    const NAMES: [(&str, Param); 11] = [
        ("username", Param::Username),
        ("realm", Param::Realm),
        ("nonce", Param::Nonce),
        ("uri", Param::Uri),
        ("response", Param::Response),
        ("algorithm", Param::Algorithm),
        ("qop", Param::Qop),
        ("nc", Param::Nc),
        ("cnonce", Param::Cnonce),
        ("opaque", Param::Opaque),
        ("userhash", Param::Userhash),
    ];
    NAMES
        .into_iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, p)| p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_quoted_tokens_and_escapes() {
        let c = parse(
            "Digest username=\"Mu\\\"fasa\",realm=\"r\" ,\r\n nonce=\"n\", uri=\"sip:a\", \
             response=\"abc\", algorithm=MD5, qop=auth, nc=00000001, cnonce=\"c\", extra=1",
        )
        .expect("parses");
        assert_eq!(c.username.as_deref(), Some("Mu\"fasa"));
        assert_eq!(c.realm.as_deref(), Some("r"));
        assert_eq!(c.algorithm.as_deref(), Some("MD5"));
        assert_eq!(c.qop.as_deref(), Some("auth"));
        assert_eq!(c.nc.as_deref(), Some("00000001"));
        assert!(c.opaque.is_none());
    }

    #[test]
    fn rejects_broken_input() {
        assert_eq!(
            parse("NoOneKnowsThisScheme opaque-data=here").err(),
            Some(HeaderError::UnsupportedScheme)
        );
        assert!(matches!(
            parse("Digest realm=\"x"),
            Err(HeaderError::Malformed(_))
        ));
        assert!(matches!(
            parse("Digest realm=\"x\" nonce=\"y\""),
            Err(HeaderError::Malformed(_))
        ));
        assert!(matches!(
            parse("Digest realm=\"x\", realm=\"y\""),
            Err(HeaderError::Malformed(_))
        ));
        assert!(matches!(parse(""), Err(HeaderError::Malformed(_))));
    }
}
