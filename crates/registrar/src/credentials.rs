//! Per-user digest secrets, held only as HA1 values and never printed.

use crate::digest::{Algorithm, ha1};
use std::collections::HashMap;
use std::fmt;

/// Errors when loading stored HA1 values.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CredentialsError {
    #[error("HA1 for {alg} must be {expected} hex digits")]
    BadHa1 { alg: Algorithm, expected: usize },
}

/// HA1 = `H(username:realm:password)` for each supported algorithm, as lowercase hex.
/// The HA1 is password-equivalent for its realm, hence the redacting `Debug`.
#[derive(Clone, PartialEq, Eq)]
pub struct UserCreds {
    ha1_md5: [u8; 32],
    ha1_sha256: [u8; 64],
}

impl UserCreds {
    pub fn from_password(user: &str, realm: &str, password: &str) -> Self {
        let mut c = UserCreds {
            ha1_md5: [0; 32],
            ha1_sha256: [0; 64],
        };
        c.ha1_md5
            .copy_from_slice(ha1(Algorithm::Md5, user, realm, password).as_bytes());
        c.ha1_sha256
            .copy_from_slice(ha1(Algorithm::Sha256, user, realm, password).as_bytes());
        c
    }

    /// From HA1 values stored in configuration (hex, any case).
    pub fn from_ha1(ha1_md5: &str, ha1_sha256: &str) -> Result<Self, CredentialsError> {
        Ok(UserCreds {
            ha1_md5: parse_hex(Algorithm::Md5, ha1_md5)?,
            ha1_sha256: parse_hex(Algorithm::Sha256, ha1_sha256)?,
        })
    }

    pub fn ha1(&self, alg: Algorithm) -> &str {
        let bytes: &[u8] = match alg {
            Algorithm::Md5 => &self.ha1_md5,
            Algorithm::Sha256 => &self.ha1_sha256,
        };
        // Both arrays only ever hold ASCII hex digits.
        std::str::from_utf8(bytes).unwrap_or("")
    }
}

fn parse_hex<const N: usize>(alg: Algorithm, s: &str) -> Result<[u8; N], CredentialsError> {
    let s = s.trim();
    if s.len() != N || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(CredentialsError::BadHa1 { alg, expected: N });
    }
    let mut out = [0u8; N];
    for (o, b) in out.iter_mut().zip(s.bytes()) {
        *o = b.to_ascii_lowercase();
    }
    Ok(out)
}

impl fmt::Debug for UserCreds {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UserCreds")
            .field("ha1_md5", &"<redacted>")
            .field("ha1_sha256", &"<redacted>")
            .finish()
    }
}

/// The user store the authenticator checks against. HA1 values are realm-specific: load them for
/// the realm the `Authenticator` was built with.
#[derive(Clone, Default)]
pub struct Credentials {
    users: HashMap<String, UserCreds>,
}

impl Credentials {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn insert(&mut self, user: impl Into<String>, creds: UserCreds) -> Option<UserCreds> {
        self.users.insert(user.into(), creds)
    }

    pub fn insert_password(&mut self, user: &str, realm: &str, password: &str) {
        self.users.insert(
            user.to_owned(),
            UserCreds::from_password(user, realm, password),
        );
    }

    pub fn get(&self, user: &str) -> Option<&UserCreds> {
        self.users.get(user)
    }

    pub fn remove(&mut self, user: &str) -> Option<UserCreds> {
        self.users.remove(user)
    }

    pub fn contains(&self, user: &str) -> bool {
        self.users.contains_key(user)
    }

    pub fn len(&self) -> usize {
        self.users.len()
    }

    pub fn is_empty(&self) -> bool {
        self.users.is_empty()
    }

    pub fn users(&self) -> impl Iterator<Item = &str> {
        self.users.keys().map(String::as_str)
    }
}

impl FromIterator<(String, UserCreds)> for Credentials {
    fn from_iter<I: IntoIterator<Item = (String, UserCreds)>>(iter: I) -> Self {
        Credentials {
            users: iter.into_iter().collect(),
        }
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("users", &self.users.len())
            .finish_non_exhaustive()
    }
}
