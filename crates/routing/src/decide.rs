//! Where an incoming request goes: the registrar, our own UAS, a registered user's phones, the
//! hotline entry point, or nowhere (with the RFC's answer).

/// What the dialed user part resolves to, as the shell's lookup tables say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetKind {
    /// 12345 or a line of `config/hotlines.toml`: the hotline entry point (B2BUA).
    Hotline,
    /// A configured agent (whether or not registered right now).
    Agent { registered: bool },
    /// Nothing we serve.
    Unknown,
}

/// The facts of a request that routing needs, extracted by the shell.
#[derive(Debug, Clone, Copy)]
pub struct RequestFacts<'a> {
    pub method: &'a str,
    /// User part of the Request-URI (None for `sip:host`).
    pub ruri_user: Option<&'a str>,
    /// The Request-URI's host is one of ours (our domain or a listening address).
    pub ruri_is_local: bool,
    /// Route headers remain after removing our own (loose routing, RFC 3261 §16.4).
    pub has_foreign_route: bool,
    /// The top Route header was ours (removed by the shell).
    pub routed_via_us: bool,
    /// The To header has a tag: an in-dialog request.
    pub in_dialog: bool,
    pub max_forwards: Option<u32>,
}

/// The lookups routing may make.
pub trait RoutingContext {
    fn target(&self, user: &str) -> TargetKind;
}

/// The decision for one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Answer as the registrar.
    Register,
    /// Answer an OPTIONS ourselves (a keep-alive or capability query, §11.2).
    Options,
    /// Forward along the route set / to the Request-URI (loose routing; in-dialog requests of
    /// proxied calls).
    LooseRoute,
    /// An in-dialog request addressed to our own B2BUA dialogs.
    LocalDialog,
    /// Proxy to the registered contacts of this user.
    ProxyToUser(String),
    /// Enter the hotline (B2BUA) for this dialed number.
    Hotline(String),
    /// Answer with this status.
    Reply { status: u16, reason: &'static str },
}

