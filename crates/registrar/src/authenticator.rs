//! Digest challenges and verification (RFC 3261 §22, RFC 8760, RFC 7616 syntax) with stateless
//! nonces and nonce-count replay protection.

use crate::auth_header::{self, HeaderError};
use crate::credentials::Credentials;
use crate::digest::{Algorithm, QopAuth, ct_eq_ignore_ascii_case, hash_joined, response_hex};
use crate::nonce::NonceCodec;
use rand::Rng;
use std::collections::HashMap;
use std::fmt;
use std::time::{Duration, Instant};

/// Realm, nonce lifetime and offered algorithms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthConfig {
    pub realm: String,
    /// A nonce older than this gets `stale=true`; also how long its nonce-count is remembered.
    pub nonce_ttl: Duration,
    /// Offered in this order (RFC 8760: most preferred first). Responses using an algorithm not
    /// listed are refused, so MD5 can be switched off. Empty means the default.
    pub algorithms: Vec<Algorithm>,
}

impl AuthConfig {
    pub const DEFAULT_NONCE_TTL: Duration = Duration::from_secs(300);

    pub fn new(realm: impl Into<String>) -> Self {
        AuthConfig {
            realm: realm.into(),
            nonce_ttl: Self::DEFAULT_NONCE_TTL,
            algorithms: vec![Algorithm::Sha256, Algorithm::Md5],
        }
    }
}

/// Result of checking one `Authorization` / `Proxy-Authorization` value.
///
/// Not `#[non_exhaustive]` on purpose: the shell maps every case to a response and should be told
/// by the compiler when a case is added.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthOutcome {
    Authenticated {
        user: String,
    },
    /// Right digest, but for a nonce that expired, was not issued by this server instance (e.g.
    /// before a restart), or was already used without `qop`: re-challenge with `stale=true` so the
    /// phone retries without prompting its user (RFC 7616 §3.3 "stale").
    Stale,
    /// Right digest with a nonce-count not above the highest already accepted for that nonce.
    Replay,
    WrongPassword {
        user: String,
    },
    UnknownUser {
        user: String,
    },
    /// Not the `Digest` scheme (RFC 4475 regaut01): ignore the header and challenge.
    UnsupportedScheme,
    /// An algorithm this server does not offer (e.g. `MD5-sess`, or MD5 when switched off):
    /// challenge again.
    UnsupportedAlgorithm,
    Malformed(&'static str),
    RealmMismatch,
}

#[derive(Debug, Clone, Copy)]
struct Seen {
    issued: Instant,
    max_nc: u32,
}

/// Recorded for a nonce used without `qop`: such a nonce is single-use, since the client has no
/// counter to advance and a second use cannot be told apart from a replay.
const NO_QOP_USED: u32 = u32::MAX;

pub struct Authenticator {
    realm: String,
    /// `Digest realm="...", nonce="` with the realm already escaped.
    challenge_prefix: String,
    opaque: String,
    nonce_ttl: Duration,
    algorithms: Vec<Algorithm>,
    codec: NonceCodec,
    seen: HashMap<u128, Seen>,
    next_prune: Instant,
}

impl Authenticator {
    /// Offers SHA-256 then MD5. `epoch` must not be later than any `now` passed in. `secret` keys
    /// the nonce MACs (the shell generates it; a fresh one per process is fine: nonces of the
    /// previous process then come back as `Stale`, and phones retry without prompting).
    pub fn new(
        realm: impl Into<String>,
        epoch: Instant,
        secret: [u8; 32],
        nonce_ttl: Duration,
    ) -> Self {
        let mut config = AuthConfig::new(realm);
        config.nonce_ttl = nonce_ttl;
        Self::with_config(config, epoch, secret)
    }

    pub fn with_config(config: AuthConfig, epoch: Instant, secret: [u8; 32]) -> Self {
        let mut algorithms: Vec<Algorithm> = Vec::with_capacity(2);
        for a in config.algorithms {
            if !algorithms.contains(&a) {
                algorithms.push(a);
            }
        }
        if algorithms.is_empty() {
            algorithms = vec![Algorithm::Sha256, Algorithm::Md5];
        }
        // The opaque carries no state (the nonce validates itself); deriving it from the realm
        // keeps it stable across restarts so clients that echo it never see it change.
        let opaque = hash_joined(
            Algorithm::Sha256,
            &[b"hotline-opaque", config.realm.as_bytes()],
        )
        .as_str()[..32]
            .to_owned();
        Authenticator {
            challenge_prefix: format!(
                "Digest realm=\"{}\", nonce=\"",
                escape_quoted(&config.realm)
            ),
            realm: config.realm,
            opaque,
            nonce_ttl: config.nonce_ttl,
            algorithms,
            codec: NonceCodec::new(&secret, epoch),
            seen: HashMap::new(),
            next_prune: epoch + config.nonce_ttl,
        }
    }

    pub fn realm(&self) -> &str {
        &self.realm
    }

    pub fn nonce_ttl(&self) -> Duration {
        self.nonce_ttl
    }

    pub fn algorithms(&self) -> &[Algorithm] {
        &self.algorithms
    }

    /// Number of nonces whose nonce-count is currently remembered.
    pub fn tracked_nonces(&self) -> usize {
        self.seen.len()
    }

