//! Binding lifetimes: granted intervals, refresh, lookup order, expiry index, next timeout.

use hotline_registrar::{RegisterRequest, Registrar, RegistrarConfig};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

fn addr(s: &str) -> SocketAddr {
    s.parse().expect("socket address")
}

fn req<'a>(
    aor: &'a str,
    call_id: &'a str,
    cseq: u32,
    contacts: &'a [&'a str],
    expires: Option<&'a str>,
) -> RegisterRequest<'a> {
    RegisterRequest {
        aor,
        call_id,
        cseq,
        contacts,
        expires,
        source: addr("203.0.113.7:40000"),
        transport: "udp",
        user_agent: Some("Yealink SIP-T46U"),
    }
}

#[test]
fn granted_interval_precedence_and_clamping() {
    let t0 = Instant::now();
    let mut reg = Registrar::new(RegistrarConfig::default());
    let reply = reg
        .register(
            req(
                "1001",
                "c1",
                1,
                &[
                    "<sip:1001@10.0.0.5>;expires=120, <sip:1001@10.0.0.6>",
                    "<sip:1001@10.0.0.7>;expires=99999",
                ],
                Some("600"),
            ),
            t0,
        )
        .expect("200");
    let mut granted: Vec<(String, u32)> = reply
        .bindings
        .iter()
        .map(|b| (b.uri.clone(), b.expires_in_secs))
        .collect();
    granted.sort();
    assert_eq!(
        granted,
        [
            ("sip:1001@10.0.0.5".to_owned(), 120),
            ("sip:1001@10.0.0.6".to_owned(), 600),
            ("sip:1001@10.0.0.7".to_owned(), 3600),
        ]
    );

    let reply = reg
        .register(req("1002", "c2", 1, &["<sip:1002@10.0.0.8>"], None), t0)
        .expect("200");
    assert_eq!(reply.bindings[0].expires_in_secs, 3600, "default");
    let reply = reg
        .register(
            req("1003", "c3", 1, &["<sip:1003@10.0.0.9>"], Some("soon")),
            t0,
        )
        .expect("200");
    assert_eq!(
        reply.bindings[0].expires_in_secs, 3600,
        "malformed Expires counts as default"
    );
}

#[test]
fn lookup_hides_expired_and_expire_collects_them_in_time_order() {
    let t0 = Instant::now();
    let mut reg = Registrar::new(RegistrarConfig::default());
    reg.register(
        req("1001", "a", 1, &["<sip:1001@10.0.0.5>"], Some("60")),
        t0,
    )
    .expect("200");
    reg.register(
        req("1001", "b", 1, &["<sip:1001@10.0.0.6>"], Some("120")),
        t0,
    )
    .expect("200");
    reg.register(
        req("1002", "c", 1, &["<sip:1002@10.0.0.7>"], Some("90")),
        t0,
    )
    .expect("200");
    assert_eq!(reg.len(), 3);
    assert_eq!(reg.next_timeout(), Some(t0 + secs(60)));

    assert!(reg.expire(t0 + secs(59)).is_empty());
    assert_eq!(reg.lookup("1001", t0 + secs(59)).len(), 2);
    // At the instant of expiry the binding is gone from lookups even before `expire` runs.
    assert_eq!(reg.lookup("1001", t0 + secs(60)).len(), 1);

    let gone = reg.expire(t0 + secs(95));
    let gone: Vec<(&str, &str)> = gone.iter().map(|(a, b)| (a.as_str(), b.uri())).collect();
    assert_eq!(
        gone,
        [("1001", "sip:1001@10.0.0.5"), ("1002", "sip:1002@10.0.0.7")]
    );
    assert_eq!(reg.len(), 1);
    assert_eq!(reg.aors().collect::<Vec<_>>(), ["1001"]);
    assert_eq!(reg.next_timeout(), Some(t0 + secs(120)));

    let gone = reg.expire(t0 + secs(120));
    assert_eq!(gone.len(), 1);
    assert!(reg.is_empty());
    assert_eq!(reg.aors().count(), 0);
    assert_eq!(reg.next_timeout(), None);
}

#[test]
fn refresh_moves_the_expiry_and_keeps_one_binding() {
    let t0 = Instant::now();
    let mut reg = Registrar::new(RegistrarConfig::default());
    reg.register(
        req("1001", "a", 1, &["<sip:1001@10.0.0.5>"], Some("60")),
        t0,
    )
    .expect("200");
    let t1 = t0 + secs(50);
    let reply = reg
        .register(
            req("1001", "a", 2, &["<SIP:1001@10.0.0.5>"], Some("60")),
            t1,
        )
        .expect("200");
    assert_eq!(
        reply.bindings.len(),
        1,
        "scheme case does not make a new binding"
    );
    assert_eq!(reg.len(), 1);
    assert_eq!(reg.next_timeout(), Some(t1 + secs(60)));
    assert!(reg.expire(t0 + secs(61)).is_empty());
    let b = reg.lookup("1001", t0 + secs(61))[0];
    assert_eq!(b.cseq(), 2);
    assert_eq!(b.expires_at(), t1 + secs(60));
    assert_eq!(b.expires_in(t0 + secs(100)), secs(10));
    assert_eq!(reg.expire(t1 + secs(60)).len(), 1);
}

