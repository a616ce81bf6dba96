//! Adaptive jitter buffer for decoded 8 kHz audio.
//!
//! Packets are placed by RTP timestamp, not sequence number: for audio the timestamp *is* the
//! position, and it also covers packets of any ptime and senders that pause (DTX). Both clocks
//! are in samples: `ts` is the sender's RTP timestamp and `now` the caller's playout clock,
//! which it advances by [`FRAME_SAMPLES`] per [`JitterBuffer::pop`].
//!
//! Depth adapts between the configured bounds: the target follows the RFC 3550 interarrival
//! jitter estimate, grows one frame on every underrun or late packet and decays one frame per
//! second without one. The buffer (re)starts playing once its first packet has waited `target`,
//! and while playing it drops a frame whenever it holds more than two frames beyond the target,
//! so a burst after a network stall does not leave a permanent delay.

use std::collections::BTreeMap;

/// One 20 ms frame at 8 kHz.
pub const FRAME_SAMPLES: usize = 160;
const FRAME: i64 = FRAME_SAMPLES as i64;
/// Pops without incident before the late/underrun allowance shrinks by one frame (1 s).
const CALM_POPS: u32 = 50;

/// What the playout side gets every 20 ms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// Audio for the frame; samples no packet covered (a partial loss) are zero.
    Audio(Vec<i16>),
    /// Nothing arrived for this frame: conceal or play silence.
    Missing,
}

/// What happened to a pushed packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Push {
    Accepted,
    /// Its frame was already played (or skipped); dropped.
    Late,
    /// A packet with the same timestamp is already buffered; dropped.
    Duplicate,
    /// Empty payload; nothing to place.
    Empty,
}

/// Depth bounds in samples.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JitterConfig {
    pub min_depth: u32,
    pub max_depth: u32,
}

impl Default for JitterConfig {
    /// 20–200 ms: below one frame nothing can be absorbed, above 200 ms a conversation suffers.
    fn default() -> Self {
        Self {
            min_depth: 160,
            max_depth: 1600,
        }
    }
}

/// Counters for call-quality records.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct JitterStats {
    pub late: u64,
    pub duplicate: u64,
    pub missing: u64,
    /// Frames discarded to bring the depth back to the target.
    pub dropped: u64,
    pub underruns: u64,
}

#[derive(Debug, Clone)]
pub struct JitterBuffer {
    config: JitterConfig,
    /// Packets by extended (unwrapped) timestamp.
    packets: BTreeMap<i64, Vec<i16>>,
    /// A raw timestamp and its extended value, to unwrap the next ones against.
    anchor: Option<(u32, i64)>,
    /// Extended timestamp of the next frame to play; `None` while (re)buffering.
    cursor: Option<i64>,
    /// Everything before this has been played or skipped.
    played_until: Option<i64>,
    /// Playout time at which the first packet of the current buffering phase arrived.
    waiting_since: Option<u32>,
    last_transit: Option<i32>,
    /// RFC 3550 interarrival jitter, in samples scaled by 16.
    jitter_q4: u32,
    /// Extra depth earned by underruns and late packets, in samples.
    allowance: u32,
    calm_pops: u32,
    stats: JitterStats,
}

impl JitterBuffer {
    pub fn new(config: JitterConfig) -> Self {
        let max_depth = config.max_depth.max(config.min_depth);
        Self {
            config: JitterConfig {
                min_depth: config.min_depth,
                max_depth,
            },
            packets: BTreeMap::new(),
            anchor: None,
            cursor: None,
            played_until: None,
            waiting_since: None,
            last_transit: None,
            jitter_q4: 0,
            allowance: 0,
            calm_pops: 0,
            stats: JitterStats::default(),
        }
    }

    pub fn stats(&self) -> JitterStats {
        self.stats
    }

    /// Interarrival jitter estimate in samples.
    pub fn jitter(&self) -> u32 {
        self.jitter_q4 >> 4
    }

    /// Depth the buffer currently aims for, in samples (whole frames, within the bounds).
    pub fn target_depth(&self) -> u32 {
        let from_jitter = self
            .jitter()
            .saturating_mul(3)
            .saturating_add(self.allowance);
        let frames = from_jitter.div_ceil(FRAME_SAMPLES as u32);
        frames
            .saturating_mul(FRAME_SAMPLES as u32)
            .clamp(self.config.min_depth, self.config.max_depth)
    }

    fn extend(&mut self, ts: u32) -> i64 {
        let ext = match self.anchor {
            // Serial arithmetic: within 2^31 samples (3 days) of the anchor either way.
            Some((raw, ext)) => ext + i64::from(ts.wrapping_sub(raw) as i32),
            None => i64::from(ts),
        };
        self.anchor = Some((ts, ext));
        ext
    }

