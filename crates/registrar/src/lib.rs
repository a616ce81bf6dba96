//! Sans-IO SIP registrar: digest authentication (RFC 8760), nonces, bindings with expiry
