//! The screening decision for one datagram: accept, answer statelessly, or drop.

use std::borrow::Cow;

use crate::address::{check_address, tag_state};
use crate::lex::{escaped, is_lws};
use crate::limits::Limits;
use crate::message::{Fields, Frame, HeadersEnd, Name, frame, skip_leading_crlf};
use crate::response::stateless_response;
use crate::scalar;
use crate::start_line::{
    LineKind, classify, leading_method, parse_request_line, parse_status_line,
};
use crate::uri::{Scheme, check_request_uri};
use crate::verdict::{Head, Kind, Refusal, RefusalCode, Verdict};
use crate::via::check_via;

/// Methods this element knows; anything else is answered 501 with this list in Allow.
pub const SUPPORTED_METHODS: [&str; 14] = [
    "INVITE",
    "ACK",
    "BYE",
    "CANCEL",
    "OPTIONS",
    "REGISTER",
    "INFO",
    "UPDATE",
    "PRACK",
    "REFER",
    "NOTIFY",
    "SUBSCRIBE",
    "MESSAGE",
    "PUBLISH",
];

const ALLOW: &str = "INVITE, ACK, BYE, CANCEL, OPTIONS, REGISTER, INFO, UPDATE, PRACK, REFER, NOTIFY, SUBSCRIBE, MESSAGE, PUBLISH";

/// The status a refused request is answered with.
pub fn status_for(code: RefusalCode) -> u16 {
    match code {
        RefusalCode::VersionNotSupported => 505,
        RefusalCode::UnknownMethod => 501,
        RefusalCode::UnsupportedUriScheme => 416,
        RefusalCode::BadExtension => 420,
        RefusalCode::DatagramTooLarge
        | RefusalCode::HeaderSectionTooLarge
        | RefusalCode::TooManyHeaders => 513,
        _ => 400,
    }
}

/// Screens one raw datagram. See the crate documentation for the rules.
///
/// Never panics; work is linear in the datagram, and bounded further by `limits` before any
/// header is parsed.
pub fn screen_datagram<'a>(bytes: &'a [u8], limits: &Limits) -> Verdict<'a> {
    let msg = skip_leading_crlf(bytes);
    if msg.iter().all(|&b| is_lws(b)) {
        return Verdict::Drop(Refusal::new(
            RefusalCode::NotSip,
            "empty datagram or whitespace keepalive",
        ));
    }
    let frame = frame(msg);
    let kind = classify(frame.start_line);
    if kind == LineKind::NotSip {
        return Verdict::Drop(Refusal::new(
            RefusalCode::NotSip,
            format!("first line {}", escaped(frame.start_line)),
        ));
    }
    if bytes.len() > limits.max_datagram {
        let refusal = Refusal::new(
            RefusalCode::DatagramTooLarge,
            format!("{} octets, limit {}", bytes.len(), limits.max_datagram),
        );
        return refuse(msg, &frame, kind, refusal);
    }
    match check(msg, &frame, kind, limits) {
        Ok((bytes, head)) => Verdict::Accept { bytes, head },
        Err(refusal) => refuse(msg, &frame, kind, refusal),
    }
}

/// Turns a refusal into a reply when one is allowed and can be built.
fn refuse<'a>(msg: &[u8], frame: &Frame<'_>, kind: LineKind, refusal: Refusal) -> Verdict<'a> {
    if kind != LineKind::Request || leading_method(frame.start_line) == b"ACK" {
        return Verdict::Drop(refusal);
    }
    let status = status_for(refusal.code);
    let reason = match status {
        400 => format!("Bad Request ({})", refusal.code.describe()),
        416 => "Unsupported URI Scheme".to_owned(),
        420 => "Bad Extension".to_owned(),
        501 => "Not Implemented".to_owned(),
        505 => "Version Not Supported".to_owned(),
        _ => "Message Too Large".to_owned(),
    };
    let extra: &[(&str, &str)] = match refusal.code {
        RefusalCode::UnknownMethod => &[("Allow", ALLOW)],
        RefusalCode::BadExtension => &[("Unsupported", refusal.detail.as_str())],
        _ => &[],
    };
    match stateless_response(msg, status, &reason, extra) {
        Some(response) => Verdict::Reply {
            status,
            response,
            refusal,
        },
        None => Verdict::Drop(refusal),
    }
}

/// What the start line said, once parsed.
enum Start<'a> {
    Request { method: &'a [u8], scheme: Scheme },
    Response { status: u16 },
}

