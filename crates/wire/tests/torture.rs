//! Every RFC 4475 torture message, fed as one datagram, gets the verdict decided for it here.

use std::collections::BTreeSet;
use std::path::PathBuf;

use hotline_wire::{Kind, Limits, RefusalCode, Verdict, screen_datagram};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    Accept,
    Reply(u16, RefusalCode),
    Drop(RefusalCode),
}

use Expect::{Accept, Drop, Reply};
use RefusalCode as C;

/// One row per file: (file, RFC 4475 section, expected verdict).
const TABLE: &[(&str, &str, Expect)] = &[
    // 3.1.1.1 A Short Tortuous INVITE: folding, odd spacing, case, compact forms: all legal.
    ("wsinv", "3.1.1.1", Accept),
    // 3.1.1.2 Wide Range of Valid Characters: parses; the method is unknown, so a UAS says 501.
    ("intmeth", "3.1.1.2", Reply(501, C::UnknownMethod)),
    // 3.1.1.3 Valid Use of the % Escaping Mechanism.
    ("esc01", "3.1.1.3", Accept),
    // 3.1.1.4 Escaped Nulls in URIs.
    ("escnull", "3.1.1.4", Accept),
    // 3.1.1.5 Use of % When It Is Not an Escape: RE%47IST%45R is not REGISTER, so 501.
    ("esc02", "3.1.1.5", Reply(501, C::UnknownMethod)),
    // 3.1.1.6 Message with No LWS between Display Name and <.
    ("lwsdisp", "3.1.1.6", Accept),
    // 3.1.1.7 Long Values in Header Fields.
    ("longreq", "3.1.1.7", Accept),
    // 3.1.1.8 Extra Trailing Octets in a UDP Datagram: accepted, the trailing INVITE cut.
    ("dblreq", "3.1.1.8", Accept),
    // 3.1.1.9 Semicolon-Separated Parameters in URI User Part.
    ("semiuri", "3.1.1.9", Accept),
    // 3.1.1.10 Varied and Unknown Transport Types.
    ("transports", "3.1.1.10", Accept),
    // 3.1.1.11 Multipart MIME Message (binary body framed by Content-Length).
    ("mpart01", "3.1.1.11", Accept),
    // 3.1.1.12 Unusual Reason Phrase: a valid response; the stack drops it without a transaction.
    ("unreason", "3.1.1.12", Accept),
    // 3.1.1.13 Empty Reason Phrase: likewise.
    ("noreason", "3.1.1.13", Accept),
    // 3.1.2.1 Extraneous Header Field Separators (Via ";;,;,,").
    ("badinv01", "3.1.2.1", Reply(400, C::MalformedVia)),
    // 3.1.2.2 Content Length Larger Than Message: over UDP, 400.
    ("clerr", "3.1.2.2", Reply(400, C::ContentLengthMismatch)),
    // 3.1.2.3 Negative Content-Length.
    ("ncl", "3.1.2.3", Reply(400, C::MalformedContentLength)),
    // 3.1.2.4 Request Scalar Fields with Overlarge Values: CSeq is the first fault.
    ("scalar02", "3.1.2.4", Reply(400, C::CSeqOutOfRange)),
    // 3.1.2.5 Response Scalar Fields with Overlarge Values: a response, so dropped.
    ("scalarlg", "3.1.2.5", Drop(C::CSeqOutOfRange)),
    // 3.1.2.6 Unterminated Quoted String in Display Name.
    ("quotbal", "3.1.2.6", Reply(400, C::MalformedAddress)),
    // 3.1.2.7 <> Enclosing Request-URI.
    ("ltgtruri", "3.1.2.7", Reply(400, C::MalformedRequestUri)),
    // 3.1.2.8 Malformed SIP Request-URI (embedded LWS).
    ("lwsruri", "3.1.2.8", Reply(400, C::MalformedRequestUri)),
    // 3.1.2.9 Multiple SP Separating Request-Line Elements.
    ("lwsstart", "3.1.2.9", Reply(400, C::MalformedRequestLine)),
    // 3.1.2.10 SP Characters at End of Request-Line.
    ("trws", "3.1.2.10", Reply(400, C::MalformedRequestLine)),
    // 3.1.2.11 Escaped Headers in SIP Request-URI.
    ("escruri", "3.1.2.11", Reply(400, C::MalformedRequestUri)),
    // 3.1.2.12 Invalid Time Zone in Date Header Field: Date is unused, so respond normally.
    ("baddate", "3.1.2.12", Accept),
    // 3.1.2.13 Failure to Enclose name-addr URI in <> (Contact with ?).
    ("regbadct", "3.1.2.13", Reply(400, C::MalformedAddress)),
    // 3.1.2.14 Spaces within addr-spec.
    ("badaspec", "3.1.2.14", Reply(400, C::MalformedAddress)),
    // 3.1.2.15 Non-token Characters in Display Name.
    ("baddn", "3.1.2.15", Reply(400, C::MalformedAddress)),
    // 3.1.2.16 Unknown Protocol Version.
    ("badvers", "3.1.2.16", Reply(505, C::VersionNotSupported)),
    // 3.1.2.17 Start Line and CSeq Method Mismatch.
    ("mismatch01", "3.1.2.17", Reply(400, C::CSeqMethodMismatch)),
    // 3.1.2.18 Unknown Method with CSeq Method Mismatch: 501 preferred.
    ("mismatch02", "3.1.2.18", Reply(501, C::UnknownMethod)),
    // 3.1.2.19 Overlarge Response Code: a response, so dropped.
    ("bigcode", "3.1.2.19", Drop(C::MalformedStatusLine)),
    // 3.2.1 Missing Transaction Identifier: branch is only the magic cookie, 400 statelessly.
    ("badbranch", "3.2.1", Reply(400, C::MagicCookieOnlyBranch)),
    // 3.3.1 Missing Required Header Fields (no Call-ID, From, To): 400.
    ("insuf", "3.3.1", Reply(400, C::MissingHeader)),
    // 3.3.2 Request-URI with Unknown Scheme.
    ("unkscm", "3.3.2", Reply(416, C::UnsupportedUriScheme)),
    // 3.3.3 Request-URI with Known but Atypical Scheme.
    ("novelsc", "3.3.3", Reply(416, C::UnsupportedUriScheme)),
    // 3.3.4 Unknown URI Schemes in Header Fields: well formed; the registrar decides.
    ("unksm2", "3.3.4", Accept),
    // 3.3.5 Proxy-Require and Require: 420 for the Proxy-Require tags.
    ("bext01", "3.3.5", Reply(420, C::BadExtension)),
    // 3.3.6 Unknown Content-Type: the UAS answers 415 later.
    ("invut", "3.3.6", Accept),
    // 3.3.7 Unknown Authorization Scheme: the registrar decides.
    ("regaut01", "3.3.7", Accept),
    // 3.3.8 Multiple Values in Single Value Required Fields.
    ("multi01", "3.3.8", Reply(400, C::DuplicateHeader)),
    // 3.3.9 Multiple Content-Length Values.
    ("mcl01", "3.3.9", Reply(400, C::MultipleContentLength)),
    // 3.3.10 200 OK Response with Broadcast Via: the stack drops it without a transaction.
    ("bcast", "3.3.10", Accept),
    // 3.3.11 Max-Forwards of Zero: 483 or 200 is the stack's decision.
    ("zeromf", "3.3.11", Accept),
    // 3.3.12 REGISTER with a Contact Header Parameter.
    ("cparam01", "3.3.12", Accept),
    // 3.3.13 REGISTER with a url-parameter.
    ("cparam02", "3.3.13", Accept),
    // 3.3.14 REGISTER with a URL Escaped Header.
    ("regescrt", "3.3.14", Accept),
    // 3.3.15 Unacceptable Accept Offering: 406 is the UAS's decision.
    ("sdp01", "3.3.15", Accept),
    // 3.4.1 INVITE with RFC 2543 Syntax: no branch, tag, Content-Length or Max-Forwards.
    ("inv2543", "3.4.1", Accept),
];

