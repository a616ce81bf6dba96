//! Receiver-side statistics for one incoming SSRC (RFC 3550 Appendix A.1, A.3, A.8): the
//! numbers that go into the report block we send back about the peer's stream.
//!
//! The sequence logic is A.1's `update_seq` transcribed: a source is valid after
//! [`MIN_SEQUENTIAL`] packets in sequence, gaps below [`MAX_DROPOUT`] advance the highest
//! sequence number (a wrap bumps the cycle count), packets up to [`MAX_MISORDER`] behind are
//! late but counted, and anything else is a jump that is ignored unless the very next packet
//! follows it, in which case the sender is taken to have restarted and counting starts over.
//! On top of A.1, a 128-packet window tells duplicates apart from late packets so the caller
//! can drop them; they still count as received, as RFC 3550 §6.4.1 says (which is why the
//! cumulative loss can go negative).
//!
//! Time: `arrival_us` is microseconds on any monotonic clock of the caller's, the same clock
//! for packets and sender reports. Jitter converts it to the media clock given to
//! [`ReceiverStats::new`], so jitter comes out in RTP timestamp units as the report needs.

use crate::rtcp::ReportBlock;

/// Packets in sequence before a new source is believed (A.1).
pub const MIN_SEQUENTIAL: u16 = 2;
/// Largest forward gap still taken as loss rather than a jump (A.1; 60 s of 20 ms packets).
pub const MAX_DROPOUT: u16 = 3000;
/// How far behind the highest sequence number a packet may arrive and still count (A.1).
pub const MAX_MISORDER: u16 = 100;

const SEQ_MOD: u32 = 1 << 16;
/// Packets remembered for duplicate detection; must exceed MAX_MISORDER.
const WINDOW: u16 = 128;
const LOST_MAX: i64 = 0x7f_ffff;
const LOST_MIN: i64 = -0x80_0000;

/// What [`ReceiverStats::on_packet`] made of a packet. Only `Accepted` and `Reordered`
/// packets are new media worth playing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PacketVerdict {
    /// In sequence, or ahead after a gap the statistics count as loss.
    Accepted,
    /// Behind the highest sequence number (by at most [`MAX_MISORDER`]) and not seen before.
    Reordered,
    /// A copy of a packet already received. Counted as received per RFC 3550.
    Duplicate,
    /// The source is not validated yet; the packet is not counted.
    Probation,
    /// A jump too large to be loss or reordering; ignored unless the next packet follows it.
    Jumped,
    /// The packet after a jump followed it: the sender restarted, counting starts again here.
    Resync,
}

/// Statistics for one remote SSRC.
#[derive(Debug, Clone)]
pub struct ReceiverStats {
    clock_rate: u32,
    started: bool,
    probation: u16,
    max_seq: u16,
    /// Sequence number wraps since the base.
    cycles: u32,
    base_seq: u16,
    /// The sequence number that would confirm a jump (A.1's bad_seq; none until a jump).
    bad_seq: Option<u16>,
    received: u64,
    expected_prior: u64,
    received_prior: u64,
    duplicates: u64,
    /// Bit k set: max_seq − k was received.
    window: u128,
    /// Previous packet's arrival minus RTP timestamp, in timestamp units (A.8).
    transit: Option<u32>,
    /// Jitter × 16, as A.8 keeps it to avoid losing the fraction.
    jitter_q4: u64,
    /// LSR and the arrival time of the last SR from this source.
    last_sr: Option<(u32, u64)>,
}

impl ReceiverStats {
    /// `clock_rate` is the payload's RTP clock in Hz (8000 for G.711). A rate of 0 (which only a
    /// broken SDP produces) is not rejected: arrivals then all convert to 0 and jitter measures
    /// the timestamps alone, which is wrong but harmless.
    pub fn new(clock_rate: u32) -> Self {
        Self {
            clock_rate,
            started: false,
            probation: MIN_SEQUENTIAL,
            max_seq: 0,
            cycles: 0,
            base_seq: 0,
            bad_seq: None,
            received: 0,
            expected_prior: 0,
            received_prior: 0,
            duplicates: 0,
            window: 0,
            transit: None,
            jitter_q4: 0,
            last_sr: None,
        }
    }

