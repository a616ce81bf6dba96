//! RTP fixed header (RFC 3550 §5.1) and the one outbound stream a call leg sees.
//!
//! A caller hears the IVR prompt first and the agent later, but both must reach it as one RTP
//! stream: a new SSRC or a jump in sequence numbers makes many phones and SBCs drop audio or
//! reset their jitter buffer. [`OutboundStream`] therefore keeps one SSRC and rewrites every
//! source's sequence numbers and timestamps by a per-source offset, so the caller sees a single
//! source whose timestamps advance with real time across the switch.

/// Length of the fixed header without CSRCs.
pub const HEADER_LEN: usize = 12;

/// Why a datagram is not an RTP packet we can use.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RtpError {
    #[error("RTP packet is {len} octets, its headers need {need}")]
    Short { len: usize, need: usize },
    #[error("RTP version {0}, expected 2")]
    BadVersion(u8),
    #[error("RTP padding count {padding} exceeds the {available} octets after the headers")]
    BadPadding { padding: usize, available: usize },
}

/// The fixed header fields. CSRCs and the header extension are skipped when parsing (a
/// hotline leg has no mixers upstream that it must credit) and never written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RtpHeader {
    pub marker: bool,
    pub pt: u8,
    pub seq: u16,
    pub ts: u32,
    pub ssrc: u32,
}

/// A parsed packet borrowing its payload (padding removed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RtpPacket<'a> {
    pub header: RtpHeader,
    pub csrc_count: u8,
    pub payload: &'a [u8],
}

impl<'a> RtpPacket<'a> {
    pub fn parse(buf: &'a [u8]) -> Result<Self, RtpError> {
        if buf.len() < HEADER_LEN {
            return Err(RtpError::Short {
                len: buf.len(),
                need: HEADER_LEN,
            });
        }
        let version = buf[0] >> 6;
        if version != 2 {
            return Err(RtpError::BadVersion(version));
        }
        let padded = buf[0] & 0x20 != 0;
        let extended = buf[0] & 0x10 != 0;
        let csrc_count = buf[0] & 0x0f;
        let mut offset = HEADER_LEN + 4 * usize::from(csrc_count);
        if extended {
            // profile(16) | length in 32-bit words(16), then the words.
            let need = offset + 4;
            let ext = buf.get(offset..need).ok_or(RtpError::Short {
                len: buf.len(),
                need,
            })?;
            let words = usize::from(u16::from_be_bytes([ext[2], ext[3]]));
            offset = need + 4 * words;
        }
        if buf.len() < offset {
            return Err(RtpError::Short {
                len: buf.len(),
                need: offset,
            });
        }
        let mut end = buf.len();
        if padded {
            let padding = usize::from(buf[end - 1]);
            let available = end - offset;
            if padding == 0 || padding > available {
                return Err(RtpError::BadPadding { padding, available });
            }
            end -= padding;
        }
        Ok(Self {
            header: RtpHeader {
                marker: buf[1] & 0x80 != 0,
                pt: buf[1] & 0x7f,
                seq: u16::from_be_bytes([buf[2], buf[3]]),
                ts: u32::from_be_bytes([buf[4], buf[5], buf[6], buf[7]]),
                ssrc: u32::from_be_bytes([buf[8], buf[9], buf[10], buf[11]]),
            },
            csrc_count,
            payload: &buf[offset..end],
        })
    }
}

impl RtpHeader {
    /// The 12-octet fixed header: version 2, no padding, no extension, no CSRCs.
    pub fn to_bytes(&self) -> [u8; HEADER_LEN] {
        let mut b = [0u8; HEADER_LEN];
        b[0] = 0x80;
        b[1] = (u8::from(self.marker) << 7) | (self.pt & 0x7f);
        b[2..4].copy_from_slice(&self.seq.to_be_bytes());
        b[4..8].copy_from_slice(&self.ts.to_be_bytes());
        b[8..12].copy_from_slice(&self.ssrc.to_be_bytes());
        b
    }

    /// Appends the header and `payload` to `out`.
    pub fn write_packet(&self, payload: &[u8], out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_bytes());
        out.extend_from_slice(payload);
    }
}

/// `a` is after `b` in RFC 1982 serial arithmetic on 16 bits.
fn seq_after(a: u16, b: u16) -> bool {
    a != b && a.wrapping_sub(b) < 0x8000
}

/// Offsets that map the current source's numbering onto ours.
#[derive(Debug, Clone, Copy)]
struct SourceMap {
    seq_offset: u16,
    ts_offset: u32,
}

