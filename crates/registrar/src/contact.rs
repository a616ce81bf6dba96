//! Contact header values (RFC 3261 §20.10, §25.1): `*`, name-addr and addr-spec forms, contact
//! params. The binding URI is kept verbatim (no unescaping, so `%00` stays three characters).

use crate::lex::{is_lws, quoted_string, skip_lws};
use std::borrow::Cow;

/// Why a Contact value was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ContactError {
    #[error("empty contact")]
    Empty,
    #[error("unterminated quoted string")]
    UnterminatedQuote,
    #[error("missing '>'")]
    UnterminatedAngle,
    #[error("a URI with ',', ';' or '?' must be enclosed in <>")]
    NeedsAngleBrackets,
    #[error("contact URI scheme is not sip or sips")]
    UnsupportedScheme,
    #[error("bad contact parameter")]
    BadParam,
    #[error("bad q value")]
    BadQ,
    #[error("unexpected characters after contact")]
    TrailingJunk,
    #[error("'*' takes no parameters")]
    WildcardWithParams,
}

/// One element of a Contact header value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ContactEntry<'a> {
    Wildcard,
    Contact(Contact<'a>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contact<'a> {
    display_name: Option<Cow<'a, str>>,
    uri: &'a str,
    /// Raw `;name=value...` text after the URI (or after `>`), leading `;` included.
    params: &'a str,
}

/// Parsed `expires` contact parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExpiresParam {
    Seconds(u32),
    /// Not delta-seconds: RFC 3261 §10.3 step 7 says treat it as the default interval.
    Malformed,
}

impl<'a> Contact<'a> {
    pub fn display_name(&self) -> Option<&str> {
        self.display_name.as_deref()
    }

    /// The URI exactly as written (inside `<>` for the name-addr form).
    pub fn uri(&self) -> &'a str {
        self.uri
    }

    /// Raw contact-params text, with its leading `;`, or empty.
    pub fn raw_params(&self) -> &'a str {
        self.params
    }

    /// `(name, value)` pairs; values keep their quotes. Already validated by the parser.
    pub fn params(&self) -> impl Iterator<Item = (&'a str, Option<&'a str>)> + 'a {
        let raw = self.params;
        let mut i = 0;
        std::iter::from_fn(move || match next_param(raw, i) {
            Ok(Some((name, value, next))) => {
                i = next;
                Some((name, value))
            }
            _ => None,
        })
    }

    pub fn param(&self, name: &str) -> Option<Option<&'a str>> {
        self.params()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    }

    pub fn expires(&self) -> Option<ExpiresParam> {
        self.param("expires")
            .map(|v| match v.and_then(parse_delta_seconds) {
                Some(s) => ExpiresParam::Seconds(s),
                None => ExpiresParam::Malformed,
            })
    }

    /// The `q` parameter in thousandths (`q=0.5` → 500).
    pub fn q(&self) -> Result<Option<u16>, ContactError> {
        match self.param("q") {
            None => Ok(None),
            Some(v) => v.and_then(parse_qvalue).map(Some).ok_or(ContactError::BadQ),
        }
    }

    /// Whether the URI scheme is `sip` or `sips` (any case).
    pub fn is_sip(&self) -> bool {
        self.uri.split_once(':').is_some_and(|(scheme, rest)| {
            !rest.is_empty()
                && (scheme.eq_ignore_ascii_case("sip") || scheme.eq_ignore_ascii_case("sips"))
        })
    }
}

/// delta-seconds; values beyond 2^32-1 saturate (RFC 3261 §20.19 caps them there).
pub fn parse_delta_seconds(v: &str) -> Option<u32> {
    let v = v.trim_matches(|c: char| c.is_ascii_whitespace());
    if v.is_empty() || !v.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(v.bytes().fold(0u32, |acc, b| {
        acc.saturating_mul(10).saturating_add(u32::from(b - b'0'))
    }))
}

/// qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] ), in thousandths.
fn parse_qvalue(v: &str) -> Option<u16> {
    let (int, frac) = match v.split_once('.') {
        Some((i, f)) => (i, f),
        None => (v, ""),
    };
    if frac.len() > 3 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut thousandths = 0u16;
    for (k, b) in frac
        .bytes()
        .chain(std::iter::repeat(b'0'))
        .take(3)
        .enumerate()
    {
        thousandths += u16::from(b - b'0') * [100, 10, 1][k];
    }
    match int {
        "0" => Some(thousandths),
        "1" if thousandths == 0 => Some(1000),
        _ => None,
    }
}

fn is_param_byte(b: u8) -> bool {
    (!is_lws(b) && !matches!(b, b';' | b',' | b'=' | b'"' | b'<' | b'>') && b.is_ascii_graphic())
        || b >= 0x80
}

type Param<'a> = (&'a str, Option<&'a str>, usize);

