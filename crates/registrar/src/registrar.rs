//! REGISTER processing (RFC 3261 §10.3 steps 5 to 8) over an in-memory binding table.

use crate::binding::{Binding, BindingView, QValue, Transport};
use crate::contact::{
    ContactEntry, ContactError, ExpiresParam, parse_contacts, parse_delta_seconds,
};
use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistrarConfig {
    /// Non-zero intervals below this are refused with 423 and Min-Expires.
    pub min_expires: u32,
    /// Longer requested intervals are shortened to this.
    pub max_expires: u32,
    /// Used when neither the contact nor the request gives an interval, or gives a malformed one.
    pub default_expires: u32,
    pub max_contacts_per_aor: usize,
}

impl Default for RegistrarConfig {
    fn default() -> Self {
        RegistrarConfig {
            min_expires: 60,
            max_expires: 3600,
            default_expires: 3600,
            max_contacts_per_aor: 10,
        }
    }
}

/// What the shell extracted from an (authenticated) REGISTER.
#[derive(Debug, Clone, Copy)]
pub struct RegisterRequest<'a> {
    /// The address-of-record key (user part of To), as decided by the shell.
    pub aor: &'a str,
    pub call_id: &'a str,
    pub cseq: u32,
    /// Contact header values, one per header; each may list several contacts or be `*`.
    pub contacts: &'a [&'a str],
    /// The Expires header value, if any.
    pub expires: Option<&'a str>,
    /// Source address of the packet, kept for NAT traversal.
    pub source: SocketAddr,
    /// "udp", "tcp", "tls", "sctp", "ws" or "wss" (any case).
    pub transport: &'a str,
    pub user_agent: Option<&'a str>,
}

/// Every current binding of the AOR after the request, for the 200's Contact headers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegisterReply {
    pub bindings: Vec<BindingView>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RegisterError {
    #[error("bad Contact: {0}")]
    BadContact(#[from] ContactError),
    #[error("Contact: * must be the only contact and come with Expires: 0")]
    BadWildcard,
    #[error("expiration interval too brief, minimum {min} s")]
    IntervalTooBrief { min: u32 },
    #[error("more than {max} contacts for one address-of-record")]
    TooManyContacts { max: usize },
    #[error("unknown transport {0:?}")]
    BadTransport(String),
    #[error("empty address-of-record")]
    EmptyAor,
}

impl RegisterError {
    /// Suggested SIP status: 423 needs a Min-Expires header with `min`; 403 for too many contacts.
    pub fn status_code(&self) -> u16 {
        match self {
            RegisterError::IntervalTooBrief { .. } => 423,
            RegisterError::TooManyContacts { .. } => 403,
            RegisterError::BadContact(_)
            | RegisterError::BadWildcard
            | RegisterError::BadTransport(_)
            | RegisterError::EmptyAor => 400,
        }
    }
}

/// One contact of the request, validated, with its granted interval.
struct Wanted<'a> {
    uri: &'a str,
    params: &'a str,
    q: Option<QValue>,
    expires: u32,
}

enum Action {
    /// Same Call-ID with a CSeq not above the stored one (§10.3 step 7), or repeated in the request.
    Skip,
    Remove(usize),
    Update(usize),
    Insert,
}

/// Bindings by AOR plus an expiry index, so `expire` and `next_timeout` never scan the table.
#[derive(Debug, Default)]
pub struct Registrar {
    config: RegistrarConfig,
    aors: HashMap<Arc<str>, Vec<Binding>>,
    timers: BTreeMap<(Instant, u64), Arc<str>>,
    next_id: u64,
    count: usize,
}

impl Registrar {
    pub fn new(config: RegistrarConfig) -> Self {
        Registrar {
            config,
            ..Registrar::default()
        }
    }

    pub fn config(&self) -> &RegistrarConfig {
        &self.config
    }

