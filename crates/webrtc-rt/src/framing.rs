//! The RTP side of a bridged leg, with no I/O: the browser's frames become our RTP stream
//! towards the call (fixed SSRC, our sequence numbers, the browser's timing), and the call's
//! RTP becomes frames for the browser with a 64-bit running RTP time.
//!
//! The payload is never touched: the leg was negotiated in the call's law (no transcoding).

use hotline_media::rtp_stream::{RtpHeader, RtpPacket};

/// One leg's RTP numbering, both ways.
#[derive(Debug, Clone)]
pub struct Framing {
    pt: u8,
    ssrc: u32,
    seq: u16,
    ts_base: u32,
    sent_any: bool,
    /// The last RTP timestamp from the call and its extended (64-bit) value.
    last_in: Option<(u32, u64)>,
}

/// Where the extended time of the call's stream starts: far from zero, so a packet
/// reordered before the first one still has a time.
const EXT_START: u64 = 1 << 32;

impl Framing {
    /// `pt` is the call's payload type for the negotiated law (0 or 8); `ssrc`, `seq` and
    /// `ts_base` start our stream (random, RFC 3550 §5.1).
    pub fn new(pt: u8, ssrc: u32, seq: u16, ts_base: u32) -> Self {
        Framing {
            pt,
            ssrc,
            seq,
            ts_base,
            sent_any: false,
            last_in: None,
        }
    }

    /// A frame of the browser's audio as an RTP packet for the call: the browser's RTP time
    /// (8 kHz) keeps its spacing, so gaps and talk spurts reach the call as they happened.
    pub fn to_call(&mut self, rtp_time: u64, payload: &[u8], out: &mut Vec<u8>) {
        let header = RtpHeader {
            // The first packet of the stream starts a talk spurt (RFC 3551 §4.1).
            marker: !self.sent_any,
            pt: self.pt,
            seq: self.seq,
            ts: self.ts_base.wrapping_add(rtp_time as u32),
            ssrc: self.ssrc,
        };
        self.sent_any = true;
        self.seq = self.seq.wrapping_add(1);
        out.clear();
        header.write_packet(payload, out);
    }

    /// The call's RTP datagram as audio for the browser: its payload and running RTP time.
    /// Anything that is not audio in our law (RFC 4733 events, comfort noise, RTCP sent to
    /// the RTP port, garbage) is `None`: the browser leg carries G.711 only.
    pub fn from_call<'a>(&mut self, datagram: &'a [u8]) -> Option<(u64, &'a [u8])> {
        let p = RtpPacket::parse(datagram).ok()?;
        if p.header.pt != self.pt || p.payload.is_empty() {
            return None;
        }
        let ts = p.header.ts;
        let ext = match self.last_in {
            None => EXT_START,
            // Serial arithmetic: a step back (reordering) is negative, a wrap forward positive.
            Some((last, last_ext)) => {
                last_ext.wrapping_add_signed(i64::from(ts.wrapping_sub(last) as i32))
            }
        };
        if self.last_in.is_none_or(|(_, e)| ext > e) {
            self.last_in = Some((ts, ext));
        }
        Some((ext, p.payload))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn packet(pt: u8, seq: u16, ts: u32, payload: &[u8]) -> Vec<u8> {
        let mut v = Vec::new();
        RtpHeader {
            marker: false,
            pt,
            seq,
            ts,
            ssrc: 7,
        }
        .write_packet(payload, &mut v);
        v
    }

    #[test]
    fn browser_frames_become_one_numbered_stream_with_the_browsers_spacing() {
        let mut f = Framing::new(8, 0xabcd, 65535, 0xffff_ff00);
        let mut out = Vec::new();
        f.to_call(1000, &[1; 160], &mut out);
        let p = RtpPacket::parse(&out).expect("rtp");
        assert!(p.header.marker);
        assert_eq!(
            (p.header.pt, p.header.seq, p.header.ssrc),
            (8, 65535, 0xabcd)
        );
        assert_eq!(p.header.ts, 0xffff_ff00u32.wrapping_add(1000));
        assert_eq!(p.payload, &[1; 160][..]);
        // 60 ms later (two frames lost in the browser): the time says so; seq wraps.
        f.to_call(1480, &[2; 160], &mut out);
        let p = RtpPacket::parse(&out).expect("rtp");
        assert!(!p.header.marker);
        assert_eq!(p.header.seq, 0);
        assert_eq!(p.header.ts, 0xffff_ff00u32.wrapping_add(1480));
    }

    #[test]
    fn the_calls_time_runs_on_across_the_32_bit_wrap_and_reordering() {
        let mut f = Framing::new(0, 1, 1, 1);
        let (t0, _) = f
            .from_call(&packet(0, 1, u32::MAX - 159, &[0; 160]))
            .expect("a");
        let (t1, _) = f.from_call(&packet(0, 2, 0, &[0; 160])).expect("b");
        assert_eq!(t1 - t0, 160);
        let (t2, _) = f.from_call(&packet(0, 4, 320, &[0; 160])).expect("c");
        // The late one in between gets its own, earlier time.
        let (t3, _) = f.from_call(&packet(0, 3, 160, &[0; 160])).expect("d");
        assert_eq!((t2 - t0, t3 - t0), (480, 320));
        let (t4, _) = f.from_call(&packet(0, 5, 480, &[0; 160])).expect("e");
        assert_eq!(t4 - t0, 640);
    }

    #[test]
    fn only_audio_in_the_law_reaches_the_browser() {
        let mut f = Framing::new(0, 1, 1, 1);
        assert!(
            f.from_call(&packet(101, 1, 0, &[1, 0x80, 0, 160]))
                .is_none()
        );
        assert!(f.from_call(&packet(8, 1, 0, &[0; 160])).is_none());
        assert!(f.from_call(&packet(0, 1, 0, &[])).is_none());
        assert!(f.from_call(b"\x81\xc8 rtcp sender report").is_none());
        assert!(f.from_call(b"junk").is_none());
        assert_eq!(
            f.from_call(&packet(0, 2, 160, &[9; 160]))
                .map(|(_, p)| p.len()),
            Some(160)
        );
    }
}
