//! Random bytes and mutated torture messages never panic the screen, and whatever it decides
//! keeps its promises: replies are well-formed responses to requests, accepted bytes come from
//! the datagram and screen the same way again.

use std::sync::OnceLock;

use hotline_wire::{Limits, Verdict, screen_datagram, stateless_response, status_for};
use proptest::prelude::*;

fn corpus() -> &'static [Vec<u8>] {
    static CORPUS: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    CORPUS.get_or_init(|| {
        let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../../tests/data/sip-torture");
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .expect("corpus dir")
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "dat"))
            .collect();
        files.sort();
        assert_eq!(files.len(), 49);
        files
            .iter()
            .map(|p| std::fs::read(p).expect("corpus file"))
            .collect()
    })
}

/// Bytes that matter to the grammar, to make mutations hit interesting paths.
const SPECIALS: &[&[u8]] = &[
    b"\r\n",
    b"\r\n ",
    b"\n",
    b"\r",
    b" ",
    b"\t",
    b",",
    b";",
    b":",
    b"\"",
    b"\\",
    b"<",
    b">",
    b"%",
    b"@",
    b"?",
    b"=",
    b"/",
    b"\x00",
    b"\xff",
    b"9999999999999999999999",
    b"-1",
    b"SIP/2.0",
    b"z9hG4bK",
    b"\r\n\r\n",
    b"Via: SIP/2.0/UDP h\r\n",
    b"l: 5\r\n",
    b"ACK",
];

#[derive(Debug, Clone)]
enum Mutation {
    Set(usize, u8),
    Delete(usize, usize),
    Insert(usize, Vec<u8>),
    Special(usize, usize),
    Truncate(usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), any::<u8>()).prop_map(|(at, b)| Mutation::Set(at, b)),
        (any::<usize>(), 1usize..40).prop_map(|(at, n)| Mutation::Delete(at, n)),
        (any::<usize>(), prop::collection::vec(any::<u8>(), 1..8))
            .prop_map(|(at, bytes)| Mutation::Insert(at, bytes)),
        (any::<usize>(), 0..SPECIALS.len()).prop_map(|(at, i)| Mutation::Special(at, i)),
        any::<usize>().prop_map(Mutation::Truncate),
    ]
}

fn apply(mut msg: Vec<u8>, mutations: &[Mutation]) -> Vec<u8> {
    for m in mutations {
        let len = msg.len().max(1);
        match m {
            Mutation::Set(at, b) => {
                if !msg.is_empty() {
                    let i = at % msg.len();
                    msg[i] = *b;
                }
            }
            Mutation::Delete(at, n) => {
                let i = at % len;
                let end = (i + n).min(msg.len());
                if i < end {
                    msg.drain(i..end);
                }
            }
            Mutation::Insert(at, bytes) => {
                let i = (at % len).min(msg.len());
                msg.splice(i..i, bytes.iter().copied());
            }
            Mutation::Special(at, s) => {
                let i = (at % len).min(msg.len());
                msg.splice(i..i, SPECIALS[*s].iter().copied());
            }
            Mutation::Truncate(at) => msg.truncate(at % len),
        }
    }
    msg
}

fn skip_crlf(mut b: &[u8]) -> &[u8] {
    while let [b'\r', b'\n', rest @ ..] = b {
        b = rest;
    }
    b
}

