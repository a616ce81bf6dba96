//! RTCP compound packets: exact wire bytes, round trips, the A.2 validity checks, packets we
//! ignore, padding, NTP conversion, the report interval and robustness against garbage.

use hotline_media::rtcp::{
    self, MAX_REPORT_BLOCKS, ReportBlock, RtcpError, RtcpItem, SenderInfo, build_bye,
    build_receiver_report, build_sender_report, parse,
};
use proptest::prelude::*;

const OURS: u32 = 0x0102_0304;

fn block(ssrc: u32, cumulative_lost: i32) -> ReportBlock {
    ReportBlock {
        ssrc,
        fraction_lost: 0x12,
        cumulative_lost,
        extended_highest_seq: 0x0001_0203,
        jitter: 77,
        last_sr: 0xaabb_ccdd,
        delay_since_last_sr: 0x0001_8000,
    }
}

fn cname(ssrc: u32, name: &str) -> RtcpItem {
    RtcpItem::Cname {
        ssrc,
        cname: name.to_owned(),
    }
}

#[test]
fn receiver_report_has_the_rfc_3550_layout() {
    let bytes = build_receiver_report(OURS, &[], "a").expect("fits");
    #[rustfmt::skip]
    let expect = [
        // RR: V=2 RC=0, PT 201, length 1 word, SSRC.
        0x80, 0xc9, 0x00, 0x01, 0x01, 0x02, 0x03, 0x04,
        // SDES: V=2 SC=1, PT 202, length 2, chunk SSRC, CNAME(1) len 1 "a", end-of-list.
        0x81, 0xca, 0x00, 0x02, 0x01, 0x02, 0x03, 0x04, 0x01, 0x01, b'a', 0x00,
    ];
    assert_eq!(bytes, expect);
}

#[test]
fn report_block_layout_carries_signed_cumulative_loss() {
    let bytes = build_receiver_report(OURS, &[block(0x0a0b_0c0d, -1)], "a").expect("fits");
    #[rustfmt::skip]
    let expect_rr = [
        0x81, 0xc9, 0x00, 0x07, 0x01, 0x02, 0x03, 0x04,
        0x0a, 0x0b, 0x0c, 0x0d, // SSRC of the source reported on
        0x12, 0xff, 0xff, 0xff, // fraction 0x12, cumulative −1 in 24-bit two's complement
        0x00, 0x01, 0x02, 0x03, // extended highest sequence number
        0x00, 0x00, 0x00, 0x4d, // jitter 77
        0xaa, 0xbb, 0xcc, 0xdd, // LSR
        0x00, 0x01, 0x80, 0x00, // DLSR 1.5 s
    ];
    assert_eq!(&bytes[..32], expect_rr);
}

#[test]
fn sender_report_with_two_blocks_and_cname_round_trips() {
    let info = SenderInfo {
        ntp_time: rtcp::ntp_from_unix_micros(1_700_000_000_250_000),
        rtp_ts: 0x1234_5678,
        packet_count: 1500,
        octet_count: 240_000,
    };
    let blocks = [block(0x1111_1111, 42), block(0x2222_2222, -7)];
    let bytes = build_sender_report(OURS, &info, &blocks, "ivr@10.0.0.1").expect("fits");
    // SR header + sender info (28) + 2 blocks (48), SDES 4 + 4 + 2 + 12 + pad to 24.
    assert_eq!(bytes.len(), 28 + 48 + 24);
    assert_eq!(bytes[0], 0x82, "V=2, RC=2");
    assert_eq!(bytes[1], 200);
    let items = parse(&bytes).expect("our own SR");
    assert_eq!(
        items,
        [
            RtcpItem::SenderReport {
                ssrc: OURS,
                info,
                blocks: blocks.to_vec(),
            },
            cname(OURS, "ivr@10.0.0.1"),
        ]
    );
}

#[test]
fn receiver_report_round_trips_with_and_without_blocks() {
    let bytes = build_receiver_report(OURS, &[], "x@y").expect("fits");
    assert_eq!(
        parse(&bytes).expect("RR"),
        [
            RtcpItem::ReceiverReport {
                ssrc: OURS,
                blocks: vec![],
            },
            cname(OURS, "x@y"),
        ]
    );
    let full: Vec<ReportBlock> = (0..MAX_REPORT_BLOCKS as u32).map(|i| block(i, 0)).collect();
    let bytes = build_receiver_report(OURS, &full, "x@y").expect("31 fit");
    let items = parse(&bytes).expect("RR");
    assert_eq!(
        items[0],
        RtcpItem::ReceiverReport {
            ssrc: OURS,
            blocks: full,
        }
    );
}

