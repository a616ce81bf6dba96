//! In-band DTMF detection on synthesized 8 kHz audio: every key at several levels, in noise,
//! through G.711, with twist and frequency offsets; speech-like signals and short bursts that
//! must not count; repeats that must count twice.

use hotline_media::Digit;
use hotline_media::dtmf_detect::{DtmfDetector, HOP};
use hotline_media::g711::{alaw_to_linear, linear_to_alaw, linear_to_ulaw, ulaw_to_linear};
use std::f64::consts::TAU;

const RATE: f64 = 8000.0;
/// Peak amplitude of a 0 dBm0 sine: µ-law full scale (32636) is +3.17 dBm0 (G.711).
const DBM0_AMPLITUDE: f64 = 32636.0 / 1.4403;

fn amplitude(dbm0: f64) -> f64 {
    DBM0_AMPLITUDE * 10f64.powf(dbm0 / 20.0)
}

fn samples(ms: f64) -> usize {
    (ms * RATE / 1000.0).round() as usize
}

/// A sum of sines (frequency Hz, level dBm0) lasting `ms`.
fn tones(parts: &[(f64, f64)], ms: f64) -> Vec<f64> {
    (0..samples(ms))
        .map(|n| {
            parts
                .iter()
                .map(|&(f, db)| amplitude(db) * (TAU * f * n as f64 / RATE).sin())
                .sum()
        })
        .collect()
}

fn key(digit: Digit, dbm0: f64, ms: f64) -> Vec<f64> {
    let (lo, hi) = digit.frequencies();
    tones(&[(f64::from(lo), dbm0), (f64::from(hi), dbm0)], ms)
}

fn silence(ms: f64) -> Vec<f64> {
    vec![0.0; samples(ms)]
}

fn pcm(signal: &[f64]) -> Vec<i16> {
    signal
        .iter()
        .map(|&x| x.round().clamp(-32768.0, 32767.0) as i16)
        .collect()
}

fn concat(parts: &[Vec<f64>]) -> Vec<f64> {
    parts.concat()
}

fn detect(signal: &[f64]) -> String {
    detect_pcm(&pcm(signal))
}

fn detect_pcm(pcm: &[i16]) -> String {
    DtmfDetector::new()
        .push(pcm)
        .iter()
        .map(|d| d.as_char())
        .collect()
}

/// xorshift64*: a tiny deterministic noise source.
struct Prng(u64);

