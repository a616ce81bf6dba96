//! From the loaded configuration to what each service takes.

use hotline_config::{Hotlines, InviteAuth, ModeKind};
use hotline_sip::{AgentInfo, LineInfo, NumberPlan, SipConfig};
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

pub struct Loaded {
    pub source: String,
    pub sip: SipConfig,
    pub http_listen: SocketAddr,
    pub database_url: String,
    pub spool_dir: String,
    pub log_filter: String,
    agents: usize,
    lines: usize,
}

impl Loaded {
    pub fn summary(&self) -> String {
        format!(
            "{} agents, {} hotline lines, SIP on {:?}",
            self.agents, self.lines, self.sip.udp
        )
    }
}

/// The annex as the SIP service's number plan.
struct Plan(Hotlines);

impl NumberPlan for Plan {
    fn line(&self, user: &str) -> Option<LineInfo> {
        let line = self.0.lookup(user)?;
        let unit = (line.kind() != ModeKind::Hotline).then(|| line.unit.clone());
        Some(LineInfo {
            number: user.to_string(),
            unit,
            mode: line.kind().as_str().to_string(),
        })
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
        numbers: Arc::new(Plan(loaded.hotlines.clone())),
    };
    Ok(Loaded {
        source,
        sip,
        http_listen: c.http.listen,
        database_url: c.database.url.clone(),
        spool_dir: c.database.spool_dir.display().to_string(),
        log_filter: c.log.filter.clone(),
        agents: c.agents.len(),
        lines: loaded.hotlines.lines().len(),
    })
}
