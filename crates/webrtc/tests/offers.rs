//! What the leg answers: G.711 only, PCMU before PCMA; an offer without either, or not an
//! offer at all, is refused with the reason.

mod common;

use std::time::Instant;

use common::{SERVER, addr, browser};
use hotline_webrtc::{G711, Leg, LegError};
use str0m::RtcConfig;

#[test]
fn pcma_when_the_browser_offers_only_pcma() {
    let now = Instant::now();
    let config = RtcConfig::new().clear_codecs().enable_pcma(true, false);
    let (_, offer, _) = browser(now, config);
    let (leg, answer) = Leg::answer(&offer, addr(SERVER), now).expect("answer");
    assert_eq!(leg.codec(), Some(G711::Pcma));
    assert!(answer.contains("PCMA/8000"), "{answer}");
    assert!(!answer.contains("PCMU/8000"), "{answer}");
}

#[test]
fn an_offer_without_g711_is_refused() {
    let now = Instant::now();
    let config = RtcConfig::new().clear_codecs().enable_opus(true, false);
    let (_, offer, _) = browser(now, config);
    assert!(matches!(
        Leg::answer(&offer, addr(SERVER), now),
        Err(LegError::NoCommonCodec)
    ));
}

#[test]
fn text_that_is_not_an_offer_is_refused() {
    let now = Instant::now();
    for bad in ["", "hello", "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\n"] {
        match Leg::answer(bad, addr(SERVER), now) {
            Err(LegError::BadOffer(_)) | Err(LegError::Rtc(_)) | Err(LegError::NoCommonCodec) => {}
            other => panic!("{bad:?}: {:?}", other.map(|(_, a)| a)),
        }
    }
}