#[test]
fn cumulative_loss_beyond_24_bits_is_clamped_on_the_wire() {
    let bytes = build_receiver_report(
        OURS,
        &[
            block(1, 10_000_000),
            block(2, -10_000_000),
            block(3, 0x7f_ffff),
        ],
        "a",
    )
    .expect("fits");
    let Some(RtcpItem::ReceiverReport { blocks, .. }) = parse(&bytes).expect("RR").first().cloned()
    else {
        panic!("RR first");
    };
    let lost: Vec<i32> = blocks.iter().map(|b| b.cumulative_lost).collect();
    assert_eq!(lost, [0x7f_ffff, -0x80_0000, 0x7f_ffff]);
}

#[test]
fn bye_travels_in_a_compound_with_rr_and_cname() {
    let bytes = build_bye(OURS, "ivr@h", Some("call ended")).expect("fits");
    assert_eq!(bytes[1], 201, "RR first");
    assert_eq!(
        parse(&bytes).expect("BYE compound"),
        [
            RtcpItem::ReceiverReport {
                ssrc: OURS,
                blocks: vec![],
            },
            cname(OURS, "ivr@h"),
            RtcpItem::Bye {
                ssrcs: vec![OURS],
                reason: Some("call ended".to_owned()),
            },
        ]
    );
    for reason in [None, Some("")] {
        let bytes = build_bye(OURS, "ivr@h", reason).expect("fits");
        let items = parse(&bytes).expect("BYE compound");
        assert_eq!(
            items.last(),
            Some(&RtcpItem::Bye {
                ssrcs: vec![OURS],
                reason: None,
            })
        );
        // RR 8 + SDES 16 (4 header, 4 SSRC, 2 + 5 CNAME, 1 end, pad) + BYE with one SSRC 8.
        assert_eq!(bytes.len(), 32);
    }
}

#[test]
fn builders_reject_what_the_wire_cannot_hold() {
    let blocks = vec![block(1, 0); MAX_REPORT_BLOCKS + 1];
    assert_eq!(
        build_receiver_report(OURS, &blocks, "a"),
        Err(RtcpError::TooManyReportBlocks(32))
    );
    assert_eq!(
        build_sender_report(OURS, &SenderInfo::default(), &blocks, "a"),
        Err(RtcpError::TooManyReportBlocks(32))
    );
    let long = "c".repeat(256);
    assert_eq!(
        build_receiver_report(OURS, &[], &long),
        Err(RtcpError::CnameTooLong(256))
    );
    assert_eq!(
        build_bye(OURS, "a", Some(&long)),
        Err(RtcpError::ReasonTooLong(256))
    );
    // 255 octets is the limit, not past it.
    let max = "c".repeat(255);
    let bytes = build_receiver_report(OURS, &[], &max).expect("255 fits");
    assert_eq!(parse(&bytes).expect("RR")[1], cname(OURS, &max));
}

/// RR + SDES CNAME as hand-written bytes, to append other packets to.
fn rr_sdes() -> Vec<u8> {
    build_receiver_report(OURS, &[], "a").expect("fits")
}

#[test]
fn app_xr_feedback_and_unknown_packets_are_skipped() {
    let mut bytes = rr_sdes();
    #[rustfmt::skip]
    bytes.extend_from_slice(&[
        // APP subtype 0, name "TEST", no data.
        0x80, 0xcc, 0x00, 0x02, 0x01, 0x02, 0x03, 0x04, b'T', b'E', b'S', b'T',
        // PSFB PLI (FMT 1): sender SSRC, media SSRC.
        0x81, 0xce, 0x00, 0x02, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08,
        // RTPFB generic NACK (FMT 1) with one FCI.
        0x81, 0xcd, 0x00, 0x03, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08,
        0x00, 0x10, 0x00, 0x00,
        // XR with no blocks.
        0x80, 0xcf, 0x00, 0x01, 0x01, 0x02, 0x03, 0x04,
        // An unassigned type with a nonsense body.
        0x80, 0xd2, 0x00, 0x01, 0xff, 0xff, 0xff, 0xff,
    ]);
    bytes.extend_from_slice(&build_bye(7, "b", None).expect("fits")[20..]);
    assert_eq!(
        parse(&bytes).expect("valid compound"),
        [
            RtcpItem::ReceiverReport {
                ssrc: OURS,
                blocks: vec![],
            },
            cname(OURS, "a"),
            RtcpItem::Bye {
                ssrcs: vec![7],
                reason: None,
            },
        ]
    );
}

