//! The HTTP API as the end-to-end tests use it: requests with a token, log-in that waits for
//! the database, call records written straight to the database (as a replayed spool does) and
//! the order the server drafts for one.

use anyhow::{Context, Result, bail};
use chrono::{Duration as Days, Utc};
use hotline_cdr::{CallKind, CallRecord, CallRecordBuilder, EndReason};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

use crate::acd::split_response;
use crate::{Hotline, http_request_as};

/// Status and body (JSON when it parses, else a string).
pub fn req(
    hl: &Hotline,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: &str,
) -> Result<(u16, Value)> {
    let (status, body) = split_response(&http_request_as(hl.http, method, path, token, body)?)?;
    Ok((
        status,
        serde_json::from_str(&body).unwrap_or(Value::String(body)),
    ))
}

/// A token for `user`, waiting up to 20 s for the configured users to be stored (just after
/// start, once the database answers).
pub fn login(hl: &Hotline, user: &str, password: &str) -> Result<String> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let body = json!({"user": user, "password": password}).to_string();
        let (code, v) = req(hl, "POST", "/api/auth/login", None, &body)?;
        match code {
            200 => return Ok(v["token"].as_str().context("token")?.to_string()),
            503 | 401 if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(200))
            }
            _ => bail!("log-in {user}: {code} {v}"),
        }
    }
}

/// Call records written straight to the database; the server's scan drafts their orders.
pub fn insert_records(hl: &Hotline, records: Vec<CallRecord>) -> Result<()> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        let store = hotline_store::Store::connect(&hl.db_url).await?;
        for r in &records {
            store.insert_call_record(r).await?;
        }
        store.close().await;
        anyhow::Ok(())
    })
}

/// A call from `caller` answered by agent 1001 ten minutes ago.
pub fn answered(id: &str, caller: &str) -> CallRecord {
    let at = Utc::now() - Days::minutes(10);
    let mut b = CallRecordBuilder::arrived(
        id,
        format!("{id}@t"),
        caller,
        "12345",
        CallKind::Hotline,
        at,
    );
    b.answered(Some("1001".into()), at + Days::seconds(15));
    b.ended(EndReason::CallerHangup, 200, at + Days::seconds(120))
}

/// The order of call record `id`, once the server drafted it (up to 20 s).
pub fn order_of(hl: &Hotline, token: &str, id: &str) -> Result<String> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (code, v) = req(hl, "GET", "/api/orders?limit=500", Some(token), "")?;
        // 503: the orders' database is still starting; the deadline bounds the wait.
        if code == 503 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(300));
            continue;
        }
        if code != 200 {
            bail!("list: {code} {v}");
        }
        for o in v["orders"].as_array().context("orders")? {
            let no = o["no"].as_str().context("no")?;
            let (_, full) = req(hl, "GET", &format!("/api/orders/{no}"), Some(token), "")?;
            if full["order"]["record"] == id {
                return Ok(no.to_string());
            }
        }
        if Instant::now() > deadline {
            bail!("no order for record {id}");
        }
        std::thread::sleep(Duration::from_millis(300));
    }
}

/// An answer read whole: status, headers (names lowercased, in order) and the body's bytes.
#[derive(Debug)]
pub struct Raw {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// Whether the request's body was sent (not when the server answered an `Expect:
    /// 100-continue` with its final answer).
    pub body_sent: bool,
}

impl Raw {
    /// The first header of this (lowercase) name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The body as JSON (Null when it is not).
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }
}

