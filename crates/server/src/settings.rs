//! From the loaded configuration to what each service takes.

use hotline_config::{Hotlines, InviteAuth, Mode, ModeKind};
use hotline_sip::{AgentInfo, LineInfo, MediaSetup, NumberPlan, SipConfig};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

pub struct Loaded {
    pub source: String,
    pub sip: SipConfig,
    pub http_listen: SocketAddr,
    pub database_url: String,
    pub spool_dir: String,
    pub log_filter: String,
    pub orders: OrdersSetup,
    pub kb: KbSetup,
    pub insight: hotline_config::Insight,
    agents: usize,
    lines: usize,
}

impl Loaded {
    pub fn summary(&self) -> String {
        let ivr = match &self.sip.media {
            Some(m) => format!(
                "{} dialplans, {} prompts, RTP ports {}-{}",
                m.dialplans.len(),
                m.prompts.names().len(),
                m.ports.min(),
                m.ports.max()
            ),
            None => "IVR disabled".to_string(),
        };
        let acd = match &self.sip.acd {
            Some(a) => {
                let queues: Vec<String> = a
                    .engine
                    .queues
                    .iter()
                    .map(|q| format!("{} ({})", q.name, q.strategy))
                    .collect();
                format!(", ACD queues: {}", queues.join(", "))
            }
            None => String::new(),
        };
        format!(
            "{} agents, {} hotline lines, SIP on {:?}, {ivr}{acd}",
            self.agents, self.lines, self.sip.udp
        )
    }
}

/// The annex as the SIP service's number plan.
struct Plan(Hotlines);

impl NumberPlan for Plan {
    fn line(&self, user: &str) -> Option<LineInfo> {
        let line = self.0.lookup(user)?;
        // Retirement is a matter of today's date in Beijing (T2's transition end).
        let today = hotline_calendar::beijing_date(chrono::Utc::now())?;
        Some(line_info(line, user, today))
    }

    fn seat_of_unit(&self, unit: &str) -> Option<LineInfo> {
        let line = self.0.lines().iter().find(|l| {
            l.unit == unit && matches!(l.mode, Mode::RemoteSeat { .. } | Mode::Interconnect { .. })
        })?;
        let number = line.numbers.first()?.clone();
        let today = hotline_calendar::beijing_date(chrono::Utc::now())?;
        Some(line_info(line, &number, today))
    }
}

fn line_info(line: &hotline_config::Line, number: &str, today: chrono::NaiveDate) -> LineInfo {
    let unit = (line.kind() != ModeKind::Hotline).then(|| line.unit.clone());
    let (mut target, mut trunk, mut guidance) = (None, None, None);
    match &line.mode {
        Mode::RemoteSeat { target: t } | Mode::Interconnect { target: t } => {
            target = Some(t.as_str().to_string())
        }
        Mode::Emergency { trunk: t } => trunk = Some(t.as_str().to_string()),
        Mode::GuidanceOnly { guidance: g } => guidance = Some(g.clone()),
        _ => {}
    }
    LineInfo {
        number: number.to_string(),
        unit,
        mode: line.kind().as_str().to_string(),
        target,
        trunk,
        guidance,
        retired: line.is_retired(today),
    }
}

/// Prompt names the dialplan checks may rely on.
struct Catalog<'a>(&'a hotline_media_rt::PromptCache);

impl hotline_ivr::PromptCatalog for Catalog<'_> {
    fn exists(&self, name: &str) -> bool {
        self.0.exists(name)
    }
}

/// A path from the config: empty means "the embedded copy"; relative means relative to the
/// config file's directory (like hotline.numbers_file).
fn config_path(config_file: Option<&Path>, p: &Path) -> Option<PathBuf> {
    if p.as_os_str().is_empty() {
        return None;
    }
    Some(match config_file.and_then(Path::parent) {
        Some(dir) if p.is_relative() => dir.join(p),
        _ => p.to_path_buf(),
    })
}

