//! Framing of one datagram: start line, header fields (with folding), body.

use crate::lex::{is_token, is_wsp};
use crate::verdict::{Refusal, RefusalCode};

/// Drops the CRLFs RFC 3261 §7.5 says to ignore before a start line (keepalives send them).
pub(crate) fn skip_leading_crlf(mut bytes: &[u8]) -> &[u8] {
    while let [b'\r', b'\n', rest @ ..] = bytes {
        bytes = rest;
    }
    bytes
}

/// How the header section ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum HeadersEnd {
    /// The empty line was found; the body starts at this offset of the message.
    Blank { body_start: usize },
    /// The datagram ends right after a field's CRLF, without the empty line (RFC 4475 publishes
    /// `baddn` this way). Treated as an empty body.
    EndOfData,
    /// The datagram ends in the middle of a line.
    Truncated,
}

/// One message split into its parts. All slices borrow from the datagram.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Frame<'a> {
    /// Start line without its CRLF.
    pub start_line: &'a [u8],
    /// Whether the start line ended with CRLF (false: bare LF, or no line end at all).
    pub start_line_crlf: bool,
    /// Header lines, each with its CRLF; only whole lines, even when `end` is `Truncated`.
    pub fields: &'a [u8],
    pub end: HeadersEnd,
}

/// Splits a message (leading CRLFs already skipped). Never fails: faults are reported through
/// the flags so that a response can still be built from whatever lines are whole.
pub(crate) fn frame(msg: &[u8]) -> Frame<'_> {
    let (start_line, start_line_crlf, after_start) = match msg.iter().position(|&b| b == b'\n') {
        Some(lf) if lf > 0 && msg[lf - 1] == b'\r' => (&msg[..lf - 1], true, lf + 1),
        Some(lf) => (&msg[..lf], false, lf + 1),
        None => (msg, false, msg.len()),
    };
    let rest = &msg[after_start..];
    if rest.starts_with(b"\r\n") {
        return Frame {
            start_line,
            start_line_crlf,
            fields: &[],
            end: HeadersEnd::Blank {
                body_start: after_start + 2,
            },
        };
    }
    if let Some(i) = find(rest, b"\r\n\r\n") {
        return Frame {
            start_line,
            start_line_crlf,
            fields: &rest[..i + 2],
            end: HeadersEnd::Blank {
                body_start: after_start + i + 4,
            },
        };
    }
    let (whole, end) = if rest.is_empty() || rest.ends_with(b"\r\n") {
        (rest.len(), HeadersEnd::EndOfData)
    } else {
        let cut = find_last(rest, b"\r\n").map_or(0, |i| i + 2);
        (cut, HeadersEnd::Truncated)
    };
    Frame {
        start_line,
        start_line_crlf,
        fields: &rest[..whole],
        end,
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn find_last(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).rposition(|w| w == needle)
}

/// One header field: its name as written and its raw value, which may contain `CRLF 1*WSP`
/// folds and surrounding whitespace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Field<'a> {
    pub name: &'a [u8],
    pub value: &'a [u8],
}

/// Iterates the header fields of `Frame::fields`. A malformed line yields an error and is
/// skipped, so lenient callers (building a response) can go on past it.
pub(crate) struct Fields<'a> {
    rest: &'a [u8],
}

impl<'a> Fields<'a> {
    pub(crate) fn new(fields: &'a [u8]) -> Self {
        Fields { rest: fields }
    }
}

/// Length of the line at the start of `s` including its LF, and whether it is a clean CRLF line
/// (no bare CR or LF).
fn line_at(s: &[u8]) -> (usize, bool) {
    match s.iter().position(|&b| b == b'\n') {
        Some(lf) => {
            let clean = lf > 0 && s[lf - 1] == b'\r' && !s[..lf - 1].contains(&b'\r');
            (lf + 1, clean)
        }
        None => (s.len(), false),
    }
}

impl<'a> Iterator for Fields<'a> {
    type Item = Result<Field<'a>, Refusal>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.rest.is_empty() {
            return None;
        }
        let all = self.rest;
        let (mut len, mut clean) = line_at(all);
        let starts_folded = is_wsp(all[0]);
        while clean && all.get(len).is_some_and(|&b| is_wsp(b)) {
            let (more, more_clean) = line_at(&all[len..]);
            len += more;
            clean = more_clean;
        }
        self.rest = &all[len..];
        if !clean {
            return Some(Err(Refusal::new(
                RefusalCode::BadLineEnding,
                "bare CR or LF in the header section",
            )));
        }
        if starts_folded {
            return Some(Err(Refusal::new(
                RefusalCode::MalformedHeaderLine,
                "continuation line with no header field before it",
            )));
        }
        let field = &all[..len - 2];
        let name_len = field.iter().take_while(|&&b| is_token(b)).count();
        let after_name = field[name_len..].iter().take_while(|&&b| is_wsp(b)).count();
        let colon = name_len + after_name;
        if name_len == 0 || field.get(colon) != Some(&b':') {
            return Some(Err(Refusal::new(
                RefusalCode::MalformedHeaderLine,
                format!("not a header field: {}", crate::lex::escaped(field)),
            )));
        }
        Some(Ok(Field {
            name: &field[..name_len],
            value: &field[colon + 1..],
        }))
    }
}

/// The header fields this crate looks into; everything else passes through untouched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Name {
    Via,
    From,
    To,
    CallId,
    CSeq,
    MaxForwards,
    ContentLength,
    ContentType,
    Contact,
    Expires,
    ProxyRequire,
    Other,
}

