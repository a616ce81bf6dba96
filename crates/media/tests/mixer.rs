//! The conference mixer on a manual clock: everyone hears the others and not themselves,
//! sums saturate, mute and listen-only, a participant who stops sending stalls nobody,
//! mixed codecs.

use hotline_media::g711;
use hotline_media::jitter::{FRAME_SAMPLES, JitterConfig};
use hotline_media::mixer::{Mixed, Mixer, ParticipantId};
use hotline_media::sdp::Codec;

fn encode(codec: Codec, level: i16) -> Vec<u8> {
    let pcm = [level; FRAME_SAMPLES];
    let mut out = vec![0u8; FRAME_SAMPLES];
    match codec {
        Codec::Pcmu => g711::encode_ulaw(&pcm, &mut out),
        Codec::Pcma => g711::encode_alaw(&pcm, &mut out),
    };
    out
}

fn level(codec: Codec, payload: &[u8]) -> i32 {
    let mut pcm = vec![0i16; payload.len()];
    match codec {
        Codec::Pcmu => g711::decode_ulaw(payload, &mut pcm),
        Codec::Pcma => g711::decode_alaw(payload, &mut pcm),
    };
    // The frames are constant; the middle sample stands for the frame.
    i32::from(pcm[FRAME_SAMPLES / 2])
}

/// Runs `ticks` frames: each sender pushes one packet per tick (None: silent that tick).
fn run(
    m: &mut Mixer,
    from: u32,
    ticks: u32,
    send: &[(ParticipantId, Codec, Option<i16>)],
) -> Vec<Vec<Mixed>> {
    let mut out = Vec::new();
    for k in from..from + ticks {
        let now = k * FRAME_SAMPLES as u32;
        for (id, codec, lvl) in send {
            if let Some(l) = lvl {
                m.push(*id, now, now, &encode(*codec, *l));
            }
        }
        out.push(m.mix(now));
    }
    out
}

fn heard(frame: &[Mixed], id: ParticipantId, codec: Codec) -> i32 {
    let f = frame
        .iter()
        .find(|x| x.to == id)
        .expect("a frame for everyone");
    level(codec, &f.payload)
}

/// G.711 at these levels is exact to within a few percent.
fn near(got: i32, want: i32) -> bool {
    (got - want).abs() <= want.abs() / 16 + 16
}

#[test]
fn everyone_hears_the_others_and_not_themselves() {
    let mut m = Mixer::new(JitterConfig::default());
    let (a, b, c) = (m.add(Codec::Pcmu), m.add(Codec::Pcmu), m.add(Codec::Pcmu));
    let u = Codec::Pcmu;
    let frames = run(
        &mut m,
        0,
        20,
        &[(a, u, Some(1000)), (b, u, Some(2000)), (c, u, Some(4000))],
    );
    let last = frames.last().unwrap();
    assert!(
        near(heard(last, a, u), 6000),
        "a hears b + c: {}",
        heard(last, a, u)
    );
    assert!(
        near(heard(last, b, u), 5000),
        "b hears a + c: {}",
        heard(last, b, u)
    );
    assert!(
        near(heard(last, c, u), 3000),
        "c hears a + b: {}",
        heard(last, c, u)
    );
    assert!(last.iter().all(|x| x.voiced));
}

#[test]
fn loud_voices_saturate_instead_of_wrapping() {
    let mut m = Mixer::new(JitterConfig::default());
    let (a, b, c) = (m.add(Codec::Pcmu), m.add(Codec::Pcmu), m.add(Codec::Pcmu));
    let u = Codec::Pcmu;
    let frames = run(
        &mut m,
        0,
        20,
        &[(a, u, Some(30000)), (b, u, Some(30000)), (c, u, None)],
    );
    let got = heard(frames.last().unwrap(), c, u);
    assert!(
        got > 30000,
        "clipped at the top, not wrapped negative: {got}"
    );
    let frames = run(
        &mut m,
        20,
        20,
        &[(a, u, Some(-30000)), (b, u, Some(-30000)), (c, u, None)],
    );
    let got = heard(frames.last().unwrap(), c, u);
    assert!(got < -30000, "and at the bottom: {got}");
}

#[test]
fn a_muted_participant_is_heard_by_nobody_but_hears_everyone() {
    let mut m = Mixer::new(JitterConfig::default());
    let (a, b, c) = (m.add(Codec::Pcmu), m.add(Codec::Pcmu), m.add(Codec::Pcmu));
    let u = Codec::Pcmu;
    assert!(m.set_muted(a, true));
    assert_eq!(m.is_muted(a), Some(true));
    let send = [(a, u, Some(1000)), (b, u, Some(2000)), (c, u, Some(4000))];
    let last = run(&mut m, 0, 20, &send).pop().unwrap();
    assert!(near(heard(&last, b, u), 4000), "b hears only c");
    assert!(near(heard(&last, c, u), 2000), "c hears only b");
    assert!(near(heard(&last, a, u), 6000), "a still hears both");
    m.set_muted(a, false);
    let last = run(&mut m, 20, 5, &send).pop().unwrap();
    assert!(near(heard(&last, c, u), 3000), "a heard again once unmuted");
}

