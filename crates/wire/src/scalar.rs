//! Headers with one small value: Call-ID, CSeq, Max-Forwards, Expires, Content-Length, and the
//! option-tag lists of Proxy-Require.

use crate::lex::{Cursor, escaped, is_token, is_word, parse_digits, trim_lws};
use crate::verdict::{Refusal, RefusalCode};

/// RFC 3261 §8.1.1.5: the CSeq number must be less than 2^31.
const CSEQ_MAX: u64 = (1 << 31) - 1;

/// `Call-ID = word ["@" word]`; returns the trimmed value.
pub(crate) fn call_id(value: &[u8]) -> Result<&[u8], Refusal> {
    let v = trim_lws(value);
    let mut halves = v.splitn(2, |&b| b == b'@');
    let left = halves.next().unwrap_or_default();
    let right = halves.next();
    let word_ok = |w: &[u8]| !w.is_empty() && w.iter().all(|&b| is_word(b));
    if word_ok(left) && right.is_none_or(word_ok) {
        Ok(v)
    } else {
        Err(Refusal::new(
            RefusalCode::MalformedCallId,
            format!("Call-ID {}", escaped(v)),
        ))
    }
}

/// `CSeq = 1*DIGIT LWS Method`; returns the method.
pub(crate) fn cseq(value: &[u8]) -> Result<&[u8], Refusal> {
    let mut c = Cursor::new(value);
    c.skip_lws();
    let digits = c.take_while(|b| b.is_ascii_digit());
    let Some(number) = parse_digits(digits) else {
        return Err(Refusal::new(
            RefusalCode::MalformedCSeq,
            format!("CSeq {}", escaped(trim_lws(value))),
        ));
    };
    if number > CSEQ_MAX {
        return Err(Refusal::new(
            RefusalCode::CSeqOutOfRange,
            format!("CSeq number {} is not below 2^31", escaped(digits)),
        ));
    }
    let spaced = c.skip_lws();
    let method = c.take_while(is_token);
    c.skip_lws();
    if !spaced || method.is_empty() || !c.at_end() {
        return Err(Refusal::new(
            RefusalCode::MalformedCSeq,
            format!("CSeq {}", escaped(trim_lws(value))),
        ));
    }
    Ok(method)
}

/// `Max-Forwards = 1*DIGIT`, at most 255 (RFC 3261 §8.1.1.6 and §20.22).
pub(crate) fn max_forwards(value: &[u8]) -> Result<u32, Refusal> {
    let v = trim_lws(value);
    match parse_digits(v) {
        Some(n) if n <= 255 => Ok(u32::try_from(n).unwrap_or(255)),
        _ => Err(Refusal::new(
            RefusalCode::MaxForwardsOutOfRange,
            format!("Max-Forwards {}", escaped(v)),
        )),
    }
}

/// `Expires = delta-seconds`, at most 2^32-1.
pub(crate) fn expires(value: &[u8]) -> Result<(), Refusal> {
    let v = trim_lws(value);
    match parse_digits(v) {
        Some(n) if n <= u64::from(u32::MAX) => Ok(()),
        _ => Err(Refusal::new(
            RefusalCode::ExpiresOutOfRange,
            format!("Expires {}", escaped(v)),
        )),
    }
}

/// `Content-Length = 1*DIGIT`. Never negative (RFC 4475 §3.1.2.3); a value that does not fit
/// `usize` cannot fit a datagram either, so it saturates and fails the length check later.
pub(crate) fn content_length(value: &[u8]) -> Result<usize, Refusal> {
    let v = trim_lws(value);
    match parse_digits(v) {
        Some(n) => Ok(usize::try_from(n).unwrap_or(usize::MAX)),
        None => Err(Refusal::new(
            RefusalCode::MalformedContentLength,
            format!("Content-Length {}", escaped(v)),
        )),
    }
}

