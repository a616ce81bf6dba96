//! Lexical pieces shared by the header-value parsers: linear white space and quoted-strings.

use std::borrow::Cow;

/// LWS including the CR LF of a folded line, so values need not be unfolded first.
pub(crate) fn is_lws(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

pub(crate) fn skip_lws(s: &[u8], mut i: usize) -> usize {
    while i < s.len() && is_lws(s[i]) {
        i += 1;
    }
    i
}

/// Reads a quoted-string starting at `src[start] == '"'`; returns the unescaped content (borrowed
/// unless it contains a quoted-pair) and the index just past the closing quote.
pub(crate) fn quoted_string(src: &str, start: usize) -> Option<(Cow<'_, str>, usize)> {
    let s = src.as_bytes();
    let mut i = start + 1;
    let mut escaped = false;
    while i < s.len() {
        match s[i] {
            b'\\' => {
                escaped = true;
                i += 2;
            }
            b'"' => {
                let inner = src.get(start + 1..i)?;
                let value = if escaped {
                    let mut out = String::with_capacity(inner.len());
                    let mut chars = inner.chars();
                    while let Some(c) = chars.next() {
                        if c == '\\' {
                            if let Some(n) = chars.next() {
                                out.push(n);
                            }
                        } else {
                            out.push(c);
                        }
                    }
                    Cow::Owned(out)
                } else {
                    Cow::Borrowed(inner)
                };
                return Some((value, i + 1));
            }
            _ => i += 1,
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::quoted_string;

    #[test]
    fn quoted_pairs_and_unterminated() {
        let (v, end) = quoted_string(r#""a\"b\\c" rest"#, 0).expect("terminated");
        assert_eq!(v, r#"a"b\c"#);
        assert_eq!(end, 9);
        assert!(quoted_string(r#""abc\""#, 0).is_none());
        assert!(quoted_string("\"abc", 0).is_none());
        assert!(quoted_string("\"\u{4e2d}\u{6587}\"", 0).is_some());
    }
}
