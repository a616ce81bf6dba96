//! Which callers must authenticate before their INVITE is served.

use ipnet::IpNet;
use std::net::IpAddr;

/// When INVITEs need digest credentials (answered 407 without them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InviteAuthPolicy {
    /// Never challenge INVITEs (a closed lab network).
    Never,
    /// Challenge callers whose source address is outside the trusted networks.
    Untrusted,
    /// Challenge every INVITE, trusted or not.
    Always,
}

/// The networks whose callers are trusted (the PBX trunk, the lab loopback).
#[derive(Debug, Clone, Default)]
pub struct TrustedNetworks {
    nets: Vec<IpNet>,
}

impl TrustedNetworks {
    pub fn new(nets: Vec<IpNet>) -> Self {
        Self { nets }
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        // IPv4-mapped IPv6 sources come from dual-stack sockets; judge them by their IPv4 form.
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
            v4 => v4,
        };
        self.nets.iter().any(|n| n.contains(&ip))
    }
}

impl InviteAuthPolicy {
    /// Whether an INVITE from `source` must carry valid credentials.
    pub fn requires_auth(self, trusted: &TrustedNetworks, source: IpAddr) -> bool {
        match self {
            InviteAuthPolicy::Never => false,
            InviteAuthPolicy::Always => true,
            InviteAuthPolicy::Untrusted => !trusted.contains(source),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn untrusted_policy_challenges_only_outsiders() {
        let t = TrustedNetworks::new(vec![
            "127.0.0.0/8".parse().unwrap(),
            "10.1.0.0/16".parse().unwrap(),
        ]);
        let p = InviteAuthPolicy::Untrusted;
        assert!(!p.requires_auth(&t, "127.0.0.1".parse().unwrap()));
        assert!(!p.requires_auth(&t, "10.1.2.3".parse().unwrap()));
        assert!(!p.requires_auth(&t, "::ffff:127.0.0.1".parse().unwrap()));
        assert!(p.requires_auth(&t, "10.2.0.1".parse().unwrap()));
        assert!(p.requires_auth(&t, "203.0.113.9".parse().unwrap()));
        assert!(!InviteAuthPolicy::Never.requires_auth(&t, "203.0.113.9".parse().unwrap()));
        assert!(InviteAuthPolicy::Always.requires_auth(&t, "127.0.0.1".parse().unwrap()));
    }
}
