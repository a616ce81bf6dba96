//! Rewrites that let valid but unusual requests through a stack that matches transactions by the
//! From tag and reads header parameters without whitespace.
//!
//! RFC 4475 `wsinv` folds the From tag over several lines with whitespace around `;` and `=`, and
//! RFC 2543 clients (`inv2543`) send no From tag at all. Both are valid and must be answered. The
//! rewrite unfolds the From and To header rows, drops the whitespace inside their parameters, and
//! gives a tag-less From a tag derived from Call-ID and From, so the retransmissions of one request
//! land in one transaction. Everything else is passed on byte for byte.

use std::borrow::Cow;

/// The request with its From and To rows normalised, or the input unchanged when nothing needs it.
pub fn compat_rewrite(request: &[u8]) -> Cow<'_, [u8]> {
    let Some(head_end) = find(request, b"\r\n\r\n") else {
        return Cow::Borrowed(request);
    };
    let head = &request[..head_end];
    if head.starts_with(b"SIP/") || !needs_rewrite(head) {
        return Cow::Borrowed(request);
    }
    let mut rows: Vec<Vec<u8>> = Vec::new();
    for line in head.split(|b| *b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        match (line.first(), rows.last_mut()) {
            (Some(b' ' | b'\t'), Some(prev)) if is_from_or_to(prev) => {
                // A continuation of From/To: unfold into one row.
                prev.push(b' ');
                prev.extend_from_slice(trim(line));
            }
            _ => rows.push(line.to_vec()),
        }
    }
    let call_id = rows
        .iter()
        .find_map(|r| header_value(r, &[b"call-id", b"i"]))
        .map(<[u8]>::to_vec)
        .unwrap_or_default();
    let mut out = Vec::with_capacity(request.len() + 32);
    for (i, row) in rows.iter().enumerate() {
        if i > 0 {
            out.extend_from_slice(b"\r\n");
        }
        if let Some(colon) = row
            .iter()
            .position(|b| *b == b':')
            .filter(|_| i > 0 && is_from_or_to(row))
        {
            let is_from = is_named(&row[..colon], &[b"from", b"f"]);
            // The canonical name: the stack's parser does not accept space before the colon.
            out.extend_from_slice(if is_from { b"From: " } else { b"To: " });
            out.extend_from_slice(&normalise_params(
                trim(&row[colon + 1..]),
                is_from.then_some(call_id.as_slice()),
            ));
        } else {
            out.extend_from_slice(row);
        }
    }
    out.extend_from_slice(&request[head_end..]);
    Cow::Owned(out)
}

/// Cheap check: a From/To row folded onto the next line, whitespace around a parameter's `;` or
/// `=`, or a From without a tag.
fn needs_rewrite(head: &[u8]) -> bool {
    let mut lines = head.split(|b| *b == b'\n').peekable();
    lines.next();
    while let Some(line) = lines.next() {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if !is_from_or_to(line) {
            continue;
        }
        if matches!(lines.peek().and_then(|l| l.first()), Some(b' ' | b'\t')) {
            return true;
        }
        let params = params_part(line);
        if params
            .windows(2)
            .any(|w| matches!(w, [b' ' | b'\t', b';' | b'='] | [b';' | b'=', b' ' | b'\t']))
        {
            return true;
        }
        let colon = line.iter().position(|b| *b == b':').unwrap_or(0);
        if is_named(&line[..colon], &[b"from", b"f"]) && !has_tag(params) {
            return true;
        }
    }
    false
}

fn is_from_or_to(row: &[u8]) -> bool {
    let Some(colon) = row.iter().position(|b| *b == b':') else {
        return false;
    };
    is_named(&row[..colon], &[b"from", b"f", b"to", b"t"])
}

fn is_named(name: &[u8], names: &[&[u8]]) -> bool {
    let name = trim(name);
    names.iter().any(|n| name.eq_ignore_ascii_case(n))
}

fn header_value<'a>(row: &'a [u8], names: &[&[u8]]) -> Option<&'a [u8]> {
    let colon = row.iter().position(|b| *b == b':')?;
    is_named(&row[..colon], names).then(|| trim(&row[colon + 1..]))
}

