//! The compatibility rewrite on the RFC 4475 corpus: it tags what the stack could not match and
//! leaves every other accepted message alone.

use hotline_wire::{Limits, Verdict, compat_rewrite, screen_datagram};
use std::borrow::Cow;

fn corpus(name: &str) -> Vec<u8> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/data/sip-torture/");
    std::fs::read(format!("{dir}{name}")).expect("corpus file")
}

fn from_row(msg: &[u8]) -> String {
    let text = String::from_utf8_lossy(msg);
    text.split("\r\n")
        .find(|l| l.starts_with("From:") || l.starts_with("f:"))
        .unwrap_or("")
        .to_string()
}

#[test]
fn wsinv_folded_tag_is_unfolded() {
    let out = compat_rewrite(&corpus("wsinv.dat")).into_owned();
    assert!(
        from_row(&out).ends_with(";tag=98asjd8"),
        "{}",
        from_row(&out)
    );
    // Still a valid message for the screen, with the body intact.
    assert!(matches!(
        screen_datagram(&out, &Limits::default()),
        Verdict::Accept { .. }
    ));
}

#[test]
fn inv2543_gets_a_compatibility_tag() {
    let out = compat_rewrite(&corpus("inv2543.dat")).into_owned();
    assert!(from_row(&out).contains(";tag=2543-"), "{}", from_row(&out));
}

#[test]
fn other_accepted_messages_are_untouched() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/data/sip-torture/");
    for entry in std::fs::read_dir(dir).expect("corpus dir") {
        let path = entry.expect("entry").path();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("")
            .to_string();
        if !name.ends_with(".dat") || name == "wsinv.dat" || name == "inv2543.dat" {
            continue;
        }
        let bytes = std::fs::read(&path).expect("read");
        if let Verdict::Accept { bytes, .. } = screen_datagram(&bytes, &Limits::default()) {
            assert!(
                matches!(compat_rewrite(&bytes), Cow::Borrowed(_)),
                "{name} was rewritten"
            );
        }
    }
}
