//! Many phones at once: the expiry index stays consistent with the table through registrations,
//! refreshes and removals, and every REGISTER is authenticated once (the shape of a storm after a
//! network outage). Prints throughput; asserts only correctness.

mod common;

use common::{REALM, answer};
use hotline_registrar::{
    AuthOutcome, Authenticator, Credentials, RegisterRequest, Registrar, RegistrarConfig,
};
use std::time::{Duration, Instant};

const PHONES: u32 = 20_000;

#[test]
fn storm_of_registrations_and_refreshes() {
    let t0 = Instant::now();
    let mut reg = Registrar::new(RegistrarConfig::default());
    let mut auth = Authenticator::new(REALM, t0, [5; 32], Duration::from_secs(300));
    let mut creds = Credentials::new();
    let users: Vec<String> = (0..PHONES).map(|i| format!("{}", 100_000 + i)).collect();
    for u in &users {
        creds.insert_password(u, REALM, "pw");
    }
    let contacts: Vec<String> = (0..PHONES)
        .map(|i| {
            format!(
                "<sip:{}@10.{}.{}.{}:5060>",
                100_000 + i,
                i >> 16,
                (i >> 8) & 255,
                i & 255
            )
        })
        .collect();
    let headers: Vec<String> = users
        .iter()
        .map(|u| {
            let ch = auth.challenge(t0, false);
            answer(
                &ch[0],
                &common::Answer {
                    user: u,
                    password: "pw",
                    method: "REGISTER",
                    uri: "sip:hotline.example.gov.cn",
                    nc: 1,
                    cnonce: "abc",
                },
            )
        })
        .collect();

    let started = std::time::Instant::now();
    for (i, u) in users.iter().enumerate() {
        let now = t0 + Duration::from_micros(i as u64);
        assert_eq!(
            auth.verify("REGISTER", &headers[i], &creds, now),
            AuthOutcome::Authenticated { user: u.clone() }
        );
        let contact = [contacts[i].as_str()];
        // Spread the intervals so that expiry happens in many steps.
        let expires = (60 + (i % 600)).to_string();
        reg.register(
            RegisterRequest {
                aor: u,
                call_id: u,
                cseq: 1,
                contacts: &contact,
                expires: Some(&expires),
                source: "198.51.100.1:5060".parse().expect("addr"),
                transport: "udp",
                user_agent: None,
            },
            now,
        )
        .expect("200");
    }
    let elapsed = started.elapsed();
    eprintln!(
        "{PHONES} authenticated REGISTERs in {elapsed:?} ({:.0}/s)",
        f64::from(PHONES) / elapsed.as_secs_f64()
    );
    assert_eq!(reg.len(), PHONES as usize);

    // Every even phone refreshes for an hour at t0+30s, every tenth unregisters.
    let t1 = t0 + Duration::from_secs(30);
    for (i, u) in users.iter().enumerate() {
        let contact = [contacts[i].as_str()];
        let expires = if i % 10 == 0 {
            "0"
        } else if i % 2 == 0 {
            "3600"
        } else {
            continue;
        };
        reg.register(
            RegisterRequest {
                aor: u,
                call_id: u,
                cseq: 2,
                contacts: &contact,
                expires: Some(expires),
                source: "198.51.100.1:5060".parse().expect("addr"),
                transport: "udp",
                user_agent: None,
            },
            t1,
        )
        .expect("200");
    }
    let unregistered = PHONES as usize / 10;
    let refreshed = PHONES as usize / 2 - unregistered;
    assert_eq!(reg.len(), PHONES as usize - unregistered);

    let mut collected = 0;
    let mut now = t1;
    while let Some(next) = reg.next_timeout() {
        if next > t0 + Duration::from_secs(700) {
            break;
        }
        now = now.max(next);
        let gone = reg.expire(now);
        assert!(!gone.is_empty(), "next_timeout pointed at something");
        for (aor, b) in &gone {
            assert!(b.expires_at() <= now);
            assert!(reg.lookup(aor, now).is_empty());
        }
        collected += gone.len();
    }
    assert_eq!(collected, PHONES as usize / 2, "all odd phones expired");
    assert_eq!(reg.len(), refreshed);
    assert_eq!(reg.aors().count(), refreshed);
    assert_eq!(reg.next_timeout(), Some(t1 + Duration::from_secs(3600)));
}
