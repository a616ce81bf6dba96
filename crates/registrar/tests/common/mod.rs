//! A minimal digest client for the tests: reads our challenge, answers it.
#![allow(dead_code)]

use hotline_registrar::{Algorithm, QopAuth, ha1, response};

pub const REALM: &str = "hotline.example.gov.cn";

/// The value of `name="..."` or `name=token` in a challenge.
pub fn param<'a>(challenge: &'a str, name: &str) -> Option<&'a str> {
    challenge.split(", ").find_map(|part| {
        let part = part.strip_prefix("Digest ").unwrap_or(part);
        let (k, v) = part.split_once('=')?;
        (k == name).then(|| v.trim_matches('"'))
    })
}

pub fn algorithm_of(challenge: &str) -> Algorithm {
    param(challenge, "algorithm")
        .and_then(Algorithm::from_token)
        .expect("challenge names a known algorithm")
}

pub struct Answer<'a> {
    pub user: &'a str,
    pub password: &'a str,
    pub method: &'a str,
    pub uri: &'a str,
    pub nc: u32,
    pub cnonce: &'a str,
}

/// An `Authorization` value answering `challenge` with qop=auth.
pub fn answer(challenge: &str, a: &Answer<'_>) -> String {
    let alg = algorithm_of(challenge);
    let realm = param(challenge, "realm").expect("realm");
    let nonce = param(challenge, "nonce").expect("nonce");
    let opaque = param(challenge, "opaque").expect("opaque");
    let nc = format!("{:08x}", a.nc);
    let h1 = ha1(alg, a.user, realm, a.password);
    let r = response(
        alg,
        &h1,
        nonce,
        a.method,
        a.uri,
        Some(QopAuth {
            nc: &nc,
            cnonce: a.cnonce,
        }),
    );
    format!(
        "Digest username=\"{}\", realm=\"{realm}\", nonce=\"{nonce}\", uri=\"{}\", \
         response=\"{r}\", algorithm={alg}, cnonce=\"{}\", opaque=\"{opaque}\", qop=auth, nc={nc}",
        a.user, a.uri, a.cnonce
    )
}

/// An RFC 2069 style answer (no qop, no nc, no cnonce).
pub fn answer_no_qop(
    challenge: &str,
    user: &str,
    password: &str,
    method: &str,
    uri: &str,
) -> String {
    let alg = algorithm_of(challenge);
    let realm = param(challenge, "realm").expect("realm");
    let nonce = param(challenge, "nonce").expect("nonce");
    let h1 = ha1(alg, user, realm, password);
    let r = response(alg, &h1, nonce, method, uri, None);
    format!(
        "Digest username=\"{user}\", realm=\"{realm}\", nonce=\"{nonce}\", uri=\"{uri}\", \
         response=\"{r}\", algorithm={alg}"
    )
}

pub fn alice(method: &str, nc: u32) -> Answer<'_> {
    Answer {
        user: "1001",
        password: "s3cret-1001",
        method,
        uri: "sip:hotline.example.gov.cn",
        nc,
        cnonce: "0a4f113b",
    }
}
