//! RTCP compound packets (RFC 3550 §6): building our SR/RR/BYE and reading the peer's.
//!
//! RFC 3550 §6.1 requires every compound packet to start with an SR or RR and to carry an SDES
//! CNAME, so the builders here only produce such packets; there is no way to emit a bare SDES or
//! BYE. The wire layout of SR, RR and BYE, and the writing of all packets, comes from the
//! `rtcp-types` crate. Two parts are done here instead: the framing of the compound (RFC 3550
//! A.2 validity checks), because `rtcp-types` checks the version of the first packet only,
//! treats padding as content and would run its APP/XR/feedback parsers on packets a voice leg
//! has no use for; and reading SDES, where its chunk parser misreads multi-chunk packets (see
//! `read_sdes`).
//!
//! Time is supplied by the caller: wall-clock time as Unix microseconds (converted with
//! [`ntp_from_unix_micros`]) and scheduling time as microseconds of any monotonic clock.

use rtcp_types as wire;
use wire::prelude::*;

/// Report blocks one SR or RR can carry (the 5-bit count field).
pub const MAX_REPORT_BLOCKS: usize = 31;
/// Seconds from the NTP epoch (1900-01-01) to the Unix epoch (1970-01-01).
pub const NTP_UNIX_OFFSET_SECS: u64 = 2_208_988_800;
/// RFC 3550 §6.2 minimum report interval.
pub const MIN_REPORT_INTERVAL_US: u64 = 5_000_000;

const PT_SR: u8 = 200;
const PT_RR: u8 = 201;
const PT_SDES: u8 = 202;
const PT_BYE: u8 = 203;
/// Octets an SDES item or a BYE reason can hold (8-bit length field).
const MAX_TEXT_LEN: usize = 255;
/// Cumulative lost is a 24-bit two's complement field.
const LOST_MAX: i32 = 0x7f_ffff;
const LOST_MIN: i32 = -0x80_0000;

/// Why a datagram is not an RTCP compound packet we can read, or why ours cannot be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RtcpError {
    #[error("RTCP datagram is empty")]
    Empty,
    #[error("RTCP packet at offset {offset} needs {need} octets, the datagram has {len}")]
    Truncated {
        offset: usize,
        need: usize,
        len: usize,
    },
    #[error("RTCP version {version} at offset {offset}, expected 2")]
    BadVersion { offset: usize, version: u8 },
    #[error("compound RTCP starts with packet type {0}, not SR (200) or RR (201)")]
    NotReportFirst(u8),
    #[error("RTCP packet at offset {offset} is padded but is not the last of the compound")]
    PaddingNotLast { offset: usize },
    #[error("RTCP padding count {padding} at offset {offset} does not fit a {len}-octet packet")]
    BadPadding {
        offset: usize,
        padding: u8,
        len: usize,
    },
    #[error("malformed RTCP packet type {packet_type} at offset {offset}: {detail}")]
    Malformed {
        offset: usize,
        packet_type: u8,
        detail: String,
    },
    #[error("{0} report blocks, one SR or RR carries at most 31")]
    TooManyReportBlocks(usize),
    #[error("CNAME is {0} octets, an SDES item carries at most 255")]
    CnameTooLong(usize),
    #[error("BYE reason is {0} octets, at most 255 fit")]
    ReasonTooLong(usize),
    #[error("encoding RTCP failed: {0}")]
    Encode(String),
}

/// One reception report block (RFC 3550 §6.4.1), about the stream of `ssrc`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ReportBlock {
    pub ssrc: u32,
    /// Fraction of packets lost since the previous report, in 1/256.
    pub fraction_lost: u8,
    /// Packets expected minus received since reception began. Negative with duplicates; the
    /// wire holds 24 bits, so values beyond ±2^23 are clamped when encoding.
    pub cumulative_lost: i32,
    /// Wrap count in the high 16 bits, highest sequence number in the low 16.
    pub extended_highest_seq: u32,
    /// Interarrival jitter in RTP timestamp units.
    pub jitter: u32,
    /// Middle 32 bits of the NTP timestamp of the last SR from `ssrc`, 0 if none.
    pub last_sr: u32,
    /// Delay from receiving that SR to sending this block, in 1/65536 s; 0 if none.
    pub delay_since_last_sr: u32,
}

