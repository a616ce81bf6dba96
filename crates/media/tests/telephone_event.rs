//! RFC 4733 telephone events: payload layout, the sender's packet schedule, and a receiver that
//! reports each key press exactly once through redundancy, loss, reordering and wrap-around.

use hotline_media::Digit;
use hotline_media::telephone_event::{
    EventPacket, EventReceiver, EventSender, ReceivedDigit, TelephoneEvent, TelephoneEventError,
};

fn payload(code: u8, end: bool, volume: u8, duration: u16) -> [u8; 4] {
    let [hi, lo] = duration.to_be_bytes();
    [code, if end { 0x80 } else { 0 } | volume, hi, lo]
}

/// Feeds packets and collects the reported keys.
fn feed(receiver: &mut EventReceiver, packets: &[EventPacket]) -> Vec<ReceivedDigit> {
    packets
        .iter()
        .filter_map(|p| {
            receiver
                .receive(p.timestamp, p.marker, &p.payload)
                .expect("valid payload")
        })
        .collect()
}

fn press(digit: Digit, duration_ms: u32, timestamp: u32) -> Vec<EventPacket> {
    EventSender::default()
        .packets(digit, duration_ms, timestamp)
        .expect("short press")
}

#[test]
fn payload_layout_is_event_e_r_volume_duration() {
    // Key 5, end, -10 dBm0, 800 units: 05 | 1 0 001010 | 0x0320.
    let ev = TelephoneEvent::new(Digit::D5, true, 10, 800).unwrap();
    assert_eq!(ev.encode(), [0x05, 0x8A, 0x03, 0x20]);
    assert_eq!(TelephoneEvent::decode(&[0x05, 0x8A, 0x03, 0x20]), Ok(ev));

    for digit in Digit::ALL {
        for (end, volume, duration) in [(false, 0, 0), (true, 63, u16::MAX), (false, 37, 1234)] {
            let ev = TelephoneEvent::new(digit, end, volume, duration).unwrap();
            let bytes = ev.encode();
            assert_eq!(bytes[0], digit.event_code());
            let back = TelephoneEvent::decode(&bytes).unwrap();
            assert_eq!(back, ev);
            assert_eq!(
                (back.digit(), back.is_end(), back.volume(), back.duration()),
                (digit, end, volume, duration)
            );
        }
    }
}

#[test]
fn event_codes_follow_rfc_4733_section_3() {
    let keys: String = (0..16)
        .map(|c| Digit::from_event_code(c).unwrap().as_char())
        .collect();
    assert_eq!(keys, "0123456789*#ABCD");
    assert_eq!(Digit::from_event_code(16), None);
    assert_eq!(Digit::from_char('#'), Some(Digit::Hash));
    assert_eq!(Digit::from_char('d'), Some(Digit::D));
    assert_eq!(Digit::from_char('x'), None);
}

#[test]
fn bad_payloads_are_errors() {
    for len in 0..4 {
        assert_eq!(
            TelephoneEvent::decode(&[1, 2, 3][..len.min(3)]),
            Err(TelephoneEventError::Short { len: len.min(3) })
        );
    }
    assert_eq!(
        TelephoneEvent::new(Digit::D1, false, 64, 0),
        Err(TelephoneEventError::BadVolume(64))
    );
    assert_eq!(
        EventSender::new(200),
        Err(TelephoneEventError::BadVolume(200))
    );
    // Event 16 is flash: valid RFC 4733, not a key.
    assert_eq!(
        TelephoneEvent::decode(&payload(16, false, 10, 0)),
        Err(TelephoneEventError::NotDtmf(16))
    );
}

#[test]
fn reserved_bit_and_trailing_octets_are_ignored() {
    let ev = TelephoneEvent::decode(&[0x0B, 0x40 | 0x80 | 7, 0x01, 0x90, 0xAA, 0xBB]).unwrap();
    assert_eq!(
        (ev.digit(), ev.is_end(), ev.volume(), ev.duration()),
        (Digit::Hash, true, 7, 400)
    );
}

