//! Challenges carry self-validating nonces that go stale after `nonce_ttl`.

mod common;

use common::{REALM, alice, answer, param};
use hotline_registrar::{AuthConfig, AuthOutcome, Authenticator, Credentials};
use std::time::{Duration, Instant};

fn setup(ttl: Duration) -> (Authenticator, Credentials, Instant) {
    let t0 = Instant::now();
    let auth = Authenticator::new(REALM, t0, [42; 32], ttl);
    let mut creds = Credentials::new();
    creds.insert_password("1001", REALM, "s3cret-1001");
    (auth, creds, t0)
}

#[test]
fn challenge_offers_sha256_first_then_md5_with_one_nonce() {
    let (auth, _, t0) = setup(AuthConfig::DEFAULT_NONCE_TTL);
    let ch = auth.challenge(t0, false);
    assert_eq!(ch.len(), 2);
    assert!(ch[0].starts_with("Digest realm=\"hotline.example.gov.cn\", nonce=\""));
    assert_eq!(param(&ch[0], "algorithm"), Some("SHA-256"));
    assert_eq!(param(&ch[1], "algorithm"), Some("MD5"));
    assert_eq!(param(&ch[0], "qop"), Some("auth"));
    assert!(param(&ch[0], "opaque").is_some_and(|o| !o.is_empty()));
    assert_eq!(param(&ch[0], "nonce"), param(&ch[1], "nonce"));
    assert_eq!(param(&ch[0], "stale"), None);

    let stale = auth.challenge(t0, true);
    assert!(stale.iter().all(|c| param(c, "stale") == Some("true")));
    // Fresh salt per challenge.
    assert_ne!(param(&ch[0], "nonce"), param(&stale[0], "nonce"));
}

#[test]
fn default_ttl_is_300_seconds() {
    assert_eq!(AuthConfig::new("r").nonce_ttl, Duration::from_secs(300));
}

#[test]
fn both_algorithms_authenticate_while_fresh() {
    let (mut auth, creds, t0) = setup(Duration::from_secs(300));
    // Both challenges share one nonce, so the second answer must advance nc.
    for (nc, ch) in (1..).zip(auth.challenge(t0, false)) {
        let h = answer(&ch, &alice("REGISTER", nc));
        assert_eq!(
            auth.verify("REGISTER", &h, &creds, t0 + Duration::from_secs(299)),
            AuthOutcome::Authenticated {
                user: "1001".into()
            }
        );
    }
}

#[test]
fn expired_nonce_with_right_password_is_stale() {
    let (mut auth, creds, t0) = setup(Duration::from_secs(300));
    let ch = auth.challenge(t0, false);
    let h = answer(&ch[0], &alice("REGISTER", 1));
    assert_eq!(
        auth.verify("REGISTER", &h, &creds, t0 + Duration::from_secs(300)),
        AuthOutcome::Stale
    );
    // A stale nonce does not turn a wrong password into a silent retry.
    let wrong = answer(
        &ch[0],
        &common::Answer {
            password: "guess",
            ..alice("REGISTER", 1)
        },
    );
    assert_eq!(
        auth.verify("REGISTER", &wrong, &creds, t0 + Duration::from_secs(400)),
        AuthOutcome::WrongPassword {
            user: "1001".into()
        }
    );
}

#[test]
fn nonce_from_another_secret_or_tampered_is_stale() {
    let (mut auth, creds, t0) = setup(Duration::from_secs(300));
    let other = Authenticator::with_config(AuthConfig::new(REALM), t0, [43; 32]);
    let foreign = answer(&other.challenge(t0, false)[0], &alice("REGISTER", 1));
    assert_eq!(
        auth.verify("REGISTER", &foreign, &creds, t0),
        AuthOutcome::Stale
    );

    // Moving the issue time forward (to extend the nonce's life) breaks its MAC.
    let ch = auth.challenge(t0, false);
    let nonce = param(&ch[0], "nonce").expect("nonce").to_owned();
    let mut forged = nonce.clone().into_bytes();
    forged[10] = if forged[10] == b'f' { b'e' } else { b'f' };
    let forged = String::from_utf8(forged).expect("ascii");
    let tampered = ch[0].replace(&nonce, &forged);
    let h = answer(&tampered, &alice("REGISTER", 1));
    assert_eq!(auth.verify("REGISTER", &h, &creds, t0), AuthOutcome::Stale);
}

#[test]
fn prune_forgets_expired_nonce_counts() {
    let (mut auth, creds, t0) = setup(Duration::from_secs(300));
    for i in 0..5u64 {
        let at = t0 + Duration::from_secs(i * 10);
        let h = answer(&auth.challenge(at, false)[0], &alice("REGISTER", 1));
        assert!(matches!(
            auth.verify("REGISTER", &h, &creds, at),
            AuthOutcome::Authenticated { .. }
        ));
    }
    assert_eq!(auth.tracked_nonces(), 5);
    auth.prune(t0 + Duration::from_secs(320));
    assert_eq!(
        auth.tracked_nonces(),
        2,
        "nonces issued at 30 s and 40 s are still live"
    );
    auth.prune(t0 + Duration::from_secs(340));
    assert_eq!(auth.tracked_nonces(), 0);
}

#[test]
fn verify_prunes_by_itself_once_per_ttl() {
    let (mut auth, creds, t0) = setup(Duration::from_secs(60));
    let h = answer(&auth.challenge(t0, false)[0], &alice("REGISTER", 1));
    assert!(matches!(
        auth.verify("REGISTER", &h, &creds, t0),
        AuthOutcome::Authenticated { .. }
    ));
    let later = t0 + Duration::from_secs(120);
    let h = answer(&auth.challenge(later, false)[0], &alice("REGISTER", 1));
    assert!(matches!(
        auth.verify("REGISTER", &h, &creds, later),
        AuthOutcome::Authenticated { .. }
    ));
    assert_eq!(auth.tracked_nonces(), 1);
}
