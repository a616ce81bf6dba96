//! RFC 3550 A.1/A.3/A.8 receiver statistics: probation, wrap, loss, reordering, jumps,
//! duplicates, jitter and LSR/DLSR.

use hotline_media::rtcp::{self, ReportBlock};
use hotline_media::rtp_stats::{MAX_DROPOUT, MAX_MISORDER};
use hotline_media::{PacketVerdict, ReceiverStats};

const RATE: u32 = 8000;
const PTIME_US: u64 = 20_000;
const TS_STEP: u32 = 160;
const SSRC: u32 = 0xdead_beef;

/// Feeds `seq` as if sent on a regular 20 ms grid from seq 0 and received with constant
/// delay, so jitter stays 0 and only the sequence logic is exercised.
fn feed(stats: &mut ReceiverStats, seq: u16) -> PacketVerdict {
    let n = u64::from(seq);
    stats.on_packet(seq, u32::from(seq) * TS_STEP, 1_000_000 + n * PTIME_US)
}

/// A source validated at `first` (probation packet `first - 1` already fed).
fn validated_at(first: u16) -> ReceiverStats {
    let mut stats = ReceiverStats::new(RATE);
    assert_eq!(
        feed(&mut stats, first.wrapping_sub(1)),
        PacketVerdict::Probation
    );
    assert_eq!(feed(&mut stats, first), PacketVerdict::Accepted);
    stats
}

#[test]
fn new_source_is_on_probation_until_two_sequential_packets() {
    let mut stats = ReceiverStats::new(RATE);
    assert_eq!(feed(&mut stats, 10), PacketVerdict::Probation);
    assert!(!stats.is_valid());
    assert_eq!(stats.report_block(SSRC, 0), None);
    // Not sequential: probation restarts from this packet.
    assert_eq!(feed(&mut stats, 20), PacketVerdict::Probation);
    assert!(!stats.is_valid());
    assert_eq!(feed(&mut stats, 21), PacketVerdict::Accepted);
    assert!(stats.is_valid());
    // Counting starts at the packet that ended probation.
    assert_eq!(stats.received(), 1);
    assert_eq!(stats.expected(), 1);
    assert_eq!(stats.extended_highest_seq(), 21);
}

#[test]
fn sequence_wrap_extends_the_highest_sequence_number() {
    let mut stats = validated_at(65_531);
    for seq in [65_532, 65_533, 65_534, 65_535, 0, 1, 2, 3, 4, 5] {
        assert_eq!(feed(&mut stats, seq), PacketVerdict::Accepted, "seq {seq}");
    }
    assert_eq!(stats.cycles(), 1);
    assert_eq!(stats.extended_highest_seq(), 65_536 + 5);
    // 65531..=65535 and 0..=5.
    assert_eq!(stats.expected(), 11);
    assert_eq!(stats.received(), 11);
    let block = stats.report_block(SSRC, 0).expect("valid source");
    assert_eq!(block.extended_highest_seq, 0x0001_0005);
    assert_eq!(block.cumulative_lost, 0);
    assert_eq!(block.fraction_lost, 0);

    // A second wrap counts again.
    for seq in (6..=u16::MAX).chain(0..=1) {
        assert_eq!(feed(&mut stats, seq), PacketVerdict::Accepted);
    }
    assert_eq!(stats.cycles(), 2);
    assert_eq!(stats.extended_highest_seq(), 0x0002_0001);
}

#[test]
fn five_lost_in_a_hundred_is_fraction_12() {
    let mut stats = validated_at(1);
    let dropped = [10, 20, 30, 40, 50];
    for seq in 2..=100 {
        if !dropped.contains(&seq) {
            assert_eq!(feed(&mut stats, seq), PacketVerdict::Accepted);
        }
    }
    assert_eq!(stats.expected(), 100);
    assert_eq!(stats.received(), 95);
    let block = stats.report_block(SSRC, 0).expect("valid source");
    assert_eq!(block.cumulative_lost, 5);
    // 5 / 100 × 256 = 12.8, truncated as in A.3.
    assert_eq!(block.fraction_lost, 12);
    assert_eq!(block.extended_highest_seq, 100);

    // The fraction covers the last interval only; the cumulative count stays.
    for seq in 101..=150 {
        feed(&mut stats, seq);
    }
    let block = stats.report_block(SSRC, 0).expect("valid source");
    assert_eq!(block.fraction_lost, 0);
    assert_eq!(block.cumulative_lost, 5);

    // 1 of 50 lost: 256 / 50 = 5.12.
    for seq in (151..=200).filter(|&s| s != 175) {
        feed(&mut stats, seq);
    }
    let block = stats.report_block(SSRC, 0).expect("valid source");
    assert_eq!(block.fraction_lost, 5);
    assert_eq!(block.cumulative_lost, 6);
}

