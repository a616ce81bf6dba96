//! Digest hash arithmetic shared by the server (verify) and any client side (RFC 7616 §3.4.1).

use md5::Md5;
use sha2::{Digest, Sha256};
use std::fmt;

/// Hash algorithm of a digest challenge or response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Algorithm {
    Md5,
    Sha256,
}

impl Algorithm {
    /// The token used in the `algorithm=` parameter.
    pub fn as_str(self) -> &'static str {
        match self {
            Algorithm::Md5 => "MD5",
            Algorithm::Sha256 => "SHA-256",
        }
    }

    /// Parses an `algorithm=` token (case-insensitive). The `-sess` variants are not supported.
    pub fn from_token(token: &str) -> Option<Self> {
        if token.eq_ignore_ascii_case("MD5") {
            Some(Algorithm::Md5)
        } else if token.eq_ignore_ascii_case("SHA-256") {
            Some(Algorithm::Sha256)
        } else {
            None
        }
    }

    /// Length of the lowercase hex form of this algorithm's digest.
    pub fn hex_len(self) -> usize {
        match self {
            Algorithm::Md5 => 32,
            Algorithm::Sha256 => 64,
        }
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A lowercase hex digest kept on the stack, so that hashing on the REGISTER path allocates nothing.
#[derive(Clone, Copy)]
pub(crate) struct HexDigest {
    buf: [u8; 64],
    len: usize,
}

impl HexDigest {
    pub(crate) fn as_str(&self) -> &str {
        // Only ASCII hex digits are ever written into `buf`.
        std::str::from_utf8(&self.buf[..self.len]).unwrap_or("")
    }

    pub(crate) fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}

/// `H(p0 ":" p1 ":" ...)` in lowercase hex.
pub(crate) fn hash_joined(alg: Algorithm, parts: &[&[u8]]) -> HexDigest {
    fn run<D: Digest>(parts: &[&[u8]]) -> HexDigest {
        let mut h = D::new();
        for (i, p) in parts.iter().enumerate() {
            if i > 0 {
                h.update(b":");
            }
            h.update(p);
        }
        let raw = h.finalize();
        let mut out = HexDigest {
            buf: [0; 64],
            len: raw.len() * 2,
        };
        // The buffer is sized for the largest supported digest (SHA-256).
        let _ = hex::encode_to_slice(&raw, &mut out.buf[..raw.len() * 2]);
        out
    }
    match alg {
        Algorithm::Md5 => run::<Md5>(parts),
        Algorithm::Sha256 => run::<Sha256>(parts),
    }
}

/// `H(username ":" realm ":" password)`, the only form in which credentials are stored.
pub fn ha1(alg: Algorithm, user: &str, realm: &str, password: &str) -> String {
    hash_joined(
        alg,
        &[user.as_bytes(), realm.as_bytes(), password.as_bytes()],
    )
    .as_str()
    .to_owned()
}

/// `qop=auth` inputs of a response: the nonce-count (8 hex digits as sent) and the client nonce.
#[derive(Debug, Clone, Copy)]
pub struct QopAuth<'a> {
    pub nc: &'a str,
    pub cnonce: &'a str,
}

pub(crate) fn response_hex(
    alg: Algorithm,
    ha1: &str,
    nonce: &str,
    method: &str,
    uri: &str,
    qop: Option<(QopAuth<'_>, &str)>,
) -> HexDigest {
    let ha2 = hash_joined(alg, &[method.as_bytes(), uri.as_bytes()]);
    match qop {
        Some((q, qop_token)) => hash_joined(
            alg,
            &[
                ha1.as_bytes(),
                nonce.as_bytes(),
                q.nc.as_bytes(),
                q.cnonce.as_bytes(),
                qop_token.as_bytes(),
                ha2.as_bytes(),
            ],
        ),
        None => hash_joined(alg, &[ha1.as_bytes(), nonce.as_bytes(), ha2.as_bytes()]),
    }
}

/// The `response=` value a client sends: with `qop=auth` when `qop` is given, else RFC 2069 style.
/// Exposed for trunk registration (the server acting as a client) and for tests.
pub fn response(
    alg: Algorithm,
    ha1: &str,
    nonce: &str,
    method: &str,
    uri: &str,
    qop: Option<QopAuth<'_>>,
) -> String {
    response_hex(alg, ha1, nonce, method, uri, qop.map(|q| (q, "auth")))
        .as_str()
        .to_owned()
}

/// Compares two byte strings without an early exit, so timing does not reveal how many leading
/// bytes of a guessed digest were right. ASCII case is folded because some clients send uppercase hex.
pub(crate) fn ct_eq_ignore_ascii_case(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let mut diff = 0u8;
    for (x, y) in a.iter().zip(b) {
        diff |= x.to_ascii_lowercase() ^ y.to_ascii_lowercase();
    }
    std::hint::black_box(diff) == 0
}

/// Constant-time equality for MAC tags.
pub(crate) fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let mut diff = 0u8;
    for (x, y) in a.iter().zip(b) {
        diff |= x ^ y;
    }
    std::hint::black_box(diff) == 0
}
