//! The server configuration (config/hotline.toml) and its checks.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;

use ipnet::IpNet;
use serde::Deserialize;

use crate::deserialize::Problem;
use crate::digest::{self, Ha1};
use crate::secret::Secret;
use crate::tree::KeyPath;

/// The validated configuration. Debug output redacts every secret.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub sip: Sip,
    pub registrar: Registrar,
    pub http: Http,
    pub database: Database,
    pub hotline: Hotline,
    pub media: Media,
    pub ivr: Ivr,
    pub agents: Vec<Agent>,
    pub log: Log,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sip {
    pub udp: Vec<SocketAddr>,
    pub tcp: Vec<SocketAddr>,
    pub domain: String,
    /// Other domains (host names) this server is responsible for, beside `domain` and its own
    /// listening addresses: requests for them are served, not refused as foreign.
    pub aliases: Vec<String>,
    pub realm: String,
    pub user_agent: String,
    pub trusted_networks: Vec<IpNet>,
    pub invite_auth: InviteAuth,
    pub max_inflight_transactions: usize,
    pub retry_after_secs: u32,
    /// Digest algorithms offered, most preferred first (RFC 8760 §2.4).
    pub digest_algorithms: Vec<DigestAlgorithm>,
}

/// A digest algorithm name as written in the config.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum DigestAlgorithm {
    #[serde(rename = "MD5")]
    Md5,
    #[serde(rename = "SHA-256")]
    Sha256,
}