    fn grow_allowance(&mut self) {
        self.allowance = (self.allowance + FRAME_SAMPLES as u32).min(self.config.max_depth);
        self.calm_pops = 0;
    }

    /// Adds one packet of decoded samples that arrived at playout time `now`.
    pub fn push(&mut self, now: u32, ts: u32, samples: Vec<i16>) -> Push {
        if samples.is_empty() {
            return Push::Empty;
        }
        let ext = self.extend(ts);
        // A packet far from where playout is belongs to a new timeline (the sender resumed
        // after DTX or restarted its stream): its transit time says nothing about the network,
        // and once the old timeline has drained, earlier timestamps must not make it late.
        let far = self
            .played_until
            .is_some_and(|p| (ext - p).abs() > i64::from(self.config.max_depth));
        if far {
            self.last_transit = None;
            if self.packets.is_empty() {
                self.played_until = None;
            }
        }

        let transit = now.wrapping_sub(ts) as i32;
        if let Some(last) = self.last_transit {
            let d = transit.wrapping_sub(last).unsigned_abs();
            // RFC 3550 A.8: J += (|D| - J) / 16, kept scaled by 16.
            self.jitter_q4 = self
                .jitter_q4
                .saturating_add(d)
                .saturating_sub((self.jitter_q4 + 8) >> 4);
        }
        self.last_transit = Some(transit);

        if self.played_until.is_some_and(|p| ext < p) {
            self.stats.late += 1;
            if !far {
                self.grow_allowance();
            }
            return Push::Late;
        }
        if self.packets.contains_key(&ext) {
            self.stats.duplicate += 1;
            return Push::Duplicate;
        }
        self.packets.insert(ext, samples);
        if self.cursor.is_none() && self.waiting_since.is_none() {
            self.waiting_since = Some(now);
        }
        // Memory bound: a sender far ahead of playout cannot make us hoard.
        let cap = 4 * (self.config.max_depth as usize / FRAME_SAMPLES + 1);
        while self.packets.len() > cap {
            self.packets.pop_first();
        }
        Push::Accepted
    }

    /// Buffered audio from the cursor to the end of the newest packet, in samples.
    fn occupancy(&self, cursor: i64) -> i64 {
        self.packets
            .last_key_value()
            .map_or(0, |(ts, s)| (ts + s.len() as i64 - cursor).max(0))
    }

    /// Copies the samples of `[start, start + FRAME)` out of the packets, removing packets that
    /// end inside it. Returns how many samples were covered.
    fn take_frame(&mut self, start: i64, out: &mut [i16]) -> usize {
        let end = start + FRAME;
        let mut covered = 0;
        let mut done = Vec::new();
        for (&ts, samples) in self.packets.range(..end) {
            let pkt_end = ts + samples.len() as i64;
            let from = ts.max(start);
            let to = pkt_end.min(end);
            if from < to {
                // Both offsets are within the slices by construction of from/to.
                let src = &samples[(from - ts) as usize..(to - ts) as usize];
                out[(from - start) as usize..(to - start) as usize].copy_from_slice(src);
                covered += src.len();
            }
            if pkt_end <= end {
                done.push(ts);
            }
        }
        for ts in done {
            self.packets.remove(&ts);
        }
        covered
    }

    /// The frame to play at playout time `now` (call once per 20 ms).
    pub fn pop(&mut self, now: u32) -> Frame {
        let target = self.target_depth();
        let cursor = match self.cursor {
            Some(c) => c,
            None => {
                // Still buffering: not a loss, so not counted as one.
                let Some(since) = self.waiting_since else {
                    return Frame::Missing;
                };
                if now.wrapping_sub(since) < target {
                    return Frame::Missing;
                }
                let Some(&first) = self.packets.keys().next() else {
                    return Frame::Missing;
                };
                self.waiting_since = None;
                self.played_until.map_or(first, |p| p.max(first))
            }
        };
        if self.packets.is_empty() {
            // Underrun: wait for `target` again rather than racing the next packet.
            self.cursor = None;
            self.played_until = Some(cursor);
            self.stats.underruns += 1;
            self.grow_allowance();
            return self.missing();
        }

        let mut cursor = cursor;
        // A timestamp jump either way (sender restarted, or resumed after DTX without us
        // stalling): play from the new timeline instead of walking to it frame by frame.
        if let Some(&first) = self.packets.keys().next()
            && (first - cursor).abs() > i64::from(self.config.max_depth)
        {
            cursor = first;
        }
        if self.occupancy(cursor) > i64::from(target) + 2 * FRAME {
            let mut discard = [0i16; FRAME_SAMPLES];
            self.take_frame(cursor, &mut discard);
            cursor += FRAME;
            self.stats.dropped += 1;
        }

        self.calm_pops += 1;
        if self.calm_pops >= CALM_POPS {
            self.calm_pops = 0;
            self.allowance = self.allowance.saturating_sub(FRAME_SAMPLES as u32);
        }

        let mut frame = vec![0i16; FRAME_SAMPLES];
        let covered = self.take_frame(cursor, &mut frame);
        self.cursor = Some(cursor + FRAME);
        self.played_until = Some(cursor + FRAME);
        if covered == 0 {
            self.missing()
        } else {
            Frame::Audio(frame)
        }
    }

