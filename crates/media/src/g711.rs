//! G.711 companding: 16-bit linear PCM to and from µ-law (PCMU) and A-law (PCMA).
//!
//! The rounding at the interval edges follows the ITU-T G.191 reference module (`g711.c`), which is
//! what ITU-T conformance is checked against: µ-law looks at the 14 most significant bits of the
//! sample and A-law at the 13 most significant bits, negative samples are taken in one's complement
//! (so `-1` lands in the same interval as `0`, mirrored), and each code word decodes to the middle
//! of its decision interval. Published crates differ from G.191 in exactly those places, which is
//! why this module exists.
//!
//! Encoding is a handful of integer operations per sample; decoding is a lookup in a 256-entry
//! table built at compile time.

/// Upper limit of the biased 13-bit µ-law magnitude (G.711 clips above decision value 8159).
const ULAW_MAX_BIASED: u16 = 0x1FFF;
/// The µ-law bias: 33 in 14-bit units moves every segment boundary onto a power of two.
const ULAW_BIAS: u16 = 33;

/// Encodes one linear sample to µ-law.
#[must_use]
pub const fn linear_to_ulaw(sample: i16) -> u8 {
    // One's complement for negatives: `!x == -x - 1`, never overflows, and mirrors the positive
    // intervals around -0.5 exactly as G.191 does.
    let (sign, magnitude) = if sample < 0 {
        (0x00u8, !sample as u16)
    } else {
        (0x80u8, sample as u16)
    };
    let mut biased = (magnitude >> 2) + ULAW_BIAS;
    if biased > ULAW_MAX_BIASED {
        biased = ULAW_MAX_BIASED;
    }
    // `biased` lies in 33..=8191, i.e. has 6 to 13 significant bits: segments 0 to 7.
    let significant_bits = 16 - biased.leading_zeros();
    let segment = significant_bits - 6;
    let mantissa = (biased >> (segment + 1)) & 0x0F;
    // µ-law transmits segment and mantissa inverted; the sign bit is 1 for positive samples.
    sign | (0x7F ^ ((segment << 4) as u8 | mantissa as u8))
}

/// Encodes one linear sample to A-law.
#[must_use]
pub const fn linear_to_alaw(sample: i16) -> u8 {
    let (sign, magnitude) = if sample < 0 {
        (0x00u8, !sample as u16)
    } else {
        (0x80u8, sample as u16)
    };
    // 12-bit magnitude: the 13 most significant bits of the sample without the sign.
    let value = magnitude >> 3;
    let (segment, mantissa) = if value < 32 {
        // Segments 0 and 1 share the same step (2), so segment 0 needs no leading one.
        (0u16, value >> 1)
    } else {
        let segment = (16 - value.leading_zeros()) as u16 - 5;
        (segment, (value >> segment) & 0x0F)
    };
    // A-law inverts the even bits of the transmitted character.
    (sign | ((segment << 4) as u8) | mantissa as u8) ^ 0x55
}

/// Decodes one µ-law code word.
#[must_use]
pub const fn ulaw_to_linear(code: u8) -> i16 {
    ULAW_DECODE[code as usize]
}

/// Decodes one A-law code word.
#[must_use]
pub const fn alaw_to_linear(code: u8) -> i16 {
    ALAW_DECODE[code as usize]
}

/// µ-law decoding, indexed by code word.
pub static ULAW_DECODE: [i16; 256] = build_ulaw_decode();
/// A-law decoding, indexed by code word.
pub static ALAW_DECODE: [i16; 256] = build_alaw_decode();

const fn ulaw_decode_one(code: u8) -> i16 {
    let plain = !code;
    let segment = ((plain >> 4) & 0x07) as u32;
    let mantissa = (plain & 0x0F) as i32;
    // Middle of the biased interval [(16 + m) << (s + 1), (17 + m) << (s + 1)), bias removed,
    // scaled from 14 to 16 bits.
    let magnitude = (((33 + 2 * mantissa) << segment) - ULAW_BIAS as i32) * 4;
    if plain & 0x80 == 0 {
        magnitude as i16
    } else {
        -magnitude as i16
    }
}

const fn alaw_decode_one(code: u8) -> i16 {
    let plain = code ^ 0x55;
    let segment = ((plain >> 4) & 0x07) as u32;
    let mantissa = (plain & 0x0F) as i32;
    // Middle of the interval in 12-bit units, scaled from 13 to 16 bits.
    let middle = if segment == 0 {
        2 * mantissa + 1
    } else {
        (2 * (16 + mantissa) + 1) << (segment - 1)
    };
    let magnitude = middle * 8;
    if plain & 0x80 != 0 {
        magnitude as i16
    } else {
        -magnitude as i16
    }
}

const fn build_ulaw_decode() -> [i16; 256] {
    let mut table = [0i16; 256];
    let mut code = 0;
    while code < 256 {
        table[code] = ulaw_decode_one(code as u8);
        code += 1;
    }
    table
}

const fn build_alaw_decode() -> [i16; 256] {
    let mut table = [0i16; 256];
    let mut code = 0;
    while code < 256 {
        table[code] = alaw_decode_one(code as u8);
        code += 1;
    }
    table
}

/// Encodes `pcm` to µ-law into the front of `out`; returns how many samples were encoded
/// (the shorter of the two lengths).
pub fn encode_ulaw(pcm: &[i16], out: &mut [u8]) -> usize {
    let n = pcm.len().min(out.len());
    for (o, &s) in out.iter_mut().zip(pcm) {
        *o = linear_to_ulaw(s);
    }
    n
}

/// Encodes `pcm` to A-law into the front of `out`; returns how many samples were encoded.
pub fn encode_alaw(pcm: &[i16], out: &mut [u8]) -> usize {
    let n = pcm.len().min(out.len());
    for (o, &s) in out.iter_mut().zip(pcm) {
        *o = linear_to_alaw(s);
    }
    n
}

/// Decodes µ-law `codes` into the front of `out`; returns how many samples were decoded.
pub fn decode_ulaw(codes: &[u8], out: &mut [i16]) -> usize {
    let n = codes.len().min(out.len());
    for (o, &c) in out.iter_mut().zip(codes) {
        *o = ULAW_DECODE[c as usize];
    }
    n
}

/// Decodes A-law `codes` into the front of `out`; returns how many samples were decoded.
pub fn decode_alaw(codes: &[u8], out: &mut [i16]) -> usize {
    let n = codes.len().min(out.len());
    for (o, &c) in out.iter_mut().zip(codes) {
        *o = ALAW_DECODE[c as usize];
    }
    n
}