fn corpus_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/data/sip-torture")
}

fn read(name: &str) -> Vec<u8> {
    let path = corpus_dir().join(format!("{name}.dat"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A deliberately separate, simple reader: header fields (unfolded, trimmed) of a message.
fn fields(msg: &[u8]) -> (String, Vec<(String, String)>) {
    let end = msg
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map_or(msg.len(), |i| i + 2);
    let text = String::from_utf8_lossy(&msg[..end]);
    let mut lines = text.split("\r\n");
    let start = lines.next().unwrap_or_default().to_owned();
    let mut out: Vec<(String, String)> = Vec::new();
    for line in lines.filter(|l| !l.is_empty()) {
        if line.starts_with([' ', '\t']) {
            if let Some(last) = out.last_mut() {
                last.1.push(' ');
                last.1.push_str(line.trim());
            }
            continue;
        }
        let (name, value) = line.split_once(':').expect("header line has a colon");
        let name = match name.trim().to_ascii_lowercase().as_str() {
            "v" => "via".to_owned(),
            "i" => "call-id".to_owned(),
            "f" => "from".to_owned(),
            "t" => "to".to_owned(),
            "l" => "content-length".to_owned(),
            other => other.to_owned(),
        };
        out.push((name, value.trim().to_owned()));
    }
    (start, out)
}

fn values(fields: &[(String, String)], name: &str) -> Vec<String> {
    fields
        .iter()
        .filter(|(n, _)| n == name)
        .map(|(_, v)| v.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect()
}

/// The reply parses as a SIP response and echoes the request's Via, Call-ID, CSeq and From.
fn check_reply(name: &str, request: &[u8], status: u16, response: &[u8]) {
    assert!(
        response.ends_with(b"\r\nContent-Length: 0\r\n\r\n"),
        "{name}"
    );
    let (status_line, resp) = fields(response);
    let mut parts = status_line.splitn(3, ' ');
    assert_eq!(parts.next(), Some("SIP/2.0"), "{name}: {status_line}");
    assert_eq!(parts.next(), Some(status.to_string().as_str()), "{name}");
    let reason = parts.next().unwrap_or_default();
    assert!(!reason.is_empty(), "{name}: empty reason");
    if status == 400 {
        assert!(
            reason.starts_with("Bad Request (") && reason.ends_with(')'),
            "{name}: {reason}"
        );
    }
    let (_, req) = fields(request);
    assert_eq!(values(&resp, "via"), values(&req, "via"), "{name}: Via");
    // Single-value fields: the first occurrence is echoed once, even when the request repeats it.
    for header in ["call-id", "cseq", "from"] {
        let first: Vec<String> = values(&req, header).into_iter().take(1).collect();
        assert_eq!(values(&resp, header), first, "{name}: {header}");
    }
    assert!(!values(&resp, "via").is_empty(), "{name}: no Via");
    let to = values(&resp, "to");
    let req_to = values(&req, "to");
    if let Some(req_to) = req_to.first() {
        assert_eq!(to.len(), 1, "{name}");
        if name == "quotbal" {
            // Its To has an open quote: echoed as is, since a tag would land inside the quote.
            assert_eq!(&to[0], req_to, "{name}");
        } else if req_to.contains("tag") {
            assert_eq!(&to[0], req_to, "{name}");
        } else {
            let (echoed, tag) = to[0].split_once(";tag=").expect("To tag added");
            assert_eq!(echoed, req_to, "{name}");
            assert_eq!(tag.len(), 16, "{name}");
        }
    }
}

#[test]
fn the_table_covers_every_corpus_file_once() {
    let index = std::fs::read_to_string(corpus_dir().join("index.tsv")).expect("index.tsv");
    let listed: BTreeSet<String> = index
        .lines()
        .skip(1)
        .filter_map(|l| l.split('\t').next())
        .map(|f| f.trim_end_matches(".dat").to_owned())
        .collect();
    let table: BTreeSet<String> = TABLE.iter().map(|(f, _, _)| (*f).to_owned()).collect();
    assert_eq!(TABLE.len(), 49);
    assert_eq!(table.len(), 49, "duplicate rows");
    assert_eq!(listed, table);
}

#[test]
fn every_torture_message_gets_its_verdict() {
    let limits = Limits::default();
    let mut failures = Vec::new();
    for &(name, section, expect) in TABLE {
        let bytes = read(name);
        let verdict = screen_datagram(&bytes, &limits);
        let got = match &verdict {
            Verdict::Accept { .. } => Accept,
            Verdict::Reply {
                status, refusal, ..
            } => Reply(*status, refusal.code),
            Verdict::Drop(refusal) => Drop(refusal.code),
        };
        if got != expect {
            failures.push(format!(
                "{name} (RFC 4475 {section}): expected {expect:?}, got {got:?} ({:?})",
                verdict.refusal()
            ));
            continue;
        }
        if let Verdict::Reply {
            status, response, ..
        } = &verdict
        {
            check_reply(name, &bytes, *status, response);
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

fn accept(name: &str) -> (Vec<u8>, hotline_wire::Head) {
    let bytes = read(name);
    match screen_datagram(&bytes, &Limits::default()) {
        Verdict::Accept { bytes, head } => (bytes.into_owned(), head),
        other => panic!("{name}: {other:?}"),
    }
}

fn reply(name: &str) -> String {
    match screen_datagram(&read(name), &Limits::default()) {
        Verdict::Reply { response, .. } => String::from_utf8_lossy(&response).into_owned(),
        other => panic!("{name}: {other:?}"),
    }
}

#[test]
fn accepted_messages_pass_through_unchanged() {
    for &(name, _, expect) in TABLE {
        if expect == Accept && name != "dblreq" {
            assert_eq!(accept(name).0, read(name), "{name}");
        }
    }
}

#[test]
fn dblreq_is_cut_after_its_empty_body() {
    let (bytes, head) = accept("dblreq");
    let full = read("dblreq");
    let cut = full
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("blank line")
        + 4;
    assert_eq!(bytes, &full[..cut]);
    assert!(bytes.starts_with(b"REGISTER sip:example.com SIP/2.0\r\n"));
    assert!(!bytes.windows(6).any(|w| w == b"INVITE"));
    assert_eq!(head.call_id, "dblreq.0ha0isndaksdj99sdfafnl3lk233412");
}

#[test]
fn heads_of_accepted_messages() {
    let (_, wsinv) = accept("wsinv");
    assert_eq!(
        wsinv.kind,
        Kind::Request {
            method: "INVITE".into()
        }
    );
    assert_eq!(wsinv.call_id, "wsinv.ndaksdj@192.0.2.1");
    assert_eq!(wsinv.cseq_method, "INVITE");
    assert_eq!(wsinv.max_forwards, Some(68));
    assert!(wsinv.has_to_tag);

    let (_, inv2543) = accept("inv2543");
    assert_eq!(inv2543.max_forwards, None);
    assert!(!inv2543.has_to_tag);

    let (_, zeromf) = accept("zeromf");
    assert_eq!(zeromf.max_forwards, Some(0));

    let (_, unreason) = accept("unreason");
    assert_eq!(unreason.kind, Kind::Response { status: 200 });
    assert!(unreason.has_to_tag);
    let (_, noreason) = accept("noreason");
    assert_eq!(noreason.kind, Kind::Response { status: 100 });
}

#[test]
fn replies_carry_their_extra_headers_and_named_faults() {
    let intmeth = reply("intmeth");
    assert!(intmeth.starts_with("SIP/2.0 501 Not Implemented\r\n"));
    assert!(intmeth.contains(
        "\r\nAllow: INVITE, ACK, BYE, CANCEL, OPTIONS, REGISTER, INFO, UPDATE, PRACK, REFER, NOTIFY, SUBSCRIBE, MESSAGE, PUBLISH\r\n"
    ));
    let bext = reply("bext01");
    assert!(bext.starts_with("SIP/2.0 420 Bad Extension\r\n"));
    assert!(bext.contains("\r\nUnsupported: noProxiesSupportThis, norDoAnyProxiesSupportThis\r\n"));
    assert!(
        !bext.contains("nothingSupportsThis\r\n"),
        "Require is the UAS's business"
    );
    assert!(
        reply("clerr").starts_with("SIP/2.0 400 Bad Request (Content-Length exceeds datagram)\r\n")
    );
    assert!(reply("badvers").starts_with("SIP/2.0 505 Version Not Supported\r\n"));
    assert!(reply("unkscm").starts_with("SIP/2.0 416 Unsupported URI Scheme\r\n"));
    let insuf = reply("insuf");
    assert!(insuf.contains("\r\nCSeq: 193942 INVITE\r\n"));
    assert!(!insuf.contains("Call-ID"));
}

#[test]
fn supported_proxy_require_tags_are_let_through() {
    let limits = Limits {
        supported_extensions: vec![
            "NOPROXIESSUPPORTTHIS".into(),
            "norDoAnyProxiesSupportThis".into(),
        ],
        ..Limits::default()
    };
    let bytes = read("bext01");
    assert!(matches!(
        screen_datagram(&bytes, &limits),
        Verdict::Accept { .. }
    ));
}
