//! Bounds on what a datagram may hold before it is refused.

/// Sizes and extensions the screen enforces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Datagrams longer than this are refused (513 when a response can be built, else dropped).
    pub max_datagram: usize,
    /// Longest header section (start line through the empty line) accepted.
    pub max_header_bytes: usize,
    /// Most header fields accepted (a folded field counts once).
    pub max_headers: usize,
    /// Option tags this element supports; any other tag in Proxy-Require is answered 420.
    /// Compared case-insensitively (option tags are tokens, RFC 3261 §7.3.1).
    pub supported_extensions: Vec<String>,
}

impl Default for Limits {
    /// The UDP maximum for datagrams. The header bounds leave room for RFC 4475 `longreq`
    /// (3.4 KB, 47 fields) several times over while keeping a hostile datagram's parse cheap.
    /// No extensions by default: the shell lists the ones it really implements.
    fn default() -> Self {
        Limits {
            max_datagram: 65_535,
            max_header_bytes: 16_384,
            max_headers: 128,
            supported_extensions: Vec::new(),
        }
    }
}
