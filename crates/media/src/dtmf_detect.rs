//! In-band DTMF detection on 8 kHz linear PCM (callers without RFC 4733, or behind gateways that
//! leave the tones in the audio).
//!
//! Every [`HOP`] samples the last [`WINDOW`] samples are analysed with the Goertzel algorithm at
//! the eight ITU-T Q.23 frequencies. A window counts as a key when, as in ITU-T Q.24 style
//! receivers:
//! - the strongest row tone and the strongest column tone are each at least [`MIN_TONE_DBM0`];
//! - the twist is within limits: the column tone at most 8 dB weaker (normal twist) or 4 dB
//!   stronger (reverse twist) than the row tone;
//! - each of the two stands 8 dB above the other tones of its group;
//! - the two tones carry at least [`MIN_TONE_SHARE`] of the window's energy (speech and music
//!   spread theirs over many frequencies).
//!
//! A key is reported after [`ON_WINDOWS`] consecutive windows agree on it. Any tone of 38 ms or
//! more holds that many whole windows, whatever its alignment, so 40 ms tones always count.
//! Windows that straddle a tone's edge can count too, so shorter bursts may: measured over every
//! alignment at -10 dBm0, bursts of 25 ms and less never count and from 33 ms on always do
//! (Q.24 leaves such a band to the receiver). A key is reported once; the same key is reported
//! again only after [`OFF_WINDOWS`] consecutive windows without it, which any pause of 25 ms or
//! more gives (Q.24 asks for 40 ms) and a dropout of 10 ms never does.

use crate::digit::{COL_HZ, Digit, ROW_HZ};

/// Sampling rate of the input.
pub const SAMPLE_RATE_HZ: f32 = 8000.0;
/// Analysis window: 12.75 ms, which resolves the 73 Hz spacing of the row tones.
pub const WINDOW: usize = 102;
/// Samples between two analysed windows (a third of a window).
pub const HOP: usize = 34;
/// Consecutive agreeing windows before a key is reported.
pub const ON_WINDOWS: u32 = 6;
/// Consecutive windows without the key before it may be reported again.
pub const OFF_WINDOWS: u32 = 6;
/// Weakest tone accepted, per frequency.
pub const MIN_TONE_DBM0: f32 = -30.0;
/// Share of the window's energy the two tones must carry.
pub const MIN_TONE_SHARE: f32 = 0.7;

/// Peak amplitude of a 0 dBm0 sine in 16-bit linear PCM: G.711 µ-law full scale (8159 in 14-bit
/// units, 32636 in 16-bit) is +3.17 dBm0.
const DBM0_REFERENCE_AMPLITUDE: f32 = 32636.0 / 1.440_3;
/// 8 dB as a power ratio.
const NORMAL_TWIST: f32 = 6.31;
/// 4 dB as a power ratio.
const REVERSE_TWIST: f32 = 2.51;
/// 8 dB as a power ratio.
const RELATIVE_PEAK: f32 = 6.31;

/// Streaming DTMF detector for one audio direction.
#[derive(Debug, Clone)]
pub struct DtmfDetector {
    coefficients: [f32; 8],
    min_tone_power: f32,
    ring: [f32; WINDOW],
    next: usize,
    filled: usize,
    since_window: usize,
    candidate: Option<Digit>,
    candidate_windows: u32,
    active: Option<Digit>,
    absent_windows: u32,
}

impl Default for DtmfDetector {
    fn default() -> Self {
        Self::new()
    }
}

impl DtmfDetector {
    #[must_use]
    pub fn new() -> Self {
        let mut coefficients = [0.0; 8];
        for (c, f) in coefficients
            .iter_mut()
            .zip(ROW_HZ.iter().chain(COL_HZ.iter()))
        {
            *c = 2.0 * (std::f32::consts::TAU * f / SAMPLE_RATE_HZ).cos();
        }
        let min_amplitude = DBM0_REFERENCE_AMPLITUDE * 10f32.powf(MIN_TONE_DBM0 / 20.0);
        Self {
            coefficients,
            min_tone_power: min_amplitude * min_amplitude / 2.0,
            ring: [0.0; WINDOW],
            next: 0,
            filled: 0,
            since_window: 0,
            candidate: None,
            candidate_windows: 0,
            active: None,
            absent_windows: 0,
        }
    }

