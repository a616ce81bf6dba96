//! Sans-IO SIP registrar: digest authentication (RFC 8760), nonces, bindings with expiry.
//!
//! Nothing here reads the clock or touches the network: callers pass `now` and header values in.

mod auth_header;
mod authenticator;
mod binding;
mod contact;
mod credentials;
mod digest;
mod hmac;
mod lex;
mod nonce;
mod registrar;

pub use authenticator::{AuthConfig, AuthOutcome, Authenticator};
pub use binding::{Binding, BindingView, QValue, Transport};
pub use contact::{
    Contact, ContactEntry, ContactError, ExpiresParam, parse_contacts, parse_delta_seconds,
};
pub use credentials::{Credentials, CredentialsError, UserCreds};
pub use digest::{Algorithm, QopAuth, ha1, response};
pub use registrar::{RegisterError, RegisterReply, RegisterRequest, Registrar, RegistrarConfig};
