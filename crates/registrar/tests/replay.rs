//! Nonce-count replay protection.

mod common;

use common::{REALM, alice, answer, answer_no_qop};
use hotline_registrar::{AuthConfig, AuthOutcome, Authenticator, Credentials};
use std::time::{Duration, Instant};

fn setup() -> (Authenticator, Credentials, Instant) {
    let t0 = Instant::now();
    let auth = Authenticator::with_config(AuthConfig::new(REALM), t0, [9; 32]);
    let mut creds = Credentials::new();
    creds.insert_password("1001", REALM, "s3cret-1001");
    (auth, creds, t0)
}

fn ok() -> AuthOutcome {
    AuthOutcome::Authenticated {
        user: "1001".into(),
    }
}

#[test]
fn increasing_nc_accepted_repeated_or_lower_refused() {
    let (mut auth, creds, t0) = setup();
    let ch = auth.challenge(t0, false);
    let now = t0 + Duration::from_secs(5);
    let h1 = answer(&ch[0], &alice("REGISTER", 1));
    assert_eq!(auth.verify("REGISTER", &h1, &creds, now), ok());
    assert_eq!(
        auth.verify("REGISTER", &h1, &creds, now),
        AuthOutcome::Replay
    );

    let h3 = answer(&ch[0], &alice("INVITE", 3));
    assert_eq!(auth.verify("INVITE", &h3, &creds, now), ok());
    let h2 = answer(&ch[0], &alice("INVITE", 2));
    assert_eq!(auth.verify("INVITE", &h2, &creds, now), AuthOutcome::Replay);
    let h4 = answer(&ch[0], &alice("INVITE", 4));
    assert_eq!(auth.verify("INVITE", &h4, &creds, now), ok());
}

#[test]
fn counts_are_per_nonce() {
    let (mut auth, creds, t0) = setup();
    let a = auth.challenge(t0, false);
    let b = auth.challenge(t0, false);
    assert_eq!(
        auth.verify(
            "REGISTER",
            &answer(&a[0], &alice("REGISTER", 1)),
            &creds,
            t0
        ),
        ok()
    );
    assert_eq!(
        auth.verify(
            "REGISTER",
            &answer(&b[1], &alice("REGISTER", 1)),
            &creds,
            t0
        ),
        ok()
    );
}

#[test]
fn wrong_password_does_not_burn_the_count() {
    let (mut auth, creds, t0) = setup();
    let ch = auth.challenge(t0, false);
    let bad = answer(
        &ch[0],
        &common::Answer {
            password: "nope",
            ..alice("REGISTER", 5)
        },
    );
    assert_eq!(
        auth.verify("REGISTER", &bad, &creds, t0),
        AuthOutcome::WrongPassword {
            user: "1001".into()
        }
    );
    assert_eq!(
        auth.verify(
            "REGISTER",
            &answer(&ch[0], &alice("REGISTER", 1)),
            &creds,
            t0
        ),
        ok()
    );
}

#[test]
fn nc_zero_or_garbage_is_malformed() {
    let (mut auth, creds, t0) = setup();
    let ch = auth.challenge(t0, false);
    let h = answer(&ch[0], &alice("REGISTER", 0));
    assert!(matches!(
        auth.verify("REGISTER", &h, &creds, t0),
        AuthOutcome::Malformed(_)
    ));
    let h = answer(&ch[0], &alice("REGISTER", 1)).replace("nc=00000001", "nc=0000000x");
    assert!(matches!(
        auth.verify("REGISTER", &h, &creds, t0),
        AuthOutcome::Malformed(_)
    ));
}

#[test]
fn no_qop_answers_work_once_per_nonce() {
    let (mut auth, creds, t0) = setup();
    let ch = auth.challenge(t0, false);
    for c in &ch {
        let fresh = auth.challenge(t0, false);
        let alg_ix = if c.contains("SHA-256") { 0 } else { 1 };
        let h = answer_no_qop(&fresh[alg_ix], "1001", "s3cret-1001", "REGISTER", "sip:x");
        assert_eq!(auth.verify("REGISTER", &h, &creds, t0), ok());
        // Without nc a second use cannot be told from a replay; the client gets a new nonce.
        assert_eq!(auth.verify("REGISTER", &h, &creds, t0), AuthOutcome::Stale);
        let again = answer(&fresh[alg_ix], &alice("REGISTER", 1));
        assert_eq!(
            auth.verify("REGISTER", &again, &creds, t0),
            AuthOutcome::Stale
        );
    }
}
