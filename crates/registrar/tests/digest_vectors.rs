//! Published digest examples: RFC 2617 §3.5 and RFC 7616 §3.9.1, through both the raw formula and
//! the full header-parsing verifier.

use hotline_registrar::{
    Algorithm, AuthConfig, AuthOutcome, Authenticator, Credentials, QopAuth, UserCreds, ha1,
    response,
};
use std::time::{Duration, Instant};

const RFC7616_REALM: &str = "http-auth@example.org";
const RFC7616_NONCE: &str = "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v";
const RFC7616_CNONCE: &str = "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ";

fn rfc7616_header(alg: &str, response: &str) -> String {
    format!(
        "Digest username=\"Mufasa\",\r\n realm=\"http-auth@example.org\",\r\n \
         uri=\"/dir/index.html\",\r\n algorithm={alg},\r\n \
         nonce=\"7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v\",\r\n nc=00000001,\r\n \
         cnonce=\"f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ\",\r\n qop=auth,\r\n \
         response=\"{response}\",\r\n opaque=\"FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS\""
    )
}

#[test]
fn rfc2617_md5_example() {
    let h = ha1(
        Algorithm::Md5,
        "Mufasa",
        "testrealm@host.com",
        "Circle Of Life",
    );
    assert_eq!(h, "939e7578ed9e3c518a452acee763bce9");
    let r = response(
        Algorithm::Md5,
        &h,
        "dcd98b7102dd2f0e8b11d0f600bfb0c093",
        "GET",
        "/dir/index.html",
        Some(QopAuth {
            nc: "00000001",
            cnonce: "0a4f113b",
        }),
    );
    assert_eq!(r, "6629fae49393a05397450978507c4ef1");
}

#[test]
fn rfc7616_md5_and_sha256_examples() {
    let qop = Some(QopAuth {
        nc: "00000001",
        cnonce: RFC7616_CNONCE,
    });
    let md5 = ha1(Algorithm::Md5, "Mufasa", RFC7616_REALM, "Circle of Life");
    assert_eq!(
        response(
            Algorithm::Md5,
            &md5,
            RFC7616_NONCE,
            "GET",
            "/dir/index.html",
            qop
        ),
        "8ca523f5e9506fed4657c9700eebdbec"
    );
    let sha = ha1(Algorithm::Sha256, "Mufasa", RFC7616_REALM, "Circle of Life");
    assert_eq!(
        response(
            Algorithm::Sha256,
            &sha,
            RFC7616_NONCE,
            "GET",
            "/dir/index.html",
            qop
        ),
        "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"
    );
}

#[test]
fn rfc7616_headers_through_verifier() {
    // The RFC's nonce is not one of ours, so a correct digest can at best be "stale": the client
    // is re-challenged without its user being asked for the password again.
    let t0 = Instant::now();
    let mut auth = Authenticator::with_config(AuthConfig::new(RFC7616_REALM), t0, [1; 32]);
    let mut creds = Credentials::new();
    creds.insert_password("Mufasa", RFC7616_REALM, "Circle of Life");
    let now = t0 + Duration::from_secs(1);

    let md5 = rfc7616_header("MD5", "8ca523f5e9506fed4657c9700eebdbec");
    assert_eq!(auth.verify("GET", &md5, &creds, now), AuthOutcome::Stale);
    let sha = rfc7616_header(
        "SHA-256",
        "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1",
    );
    assert_eq!(auth.verify("GET", &sha, &creds, now), AuthOutcome::Stale);
    // Same digests for another method are wrong: HA2 covers the method.
    assert_eq!(
        auth.verify("POST", &sha, &creds, now),
        AuthOutcome::WrongPassword {
            user: "Mufasa".into()
        }
    );

    let mut wrong = Credentials::new();
    wrong.insert_password("Mufasa", RFC7616_REALM, "Circle Of Life");
    assert_eq!(
        auth.verify("GET", &md5, &wrong, now),
        AuthOutcome::WrongPassword {
            user: "Mufasa".into()
        }
    );
}

#[test]
fn stored_ha1_matches_password_form_and_is_redacted() {
    let from_pw = UserCreds::from_password("Mufasa", RFC7616_REALM, "Circle of Life");
    let md5 = ha1(Algorithm::Md5, "Mufasa", RFC7616_REALM, "Circle of Life");
    let sha = ha1(Algorithm::Sha256, "Mufasa", RFC7616_REALM, "Circle of Life");
    let from_ha1 =
        UserCreds::from_ha1(&md5.to_uppercase(), &sha).expect("valid hex of the right length");
    assert_eq!(from_pw, from_ha1);
    assert_eq!(from_ha1.ha1(Algorithm::Md5), md5);
    assert_eq!(from_ha1.ha1(Algorithm::Sha256), sha);
    assert!(UserCreds::from_ha1(&sha, &md5).is_err());
    assert!(UserCreds::from_ha1(&"g".repeat(32), &sha).is_err());

    let mut creds = Credentials::new();
    creds.insert("Mufasa", from_pw.clone());
    for dbg in [format!("{from_pw:?}"), format!("{creds:?}")] {
        assert!(!dbg.contains(&md5), "{dbg}");
        assert!(!dbg.contains(&sha), "{dbg}");
        assert!(!dbg.contains("Circle"), "{dbg}");
    }
    assert!(format!("{from_pw:?}").contains("redacted"));
    let auth = Authenticator::with_config(AuthConfig::new("r"), Instant::now(), [0xab; 32]);
    let dbg = format!("{auth:?}");
    assert!(dbg.contains("redacted") && !dbg.contains("171"), "{dbg}");
}