#[test]
fn reordering_within_max_misorder_is_not_loss() {
    let mut stats = validated_at(1);
    for seq in [2, 4, 3, 5, 7, 8, 6, 9, 10] {
        let verdict = feed(&mut stats, seq);
        let expect = if seq == 3 || seq == 6 {
            PacketVerdict::Reordered
        } else {
            PacketVerdict::Accepted
        };
        assert_eq!(verdict, expect, "seq {seq}");
    }
    assert_eq!(stats.extended_highest_seq(), 10);
    let block = stats.report_block(SSRC, 0).expect("valid source");
    assert_eq!(block.cumulative_lost, 0);
    assert_eq!(block.fraction_lost, 0);
}

#[test]
fn late_packet_from_before_a_wrap_is_reordered_not_a_jump() {
    let mut stats = validated_at(65_533);
    for seq in [65_534, 0, 1, 2] {
        assert_eq!(feed(&mut stats, seq), PacketVerdict::Accepted);
    }
    assert_eq!(feed(&mut stats, 65_535), PacketVerdict::Reordered);
    assert_eq!(stats.cycles(), 1);
    assert_eq!(stats.extended_highest_seq(), 65_536 + 2);
    assert_eq!(stats.cumulative_lost(), 0);
}

#[test]
fn misorder_limit_separates_late_packets_from_jumps() {
    let mut stats = validated_at(1);
    for seq in (2..=300).filter(|s| !(195..=205).contains(s)) {
        feed(&mut stats, seq);
    }
    assert_eq!(stats.cumulative_lost(), 11);
    // A.1 counts a packet as late while it is less than MAX_MISORDER behind.
    let newest = 300;
    let just_inside = newest - (MAX_MISORDER - 1);
    assert_eq!(feed(&mut stats, just_inside), PacketVerdict::Reordered);
    assert_eq!(stats.cumulative_lost(), 10);
    let at_limit = newest - MAX_MISORDER;
    assert_eq!(feed(&mut stats, at_limit), PacketVerdict::Jumped);
    assert_eq!(stats.cumulative_lost(), 10, "a jump is not counted");
    // Normal flow after the stray packet goes on as before.
    assert_eq!(feed(&mut stats, 301), PacketVerdict::Accepted);
    assert_eq!(stats.extended_highest_seq(), 301);
}

#[test]
fn forward_gap_below_max_dropout_is_loss() {
    let mut stats = validated_at(1);
    let ahead = 1 + MAX_DROPOUT - 1;
    assert_eq!(feed(&mut stats, ahead), PacketVerdict::Accepted);
    assert_eq!(stats.cumulative_lost(), i32::from(MAX_DROPOUT) - 2);
    let mut stats = validated_at(1);
    assert_eq!(feed(&mut stats, 1 + MAX_DROPOUT), PacketVerdict::Jumped);
    assert_eq!(stats.extended_highest_seq(), 1);
}

#[test]
fn big_jump_resyncs_after_two_sequential_packets() {
    let mut stats = validated_at(1);
    for seq in 2..=10 {
        feed(&mut stats, seq);
    }
    // One packet far ahead is ignored...
    assert_eq!(feed(&mut stats, 20_000), PacketVerdict::Jumped);
    assert_eq!(stats.extended_highest_seq(), 10);
    assert_eq!(stats.received(), 10);
    // ...and a second jump elsewhere does not confirm the first.
    assert_eq!(feed(&mut stats, 40_000), PacketVerdict::Jumped);
    // The packet after the last jump does: the sender restarted, counting starts over there.
    assert_eq!(feed(&mut stats, 40_001), PacketVerdict::Resync);
    assert_eq!(stats.extended_highest_seq(), 40_001);
    assert_eq!(stats.received(), 1);
    assert_eq!(stats.expected(), 1);
    assert_eq!(stats.cycles(), 0);
    assert_eq!(feed(&mut stats, 40_002), PacketVerdict::Accepted);
    let block = stats.report_block(SSRC, 0).expect("valid source");
    assert_eq!(block.cumulative_lost, 0);
    assert_eq!(block.fraction_lost, 0);
    assert_eq!(block.extended_highest_seq, 40_002);
}