    /// Header values for `WWW-Authenticate` / `Proxy-Authenticate`, one per offered algorithm in
    /// preference order (RFC 8760 §2.4). All carry the same fresh nonce.
    pub fn challenge(&self, now: Instant, stale: bool) -> Vec<String> {
        let salt: u64 = rand::rng().random();
        let nonce = self.codec.issue(now, salt);
        let nonce = std::str::from_utf8(&nonce).unwrap_or_default();
        self.algorithms
            .iter()
            .map(|alg| {
                let mut v = String::with_capacity(self.challenge_prefix.len() + 160);
                v.push_str(&self.challenge_prefix);
                v.push_str(nonce);
                v.push_str("\", opaque=\"");
                v.push_str(&self.opaque);
                v.push_str("\", qop=\"auth\", algorithm=");
                v.push_str(alg.as_str());
                if stale {
                    v.push_str(", stale=true");
                }
                v
            })
            .collect()
    }

    /// Checks one credentials header value for a request with `method`. The digest-uri is taken
    /// as sent; comparing it with the Request-URI is up to the caller.
    pub fn verify(
        &mut self,
        method: &str,
        header_value: &str,
        creds: &Credentials,
        now: Instant,
    ) -> AuthOutcome {
        let c = match auth_header::parse(header_value) {
            Ok(c) => c,
            Err(HeaderError::UnsupportedScheme) => return AuthOutcome::UnsupportedScheme,
            Err(HeaderError::Malformed(why)) => return AuthOutcome::Malformed(why),
        };
        let (Some(username), Some(realm), Some(nonce), Some(uri), Some(response)) =
            (c.username, c.realm, c.nonce, c.uri, c.response)
        else {
            return AuthOutcome::Malformed("missing one of username, realm, nonce, uri, response");
        };
        if c.userhash
            .as_deref()
            .is_some_and(|u| u.eq_ignore_ascii_case("true"))
        {
            return AuthOutcome::Malformed("userhash is not supported");
        }
        let alg = match c.algorithm.as_deref() {
            None => Algorithm::Md5,
            Some(tok) => match Algorithm::from_token(tok) {
                Some(a) => a,
                None => return AuthOutcome::UnsupportedAlgorithm,
            },
        };
        if !self.algorithms.contains(&alg) {
            return AuthOutcome::UnsupportedAlgorithm;
        }
        if *realm != *self.realm {
            return AuthOutcome::RealmMismatch;
        }
        let qop = match c.qop.as_deref() {
            None => None,
            Some(q) if q.eq_ignore_ascii_case("auth") => {
                let (Some(nc), Some(cnonce)) = (c.nc.as_deref(), c.cnonce.as_deref()) else {
                    return AuthOutcome::Malformed("qop=auth without nc or cnonce");
                };
                let Some(nc_value) = parse_nc(nc) else {
                    return AuthOutcome::Malformed("bad nonce-count");
                };
                Some((QopAuth { nc, cnonce }, q, nc_value))
            }
            Some(_) => return AuthOutcome::Malformed("unsupported qop"),
        };
        let Some(user_creds) = creds.get(&username) else {
            return AuthOutcome::UnknownUser {
                user: username.into_owned(),
            };
        };
        let expected = response_hex(
            alg,
            user_creds.ha1(alg),
            &nonce,
            method,
            &uri,
            qop.map(|(q, token, _)| (q, token)),
        );
        if !ct_eq_ignore_ascii_case(expected.as_bytes(), response.as_bytes()) {
            return AuthOutcome::WrongPassword {
                user: username.into_owned(),
            };
        }

        // The digest is right; now decide whether the nonce may still be used.
        let Some(info) = self.codec.open(&nonce) else {
            return AuthOutcome::Stale;
        };
        if now.saturating_duration_since(info.issued) >= self.nonce_ttl {
            return AuthOutcome::Stale;
        }
        let nc = qop.map_or(NO_QOP_USED, |(_, _, nc)| nc);
        match self.seen.get_mut(&info.key) {
            Some(seen) if seen.max_nc == NO_QOP_USED || qop.is_none() => {
                return AuthOutcome::Stale;
            }
            Some(seen) if nc <= seen.max_nc => return AuthOutcome::Replay,
            Some(seen) => seen.max_nc = nc,
            None => {
                self.seen.insert(
                    info.key,
                    Seen {
                        issued: info.issued,
                        max_nc: nc,
                    },
                );
            }
        }
        if now >= self.next_prune {
            self.prune(now);
        }
        AuthOutcome::Authenticated {
            user: username.into_owned(),
        }
    }

    /// Forgets nonce-counts of expired nonces: those nonces are refused as stale anyway. `verify`
    /// also calls this about once per `nonce_ttl`, so memory stays bounded without the shell.
    pub fn prune(&mut self, now: Instant) {
        let ttl = self.nonce_ttl;
        self.seen
            .retain(|_, s| now.saturating_duration_since(s.issued) < ttl);
        self.next_prune = now + ttl;
    }
}

/// nc is 8LHEX (RFC 7616); shorter values are accepted since the client computed the response
/// over the exact string it sent. Zero is never a valid count.
fn parse_nc(nc: &str) -> Option<u32> {
    if nc.is_empty() || nc.len() > 8 || !nc.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    u32::from_str_radix(nc, 16).ok().filter(|&n| n != 0)
}

fn escape_quoted(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

impl fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Authenticator")
            .field("realm", &self.realm)
            .field("nonce_ttl", &self.nonce_ttl)
            .field("algorithms", &self.algorithms)
            .field("secret", &"<redacted>")
            .field("tracked_nonces", &self.seen.len())
            .finish()
    }
}