    /// Applies a REGISTER atomically: either every contact is applied or none is.
    pub fn register(
        &mut self,
        req: RegisterRequest<'_>,
        now: Instant,
    ) -> Result<RegisterReply, RegisterError> {
        let transport = Transport::parse(req.transport)
            .ok_or_else(|| RegisterError::BadTransport(req.transport.to_owned()))?;
        if req.aor.is_empty() {
            return Err(RegisterError::EmptyAor);
        }
        let cfg = &self.config;
        // RFC 3261 §20.19: a malformed Expires counts as the default interval.
        let header_expires = req
            .expires
            .map(|v| parse_delta_seconds(v).unwrap_or(cfg.default_expires));

        let mut wanted: Vec<Wanted<'_>> = Vec::new();
        let mut wildcards = 0usize;
        for value in req.contacts {
            for entry in parse_contacts(value) {
                let contact = match entry? {
                    ContactEntry::Wildcard => {
                        wildcards += 1;
                        continue;
                    }
                    ContactEntry::Contact(c) => c,
                };
                if !contact.is_sip() {
                    return Err(ContactError::UnsupportedScheme.into());
                }
                // A request can never legitimately name more contacts than an AOR may hold;
                // stopping here also bounds the duplicate checks below.
                if wanted.len() >= cfg.max_contacts_per_aor {
                    return Err(RegisterError::TooManyContacts {
                        max: cfg.max_contacts_per_aor,
                    });
                }
                let q = contact.q()?.and_then(QValue::from_thousandths);
                let expires = match contact.expires() {
                    Some(ExpiresParam::Seconds(s)) => s,
                    Some(ExpiresParam::Malformed) => cfg.default_expires,
                    None => header_expires.unwrap_or(cfg.default_expires),
                };
                wanted.push(Wanted {
                    uri: contact.uri(),
                    params: contact.raw_params(),
                    q,
                    expires,
                });
            }
        }

        if wildcards > 0 {
            if wildcards > 1 || !wanted.is_empty() || header_expires != Some(0) {
                return Err(RegisterError::BadWildcard);
            }
            self.remove_all(req.aor, req.call_id, req.cseq);
            return Ok(self.reply(req.aor, now));
        }

        for w in &mut wanted {
            if w.expires != 0 && w.expires < cfg.min_expires {
                return Err(RegisterError::IntervalTooBrief {
                    min: cfg.min_expires,
                });
            }
            w.expires = w.expires.min(cfg.max_expires);
        }

        // Dry run: the outcome must fit max_contacts_per_aor before anything changes.
        let existing: &[Binding] = self.aors.get(req.aor).map_or(&[], Vec::as_slice);
        let live_before = existing.iter().filter(|b| b.is_live(now)).count();
        let mut live = live_before;
        for (k, w) in wanted.iter().enumerate() {
            match decide(existing, &wanted[..k], w, &req, now) {
                Action::Skip => {}
                Action::Remove(i) => live -= usize::from(existing[i].is_live(now)),
                Action::Update(i) => live += usize::from(!existing[i].is_live(now)),
                Action::Insert => live += 1,
            }
        }
        // Only growth is refused, so an AOR over a lowered limit can still refresh and shrink.
        if live > cfg.max_contacts_per_aor && live > live_before {
            return Err(RegisterError::TooManyContacts {
                max: cfg.max_contacts_per_aor,
            });
        }

        for k in 0..wanted.len() {
            self.apply(&wanted, k, &req, transport, now);
        }
        Ok(self.reply(req.aor, now))
    }

    fn apply(
        &mut self,
        wanted: &[Wanted<'_>],
        k: usize,
        req: &RegisterRequest<'_>,
        transport: Transport,
        now: Instant,
    ) {
        let w = &wanted[k];
        let existing: &[Binding] = self.aors.get(req.aor).map_or(&[], Vec::as_slice);
        let action = decide(existing, &wanted[..k], w, req, now);
        let expires_at = now + Duration::from_secs(u64::from(w.expires));
        match action {
            Action::Skip => {}
            Action::Remove(i) => {
                self.remove_at(req.aor, i);
            }
            Action::Update(i) => {
                let Some(bindings) = self.aors.get_mut(req.aor) else {
                    return;
                };
                let b = &mut bindings[i];
                let old_key = (b.expires_at, b.id);
                b.expires_at = expires_at;
                b.updated_at = now;
                b.q = w.q;
                replace(&mut b.params, w.params);
                replace(&mut b.call_id, req.call_id);
                b.cseq = req.cseq;
                b.source = req.source;
                b.transport = transport;
                match (&mut b.user_agent, req.user_agent) {
                    (Some(old), Some(new)) => replace(old, new),
                    (slot, new) => *slot = new.map(str::to_owned),
                }
                if let Some(aor) = self.timers.remove(&old_key) {
                    self.timers.insert((expires_at, old_key.1), aor);
                }
            }
            Action::Insert => {
                let key = match self.aors.get_key_value(req.aor) {
                    Some((key, _)) => Arc::clone(key),
                    None => {
                        let key: Arc<str> = Arc::from(req.aor);
                        self.aors.insert(Arc::clone(&key), Vec::with_capacity(2));
                        key
                    }
                };
                let id = self.next_id;
                self.next_id += 1;
                let binding = Binding {
                    id,
                    uri: w.uri.to_owned(),
                    params: w.params.to_owned(),
                    q: w.q,
                    expires_at,
                    updated_at: now,
                    call_id: req.call_id.to_owned(),
                    cseq: req.cseq,
                    source: req.source,
                    transport,
                    user_agent: req.user_agent.map(str::to_owned),
                };
                if let Some(bindings) = self.aors.get_mut(req.aor) {
                    bindings.push(binding);
                    self.timers.insert((expires_at, id), key);
                    self.count += 1;
                }
            }
        }
    }

    /// `Contact: *` with `Expires: 0`: removes every binding except those the same Call-ID
    /// already refreshed with a CSeq at least as high (§10.3 step 6).
    fn remove_all(&mut self, aor: &str, call_id: &str, cseq: u32) {
        let mut i = 0;
        while let Some(b) = self.aors.get(aor).and_then(|v| v.get(i)) {
            if b.call_id == call_id && cseq <= b.cseq {
                i += 1;
            } else {
                self.remove_at(aor, i);
            }
        }
    }

    fn remove_at(&mut self, aor: &str, i: usize) -> Option<Binding> {
        let bindings = self.aors.get_mut(aor)?;
        let b = bindings.swap_remove(i);
        if bindings.is_empty() {
            self.aors.remove(aor);
        }
        self.timers.remove(&(b.expires_at, b.id));
        self.count -= 1;
        Some(b)
    }

    fn reply(&self, aor: &str, now: Instant) -> RegisterReply {
        RegisterReply {
            bindings: self
                .lookup(aor, now)
                .into_iter()
                .map(|b| b.view(now))
                .collect(),
        }
    }

    /// Live bindings of `aor`, highest q first, then most recently refreshed first.
    pub fn lookup(&self, aor: &str, now: Instant) -> Vec<&Binding> {
        let mut out: Vec<&Binding> = self
            .aors
            .get(aor)
            .map(|v| v.iter().filter(|b| b.is_live(now)).collect())
            .unwrap_or_default();
        out.sort_by(|a, b| {
            b.sort_weight()
                .cmp(&a.sort_weight())
                .then(b.updated_at.cmp(&a.updated_at))
        });
        out
    }

    /// Removes and returns the bindings whose time is up (`expires_at <= now`).
    pub fn expire(&mut self, now: Instant) -> Vec<(String, Binding)> {
        let mut out = Vec::new();
        while let Some(entry) = self.timers.first_entry() {
            if entry.key().0 > now {
                break;
            }
            let ((_, id), aor) = entry.remove_entry();
            let Some(bindings) = self.aors.get_mut(&*aor) else {
                continue;
            };
            let Some(pos) = bindings.iter().position(|b| b.id == id) else {
                continue;
            };
            let b = bindings.swap_remove(pos);
            if bindings.is_empty() {
                self.aors.remove(&*aor);
            }
            self.count -= 1;
            out.push((aor.to_string(), b));
        }
        out
    }

    /// When the earliest binding expires: the shell's next `expire` call need not come sooner.
    pub fn next_timeout(&self) -> Option<Instant> {
        self.timers.first_key_value().map(|((at, _), _)| *at)
    }

    /// AORs holding at least one binding (live, or expired but not yet collected by `expire`).
    pub fn aors(&self) -> impl Iterator<Item = &str> {
        self.aors.keys().map(|k| &**k)
    }

    /// Every stored binding with its AOR, for snapshots.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Binding)> {
        self.aors
            .iter()
            .flat_map(|(aor, v)| v.iter().map(move |b| (&**aor, b)))
    }