#[test]
fn resync_does_not_turn_the_timestamp_jump_into_jitter() {
    let mut stats = ReceiverStats::new(RATE);
    for seq in 0..50u16 {
        let n = u64::from(seq);
        stats.on_packet(seq, u32::from(seq) * TS_STEP, n * PTIME_US);
    }
    assert_eq!(stats.jitter(), 0);
    // The sender restarts with new sequence numbers and a random timestamp base.
    let base_ts = 0x7000_0000u32;
    for i in 0..3u16 {
        let n = u64::from(50 + i);
        stats.on_packet(30_000 + i, base_ts + u32::from(i) * TS_STEP, n * PTIME_US);
    }
    assert_eq!(stats.jitter(), 0);
}

#[test]
fn duplicates_are_flagged_and_counted_as_received() {
    let mut stats = validated_at(1);
    for seq in 2..=10 {
        feed(&mut stats, seq);
    }
    assert_eq!(feed(&mut stats, 10), PacketVerdict::Duplicate);
    assert_eq!(feed(&mut stats, 7), PacketVerdict::Duplicate);
    assert_eq!(feed(&mut stats, 1), PacketVerdict::Duplicate);
    assert_eq!(stats.duplicates(), 3);
    // RFC 3550 §6.4.1: received includes duplicates, so the loss goes negative...
    assert_eq!(stats.received(), 13);
    let block = stats.report_block(SSRC, 0).expect("valid source");
    assert_eq!(block.cumulative_lost, -3);
    // ...and a negative interval loss reports as fraction 0.
    assert_eq!(block.fraction_lost, 0);
    // A reordered packet that shows up twice is a duplicate the second time.
    feed(&mut stats, 12);
    assert_eq!(feed(&mut stats, 11), PacketVerdict::Reordered);
    assert_eq!(feed(&mut stats, 11), PacketVerdict::Duplicate);
}

#[test]
fn cumulative_loss_clamps_to_24_bits() {
    let mut stats = validated_at(0);
    // Gaps just below MAX_DROPOUT are loss, not jumps: 2998 lost per step.
    let step = MAX_DROPOUT - 1;
    let mut seq = 0u16;
    for _ in 0..3_000 {
        seq = seq.wrapping_add(step);
        assert_eq!(feed(&mut stats, seq), PacketVerdict::Accepted);
    }
    let lost = 3_000 * (u64::from(step) - 1);
    assert!(lost > 0x7f_ffff);
    assert_eq!(stats.expected() - stats.received(), lost);
    let block = stats.report_block(SSRC, 0).expect("valid source");
    assert_eq!(block.cumulative_lost, 0x7f_ffff);
    // 2998 / 2999 of 256 is 255.9: the fraction stays in 8 bits.
    assert_eq!(block.fraction_lost, 255);
    assert_eq!(
        u64::from(block.extended_highest_seq),
        3_000 * u64::from(step),
        "no 2^32 wrap yet"
    );
}

/// A.8 in floating point, the reference the integer implementation must track. The first
/// packet only starts probation and is not counted, so the estimate starts at the second.
fn reference_jitter(offsets_us: &[i64]) -> f64 {
    let mut jitter = 0.0f64;
    let mut prev: Option<f64> = None;
    for (i, off) in offsets_us.iter().enumerate().skip(1) {
        let send_us = i as f64 * PTIME_US as f64;
        let arrival_units = (send_us + 40_000.0 + *off as f64) * f64::from(RATE) / 1e6;
        let transit = arrival_units - i as f64 * f64::from(TS_STEP);
        if let Some(p) = prev {
            jitter += ((transit - p).abs() - jitter) / 16.0;
        }
        prev = Some(transit);
    }
    jitter
}

fn measured_jitter(offsets_us: &[i64]) -> u32 {
    let mut stats = ReceiverStats::new(RATE);
    for (i, off) in offsets_us.iter().enumerate() {
        let arrival = (i as i64 * PTIME_US as i64 + 40_000 + off) as u64;
        let seq = i as u16;
        stats.on_packet(seq, 1_000 + u32::from(seq) * TS_STEP, arrival);
    }
    stats.jitter()
}

#[test]
fn jitter_follows_a8_for_alternating_arrival_offsets() {
    // ±10 ms on 20 ms packets: consecutive transits differ by 20 ms = 160 units, so J → 160.
    let offsets: Vec<i64> = (0..500)
        .map(|i| if i % 2 == 0 { 10_000 } else { -10_000 })
        .collect();
    let expected = reference_jitter(&offsets);
    assert!((expected - 160.0).abs() < 0.01, "reference {expected}");
    let measured = measured_jitter(&offsets);
    assert!(
        (f64::from(measured) - expected).abs() <= 1.0,
        "measured {measured}, A.8 gives {expected}"
    );

    // 0 / +10 ms: |D| = 10 ms = 80 units.
    let offsets: Vec<i64> = (0..500)
        .map(|i| if i % 2 == 0 { 0 } else { 10_000 })
        .collect();
    let expected = reference_jitter(&offsets);
    assert!((expected - 80.0).abs() < 0.01, "reference {expected}");
    let measured = measured_jitter(&offsets);
    assert!(
        (f64::from(measured) - expected).abs() <= 1.0,
        "measured {measured}"
    );
}

