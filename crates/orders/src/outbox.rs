//! Delivery of queued notifications, at least once: an SMS sink (the log or a JSON-lines file
//! a gateway reads) and webhooks (an HTTP/1.1 POST of the JSON; any 2xx is delivered). A failed
//! delivery is tried again later, the wait doubling up to an hour; a row is marked sent only
//! after its delivery succeeded, so a crash between the two sends it twice, never zero times.

use std::path::PathBuf;
use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, Utc};
use hotline_store::{OutboxRow, Store, StoreError};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tracing::{info, warn};

/// Where SMS go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SmsSink {
    /// Logged (target and text), for a deployment without a gateway yet.
    Log,
    /// Appended as one JSON object per line.
    File(PathBuf),
}

#[derive(Debug, Clone)]
pub struct Outbox {
    pub sms: SmsSink,
    /// The first retry's wait.
    pub retry: Duration,
    /// A webhook that has not answered in this long has failed.
    pub timeout: StdDuration,
}

/// What one pass delivered.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Delivered {
    pub sent: u32,
    pub failed: u32,
}

impl Outbox {
    /// Delivers every row due at `now` (at most `limit`).
    pub async fn pass(
        &self,
        store: &Store,
        now: DateTime<Utc>,
        limit: u32,
    ) -> Result<Delivered, StoreError> {
        let mut d = Delivered::default();
        for row in store.outbox_due(now, limit).await? {
            match self.deliver(&row, now).await {
                Ok(()) => {
                    store.outbox_sent(row.id, now).await?;
                    d.sent += 1;
                }
                Err(why) => {
                    let wait = self.backoff(row.attempts);
                    warn!(id = row.id, channel = %row.channel, target = %row.target, error = %why, "notification not delivered; retrying later");
                    store.outbox_failed(row.id, &why, now + wait).await?;
                    d.failed += 1;
                }
            }
        }
        Ok(d)
    }

    fn backoff(&self, attempts: u32) -> Duration {
        let factor = 1i64 << attempts.min(12);
        (self.retry * factor as i32).min(Duration::hours(1))
    }

    async fn deliver(&self, row: &OutboxRow, now: DateTime<Utc>) -> Result<(), String> {
        match row.channel.as_str() {
            "sms" => self.sms(row, now).await,
            "webhook" => tokio::time::timeout(self.timeout, post(&row.target, &row.body))
                .await
                .map_err(|_| format!("no answer within {:?}", self.timeout))?,
            other => Err(format!("unknown channel `{other}`")),
        }
    }

    async fn sms(&self, row: &OutboxRow, now: DateTime<Utc>) -> Result<(), String> {
        match &self.sms {
            SmsSink::Log => {
                info!(to = %row.target, order = row.order_no.as_deref().unwrap_or("-"), text = %row.body, "SMS");
                Ok(())
            }
            SmsSink::File(path) => {
                let line = serde_json::json!({
                    "id": row.id,
                    "at": now,
                    "to": row.target,
                    "order": row.order_no,
                    "text": row.body,
                })
                .to_string()
                    + "\n";
                if let Some(dir) = path.parent() {
                    tokio::fs::create_dir_all(dir)
                        .await
                        .map_err(|e| format!("{}: {e}", dir.display()))?;
                }
                let mut f = tokio::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)
                    .await
                    .map_err(|e| format!("{}: {e}", path.display()))?;
                f.write_all(line.as_bytes())
                    .await
                    .map_err(|e| format!("{}: {e}", path.display()))?;
                f.flush().await.map_err(|e| e.to_string())
            }
        }
    }
}

/// POSTs `body` as JSON to an `http://host[:port][/path]` URL; Ok on a 2xx status.
pub async fn post(url: &str, body: &str) -> Result<(), String> {
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| format!("`{url}` is not http://"))?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let addr = if authority.contains(':') {
        authority.to_string()
    } else {
        format!("{authority}:80")
    };
    let mut s = tokio::net::TcpStream::connect(&addr)
        .await
        .map_err(|e| format!("connect {addr}: {e}"))?;
    let req = format!(
        "POST {path} HTTP/1.1\r\nHost: {authority}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\nUser-Agent: hotline\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes())
        .await
        .map_err(|e| format!("send: {e}"))?;
    // The status line is all that matters; read until it is complete.
    let mut buf = Vec::with_capacity(256);
    let mut chunk = [0u8; 256];
    while !buf.windows(2).any(|w| w == b"\r\n") && buf.len() < 4096 {
        let n = s.read(&mut chunk).await.map_err(|e| format!("read: {e}"))?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let line = String::from_utf8_lossy(&buf);
    let status = line
        .lines()
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|c| c.parse::<u16>().ok())
        .ok_or_else(|| format!("no HTTP status from {addr}"))?;
    if (200..300).contains(&status) {
        Ok(())
    } else {
        Err(format!("HTTP {status} from {url}"))
    }
}