/// The part of a From/To value after the address: after `>` for a name-addr, else after the first
/// `;` of an addr-spec. Quoted display names may contain `>` and `;`, so quotes are skipped.
fn params_part(value: &[u8]) -> &[u8] {
    let mut in_quotes = false;
    let mut escaped = false;
    let mut saw_angle = false;
    for (i, b) in value.iter().enumerate() {
        if escaped {
            escaped = false;
            continue;
        }
        match b {
            b'\\' if in_quotes => escaped = true,
            b'"' => in_quotes = !in_quotes,
            b'<' if !in_quotes => saw_angle = true,
            b'>' if !in_quotes && saw_angle => return &value[i + 1..],
            _ => {}
        }
    }
    if saw_angle {
        return &[];
    }
    match value.iter().position(|b| *b == b';') {
        Some(i) => &value[i..],
        None => &[],
    }
}

fn has_tag(params: &[u8]) -> bool {
    params.split(|b| *b == b';').any(|p| {
        p.split(|b| *b == b'=')
            .next()
            .is_some_and(|k| trim(k).eq_ignore_ascii_case(b"tag"))
    })
}

fn normalise_params(value: &[u8], add_tag_from_call_id: Option<&[u8]>) -> Vec<u8> {
    let params = params_part(value);
    let addr = &value[..value.len() - params.len()];
    let mut out = trim(addr).to_vec();
    let mut tagged = false;
    for p in params.split(|b| *b == b';').skip(1) {
        let mut kv = p.splitn(2, |b| *b == b'=');
        let k = trim(kv.next().unwrap_or_default());
        if k.is_empty() {
            continue;
        }
        tagged |= k.eq_ignore_ascii_case(b"tag");
        out.push(b';');
        out.extend_from_slice(k);
        if let Some(v) = kv.next() {
            out.push(b'=');
            out.extend_from_slice(trim(v));
        }
    }
    if let (Some(call_id), false) = (add_tag_from_call_id, tagged) {
        // FNV-1a over Call-ID and the From value: stable across retransmissions.
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in call_id.iter().chain(b"\n").chain(value.iter()) {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
        out.extend_from_slice(format!(";tag=2543-{h:016x}").as_bytes());
    }
    out
}

fn trim(mut s: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = s {
        s = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = s {
        s = rest;
    }
    s
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usual_requests_pass_untouched() {
        let req = b"INVITE sip:a@b SIP/2.0\r\nFrom: <sip:x@y>;tag=1\r\nTo: <sip:a@b>\r\nCall-ID: c\r\n\r\nbody";
        assert!(matches!(compat_rewrite(req), Cow::Borrowed(_)));
        let resp = b"SIP/2.0 200 OK\r\nFrom: <sip:x@y>\r\n\r\n";
        assert!(matches!(compat_rewrite(resp), Cow::Borrowed(_)));
    }

    #[test]
    fn folded_tag_with_whitespace_is_joined() {
        let req = b"INVITE sip:a@b SIP/2.0\r\nFrom: \"J \\\"R\\\" ;x\" <sip:x@y>\r\n ; \r\n tag \r\n = \r\n 98asjd8\r\nTo: <sip:a@b>\r\nCall-ID: c\r\n\r\nbody";
        let out = compat_rewrite(req);
        let text = String::from_utf8_lossy(&out);
        assert!(
            text.contains("From: \"J \\\"R\\\" ;x\" <sip:x@y>;tag=98asjd8\r\n"),
            "{text}"
        );
        assert!(text.ends_with("\r\n\r\nbody"));
    }

    #[test]
    fn rfc2543_from_gets_a_stable_tag() {
        let req = b"INVITE sip:a@b SIP/2.0\r\nFrom: sip:x@y\r\nTo: sip:a@b\r\nCall-ID: c1\r\n\r\n";
        let a = compat_rewrite(req).into_owned();
        let b = compat_rewrite(req).into_owned();
        assert_eq!(a, b);
        let text = String::from_utf8_lossy(&a);
        assert!(text.contains("From: sip:x@y;tag=2543-"), "{text}");
        assert!(text.contains("To: sip:a@b\r\n"), "To is not tagged: {text}");
        let other =
            b"INVITE sip:a@b SIP/2.0\r\nFrom: sip:x@y\r\nTo: sip:a@b\r\nCall-ID: c2\r\n\r\n";
        assert_ne!(compat_rewrite(other).into_owned(), a);
    }
}