    /// Feeds samples (any chunk size) and returns the keys whose press completed acceptance
    /// within them, in order.
    pub fn push(&mut self, samples: &[i16]) -> Vec<Digit> {
        let mut digits = Vec::new();
        for &s in samples {
            self.ring[self.next] = f32::from(s);
            self.next = (self.next + 1) % WINDOW;
            self.filled = (self.filled + 1).min(WINDOW);
            self.since_window += 1;
            if self.filled == WINDOW && self.since_window >= HOP {
                self.since_window = 0;
                let seen = self.classify_window();
                if let Some(d) = self.track(seen) {
                    digits.push(d);
                }
            }
        }
        digits
    }

    /// Forgets all audio and state, as for a new call.
    pub fn reset(&mut self) {
        *self = Self::new();
    }

    /// Applies the duration rules to one window's verdict.
    fn track(&mut self, seen: Option<Digit>) -> Option<Digit> {
        if seen == self.candidate {
            self.candidate_windows = self.candidate_windows.saturating_add(1);
        } else {
            self.candidate = seen;
            self.candidate_windows = 1;
        }
        if let Some(active) = self.active {
            if seen == Some(active) {
                self.absent_windows = 0;
            } else {
                self.absent_windows += 1;
                if self.absent_windows >= OFF_WINDOWS {
                    self.active = None;
                }
            }
        }
        match (self.active, self.candidate) {
            (None, Some(d)) if self.candidate_windows >= ON_WINDOWS => {
                self.active = Some(d);
                self.absent_windows = 0;
                Some(d)
            }
            _ => None,
        }
    }

    /// The key the current window holds, if it passes the level, twist, peak and energy tests.
    fn classify_window(&self) -> Option<Digit> {
        let mut s1 = [0.0f32; 8];
        let mut s2 = [0.0f32; 8];
        let mut energy = 0.0f32;
        for i in 0..WINDOW {
            let x = self.ring[(self.next + i) % WINDOW];
            energy += x * x;
            for k in 0..8 {
                let s0 = x + self.coefficients[k] * s1[k] - s2[k];
                s2[k] = s1[k];
                s1[k] = s0;
            }
        }
        if energy <= 0.0 {
            return None;
        }
        // |X(f)|² of a sine of amplitude A at f is (A·N/2)²; scale to the tone's mean power A²/2
        // so that it compares with the window's mean power.
        let scale = 2.0 / (WINDOW * WINDOW) as f32;
        let mut power = [0.0f32; 8];
        for k in 0..8 {
            power[k] =
                (s1[k] * s1[k] + s2[k] * s2[k] - self.coefficients[k] * s1[k] * s2[k]) * scale;
        }
        let (rows, cols) = power.split_at(4);
        let row = strongest(rows)?;
        let col = strongest(cols)?;
        let (row_power, col_power) = (rows[row], cols[col]);
        let mean_power = energy / WINDOW as f32;

        let loud_enough = row_power >= self.min_tone_power && col_power >= self.min_tone_power;
        let twist_ok =
            row_power <= col_power * NORMAL_TWIST && col_power <= row_power * REVERSE_TWIST;
        let peaks_ok = stands_out(rows, row) && stands_out(cols, col);
        let share_ok = row_power + col_power >= MIN_TONE_SHARE * mean_power;
        if loud_enough && twist_ok && peaks_ok && share_ok {
            Digit::at_keypad_position(row, col)
        } else {
            None
        }
    }
}

fn strongest(powers: &[f32]) -> Option<usize> {
    powers
        .iter()
        .enumerate()
        .max_by(|a, b| a.1.total_cmp(b.1))
        .map(|(i, _)| i)
}

fn stands_out(powers: &[f32], peak: usize) -> bool {
    powers
        .iter()
        .enumerate()
        .all(|(i, &p)| i == peak || p * RELATIVE_PEAK <= powers[peak])
}
