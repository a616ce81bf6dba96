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
