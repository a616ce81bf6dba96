//! Sans-IO SIP registrar: digest authentication (RFC 8760), nonces, bindings with expiry.
//!
//! Nothing here reads the clock or touches the network: callers pass `now` and header values in.

mod auth_header;
mod authenticator;
mod credentials;
mod digest;
mod hmac;
mod nonce;

pub use authenticator::{AuthConfig, AuthOutcome, Authenticator};
pub use credentials::{Credentials, CredentialsError, UserCreds};
pub use digest::{Algorithm, QopAuth, ha1, response};
