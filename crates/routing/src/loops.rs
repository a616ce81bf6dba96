//! Loop detection by branch token (RFC 3261 §16.3 item 4 and §16.6 item 8).
//!
//! Each branch we create carries a token hashed from the fields that decide where a request goes. A
//! request arriving with one of our own Vias whose token equals the token computed for it now has come
//! back unchanged: a loop (482). A different token is a spiral (the request was re-targeted), which is
//! legal and forwarded.

/// The request fields that a loop token covers.
#[derive(Debug, Clone, Copy)]
pub struct LoopInputs<'a> {
    pub request_uri: &'a str,
    pub call_id: &'a str,
    pub from_tag: &'a str,
    pub to_tag: &'a str,
    pub cseq: u32,
    pub route: &'a str,
    pub proxy_require: &'a str,
}

/// A 16-hex-digit token (FNV-1a 64): not cryptographic, it only has to tell requests apart.
pub fn loop_token(i: &LoopInputs<'_>) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut feed = |bytes: &[u8]| {
        for b in bytes.iter().chain(std::iter::once(&0u8)) {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
    };
    feed(i.request_uri.as_bytes());
    feed(i.call_id.as_bytes());
    feed(i.from_tag.as_bytes());
    feed(i.to_tag.as_bytes());
    feed(&i.cseq.to_be_bytes());
    feed(i.route.as_bytes());
    feed(i.proxy_require.as_bytes());
    format!("{h:016x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> LoopInputs<'static> {
        LoopInputs {
            request_uri: "sip:1001@127.0.0.1",
            call_id: "abc",
            from_tag: "f1",
            to_tag: "",
            cseq: 1,
            route: "",
            proxy_require: "",
        }
    }

    #[test]
    fn same_request_same_token_retargeted_request_differs() {
        let a = loop_token(&base());
        assert_eq!(a, loop_token(&base()));
        assert_eq!(a.len(), 16);
        let retargeted = LoopInputs {
            request_uri: "sip:1001@10.0.0.5:5062",
            ..base()
        };
        assert_ne!(a, loop_token(&retargeted));
        let other_call = LoopInputs {
            call_id: "abd",
            ..base()
        };
        assert_ne!(a, loop_token(&other_call));
    }
}
