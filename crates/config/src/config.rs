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
    pub acd: Acd,
    pub agents: Vec<Agent>,
    pub workorders: WorkOrders,
    pub kb: Kb,
    pub insight: Insight,
    pub auth: Auth,
    /// Who may use the API (center staff, unit staff, admins).
    pub users: Vec<User>,
    /// Handling units' notification targets.
    pub units: Vec<Unit>,
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
    /// An agent on a call dials this plus an emergency number (`*110`) for the one-key
    /// transfer from the phone; empty: off.
    pub emergency_feature_prefix: String,
    /// While a remote seat rings for a three-party call the citizen hears the agent (false)
    /// or music on hold (true).
    pub hold_music_while_seat_rings: bool,
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
}

/// The ACD (`[acd]`, `[acd.defaults]`, `[[queues]]`): how agents are kept honest, and the
/// queues, resolved into the engine's configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Acd {
    /// A phone's REGISTER logs its agent in, ready (SIP-only seats); false: agents log in
    /// through the API or the desktop.
    pub login_on_register: bool,
    /// OPTIONS keepalive to logged-in agents' phones (0: none).
    pub options_interval_secs: u32,
    /// Unanswered keepalives in a row that log the agent out.
    pub options_max_failures: u32,
    /// Not-ready reason codes agents may give.
    pub not_ready_reasons: Vec<String>,
    /// The key a waiting caller presses to ask for a callback ("" for none).
    pub callback_key: String,
    /// The engine's configuration: every queue, with defaults applied.
    pub engine: hotline_acd::AcdConfig,
}

/// Work orders (`[workorders]`): the notice's time limits and the scheduler and outbox that
/// enforce them.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkOrders {
    /// Letters before the date in order numbers (`YC20261125-000123`).
    pub number_prefix: String,
    /// Working days for requests (咨询, 求助, 表扬, 其他).
    pub request_days: u32,
    /// Working days for complaints, reports and suggestions.
    pub complaint_days: u32,
    /// Working days within which a unit may return an order.
    pub return_days: u32,
    /// Callback attempts before a caller counts as unreachable.
    pub callback_attempts: u32,
    /// A reminder goes out this many working days before the deadline.
    pub remind_before_working_days: u32,
    /// The second reminder notice, this many working days after the first.
    pub second_notice_after_working_days: u32,
    /// How often the scheduler looks for reminders, notices and criticisms due.
    pub scheduler_interval_secs: u32,
    /// How often call records without an order are looked for (the drafter's catch-up).
    pub draft_scan_secs: u32,
    /// Where SMS go: "log" (the server log), "file" (one JSON line each in `sms_file`) or
    /// "off".
    pub sms: String,
    pub sms_file: PathBuf,
    /// http:// URLs that receive every notification as a JSON POST.
    pub webhooks: Vec<String>,
    /// Seconds before a failed notification is tried again (doubling, at most an hour).
    pub outbox_retry_secs: u32,
}

/// The knowledge base (`[kb]`): where its search index lives and the words it knows beyond
/// the shipped dictionary and synonyms (config/kb/).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Kb {
    /// The search index's directory, derived from the database: rebuilt at start when missing
    /// or stale. Empty: kept in memory, rebuilt at every start.
    pub index_dir: PathBuf,
    /// A jieba dictionary file of more local words (`word freq tag` per line), added to the
    /// shipped one. Empty: none.
    pub dictionary: PathBuf,
    /// More synonym groups, each a list of words a caller or an entry may use for one thing.
    pub synonyms: Vec<Vec<String>>,
    /// Load the shipped synthetic sample knowledge base (config/kb/sample.json) into an
    /// empty knowledge base at start, for demos.
    pub load_sample: bool,
    /// How many suggestions an agent gets while typing an order.
    pub suggestions: u32,
}

/// Decision support and early warning (`[insight]`): how often the warning rules run, who
/// is told of an alert beside the dashboard's live feed, and the rules themselves.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Insight {
    pub evaluate_secs: u32,
    #[serde(default)]
    pub recipients: Vec<AlertRecipient>,
    #[serde(default)]
    pub sensitive: Vec<hotline_insight::warning::SensitiveRule>,
    #[serde(default)]
    pub repeats: Vec<hotline_insight::warning::RepeatRule>,
    #[serde(default)]
    pub spikes: Vec<hotline_insight::warning::SpikeRule>,
}

