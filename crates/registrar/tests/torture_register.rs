//! The REGISTER messages of RFC 4475 (cparam01, cparam02, regescrt, escnull, regbadct): their
//! Contact and Expires values, taken from the exact message bytes, fed to the registrar.

use hotline_registrar::{ContactError, RegisterError, RegisterRequest, Registrar, RegistrarConfig};
use std::time::Instant;

struct Message {
    contacts: Vec<String>,
    expires: Option<String>,
    call_id: String,
    cseq: u32,
}

fn load(name: &str) -> Message {
    let path = format!(
        "{}/../../tests/data/sip-torture/{name}.dat",
        env!("CARGO_MANIFEST_DIR")
    );
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let text = String::from_utf8_lossy(&bytes);
    let head = text.split("\r\n\r\n").next().expect("header section");
    // Unfold continuation lines, then pick headers by full or compact name.
    let mut lines: Vec<String> = Vec::new();
    for line in head.split("\r\n").skip(1) {
        match (line.starts_with([' ', '\t']), lines.last_mut()) {
            (true, Some(last)) => last.push_str(line),
            _ => lines.push(line.to_owned()),
        }
    }
    let values = |names: &[&str]| -> Vec<String> {
        lines
            .iter()
            .filter_map(|l| {
                let (k, v) = l.split_once(':')?;
                names
                    .iter()
                    .any(|n| k.trim().eq_ignore_ascii_case(n))
                    .then(|| v.trim().to_owned())
            })
            .collect()
    };
    let cseq = values(&["CSeq"])[0]
        .split_whitespace()
        .next()
        .and_then(|n| n.parse().ok())
        .expect("CSeq number");
    Message {
        contacts: values(&["Contact", "m"]),
        expires: values(&["Expires"]).into_iter().next(),
        call_id: values(&["Call-ID", "i"])[0].clone(),
        cseq,
    }
}

fn register(
    reg: &mut Registrar,
    msg: &Message,
    aor: &str,
) -> Result<Vec<(String, String)>, RegisterError> {
    let contacts: Vec<&str> = msg.contacts.iter().map(String::as_str).collect();
    let now = Instant::now();
    reg.register(
        RegisterRequest {
            aor,
            call_id: &msg.call_id,
            cseq: msg.cseq,
            contacts: &contacts,
            expires: msg.expires.as_deref(),
            source: "192.0.2.1:5060".parse().expect("addr"),
            transport: "udp",
            user_agent: None,
        },
        now,
    )?;
    Ok(reg
        .lookup(aor, now)
        .iter()
        .map(|b| (b.uri().to_owned(), b.params().to_owned()))
        .collect())
}

#[test]
fn cparam01_unknownparam_outside_brackets_is_a_contact_param() {
    let msg = load("cparam01");
    assert_eq!(
        msg.contacts,
        ["sip:+19725552222@gw1.example.net;unknownparam"]
    );
    let mut reg = Registrar::new(RegistrarConfig::default());
    let got = register(&mut reg, &msg, "watson").expect("200");
    assert_eq!(
        got,
        [(
            "sip:+19725552222@gw1.example.net".to_owned(),
            ";unknownparam".to_owned()
        )]
    );
}

#[test]
fn cparam02_unknownparam_inside_brackets_stays_in_the_uri() {
    let msg = load("cparam02");
    let mut reg = Registrar::new(RegistrarConfig::default());
    let got = register(&mut reg, &msg, "watson").expect("200");
    assert_eq!(
        got,
        [(
            "sip:+19725552222@gw1.example.net;unknownparam".to_owned(),
            String::new()
        )]
    );
}

#[test]
fn cparam01_and_02_are_two_different_bindings() {
    let mut reg = Registrar::new(RegistrarConfig::default());
    register(&mut reg, &load("cparam01"), "watson").expect("200");
    let got = register(&mut reg, &load("cparam02"), "watson").expect("200");
    assert_eq!(got.len(), 2);
}

#[test]
fn regescrt_escaped_route_header_stays_in_the_uri() {
    let msg = load("regescrt");
    assert_eq!(msg.cseq, 14398234);
    let mut reg = Registrar::new(RegistrarConfig::default());
    let got = register(&mut reg, &msg, "user").expect("200");
    assert_eq!(
        got,
        [(
            "sip:user@example.com?Route=%3Csip:sip.example.com%3E".to_owned(),
            String::new()
        )]
    );
}

#[test]
fn escnull_registers_two_distinct_contacts_without_truncation() {
    let msg = load("escnull");
    assert_eq!(msg.contacts.len(), 2, "two Contact headers");
    let mut reg = Registrar::new(RegistrarConfig::default());
    let mut got: Vec<String> = register(&mut reg, &msg, "null-%00-null")
        .expect("200")
        .into_iter()
        .map(|(uri, _)| uri)
        .collect();
    got.sort();
    assert_eq!(
        got,
        ["sip:%00%00@host5.example.com", "sip:%00@host5.example.com"]
    );
    assert_eq!(reg.aors().collect::<Vec<_>>(), ["null-%00-null"]);
}

#[test]
fn regbadct_unbracketed_uri_with_headers_is_refused() {
    let msg = load("regbadct");
    let mut reg = Registrar::new(RegistrarConfig::default());
    let err = register(&mut reg, &msg, "user").expect_err("400");
    assert_eq!(
        err,
        RegisterError::BadContact(ContactError::NeedsAngleBrackets)
    );
    assert_eq!(err.status_code(), 400);
    assert!(reg.is_empty());
}
