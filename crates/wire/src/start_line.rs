//! Request-Line and Status-Line, parsed strictly (RFC 3261 §7.1, §7.2).

use crate::lex::{escaped, is_token, is_wsp};
use crate::verdict::{Refusal, RefusalCode};

/// What the first line says the message is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LineKind {
    Request,
    Response,
    NotSip,
}

/// `"SIP" "/" 1*DIGIT "." 1*DIGIT`, with "SIP" case-insensitive as in all ABNF literals.
fn is_sip_version(v: &[u8]) -> bool {
    let Some((name, num)) = v.split_at_checked(4) else {
        return false;
    };
    if !name.eq_ignore_ascii_case(b"SIP/") {
        return false;
    }
    let mut parts = num.splitn(2, |&b| b == b'.');
    let major = parts.next().unwrap_or_default();
    let minor = parts.next().unwrap_or_default();
    !major.is_empty()
        && !minor.is_empty()
        && major.iter().all(u8::is_ascii_digit)
        && minor.iter().all(u8::is_ascii_digit)
}

fn is_sip_2_0(v: &[u8]) -> bool {
    v.eq_ignore_ascii_case(b"SIP/2.0")
}

/// Decides, from the first line alone, whether this is SIP at all. A line counts as a request
/// when its last element is a SIP-Version, even if the rest is malformed, so that malformed
/// requests get a 400 while other protocols' traffic is dropped.
pub(crate) fn classify(line: &[u8]) -> LineKind {
    if line.len() >= 4 && line[..4].eq_ignore_ascii_case(b"SIP/") {
        return LineKind::Response;
    }
    let trimmed = line
        .iter()
        .rposition(|&b| !is_wsp(b))
        .map_or(&line[..0], |i| &line[..=i]);
    let last = trimmed
        .iter()
        .rposition(|&b| is_wsp(b))
        .map_or(trimmed, |i| &trimmed[i + 1..]);
    if last.len() < trimmed.len() && is_sip_version(last) {
        LineKind::Request
    } else {
        LineKind::NotSip
    }
}

/// The method of a request line, however malformed the rest: its leading token. Used to
/// recognise an ACK (never answered) before the line has been validated.
pub(crate) fn leading_method(line: &[u8]) -> &[u8] {
    let len = line.iter().take_while(|&&b| is_token(b)).count();
    &line[..len]
}

/// A Request-Line split into method and Request-URI.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RequestLine<'a> {
    pub method: &'a [u8],
    pub uri: &'a [u8],
}

fn line_fault(detail: impl Into<String>) -> Refusal {
    Refusal::new(RefusalCode::MalformedRequestLine, detail)
}

/// `Method SP Request-URI SP SIP-Version`: exactly two single spaces, no other whitespace.
/// The URI itself is checked by `uri::check_request_uri`.
pub(crate) fn parse_request_line(line: &[u8]) -> Result<RequestLine<'_>, Refusal> {
    if line.last().copied().is_some_and(is_wsp) {
        return Err(line_fault("whitespace after the SIP-Version"));
    }
    if line.contains(&b'\t') {
        return Err(line_fault("tab in the Request-Line"));
    }
    if line.windows(2).any(|w| w == b"  ") {
        return Err(line_fault("more than one SP between Request-Line elements"));
    }
    let mut parts = line.split(|&b| b == b' ');
    let (Some(method), Some(uri), Some(version)) = (parts.next(), parts.next(), parts.next())
    else {
        return Err(line_fault("Request-Line has fewer than three elements"));
    };
    if parts.next().is_some() {
        return Err(Refusal::new(
            RefusalCode::MalformedRequestUri,
            "whitespace inside the Request-URI",
        ));
    }
    if method.is_empty() || !method.iter().all(|&b| is_token(b)) {
        return Err(line_fault(format!(
            "method is not a token: {}",
            escaped(method)
        )));
    }
    if !is_sip_version(version) {
        return Err(line_fault("SIP-Version malformed"));
    }
    if !is_sip_2_0(version) {
        return Err(Refusal::new(
            RefusalCode::VersionNotSupported,
            format!("request version {}", escaped(version)),
        ));
    }
    Ok(RequestLine { method, uri })
}

fn status_fault(detail: impl Into<String>) -> Refusal {
    Refusal::new(RefusalCode::MalformedStatusLine, detail)
}