impl Prng {
    fn uniform(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Approximately Gaussian, unit variance (Irwin-Hall with 12 terms).
    fn gaussian(&mut self) -> f64 {
        (0..12).map(|_| self.uniform()).sum::<f64>() - 6.0
    }
}

fn add_noise(signal: &mut [f64], rms: f64, seed: u64) {
    let mut rng = Prng(seed);
    for x in signal {
        *x += rms * rng.gaussian();
    }
}

#[test]
fn every_key_at_several_levels() {
    for digit in Digit::ALL {
        for level in [-3.0, -10.0, -20.0, -28.0] {
            let signal = concat(&[silence(30.0), key(digit, level, 100.0), silence(100.0)]);
            assert_eq!(
                detect(&signal),
                digit.to_string(),
                "{digit} at {level} dBm0"
            );
        }
    }
}

#[test]
fn tones_below_the_level_floor_are_ignored() {
    for digit in Digit::ALL {
        let signal = concat(&[key(digit, -40.0, 200.0), silence(50.0)]);
        assert_eq!(detect(&signal), "", "{digit} at -40 dBm0");
    }
}

#[test]
fn every_key_in_white_noise() {
    // Noise 15 dB below the two tones together (each tone at -15 dBm0).
    let tone_power = 2.0 * amplitude(-15.0).powi(2) / 2.0;
    let noise_rms = (tone_power / 10f64.powf(1.5)).sqrt();
    for (i, digit) in Digit::ALL.into_iter().enumerate() {
        let mut signal = concat(&[silence(60.0), key(digit, -15.0, 80.0), silence(80.0)]);
        add_noise(&mut signal, noise_rms, 0x9E37_79B9 + i as u64);
        assert_eq!(detect(&signal), digit.to_string(), "{digit} in noise");
    }
}

#[test]
fn loud_noise_alone_is_not_a_key() {
    let mut signal = silence(3000.0);
    add_noise(&mut signal, amplitude(-10.0), 7);
    assert_eq!(detect(&signal), "");
}

#[test]
fn twist_limits() {
    let (lo, hi) = Digit::D5.frequencies();
    let (lo, hi) = (f64::from(lo), f64::from(hi));
    let with = |low_db: f64, high_db: f64| {
        detect(&concat(&[
            tones(&[(lo, low_db), (hi, high_db)], 120.0),
            silence(60.0),
        ]))
    };
    // Normal twist (high group weaker) up to 8 dB, reverse twist up to 4 dB.
    assert_eq!(with(-10.0, -16.0), "5", "6 dB normal twist");
    assert_eq!(with(-10.0, -7.0), "5", "3 dB reverse twist");
    assert_eq!(with(-10.0, -20.0), "", "10 dB normal twist");
    assert_eq!(with(-10.0, -4.0), "", "6 dB reverse twist");
}

#[test]
fn frequency_offsets_of_one_and_a_half_percent_are_accepted() {
    for digit in Digit::ALL {
        let (lo, hi) = digit.frequencies();
        for factor in [0.985, 1.015] {
            let signal = concat(&[
                tones(
                    &[
                        (f64::from(lo) * factor, -10.0),
                        (f64::from(hi) * factor, -10.0),
                    ],
                    100.0,
                ),
                silence(60.0),
            ]);
            assert_eq!(detect(&signal), digit.to_string(), "{digit} × {factor}");
        }
    }
}

#[test]
fn a_single_tone_is_not_a_key() {
    for f in [697.0, 770.0, 852.0, 941.0, 1209.0, 1336.0, 1477.0, 1633.0] {
        assert_eq!(detect(&tones(&[(f, -5.0)], 500.0)), "", "{f} Hz alone");
    }
}

/// A voiced sound: harmonics of a (possibly gliding) pitch up to 3.4 kHz, falling 6 dB per
/// octave, under two formant peaks.
fn vowel(pitch_from: f64, pitch_to: f64, ms: f64, formants: (f64, f64)) -> Vec<f64> {
    let n = samples(ms);
    let mut phase = 0.0f64;
    (0..n)
        .map(|i| {
            let pitch = pitch_from + (pitch_to - pitch_from) * i as f64 / n as f64;
            phase += TAU * pitch / RATE;
            let mut x = 0.0;
            let mut k = 1.0;
            while k * pitch < 3400.0 {
                let f = k * pitch;
                let formant = 1.0
                    + 2.0 / (1.0 + ((f - formants.0) / 150.0).powi(2))
                    + 1.5 / (1.0 + ((f - formants.1) / 200.0).powi(2));
                x += formant / k * (k * phase).sin();
                k += 1.0;
            }
            x * amplitude(-18.0)
        })
        .collect()
}

#[test]
fn speech_like_signals_do_not_talk_off() {
    let signals = [
        // Pitch 697/3 Hz puts harmonics on 697 Hz and within 0.5 % of 1633 Hz.
        vowel(697.0 / 3.0, 697.0 / 3.0, 2000.0, (700.0, 1600.0)),
        vowel(100.0, 250.0, 2000.0, (800.0, 1200.0)),
        vowel(220.0, 140.0, 2000.0, (300.0, 2300.0)),
        vowel(120.0, 120.0, 2000.0, (950.0, 1350.0)),
        // Chords away from the DTMF grid.
        tones(&[(400.0, -8.0), (1000.0, -8.0), (2200.0, -8.0)], 2000.0),
        tones(
            &[
                (550.0, -6.0),
                (1100.0, -9.0),
                (1850.0, -9.0),
                (2600.0, -12.0),
            ],
            2000.0,
        ),
        tones(&[(350.0, -10.0), (440.0, -10.0)], 2000.0),
        tones(&[(480.0, -10.0), (620.0, -10.0)], 2000.0),
    ];
    for (i, s) in signals.iter().enumerate() {
        assert_eq!(detect(s), "", "signal {i}");
        let mut noisy = s.clone();
        add_noise(&mut noisy, amplitude(-30.0), i as u64 + 1);
        assert_eq!(detect(&noisy), "", "signal {i} with noise");
    }
}

#[test]
fn a_voice_whose_harmonics_sit_on_a_key_is_not_that_key() {
    // Harmonics 3 and 7 of a 232 Hz voice land on 697 Hz and 1626 Hz (key A, 0.4 % off), with
    // the stronger fundamental and second harmonic elsewhere: only the other-energy check
    // tells it from a key.
    let pitch = 697.0 / 3.0;
    let voice = tones(
        &[
            (pitch, -6.0),
            (2.0 * pitch, -8.0),
            (3.0 * pitch, -12.0),
            (7.0 * pitch, -12.0),
        ],
        1000.0,
    );
    assert_eq!(detect(&voice), "");
    // The same two tones without the rest are key A.
    let bare = tones(&[(3.0 * pitch, -12.0), (7.0 * pitch, -12.0)], 100.0);
    assert_eq!(detect(&bare), "A");
}

#[test]
fn two_tones_of_one_group_are_not_a_key() {
    // A second tone 4 dB under the first in the same group: neither stands out by 8 dB.
    let rows = tones(&[(697.0, -10.0), (770.0, -14.0), (1209.0, -10.0)], 300.0);
    assert_eq!(detect(&rows), "");
    let cols = tones(&[(852.0, -10.0), (1336.0, -10.0), (1477.0, -14.0)], 300.0);
    assert_eq!(detect(&cols), "");
    // 10 dB under is clear enough.
    let rows = tones(&[(697.0, -10.0), (770.0, -20.0), (1209.0, -10.0)], 300.0);
    assert_eq!(detect(&rows), "1");
}

#[test]
fn a_key_survives_speech_before_and_after_it() {
    let signal = concat(&[
        vowel(120.0, 180.0, 300.0, (700.0, 1200.0)),
        silence(20.0),
        key(Digit::D8, -8.0, 90.0),
        silence(20.0),
        vowel(180.0, 110.0, 300.0, (500.0, 1500.0)),
    ]);
    assert_eq!(detect(&signal), "8");
}

/// Runs `signal` after every possible phase against the analysis windows.
fn at_every_alignment(signal: &[f64]) -> Vec<String> {
    (0..HOP)
        .map(|offset| detect(&concat(&[vec![0.0; offset], signal.to_vec()])))
        .collect()
}

#[test]
fn bursts_of_25_ms_or_less_never_count() {
    for digit in Digit::ALL {
        for ms in [10.0, 20.0, 25.0] {
            let burst = concat(&[key(digit, -6.0, ms), silence(100.0)]);
            for (offset, got) in at_every_alignment(&burst).iter().enumerate() {
                assert_eq!(got, "", "{digit} for {ms} ms at offset {offset}");
            }
        }
    }
}

#[test]
fn tones_of_40_ms_always_count() {
    for digit in Digit::ALL {
        let tone = concat(&[key(digit, -20.0, 40.0), silence(100.0)]);
        for (offset, got) in at_every_alignment(&tone).iter().enumerate() {
            assert_eq!(
                got,
                &digit.to_string(),
                "{digit} for 40 ms at offset {offset}"
            );
        }
    }
}

#[test]
fn a_key_repeated_after_a_40_ms_pause_counts_again() {
    let on = key(Digit::D5, -10.0, 50.0);
    let signal = concat(&[
        on.clone(),
        silence(40.0),
        on.clone(),
        silence(40.0),
        on,
        silence(60.0),
    ]);
    for (offset, got) in at_every_alignment(&signal).iter().enumerate() {
        assert_eq!(got, "555", "offset {offset}");
    }
}

#[test]
fn a_10_ms_dropout_does_not_split_a_key() {
    let mut tone = key(Digit::D9, -10.0, 200.0);
    let gap = samples(90.0)..samples(100.0);
    tone[gap].fill(0.0);
    let signal = concat(&[tone, silence(60.0)]);
    for (offset, got) in at_every_alignment(&signal).iter().enumerate() {
        assert_eq!(got, "9", "offset {offset}");
    }
}

#[test]
fn a_dialled_number_comes_out_in_order() {
    let number = "0123456789*#ABCD";
    let parts: Vec<Vec<f64>> = number
        .chars()
        .flat_map(|c| {
            [
                key(Digit::from_char(c).unwrap(), -12.0, 60.0),
                silence(60.0),
            ]
        })
        .collect();
    assert_eq!(detect(&concat(&parts)), number);
}

#[test]
fn chunk_boundaries_do_not_matter() {
    let parts: Vec<Vec<f64>> = "159#"
        .chars()
        .flat_map(|c| {
            [
                key(Digit::from_char(c).unwrap(), -12.0, 70.0),
                silence(50.0),
            ]
        })
        .collect();
    let audio = pcm(&concat(&parts));
    for chunk in [1, 7, 33, 160, 1000, audio.len()] {
        let mut detector = DtmfDetector::new();
        let got: String = audio
            .chunks(chunk)
            .flat_map(|c| detector.push(c))
            .map(|d| d.as_char())
            .collect();
        assert_eq!(got, "159#", "chunks of {chunk}");
    }
}

#[test]
fn keys_survive_a_g711_round_trip() {
    for digit in Digit::ALL {
        for level in [-6.0, -20.0, -28.0] {
            let audio = pcm(&concat(&[key(digit, level, 80.0), silence(60.0)]));
            let via_ulaw: Vec<i16> = audio
                .iter()
                .map(|&s| ulaw_to_linear(linear_to_ulaw(s)))
                .collect();
            let via_alaw: Vec<i16> = audio
                .iter()
                .map(|&s| alaw_to_linear(linear_to_alaw(s)))
                .collect();
            assert_eq!(
                detect_pcm(&via_ulaw),
                digit.to_string(),
                "{digit} µ-law {level}"
            );
            assert_eq!(
                detect_pcm(&via_alaw),
                digit.to_string(),
                "{digit} A-law {level}"
            );
        }
    }
}

#[test]
fn reset_forgets_a_key_in_progress() {
    let tone = pcm(&key(Digit::D2, -10.0, 60.0));
    let (first, second) = tone.split_at(tone.len() / 2);
    let mut detector = DtmfDetector::new();
    assert!(detector.push(first).is_empty());
    detector.reset();
    assert!(detector.push(second).is_empty());
    // Without the reset the two halves make one 60 ms key.
    let mut detector = DtmfDetector::new();
    assert!(detector.push(first).is_empty());
    assert_eq!(detector.push(second), vec![Digit::D2]);
}
