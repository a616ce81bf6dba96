//! Log-in: argon2id password hashes, and bearer tokens that expire.
//!
//! A token is 32 random bytes, shown to the client once as hex. The store keeps only its
//! SHA-256, so a copy of the database does not let anyone in; looking a token up is one
//! primary-key read. Argon2 is for passwords only: a token has 256 bits of entropy and needs
//! no slow hash.

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use chrono::{DateTime, Duration, Utc};
use hotline_store::{Store, UserRow};
use hotline_workorder::Role;
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::error::ServiceError;

/// An argon2id hash in PHC form (`$argon2id$v=19$m=19456,t=2,p=1$…`), with the crate's
/// default parameters (OWASP's minimum for argon2id).
pub fn hash_password(password: &str) -> Result<String, ServiceError> {
    let mut salt = [0u8; 16];
    rand::rng().fill_bytes(&mut salt);
    let salt =
        SaltString::encode_b64(&salt).map_err(|e| ServiceError::Invalid(format!("salt: {e}")))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| ServiceError::Invalid(format!("cannot hash the password: {e}")))
}

/// Whether `password` matches the PHC `hash`. A hash that does not parse matches nothing.
pub fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|h| {
        Argon2::default()
            .verify_password(password.as_bytes(), &h)
            .is_ok()
    })
}

/// The key a token is stored under.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// A fresh token: 32 random bytes as hex.
pub fn new_token() -> String {
    let mut raw = [0u8; 32];
    rand::rng().fill_bytes(&mut raw);
    hex::encode(raw)
}

/// Who is calling, as their token says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub user: String,
    pub name: String,
    pub role: Role,
    pub expires_at: DateTime<Utc>,
}

impl Principal {
    pub fn is_center(&self) -> bool {
        matches!(self.role, Role::Agent | Role::Supervisor | Role::Admin)
    }

    pub fn is_supervisor(&self) -> bool {
        matches!(self.role, Role::Supervisor | Role::Admin)
    }

    pub fn unit(&self) -> Option<&str> {
        self.role.unit()
    }
}

/// The role a stored user acts in.
pub fn role_of(u: &UserRow) -> Result<Role, ServiceError> {
    let unit = || {
        u.unit.clone().ok_or_else(|| {
            ServiceError::Invalid(format!("user `{}` is {} without a unit", u.id, u.role))
        })
    };
    Ok(match u.role.as_str() {
        "agent" => Role::Agent,
        "supervisor" => Role::Supervisor,
        "admin" => Role::Admin,
        "unit_staff" => Role::UnitStaff(unit()?),
        "unit_head" => Role::UnitHead(unit()?),
        other => {
            return Err(ServiceError::Invalid(format!(
                "user `{}` has an unknown role `{other}`",
                u.id
            )));
        }
    })
}

/// A fresh token for `user` if the password matches. The same answer for an unknown user, a
/// disabled one and a wrong password, so the API does not tell which user names exist.
pub async fn log_in(
    store: &Store,
    user: &str,
    password: &str,
    now: DateTime<Utc>,
    ttl: Duration,
) -> Result<(String, Principal), ServiceError> {
    let found = store.user(user).await?;
    let Some(u) = found.filter(|u| !u.disabled) else {
        // Spend the time a real check would, so a missing user answers as slowly.
        let _ = verify_password(password, DUMMY_HASH);
        return Err(ServiceError::Unauthorized(
            "wrong user name or password".into(),
        ));
    };
    let hash = u.password_hash.clone();
    let pw = password.to_string();
    // Argon2 takes tens of milliseconds of CPU: off the async workers.
    let ok = tokio::task::spawn_blocking(move || verify_password(&pw, &hash))
        .await
        .unwrap_or(false);
    if !ok {
        return Err(ServiceError::Unauthorized(
            "wrong user name or password".into(),
        ));
    }
    let role = role_of(&u)?;
    let token = new_token();
    let expires_at = now + ttl;
    store
        .create_session(&token_hash(&token), &u.id, now, expires_at)
        .await?;
    Ok((
        token,
        Principal {
            user: u.id,
            name: u.name,
            role,
            expires_at,
        },
    ))
}

/// The caller behind a token, if it is known, unexpired and its user still enabled.
pub async fn principal(
    store: &Store,
    token: &str,
    now: DateTime<Utc>,
) -> Result<Principal, ServiceError> {
    let bad = || ServiceError::Unauthorized("the token is unknown or expired: log in again".into());
    if token.len() != 64 || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(bad());
    }
    let Some(s) = store.session(&token_hash(token)).await? else {
        return Err(bad());
    };
    if s.expires_at <= now {
        return Err(bad());
    }
    let Some(u) = store.user(&s.user_id).await?.filter(|u| !u.disabled) else {
        return Err(bad());
    };
    Ok(Principal {
        role: role_of(&u)?,
        user: u.id,
        name: u.name,
        expires_at: s.expires_at,
    })
}

/// Ends a token's session; false if it was not there.
pub async fn log_out(store: &Store, token: &str) -> Result<bool, ServiceError> {
    Ok(store.delete_session(&token_hash(token)).await?)
}

/// A valid argon2id hash of a random password nobody knows, for the missing-user path.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$5hH9Bz9Ty6N9VEk7BCvb1QYd1ZZUZ0o2cM0JX8qUK7c";
