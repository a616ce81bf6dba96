//! One test per screening rule, on small hand-built messages.

use std::borrow::Cow;

use hotline_wire::{Kind, Limits, RefusalCode, Verdict, screen_datagram, status_for};

/// A valid OPTIONS; tests break one thing in it at a time.
const OPTIONS: &str = "OPTIONS sip:bob@example.com SIP/2.0\r\n\
Via: SIP/2.0/UDP pc.example.com:5060;branch=z9hG4bKabc\r\n\
Max-Forwards: 70\r\n\
From: Alice <sip:alice@example.com>;tag=1928\r\n\
To: <sip:bob@example.com>\r\n\
Call-ID: a84b4c76e66710@pc.example.com\r\n\
CSeq: 63104 OPTIONS\r\n\
Content-Length: 0\r\n\r\n";

fn with(from: &str, to: &str) -> String {
    assert!(OPTIONS.contains(from), "{from}");
    OPTIONS.replacen(from, to, 1)
}

fn screen(msg: &str) -> Verdict<'_> {
    screen_datagram(msg.as_bytes(), &Limits::default())
}

/// (verdict class, status if any, refusal code if any)
fn outcome(v: &Verdict<'_>) -> (&'static str, Option<u16>, Option<RefusalCode>) {
    match v {
        Verdict::Accept { .. } => ("accept", None, None),
        Verdict::Reply {
            status, refusal, ..
        } => ("reply", Some(*status), Some(refusal.code)),
        Verdict::Drop(r) => ("drop", None, Some(r.code)),
    }
}

fn assert_reply(msg: &str, status: u16, code: RefusalCode) -> String {
    match screen(msg) {
        Verdict::Reply {
            status: s,
            response,
            refusal,
        } => {
            assert_eq!((s, refusal.code), (status, code), "{msg}");
            String::from_utf8(response).expect("utf-8 response")
        }
        other => panic!("expected {status} {code:?}, got {other:?}\n{msg}"),
    }
}

fn assert_accept(msg: &str) -> hotline_wire::Head {
    match screen(msg) {
        Verdict::Accept { head, .. } => head,
        other => panic!("expected accept, got {other:?}\n{msg}"),
    }
}

fn assert_drop(bytes: &[u8], code: RefusalCode) {
    match screen_datagram(bytes, &Limits::default()) {
        Verdict::Drop(r) => assert_eq!(r.code, code, "{}", String::from_utf8_lossy(bytes)),
        other => panic!("expected drop {code:?}, got {other:?}"),
    }
}

