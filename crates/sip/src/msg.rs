//! Small accessors over rsipstack's messages: the facts routing and records need, as plain strings.

use rsipstack::sip::prelude::*;
use rsipstack::sip::{Header, Request, Response};

/// The user part of a URI string such as `"Bob" <sip:1001@host;x=y>;tag=1` → `1001`.
pub fn uri_user(value: &str) -> Option<&str> {
    let start = value
        .find("sip:")
        .map(|i| i + 4)
        .or_else(|| value.find("sips:").map(|i| i + 5))
        .or_else(|| value.find("tel:").map(|i| i + 4))?;
    let rest = &value[start..];
    let end = rest.find(['@', '>', ';', '?']).unwrap_or(rest.len());
    if rest[end..].starts_with('@') || value[..start].ends_with("tel:") {
        Some(&rest[..end]).filter(|u| !u.is_empty())
    } else {
        None
    }
}

/// The display name of a From/To value, unquoted.
pub fn display_name(value: &str) -> Option<String> {
    let lt = value.find('<')?;
    let name = value[..lt].trim().trim_matches('"').trim();
    (!name.is_empty()).then(|| name.to_string())
}

/// The `tag` parameter of a From/To value (outside the angle brackets).
pub fn tag_of(value: &str) -> Option<&str> {
    let params = match value.rfind('>') {
        Some(i) => &value[i + 1..],
        None => value,
    };
    params.split(';').skip(1).find_map(|p| {
        let (k, v) = p.split_once('=')?;
        k.trim().eq_ignore_ascii_case("tag").then(|| v.trim())
    })
}

pub fn header_value<'a>(headers: impl Iterator<Item = &'a Header>, name: &str) -> Option<&'a str> {
    headers
        .into_iter()
        .find(|h| h.name().eq_ignore_ascii_case(name))
        .map(|h| h.value())
}

pub fn from_value(req: &Request) -> &str {
    req.from_header().map(|h| h.value()).unwrap_or("")
}

pub fn to_value(req: &Request) -> &str {
    req.to_header().map(|h| h.value()).unwrap_or("")
}

pub fn call_id(req: &Request) -> &str {
    req.call_id_header().map(|h| h.value()).unwrap_or("")
}

pub fn cseq_num(req: &Request) -> u32 {
    req.cseq_header()
        .ok()
        .and_then(|c| c.seq().ok())
        .unwrap_or(0)
}

pub fn max_forwards(req: &Request) -> Option<u32> {
    req.max_forwards_header()
        .ok()
        .and_then(|m| m.value().trim().parse().ok())
}

pub fn to_tag(req: &Request) -> Option<&str> {
    tag_of(to_value(req))
}

pub fn response_code(resp: &Response) -> u16 {
    u16::from(resp.status_code.clone())
}

/// All Route header values, each comma-separated entry on its own.
pub fn routes(req: &Request) -> Vec<String> {
    req.headers
        .iter()
        .filter_map(|h| match h {
            Header::Route(r) => Some(r.value()),
            _ => None,
        })
        .flat_map(split_commas)
        .collect()
}

/// Split a header value on commas that are outside quotes and angle brackets.
pub fn split_commas(value: &str) -> Vec<String> {
    let (mut out, mut cur) = (Vec::new(), String::new());
    let (mut in_quotes, mut in_angle) = (false, false);
    for c in value.chars() {
        match c {
            '"' => in_quotes = !in_quotes,
            '<' if !in_quotes => in_angle = true,
            '>' if !in_quotes => in_angle = false,
            ',' if !in_quotes && !in_angle => {
                out.push(cur.trim().to_string());
                cur.clear();
                continue;
            }
            _ => {}
        }
        cur.push(c);
    }
    if !cur.trim().is_empty() {
        out.push(cur.trim().to_string());
    }
    out
}

/// The URI inside a name-addr (`<sip:...>`), or the value itself for an addr-spec.
pub fn inner_uri(value: &str) -> &str {
    match (value.find('<'), value.rfind('>')) {
        (Some(a), Some(b)) if b > a => &value[a + 1..b],
        _ => value.split(';').next().unwrap_or(value).trim(),
    }
}

/// Give a locally generated final response a To tag when the request had none (§8.2.6.2).
pub fn ensure_to_tag(resp: &mut Response) {
    for h in resp.headers.iter_mut() {
        if let Header::To(to) = h
            && tag_of(to.value()).is_none()
        {
            let v = format!("{};tag={}", to.value(), rsipstack::transaction::make_tag());
            *to = v.into();
        }
    }
}

/// A Warning header (RFC 3261 §20.43, code 399 "miscellaneous") that says why a request was
/// refused: rsipstack always writes the standard reason phrase, so the detail travels here.
pub fn warning(agent: &str, text: &str) -> Header {
    let text = text.replace(['"', '\\', '\r', '\n'], " ");
    Header::Warning(format!("399 {agent} \"{text}\"").into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn users_tags_names() {
        assert_eq!(uri_user("\"Bob\" <sip:1001@h;x=y>;tag=9"), Some("1001"));
        assert_eq!(uri_user("sip:h.example.com"), None);
        assert_eq!(uri_user("<sip:12345@127.0.0.1:5060>"), Some("12345"));
        assert_eq!(tag_of("<sip:a@h;tag=x>;tag=abc"), Some("abc"));
        assert_eq!(tag_of("<sip:a@h;tag=x>"), None);
        assert_eq!(tag_of("sip:a@h;tag=t1"), Some("t1"));
        assert_eq!(display_name("\"市民\" <sip:1@h>"), Some("市民".into()));
        assert_eq!(
            split_commas("<sip:a;x=1,2>, \"a,b\" <sip:b>"),
            vec!["<sip:a;x=1,2>", "\"a,b\" <sip:b>"]
        );
        assert_eq!(
            inner_uri("<sip:p1.example.com;lr>"),
            "sip:p1.example.com;lr"
        );
    }
}
