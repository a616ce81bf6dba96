//! The media shell over real loopback sockets: a port pool that skips taken ports and runs
//! dry cleanly, a prompt played to a "phone" socket at 50 packets a second with its payload
//! intact, RFC 4733 digits reported once, a bridge relaying both ways, and a recording.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hotline_media::session::{LegConfig, MediaConfig};
use hotline_media::{Codec, Digit, EventSender, RtpHeader, RtpPacket, g711};
use hotline_media_rt::{MediaNotice, PortError, PortPool, PromptCache, spawn_call};
use tokio::net::UdpSocket;
use tokio::sync::mpsc;

fn wav(samples: &[i16]) -> Vec<u8> {
    let mut cur = std::io::Cursor::new(Vec::new());
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 8000,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::new(&mut cur, spec).unwrap();
    for s in samples {
        w.write_sample(*s).unwrap();
    }
    w.finalize().unwrap();
    cur.into_inner()
}

fn cache_with(name: &str, samples: &[i16]) -> Arc<PromptCache> {
    let bytes: &'static [u8] = Box::leak(wav(samples).into_boxed_slice());
    let mut builtin = HashMap::new();
    builtin.insert(name.to_string(), bytes);
    Arc::new(PromptCache::new(builtin, None, None))
}

fn leg(remote: SocketAddr, ssrc: u32) -> LegConfig {
    LegConfig {
        remote: Some(remote),
        codec: Codec::Pcmu,
        pt: 0,
        te_pt: Some(101),
        ssrc,
        initial_seq: 100,
        initial_ts: 1000,
        latch: true,
    }
}

fn rtp(pt: u8, seq: u16, ts: u32, marker: bool, payload: &[u8]) -> Vec<u8> {
    let mut v = Vec::new();
    RtpHeader {
        marker,
        pt,
        seq,
        ts,
        ssrc: 0x5150,
    }
    .write_packet(payload, &mut v);
    v
}

async fn recv_rtp(sock: &UdpSocket, limit: Duration) -> Option<(Vec<u8>, std::time::Instant)> {
    let mut buf = vec![0u8; 2048];
    match tokio::time::timeout(limit, sock.recv_from(&mut buf)).await {
        Ok(Ok((n, _))) => Some((buf[..n].to_vec(), std::time::Instant::now())),
        _ => None,
    }
}

#[tokio::test]
async fn the_pool_skips_ports_held_elsewhere_and_reports_exhaustion() {
    let ip = "127.0.0.1".parse().unwrap();
    // Find a free even base with its neighbours, then hold the first pair from outside.
    let probe = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let base = probe.local_addr().unwrap().port() & !1;
    drop(probe);
    let outsider = std::net::UdpSocket::bind(("127.0.0.1", base));
    let pool = PortPool::new(ip, base, base + 3).unwrap();
    assert_eq!(pool.capacity(), 2);
    let a = pool.allocate().unwrap();
    if outsider.is_ok() {
        assert_eq!(a.rtp_port(), base + 2, "the held pair is skipped");
    }
    let b = pool.allocate();
    assert!(
        matches!(b, Err(PortError::Exhausted { .. })),
        "only one pair left to us"
    );
    let port = a.rtp_port();
    drop(a);
    drop(outsider);
    let c = pool.allocate().unwrap();
    assert!(c.rtp_port() == port || c.rtp_port() == base);
    assert!(matches!(
        PortPool::new(ip, 5001, 5002),
        Err(PortError::EmptyRange { .. })
    ));
}

#[tokio::test]
async fn a_prompt_reaches_the_phone_paced_and_intact_and_digits_come_back() {
    let phone = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let pool = PortPool::new("127.0.0.1".parse().unwrap(), 31000, 31998).unwrap();
    let pair = pool.allocate().unwrap();
    let ours: SocketAddr = (
        "127.0.0.1".parse::<std::net::IpAddr>().unwrap(),
        pair.rtp_port(),
    )
        .into();
    let tone: Vec<i16> = (0..1600)
        .map(|i| ((i as f32 * 0.3).sin() * 8000.0) as i16)
        .collect();
    let prompts = cache_with("hello", &tone);
    let (tx, mut rx) = mpsc::unbounded_channel();
    let h = spawn_call(
        pair,
        leg(phone.local_addr().unwrap(), 0xaaaa),
        MediaConfig::default(),
        prompts,
        tx,
    );
    let (id, missing) = h.play(&["hello".into(), "missing".into()], false);
    assert_eq!(missing, vec!["missing".to_string()]);
    let mut got = Vec::new();
    let mut times = Vec::new();
    while got.len() < 1600 {
        let (pkt, at) = recv_rtp(&phone, Duration::from_secs(2))
            .await
            .expect("prompt packets");
        let p = RtpPacket::parse(&pkt).unwrap();
        assert_eq!(p.header.ssrc, 0xaaaa);
        got.extend(p.payload.iter().map(|&c| g711::ulaw_to_linear(c)));
        times.push(at);
    }
    assert_eq!(times.len(), 10);
    let span = times[9] - times[0];
    assert!(
        span >= Duration::from_millis(150) && span <= Duration::from_millis(260),
        "ten packets over ~180 ms, not a burst: {span:?}"
    );
    for (a, b) in tone.iter().zip(&got) {
        let expect = g711::ulaw_to_linear(g711::linear_to_ulaw(*a));
        assert_eq!(expect, *b);
    }
    match tokio::time::timeout(Duration::from_secs(1), rx.recv()).await {
        Ok(Some(MediaNotice::PlaybackDone { id: done })) => assert_eq!(done, id),
        other => panic!("expected PlaybackDone, got {other:?}"),
    }
    // The phone presses 9 (RFC 4733).
    for (i, p) in EventSender::default()
        .packets(Digit::D9, 100, 4000)
        .unwrap()
        .iter()
        .enumerate()
    {
        phone
            .send_to(
                &rtp(101, 10 + i as u16, p.timestamp, p.marker, &p.payload),
                ours,
            )
            .await
            .unwrap();
    }
    match tokio::time::timeout(Duration::from_secs(1), rx.recv()).await {
        Ok(Some(MediaNotice::Digit { digit, .. })) => assert_eq!(digit, Digit::D9),
        other => panic!("expected the digit, got {other:?}"),
    }
    drop(h);
    match tokio::time::timeout(Duration::from_secs(1), rx.recv()).await {
        Ok(Some(MediaNotice::Ended { caller, .. })) => {
            assert_eq!(caller.tx_packets, 10);
            assert!(caller.rx_packets >= 5);
        }
        other => panic!("expected Ended, got {other:?}"),
    }
}

