//! The sixteen DTMF keys (RFC 4733 events 0-15): 0-9, *, # and A-D.

/// Whether `c` is a DTMF key as dialplans write it (A-D in upper case).
pub fn is_dtmf(c: char) -> bool {
    matches!(c, '0'..='9' | '*' | '#' | 'A'..='D')
}

/// The key `c` names, accepting a-d from drivers that report the letters in lower case; `None`
/// for anything that is not a key.
pub(crate) fn normalize(c: char) -> Option<char> {
    let c = c.to_ascii_uppercase();
    is_dtmf(c).then_some(c)
}

/// The single DTMF key `text` consists of.
pub(crate) fn single_key(text: &str) -> Option<char> {
    let mut chars = text.chars();
    match (chars.next(), chars.next()) {
        (Some(c), None) if is_dtmf(c) => Some(c),
        _ => None,
    }
}
