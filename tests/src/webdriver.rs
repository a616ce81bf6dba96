//! Headless Chromium through chromedriver's W3C WebDriver API, spoken over plain HTTP: start
//! the driver on a free port, open a 1366×768 window, find elements, type, click, read text,
//! save screenshots. The driver (and its browser) are ended by their PID when dropped.

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::which;

const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

pub struct Browser {
    driver: Child,
    addr: SocketAddr,
    session: String,
}

fn call(addr: SocketAddr, method: &str, path: &str, body: Option<&Value>) -> Result<Value> {
    let mut s = TcpStream::connect(addr)?;
    s.set_read_timeout(Some(Duration::from_secs(60)))?;
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )?;
    let (head, body) = read_response(&mut s)?;
    let v: Value = serde_json::from_slice(&body)
        .with_context(|| format!("webdriver {method} {path}: {head}"))?;
    if let Some(err) = v["value"]["error"].as_str() {
        bail!(
            "webdriver {method} {path}: {err}: {}",
            v["value"]["message"]
        );
    }
    Ok(v["value"].clone())
}

/// A read that is tried again when a signal interrupts it (the browser's child processes
/// come and go, and their SIGCHLD can land on this thread).
fn read_some(s: &mut TcpStream, buf: &mut [u8]) -> std::io::Result<usize> {
    loop {
        match s.read(buf) {
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            r => return r,
        }
    }
}

/// One HTTP response: the head and the body, by Content-Length or chunked (chromedriver keeps
/// the connection open, so reading to the end would wait for its timeout).
fn read_response(s: &mut TcpStream) -> Result<(String, Vec<u8>)> {
    let mut buf = Vec::new();
    let mut chunk = [0_u8; 8192];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let n = read_some(s, &mut chunk)?;
        if n == 0 {
            bail!("the connection closed before the headers ended");
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
    let lower = head.to_ascii_lowercase();
    let mut body = buf[head_end..].to_vec();
    let mut more = |body: &mut Vec<u8>| -> Result<()> {
        let n = read_some(s, &mut chunk)?;
        if n == 0 {
            bail!("the connection closed inside the body");
        }
        body.extend_from_slice(&chunk[..n]);
        Ok(())
    };
    if let Some(len) = lower
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse::<usize>().ok())
    {
        while body.len() < len {
            more(&mut body)?;
        }
        body.truncate(len);
        return Ok((head, body));
    }
    if lower.contains("transfer-encoding: chunked") {
        let mut out = Vec::new();
        let mut at = 0;
        loop {
            while !body[at..].windows(2).any(|w| w == b"\r\n") {
                more(&mut body)?;
            }
            let line_end = at
                + body[at..]
                    .windows(2)
                    .position(|w| w == b"\r\n")
                    .unwrap_or(0);
            let size =
                usize::from_str_radix(String::from_utf8_lossy(&body[at..line_end]).trim(), 16)
                    .context("chunk size")?;
            at = line_end + 2;
            if size == 0 {
                return Ok((head, out));
            }
            while body.len() < at + size + 2 {
                more(&mut body)?;
            }
            out.extend_from_slice(&body[at..at + size]);
            at += size + 2;
        }
    }
    bail!("an answer with neither Content-Length nor chunks: {head}")
}

impl Browser {
    /// chromedriver and a headless Chromium with the given window size.
    pub fn start(width: u32, height: u32) -> Result<Browser> {
        Self::start_with(width, height, &[])
    }