    fn missing(&mut self) -> Frame {
        self.stats.missing += 1;
        Frame::Missing
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pkt(k: u32) -> Vec<i16> {
        vec![k as i16; FRAME_SAMPLES]
    }

    /// The packet number a frame carries, or `None` for a missing frame.
    fn id(frame: &Frame) -> Option<i16> {
        match frame {
            Frame::Audio(s) => Some(s[0]),
            Frame::Missing => None,
        }
    }

    /// Runs ticks of 20 ms: at tick `t` the packets listed for `t` arrive, then one frame is
    /// popped. Packet `k` carries timestamp `base + 160 k` and samples equal to `k`.
    fn run(jb: &mut JitterBuffer, base: u32, arrivals: &[&[u32]]) -> Vec<Option<i16>> {
        let mut out = Vec::new();
        for (t, ks) in arrivals.iter().enumerate() {
            let now = (t as u32) * 160;
            for &k in *ks {
                jb.push(now, base.wrapping_add(160 * k), pkt(k));
            }
            out.push(id(&jb.pop(now)));
        }
        out
    }

    #[test]
    fn in_order_stream_plays_after_one_frame_of_buffering() {
        let mut jb = JitterBuffer::new(JitterConfig::default());
        let out = run(&mut jb, 1000, &[&[0], &[1], &[2], &[3], &[4]]);
        assert_eq!(out, [None, Some(0), Some(1), Some(2), Some(3)]);
        assert_eq!(jb.stats(), JitterStats::default());
        assert_eq!(jb.target_depth(), 160);
    }

    #[test]
    fn reordered_packets_play_in_timestamp_order() {
        let mut jb = JitterBuffer::new(JitterConfig::default());
        let out = run(&mut jb, 0, &[&[0], &[1], &[3], &[2], &[4], &[5], &[], &[]]);
        assert_eq!(
            out,
            [
                None,
                Some(0),
                Some(1),
                Some(2),
                Some(3),
                Some(4),
                Some(5),
                None
            ]
        );
        assert_eq!(jb.stats().late, 0);
        assert!(jb.jitter() > 0);
    }

    #[test]
    fn lost_packet_becomes_one_missing_frame() {
        let mut jb = JitterBuffer::new(JitterConfig::default());
        // Packet 3 is never sent.
        let out = run(&mut jb, 0, &[&[0], &[1], &[2], &[], &[4], &[5]]);
        assert_eq!(out, [None, Some(0), Some(1), Some(2), None, Some(4)]);
        let s = jb.stats();
        assert_eq!((s.missing, s.underruns, s.late), (1, 0, 0));
    }

    #[test]
    fn duplicates_and_late_packets_are_dropped() {
        let mut jb = JitterBuffer::new(JitterConfig::default());
        assert_eq!(jb.push(0, 0, pkt(0)), Push::Accepted);
        assert_eq!(jb.push(0, 0, pkt(0)), Push::Duplicate);
        assert_eq!(jb.push(0, 0, Vec::new()), Push::Empty);
        assert_eq!(jb.push(160, 160, pkt(1)), Push::Accepted);
        assert_eq!(id(&jb.pop(160)), Some(0));
        assert_eq!(id(&jb.pop(320)), Some(1));
        assert_eq!(jb.push(330, 0, pkt(0)), Push::Late);
        let s = jb.stats();
        assert_eq!((s.duplicate, s.late), (1, 1));
        // A late packet is evidence the depth is too small.
        assert_eq!(jb.target_depth(), 320);
    }

    #[test]
    fn timestamp_wraparound_is_continuous() {
        let mut jb = JitterBuffer::new(JitterConfig::default());
        let base = u32::MAX - 2 * 160 + 1;
        let out = run(&mut jb, base, &[&[0], &[1], &[2], &[3], &[4], &[5]]);
        assert_eq!(out, [None, Some(0), Some(1), Some(2), Some(3), Some(4)]);
        assert_eq!(jb.stats().late, 0);
    }

    #[test]
    fn burst_after_stall_rebuffers_then_sheds_excess_depth() {
        let mut jb = JitterBuffer::new(JitterConfig::default());
        // Packets 3..=8 are held up 100 ms by the network and arrive together.
        let mut arrivals: Vec<&[u32]> = vec![&[0], &[1], &[2], &[], &[], &[], &[], &[]];
        arrivals.push(&[3, 4, 5, 6, 7, 8]);
        let later: Vec<[u32; 1]> = (9..40).map(|k| [k]).collect();
        arrivals.extend(later.iter().map(|a| a.as_slice()));
        let out = run(&mut jb, 0, &arrivals);
        let played: Vec<i16> = out.iter().flatten().copied().collect();
        assert!(played.windows(2).all(|w| w[0] < w[1]), "{played:?}");
        assert_eq!(&played[..3], &[0, 1, 2]);
        let s = jb.stats();
        assert_eq!(s.late, 0);
        assert!(s.underruns >= 1);
        assert!(s.dropped >= 1, "{s:?}");
        // Once settled the delay is back within two frames of the target.
        let cursor = jb.cursor.unwrap();
        assert!(jb.occupancy(cursor) <= i64::from(jb.target_depth()) + 2 * FRAME);
        assert!(jb.target_depth() <= JitterConfig::default().max_depth);
    }

    #[test]
    fn depth_adapts_within_bounds_and_decays() {
        let config = JitterConfig {
            min_depth: 160,
            max_depth: 800,
        };
        let mut jb = JitterBuffer::new(config);
        // Arrival delay alternating 0 and 300 ms: far more than the maximum depth absorbs.
        for k in 0..200u32 {
            let delay = if k % 2 == 0 { 0 } else { 2400 };
            jb.push(k * 160 + delay, k * 160, pkt(k));
            jb.pop(k * 160);
        }
        assert_eq!(jb.target_depth(), 800);
        // Then a perfectly regular stream: the estimate decays back to the minimum.
        for k in 200..2000u32 {
            jb.push(k * 160, k * 160, pkt(k));
            jb.pop(k * 160);
        }
        assert_eq!(jb.target_depth(), 160);
    }

    #[test]
    fn sender_restart_with_lower_timestamps_is_followed() {
        let mut jb = JitterBuffer::new(JitterConfig::default());
        let out = run(&mut jb, 1_000_000, &[&[0], &[1], &[2]]);
        assert_eq!(out, [None, Some(0), Some(1)]);
        // The peer restarts its stream with timestamps far below the old ones.
        let mut played = Vec::new();
        for t in 3..10u32 {
            let k = t + 10;
            jb.push(t * 160, 160 * k, pkt(k));
            played.push(id(&jb.pop(t * 160)));
        }
        let audio: Vec<i16> = played.iter().flatten().copied().collect();
        assert_eq!(audio.first(), Some(&2));
        assert!(
            audio.len() >= 3 && audio[1..].windows(2).all(|w| w[1] == w[0] + 1),
            "{played:?}"
        );
    }

    #[test]
    fn short_packets_are_assembled_and_partial_loss_zero_filled() {
        let mut jb = JitterBuffer::new(JitterConfig::default());
        // 10 ms packets; the second half of the second frame is lost.
        jb.push(0, 0, vec![1; 80]);
        jb.push(80, 80, vec![2; 80]);
        assert_eq!(jb.pop(80), Frame::Missing);
        jb.push(160, 160, vec![3; 80]);
        jb.push(320, 320, vec![5; 80]);
        let first = jb.pop(160);
        let mut expect = vec![1; 80];
        expect.extend([2; 80]);
        assert_eq!(first, Frame::Audio(expect));
        let mut expect = vec![3; 80];
        expect.extend([0; 80]);
        assert_eq!(jb.pop(320), Frame::Audio(expect));
    }

    #[test]
    fn resumes_at_new_timestamps_after_a_pause() {
        let mut jb = JitterBuffer::new(JitterConfig::default());
        let out = run(&mut jb, 0, &[&[0], &[1], &[2]]);
        assert_eq!(out, [None, Some(0), Some(1)]);
        // The sender stops for two seconds (DTX) and resumes 16000 samples later.
        for t in 3..103u32 {
            assert_eq!(id(&jb.pop(t * 160)), if t == 3 { Some(2) } else { None });
        }
        let mut played = Vec::new();
        for t in 103..110u32 {
            let k = t - 3 + 100;
            jb.push(t * 160, 160 * k, pkt(k));
            played.push(id(&jb.pop(t * 160)));
        }
        let audio: Vec<i16> = played.iter().flatten().copied().collect();
        assert!(played.iter().take(3).any(Option::is_some), "{played:?}");
        assert!(audio.windows(2).all(|w| w[1] == w[0] + 1), "{audio:?}");
        assert_eq!(jb.stats().late, 0);
    }
}