/// `SIP-Version SP Status-Code SP Reason-Phrase`; returns the status code (100..=699).
/// An empty reason phrase is legal (RFC 4475 §3.1.1.13); the SP before it may be missing too,
/// since a response is only ever dropped, never answered, and being lenient costs nothing.
pub(crate) fn parse_status_line(line: &[u8]) -> Result<u16, Refusal> {
    let mut parts = line.splitn(3, |&b| b == b' ');
    let version = parts.next().unwrap_or_default();
    let code = parts.next().unwrap_or_default();
    let reason = parts.next().unwrap_or_default();
    if !is_sip_version(version) {
        return Err(status_fault("SIP-Version malformed"));
    }
    if !is_sip_2_0(version) {
        return Err(Refusal::new(
            RefusalCode::VersionNotSupported,
            format!("response version {}", escaped(version)),
        ));
    }
    if code.len() != 3 || !code.iter().all(u8::is_ascii_digit) {
        return Err(status_fault(format!(
            "status code is not three digits: {}",
            escaped(code)
        )));
    }
    let status = code.iter().fold(0u16, |n, &d| n * 10 + u16::from(d - b'0'));
    if !(100..=699).contains(&status) {
        return Err(status_fault(format!("status code {status} out of range")));
    }
    // Reason-Phrase: anything printable, UTF-8 included; no controls but HTAB.
    if reason
        .iter()
        .any(|&b| (b < 0x20 && b != b'\t') || b == 0x7f)
    {
        return Err(status_fault("control character in the Reason-Phrase"));
    }
    Ok(status)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classify_separates_requests_responses_and_noise() {
        assert_eq!(classify(b"INVITE sip:a SIP/2.0"), LineKind::Request);
        assert_eq!(classify(b"OPTIONS sip:a SIP/2.0  "), LineKind::Request);
        assert_eq!(classify(b"OPTIONS sip:a SIP/7.0"), LineKind::Request);
        assert_eq!(classify(b"SIP/2.0 200 OK"), LineKind::Response);
        assert_eq!(classify(b"GET / HTTP/1.1"), LineKind::NotSip);
        assert_eq!(classify(b"SIP/2.0"), LineKind::Response);
        assert_eq!(classify(b" SIP/2.0"), LineKind::Request);
        assert_eq!(classify(b""), LineKind::NotSip);
        assert_eq!(classify(b"   "), LineKind::NotSip);
        assert_eq!(classify(b"OPTIONS sip:a"), LineKind::NotSip);
    }

    fn req(line: &[u8]) -> Result<(Vec<u8>, Vec<u8>), RefusalCode> {
        parse_request_line(line)
            .map(|r| (r.method.to_vec(), r.uri.to_vec()))
            .map_err(|r| r.code)
    }

    #[test]
    fn request_line_is_strict_about_spaces() {
        assert_eq!(
            req(b"INVITE sip:a@b SIP/2.0"),
            Ok((b"INVITE".to_vec(), b"sip:a@b".to_vec()))
        );
        assert_eq!(
            req(b"INVITE  sip:a@b  SIP/2.0"),
            Err(RefusalCode::MalformedRequestLine)
        );
        assert_eq!(
            req(b"OPTIONS sip:a@b SIP/2.0  "),
            Err(RefusalCode::MalformedRequestLine)
        );
        assert_eq!(
            req(b"INVITE sip:a@b; lr SIP/2.0"),
            Err(RefusalCode::MalformedRequestUri)
        );
        assert_eq!(
            req(b"INVITE\tsip:a@b SIP/2.0"),
            Err(RefusalCode::MalformedRequestLine)
        );
        assert_eq!(
            req(b"INV@TE sip:a@b SIP/2.0"),
            Err(RefusalCode::MalformedRequestLine)
        );
        assert_eq!(
            req(b" sip:a@b SIP/2.0"),
            Err(RefusalCode::MalformedRequestLine)
        );
        assert_eq!(
            req(b"OPTIONS SIP/2.0"),
            Err(RefusalCode::MalformedRequestLine)
        );
        assert_eq!(
            req(b"OPTIONS sip:a SIP/7.0"),
            Err(RefusalCode::VersionNotSupported)
        );
        assert_eq!(
            req(b"OPTIONS sip:a sip/2.0"),
            Ok((b"OPTIONS".to_vec(), b"sip:a".to_vec()))
        );
    }

    #[test]
    fn status_line_needs_three_digit_code_in_range() {
        assert_eq!(parse_status_line(b"SIP/2.0 200 OK"), Ok(200));
        assert_eq!(parse_status_line(b"SIP/2.0 100 "), Ok(100));
        assert_eq!(parse_status_line(b"SIP/2.0 180"), Ok(180));
        assert_eq!(
            parse_status_line("SIP/2.0 200 = 2**3 * 5**2 но сто девяносто девять".as_bytes()),
            Ok(200)
        );
        let bad: [&[u8]; 6] = [
            b"SIP/2.0 4294967301 better not break the receiver",
            b"SIP/2.0 99 Low",
            b"SIP/2.0 700 High",
            b"SIP/2.0 2OO OK",
            b"SIP/2.0  200 OK",
            b"SIP/2.0 200 O\x00K",
        ];
        for line in bad {
            assert_eq!(
                parse_status_line(line).map_err(|r| r.code),
                Err(RefusalCode::MalformedStatusLine),
                "{}",
                escaped(line)
            );
        }
        assert_eq!(
            parse_status_line(b"SIP/3.0 200 OK").map_err(|r| r.code),
            Err(RefusalCode::VersionNotSupported)
        );
    }
}
