//! Every refusal reason of the verifier, including RFC 4475 regaut01.

mod common;

use common::{REALM, alice, answer};
use hotline_registrar::{Algorithm, AuthConfig, AuthOutcome, Authenticator, Credentials};
use std::time::Instant;

fn setup() -> (Authenticator, Credentials, Instant) {
    let t0 = Instant::now();
    let auth = Authenticator::with_config(AuthConfig::new(REALM), t0, [3; 32]);
    let mut creds = Credentials::new();
    creds.insert_password("1001", REALM, "s3cret-1001");
    (auth, creds, t0)
}

fn torture_header(file: &str, name: &str) -> String {
    let path = format!(
        "{}/../../tests/data/sip-torture/{file}",
        env!("CARGO_MANIFEST_DIR")
    );
    let bytes = std::fs::read(&path).expect("torture file present");
    let text = String::from_utf8_lossy(&bytes);
    text.split("\r\n")
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim()
                .eq_ignore_ascii_case(name)
                .then(|| v.trim().to_owned())
        })
        .expect("header present")
}

#[test]
fn regaut01_unknown_scheme() {
    let (mut auth, creds, t0) = setup();
    let value = torture_header("regaut01.dat", "Authorization");
    assert_eq!(value, "NoOneKnowsThisScheme opaque-data=here");
    assert_eq!(
        auth.verify("REGISTER", &value, &creds, t0),
        AuthOutcome::UnsupportedScheme
    );
    assert_eq!(
        auth.verify("REGISTER", "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==", &creds, t0),
        AuthOutcome::UnsupportedScheme
    );
}

#[test]
fn unknown_user_and_realm_mismatch() {
    let (mut auth, creds, t0) = setup();
    let ch = auth.challenge(t0, false);
    let h = answer(
        &ch[0],
        &common::Answer {
            user: "9999",
            ..alice("REGISTER", 1)
        },
    );
    assert_eq!(
        auth.verify("REGISTER", &h, &creds, t0),
        AuthOutcome::UnknownUser {
            user: "9999".into()
        }
    );
    let h = answer(
        &ch[0].replace(REALM, "evil.example.com"),
        &alice("REGISTER", 1),
    );
    assert_eq!(
        auth.verify("REGISTER", &h, &creds, t0),
        AuthOutcome::RealmMismatch
    );
}

#[test]
fn missing_fields_and_bad_syntax_are_malformed() {
    let (mut auth, creds, t0) = setup();
    let ch = auth.challenge(t0, false);
    let good = answer(&ch[0], &alice("REGISTER", 1));
    for broken in [
        good.replace("username=", "user="),
        good.replace("response=", "resp="),
        good.replace(", cnonce=\"0a4f113b\"", ""),
        good.replace("qop=auth", "qop=auth-int"),
        format!("{good}, nonce=\"again\""),
        "Digest".to_owned(),
        "Digest username=\"unterminated".to_owned(),
    ] {
        assert!(
            matches!(
                auth.verify("REGISTER", &broken, &creds, t0),
                AuthOutcome::Malformed(_)
            ),
            "{broken}"
        );
    }
    assert!(matches!(
        auth.verify("REGISTER", &good, &creds, t0),
        AuthOutcome::Authenticated { .. }
    ));
}

#[test]
fn unoffered_algorithms_are_refused() {
    let (mut auth, creds, t0) = setup();
    let ch = auth.challenge(t0, false);
    let h = answer(&ch[1], &alice("REGISTER", 1)).replace("algorithm=MD5", "algorithm=MD5-sess");
    assert_eq!(
        auth.verify("REGISTER", &h, &creds, t0),
        AuthOutcome::UnsupportedAlgorithm
    );

    let mut cfg = AuthConfig::new(REALM);
    cfg.algorithms = vec![Algorithm::Sha256];
    let mut sha_only = Authenticator::with_config(cfg, t0, [3; 32]);
    let ch = sha_only.challenge(t0, false);
    assert_eq!(ch.len(), 1);
    // An MD5 answer computed over our nonce is refused when MD5 is switched off...
    let md5 = answer(&ch[0], &alice("REGISTER", 1));
    let md5 = md5.replace("algorithm=SHA-256", "algorithm=MD5");
    assert_eq!(
        sha_only.verify("REGISTER", &md5, &creds, t0),
        AuthOutcome::UnsupportedAlgorithm
    );
    // ...and so is an answer that omits algorithm, since RFC 7616 makes that mean MD5.
    let implicit = answer(&ch[0], &alice("REGISTER", 1)).replace(", algorithm=SHA-256", "");
    assert_eq!(
        sha_only.verify("REGISTER", &implicit, &creds, t0),
        AuthOutcome::UnsupportedAlgorithm
    );
}

#[test]
fn uppercase_hex_response_and_parameter_names_accepted() {
    let (mut auth, creds, t0) = setup();
    let ch = auth.challenge(t0, false);
    let h = answer(&ch[0], &alice("REGISTER", 1));
    let (head, tail) = h.split_once("response=\"").expect("response");
    let (resp, rest) = tail.split_once('"').expect("closing quote");
    let shouted = format!(
        "{}RESPONSE=\"{}\"{rest}",
        head.replace("username", "UserName"),
        resp.to_uppercase()
    );
    assert_eq!(
        auth.verify("REGISTER", &shouted, &creds, t0),
        AuthOutcome::Authenticated {
            user: "1001".into()
        }
    );
}

#[test]
fn realm_with_quote_is_escaped_in_challenge() {
    let t0 = Instant::now();
    let auth = Authenticator::with_config(AuthConfig::new("a\"b"), t0, [3; 32]);
    assert!(auth.challenge(t0, false)[0].starts_with("Digest realm=\"a\\\"b\", "));
}