/// The promises every verdict keeps, whatever the input.
fn check_verdict(input: &[u8], limits: &Limits) -> Result<(), TestCaseError> {
    let verdict = screen_datagram(input, limits);
    match &verdict {
        Verdict::Accept { bytes, head } => {
            let msg = skip_crlf(input);
            let from_input = msg.starts_with(bytes)
                || (bytes.len() == msg.len() + 2
                    && bytes.starts_with(msg)
                    && bytes.ends_with(b"\r\n"));
            prop_assert!(from_input, "accepted bytes do not come from the datagram");
            prop_assert!(bytes.len() <= limits.max_datagram + 2);
            // Screening what is passed on gives the same answer: the stack sees what we checked.
            match screen_datagram(bytes, limits) {
                Verdict::Accept {
                    bytes: again,
                    head: head2,
                } => {
                    prop_assert_eq!(&again[..], &bytes[..]);
                    prop_assert_eq!(&head2, head);
                }
                other => prop_assert!(false, "re-screen changed the verdict: {:?}", other),
            }
        }
        Verdict::Reply {
            status,
            response,
            refusal,
        } => {
            let msg = skip_crlf(input);
            prop_assert!(
                !msg.get(..4)
                    .is_some_and(|v| v.eq_ignore_ascii_case(b"SIP/")),
                "replied to a response"
            );
            let method_len = msg
                .iter()
                .take_while(|b| b.is_ascii_alphanumeric() || b"-.!%*_+`'~".contains(b))
                .count();
            prop_assert!(&msg[..method_len] != b"ACK", "replied to an ACK");
            prop_assert_eq!(*status, status_for(refusal.code));
            let head = format!("SIP/2.0 {status} ");
            prop_assert!(response.starts_with(head.as_bytes()));
            prop_assert!(response.ends_with(b"\r\nContent-Length: 0\r\n\r\n"));
            let text = response.windows(7).any(|w| w == b"\r\nVia: ")
                && response.windows(8).any(|w| w == b"\r\nCSeq: ");
            prop_assert!(text, "reply lacks Via or CSeq");
            // Every line ends with CRLF and no bare CR or LF hides inside one.
            for (i, &b) in response.iter().enumerate() {
                if b == b'\n' {
                    prop_assert!(i > 0 && response[i - 1] == b'\r');
                }
                if b == b'\r' {
                    prop_assert_eq!(response.get(i + 1), Some(&b'\n'));
                }
            }
            let end = response.windows(4).position(|w| w == b"\r\n\r\n");
            prop_assert_eq!(end, Some(response.len() - 4), "one blank line, at the end");
        }
        Verdict::Drop(_) => {}
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3_000, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..600)) {
        check_verdict(&bytes, &Limits::default())?;
        let _ = stateless_response(&bytes, 400, "Bad Request", &[("X", "y")]);
    }

    #[test]
    fn sip_shaped_noise_never_panics(
        start in prop::sample::select(vec![
            &b"INVITE sip:a@b SIP/2.0\r\n"[..],
            b"SIP/2.0 200 OK\r\n",
            b"ACK sip:a@b SIP/2.0\r\n",
            b"\r\n\r\nOPTIONS sip:a@b SIP/2.0\r\n",
        ]),
        lines in prop::collection::vec(
            (prop::sample::select(vec!["Via", "v", "From", "t", "i", "CSeq", "l", "m", "Expires", "Max-Forwards", "Proxy-Require", "X"]),
             prop::collection::vec(prop::sample::select(SPECIALS.to_vec()), 0..6)),
            0..12),
    ) {
        let mut msg = start.to_vec();
        for (name, parts) in &lines {
            msg.extend_from_slice(name.as_bytes());
            msg.extend_from_slice(b": ");
            for p in parts {
                msg.extend_from_slice(p);
            }
            msg.extend_from_slice(b"\r\n");
        }
        msg.extend_from_slice(b"\r\n");
        check_verdict(&msg, &Limits::default())?;
    }

    #[test]
    fn mutated_torture_messages_keep_the_promises(
        which in 0usize..49,
        mutations in prop::collection::vec(mutation(), 1..6),
    ) {
        let msg = apply(corpus()[which].clone(), &mutations);
        check_verdict(&msg, &Limits::default())?;
        let small = Limits { max_datagram: 400, max_header_bytes: 300, max_headers: 8, ..Limits::default() };
        check_verdict(&msg, &small)?;
        if let Some(r) = stateless_response(&msg, 503, "Service Unavailable", &[("Retry-After", "5")]) {
            prop_assert!(r.starts_with(b"SIP/2.0 503 Service Unavailable\r\n"));
            prop_assert!(r.ends_with(b"\r\nRetry-After: 5\r\nContent-Length: 0\r\n\r\n"));
        }
    }
}

#[test]
fn unmutated_corpus_keeps_the_promises() {
    for msg in corpus() {
        check_verdict(msg, &Limits::default()).expect("promise kept");
    }
}
