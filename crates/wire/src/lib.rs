//! Sans-IO screening of raw SIP datagrams (RFC 3261 / RFC 4475 strictness) and stateless responses
