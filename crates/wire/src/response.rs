//! Stateless responses built straight from a request's raw bytes (RFC 3261 §8.2.6).
//!
//! This runs for every refused request and for every request shed under overload, so it does
//! one pass over the header section, one allocation for the output, and no validation beyond
//! what it needs to find the fields it copies.

use crate::lex::{is_lws, trim_lws};
use crate::message::{Fields, Name, frame, skip_leading_crlf};
use crate::start_line::{LineKind, classify, leading_method};

/// Builds a response to `request` that copies every Via (in order), From, To, Call-ID and CSeq
/// (the first of each when repeated), adds a To tag when the To has none and `status > 100`,
/// appends `extra_headers`, and ends with `Content-Length: 0`.
///
/// Folded values are unfolded and header names come out in their long form. CR, LF and other
/// controls in `reason` and `extra_headers` become spaces, so a caller cannot split the message.
///
/// Returns `None` when there is nothing to answer: `status` outside 100..=699, not a request,
/// an ACK (never answered, RFC 3261 §17.1.1.3), or no Via or no CSeq (without them the client
/// cannot match the response to its transaction). A missing From, To or Call-ID is tolerated so
/// that requests lacking them (RFC 4475 §3.3.1) can still get their 400.
///
/// The To tag is a hash of Call-ID, From, CSeq and the top Via, so retransmissions of one
/// request get the same tag (§8.2.6.2) without any state, clock or randomness.
pub fn stateless_response(
    request: &[u8],
    status: u16,
    reason: &str,
    extra_headers: &[(&str, &str)],
) -> Option<Vec<u8>> {
    if !(100..=699).contains(&status) {
        return None;
    }
    let msg = skip_leading_crlf(request);
    let frame = frame(msg);
    if classify(frame.start_line) != LineKind::Request {
        return None;
    }
    if leading_method(frame.start_line) == b"ACK" {
        return None;
    }

    let extras_len: usize = extra_headers
        .iter()
        .map(|(n, v)| n.len() + v.len() + 4)
        .sum();
    let mut out = Vec::with_capacity(frame.fields.len() + reason.len() + extras_len + 96);
    out.extend_from_slice(b"SIP/2.0 ");
    push_status(&mut out, status);
    out.push(b' ');
    push_sanitized(&mut out, reason.as_bytes());
    out.extend_from_slice(b"\r\n");

    let (mut from, mut to, mut call_id, mut cseq, mut top_via) = (None, None, None, None, None);
    // Malformed lines are skipped: the request may be refused for exactly that reason.
    for field in Fields::new(frame.fields).flatten() {
        match Name::classify(field.name) {
            Name::Via => {
                top_via.get_or_insert(field.value);
                push_header(&mut out, "Via", field.value);
            }
            Name::From => {
                from.get_or_insert(field.value);
            }
            Name::To => {
                to.get_or_insert(field.value);
            }
            Name::CallId => {
                call_id.get_or_insert(field.value);
            }
            Name::CSeq => {
                cseq.get_or_insert(field.value);
            }
            _ => {}
        }
    }
    let (top_via, cseq) = (top_via?, cseq?);

    if let Some(from) = from {
        push_header(&mut out, "From", from);
    }
    if let Some(to) = to {
        push_header(&mut out, "To", to);
        // A To whose quotes do not balance is echoed as is: a tag appended to it would land
        // inside the open quote.
        if status > 100 && crate::address::tag_state(to) == Some(false) {
            // push_header ended the line; reopen it to append the tag.
            out.truncate(out.len() - 2);
            out.extend_from_slice(b";tag=");
            let tag = stateless_tag(&[
                call_id.unwrap_or_default(),
                from.unwrap_or_default(),
                cseq,
                top_via,
            ]);
            push_hex(&mut out, tag);
            out.extend_from_slice(b"\r\n");
        }
    }
    if let Some(call_id) = call_id {
        push_header(&mut out, "Call-ID", call_id);
    }
    push_header(&mut out, "CSeq", cseq);
    for (name, value) in extra_headers {
        push_sanitized(&mut out, name.as_bytes());
        out.extend_from_slice(b": ");
        push_sanitized(&mut out, value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"Content-Length: 0\r\n\r\n");
    Some(out)
}

fn push_status(out: &mut Vec<u8>, status: u16) {
    // status is 100..=699, so exactly three digits.
    for d in [status / 100, status / 10 % 10, status % 10] {
        out.push(b'0' + (d as u8));
    }
}

/// `Name: value\r\n`, the value trimmed and unfolded (each fold becomes one space).
fn push_header(out: &mut Vec<u8>, name: &str, value: &[u8]) {
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b": ");
    let value = trim_lws(value);
    let mut i = 0;
    while i < value.len() {
        let b = value[i];
        if b == b'\r' || b == b'\n' {
            while i < value.len() && is_lws(value[i]) {
                i += 1;
            }
            out.push(b' ');
        } else {
            out.push(b);
            i += 1;
        }
    }
    out.extend_from_slice(b"\r\n");
}