/// Header facts gathered in one pass.
#[derive(Default)]
struct Seen<'a> {
    vias: usize,
    from: bool,
    to: bool,
    has_to_tag: bool,
    call_id: Option<&'a [u8]>,
    cseq_method: Option<&'a [u8]>,
    max_forwards: Option<u32>,
    content_length: Option<usize>,
    content_type: bool,
    expires: bool,
    unsupported: Vec<&'a [u8]>,
}

fn once(seen: &mut bool, name: Name) -> Result<(), Refusal> {
    if std::mem::replace(seen, true) {
        return Err(Refusal::new(
            RefusalCode::DuplicateHeader,
            format!("{} appears more than once", name.canonical()),
        ));
    }
    Ok(())
}

fn once_value<T>(slot: &Option<T>, name: Name) -> Result<(), Refusal> {
    let mut seen = slot.is_some();
    once(&mut seen, name)
}

fn check<'a>(
    msg: &'a [u8],
    frame: &Frame<'a>,
    kind: LineKind,
    limits: &Limits,
) -> Result<(Cow<'a, [u8]>, Head), Refusal> {
    if !frame.start_line_crlf {
        return Err(Refusal::new(
            RefusalCode::BadLineEnding,
            "start line not ended by CRLF",
        ));
    }
    let start = if kind == LineKind::Request {
        let line = parse_request_line(frame.start_line)?;
        let scheme = check_request_uri(line.uri)?;
        Start::Request {
            method: line.method,
            scheme,
        }
    } else {
        Start::Response {
            status: parse_status_line(frame.start_line)?,
        }
    };
    let head_len = frame.start_line.len() + 2 + frame.fields.len();
    if head_len > limits.max_header_bytes {
        return Err(Refusal::new(
            RefusalCode::HeaderSectionTooLarge,
            format!("{head_len} octets, limit {}", limits.max_header_bytes),
        ));
    }
    if frame.end == HeadersEnd::Truncated {
        return Err(Refusal::new(
            RefusalCode::UnterminatedHeaders,
            "datagram ends inside a header line",
        ));
    }
    let is_request = matches!(start, Start::Request { .. });
    let seen = scan_fields(frame.fields, is_request, limits)?;

    let missing: Vec<&str> = [
        (seen.vias > 0, "Via"),
        (seen.from, "From"),
        (seen.to, "To"),
        (seen.call_id.is_some(), "Call-ID"),
        (seen.cseq_method.is_some(), "CSeq"),
    ]
    .iter()
    .filter(|(present, _)| !present)
    .map(|&(_, name)| name)
    .collect();
    let (Some(call_id), Some(cseq_method), true) =
        (seen.call_id, seen.cseq_method, missing.is_empty())
    else {
        return Err(Refusal::new(
            RefusalCode::MissingHeader,
            format!("missing {}", missing.join(", ")),
        ));
    };

    let bytes = frame_body(msg, frame, seen.content_length)?;

    let kind = match start {
        Start::Request { method, scheme } => {
            check_request_semantics(method, scheme, cseq_method, &seen)?;
            Kind::Request {
                method: String::from_utf8_lossy(method).into_owned(),
            }
        }
        Start::Response { status } => Kind::Response { status },
    };
    let head = Head {
        kind,
        call_id: String::from_utf8_lossy(call_id).into_owned(),
        has_to_tag: seen.has_to_tag,
        cseq_method: String::from_utf8_lossy(cseq_method).into_owned(),
        max_forwards: seen.max_forwards,
    };
    Ok((bytes, head))
}

