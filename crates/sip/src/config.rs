//! What the SIP shell needs to know, independent of how the server loads its configuration.

use hotline_routing::{InviteAuthPolicy, TrustedNetworks};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

/// The annex line a dialed number belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineInfo {
    pub number: String,
    pub unit: Option<String>,
    pub mode: String,
}

/// The numbers that enter the hotline (12345 and the annex lines).
pub trait NumberPlan: Send + Sync {
    fn line(&self, user: &str) -> Option<LineInfo>;
}

#[derive(Debug, Clone)]
pub struct AgentInfo {
    pub id: String,
    pub groups: Vec<String>,
}

#[derive(Clone)]
pub struct SipConfig {
    pub udp: Vec<SocketAddr>,
    pub tcp: Vec<SocketAddr>,
    /// The name peers use for us (Request-URI host, digest realm's host).
    pub domain: String,
    /// Further domains served here (requests for others are refused as foreign).
    pub aliases: Vec<String>,
    pub realm: String,
    pub user_agent: String,
    pub trusted: TrustedNetworks,
    pub invite_auth: InviteAuthPolicy,
    /// New INVITEs beyond this many transactions in flight get 503 + Retry-After.
    pub max_inflight: usize,
    pub retry_after_secs: u32,
    pub registrar: hotline_registrar::RegistrarConfig,
    pub nonce_ttl: Duration,
    /// Digest algorithms offered, most preferred first (RFC 8760 §2.4).
    pub digest_algorithms: Vec<hotline_registrar::Algorithm>,
    pub credentials: hotline_registrar::Credentials,
    pub agents: Vec<AgentInfo>,
    pub entry_group: String,
    pub ring_timeout: Duration,
    pub numbers: Arc<dyn NumberPlan>,
}
