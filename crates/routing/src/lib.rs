//! Sans-IO routing decisions for the hotline's SIP front door.
//!
//! Everything here is a pure function of the request's facts and the current configuration: the async
//! shell (`hotline-sip`) extracts the facts from a parsed message, asks for a decision and carries it
//! out. That keeps RFC 3261 §16 proxy rules (Max-Forwards, loop detection, forking and the choice of
//! the best response) testable without sockets or clocks.

pub mod decide;
pub mod fork;
pub mod loops;
pub mod trust;

pub use decide::{Decision, RequestFacts, RoutingContext, TargetKind, decide};
pub use fork::{ForkAction, ForkState, best_final_response};
pub use loops::{LoopInputs, loop_token};
pub use trust::{InviteAuthPolicy, TrustedNetworks};
