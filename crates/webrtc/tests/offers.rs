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

#[test]
fn a_leg_bridged_to_an_a_law_call_answers_in_pcma_only() {
    // The RTP call is in A-law: the browser offered both laws, the answer must hold PCMA alone
    // or the browser would send µ-law into an A-law call.
    let now = Instant::now();
    let (_, offer, _) = browser(now, common::chromium_like());
    let (leg, answer) = Leg::answer_in(&offer, addr(SERVER), G711::Pcma, now).expect("answer");
    assert_eq!(leg.codec(), Some(G711::Pcma));
    assert!(answer.contains("PCMA/8000"), "{answer}");
    assert!(!answer.contains("PCMU/8000"), "{answer}");
    let (leg, answer) = Leg::answer_in(&offer, addr(SERVER), G711::Pcmu, now).expect("answer");
    assert_eq!(leg.codec(), Some(G711::Pcmu));
    assert!(!answer.contains("PCMA/8000"), "{answer}");
}

#[test]
fn a_law_the_browser_did_not_offer_is_refused() {
    let now = Instant::now();
    let config = RtcConfig::new().clear_codecs().enable_pcmu(true, false);
    let (_, offer, _) = browser(now, config);
    assert!(matches!(
        Leg::answer_in(&offer, addr(SERVER), G711::Pcma, now),
        Err(LegError::NoCommonCodec)
    ));
}
