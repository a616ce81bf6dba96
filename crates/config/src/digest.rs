//! Digest HA1 values (RFC 7616): H(username ":" realm ":" password).

use md5::{Digest as _, Md5};
use sha2::Sha256;

use crate::secret::Secret;

/// The two HA1 values an agent needs: MD5 for old softphones, SHA-256 for
/// RFC 7616 clients.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ha1 {
    pub md5: Secret,
    pub sha256: Secret,
}

pub fn ha1_md5(user: &str, realm: &str, password: &str) -> String {
    hex::encode(Md5::digest(ha1_input(user, realm, password)))
}

pub fn ha1_sha256(user: &str, realm: &str, password: &str) -> String {
    hex::encode(Sha256::digest(ha1_input(user, realm, password)))
}

/// Both HA1 values for a password, as `hotline passwd` prints them.
pub fn ha1(user: &str, realm: &str, password: &str) -> Ha1 {
    Ha1 {
        md5: Secret::new(ha1_md5(user, realm, password)),
        sha256: Secret::new(ha1_sha256(user, realm, password)),
    }
}

fn ha1_input(user: &str, realm: &str, password: &str) -> String {
    format!("{user}:{realm}:{password}")
}
