//! Stateless, self-validating nonces: the server keeps nothing per challenge it sends.
//!
//! Layout (32 bytes, 64 lowercase hex characters):
//! `issued_ms: u64 BE | salt: u64 | HMAC-SHA256(secret, issued_ms | salt)[..16]`.
//! `issued_ms` counts milliseconds from an epoch `Instant` fixed at construction, so a nonce issued by
//! a previous process (other secret) fails its tag and is treated as unknown.

use crate::digest::ct_eq;
use crate::hmac::HmacSha256;
use std::time::{Duration, Instant};

const PAYLOAD: usize = 16;
const TAG: usize = 16;
const RAW: usize = PAYLOAD + TAG;
pub(crate) const NONCE_HEX_LEN: usize = RAW * 2;

/// The validated content of one of our nonces. `key` identifies it in the replay table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct NonceInfo {
    pub(crate) key: u128,
    pub(crate) issued: Instant,
}

pub(crate) struct NonceCodec {
    mac: HmacSha256,
    epoch: Instant,
}

impl NonceCodec {
    pub(crate) fn new(secret: &[u8; 32], epoch: Instant) -> Self {
        NonceCodec {
            mac: HmacSha256::new(secret),
            epoch,
        }
    }

    pub(crate) fn issue(&self, now: Instant, salt: u64) -> [u8; NONCE_HEX_LEN] {
        let ms = now.saturating_duration_since(self.epoch).as_millis();
        let ms = u64::try_from(ms).unwrap_or(u64::MAX);
        let mut raw = [0u8; RAW];
        raw[..8].copy_from_slice(&ms.to_be_bytes());
        raw[8..PAYLOAD].copy_from_slice(&salt.to_be_bytes());
        let tag = self.mac.mac(&[&raw[..PAYLOAD]]);
        raw[PAYLOAD..].copy_from_slice(&tag[..TAG]);
        let mut out = [0u8; NONCE_HEX_LEN];
        // `out` is exactly twice the length of `raw`.
        let _ = hex::encode_to_slice(raw, &mut out);
        out
    }

    /// `None` when the nonce was not issued by this codec (wrong length, not hex, bad tag).
    pub(crate) fn open(&self, nonce: &str) -> Option<NonceInfo> {
        if nonce.len() != NONCE_HEX_LEN {
            return None;
        }
        let mut raw = [0u8; RAW];
        hex::decode_to_slice(nonce, &mut raw).ok()?;
        let tag = self.mac.mac(&[&raw[..PAYLOAD]]);
        if !ct_eq(&tag[..TAG], &raw[PAYLOAD..]) {
            return None;
        }
        let mut ms = [0u8; 8];
        ms.copy_from_slice(&raw[..8]);
        let mut key = [0u8; PAYLOAD];
        key.copy_from_slice(&raw[..PAYLOAD]);
        let issued = self
            .epoch
            .checked_add(Duration::from_millis(u64::from_be_bytes(ms)))?;
        Some(NonceInfo {
            key: u128::from_be_bytes(key),
            issued,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_tamper() {
        let epoch = Instant::now();
        let codec = NonceCodec::new(&[7; 32], epoch);
        let now = epoch + Duration::from_millis(1234);
        let n = codec.issue(now, 42);
        let s = std::str::from_utf8(&n).expect("hex is ascii");
        let info = codec.open(s).expect("own nonce opens");
        assert_eq!(info.issued, now);

        let mut bad = n;
        bad[3] = if bad[3] == b'0' { b'1' } else { b'0' };
        assert!(
            codec
                .open(std::str::from_utf8(&bad).expect("ascii"))
                .is_none()
        );

        let other = NonceCodec::new(&[8; 32], epoch);
        assert!(other.open(s).is_none());
        assert!(codec.open("abc").is_none());
        assert!(codec.open(&"z".repeat(NONCE_HEX_LEN)).is_none());
    }
}
