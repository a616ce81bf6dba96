//! G.711 against a second, independent formulation of the standard: a search over the decision
//! values of ITU-T G.711 Tables 1a/1b (A-law) and 2a/2b (µ-law), written from the tables'
//! segment structure rather than from any bit trick, over every 16-bit input and every code word.

use hotline_media::g711::{
    ALAW_DECODE, ULAW_DECODE, alaw_to_linear, decode_alaw, decode_ulaw, encode_alaw, encode_ulaw,
    linear_to_alaw, linear_to_ulaw, ulaw_to_linear,
};

/// One law as G.711 tabulates it: eight segments of sixteen intervals each, every segment given
/// by its upper decision value and its step, in the table's normalised units.
struct Law {
    /// (upper decision value, step) of segments 1 to 8.
    segments: [(i32, i32); 8],
    /// 16-bit linear units per normalised unit (A-law tables span ±4096, µ-law ±8192).
    scale: i32,
    /// Whether the decoder output of interval 0 is 0 (µ-law, y0 = 0) rather than its middle.
    zero_output_at_origin: bool,
    /// Code word transmitted for interval `n` of the given polarity.
    transmit: fn(n: u8, positive: bool) -> u8,
}

/// Table 1a/1b: decision values 0, 2, ..., 32 (segment 1) up to 2048..4096 in steps of 128
/// (segment 8). Character signal: polarity bit 1 for positive values, then the interval number;
/// the even bits are inverted on the line.
const A_LAW: Law = Law {
    segments: [
        (32, 2),
        (64, 2),
        (128, 4),
        (256, 8),
        (512, 16),
        (1024, 32),
        (2048, 64),
        (4096, 128),
    ],
    scale: 8,
    zero_output_at_origin: false,
    transmit: |n, positive| (if positive { 0x80 } else { 0x00 } | n) ^ 0x55,
};

/// Table 2a/2b: decision values 0, 1, 3, ..., 31 (segment 1), 31..95 in steps of 4, and so on up
/// to 4063..8159 in steps of 256 (segment 8); interval 0 ([0, 1)) decodes to 0. The interval
/// number is sent with all bits inverted, the polarity bit 1 for positive values.
const MU_LAW: Law = Law {
    segments: [
        (31, 2),
        (95, 4),
        (223, 8),
        (479, 16),
        (991, 32),
        (2015, 64),
        (4063, 128),
        (8159, 256),
    ],
    scale: 4,
    zero_output_at_origin: true,
    transmit: |n, positive| if positive { 0x80 } else { 0x00 } | (n ^ 0x7F),
};

impl Law {
    /// The 128 magnitude intervals: (lower decision value, decoder output value), normalised.
    fn intervals(&self) -> Vec<(i32, i32)> {
        let mut out = Vec::with_capacity(128);
        for &(upper, step) in &self.segments {
            let lower = upper - 16 * step;
            for j in 0..16 {
                let from = lower + j * step;
                // µ-law's first interval nominally starts at -1; magnitudes start at 0.
                let from_clipped = from.max(0);
                let output = if out.is_empty() && self.zero_output_at_origin {
                    0
                } else {
                    from + step / 2
                };
                out.push((from_clipped, output));
            }
        }
        out
    }

    /// Encoding by search: the 16-bit sample `s` stands for the continuous value `s + 0.5`
    /// (so `s` and `-1 - s` mirror each other and no value ever sits on a decision value); its
    /// magnitude falls in the last interval whose lower decision value it reaches.
    fn encode(&self, intervals: &[(i32, i32)], s: i16) -> u8 {
        let doubled_magnitude = (2 * i32::from(s) + 1).abs();
        let n = intervals
            .partition_point(|&(lower, _)| 2 * self.scale * lower <= doubled_magnitude)
            - 1;
        (self.transmit)(n as u8, s >= 0)
    }

    /// Decoding by search: the code word of every (interval, polarity) pair, matched.
    fn decode(&self, intervals: &[(i32, i32)], code: u8) -> i16 {
        for (n, &(_, output)) in intervals.iter().enumerate() {
            for positive in [true, false] {
                if (self.transmit)(n as u8, positive) == code {
                    let value = output * self.scale;
                    return if positive { value } else { -value } as i16;
                }
            }
        }
        panic!("code {code:#04x} is in no table row");
    }
}

#[test]
fn the_tables_have_the_published_shape() {
    // Spot rows of G.711: A-law segment 8 ends at 4096 with output 4032; µ-law interval 16 is
    // 31..35 with output 33 and the last output is 8031.
    let a = A_LAW.intervals();
    let u = MU_LAW.intervals();
    assert_eq!(a.len(), 128);
    assert_eq!(u.len(), 128);
    assert_eq!(a[0], (0, 1));
    assert_eq!(a[127], (3968, 4032));
    assert_eq!(u[0], (0, 0));
    assert_eq!(u[1], (1, 2));
    assert_eq!(u[16], (31, 33));
    assert_eq!(u[127], (7903, 8031));
    for w in a.windows(2).chain(u.windows(2)) {
        assert!(w[0].0 < w[1].0, "decision values increase");
    }
}

#[test]
fn ulaw_encoder_matches_the_tables_for_every_input() {
    let intervals = MU_LAW.intervals();
    for s in i16::MIN..=i16::MAX {
        assert_eq!(
            linear_to_ulaw(s),
            MU_LAW.encode(&intervals, s),
            "µ-law encode of {s}"
        );
    }
}