#[test]
fn padding_on_the_last_packet_is_stripped_before_parsing() {
    for pad in [4u8, 8, 12] {
        let mut bytes = build_receiver_report(OURS, &[], "a").expect("fits");
        let sdes = 8;
        bytes[sdes] |= 0x20;
        let words = (12 + usize::from(pad)) / 4 - 1;
        bytes[sdes + 3] = words as u8;
        bytes.extend(std::iter::repeat_n(0, usize::from(pad) - 1));
        bytes.push(pad);
        assert_eq!(
            parse(&bytes).expect("padded SDES"),
            [
                RtcpItem::ReceiverReport {
                    ssrc: OURS,
                    blocks: vec![],
                },
                cname(OURS, "a"),
            ],
            "padding {pad}"
        );
    }
}

#[test]
fn padding_must_be_last_and_consistent() {
    let mut bytes = rr_sdes();
    bytes[0] |= 0x20;
    assert_eq!(parse(&bytes), Err(RtcpError::PaddingNotLast { offset: 0 }));

    // A padded RR alone whose count is 0, unaligned, or larger than the packet.
    for padding in [0u8, 3, 9] {
        let bytes = [0xa0, 0xc9, 0x00, 0x01, 0x01, 0x02, 0x03, padding];
        assert_eq!(
            parse(&bytes),
            Err(RtcpError::BadPadding {
                offset: 0,
                padding,
                len: 8
            })
        );
    }
    // A count of 4 in an 8-octet RR is consistent framing, but what is left (a header
    // without an SSRC) is too short to be an RR: malformed, not read past its end.
    let bytes = [0xa0, 0xc9, 0x00, 0x01, 0x00, 0x00, 0x00, 0x04];
    assert!(matches!(
        parse(&bytes),
        Err(RtcpError::Malformed {
            packet_type: 201,
            ..
        })
    ));
}

#[test]
fn compound_must_start_with_a_report() {
    let bytes = rr_sdes();
    assert_eq!(parse(&bytes[8..]), Err(RtcpError::NotReportFirst(202)));
    let bye = build_bye(OURS, "a", None).expect("fits");
    assert_eq!(parse(&bye[20..]), Err(RtcpError::NotReportFirst(203)));
    // An RTP packet (PT 0) sent to the RTCP port.
    let rtp = [0x80, 0x00, 0x00, 0x01, 0, 0, 0, 160, 1, 2, 3, 4];
    assert_eq!(parse(&rtp), Err(RtcpError::NotReportFirst(0)));
}

#[test]
fn every_packet_must_be_version_2() {
    let mut bytes = rr_sdes();
    bytes[0] = 0x40;
    assert_eq!(
        parse(&bytes),
        Err(RtcpError::BadVersion {
            offset: 0,
            version: 1
        })
    );
    // rtcp-types' own compound check looks at the first packet only; ours looks at each.
    let mut bytes = rr_sdes();
    bytes[8] = 0x41;
    assert_eq!(
        parse(&bytes),
        Err(RtcpError::BadVersion {
            offset: 8,
            version: 1
        })
    );
}

#[test]
fn truncated_datagrams_are_errors() {
    assert_eq!(parse(&[]), Err(RtcpError::Empty));
    let info = SenderInfo::default();
    let bytes = build_sender_report(OURS, &info, &[block(5, 1)], "ivr@h").expect("fits");
    let sr_len = 28 + 24;
    for cut in 1..bytes.len() {
        let result = parse(&bytes[..cut]);
        if cut == sr_len {
            // The SR alone is a complete (if CNAME-less) compound.
            assert!(result.is_ok(), "cut {cut}: {result:?}");
        } else {
            assert!(
                matches!(result, Err(RtcpError::Truncated { .. })),
                "cut {cut}: {result:?}"
            );
        }
    }
}