#[test]
fn reply_counts_down_and_formats_contacts() {
    let t0 = Instant::now();
    let mut reg = Registrar::new(RegistrarConfig::default());
    reg.register(
        req("1001", "a", 1, &["<sip:1001@10.0.0.5>;q=0.5"], Some("3600")),
        t0,
    )
    .expect("200");
    // A query (no Contact) half a second later reports the remaining lifetime rounded up.
    let reply = reg
        .register(
            req("1001", "q", 1, &[], None),
            t0 + Duration::from_millis(500),
        )
        .expect("200");
    assert_eq!(reply.bindings[0].expires_in_secs, 3600);
    assert_eq!(
        reply.bindings[0].to_string(),
        "<sip:1001@10.0.0.5>;expires=3600;q=0.5"
    );
    let reply = reg
        .register(req("1001", "q", 2, &[], None), t0 + secs(1000))
        .expect("200");
    assert_eq!(
        reply.bindings[0].to_string(),
        "<sip:1001@10.0.0.5>;expires=2600;q=0.5"
    );
    assert_eq!(reply.bindings[0].source, addr("203.0.113.7:40000"));
    assert_eq!(reply.bindings[0].transport, "udp");
}

#[test]
fn lookup_orders_by_q_then_most_recent() {
    let t0 = Instant::now();
    let mut reg = Registrar::new(RegistrarConfig::default());
    reg.register(req("1001", "desk", 1, &["<sip:1001@10.0.0.5>"], None), t0)
        .expect("200");
    reg.register(
        req("1001", "soft", 1, &["<sip:1001@10.0.0.6>"], None),
        t0 + secs(1),
    )
    .expect("200");
    reg.register(
        req("1001", "mob", 1, &["<sip:1001@10.0.0.7>;q=0.3"], None),
        t0 + secs(2),
    )
    .expect("200");
    reg.register(
        req("1001", "top", 1, &["<sip:1001@10.0.0.8>;q=1.0"], None),
        t0 + secs(3),
    )
    .expect("200");
    let order: Vec<&str> = reg
        .lookup("1001", t0 + secs(4))
        .iter()
        .map(|b| b.call_id())
        .collect();
    // No q counts as 1.0; ties go to the most recent registration.
    assert_eq!(order, ["top", "soft", "desk", "mob"]);

    reg.register(
        req("1001", "desk", 2, &["<sip:1001@10.0.0.5>"], None),
        t0 + secs(5),
    )
    .expect("200");
    let order: Vec<&str> = reg
        .lookup("1001", t0 + secs(6))
        .iter()
        .map(|b| b.call_id())
        .collect();
    assert_eq!(order, ["desk", "top", "soft", "mob"]);
    assert!(reg.lookup("9999", t0).is_empty());
}

#[test]
fn removal_by_expires_zero_updates_the_index() {
    let t0 = Instant::now();
    let mut reg = Registrar::new(RegistrarConfig::default());
    reg.register(
        req("1001", "a", 1, &["<sip:1001@10.0.0.5>"], Some("60")),
        t0,
    )
    .expect("200");
    reg.register(
        req("1001", "a", 2, &["<sip:1001@10.0.0.6>"], Some("600")),
        t0,
    )
    .expect("200");
    let reply = reg
        .register(
            req(
                "1001",
                "a",
                3,
                &["<sip:1001@10.0.0.5>;expires=0"],
                Some("600"),
            ),
            t0,
        )
        .expect("200");
    assert_eq!(reply.bindings.len(), 1);
    assert_eq!(reg.next_timeout(), Some(t0 + secs(600)));
    assert!(reg.expire(t0 + secs(599)).is_empty());
    assert_eq!(reg.len(), 1);
}

#[test]
fn snapshot_iteration_sees_every_binding_with_its_aor() {
    let t0 = Instant::now();
    let mut reg = Registrar::new(RegistrarConfig::default());
    reg.register(
        req(
            "1001",
            "a",
            1,
            &["<sip:1001@10.0.0.5>;+sip.instance=\"<urn:uuid:1>\""],
            None,
        ),
        t0,
    )
    .expect("200");
    reg.register(req("1002", "b", 1, &["<sip:1002@10.0.0.6>"], None), t0)
        .expect("200");
    let mut all: Vec<(&str, &str, &str, Option<&str>)> = reg
        .iter()
        .map(|(aor, b)| (aor, b.uri(), b.params(), b.user_agent()))
        .collect();
    all.sort();
    assert_eq!(
        all,
        [
            (
                "1001",
                "sip:1001@10.0.0.5",
                ";+sip.instance=\"<urn:uuid:1>\"",
                Some("Yealink SIP-T46U")
            ),
            ("1002", "sip:1002@10.0.0.6", "", Some("Yealink SIP-T46U")),
        ]
    );
}