/// Parses `;name[=value]` at `src[i..]` (LWS allowed around tokens). `Ok(None)` when no `;` follows.
fn next_param(src: &str, i: usize) -> Result<Option<Param<'_>>, ContactError> {
    let s = src.as_bytes();
    let mut i = skip_lws(s, i);
    if i >= s.len() || s[i] != b';' {
        return Ok(None);
    }
    i = skip_lws(s, i + 1);
    let start = i;
    while i < s.len() && is_param_byte(s[i]) {
        i += 1;
    }
    if start == i {
        return Err(ContactError::BadParam);
    }
    let name = &src[start..i];
    let j = skip_lws(s, i);
    if j >= s.len() || s[j] != b'=' {
        return Ok(Some((name, None, i)));
    }
    i = skip_lws(s, j + 1);
    let vstart = i;
    if i < s.len() && s[i] == b'"' {
        let (_, end) = quoted_string(src, i).ok_or(ContactError::UnterminatedQuote)?;
        i = end;
    } else {
        // gen-value: token, host (IPv6 brackets and ':' included) or quoted-string.
        while i < s.len() && (is_param_byte(s[i])) {
            i += 1;
        }
        if vstart == i {
            return Err(ContactError::BadParam);
        }
    }
    Ok(Some((name, Some(&src[vstart..i]), i)))
}

/// Iterates over the comma-separated elements of one Contact header value.
pub fn parse_contacts(value: &str) -> impl Iterator<Item = Result<ContactEntry<'_>, ContactError>> {
    let mut pos = 0;
    let mut done = false;
    std::iter::from_fn(move || {
        if done {
            return None;
        }
        let s = value.as_bytes();
        let start = skip_lws(s, pos);
        if start >= s.len() {
            done = true;
            // An empty header value or a trailing comma.
            return (pos == 0).then_some(Err(ContactError::Empty));
        }
        match parse_one(value, start) {
            Ok((entry, next)) => {
                let next = skip_lws(s, next);
                if next >= s.len() {
                    done = true;
                } else if s[next] == b',' {
                    pos = next + 1;
                } else {
                    done = true;
                    return Some(Err(ContactError::TrailingJunk));
                }
                Some(Ok(entry))
            }
            Err(e) => {
                done = true;
                Some(Err(e))
            }
        }
    })
}

fn parse_one(src: &str, start: usize) -> Result<(ContactEntry<'_>, usize), ContactError> {
    let s = src.as_bytes();
    if s[start] == b'*' {
        let j = skip_lws(s, start + 1);
        if j < s.len() && s[j] != b',' {
            return Err(ContactError::WildcardWithParams);
        }
        return Ok((ContactEntry::Wildcard, j));
    }

    let (display_name, uri, after_uri) = if s[start] == b'"' {
        let (name, end) = quoted_string(src, start).ok_or(ContactError::UnterminatedQuote)?;
        let lt = skip_lws(s, end);
        if lt >= s.len() || s[lt] != b'<' {
            return Err(ContactError::NeedsAngleBrackets);
        }
        let (uri, next) = angle_uri(src, lt)?;
        (Some(name), uri, next)
    } else {
        let mut j = start;
        while j < s.len() && !matches!(s[j], b'<' | b',' | b';' | b'"') {
            j += 1;
        }
        if j < s.len() && s[j] == b'<' {
            let name = src[start..j].trim_end_matches(|c: char| c.is_ascii_whitespace());
            let (uri, next) = angle_uri(src, j)?;
            let name = (!name.is_empty()).then_some(Cow::Borrowed(name));
            (name, uri, next)
        } else if j < s.len() && s[j] == b'"' {
            return Err(ContactError::TrailingJunk);
        } else {
            let uri = src[start..j].trim_end_matches(|c: char| c.is_ascii_whitespace());
            // RFC 3261 §20.10: without <>, URI parameters would be read as contact params and a
            // '?' could not be told apart from header syntax (RFC 4475 regbadct).
            if uri.contains('?') {
                return Err(ContactError::NeedsAngleBrackets);
            }
            if uri.bytes().any(is_lws) {
                return Err(ContactError::TrailingJunk);
            }
            (None, uri, j)
        }
    };
    if uri.is_empty() {
        return Err(ContactError::Empty);
    }

    let params_start = skip_lws(s, after_uri);
    let mut i = after_uri;
    let mut params_end = params_start;
    while let Some((_, _, next)) = next_param(src, i)? {
        i = next;
        params_end = next;
    }
    let params = if params_end > params_start {
        &src[params_start..params_end]
    } else {
        ""
    };
    Ok((
        ContactEntry::Contact(Contact {
            display_name,
            uri,
            params,
        }),
        i,
    ))
}

fn angle_uri(src: &str, lt: usize) -> Result<(&str, usize), ContactError> {
    let gt = src[lt + 1..]
        .find('>')
        .ok_or(ContactError::UnterminatedAngle)?
        + lt
        + 1;
    Ok((&src[lt + 1..gt], gt + 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn qvalues() {
        assert_eq!(parse_qvalue("0"), Some(0));
        assert_eq!(parse_qvalue("0.5"), Some(500));
        assert_eq!(parse_qvalue("0.123"), Some(123));
        assert_eq!(parse_qvalue("1"), Some(1000));
        assert_eq!(parse_qvalue("1.000"), Some(1000));
        assert_eq!(parse_qvalue("1.5"), None);
        assert_eq!(parse_qvalue("0.1234"), None);
        assert_eq!(parse_qvalue("2"), None);
        assert_eq!(parse_qvalue(".5"), None);
    }

    #[test]
    fn delta_seconds() {
        assert_eq!(parse_delta_seconds("3600"), Some(3600));
        assert_eq!(parse_delta_seconds(" 0 "), Some(0));
        assert_eq!(parse_delta_seconds("99999999999"), Some(u32::MAX));
        assert_eq!(parse_delta_seconds("-1"), None);
        assert_eq!(parse_delta_seconds(""), None);
        assert_eq!(parse_delta_seconds("1h"), None);
    }
}