    /// Accounts one RTP packet of this SSRC.
    pub fn on_packet(&mut self, seq: u16, rtp_ts: u32, arrival_us: u64) -> PacketVerdict {
        if !self.started {
            // A.1: a new source starts on probation with max_seq just before its first packet.
            self.started = true;
            self.init_seq(seq);
            self.max_seq = seq.wrapping_sub(1);
            self.probation = MIN_SEQUENTIAL;
        }
        if self.probation > 0 {
            if seq == self.max_seq.wrapping_add(1) {
                self.probation -= 1;
                self.max_seq = seq;
                if self.probation == 0 {
                    self.init_seq(seq);
                    self.count(rtp_ts, arrival_us);
                    return PacketVerdict::Accepted;
                }
            } else {
                self.probation = MIN_SEQUENTIAL - 1;
                self.max_seq = seq;
            }
            return PacketVerdict::Probation;
        }

        let udelta = seq.wrapping_sub(self.max_seq);
        let verdict = if udelta < MAX_DROPOUT {
            if udelta == 0 {
                PacketVerdict::Duplicate
            } else {
                if seq < self.max_seq {
                    self.cycles = self.cycles.wrapping_add(1);
                }
                self.max_seq = seq;
                self.window = if udelta >= WINDOW {
                    0
                } else {
                    self.window << udelta
                };
                self.window |= 1;
                PacketVerdict::Accepted
            }
        } else if u32::from(udelta) <= SEQ_MOD - u32::from(MAX_MISORDER) {
            if self.bad_seq == Some(seq) {
                // Two sequential packets after a jump: the other side restarted without
                // telling us (A.1). The old transit would turn the timestamp jump into jitter.
                self.init_seq(seq);
                self.transit = None;
                PacketVerdict::Resync
            } else {
                self.bad_seq = Some(seq.wrapping_add(1));
                return PacketVerdict::Jumped;
            }
        } else {
            // Late by max_seq − seq, which is below MAX_MISORDER < WINDOW here.
            let bit = 1u128 << self.max_seq.wrapping_sub(seq);
            if self.window & bit != 0 {
                PacketVerdict::Duplicate
            } else {
                self.window |= bit;
                PacketVerdict::Reordered
            }
        };
        if verdict == PacketVerdict::Duplicate {
            self.duplicates += 1;
        }
        self.count(rtp_ts, arrival_us);
        verdict
    }

    /// Records an SR from this source: the middle 32 bits of its NTP timestamp
    /// ([`crate::rtcp::ntp_middle32`]) and when it arrived, for LSR/DLSR.
    pub fn on_sender_report(&mut self, ntp_middle32: u32, arrival_us: u64) {
        self.last_sr = Some((ntp_middle32, arrival_us));
    }

    /// The report block about this source for a report sent at `now_us`, and the start of a
    /// new interval for the fraction lost (A.3). `None` while the source is not validated:
    /// there is nothing to report about a source we do not believe in yet.
    pub fn report_block(&mut self, ssrc: u32, now_us: u64) -> Option<ReportBlock> {
        if !self.is_valid() {
            return None;
        }
        let expected = self.expected();
        let expected_interval = expected.saturating_sub(self.expected_prior);
        let received_interval = self.received.saturating_sub(self.received_prior);
        self.expected_prior = expected;
        self.received_prior = self.received;
        // Negative when duplicates outnumber losses in the interval: that reports as 0.
        let lost_interval = i128::from(expected_interval) - i128::from(received_interval);
        let fraction_lost = if expected_interval == 0 || lost_interval <= 0 {
            0
        } else {
            // lost_interval ≤ expected_interval, and equality needs an interval with no packet
            // received, which cannot advance expected; clamp anyway rather than wrap to 0.
            ((lost_interval << 8) / i128::from(expected_interval)).min(255) as u8
        };
        let (last_sr, delay_since_last_sr) = match self.last_sr {
            Some((lsr, at)) => {
                let elapsed = u128::from(now_us.saturating_sub(at));
                let dlsr = (elapsed << 16) / 1_000_000;
                (lsr, u32::try_from(dlsr).unwrap_or(u32::MAX))
            }
            None => (0, 0),
        };
        Some(ReportBlock {
            ssrc,
            fraction_lost,
            cumulative_lost: self.cumulative_lost(),
            extended_highest_seq: self.extended_highest_seq(),
            jitter: self.jitter(),
            last_sr,
            delay_since_last_sr,
        })
    }