/// The IVR and media engine from `[media]` and `[ivr]`: prompts (checked that every file
/// decodes), dialplans (checked against the prompts and the annex), the RTP port range.
fn media_setup(
    loaded: &hotline_config::Loaded,
    source: &str,
) -> Result<Option<Arc<MediaSetup>>, Vec<String>> {
    let c = &loaded.config;
    if !c.ivr.enabled {
        return Ok(None);
    }
    let cfg_file = loaded.config_file.as_deref();
    let builtin: HashMap<String, &'static [u8]> = crate::embedded::PROMPTS
        .iter()
        .map(|(n, b)| (n.to_string(), *b))
        .collect();
    let prompts_dir = config_path(cfg_file, &c.ivr.prompts_dir);
    let override_dir = config_path(cfg_file, &c.ivr.prompts_override_dir);
    let mut errors = Vec::new();
    for (key, dir) in [
        ("ivr.prompts_dir", &prompts_dir),
        ("ivr.prompts_override_dir", &override_dir),
    ] {
        if let Some(d) = dir
            && !d.is_dir()
        {
            errors.push(format!(
                "{source}: {key}: {} is not a directory",
                d.display()
            ));
        }
    }
    let prompts = hotline_media_rt::PromptCache::new(builtin, prompts_dir, override_dir);
    let names = prompts.names();
    errors.extend(
        prompts
            .preload(names.iter().map(String::as_str))
            .into_iter()
            .map(|e| e.to_string()),
    );
    let calendar = match hotline_calendar::Calendar::embedded() {
        Ok(c) => Arc::new(c),
        Err(e) => return Err(vec![format!("calendar: {e}")]),
    };
    let today = hotline_calendar::beijing_date(chrono::Utc::now()).unwrap_or_default();
    let lines: Vec<hotline_ivr::LineVars> = loaded
        .hotlines
        .lines()
        .iter()
        .flat_map(|l| l.numbers.iter().map(move |n| line_info(l, n, today).vars()))
        .collect();
    let ctx = hotline_ivr::LoadContext {
        prompts: &Catalog(&prompts),
        lines: &lines,
        calendar,
    };
    let dialplans = match config_path(cfg_file, &c.ivr.dialplans_dir) {
        Some(dir) => hotline_ivr::DialplanSet::load_dir(&dir, &ctx),
        None => hotline_ivr::DialplanSet::from_strs(crate::embedded::DIALPLANS, &ctx),
    };
    let dialplans = match dialplans {
        Ok(d) => d,
        Err(e) => {
            errors.extend(e.messages());
            hotline_ivr::DialplanSet::default()
        }
    };
    let ports =
        hotline_media_rt::PortPool::new(c.media.ip, c.media.rtp_port_min, c.media.rtp_port_max)
            .map_err(|e| vec![format!("{source}: media.rtp_port_min: {e}")])?;
    if !errors.is_empty() {
        return Err(errors);
    }
    // Relative to the working directory (like the SQLite path), made absolute so the path on
    // the call record still finds the file from anywhere.
    let recordings_dir = c.media.record.then(|| {
        let d = &c.media.recordings_dir;
        if d.is_relative() {
            std::env::current_dir()
                .map(|cwd| cwd.join(d))
                .unwrap_or_else(|_| d.clone())
        } else {
            d.clone()
        }
    });
    Ok(Some(Arc::new(MediaSetup {
        ports,
        prompts: Arc::new(prompts),
        dialplans: Arc::new(dialplans),
        rtp_timeout: Duration::from_secs(u64::from(c.media.rtp_timeout_secs)),
        recordings_dir,
        // Lines rung beside a queue or as a transfer follow the entry queue's patience.
        queue_max_wait: Duration::from_millis(
            entry_queue(c)
                .and_then(|q| q.max_wait_ms)
                .unwrap_or(300_000),
        ),
        queue_retry: Duration::from_millis(
            entry_queue(c)
                .map(|q| q.retry_ms)
                .unwrap_or(5_000)
                .max(1_000),
        ),
    })))
}

fn entry_queue(c: &hotline_config::Config) -> Option<&hotline_acd::QueueConfig> {
    c.acd
        .engine
        .queues
        .iter()
        .find(|q| q.name == c.hotline.entry_group)
}