#[tokio::test]
async fn a_bridge_relays_both_ways_and_records_both_sides() {
    let phone = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let agent = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let pool = PortPool::new("127.0.0.1".parse().unwrap(), 32000, 32998).unwrap();
    let cpair = pool.allocate().unwrap();
    let ppair = pool.allocate().unwrap();
    let ip: std::net::IpAddr = "127.0.0.1".parse().unwrap();
    let to_caller_side: SocketAddr = (ip, cpair.rtp_port()).into();
    let to_peer_side: SocketAddr = (ip, ppair.rtp_port()).into();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rec/call.wav");
    let (tx, mut rx) = mpsc::unbounded_channel();
    let cfg = MediaConfig {
        record: true,
        ..MediaConfig::default()
    };
    let h = spawn_call(
        cpair,
        leg(phone.local_addr().unwrap(), 1),
        cfg,
        cache_with("x", &[0; 160]),
        tx,
    );
    h.attach_peer(
        ppair,
        leg(agent.local_addr().unwrap(), 2),
        Some(path.clone()),
    );
    let said = g711::linear_to_ulaw(3000);
    let answered = g711::linear_to_ulaw(-3000);
    for i in 0..25u16 {
        phone
            .send_to(
                &rtp(0, i, u32::from(i) * 160, i == 0, &[said; 160]),
                to_caller_side,
            )
            .await
            .unwrap();
        agent
            .send_to(
                &rtp(0, i, u32::from(i) * 160, i == 0, &[answered; 160]),
                to_peer_side,
            )
            .await
            .unwrap();
        let (a, _) = recv_rtp(&agent, Duration::from_secs(1))
            .await
            .expect("relayed to the agent");
        let a = RtpPacket::parse(&a).unwrap();
        assert_eq!((a.header.ssrc, a.payload[0]), (2, said));
        let (c, _) = recv_rtp(&phone, Duration::from_secs(1))
            .await
            .expect("relayed to the caller");
        let c = RtpPacket::parse(&c).unwrap();
        assert_eq!((c.header.ssrc, c.payload[0]), (1, answered));
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    drop(h);
    let ended = loop {
        match tokio::time::timeout(Duration::from_secs(2), rx.recv()).await {
            Ok(Some(MediaNotice::Ended { recording, .. })) => break recording,
            Ok(Some(_)) => continue,
            other => panic!("expected Ended, got {other:?}"),
        }
    };
    assert_eq!(ended.as_deref(), Some(path.as_path()));
    let mut r = hound::WavReader::open(&path).unwrap();
    assert_eq!(r.spec().channels, 2);
    let s: Vec<i16> = r.samples::<i16>().map(|x| x.unwrap()).collect();
    assert!(
        s.len() >= 2 * 160 * 10,
        "at least 200 ms recorded: {}",
        s.len()
    );
    let left_speech = s
        .iter()
        .step_by(2)
        .filter(|&&v| v == g711::ulaw_to_linear(said))
        .count();
    let right_speech = s
        .iter()
        .skip(1)
        .step_by(2)
        .filter(|&&v| v == g711::ulaw_to_linear(answered))
        .count();
    assert!(left_speech >= 160 * 8, "caller on the left: {left_speech}");
    assert!(
        right_speech >= 160 * 8,
        "agent on the right: {right_speech}"
    );
}

#[test]
fn prompts_in_the_wrong_format_are_refused_with_the_reason() {
    let mut cur = std::io::Cursor::new(Vec::new());
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 16000,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::new(&mut cur, spec).unwrap();
    w.write_sample(0i16).unwrap();
    w.finalize().unwrap();
    let e = hotline_media_rt::decode_wav("greeting", "x.wav", cur.get_ref()).unwrap_err();
    assert!(e.to_string().contains("16000 Hz"), "{e}");
    let e = hotline_media_rt::decode_wav("greeting", "x.wav", b"RIFF....").unwrap_err();
    assert!(e.to_string().contains("greeting"), "{e}");
    let cache = PromptCache::new(HashMap::new(), None, None);
    assert!(!cache.exists("../etc/passwd"));
    assert!(
        cache
            .get("nope")
            .unwrap_err()
            .to_string()
            .contains("not found")
    );
}