    /// Whether the source has passed probation.
    pub fn is_valid(&self) -> bool {
        self.started && self.probation == 0
    }

    /// Wrap count in the high 16 bits, highest sequence number in the low 16 (A.3's
    /// extended_max, modulo 2^32 as the report field is).
    pub fn extended_highest_seq(&self) -> u32 {
        (self.cycles << 16) | u32::from(self.max_seq)
    }

    /// Sequence number wraps since counting (re)started.
    pub fn cycles(&self) -> u32 {
        self.cycles
    }

    /// Packets counted as received, duplicates and late ones included.
    pub fn received(&self) -> u64 {
        self.received
    }

    /// Packets expected from the base to the highest sequence number (A.3).
    pub fn expected(&self) -> u64 {
        if !self.is_valid() {
            return 0;
        }
        // max_seq only moves forward from base_seq (late packets leave it alone), so this is
        // at least 1.
        (u64::from(self.cycles) << 16) + u64::from(self.max_seq) + 1 - u64::from(self.base_seq)
    }

    /// Expected minus received, clamped to the 24-bit signed range of the report field.
    pub fn cumulative_lost(&self) -> i32 {
        let lost = i128::from(self.expected()) - i128::from(self.received);
        // The clamp bounds make the narrowing exact.
        lost.clamp(i128::from(LOST_MIN), i128::from(LOST_MAX)) as i32
    }

    /// Duplicates seen (included in [`Self::received`]).
    pub fn duplicates(&self) -> u64 {
        self.duplicates
    }

    /// Interarrival jitter in RTP timestamp units (A.8).
    pub fn jitter(&self) -> u32 {
        u32::try_from(self.jitter_q4 >> 4).unwrap_or(u32::MAX)
    }

    fn init_seq(&mut self, seq: u16) {
        self.base_seq = seq;
        self.max_seq = seq;
        self.bad_seq = None;
        self.cycles = 0;
        self.received = 0;
        self.received_prior = 0;
        self.expected_prior = 0;
        self.window = 1;
    }

    /// Counts a valid packet and feeds the jitter estimate (A.8), which RFC 3550 §6.4.1 runs
    /// on packets in order of arrival, not of sequence.
    fn count(&mut self, rtp_ts: u32, arrival_us: u64) {
        self.received += 1;
        let arrival = self.to_media_clock(arrival_us);
        let transit = arrival.wrapping_sub(rtp_ts);
        if let Some(prev) = self.transit {
            // Both clocks wrap at 2^32, so the difference is read as a signed 32-bit value.
            let d = u64::from((transit.wrapping_sub(prev) as i32).unsigned_abs());
            // J += (|D| − J) / 16 on J × 16, rounded: A.8's integer form. Cannot underflow:
            // (J16 + 8) >> 4 never exceeds J16.
            self.jitter_q4 = self.jitter_q4 + d - ((self.jitter_q4 + 8) >> 4);
        }
        self.transit = Some(transit);
    }

    /// Arrival in RTP timestamp units, modulo 2^32 like the timestamps it is compared with.
    fn to_media_clock(&self, arrival_us: u64) -> u32 {
        (u128::from(arrival_us) * u128::from(self.clock_rate) / 1_000_000) as u32
    }
}