#[test]
fn sender_schedule_for_a_120_ms_key() {
    let packets = EventSender::new(12)
        .unwrap()
        .packets(Digit::D9, 120, 5000)
        .unwrap();
    let summary: Vec<(u32, bool, bool, u16)> = packets
        .iter()
        .map(|p| {
            let ev = TelephoneEvent::decode(&p.payload).unwrap();
            assert_eq!(p.timestamp, 5000, "every packet carries the onset");
            assert_eq!((ev.digit(), ev.volume()), (Digit::D9, 12));
            (p.send_at_ms, p.marker, ev.is_end(), ev.duration())
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            (0, true, false, 0),
            (50, false, false, 400),
            (100, false, false, 800),
            (120, false, true, 960),
            (170, false, true, 960),
            (220, false, true, 960),
        ]
    );
}

#[test]
fn sender_update_on_the_end_instant_is_the_end_packet() {
    let packets = press(Digit::D1, 100, 0);
    let durations: Vec<u16> = packets
        .iter()
        .map(|p| TelephoneEvent::decode(&p.payload).unwrap().duration())
        .collect();
    assert_eq!(durations, vec![0, 400, 800, 800, 800]);
    assert_eq!(packets.iter().filter(|p| p.marker).count(), 1);
}

#[test]
fn sender_refuses_presses_beyond_the_duration_field() {
    assert!(EventSender::default().packets(Digit::D1, 8191, 0).is_ok());
    assert_eq!(
        EventSender::default().packets(Digit::D1, 8192, 0),
        Err(TelephoneEventError::TooLong { duration_ms: 8192 })
    );
    assert_eq!(
        EventSender::default().packets(Digit::D1, u32::MAX, 0),
        Err(TelephoneEventError::TooLong {
            duration_ms: u32::MAX
        })
    );
}

#[test]
fn one_press_is_reported_once() {
    let mut rx = EventReceiver::new();
    let got = feed(&mut rx, &press(Digit::D7, 200, 160_000));
    assert_eq!(
        got,
        vec![ReceivedDigit {
            digit: Digit::D7,
            timestamp: 160_000,
            volume: EventSender::DEFAULT_VOLUME
        }]
    );
    assert_eq!(rx.current_ended(), Some(true));
}

#[test]
fn a_dialled_number_comes_out_in_order() {
    let mut rx = EventReceiver::new();
    let mut ts = 1_000u32;
    let mut got = Vec::new();
    for c in "12345#0*ABCD6789".chars() {
        got.extend(feed(&mut rx, &press(Digit::from_char(c).unwrap(), 80, ts)));
        // 80 ms tone + 60 ms pause, with audio packets in between advancing the clock.
        ts += 140 * 8;
    }
    let keys: String = got.iter().map(|d| d.digit.as_char()).collect();
    assert_eq!(keys, "12345#0*ABCD6789");
}

#[test]
fn the_same_key_twice_is_two_presses() {
    let mut rx = EventReceiver::new();
    let mut got = feed(&mut rx, &press(Digit::D3, 100, 8000));
    got.extend(feed(&mut rx, &press(Digit::D3, 100, 8000 + 200 * 8)));
    assert_eq!(got.len(), 2);
    assert_eq!(got[1].timestamp, 8000 + 1600);
}

#[test]
fn duplicates_and_reordering_within_a_press_report_once() {
    let packets = press(Digit::D2, 300, 42);
    // Every packet twice: first in reverse (end packets before the marker), then in order.
    let scrambled: Vec<EventPacket> = packets
        .iter()
        .rev()
        .chain(packets.iter())
        .copied()
        .collect();
    assert!(
        scrambled[0].payload[1] & 0x80 != 0,
        "an end packet comes first"
    );
    let mut rx = EventReceiver::new();
    let got = feed(&mut rx, &scrambled);
    assert_eq!(got.len(), 1);
    assert_eq!((got[0].digit, got[0].timestamp), (Digit::D2, 42));
}

