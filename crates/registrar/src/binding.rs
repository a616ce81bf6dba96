//! A registered contact of an address-of-record and the view of it returned to the shell.

use std::fmt;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// Transport the REGISTER arrived on; requests to the binding go back the same way (NAT).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Transport {
    Udp,
    Tcp,
    Tls,
    Sctp,
    Ws,
    Wss,
}

impl Transport {
    pub fn parse(s: &str) -> Option<Self> {
        const ALL: [(&str, Transport); 6] = [
            ("udp", Transport::Udp),
            ("tcp", Transport::Tcp),
            ("tls", Transport::Tls),
            ("sctp", Transport::Sctp),
            ("ws", Transport::Ws),
            ("wss", Transport::Wss),
        ];
        ALL.into_iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(s))
            .map(|(_, t)| t)
    }

    /// Lowercase name, as the shell passed it in.
    pub fn as_str(self) -> &'static str {
        match self {
            Transport::Udp => "udp",
            Transport::Tcp => "tcp",
            Transport::Tls => "tls",
            Transport::Sctp => "sctp",
            Transport::Ws => "ws",
            Transport::Wss => "wss",
        }
    }
}

impl fmt::Display for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A contact q-value in thousandths (RFC 3261 §20.10), so it orders and compares exactly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct QValue(pub(crate) u16);

impl QValue {
    pub fn from_thousandths(t: u16) -> Option<Self> {
        (t <= 1000).then_some(QValue(t))
    }

    pub fn thousandths(self) -> u16 {
        self.0
    }
}

impl fmt::Display for QValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0 >= 1000 {
            return f.write_str("1");
        }
        if self.0 == 0 {
            return f.write_str("0");
        }
        let (mut v, mut width) = (self.0, 3);
        while v % 10 == 0 {
            v /= 10;
            width -= 1;
        }
        write!(f, "0.{v:0width$}")
    }
}

/// Ordering weight of a contact without `q`: treated as 1.0, the usual registrar convention.
pub(crate) const DEFAULT_Q: u16 = 1000;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binding {
    pub(crate) id: u64,
    pub(crate) uri: String,
    /// Contact params other than `expires` and `q`, raw, each with its leading `;`.
    pub(crate) params: String,
    pub(crate) q: Option<QValue>,
    pub(crate) expires_at: Instant,
    pub(crate) updated_at: Instant,
    pub(crate) call_id: String,
    pub(crate) cseq: u32,
    pub(crate) source: SocketAddr,
    pub(crate) transport: Transport,
    pub(crate) user_agent: Option<String>,
}

impl Binding {
    /// The contact URI verbatim, URI parameters and escaped headers included.
    pub fn uri(&self) -> &str {
        &self.uri
    }

    /// Other contact params (e.g. `;+sip.instance="<urn:...>";reg-id=1`), or empty.
    pub fn params(&self) -> &str {
        &self.params
    }

    pub fn q(&self) -> Option<QValue> {
        self.q
    }

    pub fn expires_at(&self) -> Instant {
        self.expires_at
    }

    /// Remaining lifetime, zero once expired.
    pub fn expires_in(&self, now: Instant) -> Duration {
        self.expires_at.saturating_duration_since(now)
    }

    pub fn is_live(&self, now: Instant) -> bool {
        now < self.expires_at
    }

    /// When the binding was created or last refreshed.
    pub fn updated_at(&self) -> Instant {
        self.updated_at
    }

    pub fn call_id(&self) -> &str {
        &self.call_id
    }

    pub fn cseq(&self) -> u32 {
        self.cseq
    }

    /// Where the REGISTER came from: requests for this binding go there, which reaches a phone
    /// behind NAT through the mapping its REGISTER opened.
    pub fn source(&self) -> SocketAddr {
        self.source
    }

    /// Lowercase transport name ("udp", "tcp", ...).
    pub fn transport(&self) -> &'static str {
        self.transport.as_str()
    }

    pub fn transport_kind(&self) -> Transport {
        self.transport
    }

    pub fn user_agent(&self) -> Option<&str> {
        self.user_agent.as_deref()
    }

    pub(crate) fn sort_weight(&self) -> u16 {
        self.q.map_or(DEFAULT_Q, QValue::thousandths)
    }

    pub(crate) fn view(&self, now: Instant) -> BindingView {
        let left = self.expires_in(now);
        let secs = left.as_secs() + u64::from(left.subsec_nanos() > 0);
        BindingView {
            uri: self.uri.clone(),
            expires_in_secs: u32::try_from(secs).unwrap_or(u32::MAX),
            q: self.q,
            source: self.source,
            transport: self.transport.as_str(),
        }
    }
}

/// A current binding as listed in the 200 response to a REGISTER.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BindingView {
    pub uri: String,
    pub expires_in_secs: u32,
    pub q: Option<QValue>,
    pub source: SocketAddr,
    pub transport: &'static str,
}

/// The Contact header value for the 200: `<uri>;expires=N[;q=V]`.
impl fmt::Display for BindingView {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<{}>;expires={}", self.uri, self.expires_in_secs)?;
        if let Some(q) = self.q {
            write!(f, ";q={q}")?;
        }
        Ok(())
    }
}