#[test]
fn jitter_tracks_the_transient_not_just_the_limit() {
    // 8 packets, the first on probation: six samples of |D| = 160 leave the filter far from
    // converged, at 160 × (1 − (15/16)^6) ≈ 51.4.
    let offsets: Vec<i64> = (0..8)
        .map(|i| if i % 2 == 0 { 10_000 } else { -10_000 })
        .collect();
    let expected = reference_jitter(&offsets);
    assert!(expected > 50.0 && expected < 60.0, "reference {expected}");
    let measured = measured_jitter(&offsets);
    assert!(
        (f64::from(measured) - expected).abs() <= 1.0,
        "measured {measured}"
    );
}

#[test]
fn constant_delay_has_no_jitter_even_across_the_timestamp_wrap() {
    let mut stats = ReceiverStats::new(RATE);
    let start_ts = u32::MAX - 10 * TS_STEP;
    for i in 0..40u16 {
        let ts = start_ts.wrapping_add(u32::from(i) * TS_STEP);
        stats.on_packet(i, ts, 5_000_000 + u64::from(i) * PTIME_US);
    }
    assert_eq!(stats.jitter(), 0);
}

#[test]
fn lsr_and_dlsr_come_from_the_last_sender_report() {
    let mut stats = validated_at(1);
    let block = stats.report_block(SSRC, 2_000_000).expect("valid source");
    assert_eq!((block.last_sr, block.delay_since_last_sr), (0, 0));

    // An SR whose NTP time is 3 s + 0.25 s after some epoch second.
    let ntp = (3u64 << 32) | (1u64 << 30);
    let lsr = rtcp::ntp_middle32(ntp);
    assert_eq!(lsr, 0x0003_4000);
    stats.on_sender_report(lsr, 10_000_000);
    // Reported 1.5 s after it arrived: DLSR = 1.5 × 65536.
    let block = stats.report_block(SSRC, 11_500_000).expect("valid source");
    assert_eq!(block.last_sr, 0x0003_4000);
    assert_eq!(block.delay_since_last_sr, 98_304);
    assert_eq!(block.ssrc, SSRC);

    // A later SR replaces it.
    stats.on_sender_report(0x0008_0000, 12_000_000);
    let block = stats.report_block(SSRC, 12_000_250).expect("valid source");
    assert_eq!(block.last_sr, 0x0008_0000);
    // 250 µs × 65536 / 10^6 = 16.384.
    assert_eq!(block.delay_since_last_sr, 16);
}

#[test]
fn report_block_feeds_the_rr_and_the_peer_computes_rtt() {
    let mut stats = validated_at(1);
    for seq in (2..=50).filter(|&s| s != 25) {
        feed(&mut stats, seq);
    }
    let sr_ntp = rtcp::ntp_from_unix_micros(1_700_000_000_000_000);
    stats.on_sender_report(rtcp::ntp_middle32(sr_ntp), 3_000_000);
    let block = stats.report_block(SSRC, 3_200_000).expect("valid source");
    let packet = rtcp::build_receiver_report(0x1111, &[block], "ivr@hotline").expect("fits");
    let items = rtcp::parse(&packet).expect("our own RR");
    let rtcp::RtcpItem::ReceiverReport { blocks, .. } = &items[0] else {
        panic!("RR first, got {items:?}");
    };
    assert_eq!(blocks.as_slice(), &[block]);
    assert_eq!(
        blocks[0],
        ReportBlock {
            ssrc: SSRC,
            fraction_lost: 5, // 1 of 50
            cumulative_lost: 1,
            extended_highest_seq: 50,
            jitter: 0,
            last_sr: rtcp::ntp_middle32(sr_ntp),
            delay_since_last_sr: 13_107, // 0.2 s
        }
    );
    // The SR left its sender at T, reached us 50 ms later, we held it 200 ms and the RR took
    // 50 ms back: it arrives at T + 300 ms and RTT = 300 − 200 (DLSR) = 100 ms.
    let arrival = rtcp::ntp_from_unix_micros(1_700_000_000_000_000 + 300_000);
    let rtt = rtcp::round_trip_micros(&blocks[0], rtcp::ntp_middle32(arrival)).expect("has LSR");
    assert!((99_900..=100_100).contains(&rtt), "rtt {rtt} µs");
}