/// The ACD: the entry queue first (where calls for an unknown queue go), the store added at
/// start.
fn acd_setup(c: &hotline_config::Config) -> hotline_sip::AcdSetup {
    let mut engine = c.acd.engine.clone();
    if let Some(i) = engine
        .queues
        .iter()
        .position(|q| q.name == c.hotline.entry_group)
    {
        let q = engine.queues.remove(i);
        engine.queues.insert(0, q);
    }
    hotline_sip::AcdSetup {
        engine,
        agents: c
            .agents
            .iter()
            .map(|a| hotline_acd::AgentConfig {
                id: a.id.clone(),
                name: a.name.clone(),
                skills: a.skills.clone(),
            })
            .collect(),
        login_on_register: c.acd.login_on_register,
        options_interval: Duration::from_secs(u64::from(c.acd.options_interval_secs)),
        options_max_failures: c.acd.options_max_failures,
        not_ready_reasons: c.acd.not_ready_reasons.clone(),
        callback_key: c.acd.callback_key.chars().next(),
        store: None,
    }
}

/// Load and convert; the errors are ready to print, one per line, each naming file, line and key.
pub fn load(path: Option<&Path>) -> Result<Loaded, Vec<String>> {
    let env: Vec<(String, String)> = std::env::vars()
        .filter(|(k, _)| k.starts_with("HOTLINE_"))
        .collect();
    let loaded = hotline_config::load(path, &env).map_err(|e| e.messages())?;
    let c = &loaded.config;
    let source = loaded
        .config_file
        .as_ref()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|| hotline_config::EMBEDDED_CONFIG_NAME.to_string());
    let mut credentials = hotline_registrar::Credentials::new();
    for a in &c.agents {
        let ha1 = a.ha1(&c.sip.realm);
        match hotline_registrar::UserCreds::from_ha1(ha1.md5.expose(), ha1.sha256.expose()) {
            Ok(u) => {
                credentials.insert(a.id.clone(), u);
            }
            Err(e) => return Err(vec![format!("{source}: agents.{}: {e}", a.id)]),
        }
    }
    let registrar = hotline_registrar::RegistrarConfig {
        min_expires: c.registrar.min_expires,
        max_expires: c.registrar.max_expires,
        default_expires: c.registrar.default_expires,
        max_contacts_per_aor: c.registrar.max_contacts as usize,
    };
    let sip = SipConfig {
        udp: c.sip.udp.clone(),
        tcp: c.sip.tcp.clone(),
        domain: c.sip.domain.clone(),
        realm: c.sip.realm.clone(),
        user_agent: c.sip.user_agent.clone(),
        trusted: hotline_routing::TrustedNetworks::new(c.sip.trusted_networks.clone()),
        invite_auth: match c.sip.invite_auth {
            InviteAuth::Never => hotline_routing::InviteAuthPolicy::Never,
            InviteAuth::Untrusted => hotline_routing::InviteAuthPolicy::Untrusted,
            InviteAuth::Always => hotline_routing::InviteAuthPolicy::Always,
        },
        max_inflight: c.sip.max_inflight_transactions,
        retry_after_secs: c.sip.retry_after_secs,
        registrar,
        nonce_ttl: Duration::from_secs(c.registrar.nonce_ttl_secs),
        digest_algorithms: c
            .sip
            .digest_algorithms
            .iter()
            .map(|a| match a {
                hotline_config::DigestAlgorithm::Md5 => hotline_registrar::Algorithm::Md5,
                hotline_config::DigestAlgorithm::Sha256 => hotline_registrar::Algorithm::Sha256,
            })
            .collect(),
        aliases: c.sip.aliases.clone(),
        credentials,
        agents: c
            .agents
            .iter()
            .map(|a| AgentInfo {
                id: a.id.clone(),
                groups: a.groups.clone(),
            })
            .collect(),
        entry_group: c.hotline.entry_group.clone(),
        ring_timeout: Duration::from_secs(u64::from(c.hotline.ring_timeout_secs)),
        hold_music_while_seat_rings: c.hotline.hold_music_while_seat_rings,
        emergency_feature_prefix: Some(c.hotline.emergency_feature_prefix.clone())
            .filter(|p| !p.is_empty()),
        numbers: Arc::new(Plan(loaded.hotlines.clone())),
        media: media_setup(&loaded, &source)?,
        acd: c.ivr.enabled.then(|| acd_setup(c)),
    };
    let kb = kb_setup(c, loaded.config_file.as_deref(), &source)?;
    Ok(Loaded {
        source,
        sip,
        http_listen: c.http.listen,
        database_url: c.database.url.clone(),
        spool_dir: c.database.spool_dir.display().to_string(),
        log_filter: c.log.filter.clone(),
        orders: orders_setup(c, &loaded.hotlines),
        kb,
        insight: c.insight.clone(),
        agents: c.agents.len(),
        lines: loaded.hotlines.lines().len(),
    })
}