/// The sender info section of an SR.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SenderInfo {
    /// Wall-clock time of the report in 64-bit NTP format ([`ntp_from_unix_micros`]).
    pub ntp_time: u64,
    /// The RTP timestamp corresponding to `ntp_time` on the media clock.
    pub rtp_ts: u32,
    pub packet_count: u32,
    pub octet_count: u32,
}

/// What a compound packet told us. Packet types a voice leg ignores (APP, XR, RTPFB/PSFB
/// feedback, unknown types) produce no item.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RtcpItem {
    SenderReport {
        ssrc: u32,
        info: SenderInfo,
        blocks: Vec<ReportBlock>,
    },
    ReceiverReport {
        ssrc: u32,
        blocks: Vec<ReportBlock>,
    },
    /// One SDES chunk's CNAME. Invalid UTF-8 is replaced (lossily but deterministically, so the
    /// same octets always give the same name) rather than rejecting the whole compound.
    Cname {
        ssrc: u32,
        cname: String,
    },
    Bye {
        ssrcs: Vec<u32>,
        reason: Option<String>,
    },
}

/// SR + SDES CNAME: what an endpoint that sent RTP since its last report emits.
pub fn build_sender_report(
    ssrc: u32,
    info: &SenderInfo,
    blocks: &[ReportBlock],
    cname: &str,
) -> Result<Vec<u8>, RtcpError> {
    check_blocks(blocks)?;
    let mut sr = wire::SenderReport::builder(ssrc)
        .ntp_timestamp(info.ntp_time)
        .rtp_timestamp(info.rtp_ts)
        .packet_count(info.packet_count)
        .octet_count(info.octet_count);
    for block in blocks {
        sr = sr.add_report_block(block_builder(block));
    }
    let compound = wire::Compound::builder()
        .add_packet(sr)
        .add_packet(sdes_cname(ssrc, cname)?);
    write(&compound)
}

/// RR + SDES CNAME: what an endpoint that sent no RTP since its last report emits.
pub fn build_receiver_report(
    ssrc: u32,
    blocks: &[ReportBlock],
    cname: &str,
) -> Result<Vec<u8>, RtcpError> {
    check_blocks(blocks)?;
    let compound = wire::Compound::builder()
        .add_packet(receiver_report(ssrc, blocks))
        .add_packet(sdes_cname(ssrc, cname)?);
    write(&compound)
}

/// Empty RR + SDES CNAME + BYE for `ssrc`. The BYE cannot travel alone (RFC 3550 §6.1 puts it
/// in a compound that starts with a report), which is why the CNAME is needed here too. An
/// empty reason is sent as no reason, since the wire cannot tell them apart.
pub fn build_bye(ssrc: u32, cname: &str, reason: Option<&str>) -> Result<Vec<u8>, RtcpError> {
    let mut bye = wire::Bye::builder().add_source(ssrc);
    if let Some(reason) = reason {
        if reason.len() > MAX_TEXT_LEN {
            return Err(RtcpError::ReasonTooLong(reason.len()));
        }
        bye = bye.reason(reason);
    }
    let compound = wire::Compound::builder()
        .add_packet(receiver_report(ssrc, &[]))
        .add_packet(sdes_cname(ssrc, cname)?)
        .add_packet(bye);
    write(&compound)
}