/// Decide what to do with a request that passed the wire screen.
pub fn decide(f: &RequestFacts<'_>, ctx: &impl RoutingContext) -> Decision {
    let for_us_as_uas = f.ruri_is_local && (f.ruri_user.is_none() || f.method == "REGISTER");
    let served_here = for_us_as_uas && !f.has_foreign_route;
    if f.max_forwards == Some(0) && !served_here {
        // §16.3 item 2: a proxy must not forward a request with no hops left. Requests for our own
        // UAS (an OPTIONS ping to sip:host) are still answered (RFC 4475 zeromf).
        return if f.method == "OPTIONS" && f.ruri_is_local && !f.has_foreign_route {
            Decision::Options
        } else {
            Decision::Reply {
                status: 483,
                reason: "Too Many Hops",
            }
        };
    }
    if f.has_foreign_route || !f.ruri_is_local {
        // Strict-route-free loose routing: someone else's Route remains, or the Request-URI is a
        // phone's contact (mid-dialog requests of a proxied call carry the far phone's Contact).
        if f.in_dialog || f.routed_via_us || f.method == "ACK" {
            return Decision::LooseRoute;
        }
        // Out-of-dialog requests for foreign domains: we are not an open relay.
        return Decision::Reply {
            status: 404,
            reason: "Not Found (not our domain)",
        };
    }
    if f.in_dialog {
        return if f.routed_via_us {
            Decision::LooseRoute
        } else {
            Decision::LocalDialog
        };
    }
    match f.method {
        "REGISTER" => return Decision::Register,
        "OPTIONS" if f.ruri_user.is_none() => return Decision::Options,
        "ACK" | "CANCEL" => {
            // An ACK or CANCEL matching no transaction: dropped by the stack before us; reaching here
            // means a stray one, for which §17.2.3 / §9.2 leave nothing to send for ACK.
            return Decision::Reply {
                status: 481,
                reason: "Call/Transaction Does Not Exist",
            };
        }
        _ => {}
    }
    let Some(user) = f.ruri_user else {
        return Decision::Reply {
            status: 404,
            reason: "Not Found",
        };
    };
    match ctx.target(user) {
        TargetKind::Hotline if f.method == "INVITE" => Decision::Hotline(user.to_string()),
        TargetKind::Hotline => Decision::Options,
        TargetKind::Agent { registered: true } => Decision::ProxyToUser(user.to_string()),
        TargetKind::Agent { registered: false } => Decision::Reply {
            status: 480,
            reason: "Temporarily Unavailable",
        },
        TargetKind::Unknown if f.method == "OPTIONS" => Decision::Options,
        TargetKind::Unknown => Decision::Reply {
            status: 404,
            reason: "Not Found",
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Ctx;
    impl RoutingContext for Ctx {
        fn target(&self, user: &str) -> TargetKind {
            match user {
                "12345" | "12369" => TargetKind::Hotline,
                "1001" => TargetKind::Agent { registered: true },
                "1002" => TargetKind::Agent { registered: false },
                _ => TargetKind::Unknown,
            }
        }
    }

    fn invite(user: &'static str) -> RequestFacts<'static> {
        RequestFacts {
            method: "INVITE",
            ruri_user: Some(user),
            ruri_is_local: true,
            has_foreign_route: false,
            routed_via_us: false,
            in_dialog: false,
            max_forwards: Some(70),
        }
    }

    #[test]
    fn initial_invites() {
        assert_eq!(
            decide(&invite("12345"), &Ctx),
            Decision::Hotline("12345".into())
        );
        assert_eq!(
            decide(&invite("12369"), &Ctx),
            Decision::Hotline("12369".into())
        );
        assert_eq!(
            decide(&invite("1001"), &Ctx),
            Decision::ProxyToUser("1001".into())
        );
        assert_eq!(
            decide(&invite("1002"), &Ctx),
            Decision::Reply {
                status: 480,
                reason: "Temporarily Unavailable"
            }
        );
        assert_eq!(
            decide(&invite("999"), &Ctx),
            Decision::Reply {
                status: 404,
                reason: "Not Found"
            }
        );
    }

    #[test]
    fn max_forwards_zero() {
        let f = RequestFacts {
            max_forwards: Some(0),
            ..invite("1001")
        };
        assert_eq!(
            decide(&f, &Ctx),
            Decision::Reply {
                status: 483,
                reason: "Too Many Hops"
            }
        );
        let ping = RequestFacts {
            method: "OPTIONS",
            ruri_user: None,
            max_forwards: Some(0),
            ..invite("x")
        };
        assert_eq!(decide(&ping, &Ctx), Decision::Options);
    }

    #[test]
    fn in_dialog_requests() {
        let bye_proxied = RequestFacts {
            method: "BYE",
            in_dialog: true,
            routed_via_us: true,
            ..invite("1001")
        };
        assert_eq!(decide(&bye_proxied, &Ctx), Decision::LooseRoute);
        let bye_b2bua = RequestFacts {
            method: "BYE",
            in_dialog: true,
            ruri_user: None,
            ..invite("x")
        };
        assert_eq!(decide(&bye_b2bua, &Ctx), Decision::LocalDialog);
        let ack_to_phone = RequestFacts {
            method: "ACK",
            in_dialog: true,
            ruri_is_local: false,
            routed_via_us: true,
            ..invite("1001")
        };
        assert_eq!(decide(&ack_to_phone, &Ctx), Decision::LooseRoute);
    }

    #[test]
    fn registrar_and_options_and_relay() {
        let reg = RequestFacts {
            method: "REGISTER",
            ruri_user: None,
            ..invite("x")
        };
        assert_eq!(decide(&reg, &Ctx), Decision::Register);
        let opt = RequestFacts {
            method: "OPTIONS",
            ruri_user: None,
            ..invite("x")
        };
        assert_eq!(decide(&opt, &Ctx), Decision::Options);
        let relay = RequestFacts {
            ruri_is_local: false,
            ..invite("1001")
        };
        assert_eq!(
            decide(&relay, &Ctx),
            Decision::Reply {
                status: 404,
                reason: "Not Found (not our domain)"
            }
        );
    }
}