/// One outbound RTP stream with a fixed SSRC over changing audio sources.
#[derive(Debug, Clone)]
pub struct OutboundStream {
    ssrc: u32,
    /// Highest sequence number sent so far, and the timestamp it carried.
    last: Option<(u16, u32)>,
    /// Where the first packet goes when nothing was sent yet.
    initial: (u16, u32),
    map: Option<SourceMap>,
    /// Samples between the last packet sent and the next source's first packet.
    pending_gap: u32,
}

impl OutboundStream {
    /// `initial_seq` and `initial_ts` should be random (RFC 3550 §5.1); the caller draws them
    /// since this crate has no randomness.
    pub fn new(ssrc: u32, initial_seq: u16, initial_ts: u32) -> Self {
        Self {
            ssrc,
            last: None,
            initial: (initial_seq, initial_ts),
            map: None,
            pending_gap: 0,
        }
    }

    pub fn ssrc(&self) -> u32 {
        self.ssrc
    }

    /// The next packet comes from a new source (prompt → agent, or a peer that restarted its
    /// stream). `elapsed_samples` is the playout time between the last packet sent and the new
    /// source's first packet; it is at least one sample so the receiver sees time move.
    pub fn switch_source(&mut self, elapsed_samples: u32) {
        self.map = None;
        self.pending_gap = elapsed_samples.max(1);
    }

    /// Rewrites one packet of the current source into our stream: our SSRC, continuous
    /// sequence numbers and timestamps, and the marker on the first packet of each source.
    pub fn rewrite(&mut self, src: &RtpHeader) -> RtpHeader {
        let mut marker = src.marker;
        let map = match self.map {
            Some(map) => map,
            None => {
                let (seq, ts) = match self.last {
                    Some((seq, ts)) => (seq.wrapping_add(1), ts.wrapping_add(self.pending_gap)),
                    None => self.initial,
                };
                marker = true;
                let map = SourceMap {
                    seq_offset: seq.wrapping_sub(src.seq),
                    ts_offset: ts.wrapping_sub(src.ts),
                };
                self.map = Some(map);
                map
            }
        };
        let out = RtpHeader {
            marker,
            pt: src.pt,
            seq: src.seq.wrapping_add(map.seq_offset),
            ts: src.ts.wrapping_add(map.ts_offset),
            ssrc: self.ssrc,
        };
        // A reordered source packet must not pull the continuation point backwards.
        if self.last.is_none_or(|(seq, _)| seq_after(out.seq, seq)) {
            self.last = Some((out.seq, out.ts));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hdr(seq: u16, ts: u32) -> RtpHeader {
        RtpHeader {
            marker: false,
            pt: 0,
            seq,
            ts,
            ssrc: 0xdead_beef,
        }
    }

    #[test]
    fn header_round_trip() {
        let h = RtpHeader {
            marker: true,
            pt: 101,
            seq: 0xfffe,
            ts: 0x8000_0001,
            ssrc: 0x1234_5678,
        };
        let mut buf = Vec::new();
        h.write_packet(&[1, 2, 3], &mut buf);
        assert_eq!(
            &buf[..HEADER_LEN],
            &[
                0x80, 0xe5, 0xff, 0xfe, 0x80, 0, 0, 1, 0x12, 0x34, 0x56, 0x78
            ]
        );
        let p = RtpPacket::parse(&buf).unwrap();
        assert_eq!(p.header, h);
        assert_eq!(p.payload, &[1, 2, 3]);
        assert_eq!(p.csrc_count, 0);
    }

    #[test]
    fn csrc_extension_and_padding_are_skipped() {
        let mut buf = hdr(7, 160).to_bytes().to_vec();
        buf[0] = 0x80 | 0x20 | 0x10 | 2; // padding, extension, two CSRCs
        buf.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 2]); // CSRCs
        buf.extend_from_slice(&[0xbe, 0xde, 0, 1, 9, 9, 9, 9]); // one-word extension
        buf.extend_from_slice(&[0xaa, 0xbb]); // payload
        buf.extend_from_slice(&[0, 0, 3]); // three octets of padding
        let p = RtpPacket::parse(&buf).unwrap();
        assert_eq!(p.csrc_count, 2);
        assert_eq!(p.payload, &[0xaa, 0xbb]);
        assert_eq!((p.header.seq, p.header.ts), (7, 160));
    }