/// Reads one compound RTCP datagram, applying RFC 3550 A.2's validity checks: version 2 on
/// every packet, lengths that add up to the datagram, padding only on the last packet, and an
/// SR or RR first (the check that catches RTP sent to the RTCP port: RTP payload types 72–76,
/// whose second octet would look like SR/RR, are reserved for that reason).
pub fn parse(data: &[u8]) -> Result<Vec<RtcpItem>, RtcpError> {
    if data.is_empty() {
        return Err(RtcpError::Empty);
    }
    let mut items = Vec::new();
    let mut offset = 0;
    while offset < data.len() {
        let header = data.get(offset..offset + 4).ok_or(RtcpError::Truncated {
            offset,
            need: 4,
            len: data.len(),
        })?;
        let version = header[0] >> 6;
        if version != 2 {
            return Err(RtcpError::BadVersion { offset, version });
        }
        let packet_type = header[1];
        if offset == 0 && packet_type != PT_SR && packet_type != PT_RR {
            return Err(RtcpError::NotReportFirst(packet_type));
        }
        let len = 4 * (usize::from(u16::from_be_bytes([header[2], header[3]])) + 1);
        let packet = data.get(offset..offset + len).ok_or(RtcpError::Truncated {
            offset,
            need: len,
            len: data.len(),
        })?;
        let padded = header[0] & 0x20 != 0;
        if padded && offset + len != data.len() {
            return Err(RtcpError::PaddingNotLast { offset });
        }
        match packet_type {
            PT_SR | PT_RR | PT_SDES | PT_BYE => {
                let unpadded;
                let packet = if padded {
                    unpadded = strip_padding(packet, offset)?;
                    &unpadded[..]
                } else {
                    packet
                };
                read_packet(packet, offset, &mut items)?;
            }
            // APP, RTPFB, PSFB, XR and types we do not know: framing checked above, content
            // not ours to judge.
            _ => {}
        }
        offset += len;
    }
    Ok(items)
}

/// Converts Unix time in microseconds to the 64-bit NTP format (seconds since 1900 in the high
/// word, binary fraction in the low word). The seconds wrap in 2036, as NTP era 1 does on the
/// wire; LSR and RTT arithmetic only looks at differences, so the wrap is harmless.
pub fn ntp_from_unix_micros(unix_us: u64) -> u64 {
    let secs = (unix_us / 1_000_000).wrapping_add(NTP_UNIX_OFFSET_SECS) & 0xffff_ffff;
    // The remainder is below 10^6, so shifting by 32 stays far below 2^64.
    let frac = ((unix_us % 1_000_000) << 32) / 1_000_000;
    (secs << 32) | frac
}

/// The middle 32 bits of an NTP timestamp (16.16 fixed point seconds): the LSR field's format
/// and the unit of DLSR and round-trip arithmetic.
pub fn ntp_middle32(ntp: u64) -> u32 {
    // Truncation is the point: the low 16 bits of seconds and high 16 bits of fraction.
    (ntp >> 16) as u32
}

/// Round-trip time from a report block about our own stream (RFC 3550 §6.4.1: A − LSR − DLSR),
/// given the block's arrival time as the middle 32 bits of NTP. `None` when the peer has not
/// seen an SR from us yet (LSR 0) or when the result would be negative, which only clock steps
/// or a lying peer produce.
pub fn round_trip_micros(block: &ReportBlock, arrival_ntp_middle32: u32) -> Option<u64> {
    if block.last_sr == 0 {
        return None;
    }
    let rtt = arrival_ntp_middle32
        .wrapping_sub(block.last_sr)
        .wrapping_sub(block.delay_since_last_sr);
    // Anything in the upper half of the 32-bit circle is a negative difference.
    if rtt >= 0x8000_0000 {
        return None;
    }
    Some((u64::from(rtt) * 1_000_000) >> 16)
}

/// The RTCP report interval for a two-party call (RFC 3550 §6.2/§6.3): the 5 s minimum (2.5 s
/// before the first report, §6.2 allows halving it) scaled by a factor uniform in [0.5, 1.5) so
/// that endpoints started together do not report in lockstep. `random` is any uniformly random
/// u32 the caller draws; the bandwidth term of §6.3 never exceeds the minimum for two members
/// at voice bit rates, so it is left out, and so is timer reconsideration (§6.3.3), which only
/// matters when the membership changes quickly.
pub fn report_interval_micros(random: u32, initial: bool) -> u64 {
    let base = if initial {
        MIN_REPORT_INTERVAL_US / 2
    } else {
        MIN_REPORT_INTERVAL_US
    };
    let scaled = (u128::from(base) * u128::from(random)) >> 32;
    // scaled < base, so the sum stays below 1.5 × base.
    base / 2 + scaled as u64
}