#[test]
fn alaw_encoder_matches_the_tables_for_every_input() {
    let intervals = A_LAW.intervals();
    for s in i16::MIN..=i16::MAX {
        assert_eq!(
            linear_to_alaw(s),
            A_LAW.encode(&intervals, s),
            "A-law encode of {s}"
        );
    }
}

#[test]
fn decoders_match_the_tables_for_every_code() {
    let u = MU_LAW.intervals();
    let a = A_LAW.intervals();
    for code in 0..=255u8 {
        assert_eq!(
            ulaw_to_linear(code),
            MU_LAW.decode(&u, code),
            "µ-law {code:#04x}"
        );
        assert_eq!(
            alaw_to_linear(code),
            A_LAW.decode(&a, code),
            "A-law {code:#04x}"
        );
        assert_eq!(ULAW_DECODE[code as usize], ulaw_to_linear(code));
        assert_eq!(ALAW_DECODE[code as usize], alaw_to_linear(code));
    }
}

/// Values worked by hand through the ITU-T G.191 STL reference module g711.c (v3.01,
/// ulaw_compress / ulaw_expand / alaw_compress / alaw_expand), read for this purpose.
#[test]
fn g191_spot_values() {
    // µ-law compress: 14 MSBs, one's complement for negatives, +33 bias, clip at 0x1FFF.
    assert_eq!(linear_to_ulaw(0), 0xFF);
    assert_eq!(linear_to_ulaw(-1), 0x7F);
    assert_eq!(linear_to_ulaw(32767), 0x80);
    assert_eq!(linear_to_ulaw(-32768), 0x00);
    assert_eq!(linear_to_ulaw(3), 0xFF);
    assert_eq!(linear_to_ulaw(4), 0xFE);
    // The edge where sign-magnitude implementations (e.g. Sun's linear2ulaw) differ: G.191
    // takes -4 as the mirror of 3, not of 4.
    assert_eq!(linear_to_ulaw(-4), 0x7F);
    assert_eq!(linear_to_ulaw(-5), 0x7E);
    // µ-law expand: sign * ((0x80 << e) + step * m + step / 2 - 4 * 33), step = 4 << (e + 1).
    assert_eq!(ulaw_to_linear(0x00), -32124);
    assert_eq!(ulaw_to_linear(0x80), 32124);
    assert_eq!(ulaw_to_linear(0xFF), 0);
    assert_eq!(ulaw_to_linear(0x7F), 0);
    assert_eq!(ulaw_to_linear(0xFE), 8);
    // A-law compress: 13 MSBs, one's complement for negatives, even bits toggled with 0x55.
    assert_eq!(linear_to_alaw(0), 0xD5);
    assert_eq!(linear_to_alaw(-1), 0x55);
    assert_eq!(linear_to_alaw(32767), 0xAA);
    assert_eq!(linear_to_alaw(-32768), 0x2A);
    assert_eq!(linear_to_alaw(15), 0xD5);
    assert_eq!(linear_to_alaw(16), 0xD4);
    assert_eq!(linear_to_alaw(-16), 0x55);
    assert_eq!(linear_to_alaw(-17), 0x54);
    // A-law expand: ((m [+16]) << 4) + 8, shifted by e - 1 for e > 1, negated below 0x80.
    assert_eq!(alaw_to_linear(0xD5), 8);
    assert_eq!(alaw_to_linear(0x55), -8);
    assert_eq!(alaw_to_linear(0xAA), 32256);
    assert_eq!(alaw_to_linear(0x2A), -32256);
}

#[test]
fn decoded_values_reencode_to_their_code() {
    for code in 0..=255u8 {
        // Both µ-law zeros decode to 0, which encodes as the positive zero.
        if code != 0x7F {
            assert_eq!(
                linear_to_ulaw(ulaw_to_linear(code)),
                code,
                "µ-law {code:#04x}"
            );
        }
        assert_eq!(
            linear_to_alaw(alaw_to_linear(code)),
            code,
            "A-law {code:#04x}"
        );
    }
}

#[test]
fn slice_helpers_convert_the_common_prefix() {
    let pcm = [0i16, -1, 32767, -32768, 1000];
    let mut ulaw = [0u8; 4];
    assert_eq!(encode_ulaw(&pcm, &mut ulaw), 4);
    assert_eq!(ulaw, [0xFF, 0x7F, 0x80, 0x00]);
    let mut alaw = [0u8; 8];
    assert_eq!(encode_alaw(&pcm, &mut alaw), 5);
    assert_eq!(&alaw[..5], &pcm.map(linear_to_alaw)[..]);
    assert_eq!(alaw[5..], [0, 0, 0]);

    let mut back = [0i16; 3];
    assert_eq!(decode_ulaw(&ulaw, &mut back), 3);
    assert_eq!(back, [0, 0, 32124]);
    let mut back = [7i16; 6];
    assert_eq!(decode_alaw(&alaw[..5], &mut back), 5);
    assert_eq!(
        &back[..5],
        &alaw[..5]
            .iter()
            .map(|&c| alaw_to_linear(c))
            .collect::<Vec<_>>()[..]
    );
    assert_eq!(back[5], 7);
}