#[test]
fn inconsistent_counts_are_malformed_not_panics() {
    // RR claiming one report block in a packet with room for none.
    let bytes = [0x81, 0xc9, 0x00, 0x01, 0x01, 0x02, 0x03, 0x04];
    assert!(matches!(
        parse(&bytes),
        Err(RtcpError::Malformed {
            offset: 0,
            packet_type: 201,
            ..
        })
    ));
    // SDES item whose length runs past the packet.
    let mut bytes = rr_sdes();
    bytes[8 + 9] = 40;
    assert!(matches!(
        parse(&bytes),
        Err(RtcpError::Malformed {
            offset: 8,
            packet_type: 202,
            ..
        })
    ));
    // BYE listing three sources in room for one.
    let mut bytes = build_bye(OURS, "a", None).expect("fits");
    bytes[20] = 0x83;
    assert!(matches!(
        parse(&bytes),
        Err(RtcpError::Malformed {
            packet_type: 203,
            ..
        })
    ));
}

#[test]
fn sdes_non_cname_items_and_bad_priv_items_are_ignored_safely() {
    let mut bytes = build_receiver_report(OURS, &[], "a").expect("fits")[..8].to_vec();
    #[rustfmt::skip]
    bytes.extend_from_slice(&[
        // SDES, two chunks, 7 words after the header word.
        0x82, 0xca, 0x00, 0x07,
        // Chunk 1: NAME "Bo", CNAME "c@d", end.
        0x00, 0x00, 0x00, 0x09, 0x02, 0x02, b'B', b'o', 0x01, 0x03, b'c', b'@', b'd', 0x00,
        0x00, 0x00,
        // Chunk 2, whose SSRC starts with null octets that must not be taken for chunk 1's
        // padding: a 1-octet PRIV item claiming a 2-octet prefix (stepped over by its
        // length), CNAME "e", end.
        0x00, 0x00, 0x00, 0x0a, 0x08, 0x01, 0x02, 0x01, 0x01, b'e', 0x00, 0x00,
    ]);
    assert_eq!(
        parse(&bytes).expect("SDES"),
        [
            RtcpItem::ReceiverReport {
                ssrc: OURS,
                blocks: vec![],
            },
            cname(9, "c@d"),
            cname(10, "e"),
        ]
    );
}

#[test]
fn sdes_chunk_count_bounds_what_is_read() {
    let mut bytes = rr_sdes();
    // SC = 0: the chunk that follows is not read.
    bytes[8] = 0x80;
    assert_eq!(parse(&bytes).expect("SDES").len(), 1);
    // SC = 2 with one chunk present.
    bytes[8] = 0x82;
    assert!(matches!(
        parse(&bytes),
        Err(RtcpError::Malformed {
            packet_type: 202,
            ..
        })
    ));
    // An item list without its terminating null.
    let mut bytes = rr_sdes();
    bytes[19] = b'b';
    assert!(matches!(
        parse(&bytes),
        Err(RtcpError::Malformed {
            packet_type: 202,
            ..
        })
    ));
}

#[test]
fn ntp_conversion_from_unix_micros() {
    assert_eq!(rtcp::ntp_from_unix_micros(0), 2_208_988_800u64 << 32);
    assert_eq!(
        rtcp::ntp_from_unix_micros(1_500_000),
        (2_208_988_801u64 << 32) | 0x8000_0000
    );
    // 2023-11-14T22:13:20.25Z.
    let ntp = rtcp::ntp_from_unix_micros(1_700_000_000_250_000);
    assert_eq!(ntp, 0xe8fe_6f80_4000_0000);
    assert_eq!(rtcp::ntp_middle32(ntp), 0x6f80_4000);
    // One microsecond is 4294.97 fraction units, truncated.
    assert_eq!(rtcp::ntp_from_unix_micros(1) & 0xffff_ffff, 4294);
    // NTP era 1 starts on 2036-02-07T06:28:16Z: the seconds wrap to 0.
    assert_eq!(rtcp::ntp_from_unix_micros(2_085_978_496_000_000), 0);
}

#[test]
fn round_trip_time_from_lsr_and_dlsr() {
    let mut b = block(OURS, 0);
    b.last_sr = 0x0001_0000; // 1 s
    b.delay_since_last_sr = 0x0000_8000; // 0.5 s
    // Arrival at 1.75 s: 0.25 s round trip.
    assert_eq!(rtcp::round_trip_micros(&b, 0x0001_c000), Some(250_000));
    // Arriving "before" LSR + DLSR is nonsense.
    assert_eq!(rtcp::round_trip_micros(&b, 0x0001_4000), None);
    b.last_sr = 0;
    assert_eq!(rtcp::round_trip_micros(&b, 0x0001_c000), None);
    // Across the 16.16 wrap.
    b.last_sr = 0xffff_0000;
    b.delay_since_last_sr = 0;
    assert_eq!(rtcp::round_trip_micros(&b, 0x0000_8000), Some(1_500_000));
}