/// A request with raw bytes as its body and the given extra headers (`Content-Type`, `Expect`,
/// `Transfer-Encoding`…; `Content-Length` is added unless the body is sent chunked, which the
/// caller then encodes). With `Expect: 100-continue` the body goes only after the server's
/// `100 Continue`; a final answer instead means it is not sent at all.
pub fn raw_req(
    hl: &Hotline,
    method: &str,
    path: &str,
    token: Option<&str>,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Result<Raw> {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(hl.http)?;
    s.set_read_timeout(Some(Duration::from_secs(30)))?;
    let has = |name: &str| headers.iter().any(|(n, _)| n.eq_ignore_ascii_case(name));
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n",
        hl.http
    );
    if let Some(t) = token {
        head.push_str(&format!("Authorization: Bearer {t}\r\n"));
    }
    for (n, v) in headers {
        head.push_str(&format!("{n}: {v}\r\n"));
    }
    if !has("transfer-encoding") {
        head.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    head.push_str("\r\n");
    s.write_all(head.as_bytes())?;
    let expect = headers
        .iter()
        .any(|(n, v)| n.eq_ignore_ascii_case("expect") && v.eq_ignore_ascii_case("100-continue"));
    let mut out = Vec::new();
    let mut body_sent = true;
    if expect {
        body_sent = false;
        let mut buf = [0_u8; 4096];
        while !out.windows(4).any(|w| w == b"\r\n\r\n") {
            let n = s.read(&mut buf)?;
            if n == 0 {
                bail!("{method} {path}: closed before an answer to Expect");
            }
            out.extend_from_slice(&buf[..n]);
        }
        if out.starts_with(b"HTTP/1.1 100") {
            let end = out.windows(4).position(|w| w == b"\r\n\r\n").unwrap_or(0) + 4;
            out.drain(..end);
            s.write_all(body)?;
            body_sent = true;
        }
    } else if let Err(e) = s.write_all(body) {
        // A server that answered early and closed: its answer may still be there to read.
        eprintln!("{method} {path}: writing the body: {e}");
    }
    if let Err(e) = s.read_to_end(&mut out)
        && out.is_empty()
    {
        return Err(e.into());
    }
    let end = out
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .context("no end of the headers")?;
    let text = String::from_utf8_lossy(&out[..end]).to_string();
    let mut lines = text.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|c| c.parse().ok())
        .context("status line")?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let mut body = out[end + 4..].to_vec();
    let chunked = headers
        .iter()
        .any(|(n, v)| n == "transfer-encoding" && v.eq_ignore_ascii_case("chunked"));
    if chunked {
        body = unchunk(&body)?;
    }
    Ok(Raw {
        status,
        headers,
        body,
        body_sent,
    })
}

/// A chunked body's data (RFC 9112 §7.1), without extensions or trailers.
fn unchunk(mut rest: &[u8]) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let line = rest
            .windows(2)
            .position(|w| w == b"\r\n")
            .context("chunk size line")?;
        let size = String::from_utf8_lossy(&rest[..line]);
        let size = usize::from_str_radix(size.split(';').next().unwrap_or("").trim(), 16)
            .context("chunk size")?;
        rest = &rest[line + 2..];
        if size == 0 {
            return Ok(out);
        }
        if rest.len() < size + 2 {
            bail!("a chunk cut short");
        }
        out.extend_from_slice(&rest[..size]);
        rest = &rest[size + 2..];
    }
}

/// `text` percent-encoded for a query value: every byte but the unreserved ones (RFC 3986).
pub fn query_escape(text: &str) -> String {
    let mut out = String::new();
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// An order made from a call of `caller` (record `id`), its intake filled by `agent` and
/// dispatched to `lead` with the co-units `co`.
pub fn dispatched_to(
    hl: &Hotline,
    agent: &str,
    id: &str,
    caller: &str,
    lead: &str,
    co: &[&str],
) -> Result<String> {
    insert_records(hl, vec![answered(id, caller)])?;
    let no = order_of(hl, agent, id)?;
    for body in [
        json!({"step": "intake_filled", "request_type": "complaint", "category": "交通/道路", "urgency": "normal",
            "requester": {"name": "李四", "phone": caller, "anonymous": false, "confidential": false},
            "address": "解放路", "area": "盐湖区", "content": "解放路红绿灯坏了三天没人修"}),
        json!({"step": "dispatched", "lead": lead, "co": co, "card": "请核实处理"}),
    ] {
        let (code, v) = req(
            hl,
            "POST",
            &format!("/api/orders/{no}/steps"),
            Some(agent),
            &body.to_string(),
        )?;
        if code != 200 {
            bail!("{body}: {code} {v}");
        }
    }
    Ok(no)
}

/// The users the web tests log in as: agent 1001, 市交通局's staff `jtj`, supervisor `sup`.
pub const WEB_USERS: &str = r#"
[[users]]
id = "1001"
name = "王芳"
role = "agent"
password = "agent-pw"

[[users]]
id = "jtj"
name = "交通局张科长"
role = "unit_staff"
unit = "市交通局"
password = "jtj-pw"

[[users]]
id = "sup"
name = "李班长"
role = "supervisor"
password = "sup-pw"
"#;