/// The knowledge base's index and words, from `[kb]`.
#[derive(Clone)]
pub struct KbSetup {
    /// None: the index is kept in memory.
    pub index_dir: Option<PathBuf>,
    /// The shipped dictionary and synonyms with the config's additions, checked at load.
    pub lexicon: hotline_kb_search::Lexicon,
    /// Load the shipped sample into an empty knowledge base (always so with the embedded
    /// defaults: the demo has something to search).
    pub load_sample: bool,
    pub suggestions: usize,
}

fn kb_setup(
    c: &hotline_config::Config,
    config_file: Option<&Path>,
    source: &str,
) -> Result<KbSetup, Vec<String>> {
    let k = &c.kb;
    let extra = match config_path(config_file, &k.dictionary) {
        None => None,
        Some(p) => Some((
            p.display().to_string(),
            std::fs::read_to_string(&p).map_err(|e| {
                vec![format!(
                    "{source}: kb.dictionary: cannot read {}: {e}",
                    p.display()
                )]
            })?,
        )),
    };
    let lexicon = hotline_kb_search::Lexicon::default_set();
    let lexicon = match extra {
        None => lexicon,
        Some((name, text)) => lexicon
            .with_dictionary(&text)
            .map_err(|e| vec![format!("{name}: {e}")])?,
    };
    Ok(KbSetup {
        index_dir: (!k.index_dir.as_os_str().is_empty()).then(|| k.index_dir.clone()),
        lexicon: lexicon.with_groups(k.synonyms.clone()),
        load_sample: k.load_sample || config_file.is_none(),
        suggestions: k.suggestions as usize,
    })
}

/// The work-order service's settings, users and timers, from `[workorders]`, `[auth]`,
/// `[[users]]` and `[[units]]`.
#[derive(Clone)]
pub struct OrdersSetup {
    pub settings: hotline_orders::Settings,
    pub users: Vec<hotline_config::User>,
    pub token_ttl: chrono::Duration,
    /// None: SMS are not sent (`sms = "off"`).
    pub sms: Option<hotline_orders::outbox::SmsSink>,
    pub outbox_retry: chrono::Duration,
    pub scheduler_interval: Duration,
    pub draft_scan: Duration,
}

fn orders_setup(c: &hotline_config::Config, hotlines: &hotline_config::Hotlines) -> OrdersSetup {
    let w = &c.workorders;
    let mut units: std::collections::BTreeSet<String> =
        hotlines.lines().iter().map(|l| l.unit.clone()).collect();
    units.extend(c.units.iter().map(|u| u.name.clone()));
    units.extend(c.users.iter().filter_map(|u| u.unit.clone()));
    let rules = hotline_workorder::Rules {
        request_days: w.request_days,
        complaint_days: w.complaint_days,
        return_days: w.return_days,
        callback_attempts: w.callback_attempts,
        remind_before_working_days: w.remind_before_working_days,
        second_notice_after_working_days: w.second_notice_after_working_days,
    };
    let sms = match w.sms.as_str() {
        "file" => Some(hotline_orders::outbox::SmsSink::File(w.sms_file.clone())),
        "off" => None,
        _ => Some(hotline_orders::outbox::SmsSink::Log),
    };
    OrdersSetup {
        settings: hotline_orders::Settings {
            number_prefix: w.number_prefix.clone(),
            rules,
            unit_sms: c
                .units
                .iter()
                .map(|u| (u.name.clone(), u.sms.clone()))
                .collect(),
            sms: sms.is_some(),
            webhooks: w.webhooks.clone(),
            units,
        },
        users: c.users.clone(),
        token_ttl: chrono::Duration::seconds(i64::from(c.auth.token_ttl_secs)),
        sms,
        outbox_retry: chrono::Duration::seconds(i64::from(w.outbox_retry_secs)),
        scheduler_interval: Duration::from_secs(u64::from(w.scheduler_interval_secs)),
        draft_scan: Duration::from_secs(u64::from(w.draft_scan_secs)),
    }
}