/// Validates every header this crate knows, in message order, so the first fault is reported.
fn scan_fields<'a>(
    fields: &'a [u8],
    is_request: bool,
    limits: &Limits,
) -> Result<Seen<'a>, Refusal> {
    let mut seen = Seen::default();
    for (count, field) in Fields::new(fields).enumerate() {
        if count >= limits.max_headers {
            return Err(Refusal::new(
                RefusalCode::TooManyHeaders,
                format!("more than {} header fields", limits.max_headers),
            ));
        }
        let field = field?;
        let name = Name::classify(field.name);
        let value = field.value;
        match name {
            Name::Via => {
                check_via(value)?;
                seen.vias += 1;
            }
            Name::From => {
                once(&mut seen.from, name)?;
                check_address(value, "From", false)?;
            }
            Name::To => {
                once(&mut seen.to, name)?;
                check_address(value, "To", false)?;
                seen.has_to_tag = tag_state(value) == Some(true);
            }
            Name::CallId => {
                once_value(&seen.call_id, name)?;
                seen.call_id = Some(scalar::call_id(value)?);
            }
            Name::CSeq => {
                once_value(&seen.cseq_method, name)?;
                seen.cseq_method = Some(scalar::cseq(value)?);
            }
            Name::MaxForwards => {
                once_value(&seen.max_forwards, name)?;
                seen.max_forwards = Some(scalar::max_forwards(value)?);
            }
            Name::ContentLength => {
                if seen.content_length.is_some() {
                    return Err(Refusal::new(
                        RefusalCode::MultipleContentLength,
                        "Content-Length appears more than once",
                    ));
                }
                seen.content_length = Some(scalar::content_length(value)?);
            }
            Name::ContentType => once(&mut seen.content_type, name)?,
            Name::Expires => {
                once(&mut seen.expires, name)?;
                scalar::expires(value)?;
            }
            Name::Contact => check_address(value, "Contact", true)?,
            Name::ProxyRequire if is_request => {
                for tag in scalar::option_tags(value)? {
                    let supported = limits
                        .supported_extensions
                        .iter()
                        .any(|s| s.as_bytes().eq_ignore_ascii_case(tag));
                    if !supported {
                        seen.unsupported.push(tag);
                    }
                }
            }
            Name::ProxyRequire | Name::Other => {}
        }
    }
    Ok(seen)
}

/// The octets to pass on: UDP frames by datagram, so the body is exactly Content-Length octets
/// (RFC 3261 §18.3) and anything after it is cut; without Content-Length it runs to the end.
fn frame_body<'a>(
    msg: &'a [u8],
    frame: &Frame<'a>,
    content_length: Option<usize>,
) -> Result<Cow<'a, [u8]>, Refusal> {
    let body_start = match frame.end {
        HeadersEnd::Blank { body_start } => body_start,
        HeadersEnd::EndOfData | HeadersEnd::Truncated => msg.len(),
    };
    let available = msg.len() - body_start;
    let end = match content_length {
        Some(n) if n > available => {
            return Err(Refusal::new(
                RefusalCode::ContentLengthMismatch,
                format!("Content-Length {n}, {available} octets follow the headers"),
            ));
        }
        Some(n) => body_start + n,
        None => msg.len(),
    };
    if frame.end == HeadersEnd::EndOfData {
        // The empty line was missing; add it so the stack sees a complete message.
        let mut owned = Vec::with_capacity(msg.len() + 2);
        owned.extend_from_slice(msg);
        owned.extend_from_slice(b"\r\n");
        return Ok(Cow::Owned(owned));
    }
    Ok(Cow::Borrowed(&msg[..end]))
}

/// Request checks that need the whole message, in RFC 3261 §8.2 order: method (501), CSeq
/// consistency (400), Request-URI scheme (416, §8.2.2.1), Proxy-Require (420, §16.3 step 6).
fn check_request_semantics(
    method: &[u8],
    scheme: Scheme,
    cseq_method: &[u8],
    seen: &Seen<'_>,
) -> Result<(), Refusal> {
    if !SUPPORTED_METHODS.iter().any(|m| m.as_bytes() == method) {
        return Err(Refusal::new(
            RefusalCode::UnknownMethod,
            format!("method {}", escaped(method)),
        ));
    }
    if cseq_method != method {
        return Err(Refusal::new(
            RefusalCode::CSeqMethodMismatch,
            format!(
                "Request-Line {} but CSeq {}",
                escaped(method),
                escaped(cseq_method)
            ),
        ));
    }
    if scheme == Scheme::Other {
        return Err(Refusal::new(
            RefusalCode::UnsupportedUriScheme,
            "Request-URI scheme is not sip, sips or tel",
        ));
    }
    // CANCEL must reach the transaction it cancels whatever it requires.
    if !seen.unsupported.is_empty() && method != b"CANCEL" {
        // The detail doubles as the Unsupported header value; tags are validated tokens.
        let tags: Vec<String> = seen
            .unsupported
            .iter()
            .map(|t| String::from_utf8_lossy(t).into_owned())
            .collect();
        return Err(Refusal::new(RefusalCode::BadExtension, tags.join(", ")));
    }
    Ok(())
}
