//! A minimal WebSocket client (RFC 6455) for the tests: the upgrade, the server's text frames
//! as JSON, and masked text frames from us. Enough for the ACD event stream and the softphone's
//! signalling; no extensions, no fragmentation.

use std::io::{Read, Write};
use std::net::SocketAddr;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use serde_json::Value;

pub struct Ws(std::net::TcpStream);

/// What an upgrade that was refused answered: status line and body.
#[derive(Debug)]
pub struct Refused {
    pub status: u16,
    pub body: String,
}

impl Ws {
    /// Opens `path` with `token` as `access_token` (browsers send no headers on a WebSocket).
    pub fn connect(addr: SocketAddr, path: &str, token: &str) -> Result<Ws> {
        match Self::try_connect(addr, path, token)? {
            Ok(ws) => Ok(ws),
            Err(r) => bail!("no upgrade: {} {}", r.status, r.body),
        }
    }

    /// The same, returning the refusal (status and body) instead of failing.
    pub fn try_connect(
        addr: SocketAddr,
        path: &str,
        token: &str,
    ) -> Result<std::result::Result<Ws, Refused>> {
        let path = format!("{path}?access_token={token}");
        let mut s = std::net::TcpStream::connect(addr)?;
        s.set_read_timeout(Some(Duration::from_secs(20)))?;
        write!(
            s,
            "GET {path} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        )?;
        let mut head = Vec::new();
        let mut b = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") {
            s.read_exact(&mut b)?;
            head.push(b[0]);
        }
        let head = String::from_utf8_lossy(&head).to_string();
        if head.starts_with("HTTP/1.1 101") {
            return Ok(Ok(Ws(s)));
        }
        let status = head
            .split_whitespace()
            .nth(1)
            .and_then(|c| c.parse().ok())
            .unwrap_or(0);
        let len: usize = head
            .lines()
            .find_map(|l| {
                l.to_ascii_lowercase()
                    .strip_prefix("content-length:")
                    .map(|v| v.trim().parse().unwrap_or(0))
            })
            .unwrap_or(0);
        let mut body = vec![0u8; len];
        s.read_exact(&mut body)?;
        Ok(Err(Refused {
            status,
            body: String::from_utf8_lossy(&body).to_string(),
        }))
    }

    /// The next text frame as JSON (pings and the like skipped); an error once the server closed.
    pub fn next_json(&mut self) -> Result<Value> {
        loop {
            let mut h = [0u8; 2];
            self.0.read_exact(&mut h)?;
            let opcode = h[0] & 0x0f;
            let mut len = u64::from(h[1] & 0x7f);
            if len == 126 {
                let mut l = [0u8; 2];
                self.0.read_exact(&mut l)?;
                len = u64::from(u16::from_be_bytes(l));
            } else if len == 127 {
                let mut l = [0u8; 8];
                self.0.read_exact(&mut l)?;
                len = u64::from_be_bytes(l);
            }
            let mut payload = vec![0u8; len as usize];
            self.0.read_exact(&mut payload)?;
            match opcode {
                1 => return Ok(serde_json::from_slice(&payload)?),
                8 => bail!("the server closed the stream"),
                _ => continue,
            }
        }
    }

    /// Reads events until one of type `kind` matches `pred`; returns every event read.
    pub fn until(&mut self, kind: &str, pred: impl Fn(&Value) -> bool) -> Result<Vec<Value>> {
        let mut seen = Vec::new();
        loop {
            let v = self
                .next_json()
                .with_context(|| format!("waiting for {kind}; seen {seen:?}"))?;
            let done = v["type"] == kind && pred(&v);
            seen.push(v);
            if done {
                return Ok(seen);
            }
        }
    }

    /// Sends `text` as one masked text frame (a client must mask, RFC 6455 §5.3).
    pub fn send_text(&mut self, text: &str) -> Result<()> {
        let payload = text.as_bytes();
        let mut frame = vec![0x81u8];
        match payload.len() {
            n if n < 126 => frame.push(0x80 | n as u8),
            n if n <= 0xffff => {
                frame.push(0x80 | 126);
                frame.extend_from_slice(&(n as u16).to_be_bytes());
            }
            n => {
                frame.push(0x80 | 127);
                frame.extend_from_slice(&(n as u64).to_be_bytes());
            }
        }
        // Any key will do for a test client; the clock's nanoseconds vary it per frame.
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0x5a5a_5a5a);
        let mask = nanos.to_be_bytes();
        frame.extend_from_slice(&mask);
        frame.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
        self.0.write_all(&frame)?;
        Ok(())
    }

    /// Closes the connection (a page going away).
    pub fn close(self) {
        self.0.shutdown(std::net::Shutdown::Both).ok();
    }
}