#[test]
fn a_whisper_is_heard_only_by_its_audience() {
    // Citizen a, agent b, supervisor c coaching the agent (密语): b hears a and c, a hears only
    // b, c hears both; then c barges in (heard by all) and goes back to listening (muted).
    let mut m = Mixer::new(JitterConfig::default());
    let (a, b, c) = (m.add(Codec::Pcmu), m.add(Codec::Pcma), m.add(Codec::Pcmu));
    let (u, al) = (Codec::Pcmu, Codec::Pcma);
    assert!(m.set_audience(c, Some(vec![b])));
    let send = [(a, u, Some(1000)), (b, al, Some(2000)), (c, u, Some(4000))];
    let last = run(&mut m, 0, 20, &send).pop().unwrap();
    assert!(
        near(heard(&last, a, u), 2000),
        "the citizen does not hear the whisper: {}",
        heard(&last, a, u)
    );
    assert!(
        near(heard(&last, b, al), 5000),
        "the agent hears both: {}",
        heard(&last, b, al)
    );
    assert!(
        near(heard(&last, c, u), 3000),
        "the supervisor hears both: {}",
        heard(&last, c, u)
    );
    // Barge: everyone hears the supervisor.
    m.set_audience(c, None);
    let last = run(&mut m, 20, 5, &send).pop().unwrap();
    assert!(
        near(heard(&last, a, u), 6000),
        "barged: {}",
        heard(&last, a, u)
    );
    // Listen: nobody does.
    m.set_muted(c, true);
    let last = run(&mut m, 25, 5, &send).pop().unwrap();
    assert!(near(heard(&last, a, u), 2000));
    assert!(near(heard(&last, b, al), 1000));
    assert!(!m.set_audience(ParticipantId(99), None));
}

#[test]
fn a_participant_who_stops_sending_stalls_nobody() {
    let mut m = Mixer::new(JitterConfig::default());
    let (a, b, c) = (m.add(Codec::Pcmu), m.add(Codec::Pcmu), m.add(Codec::Pcmu));
    let u = Codec::Pcmu;
    run(
        &mut m,
        0,
        20,
        &[(a, u, Some(1000)), (b, u, Some(2000)), (c, u, Some(4000))],
    );
    // a goes silent (a phone that vanished): every tick still has a frame for everyone.
    let frames = run(
        &mut m,
        20,
        50,
        &[(a, u, None), (b, u, Some(2000)), (c, u, Some(4000))],
    );
    assert!(frames.iter().all(|f| f.len() == 3));
    let last = frames.last().unwrap();
    assert!(near(heard(last, b, u), 4000));
    assert!(near(heard(last, c, u), 2000));
    assert!(
        near(heard(last, a, u), 6000),
        "a, if still there, hears the others"
    );
    // Nobody sends: silence, marked unvoiced.
    let frames = run(&mut m, 70, 20, &[(a, u, None), (b, u, None), (c, u, None)]);
    let last = frames.last().unwrap();
    assert!(
        last.iter()
            .all(|x| !x.voiced && level(u, &x.payload).abs() < 16)
    );
}

#[test]
fn leaving_and_mixed_codecs() {
    let mut m = Mixer::new(JitterConfig::default());
    let (u, al) = (Codec::Pcmu, Codec::Pcma);
    let (a, b, c) = (m.add(u), m.add(al), m.add(u));
    let last = run(
        &mut m,
        0,
        20,
        &[(a, u, Some(1000)), (b, al, Some(2000)), (c, u, Some(4000))],
    )
    .pop()
    .unwrap();
    assert!(
        near(heard(&last, b, al), 5000),
        "the A-law phone gets A-law"
    );
    // The agent (a) leaves: the citizen and the expert go on.
    assert!(m.remove(a));
    assert!(!m.remove(a));
    let last = run(&mut m, 20, 20, &[(b, al, Some(2000)), (c, u, Some(4000))])
        .pop()
        .unwrap();
    assert_eq!(last.len(), 2);
    assert!(near(heard(&last, b, al), 4000));
    assert!(near(heard(&last, c, u), 2000));
    assert!(m.push(a, 0, 0, &encode(u, 1)).is_none(), "a is gone");
}