#[test]
fn a_lost_start_is_recovered_from_updates_or_end_packets() {
    let packets = press(Digit::Star, 150, 900);
    let mut rx = EventReceiver::new();
    assert_eq!(feed(&mut rx, &packets[1..]).len(), 1);

    let mut rx = EventReceiver::new();
    let ends: Vec<EventPacket> = packets
        .iter()
        .filter(|p| TelephoneEvent::decode(&p.payload).unwrap().is_end())
        .copied()
        .collect();
    assert_eq!(ends.len(), 3);
    let got = feed(&mut rx, &ends);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].digit, Digit::Star);
}

#[test]
fn late_end_packets_of_an_earlier_press_are_ignored() {
    let first = press(Digit::D4, 100, 10_000);
    let second = press(Digit::D5, 100, 12_000);
    let mut rx = EventReceiver::new();
    let mut got = feed(&mut rx, &first[..2]);
    got.extend(feed(&mut rx, &second[..1]));
    // The first press's end packets arrive after the second press began.
    got.extend(feed(&mut rx, &first[2..]));
    got.extend(feed(&mut rx, &second[1..]));
    let keys: Vec<Digit> = got.iter().map(|d| d.digit).collect();
    assert_eq!(keys, vec![Digit::D4, Digit::D5]);
}

#[test]
fn timestamps_wrap_around() {
    let before = u32::MAX - 500;
    let after = before.wrapping_add(2_000);
    assert!(after < before);
    let mut rx = EventReceiver::new();
    let mut got = feed(&mut rx, &press(Digit::D8, 100, before));
    got.extend(feed(&mut rx, &press(Digit::D9, 100, after)));
    // A retransmission from before the wrap is still older.
    got.extend(feed(&mut rx, &press(Digit::D8, 100, before)[2..]));
    let keys: Vec<Digit> = got.iter().map(|d| d.digit).collect();
    assert_eq!(keys, vec![Digit::D8, Digit::D9]);
}

#[test]
fn long_press_segments_continue_the_same_press() {
    // RFC 4733 §2.5.1.3: a press longer than the duration field continues in a new segment
    // whose timestamp is where the previous one's duration ran out, without the marker.
    let t0 = 70_000u32;
    let t1 = t0 + u32::from(u16::MAX);
    let mut rx = EventReceiver::new();
    let mut reports = |packets: &[(u32, bool, bool, u16)]| {
        packets
            .iter()
            .filter_map(|&(ts, marker, end, duration)| {
                rx.receive(ts, marker, &payload(0, end, 10, duration))
                    .unwrap()
            })
            .count()
    };
    let one_press = reports(&[
        (t0, true, false, 0),
        (t0, false, false, 30_000),
        (t0, false, false, u16::MAX),
        (t0, false, false, u16::MAX),
        (t1, false, false, 400),
        (t1, false, true, 1_000),
        (t1, false, true, 1_000),
    ]);
    assert_eq!(one_press, 1, "one press across two segments");
    // A real new press of the same key comes with the marker.
    assert_eq!(reports(&[(t1 + 3_000, true, false, 0)]), 1);
}

#[test]
fn a_new_timestamp_that_is_not_a_segment_boundary_is_a_new_press() {
    let mut rx = EventReceiver::new();
    // Key 1 whose end packets were all lost, then key 1 again whose marker packet was lost.
    assert!(
        rx.receive(0, true, &payload(1, false, 10, 800))
            .unwrap()
            .is_some()
    );
    assert!(
        rx.receive(2_400, false, &payload(1, false, 10, 400))
            .unwrap()
            .is_some()
    );
}

#[test]
fn bad_packets_leave_the_receiver_unchanged() {
    let packets = press(Digit::C, 100, 300);
    let mut rx = EventReceiver::new();
    assert_eq!(feed(&mut rx, &packets[..2]).len(), 1);
    assert_eq!(
        rx.receive(99_999, true, &[0x0C, 0x0A]),
        Err(TelephoneEventError::Short { len: 2 })
    );
    assert_eq!(
        rx.receive(99_999, true, &payload(16, false, 10, 0)),
        Err(TelephoneEventError::NotDtmf(16))
    );
    assert!(feed(&mut rx, &packets[2..]).is_empty());
}
