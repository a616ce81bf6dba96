//! Configuration: hotline.toml and hotlines.toml, validation with file,
//! line and key.
//!
//! [`load`] layers the embedded defaults (config/hotline.toml), a config
//! file and `HOTLINE_*` environment overrides, checks the result and loads
//! the hotline annex (config/hotlines.toml) it names. Every problem is
//! reported, each as `source:line:column: key: message`.

mod config;
mod deserialize;
mod digest;
mod env;
mod error;
mod hotlines;
mod load;
mod secret;
mod source;
mod tree;

pub use config::{
    Agent, AlertRecipient, Auth, Config, Credentials, Database, DigestAlgorithm, Hotline, Http,
    Insight, InviteAuth, Ivr, Kb, Log, Media, Registrar, Sip, Unit, User, UserPassword, UserRole,
    WorkOrders,
};
pub use digest::{Ha1, ha1, ha1_md5, ha1_sha256};
pub use error::{ConfigError, ConfigErrors, Location};
pub use hotlines::{DEFAULT_TRANSITION_MONTHS, Hotlines, Line, Mode, ModeKind, SipUri};
pub use load::{
    DEFAULT_CONFIG_TOML, DEFAULT_HOTLINES_TOML, EMBEDDED_CONFIG_NAME, EMBEDDED_HOTLINES_NAME,
    Loaded, load,
};
pub use secret::Secret;