impl Name {
    /// Case-insensitive, with the RFC 3261 §7.3.3 compact forms.
    pub(crate) fn classify(name: &[u8]) -> Name {
        if let [c] = name {
            return match c.to_ascii_lowercase() {
                b'v' => Name::Via,
                b'f' => Name::From,
                b't' => Name::To,
                b'i' => Name::CallId,
                b'l' => Name::ContentLength,
                b'c' => Name::ContentType,
                b'm' => Name::Contact,
                // k (Supported), s (Subject), e (Content-Encoding) and the other compact forms
                // carry nothing this screen checks.
                _ => Name::Other,
            };
        }
        const LONG: [(&[u8], Name); 11] = [
            (b"via", Name::Via),
            (b"from", Name::From),
            (b"to", Name::To),
            (b"call-id", Name::CallId),
            (b"cseq", Name::CSeq),
            (b"max-forwards", Name::MaxForwards),
            (b"content-length", Name::ContentLength),
            (b"content-type", Name::ContentType),
            (b"contact", Name::Contact),
            (b"expires", Name::Expires),
            (b"proxy-require", Name::ProxyRequire),
        ];
        LONG.iter()
            .find(|(long, _)| long.eq_ignore_ascii_case(name))
            .map_or(Name::Other, |&(_, n)| n)
    }

    /// The canonical spelling, for messages and responses.
    pub(crate) fn canonical(self) -> &'static str {
        match self {
            Name::Via => "Via",
            Name::From => "From",
            Name::To => "To",
            Name::CallId => "Call-ID",
            Name::CSeq => "CSeq",
            Name::MaxForwards => "Max-Forwards",
            Name::ContentLength => "Content-Length",
            Name::ContentType => "Content-Type",
            Name::Contact => "Contact",
            Name::Expires => "Expires",
            Name::ProxyRequire => "Proxy-Require",
            Name::Other => "(other)",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    type Parsed = Result<(Vec<u8>, Vec<u8>), RefusalCode>;

    fn names(fields: &[u8]) -> Vec<Parsed> {
        Fields::new(fields)
            .map(|f| {
                f.map(|f| (f.name.to_vec(), f.value.to_vec()))
                    .map_err(|r| r.code)
            })
            .collect()
    }

    #[test]
    fn frame_splits_start_line_fields_and_body() {
        let msg = b"OPTIONS sip:a SIP/2.0\r\nVia: x\r\nl: 3\r\n\r\nabcdef";
        let f = frame(msg);
        assert_eq!(f.start_line, b"OPTIONS sip:a SIP/2.0");
        assert!(f.start_line_crlf);
        assert_eq!(f.fields, b"Via: x\r\nl: 3\r\n");
        assert_eq!(f.end, HeadersEnd::Blank { body_start: 39 });
        assert_eq!(&msg[39..], b"abcdef");
    }

    #[test]
    fn frame_without_headers_or_empty_line() {
        let f = frame(b"OPTIONS sip:a SIP/2.0\r\n\r\n");
        assert_eq!(f.fields, b"");
        assert_eq!(f.end, HeadersEnd::Blank { body_start: 25 });

        let f = frame(b"OPTIONS sip:a SIP/2.0\r\nVia: x\r\n");
        assert_eq!(f.fields, b"Via: x\r\n");
        assert_eq!(f.end, HeadersEnd::EndOfData);

        let f = frame(b"OPTIONS sip:a SIP/2.0\r\nVia: x\r\nCSeq: 1 OPT");
        assert_eq!(f.fields, b"Via: x\r\n");
        assert_eq!(f.end, HeadersEnd::Truncated);

        let f = frame(b"OPTIONS sip:a SIP/2.0\nVia: x\r\n\r\n");
        assert!(!f.start_line_crlf);
        assert_eq!(f.start_line, b"OPTIONS sip:a SIP/2.0");
    }

    #[test]
    fn fields_unfold_continuations_and_report_bad_lines() {
        let got = names(b"TO :\r\n sip:a\r\nVia  : x\r\n\t, y\r\nbroken\r\nk: z\r\n");
        assert_eq!(
            got,
            vec![
                Ok((b"TO".to_vec(), b"\r\n sip:a".to_vec())),
                Ok((b"Via".to_vec(), b" x\r\n\t, y".to_vec())),
                Err(RefusalCode::MalformedHeaderLine),
                Ok((b"k".to_vec(), b" z".to_vec())),
            ]
        );
        assert_eq!(
            names(b" folded: x\r\n"),
            vec![Err(RefusalCode::MalformedHeaderLine)]
        );
        assert_eq!(
            names(b"Via: a\rb\r\nTo: c\r\n"),
            vec![
                Err(RefusalCode::BadLineEnding),
                Ok((b"To".to_vec(), b" c".to_vec()))
            ]
        );
        assert_eq!(
            names(b"Via: a\nTo: c\r\n"),
            vec![
                Err(RefusalCode::BadLineEnding),
                Ok((b"To".to_vec(), b" c".to_vec()))
            ]
        );
    }

    #[test]
    fn names_are_case_insensitive_with_compact_forms() {
        assert_eq!(Name::classify(b"vIA"), Name::Via);
        assert_eq!(Name::classify(b"V"), Name::Via);
        assert_eq!(Name::classify(b"i"), Name::CallId);
        assert_eq!(Name::classify(b"CALL-ID"), Name::CallId);
        assert_eq!(Name::classify(b"L"), Name::ContentLength);
        assert_eq!(Name::classify(b"m"), Name::Contact);
        assert_eq!(Name::classify(b"f"), Name::From);
        assert_eq!(Name::classify(b"t"), Name::To);
        assert_eq!(Name::classify(b"c"), Name::ContentType);
        assert_eq!(Name::classify(b"k"), Name::Other);
        assert_eq!(Name::classify(b"C%6Fntact"), Name::Other);
        assert_eq!(Name::classify(b"Proxy-Require"), Name::ProxyRequire);
    }
}