#[test]
fn the_base_message_is_accepted_as_is_without_copying() {
    match screen(OPTIONS) {
        Verdict::Accept {
            bytes: Cow::Borrowed(b),
            head,
        } => {
            assert_eq!(b, OPTIONS.as_bytes());
            assert_eq!(
                head.kind,
                Kind::Request {
                    method: "OPTIONS".into()
                }
            );
            assert_eq!(head.call_id, "a84b4c76e66710@pc.example.com");
            assert_eq!(head.cseq_method, "OPTIONS");
            assert_eq!(head.max_forwards, Some(70));
            assert!(!head.has_to_tag);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn non_sip_and_keepalives_are_dropped() {
    for bytes in [
        &b""[..],
        b"\r\n\r\n",
        b"\r\n",
        b"   \t ",
        b"\x00\x00\x00\x00",
        b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
        b"hello",
        b"\xff\xfe\xfd",
    ] {
        assert_drop(bytes, RefusalCode::NotSip);
    }
}

#[test]
fn leading_crlfs_are_skipped_and_not_passed_on() {
    let msg = format!("\r\n\r\n{OPTIONS}");
    match screen(&msg) {
        Verdict::Accept { bytes, .. } => assert_eq!(&*bytes, OPTIONS.as_bytes()),
        other => panic!("{other:?}"),
    }
}

#[test]
fn oversized_requests_get_513_and_oversized_responses_are_dropped() {
    let limits = Limits {
        max_datagram: 200,
        ..Limits::default()
    };
    assert!(OPTIONS.len() > 200);
    match screen_datagram(OPTIONS.as_bytes(), &limits) {
        Verdict::Reply {
            status, refusal, ..
        } => {
            assert_eq!(status, 513);
            assert_eq!(refusal.code, RefusalCode::DatagramTooLarge);
        }
        other => panic!("{other:?}"),
    }
    let resp = "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP h;branch=z9hG4bKx\r\n\r\n".repeat(10);
    assert!(matches!(
        screen_datagram(resp.as_bytes(), &limits),
        Verdict::Drop(r) if r.code == RefusalCode::DatagramTooLarge
    ));
    // Too big and without a Via: nothing to answer.
    let junk = format!("OPTIONS sip:a@b SIP/2.0\r\nX: {}\r\n\r\n", "y".repeat(300));
    assert!(matches!(
        screen_datagram(junk.as_bytes(), &limits),
        Verdict::Drop(r) if r.code == RefusalCode::DatagramTooLarge
    ));
}

#[test]
fn header_limits_give_513() {
    let many = with("Content-Length: 0\r\n", &"X-A: 1\r\n".repeat(200));
    assert_reply(&many, 513, RefusalCode::TooManyHeaders);
    let big = with(
        "Content-Length: 0\r\n",
        &format!("X-A: {}\r\n", "a".repeat(20_000)),
    );
    assert_reply(&big, 513, RefusalCode::HeaderSectionTooLarge);
    let tight = Limits {
        max_headers: 7,
        ..Limits::default()
    };
    assert!(matches!(
        screen_datagram(OPTIONS.as_bytes(), &tight),
        Verdict::Accept { .. }
    ));
    let tighter = Limits {
        max_headers: 6,
        ..Limits::default()
    };
    assert_eq!(
        outcome(&screen_datagram(OPTIONS.as_bytes(), &tighter)),
        ("reply", Some(513), Some(RefusalCode::TooManyHeaders))
    );
}

#[test]
fn line_ending_faults_are_400() {
    assert_reply(
        &with("SIP/2.0\r\nVia", "SIP/2.0\nVia"),
        400,
        RefusalCode::BadLineEnding,
    );
    assert_reply(
        &with("Max-Forwards: 70\r\n", "Max-Forwards: 70\n"),
        400,
        RefusalCode::BadLineEnding,
    );
    assert_reply(
        &with("Max-Forwards: 70\r\n", "Max-Forwards: 7\r0\r\n"),
        400,
        RefusalCode::BadLineEnding,
    );
    let truncated = OPTIONS.trim_end_matches("\r\n\r\n").to_owned() + "\r\nX-Cut: abc";
    assert_reply(&truncated, 400, RefusalCode::UnterminatedHeaders);
}

#[test]
fn missing_empty_line_is_tolerated_and_supplied() {
    let msg = OPTIONS.trim_end_matches("\r\n");
    let msg = format!("{msg}\r\n");
    match screen(&msg) {
        Verdict::Accept {
            bytes: Cow::Owned(b),
            ..
        } => assert_eq!(b, OPTIONS.as_bytes()),
        other => panic!("{other:?}"),
    }
}

#[test]
fn malformed_header_lines_are_400() {
    assert_reply(
        &with("Max-Forwards: 70\r\n", "Max-Forwards 70\r\n"),
        400,
        RefusalCode::MalformedHeaderLine,
    );
    assert_reply(
        &with("SIP/2.0\r\n", "SIP/2.0\r\n folded-start: x\r\n"),
        400,
        RefusalCode::MalformedHeaderLine,
    );
    assert_reply(
        &with("Max-Forwards: 70\r\n", "Max@Forwards: 70\r\n"),
        400,
        RefusalCode::MalformedHeaderLine,
    );
}

#[test]
fn folding_compact_forms_and_case_are_understood() {
    let msg = "OPTIONS sip:bob@example.com SIP/2.0\r\n\
v: SIP/2.0/UDP pc.example.com\r\n ;branch=z9hG4bKabc\r\n\
MAX-FORWARDS:\r\n\t70\r\n\
f: Alice <sip:alice@example.com>;tag=1928\r\n\
t: <sip:bob@example.com>;tag=x\r\n\
i: short@pc\r\n\
cseq: 1\r\n OPTIONS\r\n\
k: path\r\n\
s: subject\r\n\
e: gzip\r\n\
l: 0\r\n\r\n";
    let head = assert_accept(msg);
    assert_eq!(head.call_id, "short@pc");
    assert_eq!(head.max_forwards, Some(70));
    assert!(head.has_to_tag);
}

#[test]
fn request_line_rules() {
    assert_reply(
        &with("OPTIONS sip", "OPTIONS  sip"),
        400,
        RefusalCode::MalformedRequestLine,
    );
    assert_reply(
        &with("SIP/2.0\r\nVia", "SIP/2.0 \r\nVia"),
        400,
        RefusalCode::MalformedRequestLine,
    );
    assert_reply(
        &with("sip:bob@example.com SIP", "<sip:bob@example.com> SIP"),
        400,
        RefusalCode::MalformedRequestUri,
    );
    assert_reply(
        &with("sip:bob@example.com SIP", "sip:bob@example.com; lr SIP"),
        400,
        RefusalCode::MalformedRequestUri,
    );
    assert_reply(
        &with(
            "sip:bob@example.com SIP",
            "sip:bob@example.com?Subject=x SIP",
        ),
        400,
        RefusalCode::MalformedRequestUri,
    );
    assert_reply(
        &with(
            "OPTIONS sip:bob@example.com SIP/2.0",
            "OPTIONS sip:bob@example.com SIP/3.0",
        ),
        505,
        RefusalCode::VersionNotSupported,
    );
}

#[test]
fn uri_schemes_sip_sips_tel_pass_others_get_416() {
    assert_accept(&with("sip:bob@example.com SIP", "sips:bob@example.com SIP"));
    assert_accept(&with("sip:bob@example.com SIP", "tel:+8612345 SIP"));
    assert_reply(
        &with("sip:bob@example.com SIP", "mailto:bob@example.com SIP"),
        416,
        RefusalCode::UnsupportedUriScheme,
    );
}

#[test]
fn unknown_methods_get_501_with_allow_and_known_ones_pass() {
    let r = assert_reply(
        &OPTIONS.replace("OPTIONS", "FROB"),
        501,
        RefusalCode::UnknownMethod,
    );
    assert!(r.contains("\r\nAllow: INVITE, ACK, BYE"), "{r}");
    // Methods are case-sensitive: "options" is not OPTIONS.
    assert_reply(
        &OPTIONS.replace("OPTIONS", "options"),
        501,
        RefusalCode::UnknownMethod,
    );
    for m in hotline_wire::SUPPORTED_METHODS {
        let msg = OPTIONS.replace("OPTIONS", m);
        if m == "ACK" {
            assert_eq!(outcome(&screen(&msg)).0, "accept");
        } else {
            assert_accept(&msg);
        }
    }
}

#[test]
fn cseq_rules() {
    assert_reply(
        &with("63104 OPTIONS", "63104 INVITE"),
        400,
        RefusalCode::CSeqMethodMismatch,
    );
    assert_reply(
        &with("63104 OPTIONS", "2147483648 OPTIONS"),
        400,
        RefusalCode::CSeqOutOfRange,
    );
    assert_accept(&with("63104 OPTIONS", "2147483647 OPTIONS"));
    assert_reply(
        &with("63104 OPTIONS", "OPTIONS"),
        400,
        RefusalCode::MalformedCSeq,
    );
}

#[test]
fn scalar_range_rules() {
    assert_reply(
        &with("Max-Forwards: 70", "Max-Forwards: 256"),
        400,
        RefusalCode::MaxForwardsOutOfRange,
    );
    assert_accept(&with("Max-Forwards: 70", "Max-Forwards: 255"));
    assert_accept(&with(
        "Content-Length: 0\r\n",
        "Expires: 4294967295\r\nContent-Length: 0\r\n",
    ));
    assert_reply(
        &with(
            "Content-Length: 0\r\n",
            "Expires: 4294967296\r\nContent-Length: 0\r\n",
        ),
        400,
        RefusalCode::ExpiresOutOfRange,
    );
    assert_reply(
        &with(
            "Content-Length: 0\r\n",
            "Contact: <sip:a@b>;expires=99999999999\r\nContent-Length: 0\r\n",
        ),
        400,
        RefusalCode::ExpiresOutOfRange,
    );
    assert_reply(
        &with("Call-ID: a84b4c76e66710@pc.example.com", "Call-ID: a b"),
        400,
        RefusalCode::MalformedCallId,
    );
}

#[test]
fn content_length_rules() {
    assert_reply(
        &with("Content-Length: 0", "Content-Length: -1"),
        400,
        RefusalCode::MalformedContentLength,
    );
    assert_reply(
        &with("Content-Length: 0", "Content-Length: 5"),
        400,
        RefusalCode::ContentLengthMismatch,
    );
    assert_reply(
        &with("Content-Length: 0", "Content-Length: 0\r\nl: 0"),
        400,
        RefusalCode::MultipleContentLength,
    );
    // Body longer than Content-Length: the extra octets are cut.
    let msg = with("Content-Length: 0", "Content-Length: 3") + "abcdef";
    match screen(&msg) {
        Verdict::Accept { bytes, .. } => assert!(bytes.ends_with(b"\r\n\r\nabc")),
        other => panic!("{other:?}"),
    }
    // No Content-Length over UDP: the body runs to the end of the datagram.
    let msg = with("Content-Length: 0\r\n", "") + "body";
    match screen(&msg) {
        Verdict::Accept { bytes, .. } => assert_eq!(&*bytes, msg.as_bytes()),
        other => panic!("{other:?}"),
    }
}

#[test]
fn single_value_headers_may_not_repeat() {
    for (from, to) in [
        (
            "Call-ID: a84b4c76e66710@pc.example.com",
            "Call-ID: a@b\r\ni: c@d",
        ),
        ("CSeq: 63104 OPTIONS", "CSeq: 1 OPTIONS\r\nCSeq: 2 OPTIONS"),
        (
            "To: <sip:bob@example.com>",
            "To: <sip:bob@example.com>\r\nt: sip:x@y",
        ),
        ("From: Alice", "f: sip:x@y;tag=2\r\nFrom: Alice"),
        ("Max-Forwards: 70", "Max-Forwards: 70\r\nMax-Forwards: 69"),
        (
            "Content-Length: 0",
            "Content-Type: a/b\r\nc: a/b\r\nContent-Length: 0",
        ),
        (
            "Content-Length: 0",
            "Expires: 1\r\nExpires: 2\r\nContent-Length: 0",
        ),
    ] {
        assert_reply(&with(from, to), 400, RefusalCode::DuplicateHeader);
    }
    assert_reply(
        &with(
            "To: <sip:bob@example.com>",
            "To: <sip:bob@example.com>, <sip:carol@example.com>",
        ),
        400,
        RefusalCode::MalformedAddress,
    );
}

#[test]
fn required_headers() {
    for line in [
        "Via: SIP/2.0/UDP pc.example.com:5060;branch=z9hG4bKabc\r\n",
        "From: Alice <sip:alice@example.com>;tag=1928\r\n",
        "To: <sip:bob@example.com>\r\n",
        "Call-ID: a84b4c76e66710@pc.example.com\r\n",
        "CSeq: 63104 OPTIONS\r\n",
    ] {
        let msg = with(line, "");
        let v = screen(&msg);
        let class = outcome(&v);
        assert_eq!(class.2, Some(RefusalCode::MissingHeader), "{line}");
        // Without a Via or a CSeq the client could not match a response: dropped.
        let answerable = !line.starts_with("Via") && !line.starts_with("CSeq");
        assert_eq!(class.0, if answerable { "reply" } else { "drop" }, "{line}");
    }
    // Max-Forwards is optional (RFC 2543 clients do not send it).
    let head = assert_accept(&with("Max-Forwards: 70\r\n", ""));
    assert_eq!(head.max_forwards, None);
}

#[test]
fn via_rules() {
    assert_reply(
        &with("branch=z9hG4bKabc", "branch=z9hG4bK"),
        400,
        RefusalCode::MagicCookieOnlyBranch,
    );
    assert_accept(&with(";branch=z9hG4bKabc", ""));
    assert_reply(
        &with("pc.example.com:5060;", "pc.example.com:5060;;"),
        400,
        RefusalCode::MalformedVia,
    );
    assert_reply(
        &with("SIP/2.0/UDP pc", "SIP/2.0/UDPpc"),
        400,
        RefusalCode::MalformedVia,
    );
}

#[test]
fn address_rules() {
    assert_reply(
        &with("From: Alice <", "From: \"Alice <"),
        400,
        RefusalCode::MalformedAddress,
    );
    assert_reply(
        &with("From: Alice <", "From: Alice, Liddell <"),
        400,
        RefusalCode::MalformedAddress,
    );
    assert_reply(
        &with("To: <sip:bob@example.com>", "To: < sip:bob@example.com>"),
        400,
        RefusalCode::MalformedAddress,
    );
    assert_reply(
        &with(
            "Content-Length: 0",
            "Contact: sip:a@b?Route=x\r\nContent-Length: 0",
        ),
        400,
        RefusalCode::MalformedAddress,
    );
    assert_accept(&with(
        "Content-Length: 0",
        "Contact: *\r\nContent-Length: 0",
    ));
    assert_accept(&with(
        "Content-Length: 0",
        "m: <sip:a@b?Route=x>, \"B, C\" <sip:c@d>;q=0.1\r\nContent-Length: 0",
    ));
}

#[test]
fn proxy_require_rules() {
    let msg = with(
        "Content-Length: 0",
        "Proxy-Require: sec-agree, Path\r\nRequire: whatever\r\nContent-Length: 0",
    );
    let r = assert_reply(&msg, 420, RefusalCode::BadExtension);
    assert!(r.contains("\r\nUnsupported: sec-agree, Path\r\n"), "{r}");
    let limits = Limits {
        supported_extensions: vec!["path".into()],
        ..Limits::default()
    };
    match screen_datagram(msg.as_bytes(), &limits) {
        Verdict::Reply { response, .. } => {
            let r = String::from_utf8_lossy(&response);
            assert!(r.contains("\r\nUnsupported: sec-agree\r\n"), "{r}");
        }
        other => panic!("{other:?}"),
    }
    // CANCEL must reach its transaction whatever it asks of proxies.
    assert_accept(&msg.replace("OPTIONS", "CANCEL"));
    // Require is the UAS's business.
    assert_accept(&with(
        "Content-Length: 0",
        "Require: foo\r\nContent-Length: 0",
    ));
}

#[test]
fn ack_is_never_answered() {
    let ack = OPTIONS.replace("OPTIONS", "ACK");
    for (from, to) in [
        ("Max-Forwards: 70", "Max-Forwards: 999"),
        ("sip:bob@example.com SIP", "mailto:bob@example.com SIP"),
        ("63104 ACK", "63104 INVITE"),
        ("Content-Length: 0", "Proxy-Require: x\r\nContent-Length: 0"),
    ] {
        assert!(ack.contains(from));
        let msg = ack.replacen(from, to, 1);
        assert_eq!(outcome(&screen(&msg)).0, "drop", "{msg}");
    }
    // Even when the Request-Line around it is malformed.
    for line in [
        "ACK	sip:bob@example.com SIP/2.0",
        "ACK  sip:bob@example.com SIP/2.0",
    ] {
        let msg = ack.replacen("ACK sip:bob@example.com SIP/2.0", line, 1);
        assert_eq!(
            outcome(&screen(&msg)),
            ("drop", None, Some(RefusalCode::MalformedRequestLine)),
            "{msg}"
        );
    }
}

#[test]
fn responses_are_accepted_or_dropped_never_answered() {
    let ok = "SIP/2.0 180 Ringing\r\n\
Via: SIP/2.0/UDP pc.example.com;branch=z9hG4bKabc\r\n\
From: <sip:alice@example.com>;tag=1\r\n\
To: <sip:bob@example.com>;tag=2\r\n\
Call-ID: x@y\r\n\
CSeq: 1 INVITE\r\n\
Content-Length: 0\r\n\r\n";
    let head = assert_accept(ok);
    assert_eq!(head.kind, Kind::Response { status: 180 });
    assert_eq!(head.cseq_method, "INVITE");
    for (from, to) in [
        ("180 Ringing", "1800 Ringing"),
        ("SIP/2.0 180", "SIP/3.0 180"),
        ("Call-ID: x@y\r\n", ""),
        ("CSeq: 1 INVITE", "CSeq: 99999999999 INVITE"),
        ("Content-Length: 0", "Content-Length: 10"),
    ] {
        let msg = ok.replacen(from, to, 1);
        assert_eq!(outcome(&screen(&msg)).0, "drop", "{msg}");
    }
}

#[test]
fn reason_phrases_name_the_fault() {
    let r = assert_reply(
        &with("Content-Length: 0", "Content-Length: 9"),
        400,
        RefusalCode::ContentLengthMismatch,
    );
    assert!(r.starts_with("SIP/2.0 400 Bad Request (Content-Length exceeds datagram)\r\n"));
    assert_eq!(status_for(RefusalCode::MalformedVia), 400);
    assert_eq!(status_for(RefusalCode::UnsupportedUriScheme), 416);
    assert_eq!(status_for(RefusalCode::BadExtension), 420);
    assert_eq!(status_for(RefusalCode::UnknownMethod), 501);
    assert_eq!(status_for(RefusalCode::VersionNotSupported), 505);
    assert_eq!(status_for(RefusalCode::DatagramTooLarge), 513);
}