#[test]
fn report_interval_is_5_s_randomized_by_half() {
    assert_eq!(rtcp::report_interval_micros(0, false), 2_500_000);
    assert_eq!(rtcp::report_interval_micros(1 << 31, false), 5_000_000);
    assert_eq!(rtcp::report_interval_micros(u32::MAX, false), 7_499_999);
    // The first report may come after half the minimum.
    assert_eq!(rtcp::report_interval_micros(0, true), 1_250_000);
    assert_eq!(rtcp::report_interval_micros(u32::MAX, true), 3_749_999);
    assert_eq!(
        rtcp::next_report_time(10_000_000, 1 << 31, false),
        15_000_000
    );
    assert_eq!(rtcp::next_report_time(u64::MAX - 1, 0, false), u64::MAX);
    // Evenly spread random values give intervals evenly spread over [2.5 s, 7.5 s).
    let n = 1000u64;
    let intervals: Vec<u64> = (0..n)
        .map(|i| rtcp::report_interval_micros((i * (1 << 32) / n) as u32, false))
        .collect();
    let mean = intervals.iter().sum::<u64>() / n;
    assert!((4_990_000..=5_010_000).contains(&mean), "mean {mean}");
    assert!(intervals.windows(2).all(|w| w[0] < w[1]));
}

fn arb_block() -> impl Strategy<Value = ReportBlock> {
    (
        any::<u32>(),
        any::<u8>(),
        -0x80_0000i32..=0x7f_ffff,
        any::<u32>(),
        any::<u32>(),
        any::<u32>(),
        any::<u32>(),
    )
        .prop_map(
            |(ssrc, fraction_lost, cumulative_lost, ext, jitter, lsr, dlsr)| ReportBlock {
                ssrc,
                fraction_lost,
                cumulative_lost,
                extended_highest_seq: ext,
                jitter,
                last_sr: lsr,
                delay_since_last_sr: dlsr,
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2_000, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        let _ = parse(&bytes);
    }

    /// Garbage that gets past the framing: a valid header in front of random content.
    #[test]
    fn random_content_behind_valid_headers_never_panics(
        types in proptest::collection::vec(200u8..=207, 1..4),
        counts in proptest::collection::vec(0u8..32, 4),
        bodies in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..16), 4),
    ) {
        let mut bytes = Vec::new();
        for (i, pt) in types.iter().enumerate() {
            let words = bodies[i].len();
            bytes.extend_from_slice(&[0x80 | counts[i], *pt, 0, words as u8]);
            for b in &bodies[i] {
                bytes.extend_from_slice(&[*b, b.wrapping_mul(7), 0, *b & 3]);
            }
        }
        let _ = parse(&bytes);
    }

    #[test]
    fn mutated_valid_compounds_never_panic(
        flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
    ) {
        let info = SenderInfo { ntp_time: 1, rtp_ts: 2, packet_count: 3, octet_count: 4 };
        let mut bytes = build_sender_report(OURS, &info, &[block(5, -3)], "ivr@h").expect("fits");
        bytes.extend_from_slice(&build_bye(OURS, "ivr@h", Some("bye")).expect("fits")[8..]);
        for (at, value) in flips {
            let i = at.index(bytes.len());
            bytes[i] = value;
        }
        let _ = parse(&bytes);
    }

    #[test]
    fn built_reports_parse_back_equal(
        ssrc in any::<u32>(),
        info in (any::<u64>(), any::<u32>(), any::<u32>(), any::<u32>()),
        blocks in proptest::collection::vec(arb_block(), 0..=MAX_REPORT_BLOCKS),
        name in "[ -~]{0,255}",
        sender in any::<bool>(),
    ) {
        let info = SenderInfo { ntp_time: info.0, rtp_ts: info.1, packet_count: info.2, octet_count: info.3 };
        let (bytes, report) = if sender {
            let bytes = build_sender_report(ssrc, &info, &blocks, &name).expect("fits");
            (bytes, RtcpItem::SenderReport { ssrc, info, blocks: blocks.clone() })
        } else {
            let bytes = build_receiver_report(ssrc, &blocks, &name).expect("fits");
            (bytes, RtcpItem::ReceiverReport { ssrc, blocks: blocks.clone() })
        };
        prop_assert_eq!(bytes.len() % 4, 0);
        prop_assert_eq!(parse(&bytes).expect("ours"), vec![report, cname(ssrc, &name)]);
    }
}