/// Copies caller-supplied text, turning controls (CR and LF above all) into spaces.
fn push_sanitized(out: &mut Vec<u8>, text: &[u8]) {
    out.extend(
        text.iter()
            .map(|&b| if b < 0x20 || b == 0x7f { b' ' } else { b }),
    );
}

/// FNV-1a over the parts, with a separator so that ("ab","c") and ("a","bc") differ.
fn stateless_tag(parts: &[&[u8]]) -> u64 {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    let mut h = OFFSET;
    for part in parts {
        for &b in trim_lws(part).iter().chain(std::iter::once(&0xff)) {
            h ^= u64::from(b);
            h = h.wrapping_mul(PRIME);
        }
    }
    h
}

fn push_hex(out: &mut Vec<u8>, n: u64) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for shift in (0..16).rev() {
        out.push(HEX[((n >> (shift * 4)) & 0xf) as usize]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const REQ: &[u8] = b"\r\nINVITE sip:bob@example.com SIP/2.0\r\n\
Via: SIP/2.0/UDP a.example.com;branch=z9hG4bK1\r\n\
v: SIP/2.0/UDP b.example.com;branch=z9hG4bK2,\r\n SIP/2.0/UDP c.example.com\r\n\
f: <sip:alice@example.com>;tag=1\r\n\
t:\r\n  <sip:bob@example.com>\r\n\
i: abc@host\r\n\
Max-Forwards: 70\r\n\
CSeq: 1 INVITE\r\n\
Content-Length: 4\r\n\r\nbody";

    fn text(v: &[u8]) -> String {
        String::from_utf8_lossy(v).into_owned()
    }

    #[test]
    fn copies_the_dialog_fields_and_adds_a_tag() {
        let r =
            stateless_response(REQ, 486, "Busy Here", &[("Retry-After", "30")]).expect("response");
        let r = text(&r);
        let tag_start = r.rfind(";tag=").expect("tag") + 5;
        let tag = &r[tag_start..tag_start + 16];
        assert!(tag.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_eq!(
            r,
            format!(
                "SIP/2.0 486 Busy Here\r\n\
Via: SIP/2.0/UDP a.example.com;branch=z9hG4bK1\r\n\
Via: SIP/2.0/UDP b.example.com;branch=z9hG4bK2, SIP/2.0/UDP c.example.com\r\n\
From: <sip:alice@example.com>;tag=1\r\n\
To: <sip:bob@example.com>;tag={tag}\r\n\
Call-ID: abc@host\r\n\
CSeq: 1 INVITE\r\n\
Retry-After: 30\r\n\
Content-Length: 0\r\n\r\n"
            )
        );
    }

    #[test]
    fn tag_is_stable_per_request_and_differs_between_requests() {
        let a = stateless_response(REQ, 400, "Bad Request", &[]).expect("a");
        let b = stateless_response(REQ, 503, "Service Unavailable", &[]).expect("b");
        let tag = |r: &[u8]| {
            let r = text(r);
            let i = r.rfind(";tag=").expect("tag");
            r[i..i + 21].to_string()
        };
        assert_eq!(tag(&a), tag(&b));
        let other = text(REQ).replace("i: abc@host", "i: abd@host");
        let c = stateless_response(other.as_bytes(), 400, "Bad Request", &[]).expect("c");
        assert_ne!(tag(&a), tag(&c));
    }

    #[test]
    fn keeps_an_existing_tag_and_skips_it_for_100() {
        let tagged = text(REQ).replace("<sip:bob@example.com>", "<sip:bob@example.com>;tag=x");
        let r = text(&stateless_response(tagged.as_bytes(), 481, "Gone", &[]).expect("r"));
        assert!(r.contains("To: <sip:bob@example.com>;tag=x\r\n"), "{r}");
        assert_eq!(r.matches("tag=").count(), 2);
        let r = text(&stateless_response(REQ, 100, "Trying", &[]).expect("r"));
        assert!(r.contains("To: <sip:bob@example.com>\r\n"), "{r}");
    }

    #[test]
    fn refuses_what_cannot_be_answered() {
        assert_eq!(stateless_response(REQ, 99, "x", &[]), None);
        assert_eq!(stateless_response(REQ, 700, "x", &[]), None);
        let ack = text(REQ).replace("INVITE sip", "ACK sip");
        assert_eq!(stateless_response(ack.as_bytes(), 400, "x", &[]), None);
        let tabbed_ack = text(REQ).replace("INVITE sip", "ACK\tsip");
        assert_eq!(
            stateless_response(tabbed_ack.as_bytes(), 400, "x", &[]),
            None
        );
        let resp = b"SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP a\r\nCSeq: 1 INVITE\r\n\r\n";
        assert_eq!(stateless_response(resp, 400, "x", &[]), None);
        let no_via = text(REQ)
            .replace("Via: SIP/2.0/UDP a.example.com;branch=z9hG4bK1\r\n", "")
            .replace(
                "v: SIP/2.0/UDP b.example.com;branch=z9hG4bK2,\r\n SIP/2.0/UDP c.example.com\r\n",
                "",
            );
        assert_eq!(stateless_response(no_via.as_bytes(), 400, "x", &[]), None);
        let no_cseq = text(REQ).replace("CSeq: 1 INVITE\r\n", "");
        assert_eq!(stateless_response(no_cseq.as_bytes(), 400, "x", &[]), None);
        assert_eq!(stateless_response(b"", 400, "x", &[]), None);
        assert_eq!(stateless_response(b"garbage\r\n\r\n", 400, "x", &[]), None);
    }

    #[test]
    fn answers_requests_missing_from_to_call_id() {
        let req = b"INVITE sip:a@b SIP/2.0\r\nCSeq: 1 INVITE\r\nVia: SIP/2.0/UDP h;branch=z9hG4bKx\r\n\r\n";
        let r = text(&stateless_response(req, 400, "Bad Request", &[]).expect("r"));
        assert_eq!(
            r,
            "SIP/2.0 400 Bad Request\r\nVia: SIP/2.0/UDP h;branch=z9hG4bKx\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n"
        );
    }

    #[test]
    fn caller_text_cannot_inject_lines() {
        let r = stateless_response(REQ, 400, "Bad\r\nX-Evil: 1", &[("X-A", "b\r\nX-Evil: 2")])
            .expect("r");
        let r = text(&r);
        assert!(r.starts_with("SIP/2.0 400 Bad  X-Evil: 1\r\n"), "{r}");
        assert!(r.contains("X-A: b  X-Evil: 2\r\n"), "{r}");
        assert!(!r.contains("\r\nX-Evil"));
    }

    #[test]
    fn skips_malformed_lines_but_keeps_the_rest() {
        let req = b"OPTIONS sip:a@b SIP/2.0\r\nnot a header\r\nVia: SIP/2.0/UDP h\r\nCSeq: 2 OPTIONS\r\nTo: sip:a@b\r\n";
        let r = text(&stateless_response(req, 400, "Bad Request", &[]).expect("r"));
        assert!(r.contains("Via: SIP/2.0/UDP h\r\nTo: sip:a@b;tag="), "{r}");
    }
}