    /// Number of stored bindings.
    pub fn len(&self) -> usize {
        self.count
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }
}

fn decide(
    existing: &[Binding],
    earlier: &[Wanted<'_>],
    w: &Wanted<'_>,
    req: &RegisterRequest<'_>,
    now: Instant,
) -> Action {
    // The first mention of a URI in a request wins; later ones carry the same Call-ID and CSeq.
    if earlier.iter().any(|e| uri_eq(e.uri, w.uri)) {
        return Action::Skip;
    }
    match existing.iter().position(|b| uri_eq(&b.uri, w.uri)) {
        Some(i) => {
            let b = &existing[i];
            if b.is_live(now) && b.call_id == req.call_id && req.cseq <= b.cseq {
                Action::Skip
            } else if w.expires == 0 {
                Action::Remove(i)
            } else {
                Action::Update(i)
            }
        }
        None if w.expires == 0 => Action::Skip,
        None => Action::Insert,
    }
}

fn replace(slot: &mut String, new: &str) {
    if slot != new {
        slot.clear();
        slot.push_str(new);
    }
}

/// URI equality for binding identity, a subset of RFC 3261 §19.1.4 that covers phones refreshing
/// their own Contact: scheme and host compare without case, everything else exactly.
pub(crate) fn uri_eq(a: &str, b: &str) -> bool {
    fn split(u: &str) -> (&str, &str, &str, &str) {
        let (scheme, rest) = u.split_once(':').unwrap_or(("", u));
        let end = rest.find([';', '?']).unwrap_or(rest.len());
        let (addr, tail) = rest.split_at(end);
        let (user, host) = match addr.rfind('@') {
            Some(at) => (&addr[..at], &addr[at + 1..]),
            None => ("", addr),
        };
        (scheme, user, host, tail)
    }
    let (sa, ua, ha, ta) = split(a);
    let (sb, ub, hb, tb) = split(b);
    sa.eq_ignore_ascii_case(sb) && ua == ub && ha.eq_ignore_ascii_case(hb) && ta == tb
}

#[cfg(test)]
mod tests {
    use super::uri_eq;

    #[test]
    fn uri_identity() {
        assert!(uri_eq("sip:1001@10.0.0.5:5060", "SIP:1001@10.0.0.5:5060"));
        assert!(uri_eq(
            "sip:1001@Phone.Example.com",
            "sip:1001@phone.example.com"
        ));
        assert!(!uri_eq("sip:Alice@h", "sip:alice@h"));
        assert!(!uri_eq("sip:1001@h;transport=tcp", "sip:1001@h"));
        assert!(!uri_eq("sip:%00@h", "sip:%00%00@h"));
        assert!(!uri_eq("sip:1001@h", "sips:1001@h"));
    }
}