/// When to send the next report, on the caller's microsecond clock.
pub fn next_report_time(now_us: u64, random: u32, initial: bool) -> u64 {
    now_us.saturating_add(report_interval_micros(random, initial))
}

fn check_blocks(blocks: &[ReportBlock]) -> Result<(), RtcpError> {
    if blocks.len() > MAX_REPORT_BLOCKS {
        return Err(RtcpError::TooManyReportBlocks(blocks.len()));
    }
    Ok(())
}

fn receiver_report(ssrc: u32, blocks: &[ReportBlock]) -> wire::ReceiverReportBuilder {
    blocks
        .iter()
        .fold(wire::ReceiverReport::builder(ssrc), |rr, b| {
            rr.add_report_block(block_builder(b))
        })
}

fn sdes_cname(ssrc: u32, cname: &str) -> Result<wire::SdesBuilder<'_>, RtcpError> {
    if cname.len() > MAX_TEXT_LEN {
        return Err(RtcpError::CnameTooLong(cname.len()));
    }
    let item = wire::SdesItem::builder(wire::SdesItem::CNAME, cname);
    Ok(wire::Sdes::builder().add_chunk(wire::SdesChunk::builder(ssrc).add_item(item)))
}

fn block_builder(block: &ReportBlock) -> wire::ReportBlockBuilder {
    // rtcp-types takes cumulative lost as an unsigned 24-bit value, so the sign is encoded
    // here: clamp to the 24-bit range, then keep the low 24 bits of the two's complement.
    let lost = block.cumulative_lost.clamp(LOST_MIN, LOST_MAX) as u32 & 0xff_ffff;
    wire::ReportBlock::builder(block.ssrc)
        .fraction_lost(block.fraction_lost)
        .cumulative_lost(lost)
        .extended_sequence_number(block.extended_highest_seq)
        .interarrival_jitter(block.jitter)
        .last_sender_report_timestamp(block.last_sr)
        .delay_since_last_sender_report_timestamp(block.delay_since_last_sr)
}

fn write(compound: &wire::CompoundBuilder<'_>) -> Result<Vec<u8>, RtcpError> {
    let encode = |e: wire::RtcpWriteError| RtcpError::Encode(e.to_string());
    let size = compound.calculate_size().map_err(encode)?;
    let mut buf = vec![0; size];
    let written = compound.write_into(&mut buf).map_err(encode)?;
    buf.truncate(written);
    Ok(buf)
}

/// A copy of the packet without its padding and with the P bit cleared, so the packet parsers
/// see only content (with padding, a report block or BYE reason could run into it).
fn strip_padding(packet: &[u8], offset: usize) -> Result<Vec<u8>, RtcpError> {
    let len = packet.len();
    let padding = packet[len - 1];
    let pad = usize::from(padding);
    // RFC 3550 §6.4.1: the count includes itself and keeps the packet 32-bit aligned.
    if pad == 0 || pad % 4 != 0 || pad > len - 4 {
        return Err(RtcpError::BadPadding {
            offset,
            padding,
            len,
        });
    }
    let mut out = packet[..len - pad].to_vec();
    out[0] &= !0x20;
    // out.len() ≤ the original packet's length, which came from this same 16-bit field.
    let words = (out.len() / 4 - 1) as u16;
    out[2..4].copy_from_slice(&words.to_be_bytes());
    Ok(out)
}