/// When an INVITE must carry digest credentials.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum InviteAuth {
    Never,
    /// Callers outside `trusted_networks` get 407.
    Untrusted,
    Always,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Registrar {
    pub min_expires: u32,
    pub max_expires: u32,
    pub default_expires: u32,
    pub max_contacts: u32,
    pub nonce_ttl_secs: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Http {
    pub listen: SocketAddr,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Database {
    pub url: String,
    pub spool_dir: PathBuf,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Hotline {
    /// As written; `Loaded::hotlines_source` says which file was read.
    pub numbers_file: PathBuf,
    pub entry_group: String,
    pub ring_timeout_secs: u32,
}

/// RTP media anchored by the hotline (IVR prompts, the bridge to agents, recording).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Media {
    /// The address written into our SDP and bound for RTP.
    pub ip: std::net::IpAddr,
    /// RTP ports (even, RTCP on the next odd one), both bounds inclusive.
    pub rtp_port_min: u16,
    pub rtp_port_max: u16,
    /// A call whose caller (or agent) sends no RTP for this long is hung up.
    pub rtp_timeout_secs: u32,
    /// Record bridged calls (stereo WAV: caller left, what the caller heard right).
    pub record: bool,
    pub recordings_dir: PathBuf,
}

/// The IVR: dialplans and prompts. Empty paths mean the copies compiled into the binary
/// (dialplans/*.toml and dialplans/prompts/zh/*.wav of the source tree).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ivr {
    /// false: no IVR and no media anchoring; calls ring the entry group directly with the
    /// caller's SDP passed through (the foundation's behaviour).
    pub enabled: bool,
    pub dialplans_dir: PathBuf,
    pub prompts_dir: PathBuf,
    /// Recorded voice: `<name>.wav` here replaces the prompt of that name.
    pub prompts_override_dir: PathBuf,
    /// How long a caller may wait in a queue for an agent before hearing goodbye.
    pub queue_max_wait_secs: u32,
    /// Pause between two rounds of ringing the agents when nobody answered.
    pub queue_retry_secs: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Log {
    pub filter: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Agent {
    pub id: String,
    pub name: String,
    pub groups: Vec<String>,
    pub credentials: Credentials,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credentials {
    /// Accepted for development; the HA1 values are derived from it.
    Password(Secret),
    Ha1(Ha1),
}

impl Agent {
    /// The digest HA1 values for `realm` (pass `config.sip.realm`). Stored
    /// HA1 values were computed for one realm and are returned as they are.
    pub fn ha1(&self, realm: &str) -> Ha1 {
        match &self.credentials {
            Credentials::Password(p) => digest::ha1(&self.id, realm, p.expose()),
            Credentials::Ha1(h) => h.clone(),
        }
    }

    pub fn in_group(&self, group: &str) -> bool {
        self.groups.iter().any(|g| g == group)
    }
}

/// What the TOML holds, before the checks that need more than one field.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawConfig {
    sip: Sip,
    registrar: Registrar,
    http: Http,
    database: Database,
    hotline: Hotline,
    media: Media,
    ivr: Ivr,
    #[serde(default)]
    agents: Vec<RawAgent>,
    log: Log,
}

/// Every field optional so that each missing one is reported with its
/// agent, rather than serde's first "missing field".
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAgent {
    id: Option<String>,
    name: Option<String>,
    groups: Option<Vec<String>>,
    password: Option<Secret>,
    ha1_md5: Option<Secret>,
    ha1_sha256: Option<Secret>,
}

struct Checker {
    problems: Vec<Problem>,
}

impl Checker {
    fn fail(&mut self, path: KeyPath, message: impl Into<String>) {
        self.problems.push(Problem {
            path,
            message: message.into(),
        });
    }
}

impl RawConfig {
    pub(crate) fn validate(self) -> (Config, Vec<Problem>) {
        let mut c = Checker {
            problems: Vec::new(),
        };
        let root = KeyPath::root();
        check_sip(&self.sip, &root.key("sip"), &mut c);
        check_registrar(&self.registrar, &root.key("registrar"), &mut c);
        check_database(&self.database, &root.key("database"), &mut c);
        let agents = check_agents(self.agents, &root.key("agents"), &mut c);
        check_hotline(&self.hotline, &agents, &root.key("hotline"), &mut c);
        check_media(&self.media, &root.key("media"), &mut c);
        check_ivr(&self.ivr, &root.key("ivr"), &mut c);
        let config = Config {
            sip: self.sip,
            registrar: self.registrar,
            http: self.http,
            database: self.database,
            hotline: self.hotline,
            media: self.media,
            ivr: self.ivr,
            agents,
            log: self.log,
        };
        (config, c.problems)
    }
}

fn check_sip(sip: &Sip, at: &KeyPath, c: &mut Checker) {
    if sip.udp.is_empty() && sip.tcp.is_empty() {
        c.fail(
            at.key("udp"),
            "no listen address: `udp` and `tcp` are both empty",
        );
    }
    if !is_host(&sip.domain) {
        c.fail(
            at.key("domain"),
            format!("`{}` is not a host name or address", sip.domain),
        );
    }
    // The realm is sent inside a quoted-string in WWW-Authenticate.
    if sip.realm.is_empty() || sip.realm.contains(['"', '\\']) || has_control(&sip.realm) {
        c.fail(
            at.key("realm"),
            "must be non-empty, without quotes, backslashes or control characters",
        );
    }
    if sip.user_agent.is_empty() || has_control(&sip.user_agent) {
        c.fail(
            at.key("user_agent"),
            "must be non-empty, without control characters",
        );
    }
    if sip.max_inflight_transactions == 0 {
        c.fail(
            at.key("max_inflight_transactions"),
            "must be at least 1, or every INVITE is refused",
        );
    }
}

fn check_registrar(r: &Registrar, at: &KeyPath, c: &mut Checker) {
    if r.min_expires == 0 {
        c.fail(at.key("min_expires"), "must be at least 1");
    }
    if r.max_expires < r.min_expires {
        c.fail(
            at.key("max_expires"),
            format!("{} is below min_expires ({})", r.max_expires, r.min_expires),
        );
    } else if r.default_expires < r.min_expires || r.default_expires > r.max_expires {
        c.fail(
            at.key("default_expires"),
            format!(
                "{} is outside min_expires..=max_expires ({}..={})",
                r.default_expires, r.min_expires, r.max_expires
            ),
        );
    }
    if r.max_contacts == 0 {
        c.fail(at.key("max_contacts"), "must be at least 1");
    }
    if r.nonce_ttl_secs == 0 {
        c.fail(at.key("nonce_ttl_secs"), "must be at least 1");
    }
}

fn check_database(d: &Database, at: &KeyPath, c: &mut Checker) {
    let known = ["sqlite:", "postgres:", "postgresql:"];
    if !known.iter().any(|s| d.url.starts_with(s)) {
        c.fail(
            at.key("url"),
            format!("`{}` is not a sqlite:, postgres: or postgresql: URL", d.url),
        );
    }
}

fn check_hotline(h: &Hotline, agents: &[Agent], at: &KeyPath, c: &mut Checker) {
    if h.numbers_file.as_os_str().is_empty() {
        c.fail(at.key("numbers_file"), "must name a file");
    }
    if h.entry_group.is_empty() {
        c.fail(at.key("entry_group"), "must be non-empty");
    } else if !agents.is_empty() && !agents.iter().any(|a| a.in_group(&h.entry_group)) {
        c.fail(
            at.key("entry_group"),
            format!(
                "no agent is in group `{}`: calls to 12345 would never be answered",
                h.entry_group
            ),
        );
    }
    if h.ring_timeout_secs == 0 {
        c.fail(at.key("ring_timeout_secs"), "must be at least 1");
    }
}

fn check_media(m: &Media, at: &KeyPath, c: &mut Checker) {
    if m.ip.is_unspecified() {
        c.fail(
            at.key("ip"),
            "must be the address phones reach us at (it goes into SDP); 0.0.0.0 and :: are not",
        );
    }
    if m.rtp_port_min < 1024 {
        c.fail(at.key("rtp_port_min"), "must be at least 1024");
    }
    if u32::from(m.rtp_port_max) < u32::from(m.rtp_port_min) + 1 {
        c.fail(
            at.key("rtp_port_max"),
            format!(
                "{} leaves no RTP/RTCP pair above rtp_port_min ({})",
                m.rtp_port_max, m.rtp_port_min
            ),
        );
    }
    if m.rtp_timeout_secs == 0 {
        c.fail(at.key("rtp_timeout_secs"), "must be at least 1");
    }
    if m.record && m.recordings_dir.as_os_str().is_empty() {
        c.fail(
            at.key("recordings_dir"),
            "must name a directory when record = true",
        );
    }
}

fn check_ivr(i: &Ivr, at: &KeyPath, c: &mut Checker) {
    if i.queue_max_wait_secs == 0 {
        c.fail(at.key("queue_max_wait_secs"), "must be at least 1");
    }
    if i.queue_retry_secs == 0 {
        c.fail(at.key("queue_retry_secs"), "must be at least 1");
    }
}

fn check_agents(raw: Vec<RawAgent>, at: &KeyPath, c: &mut Checker) -> Vec<Agent> {
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut agents = Vec::with_capacity(raw.len());
    for (i, a) in raw.into_iter().enumerate() {
        let here = at.index(i);
        let mut ok = true;
        match &a.id {
            None => {
                c.fail(here.key("id"), "missing field `id`");
                ok = false;
            }
            Some(id) if !is_user_part(id) => {
                c.fail(
                    here.key("id"),
                    format!("`{id}` is not a SIP user name (letters, digits, `.`, `-`, `_`)"),
                );
                ok = false;
            }
            Some(id) => {
                if let Some(first) = seen.get(id) {
                    c.fail(
                        here.key("id"),
                        format!("duplicate agent id `{id}`, first used by agents[{first}]"),
                    );
                    ok = false;
                } else {
                    seen.insert(id.clone(), i);
                }
            }
        }
        let credentials = match (a.password, a.ha1_md5, a.ha1_sha256) {
            (Some(p), None, None) => {
                if p.expose().is_empty() {
                    c.fail(here.key("password"), "must be non-empty");
                    None
                } else {
                    Some(Credentials::Password(p))
                }
            }
            (None, Some(md5), Some(sha256)) => {
                let md5_ok = is_hex(md5.expose(), 32);
                let sha_ok = is_hex(sha256.expose(), 64);
                if !md5_ok {
                    c.fail(here.key("ha1_md5"), "must be 32 lowercase hex digits");
                }
                if !sha_ok {
                    c.fail(here.key("ha1_sha256"), "must be 64 lowercase hex digits");
                }
                (md5_ok && sha_ok).then_some(Credentials::Ha1(Ha1 { md5, sha256 }))
            }
            (Some(_), _, _) => {
                c.fail(
                    here.key("password"),
                    "give either `password` or `ha1_md5` and `ha1_sha256`, not both",
                );
                None
            }
            (None, None, None) => {
                c.fail(
                    here.clone(),
                    "no credentials: give `password` or both `ha1_md5` and `ha1_sha256`",
                );
                None
            }
            (None, Some(_), None) => {
                c.fail(
                    here.key("ha1_sha256"),
                    "missing: `ha1_md5` needs `ha1_sha256` too (clients pick the algorithm)",
                );
                None
            }
            (None, None, Some(_)) => {
                c.fail(
                    here.key("ha1_md5"),
                    "missing: `ha1_sha256` needs `ha1_md5` too (clients pick the algorithm)",
                );
                None
            }
        };
        let groups = a.groups.unwrap_or_default();
        for (g, group) in groups.iter().enumerate() {
            if group.is_empty() {
                c.fail(here.key("groups").index(g), "empty group name");
                ok = false;
            }
        }
        if let (true, Some(id), Some(credentials)) = (ok, a.id, credentials) {
            agents.push(Agent {
                name: a.name.unwrap_or_else(|| id.clone()),
                id,
                groups,
                credentials,
            });
        }
    }
    agents
}

fn has_control(s: &str) -> bool {
    s.chars().any(char::is_control)
}

fn is_user_part(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|ch| ch.is_ascii_alphanumeric() || matches!(ch, '.' | '-' | '_'))
}

fn is_host(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|ch| ch.is_ascii_alphanumeric() || matches!(ch, '.' | '-' | ':' | '[' | ']'))
}

fn is_hex(s: &str, len: usize) -> bool {
    s.len() == len && s.chars().all(|ch| matches!(ch, '0'..='9' | 'a'..='f'))
}