impl Insight {
    /// The rules as the warning engine takes them.
    pub fn rules(&self) -> hotline_insight::warning::Rules {
        hotline_insight::warning::Rules {
            sensitive: self.sensitive.clone(),
            repeats: self.repeats.clone(),
            spikes: self.spikes.clone(),
        }
    }
}

/// Someone told of every new or changed alert through the outbox: an SMS number or a
/// webhook URL (exactly one).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertRecipient {
    pub name: String,
    #[serde(default)]
    pub sms: Option<String>,
    #[serde(default)]
    pub webhook: Option<String>,
}

/// Log-in (`[auth]`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Auth {
    /// A token expires this long after log-in (a shift).
    pub token_ttl_secs: u32,
}

/// An API user. Passwords are kept as argon2 hashes (`hotline hash-password`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: String,
    pub name: String,
    pub role: UserRole,
    /// The handling unit, for unit staff and unit heads only.
    pub unit: Option<String>,
    pub password: UserPassword,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UserRole {
    Agent,
    Supervisor,
    UnitStaff,
    UnitHead,
    Admin,
}

impl UserRole {
    pub fn as_str(self) -> &'static str {
        match self {
            UserRole::Agent => "agent",
            UserRole::Supervisor => "supervisor",
            UserRole::UnitStaff => "unit_staff",
            UserRole::UnitHead => "unit_head",
            UserRole::Admin => "admin",
        }
    }

    pub fn has_unit(self) -> bool {
        matches!(self, UserRole::UnitStaff | UserRole::UnitHead)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserPassword {
    /// Development only: hashed at start.
    Plain(Secret),
    /// An argon2 PHC string (`$argon2id$v=19$...`).
    Hash(Secret),
}

/// A handling unit's SMS numbers for reminders and notices.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Unit {
    pub name: String,
    #[serde(default)]
    pub sms: Vec<String>,
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
    /// Skill → level 1..=10: every group at level 5, unless `skills` gives its level.
    pub skills: Vec<(String, u8)>,
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
        self.groups.iter().any(|g| g == group) || self.skills.iter().any(|(s, _)| s == group)
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
    acd: RawAcd,
    #[serde(default)]
    queues: Vec<RawQueue>,
    #[serde(default)]
    agents: Vec<RawAgent>,
    workorders: WorkOrders,
    kb: Kb,
    insight: Insight,
    auth: Auth,
    #[serde(default)]
    users: Vec<RawUser>,
    #[serde(default)]
    units: Vec<Unit>,
    log: Log,
}

/// Every field optional so that each missing one is reported with its user.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawUser {
    id: Option<String>,
    name: Option<String>,
    role: Option<UserRole>,
    unit: Option<String>,
    password: Option<Secret>,
    password_hash: Option<Secret>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAcd {
    login_on_register: bool,
    options_interval_secs: u32,
    options_max_failures: u32,
    repeat_window_hours: u32,
    repeat_priority: u8,
    sticky_agent: bool,
    not_ready_reasons: Vec<String>,
    no_answer_reason: String,
    callback_key: String,
    defaults: RawQueue,
}

/// A queue as written: every key optional, the missing ones from `[acd.defaults]`.
#[derive(Deserialize, Default, Clone)]
#[serde(deny_unknown_fields)]
struct RawQueue {
    name: Option<String>,
    skill: Option<String>,
    strategy: Option<String>,
    relax: Option<Vec<RawRelax>>,
    ring_timeout_secs: Option<u32>,
    retry_secs: Option<u32>,
    wrap_up_secs: Option<u32>,
    max_no_answer: Option<u32>,
    max_wait_secs: Option<u32>,
    on_timeout: Option<String>,
    max_len: Option<u32>,
    on_full: Option<String>,
    on_no_agents: Option<String>,
    announce_first_secs: Option<u32>,
    announce_every_secs: Option<u32>,
    announce_position: Option<bool>,
    announce_ewt: Option<bool>,
    service_level_secs: Option<u32>,
}