fn read_packet(packet: &[u8], offset: usize, items: &mut Vec<RtcpItem>) -> Result<(), RtcpError> {
    let packet_type = packet[1];
    let malformed = |e: wire::RtcpParseError| RtcpError::Malformed {
        offset,
        packet_type,
        detail: e.to_string(),
    };
    match packet_type {
        PT_SR => {
            let sr = wire::SenderReport::parse(packet).map_err(malformed)?;
            items.push(RtcpItem::SenderReport {
                ssrc: sr.ssrc(),
                info: SenderInfo {
                    ntp_time: sr.ntp_timestamp(),
                    rtp_ts: sr.rtp_timestamp(),
                    packet_count: sr.packet_count(),
                    octet_count: sr.octet_count(),
                },
                blocks: sr.report_blocks().map(|b| from_wire(&b)).collect(),
            });
        }
        PT_RR => {
            let rr = wire::ReceiverReport::parse(packet).map_err(malformed)?;
            items.push(RtcpItem::ReceiverReport {
                ssrc: rr.ssrc(),
                blocks: rr.report_blocks().map(|b| from_wire(&b)).collect(),
            });
        }
        PT_SDES => read_sdes(packet, offset, items)?,
        PT_BYE => {
            let bye = wire::Bye::parse(packet).map_err(malformed)?;
            items.push(RtcpItem::Bye {
                ssrcs: bye.ssrcs().collect(),
                reason: bye
                    .reason()
                    .map(|r| String::from_utf8_lossy(r).into_owned()),
            });
        }
        _ => {}
    }
    Ok(())
}

/// The CNAME of each SDES chunk (RFC 3550 §6.5). Read here rather than with rtcp-types,
/// whose chunk parser skips null octets past the chunk's 32-bit boundary and so misreads the
/// next chunk when its SSRC starts with 0x00, and whose PRIV item accessors can index past an
/// item that declares a prefix longer than itself. Only CNAME is needed, so every other item
/// is stepped over by its length without looking inside.
fn read_sdes(packet: &[u8], offset: usize, items: &mut Vec<RtcpItem>) -> Result<(), RtcpError> {
    let malformed = |detail: &str| RtcpError::Malformed {
        offset,
        packet_type: PT_SDES,
        detail: detail.to_owned(),
    };
    let chunks = packet[0] & 0x1f;
    let mut at = 4;
    for _ in 0..chunks {
        let ssrc = packet
            .get(at..at + 4)
            .ok_or_else(|| malformed("SDES chunk truncated before its SSRC"))?;
        let ssrc = u32::from_be_bytes([ssrc[0], ssrc[1], ssrc[2], ssrc[3]]);
        at += 4;
        let mut cname = None;
        loop {
            let item_type = *packet
                .get(at)
                .ok_or_else(|| malformed("SDES item list not terminated"))?;
            if item_type == 0 {
                break;
            }
            let len = usize::from(
                *packet
                    .get(at + 1)
                    .ok_or_else(|| malformed("SDES item truncated before its length"))?,
            );
            let value = packet
                .get(at + 2..at + 2 + len)
                .ok_or_else(|| malformed("SDES item runs past the packet"))?;
            if item_type == wire::SdesItem::CNAME && cname.is_none() {
                cname = Some(value);
            }
            at += 2 + len;
        }
        // The null item type ends the list; further nulls pad to the next 32-bit boundary.
        at = (at + 1 + 3) & !3;
        if at > packet.len() {
            return Err(malformed("SDES chunk padding runs past the packet"));
        }
        if let Some(value) = cname {
            items.push(RtcpItem::Cname {
                ssrc,
                cname: String::from_utf8_lossy(value).into_owned(),
            });
        }
    }
    Ok(())
}

fn from_wire(block: &wire::ReportBlock<'_>) -> ReportBlock {
    let lost24 = block.cumulative_lost();
    ReportBlock {
        ssrc: block.ssrc(),
        fraction_lost: block.fraction_lost(),
        // Sign-extend the 24-bit field: move it to the top of an i32 and shift back.
        cumulative_lost: ((lost24 << 8) as i32) >> 8,
        extended_highest_seq: block.extended_sequence_number(),
        jitter: block.interarrival_jitter(),
        last_sr: block.last_sender_report_timestamp(),
        delay_since_last_sr: block.delay_since_last_sender_report_timestamp(),
    }
}