/// The option tags of a Proxy-Require value (`option-tag *(COMMA option-tag)`).
pub(crate) fn option_tags(value: &[u8]) -> Result<Vec<&[u8]>, Refusal> {
    let mut tags = Vec::new();
    for part in value.split(|&b| b == b',') {
        let tag = trim_lws(part);
        if tag.is_empty() || !tag.iter().all(|&b| is_token(b)) {
            return Err(Refusal::new(
                RefusalCode::MalformedHeaderLine,
                format!("Proxy-Require {}", escaped(trim_lws(value))),
            ));
        }
        tags.push(tag);
    }
    Ok(tags)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code<T>(r: Result<T, Refusal>) -> Result<T, RefusalCode> {
        r.map_err(|r| r.code)
    }

    #[test]
    fn call_id_is_word_at_word() {
        assert_eq!(
            code(call_id(b"  transports.kijh4akdnaqjkwendsasfdj")),
            Ok(&b"transports.kijh4akdnaqjkwendsasfdj"[..])
        );
        assert_eq!(
            code(call_id(b" intmeth.word%ZK-!.*_+'@word`~)(><:\\/\"][?}{")),
            Ok(&b"intmeth.word%ZK-!.*_+'@word`~)(><:\\/\"][?}{"[..])
        );
        for bad in [
            &b" "[..],
            b" a@",
            b" @b",
            b" a@b@c",
            b" a b",
            b" a,b",
            b" a\x00",
        ] {
            assert_eq!(
                code(call_id(bad)),
                Err(RefusalCode::MalformedCallId),
                "{}",
                escaped(bad)
            );
        }
    }

    #[test]
    fn cseq_number_range_and_method() {
        assert_eq!(code(cseq(b" 0009\r\n  INVITE")), Ok(&b"INVITE"[..]));
        assert_eq!(code(cseq(b" 2147483647 OPTIONS")), Ok(&b"OPTIONS"[..]));
        assert_eq!(
            code(cseq(b" 2147483648 OPTIONS")),
            Err(RefusalCode::CSeqOutOfRange)
        );
        assert_eq!(
            code(cseq(b" 36893488147419103232 REGISTER")),
            Err(RefusalCode::CSeqOutOfRange)
        );
        for bad in [
            &b" INVITE"[..],
            b" 1",
            b" 1INVITE",
            b" 1 INVITE x",
            b" -1 INVITE",
            b" 5 INVITE, 59 INVITE",
        ] {
            assert_eq!(
                code(cseq(bad)),
                Err(RefusalCode::MalformedCSeq),
                "{}",
                escaped(bad)
            );
        }
    }

    #[test]
    fn max_forwards_zero_to_255() {
        assert_eq!(code(max_forwards(b" 0068")), Ok(68));
        assert_eq!(code(max_forwards(b" 0")), Ok(0));
        assert_eq!(code(max_forwards(b" 255")), Ok(255));
        for bad in [&b" 256"[..], b" 300", b" -1", b" ", b" 70, 5"] {
            assert_eq!(
                code(max_forwards(bad)),
                Err(RefusalCode::MaxForwardsOutOfRange)
            );
        }
    }

    #[test]
    fn expires_fits_32_bits() {
        assert_eq!(code(expires(b" 3600")), Ok(()));
        assert_eq!(code(expires(b" 4294967295")), Ok(()));
        assert_eq!(
            code(expires(b" 4294967296")),
            Err(RefusalCode::ExpiresOutOfRange)
        );
        assert_eq!(
            code(expires(b" 1000000000000000000000000000000")),
            Err(RefusalCode::ExpiresOutOfRange)
        );
        assert_eq!(
            code(expires(b" Thu, 01 Dec 1994")),
            Err(RefusalCode::ExpiresOutOfRange)
        );
    }

    #[test]
    fn content_length_is_non_negative_digits() {
        assert_eq!(
            code(content_length(b"   : 150")),
            Err(RefusalCode::MalformedContentLength)
        );
        assert_eq!(code(content_length(b" 150")), Ok(150));
        assert_eq!(code(content_length(b"0")), Ok(0));
        assert_eq!(
            code(content_length(b" 99999999999999999999999")),
            Ok(usize::MAX)
        );
        for bad in [&b" -999"[..], b" ", b" 13, 5", b" 1e3"] {
            assert_eq!(
                code(content_length(bad)),
                Err(RefusalCode::MalformedContentLength)
            );
        }
    }

    #[test]
    fn option_tags_split_on_commas() {
        assert_eq!(
            code(option_tags(
                b" noProxiesSupportThis, norDoAnyProxiesSupportThis"
            )),
            Ok(vec![
                &b"noProxiesSupportThis"[..],
                &b"norDoAnyProxiesSupportThis"[..]
            ])
        );
        assert_eq!(
            code(option_tags(b" a,,b")),
            Err(RefusalCode::MalformedHeaderLine)
        );
    }
}
