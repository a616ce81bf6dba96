//! RFC 3261 §25.1 character classes and a byte cursor that reads folded header values.
//!
//! Header values handed to the cursor come from `message::Fields`, which guarantees that CR and
//! LF only occur as `CRLF 1*WSP` folds; the cursor can therefore treat CR and LF as whitespace.

/// `token` characters.
pub(crate) fn is_token(b: u8) -> bool {
    b.is_ascii_alphanumeric()
        || matches!(
            b,
            b'-' | b'.' | b'!' | b'%' | b'*' | b'_' | b'+' | b'`' | b'\'' | b'~'
        )
}

/// `word` characters (Call-ID): `token` plus a few separators.
pub(crate) fn is_word(b: u8) -> bool {
    is_token(b)
        || matches!(
            b,
            b'(' | b')'
                | b'<'
                | b'>'
                | b':'
                | b'\\'
                | b'"'
                | b'/'
                | b'['
                | b']'
                | b'?'
                | b'{'
                | b'}'
        )
}

/// Space or horizontal tab.
pub(crate) fn is_wsp(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

/// Whitespace inside a folded header value.
pub(crate) fn is_lws(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

/// Trims linear whitespace (including folds) from both ends.
pub(crate) fn trim_lws(mut s: &[u8]) -> &[u8] {
    while let [first, rest @ ..] = s {
        if !is_lws(*first) {
            break;
        }
        s = rest;
    }
    while let [rest @ .., last] = s {
        if !is_lws(*last) {
            break;
        }
        s = rest;
    }
    s
}

/// Parses a run of ASCII digits, saturating at `u64::MAX` so huge values stay comparable
/// without overflow. `None` when empty or when anything but digits is present.
pub(crate) fn parse_digits(s: &[u8]) -> Option<u64> {
    if s.is_empty() {
        return None;
    }
    let mut n: u64 = 0;
    for &b in s {
        if !b.is_ascii_digit() {
            return None;
        }
        n = n.saturating_mul(10).saturating_add(u64::from(b - b'0'));
    }
    Some(n)
}

/// Input bytes made safe for a log line: printable ASCII kept, the rest as `\xNN`, cut at 64.
pub(crate) fn escaped(bytes: &[u8]) -> String {
    const MAX: usize = 64;
    let mut out = String::with_capacity(bytes.len().min(MAX) + 3);
    for &b in bytes.iter().take(MAX) {
        if (0x20..0x7f).contains(&b) && b != b'\\' {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("\\x{b:02x}"));
        }
    }
    if bytes.len() > MAX {
        out.push_str("...");
    }
    out
}

/// Why a quoted string did not parse.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum QuotedError {
    Unterminated,
    BadChar,
}

/// A forward-only reader over one header value.
pub(crate) struct Cursor<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    pub(crate) fn new(bytes: &'a [u8]) -> Self {
        Cursor { bytes, pos: 0 }
    }

    pub(crate) fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    pub(crate) fn at_end(&self) -> bool {
        self.pos >= self.bytes.len()
    }

    pub(crate) fn pos(&self) -> usize {
        self.pos
    }

    pub(crate) fn reset(&mut self, pos: usize) {
        self.pos = pos.min(self.bytes.len());
    }

    pub(crate) fn rest(&self) -> &'a [u8] {
        self.bytes.get(self.pos..).unwrap_or_default()
    }

    /// Consumes `b` if it is next.
    pub(crate) fn eat(&mut self, b: u8) -> bool {
        if self.peek() == Some(b) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    /// Skips linear whitespace; true if any was skipped.
    pub(crate) fn skip_lws(&mut self) -> bool {
        let start = self.pos;
        while self.peek().is_some_and(is_lws) {
            self.pos += 1;
        }
        self.pos > start
    }

    /// Consumes the longest run of bytes matching `pred`.
    pub(crate) fn take_while(&mut self, pred: impl Fn(u8) -> bool) -> &'a [u8] {
        let start = self.pos;
        while self.peek().is_some_and(&pred) {
            self.pos += 1;
        }
        &self.bytes[start..self.pos]
    }

    /// Reads a `quoted-string` whose opening DQUOTE is next; returns the inside.
    pub(crate) fn quoted_string(&mut self) -> Result<&'a [u8], QuotedError> {
        if !self.eat(b'"') {
            return Err(QuotedError::BadChar);
        }
        let start = self.pos;
        loop {
            let Some(b) = self.peek() else {
                return Err(QuotedError::Unterminated);
            };
            self.pos += 1;
            match b {
                b'"' => return Ok(&self.bytes[start..self.pos - 1]),
                // quoted-pair: any octet up to 0x7F except CR and LF.
                b'\\' => match self.peek() {
                    Some(q) if q <= 0x7f && q != b'\r' && q != b'\n' => self.pos += 1,
                    Some(_) => return Err(QuotedError::BadChar),
                    None => return Err(QuotedError::Unterminated),
                },
                // qdtext: LWS, visible ASCII, or UTF-8 non-ASCII; never a bare control.
                b' ' | b'\t' | b'\r' | b'\n' | 0x21..=0x7e | 0x80..=0xff => {}
                _ => return Err(QuotedError::BadChar),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_and_word_classes_follow_rfc3261() {
        for b in b"aZ09-.!%*_+`'~" {
            assert!(is_token(*b), "{}", char::from(*b));
        }
        for b in b"()<>:\\\"/[]?{}@,; =" {
            assert!(!is_token(*b), "{}", char::from(*b));
        }
        for b in b"()<>:\\\"/[]?{}" {
            assert!(is_word(*b), "{}", char::from(*b));
        }
        for b in b"@,; =\t\x00" {
            assert!(!is_word(*b), "{}", char::from(*b));
        }
    }

    #[test]
    fn digits_saturate_instead_of_overflowing() {
        assert_eq!(parse_digits(b"0068"), Some(68));
        assert_eq!(parse_digits(b"36893488147419103232"), Some(u64::MAX));
        assert_eq!(parse_digits(b"-1"), None);
        assert_eq!(parse_digits(b""), None);
        assert_eq!(parse_digits(b"1 2"), None);
    }

    #[test]
    fn quoted_strings_accept_pairs_and_folds_and_refuse_controls() {
        let mut c = Cursor::new(b"\"a \\\" \\\x00 \r\n b\"rest");
        assert_eq!(c.quoted_string(), Ok(&b"a \\\" \\\x00 \r\n b"[..]));
        assert_eq!(c.rest(), b"rest");
        assert_eq!(
            Cursor::new(b"\"Mr. J. User <sip:j@x>").quoted_string(),
            Err(QuotedError::Unterminated)
        );
        assert_eq!(
            Cursor::new(b"\"a\x01\"").quoted_string(),
            Err(QuotedError::BadChar)
        );
        assert_eq!(
            Cursor::new(b"\"a\\\r\"").quoted_string(),
            Err(QuotedError::BadChar)
        );
        assert_eq!(
            Cursor::new(b"\"\xd0\xb8\"").quoted_string(),
            Ok(&b"\xd0\xb8"[..])
        );
    }

    #[test]
    fn escaped_keeps_logs_printable_and_short() {
        assert_eq!(escaped(b"a\r\n\\"), "a\\x0d\\x0a\\x5c");
        let long = [b'x'; 100];
        assert_eq!(escaped(&long).len(), 67);
    }

    #[test]
    fn trim_lws_removes_folds_at_both_ends() {
        assert_eq!(trim_lws(b"\r\n  abc \t"), b"abc");
        assert_eq!(trim_lws(b"   "), b"");
    }
}