#[derive(Deserialize, Clone)]
#[serde(deny_unknown_fields)]
struct RawRelax {
    after_secs: u32,
    min_level: u8,
}

/// Every field optional so that each missing one is reported with its
/// agent, rather than serde's first "missing field".
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAgent {
    id: Option<String>,
    name: Option<String>,
    groups: Option<Vec<String>>,
    skills: Option<std::collections::BTreeMap<String, u8>>,
    password: Option<Secret>,
    ha1_md5: Option<Secret>,
    ha1_sha256: Option<Secret>,
}

struct Checker {
    problems: Vec<Problem>,
}

impl Checker {
    fn fail(&mut self, path: KeyPath, message: impl Into<String>) {
        let p = Problem {
            path,
            message: message.into(),
        };
        // A default shared by several queues is wrong once, not once per queue.
        if !self
            .problems
            .iter()
            .any(|q| q.path == p.path && q.message == p.message)
        {
            self.problems.push(p);
        }
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
        let acd = check_acd(self.acd, self.queues, &agents, &self.hotline, &root, &mut c);
        check_workorders(&self.workorders, &root.key("workorders"), &mut c);
        check_kb(&self.kb, &root.key("kb"), &mut c);
        check_insight(&self.insight, &root.key("insight"), &mut c);
        if self.auth.token_ttl_secs < 60 {
            c.fail(
                root.key("auth").key("token_ttl_secs"),
                "must be at least 60 seconds",
            );
        }
        let users = check_users(self.users, &root.key("users"), &mut c);
        check_units(&self.units, &root.key("units"), &mut c);
        let config = Config {
            sip: self.sip,
            registrar: self.registrar,
            http: self.http,
            database: self.database,
            hotline: self.hotline,
            media: self.media,
            ivr: self.ivr,
            acd,
            agents,
            workorders: self.workorders,
            kb: self.kb,
            insight: self.insight,
            auth: self.auth,
            users,
            units: self.units,
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

fn check_acd(
    raw: RawAcd,
    queues: Vec<RawQueue>,
    agents: &[Agent],
    hotline: &Hotline,
    root: &KeyPath,
    c: &mut Checker,
) -> Acd {
    use hotline_acd::{AcdConfig, LeaveAction, QueueConfig, RelaxStep, Strategy};
    let at = root.key("acd");
    if raw.not_ready_reasons.iter().any(|r| r.trim().is_empty()) {
        c.fail(at.key("not_ready_reasons"), "empty reason code");
    }
    if raw.no_answer_reason.trim().is_empty() {
        c.fail(at.key("no_answer_reason"), "must be non-empty");
    }
    if raw.repeat_priority > 9 {
        c.fail(at.key("repeat_priority"), "priorities are 0..=9");
    }
    if !(raw.callback_key.is_empty()
        || (raw.callback_key.len() == 1
            && raw
                .callback_key
                .chars()
                .all(|k| k.is_ascii_digit() || k == '*' || k == '#')))
    {
        c.fail(
            at.key("callback_key"),
            "one of 0-9, * or #, or empty for none",
        );
    }
    if raw.options_interval_secs > 0 && raw.options_max_failures == 0 {
        c.fail(
            at.key("options_max_failures"),
            "must be at least 1 when keepalives are on",
        );
    }
    let defaults = raw.defaults;
    // Queues named explicitly, then one per skill or group an agent has and the entry group.
    let mut list: Vec<(RawQueue, KeyPath)> = Vec::new();
    for (i, q) in queues.into_iter().enumerate() {
        let here = root.key("queues").index(i);
        match &q.name {
            None => c.fail(here.key("name"), "missing field `name`"),
            Some(n) if n.is_empty() => c.fail(here.key("name"), "must be non-empty"),
            Some(n) if list.iter().any(|(x, _)| x.name.as_deref() == Some(n)) => {
                c.fail(here.key("name"), format!("queue `{n}` defined twice"))
            }
            Some(_) => list.push((q, here)),
        }
    }
    let mut implicit: Vec<String> = vec![hotline.entry_group.clone()];
    for a in agents {
        for (s, _) in &a.skills {
            if !implicit.contains(s) {
                implicit.push(s.clone());
            }
        }
    }
    for name in implicit {
        let known = list
            .iter()
            .any(|(q, _)| q.name.as_deref() == Some(&name) || q.skill.as_deref() == Some(&name));
        if !known && !name.is_empty() {
            list.push((
                RawQueue {
                    name: Some(name),
                    ..RawQueue::default()
                },
                at.key("defaults"),
            ));
        }
    }
    let mut out = Vec::new();
    for (q, here) in list {
        let name = q.name.clone().unwrap_or_default();
        let mut cfg = QueueConfig::new(name.clone());
        cfg.skill = q.skill.clone().unwrap_or(name);
        // A key set on the queue is reported there; a default's problem at [acd.defaults].
        macro_rules! pick {
            ($field:ident) => {
                match (&q.$field, &defaults.$field) {
                    (Some(v), _) => Some((v.clone(), here.key(stringify!($field)))),
                    (None, Some(v)) => {
                        Some((v.clone(), at.key("defaults").key(stringify!($field))))
                    }
                    (None, None) => None,
                }
            };
        }
        if let Some((s, path)) = pick!(strategy) {
            match s.parse::<Strategy>() {
                Ok(s) => cfg.strategy = s,
                Err(e) => c.fail(path, e),
            }
        }
        if let Some((steps, path)) = pick!(relax) {
            let mut last: Option<u32> = None;
            for (i, r) in steps.iter().enumerate() {
                if !(1..=10).contains(&r.min_level) {
                    c.fail(path.index(i).key("min_level"), "skill levels are 1..=10");
                }
                if last.is_some_and(|l| r.after_secs <= l) {
                    c.fail(
                        path.index(i).key("after_secs"),
                        "steps must be in increasing order of after_secs",
                    );
                }
                last = Some(r.after_secs);
            }
            cfg.relax = steps
                .iter()
                .map(|r| RelaxStep {
                    after_ms: u64::from(r.after_secs) * 1000,
                    min_level: r.min_level,
                })
                .collect();
        }
        let ring = pick!(ring_timeout_secs)
            .map(|(v, p)| (v, Some(p)))
            .unwrap_or((hotline.ring_timeout_secs, None));
        if ring.0 == 0 {
            if let Some(p) = ring.1 {
                c.fail(p, "must be at least 1");
            }
        } else {
            cfg.ring_timeout_ms = u64::from(ring.0) * 1000;
        }
        if let Some((v, _)) = pick!(retry_secs) {
            cfg.retry_ms = u64::from(v) * 1000;
        }
        if let Some((v, _)) = pick!(wrap_up_secs) {
            cfg.wrap_up_ms = u64::from(v) * 1000;
        }
        if let Some((v, _)) = pick!(max_no_answer) {
            cfg.max_no_answer = v;
        }
        if let Some((v, _)) = pick!(max_wait_secs) {
            cfg.max_wait_ms = (v > 0).then(|| u64::from(v) * 1000);
        }
        if let Some((v, _)) = pick!(max_len) {
            cfg.max_len = (v > 0).then_some(v as usize);
        }
        let mut action = |field: Option<(String, KeyPath)>, slot: &mut LeaveAction| {
            if let Some((s, path)) = field {
                match s.parse::<LeaveAction>() {
                    Ok(a) => *slot = a,
                    Err(e) => c.fail(path, e),
                }
            }
        };
        action(pick!(on_timeout), &mut cfg.on_timeout);
        action(pick!(on_full), &mut cfg.on_full);
        action(pick!(on_no_agents), &mut cfg.on_no_agents);
        if let Some((v, _)) = pick!(announce_first_secs) {
            cfg.announce_first_ms = (v > 0).then(|| u64::from(v) * 1000);
        }
        if let Some((v, path)) = pick!(announce_every_secs) {
            if v == 0 && cfg.announce_first_ms.is_some() {
                c.fail(path, "must be at least 1 when announcements are on");
            }
            cfg.announce_every_ms = u64::from(v.max(1)) * 1000;
        }
        if let Some((v, _)) = pick!(announce_position) {
            cfg.announce_position = v;
        }
        if let Some((v, _)) = pick!(announce_ewt) {
            cfg.announce_ewt = v;
        }
        if let Some((v, path)) = pick!(service_level_secs) {
            if v == 0 {
                c.fail(path, "must be at least 1");
            }
            cfg.service_level_ms = u64::from(v) * 1000;
        }
        out.push((cfg, here));
    }
    let engine = AcdConfig {
        queues: out.iter().map(|(q, _)| q.clone()).collect(),
        repeat_window_ms: u64::from(raw.repeat_window_hours) * 3600 * 1000,
        repeat_priority: raw.repeat_priority.min(9),
        sticky: raw.sticky_agent,
        no_answer_reason: raw.no_answer_reason.trim().to_string(),
    };
    if c.problems.is_empty()
        && let Err(e) = engine.validate()
    {
        let e = e.to_string();
        let e = e
            .strip_prefix("ACD configuration: ")
            .unwrap_or(&e)
            .to_string();
        // Name the queue the engine complains about when it names one.
        let path = out
            .iter()
            .find(|(q, _)| e.contains(&format!("`{}`", q.name)))
            .map(|(_, p)| p.clone())
            .unwrap_or_else(|| root.key("queues"));
        c.fail(path, e);
    }
    Acd {
        login_on_register: raw.login_on_register,
        options_interval_secs: raw.options_interval_secs,
        options_max_failures: raw.options_max_failures,
        not_ready_reasons: raw.not_ready_reasons,
        callback_key: raw.callback_key,
        engine,
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
        let given = a.skills.unwrap_or_default();
        for (skill, level) in &given {
            if skill.is_empty() {
                c.fail(here.key("skills"), "empty skill name");
                ok = false;
            } else if !(1..=10).contains(level) {
                c.fail(
                    here.key("skills").key(skill),
                    format!("level {level} is outside 1..=10"),
                );
                ok = false;
            }
        }
        // Groups are skills at the middle level unless `skills` says otherwise.
        let mut skills: Vec<(String, u8)> = groups
            .iter()
            .filter(|g| !given.contains_key(*g))
            .map(|g| (g.clone(), 5))
            .collect();
        skills.extend(given);
        if let (true, Some(id), Some(credentials)) = (ok, a.id, credentials) {
            agents.push(Agent {
                name: a.name.unwrap_or_else(|| id.clone()),
                id,
                groups,
                skills,
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

fn check_workorders(w: &WorkOrders, at: &KeyPath, c: &mut Checker) {
    if w.number_prefix.is_empty()
        || w.number_prefix.len() > 8
        || !w.number_prefix.chars().all(|ch| ch.is_ascii_uppercase())
    {
        c.fail(
            at.key("number_prefix"),
            "must be 1 to 8 capital letters (A-Z)",
        );
    }
    for (key, v) in [
        ("request_days", w.request_days),
        ("complaint_days", w.complaint_days),
        ("return_days", w.return_days),
        ("callback_attempts", w.callback_attempts),
        ("scheduler_interval_secs", w.scheduler_interval_secs),
        ("draft_scan_secs", w.draft_scan_secs),
        ("outbox_retry_secs", w.outbox_retry_secs),
        (
            "second_notice_after_working_days",
            w.second_notice_after_working_days,
        ),
    ] {
        if v == 0 {
            c.fail(at.key(key), "must be at least 1");
        }
    }
    if !matches!(w.sms.as_str(), "log" | "file" | "off") {
        c.fail(
            at.key("sms"),
            format!("`{}` is not one of \"log\", \"file\", \"off\"", w.sms),
        );
    }
    if w.sms == "file" && w.sms_file.as_os_str().is_empty() {
        c.fail(
            at.key("sms_file"),
            "must name a file when `sms` is \"file\"",
        );
    }
    for (i, url) in w.webhooks.iter().enumerate() {
        if let Err(why) = check_http_url(url) {
            c.fail(at.key("webhooks").index(i), why);
        }
    }
}

/// Webhooks are plain http:// (the outbox speaks HTTP/1.1 itself; TLS would need a client
/// the hotline does not carry): `http://host[:port][/path]`.
fn check_http_url(url: &str) -> Result<(), String> {
    let Some(rest) = url.strip_prefix("http://") else {
        return Err(format!("`{url}` is not an http:// URL"));
    };
    let host = rest.split('/').next().unwrap_or("");
    let (name, port) = match host.rsplit_once(':') {
        Some((n, p)) => (n, Some(p)),
        None => (host, None),
    };
    if name.is_empty() || !is_host(name) {
        return Err(format!("`{url}` has no host"));
    }
    if let Some(p) = port
        && p.parse::<u16>().map_or(true, |p| p == 0)
    {
        return Err(format!("`{url}` has a bad port `{p}`"));
    }
    Ok(())
}

fn check_users(raw: Vec<RawUser>, at: &KeyPath, c: &mut Checker) -> Vec<User> {
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut users = Vec::with_capacity(raw.len());
    for (i, u) in raw.into_iter().enumerate() {
        let here = at.index(i);
        let id = match u.id {
            None => {
                c.fail(here.key("id"), "missing field `id`");
                None
            }
            Some(id) if !is_user_part(&id) => {
                c.fail(
                    here.key("id"),
                    format!("`{id}` is not a user name (letters, digits, `.`, `-`, `_`)"),
                );
                None
            }
            Some(id) => {
                if let Some(first) = seen.get(&id) {
                    c.fail(
                        here.key("id"),
                        format!("duplicate user id `{id}`, first used by users[{first}]"),
                    );
                    None
                } else {
                    seen.insert(id.clone(), i);
                    Some(id)
                }
            }
        };
        let role = u.role;
        if role.is_none() {
            c.fail(here.key("role"), "missing field `role`");
        }
        let unit = match (role, u.unit) {
            (Some(r), None) if r.has_unit() => {
                c.fail(here.key("unit"), format!("a {} names its unit", r.as_str()));
                None
            }
            (Some(r), Some(_)) if !r.has_unit() => {
                c.fail(
                    here.key("unit"),
                    format!(
                        "only unit staff and unit heads have a unit, not a {}",
                        r.as_str()
                    ),
                );
                None
            }
            (_, Some(unit)) if unit.trim().is_empty() => {
                c.fail(here.key("unit"), "must be non-empty");
                None
            }
            (_, unit) => unit,
        };
        let password = match (u.password, u.password_hash) {
            (Some(p), None) if p.expose().is_empty() => {
                c.fail(here.key("password"), "must be non-empty");
                None
            }
            (Some(p), None) => Some(UserPassword::Plain(p)),
            (None, Some(h)) if !h.expose().starts_with("$argon2") => {
                c.fail(
                    here.key("password_hash"),
                    "must be an argon2 hash (`$argon2id$...`, from `hotline hash-password`)",
                );
                None
            }
            (None, Some(h)) => Some(UserPassword::Hash(h)),
            (Some(_), Some(_)) => {
                c.fail(
                    here.key("password"),
                    "give either `password` or `password_hash`, not both",
                );
                None
            }
            (None, None) => {
                c.fail(here.key("password_hash"), "missing field `password_hash`");
                None
            }
        };
        if let (Some(id), Some(role), Some(password)) = (id, role, password)
            && (!role.has_unit() || unit.is_some())
        {
            users.push(User {
                name: u.name.unwrap_or_else(|| id.clone()),
                id,
                role,
                unit,
                password,
            });
        }
    }
    users
}

fn check_kb(k: &Kb, at: &KeyPath, c: &mut Checker) {
    if !(1..=50).contains(&k.suggestions) {
        c.fail(at.key("suggestions"), "must be 1 to 50");
    }
    for (i, g) in k.synonyms.iter().enumerate() {
        if g.len() < 2 {
            c.fail(
                at.key("synonyms").index(i),
                "a synonym group needs at least two words",
            );
        }
        for (j, w) in g.iter().enumerate() {
            if w.trim().is_empty() || w.contains(char::is_whitespace) {
                c.fail(
                    at.key("synonyms").index(i).index(j),
                    format!("`{w}` is not one word"),
                );
            }
        }
    }
}

fn check_insight(i: &Insight, at: &KeyPath, c: &mut Checker) {
    if i.evaluate_secs < 10 {
        c.fail(at.key("evaluate_secs"), "must be at least 10 seconds");
    }
    let mut names: HashMap<String, ()> = HashMap::new();
    let mut name = |n: &str, key: KeyPath, c: &mut Checker| {
        if n.trim().is_empty() {
            c.fail(key, "a rule needs a name (it is what alerts are called)");
        } else if names.insert(n.to_string(), ()).is_some() {
            c.fail(
                key,
                format!("a second rule named `{n}`: each cause is named by its rule"),
            );
        }
    };
    for (x, r) in i.sensitive.iter().enumerate() {
        let at = at.key("sensitive").index(x);
        name(&r.name, at.key("name"), c);
        if r.phrases.is_empty() {
            c.fail(at.key("phrases"), "give at least one phrase");
        }
        for (y, p) in r.phrases.iter().enumerate() {
            if p.trim().is_empty() {
                c.fail(
                    at.key("phrases").index(y),
                    "an empty phrase matches everything",
                );
            }
        }
        for (y, m) in r.months.iter().enumerate() {
            if !(1..=12).contains(m) {
                c.fail(at.key("months").index(y), "a month is 1 to 12");
            }
        }
    }
    for (x, r) in i.repeats.iter().enumerate() {
        let at = at.key("repeats").index(x);
        name(&r.name, at.key("name"), c);
        if r.times < 2 {
            c.fail(at.key("times"), "a repeat is at least 2 times");
        }
        if !(1..=90).contains(&r.days) {
            c.fail(at.key("days"), "must be 1 to 90 days");
        }
    }
    for (x, r) in i.spikes.iter().enumerate() {
        let at = at.key("spikes").index(x);
        name(&r.name, at.key("name"), c);
        if !(1..=4).contains(&r.depth) {
            c.fail(at.key("depth"), "a category level is 1 to 4");
        }
        if !(r.k > 0.0 && r.k <= 20.0) {
            c.fail(
                at.key("k"),
                "must be above 0 and at most 20 standard deviations",
            );
        }
        if !(7..=90).contains(&r.baseline_days) {
            c.fail(at.key("baseline_days"), "must be 7 to 90 days");
        }
        if r.min_count == 0 {
            c.fail(at.key("min_count"), "must be at least 1");
        }
    }
    for (x, r) in i.recipients.iter().enumerate() {
        let at = at.key("recipients").index(x);
        if r.name.trim().is_empty() {
            c.fail(at.key("name"), "a recipient needs a name");
        }
        match (&r.sms, &r.webhook) {
            (Some(n), None) => {
                if !(5..=20).contains(&n.len()) || !n.chars().all(|ch| ch.is_ascii_digit()) {
                    c.fail(at.key("sms"), "a phone number of 5 to 20 digits");
                }
            }
            (None, Some(u)) => {
                if !(u.starts_with("http://") || u.starts_with("https://")) {
                    c.fail(at.key("webhook"), "an http:// or https:// URL");
                }
            }
            _ => c.fail(at.clone(), "give exactly one of `sms` or `webhook`"),
        }
    }
}

fn check_units(units: &[Unit], at: &KeyPath, c: &mut Checker) {
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for (i, u) in units.iter().enumerate() {
        let here = at.index(i);
        if u.name.trim().is_empty() {
            c.fail(here.key("name"), "must be non-empty");
        } else if let Some(first) = seen.insert(u.name.as_str(), i) {
            c.fail(
                here.key("name"),
                format!("duplicate unit `{}`, first at units[{first}]", u.name),
            );
        }
        for (j, n) in u.sms.iter().enumerate() {
            let digits = n.strip_prefix('+').unwrap_or(n);
            if digits.len() < 5 || !digits.chars().all(|ch| ch.is_ascii_digit()) {
                c.fail(
                    here.key("sms").index(j),
                    format!("`{n}` is not a phone number"),
                );
            }
        }
    }
}
