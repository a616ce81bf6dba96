//! Our offers to agent, remote-seat and trunk legs, and reading their answers.

use hotline_media::sdp::{Codec, Direction, SdpError, SessionVersion};
use hotline_media::sdp_offer::{LocalOffer, TELEPHONE_EVENT_PT};

fn offer(codecs: Vec<Codec>, te: bool) -> LocalOffer {
    LocalOffer {
        ip: "127.0.0.1".parse().unwrap(),
        port: 20_002,
        codecs,
        telephone_event: te,
        direction: Direction::SendRecv,
    }
}

#[test]
fn the_offer_lists_the_callers_codec_and_telephone_event() {
    let mut v = SessionVersion::new(42, 1);
    let sdp = offer(vec![Codec::Pcma], true).to_sdp(&mut v);
    assert!(
        sdp.starts_with("v=0\r\no=hotline 42 1 IN IP4 127.0.0.1\r\n"),
        "{sdp}"
    );
    assert!(sdp.contains("\r\nm=audio 20002 RTP/AVP 8 101\r\n"), "{sdp}");
    assert!(sdp.contains("a=rtpmap:8 PCMA/8000\r\n"));
    assert!(sdp.contains("a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\n"));
    assert!(sdp.ends_with("a=sendrecv\r\n"));
    // The next offer on the same dialog has a higher o= version (RFC 3264 §8).
    let again = offer(vec![Codec::Pcma], true).to_sdp(&mut v);
    assert!(again.starts_with("v=0\r\no=hotline 42 2 "));
    let plain = offer(vec![Codec::Pcmu], false).to_sdp(&mut v);
    assert!(plain.contains("m=audio 20002 RTP/AVP 0\r\n"));
    assert!(!plain.contains("telephone-event"));
}

#[test]
fn an_answer_gives_the_address_codec_and_event_type_to_use() {
    let answer = "v=0\r\no=agent 1 1 IN IP4 127.0.0.9\r\ns=-\r\nc=IN IP4 127.0.0.9\r\nt=0 0\r\n\
                  m=audio 31000 RTP/AVP 0 101\r\na=rtpmap:101 telephone-event/8000\r\na=sendrecv\r\n";
    let s = offer(vec![Codec::Pcmu], true).accept(answer).unwrap();
    assert_eq!(s.remote_ip.to_string(), "127.0.0.9");
    assert_eq!(s.remote_port, 31000);
    assert_eq!((s.codec, s.pt), (Codec::Pcmu, 0));
    assert_eq!(s.telephone_event_pt, Some(TELEPHONE_EVENT_PT));
    assert_eq!(s.direction, Direction::SendRecv);
    let held = answer.replace("a=sendrecv", "a=recvonly");
    let s = offer(vec![Codec::Pcmu], true).accept(&held).unwrap();
    assert_eq!(
        s.direction,
        Direction::RecvOnly,
        "the remote's own direction"
    );
    // We did not offer telephone-event: an answer that lists it anyway does not enable it.
    let s = offer(vec![Codec::Pcmu], false).accept(answer).unwrap();
    assert_eq!(s.telephone_event_pt, None);
}

#[test]
fn an_answer_with_a_codec_we_did_not_offer_is_refused() {
    let answer = "v=0\r\no=agent 1 1 IN IP4 127.0.0.9\r\ns=-\r\nc=IN IP4 127.0.0.9\r\nt=0 0\r\n\
                  m=audio 31000 RTP/AVP 8\r\n";
    assert_eq!(
        offer(vec![Codec::Pcmu], true).accept(answer),
        Err(SdpError::NoCommonCodec)
    );
    assert!(matches!(
        offer(vec![Codec::Pcmu], true).accept("garbage"),
        Err(SdpError::Malformed { .. })
    ));
}