    #[test]
    fn short_and_invalid_packets_are_errors() {
        assert_eq!(
            RtpPacket::parse(&[0x80; 11]),
            Err(RtpError::Short { len: 11, need: 12 })
        );
        let mut v1 = hdr(1, 1).to_bytes();
        v1[0] = 0x40;
        assert_eq!(RtpPacket::parse(&v1), Err(RtpError::BadVersion(1)));
        let mut cc = hdr(1, 1).to_bytes();
        cc[0] = 0x81;
        assert_eq!(
            RtpPacket::parse(&cc),
            Err(RtpError::Short { len: 12, need: 16 })
        );
        let mut ext = hdr(1, 1).to_bytes().to_vec();
        ext[0] = 0x90;
        ext.extend_from_slice(&[0, 0]);
        assert_eq!(
            RtpPacket::parse(&ext),
            Err(RtpError::Short { len: 14, need: 16 })
        );
        ext.extend_from_slice(&[0, 2, 0, 0, 0, 0]);
        assert_eq!(
            RtpPacket::parse(&ext),
            Err(RtpError::Short { len: 20, need: 24 })
        );
        let mut pad = hdr(1, 1).to_bytes().to_vec();
        pad[0] = 0xa0;
        pad.extend_from_slice(&[1, 5]);
        assert_eq!(
            RtpPacket::parse(&pad),
            Err(RtpError::BadPadding {
                padding: 5,
                available: 2
            })
        );
        pad[13] = 0;
        assert!(matches!(
            RtpPacket::parse(&pad),
            Err(RtpError::BadPadding { padding: 0, .. })
        ));
    }

    #[test]
    fn one_ssrc_and_continuous_numbering_across_switches() {
        let mut out = OutboundStream::new(42, 1000, 50_000);
        // Prompt source: its own numbering starting anywhere.
        let mut sent = Vec::new();
        for i in 0..3u16 {
            sent.push(out.rewrite(&hdr(10 + i, 8000 + 160 * u32::from(i))));
        }
        // Agent joins 60 ms after the last prompt packet, with its own random numbering.
        out.switch_source(480);
        for i in 0..3u16 {
            sent.push(out.rewrite(&hdr(60_000 + i, 3_000_000 + 160 * u32::from(i))));
        }
        let seqs: Vec<u16> = sent.iter().map(|h| h.seq).collect();
        let tss: Vec<u32> = sent.iter().map(|h| h.ts).collect();
        let marks: Vec<bool> = sent.iter().map(|h| h.marker).collect();
        assert_eq!(seqs, [1000, 1001, 1002, 1003, 1004, 1005]);
        assert_eq!(tss, [50_000, 50_160, 50_320, 50_800, 50_960, 51_120]);
        assert_eq!(marks, [true, false, false, true, false, false]);
        assert!(sent.iter().all(|h| h.ssrc == 42));
    }

    #[test]
    fn numbering_wraps_and_zero_gap_still_moves_time() {
        let mut out = OutboundStream::new(7, 0xfffe, u32::MAX - 159);
        let a = out.rewrite(&hdr(5, 0));
        let b = out.rewrite(&hdr(6, 160));
        out.switch_source(0);
        let c = out.rewrite(&hdr(65_535, 1_000));
        let d = out.rewrite(&hdr(0, 1_160)); // the source wraps too
        assert_eq!([a.seq, b.seq, c.seq, d.seq], [0xfffe, 0xffff, 0, 1]);
        assert_eq!([a.ts, b.ts, c.ts, d.ts], [u32::MAX - 159, 0, 1, 161]);
        assert_eq!(
            [a.marker, b.marker, c.marker, d.marker],
            [true, false, true, false]
        );
    }

    #[test]
    fn reordered_source_packets_keep_their_order_and_do_not_rewind_the_switch_point() {
        let mut out = OutboundStream::new(1, 100, 0);
        out.rewrite(&hdr(1, 0));
        let late = out.rewrite(&hdr(3, 320));
        let early = out.rewrite(&hdr(2, 160));
        assert_eq!((late.seq, early.seq), (102, 101));
        out.switch_source(160);
        let next = out.rewrite(&hdr(900, 9));
        assert_eq!((next.seq, next.ts), (103, 480));
    }

    #[test]
    fn source_marker_is_passed_through() {
        let mut out = OutboundStream::new(1, 0, 0);
        out.rewrite(&hdr(1, 0));
        let mut talkspurt = hdr(2, 800);
        talkspurt.marker = true;
        assert!(out.rewrite(&talkspurt).marker);
    }
}
