//! RFC 3261 §10.3 rules: minimum interval, wildcard, Call-ID/CSeq ordering, contact limits,
//! atomicity, NAT source, and the errors with their status codes.

use hotline_registrar::{ContactError, RegisterError, RegisterRequest, Registrar, RegistrarConfig};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

fn addr(s: &str) -> SocketAddr {
    s.parse().expect("socket address")
}

fn req<'a>(
    call_id: &'a str,
    cseq: u32,
    contacts: &'a [&'a str],
    expires: Option<&'a str>,
) -> RegisterRequest<'a> {
    RegisterRequest {
        aor: "1001",
        call_id,
        cseq,
        contacts,
        expires,
        source: addr("203.0.113.7:40000"),
        transport: "udp",
        user_agent: None,
    }
}

fn uris(reg: &Registrar, now: Instant) -> Vec<String> {
    let mut v: Vec<String> = reg
        .lookup("1001", now)
        .iter()
        .map(|b| b.uri().to_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn too_brief_interval_is_423_and_changes_nothing() {
    let t0 = Instant::now();
    let mut reg = Registrar::new(RegistrarConfig::default());
    reg.register(req("a", 1, &["<sip:1001@10.0.0.5>"], None), t0)
        .expect("200");
    let err = reg
        .register(
            req(
                "a",
                2,
                &["<sip:1001@10.0.0.5>;expires=0, <sip:1001@10.0.0.6>;expires=30"],
                None,
            ),
            t0,
        )
        .expect_err("423");
    assert_eq!(err, RegisterError::IntervalTooBrief { min: 60 });
    assert_eq!(err.status_code(), 423);
    assert_eq!(
        uris(&reg, t0),
        ["sip:1001@10.0.0.5"],
        "the removal was not applied either"
    );

    let err = reg
        .register(req("a", 3, &["<sip:1001@10.0.0.6>"], Some("59")), t0)
        .expect_err("423");
    assert_eq!(err, RegisterError::IntervalTooBrief { min: 60 });
    reg.register(req("a", 4, &["<sip:1001@10.0.0.6>"], Some("60")), t0)
        .expect("min is allowed");
}

#[test]
fn expires_zero_removes_and_unknown_zero_is_harmless() {
    let t0 = Instant::now();
    let mut reg = Registrar::new(RegistrarConfig::default());
    reg.register(
        req(
            "a",
            1,
            &["<sip:1001@10.0.0.5>", "<sip:1001@10.0.0.6>"],
            None,
        ),
        t0,
    )
    .expect("200");
    let reply = reg
        .register(
            req(
                "a",
                2,
                &["<sip:1001@10.0.0.5>", "<sip:1001@10.0.0.9>"],
                Some("0"),
            ),
            t0,
        )
        .expect("200");
    assert_eq!(reply.bindings.len(), 1);
    assert_eq!(uris(&reg, t0), ["sip:1001@10.0.0.6"]);
}

#[test]
fn wildcard_needs_expires_zero_and_to_be_alone() {
    let t0 = Instant::now();
    let mut reg = Registrar::new(RegistrarConfig::default());
    reg.register(req("a", 1, &["<sip:1001@10.0.0.5>"], None), t0)
        .expect("200");
    reg.register(req("b", 1, &["<sip:1001@10.0.0.6>"], None), t0)
        .expect("200");
    for (contacts, expires) in [
        (&["*"][..], None),
        (&["*"][..], Some("3600")),
        (&["*", "<sip:1001@10.0.0.7>"][..], Some("0")),
        (&["*, <sip:1001@10.0.0.7>"][..], Some("0")),
        (&["*", "*"][..], Some("0")),
    ] {
        let err = reg
            .register(req("c", 1, contacts, expires), t0)
            .expect_err("400");
        assert_eq!(err, RegisterError::BadWildcard, "{contacts:?} {expires:?}");
        assert_eq!(err.status_code(), 400);
    }
    assert_eq!(reg.len(), 2);
    let reply = reg
        .register(req("c", 1, &["*"], Some("0")), t0)
        .expect("200");
    assert!(reply.bindings.is_empty());
    assert!(reg.is_empty());
    assert_eq!(reg.next_timeout(), None);
}

#[test]
fn wildcard_spares_bindings_refreshed_by_a_later_cseq_of_the_same_call_id() {
    let t0 = Instant::now();
    let mut reg = Registrar::new(RegistrarConfig::default());
    reg.register(req("a", 10, &["<sip:1001@10.0.0.5>"], None), t0)
        .expect("200");
    reg.register(req("b", 1, &["<sip:1001@10.0.0.6>"], None), t0)
        .expect("200");
    // A delayed "unregister all" from call-id a, CSeq 9, predates the CSeq 10 refresh.
    let reply = reg
        .register(req("a", 9, &["*"], Some("0")), t0)
        .expect("200");
    let left: Vec<&str> = reply.bindings.iter().map(|b| b.uri.as_str()).collect();
    assert_eq!(left, ["sip:1001@10.0.0.5"]);
}

#[test]
fn out_of_order_cseq_is_ignored_but_new_contacts_are_added() {
    let t0 = Instant::now();
    let mut reg = Registrar::new(RegistrarConfig::default());
    reg.register(req("a", 5, &["<sip:1001@10.0.0.5>"], Some("600")), t0)
        .expect("200");
    let t1 = t0 + Duration::from_secs(10);
    let reply = reg
        .register(
            req(
                "a",
                5,
                &["<sip:1001@10.0.0.5>;expires=0", "<sip:1001@10.0.0.6>"],
                Some("300"),
            ),
            t1,
        )
        .expect("200, not an error");
    assert_eq!(reply.bindings.len(), 2);
    let old = reg
        .lookup("1001", t1)
        .into_iter()
        .find(|b| b.uri() == "sip:1001@10.0.0.5")
        .expect("old binding kept");
    assert_eq!(old.cseq(), 5);
    assert_eq!(
        old.expires_at(),
        t0 + Duration::from_secs(600),
        "not updated"
    );

    reg.register(req("a", 4, &["<sip:1001@10.0.0.5>"], Some("60")), t1)
        .expect("200");
    let old = reg
        .lookup("1001", t1)
        .into_iter()
        .find(|b| b.uri() == "sip:1001@10.0.0.5")
        .expect("old binding kept");
    assert_eq!(
        old.expires_at(),
        t0 + Duration::from_secs(600),
        "lower CSeq ignored too"
    );

    // Another Call-ID (a phone that rebooted) may update regardless of CSeq.
    reg.register(req("z", 1, &["<sip:1001@10.0.0.5>;expires=0"], None), t1)
        .expect("200");
    assert_eq!(uris(&reg, t1), ["sip:1001@10.0.0.6"]);
}

#[test]
fn refresh_follows_the_phone_behind_nat() {
    let t0 = Instant::now();
    let mut reg = Registrar::new(RegistrarConfig::default());
    reg.register(req("a", 1, &["<sip:1001@192.168.1.20:5060>"], None), t0)
        .expect("200");
    let mut moved = req("a", 2, &["<sip:1001@192.168.1.20:5060>"], None);
    moved.source = addr("198.51.100.3:61000");
    moved.transport = "TCP";
    moved.user_agent = Some("MicroSIP/3.21");
    reg.register(moved, t0).expect("200");
    let b = reg.lookup("1001", t0)[0];
    assert_eq!(b.source(), addr("198.51.100.3:61000"));
    assert_eq!(b.transport(), "tcp");
    assert_eq!(b.user_agent(), Some("MicroSIP/3.21"));
    assert_eq!(reg.len(), 1);
}

#[test]
fn contact_limit_per_aor() {
    let t0 = Instant::now();
    let cfg = RegistrarConfig {
        max_contacts_per_aor: 2,
        ..RegistrarConfig::default()
    };
    let mut reg = Registrar::new(cfg);
    reg.register(req("desk", 1, &["<sip:1001@10.0.0.5>"], None), t0)
        .expect("200");
    reg.register(req("soft", 1, &["<sip:1001@10.0.0.6>"], None), t0)
        .expect("200");
    let err = reg
        .register(req("mob", 1, &["<sip:1001@10.0.0.7>"], None), t0)
        .expect_err("third contact");
    assert_eq!(err, RegisterError::TooManyContacts { max: 2 });
    assert_eq!(err.status_code(), 403);
    assert_eq!(reg.len(), 2);

    // Refreshing at the limit, and swapping one contact for another in one request, are fine.
    reg.register(req("desk", 2, &["<sip:1001@10.0.0.5>"], None), t0)
        .expect("refresh");
    reg.register(
        req(
            "soft",
            2,
            &["<sip:1001@10.0.0.6>;expires=0", "<sip:1001@10.0.0.7>"],
            None,
        ),
        t0,
    )
    .expect("swap");
    assert_eq!(uris(&reg, t0), ["sip:1001@10.0.0.5", "sip:1001@10.0.0.7"]);

    // An expired, not yet collected binding does not count against the limit.
    let later = t0 + Duration::from_secs(3600);
    reg.register(req("new", 1, &["<sip:1001@10.0.0.8>"], None), later)
        .expect("200");
    // Nor may one request name more contacts than the limit.
    let err = reg
        .register(
            req(
                "x",
                1,
                &["<sip:1001@10.0.0.1>, <sip:1001@10.0.0.2>, <sip:1001@10.0.0.3>"],
                None,
            ),
            later,
        )
        .expect_err("too many in one request");
    assert_eq!(err, RegisterError::TooManyContacts { max: 2 });
}

#[test]
fn first_mention_wins_within_one_request() {
    let t0 = Instant::now();
    let mut reg = Registrar::new(RegistrarConfig::default());
    let reply = reg
        .register(
            req(
                "a",
                1,
                &["<sip:1001@10.0.0.5>;expires=120, <sip:1001@10.0.0.5>;expires=0"],
                None,
            ),
            t0,
        )
        .expect("200");
    assert_eq!(reply.bindings.len(), 1);
    assert_eq!(reply.bindings[0].expires_in_secs, 120);
}

#[test]
fn bad_contacts_transports_and_aors() {
    let t0 = Instant::now();
    let mut reg = Registrar::new(RegistrarConfig::default());
    let err = reg
        .register(
            req("a", 1, &["<sip:1001@10.0.0.5>", "<tel:+861012345>"], None),
            t0,
        )
        .expect_err("tel contact");
    assert_eq!(
        err,
        RegisterError::BadContact(ContactError::UnsupportedScheme)
    );
    assert_eq!(err.status_code(), 400);
    assert!(reg.is_empty(), "nothing applied");

    let err = reg
        .register(req("a", 1, &["<sip:1001@10.0.0.5>;q=2"], None), t0)
        .expect_err("bad q");
    assert_eq!(err, RegisterError::BadContact(ContactError::BadQ));

    let mut r = req("a", 1, &["<sip:1001@10.0.0.5>"], None);
    r.transport = "carrier-pigeon";
    assert!(matches!(
        reg.register(r, t0),
        Err(RegisterError::BadTransport(_))
    ));
    let mut r = req("a", 1, &["<sip:1001@10.0.0.5>"], None);
    r.aor = "";
    assert_eq!(reg.register(r, t0), Err(RegisterError::EmptyAor));
    assert!(reg.is_empty());
}
