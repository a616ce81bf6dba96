//! Async SIP shell on rsipstack (the only crate that names it): transports, proxy, B2BUA, registrar glue