    /// The same with more Chromium switches (a fake microphone for the softphone:
    /// `--use-fake-device-for-media-stream`, `--use-file-for-fake-audio-capture=…`).
    pub fn start_with(width: u32, height: u32, extra: &[String]) -> Result<Browser> {
        let driver = which("chromedriver")?;
        let chromium = which("chromium")?;
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let child = Command::new(driver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("start chromedriver")?;
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse()?;
        // Owned from here: any early return below ends the driver (Drop).
        let mut b = Browser {
            driver: child,
            addr,
            session: String::new(),
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while call(addr, "GET", "/status", None).is_err() {
            if Instant::now() > deadline {
                bail!("chromedriver did not answer on {addr}");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let mut args: Vec<String> = [
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--lang=zh-CN",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        args.push(format!("--window-size={width},{height}"));
        args.extend(extra.iter().cloned());
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": { "binary": chromium, "args": args }
        }}});
        let v = call(addr, "POST", "/session", Some(&caps))?;
        b.session = v["sessionId"].as_str().context("sessionId")?.to_string();
        Ok(b)
    }

    fn path(&self, rest: &str) -> String {
        format!("/session/{}{rest}", self.session)
    }

    pub fn goto(&self, url: &str) -> Result<()> {
        call(
            self.addr,
            "POST",
            &self.path("/url"),
            Some(&json!({"url": url})),
        )?;
        Ok(())
    }

    /// The element for a CSS selector, waiting up to 10 s for it to appear.
    pub fn find(&self, css: &str) -> Result<String> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let q = json!({"using": "css selector", "value": css});
            match call(self.addr, "POST", &self.path("/element"), Some(&q)) {
                Ok(v) => {
                    return Ok(v[ELEMENT]
                        .as_str()
                        .with_context(|| format!("element id in {v}"))?
                        .to_string());
                }
                Err(e) if Instant::now() > deadline => return Err(e),
                Err(_) => std::thread::sleep(Duration::from_millis(100)),
            }
        }
    }

    pub fn type_into(&self, css: &str, text: &str) -> Result<()> {
        let e = self.find(css)?;
        call(
            self.addr,
            "POST",
            &self.path(&format!("/element/{e}/value")),
            Some(&json!({"text": text})),
        )?;
        Ok(())
    }

    /// Chooses a file for an `<input type=file>`: WebDriver takes the file's absolute path as
    /// the keys sent to the element, and the page gets its change event as if picked by hand.
    pub fn upload(&self, css: &str, path: &Path) -> Result<()> {
        let path = path
            .canonicalize()
            .with_context(|| format!("the file to upload, {}", path.display()))?;
        let e = self.find(css)?;
        call(
            self.addr,
            "POST",
            &self.path(&format!("/element/{e}/value")),
            Some(&json!({"text": path.to_string_lossy()})),
        )?;
        Ok(())
    }

    /// Clicks the element; a page that re-rendered it between the look-up and the click
    /// (a live table) gets the selector looked up again.
    pub fn click(&self, css: &str) -> Result<()> {
        let mut tries = 0;
        loop {
            let e = self.find(css)?;
            match call(
                self.addr,
                "POST",
                &self.path(&format!("/element/{e}/click")),
                Some(&json!({})),
            ) {
                Err(err) if tries < 3 && err.to_string().contains("stale element") => tries += 1,
                r => return r.map(|_| ()),
            }
        }
    }

    /// The visible text of an element.
    pub fn text(&self, css: &str) -> Result<String> {
        let e = self.find(css)?;
        let v = call(
            self.addr,
            "GET",
            &self.path(&format!("/element/{e}/text")),
            None,
        )?;
        Ok(v.as_str().unwrap_or_default().to_string())
    }

    /// Runs a script in the page and returns its value.
    pub fn eval(&self, script: &str) -> Result<Value> {
        call(
            self.addr,
            "POST",
            &self.path("/execute/sync"),
            Some(&json!({"script": script, "args": []})),
        )
    }

    /// Waits up to 10 s for an element's text to satisfy `ok`; returns the text.
    pub fn wait_text(&self, css: &str, ok: impl Fn(&str) -> bool) -> Result<String> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let t = self.text(css).unwrap_or_default();
            if ok(&t) {
                return Ok(t);
            }
            if Instant::now() > deadline {
                bail!("`{css}` never showed the expected text; last: {t:?}");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Saves a PNG of the window as `target/screenshots/<name>.png` (what the test run keeps
    /// of each screen).
    pub fn shot(&self, name: &str) -> Result<()> {
        self.screenshot(
            &crate::repo_root()
                .join("target/screenshots")
                .join(format!("{name}.png")),
        )
    }

    /// Opens `path` on `base` (`host:port`) logged in as `user` with `token`: the session the
    /// log-in page would have kept in the tab.
    pub fn open_as(
        &self,
        base: std::net::SocketAddr,
        path: &str,
        token: &str,
        user: &str,
        role: &str,
    ) -> Result<()> {
        self.goto(&format!("http://{base}/"))?;
        let session = json!({"token": token, "user": user, "name": user, "role": role});
        self.eval(&format!(
            "sessionStorage.setItem('hotline.session', JSON.stringify({session})); return 1;"
        ))?;
        self.goto(&format!("http://{base}{path}"))
    }

    /// Saves a PNG of the window.
    pub fn screenshot(&self, to: &Path) -> Result<()> {
        let v = call(self.addr, "GET", &self.path("/screenshot"), None)?;
        let png = base64_decode(v.as_str().context("screenshot data")?)?;
        if let Some(dir) = to.parent() {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::write(to, png)?;
        Ok(())
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if !self.session.is_empty() {
            let _ = call(self.addr, "DELETE", &self.path(""), None);
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

/// Standard base64 (RFC 4648), as WebDriver sends screenshots.
fn base64_decode(s: &str) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let mut acc = 0_u32;
    let mut bits = 0;
    for c in s.bytes().filter(|c| !c.is_ascii_whitespace() && *c != b'=') {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => bail!("not base64: {c}"),
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    Ok(out)
}
