//! Support for the end-to-end tests: start the built `hotline` binary on free loopback ports with a
//! config of the test's own, run SIPp scenarios against it, read the call records it wrote.
//!
//! The binary is the one `cargo build -p hotline-server` made (the README's test command builds it
//! first); `HOTLINE_BIN` overrides the path.

pub mod acd;
pub mod api;
pub mod webdriver;
pub mod ws;

use anyhow::{Context, Result, bail};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

pub fn scenario(name: &str) -> PathBuf {
    repo_root().join("sipp-scenarios").join(name)
}

/// The built `hotline` binary (`HOTLINE_BIN` overrides).
pub fn hotline_bin() -> Result<PathBuf> {
    if let Ok(p) = std::env::var("HOTLINE_BIN") {
        return Ok(PathBuf::from(p));
    }
    let target = std::env::var("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| repo_root().join("target"));
    for profile in ["debug", "release"] {
        let p = target.join(profile).join("hotline");
        if p.exists() {
            return Ok(p);
        }
    }
    bail!(
        "the hotline binary is not built: run `cargo build -p hotline-server` first (the README's test command does)"
    )
}

/// Config for tests of the signalling-only B2BUA (`[ivr] enabled = false`): 12345 rings the
/// agents at once with the caller's SDP passed through, as before the IVR existed. The IVR and
/// anchored-media path has its own tests (ivr_media.rs, ivr_baresip.rs).
pub const SIGNALLING_ONLY: &str = "[ivr]\nenabled = false\n";

/// The demo agents every test config registers (id, password).
pub const AGENTS: [(&str, &str); 3] = [
    ("1001", "demo1001"),
    ("1002", "demo1002"),
    ("1003", "demo1003"),
];

/// A running hotline server owned by a test; stopped (SIGTERM) when dropped.
pub struct Hotline {
    child: Option<Child>,
    pub sip_udp: SocketAddr,
    pub sip_tcp: SocketAddr,
    pub http: SocketAddr,
    pub dir: tempfile::TempDir,
    pub db_url: String,
    stdout_lines: mpsc::Receiver<String>,
}

impl Hotline {
    /// Start with the test config plus `extra` TOML appended (tables the default does not set).
    pub fn start(extra: &str) -> Result<Self> {
        Self::start_with(extra, &[])
    }

    pub fn start_with(extra: &str, env: &[(&str, &str)]) -> Result<Self> {
        let dir = tempfile::tempdir()?;
        let db_url = format!("sqlite://{}/hotline.db?mode=rwc", dir.path().display());
        Self::start_in(dir, db_url, extra, env)
    }

    pub fn start_in(
        dir: tempfile::TempDir,
        db_url: String,
        extra: &str,
        env: &[(&str, &str)],
    ) -> Result<Self> {
        let mut agents = String::new();
        for (id, pw) in AGENTS {
            agents.push_str(&format!("[[agents]]\nid = \"{id}\"\nname = \"agent {id}\"\ngroups = [\"default\"]\npassword = \"{pw}\"\n\n"));
        }
        let config = format!(
            "[sip]\nudp = [\"127.0.0.1:0\"]\ntcp = [\"127.0.0.1:0\"]\n\n[http]\nlisten = \"127.0.0.1:0\"\n\n\
             [database]\nurl = \"{db_url}\"\nspool_dir = \"{spool}\"\n\n[hotline]\nnumbers_file = \"{numbers}\"\nring_timeout_secs = 8\n\n\
             [log]\nfilter = \"info,rsipstack=warn\"\n\n{agents}{TEST_SUPERVISOR}{extra}\n",
            spool = dir.path().join("spool").display(),
            numbers = repo_root().join("config/hotlines.toml").display(),
        );
        let cfg_path = dir.path().join("hotline.toml");
        std::fs::write(&cfg_path, config)?;
        let log = std::fs::File::create(dir.path().join("hotline.log"))?;
        let mut cmd = Command::new(hotline_bin()?);
        // Only the test's own overrides reach the server: a stray HOTLINE_* in the environment
        // would be an unknown config key.
        for (k, _) in std::env::vars().filter(|(k, _)| k.starts_with("HOTLINE_")) {
            cmd.env_remove(k);
        }
        // The ACD's timing for tests that do not test it: no wrap-up, no announcements, no
        // keepalives (a SIPp agent scenario would take an OPTIONS for a protocol error). A
        // test's own `env` comes after and wins.
        for (k, v) in [
            ("HOTLINE_ACD__DEFAULTS__WRAP_UP_SECS", "0"),
            ("HOTLINE_ACD__DEFAULTS__ANNOUNCE_FIRST_SECS", "0"),
            ("HOTLINE_ACD__OPTIONS_INTERVAL_SECS", "0"),
        ] {
            cmd.env(k, v);
        }
        cmd.arg("run")
            .arg("--config")
            .arg(&cfg_path)
            .current_dir(dir.path())
            .stdout(Stdio::piped())
            .stderr(log);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().context("spawn hotline")?;
        let stdout = child.stdout.take().context("stdout")?;
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(line) if line.starts_with("hotline ready ") => {
                    let get = |k: &str| -> Result<SocketAddr> {
                        let v = line
                            .split_whitespace()
                            .find_map(|w| w.strip_prefix(&format!("{k}=")))
                            .with_context(|| format!("{k} in {line}"))?;
                        Ok(v.parse()?)
                    };
                    return Ok(Self {
                        sip_udp: get("sip_udp")?,
                        sip_tcp: get("sip_tcp")?,
                        http: get("http")?,
                        child: Some(child),
                        dir,
                        db_url,
                        stdout_lines: rx,
                    });
                }
                Ok(_) => continue,
                Err(_) => {
                    child.kill().ok();
                    let log =
                        std::fs::read_to_string(dir.path().join("hotline.log")).unwrap_or_default();
                    bail!("hotline did not become ready in 30 s; its log:\n{log}");
                }
            }
        }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("hotline.log")).unwrap_or_default()
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().map(|c| c.id()).unwrap_or(0)
    }

    /// True while the process runs.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.as_mut().map(|c| c.try_wait()), Some(Ok(None)))
    }

    /// SIGTERM and wait for a clean exit; returns the exit status code.
    pub fn stop(&mut self) -> Result<Option<i32>> {
        let Some(mut child) = self.child.take() else {
            return Ok(None);
        };
        forget_token(self.http);
        Command::new("kill")
            .arg("-TERM")
            .arg(child.id().to_string())
            .status()?;
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(st) = child.try_wait()? {
                return Ok(st.code());
            }
            if Instant::now() > deadline {
                child.kill().ok();
                bail!("hotline did not exit within 20 s of SIGTERM");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Lines the server printed on stdout since start.
    pub fn stdout(&self) -> Vec<String> {
        self.stdout_lines.try_iter().collect()
    }

    /// Call records in the server's database, oldest first.
    pub fn records(&self) -> Result<Vec<hotline_cdr::CallRecord>> {
        let url = self.db_url.clone();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        rt.block_on(async move {
            let store = hotline_store::Store::connect(&url).await?;
            let mut recs = store.recent_call_records(10_000).await?;
            recs.sort_by_key(|r| r.arrived_at);
            Ok(recs)
        })
    }

    /// Wait until `n` call records exist (records are written asynchronously after a call ends).
    pub fn wait_records(
        &self,
        n: usize,
        timeout: Duration,
    ) -> Result<Vec<hotline_cdr::CallRecord>> {
        let deadline = Instant::now() + timeout;
        loop {
            let recs = self.records().unwrap_or_default();
            if recs.len() >= n || Instant::now() > deadline {
                return Ok(recs);
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Hotline {
    fn drop(&mut self) {
        forget_token(self.http);
        if let Some(mut c) = self.child.take() {
            c.kill().ok();
            c.wait().ok();
        }
    }
}

/// A UDP port free right now on 127.0.0.1 (for a SIPp agent's listening port).
pub fn free_udp_port() -> u16 {
    let s = UdpSocket::bind("127.0.0.1:0").expect("bind");
    s.local_addr().expect("addr").port()
}

/// A port for baresip's `sip_listen`: baresip binds UDP and TCP on it and TLS on TCP port + 1,
/// so all three must be free (a UDP-only check let CI hit "Address already in use" on TLS).
pub fn free_baresip_port() -> u16 {
    for _ in 0..200 {
        let port = free_udp_port();
        let Some(next) = port.checked_add(1) else {
            continue;
        };
        let tcp = std::net::TcpListener::bind(("127.0.0.1", port));
        let tls = std::net::TcpListener::bind(("127.0.0.1", next));
        if tcp.is_ok() && tls.is_ok() && UdpSocket::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    panic!("no port p on 127.0.0.1 with UDP p, TCP p and TCP p+1 all free in 200 tries");
}

/// A running SIPp process (for the UAS side, started before the UAC).
pub struct Sipp {
    child: Option<Child>,
    pub name: String,
    dir: PathBuf,
}

/// Start SIPp with `args` in `dir` (its logs and -trace files go there), bounded by `-timeout`.
pub fn sipp_spawn(dir: &Path, name: &str, args: &[String]) -> Result<Sipp> {
    which("sipp")?;
    let out = std::fs::File::create(dir.join(format!("{name}.out")))?;
    let err = out.try_clone()?;
    let child = Command::new("sipp")
        .args(args)
        .args([
            "-nostdin",
            "-trace_err",
            "-trace_stat",
            "-stf",
            &format!("{name}.csv"),
            "-error_file",
            &format!("{name}.err"),
        ])
        .current_dir(dir)
        .stdout(out)
        .stderr(err)
        .spawn()
        .context("spawn sipp")?;
    Ok(Sipp {
        child: Some(child),
        name: name.to_string(),
        dir: dir.to_path_buf(),
    })
}

impl Sipp {
    /// Wait for SIPp to end (it must be bounded by -m and -timeout); its exit code and output.
    pub fn wait(mut self, limit: Duration) -> Result<(i32, String)> {
        let mut child = self.child.take().context("already waited")?;
        let deadline = Instant::now() + limit;
        let code = loop {
            if let Some(st) = child.try_wait()? {
                break st.code().unwrap_or(-1);
            }
            if Instant::now() > deadline {
                child.kill().ok();
                child.wait().ok();
                break -9;
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        let mut out = std::fs::read_to_string(self.dir.join(format!("{}.out", self.name)))
            .unwrap_or_default();
        if let Ok(err) = std::fs::read_to_string(self.dir.join(format!("{}.err", self.name))) {
            out.push_str("\n--- errors ---\n");
            out.push_str(&err);
        }
        Ok((code, out))
    }

    /// Counters of SIPp's last statistics line (`-trace_stat`): e.g. "SuccessfulCall(C)".
    pub fn stat(dir: &Path, name: &str, column: &str) -> Option<u64> {
        let text = std::fs::read_to_string(dir.join(format!("{name}.csv"))).ok()?;
        let mut lines = text.lines().filter(|l| !l.trim().is_empty());
        let header: Vec<&str> = lines.next()?.split(';').collect();
        let last: Vec<&str> = lines.next_back()?.split(';').collect();
        let i = header.iter().position(|h| *h == column)?;
        last.get(i)?.trim().parse().ok()
    }
}

impl Drop for Sipp {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            c.kill().ok();
            c.wait().ok();
        }
    }
}

/// Run SIPp to completion.
pub fn sipp_run(dir: &Path, name: &str, args: &[String], limit: Duration) -> Result<(i32, String)> {
    sipp_spawn(dir, name, args)?.wait(limit)
}

pub fn which(tool: &str) -> Result<PathBuf> {
    let out: Output = Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {tool}"))
        .output()?;
    if !out.status.success() {
        bail!("{tool} is not installed: the README's test command (scripts/test.sh) installs it");
    }
    Ok(PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()))
}

/// Register `user` with digest auth so that its contact is 127.0.0.1:`port` (SIPp register scenario).
pub fn register_agent(
    dir: &Path,
    server: SocketAddr,
    user: &str,
    password: &str,
    port: u16,
) -> Result<()> {
    let name = format!("register-{user}");
    let args = SippArgs::new("register_auth.xml")
        .to(server)
        .arg("-s", user)
        .arg("-ap", password)
        .args(&["-set", "contact_host", "127.0.0.1", "-set", "contact_port"])
        .args(&[&port.to_string()])
        .build(1);
    let (code, out) = sipp_run(dir, &name, &args, Duration::from_secs(15))?;
    if code != 0 {
        bail!("REGISTER of {user} failed (sipp exit {code}):\n{out}");
    }
    Ok(())
}

/// Send one raw SIP request over UDP from a fresh socket and collect every response that arrives
/// within `wait` (the first line of each, then the full text).
pub fn udp_exchange(
    server: SocketAddr,
    build: impl FnOnce(SocketAddr) -> Vec<u8>,
    wait: Duration,
) -> Result<Vec<String>> {
    let sock = UdpSocket::bind("127.0.0.1:0")?;
    let local = sock.local_addr()?;
    sock.send_to(&build(local), server)?;
    let mut out = Vec::new();
    let mut deadline = Instant::now() + wait;
    let mut buf = vec![0u8; 65_536];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        sock.set_read_timeout(Some(left))?;
        match sock.recv_from(&mut buf) {
            Ok((n, _)) => {
                let text = String::from_utf8_lossy(&buf[..n]).into_owned();
                // After a final response only a stray duplicate could follow: stop soon.
                if status_of(&text) >= 200 {
                    deadline = deadline.min(Instant::now() + Duration::from_millis(50));
                }
                out.push(text);
            }
            Err(_) => break,
        }
    }
    Ok(out)
}

/// An OPTIONS ping to the server: the status line of its answer, if any within 2 s.
pub fn options_ping(server: SocketAddr) -> Result<Option<String>> {
    let n: u32 = std::process::id() ^ (Instant::now().elapsed().subsec_nanos());
    let replies = udp_exchange(
        server,
        |local| {
            format!(
                "OPTIONS sip:{server} SIP/2.0\r\nVia: SIP/2.0/UDP {local};branch=z9hG4bK-ping-{n:x}\r\n\
                 From: <sip:ping@{local}>;tag=p{n:x}\r\nTo: <sip:{server}>\r\nCall-ID: ping-{n:x}@test\r\n\
                 CSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
            )
            .into_bytes()
        },
        Duration::from_secs(2),
    )?;
    Ok(replies
        .first()
        .map(|r| r.lines().next().unwrap_or("").to_string()))
}

/// The status code of a response's first line.
pub fn status_of(response: &str) -> u16 {
    response
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0)
}

/// SIPp command lines for the tests: a scenario, on 127.0.0.1 with a free local port, one call, a
/// 30 s bound, plus what the test adds.
#[derive(Debug, Clone)]
pub struct SippArgs(Vec<String>);

impl SippArgs {
    pub fn new(scenario_file: &str) -> Self {
        let mut v = vec![
            "-sf".to_string(),
            scenario(scenario_file).display().to_string(),
        ];
        v.extend(["-i", "127.0.0.1", "-p"].map(String::from));
        v.push(free_udp_port().to_string());
        Self(v)
    }

    /// The remote side (a UAC's target).
    pub fn to(mut self, target: SocketAddr) -> Self {
        self.0.push(target.to_string());
        self
    }

    /// Listen on this port instead of a free one (a UAS at a registered contact).
    pub fn port(mut self, port: u16) -> Self {
        if let Some(i) = self.0.iter().position(|a| a == "-p") {
            self.0[i + 1] = port.to_string();
        }
        self
    }

    pub fn arg(mut self, flag: &str, value: impl ToString) -> Self {
        self.0.push(flag.to_string());
        self.0.push(value.to_string());
        self
    }

    pub fn args(mut self, extra: &[&str]) -> Self {
        self.0.extend(extra.iter().map(|a| a.to_string()));
        self
    }

    /// The arguments as given, for runs that set their own `-m` and `-timeout`.
    pub fn into_args(self) -> Vec<String> {
        self.0
    }

    /// `-m calls -timeout 30` appended.
    pub fn build(self, calls: u32) -> Vec<String> {
        self.arg("-m", calls).arg("-timeout", 30).0
    }
}

/// One UDP datagram seen on the loopback interface.
#[derive(Debug, Clone)]
pub struct Datagram {
    pub src_port: u16,
    pub dst_port: u16,
    /// Capture time, microseconds since the Unix epoch.
    pub at_us: u64,
    pub payload: Vec<u8>,
}

/// A packet capture on `lo` with Wireshark's dumpcap (root, as CI runs): how the tests see the
/// RTP the hotline sends to a SIPp caller, which SIPp itself does not keep.
pub struct Capture {
    child: Option<Child>,
    path: PathBuf,
}

impl Capture {
    /// Captures UDP to or from `port` and `port + 1` (RTP and its RTCP) into `dir/name.pcap`;
    /// returns once dumpcap is capturing.
    pub fn start(dir: &Path, name: &str, port: u16) -> Result<Self> {
        which("dumpcap")?;
        let path = dir.join(format!("{name}.pcap"));
        let log = dir.join(format!("{name}.dumpcap.log"));
        let child = Command::new("dumpcap")
            .args([
                "-i",
                "lo",
                "-P",
                "-q",
                "-f",
                &format!("udp portrange {port}-{}", port + 1),
                "-w",
            ])
            .arg(&path)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log)?)
            .spawn()
            .context("spawn dumpcap")?;
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            if text.contains("Capturing on") {
                break;
            }
            if Instant::now() > deadline {
                bail!("dumpcap did not start capturing: {text}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(Self {
            child: Some(child),
            path,
        })
    }

    /// Stops the capture and returns its UDP datagrams in capture order.
    pub fn stop(mut self) -> Result<Vec<Datagram>> {
        if let Some(mut c) = self.child.take() {
            // SIGINT lets dumpcap flush and close the file.
            Command::new("kill")
                .args(["-INT", &c.id().to_string()])
                .status()
                .ok();
            let deadline = Instant::now() + Duration::from_secs(5);
            while c.try_wait()?.is_none() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
            c.kill().ok();
            c.wait().ok();
        }
        parse_pcap(&std::fs::read(&self.path)?)
    }
}

impl Drop for Capture {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            c.kill().ok();
            c.wait().ok();
        }
    }
}

/// Reads a classic pcap file of Ethernet (Linux loopback) or raw IPv4 frames.
pub fn parse_pcap(data: &[u8]) -> Result<Vec<Datagram>> {
    if data.len() < 24 {
        bail!("pcap too short ({} bytes)", data.len());
    }
    let magic = u32::from_le_bytes(data[0..4].try_into()?);
    let (le, nanos) = match magic {
        0xa1b2_c3d4 => (true, false),
        0xa1b2_3c4d => (true, true),
        0xd4c3_b2a1 => (false, false),
        0x4d3c_b2a1 => (false, true),
        m => bail!("not a pcap file (magic {m:#x})"),
    };
    let u32_at = |b: &[u8], o: usize| -> u32 {
        let a: [u8; 4] = b[o..o + 4].try_into().unwrap_or([0; 4]);
        if le {
            u32::from_le_bytes(a)
        } else {
            u32::from_be_bytes(a)
        }
    };
    let link = u32_at(data, 20);
    let mut out = Vec::new();
    let mut off = 24;
    while off + 16 <= data.len() {
        let sec = u64::from(u32_at(data, off));
        let frac = u64::from(u32_at(data, off + 4));
        let len = u32_at(data, off + 8) as usize;
        off += 16;
        if off + len > data.len() {
            break;
        }
        let frame = &data[off..off + len];
        off += len;
        let ip = match link {
            1 if frame.len() > 14 && frame[12..14] == [0x08, 0x00] => &frame[14..],
            101 | 228 => frame,
            _ => continue,
        };
        if ip.len() < 20 || ip[0] >> 4 != 4 || ip[9] != 17 {
            continue;
        }
        let ihl = usize::from(ip[0] & 0x0f) * 4;
        let Some(udp) = ip.get(ihl..) else { continue };
        if udp.len() < 8 {
            continue;
        }
        let at_us = sec * 1_000_000 + if nanos { frac / 1000 } else { frac };
        out.push(Datagram {
            src_port: u16::from_be_bytes([udp[0], udp[1]]),
            dst_port: u16::from_be_bytes([udp[2], udp[3]]),
            at_us,
            payload: udp[8..].to_vec(),
        });
    }
    Ok(out)
}

/// A prompt as the hotline sends it: the shipped WAV's samples, µ-law encoded.
pub fn prompt_ulaw(name: &str) -> Result<Vec<u8>> {
    let path = repo_root().join(format!("dialplans/prompts/zh/{name}.wav"));
    let mut r = hound::WavReader::open(&path).with_context(|| path.display().to_string())?;
    let samples: Vec<i16> = r.samples::<i16>().collect::<Result<_, _>>()?;
    Ok(samples
        .iter()
        .map(|&s| hotline_media::g711::linear_to_ulaw(s))
        .collect())
}

/// Writes a classic pcap of RTP packets (Ethernet, IPv4, UDP on loopback, 20 ms apart) that
/// SIPp's `play_pcap_audio` replays: how a test makes a phone send audio of its own making,
/// such as in-band DTMF tones.
pub fn write_rtp_pcap(path: &Path, pt: u8, payloads: &[Vec<u8>]) -> Result<()> {
    let mut out = Vec::new();
    out.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
    out.extend_from_slice(&2u16.to_le_bytes());
    out.extend_from_slice(&4u16.to_le_bytes());
    out.extend_from_slice(&0i32.to_le_bytes());
    out.extend_from_slice(&0u32.to_le_bytes());
    out.extend_from_slice(&65_535u32.to_le_bytes());
    out.extend_from_slice(&1u32.to_le_bytes()); // Ethernet
    for (i, payload) in payloads.iter().enumerate() {
        let mut rtp = vec![0x80, pt & 0x7f];
        rtp.extend_from_slice(&(i as u16).to_be_bytes());
        rtp.extend_from_slice(&((i as u32) * 160).to_be_bytes());
        rtp.extend_from_slice(&0x1234_5678u32.to_be_bytes());
        rtp.extend_from_slice(payload);
        let udp_len = 8 + rtp.len();
        let ip_len = 20 + udp_len;
        let mut frame = vec![0u8; 12];
        frame.extend_from_slice(&[0x08, 0x00]);
        frame.extend_from_slice(&[
            0x45,
            0,
            (ip_len >> 8) as u8,
            ip_len as u8,
            0,
            0,
            0,
            0,
            64,
            17,
            0,
            0,
        ]);
        frame.extend_from_slice(&[127, 0, 0, 1, 127, 0, 0, 1]);
        frame.extend_from_slice(&4000u16.to_be_bytes());
        frame.extend_from_slice(&4002u16.to_be_bytes());
        frame.extend_from_slice(&(udp_len as u16).to_be_bytes());
        frame.extend_from_slice(&[0, 0]);
        frame.extend_from_slice(&rtp);
        let micros = i as u64 * 20_000;
        out.extend_from_slice(&((micros / 1_000_000) as u32).to_le_bytes());
        out.extend_from_slice(&((micros % 1_000_000) as u32).to_le_bytes());
        out.extend_from_slice(&(frame.len() as u32).to_le_bytes());
        out.extend_from_slice(&(frame.len() as u32).to_le_bytes());
        out.extend_from_slice(&frame);
    }
    std::fs::write(path, out)?;
    Ok(())
}

/// An agent's (or a remote seat's, or a trunk's) SIPp UAS listening on `port`, registered as
/// `user` when given so that calls for that agent reach it.
pub fn phone(
    hl: &Hotline,
    dir: &Path,
    name: &str,
    user: Option<(&str, &str)>,
    scen: &str,
    port: u16,
    extra: &[&str],
) -> Result<Sipp> {
    let uas = sipp_spawn(
        dir,
        name,
        &SippArgs::new(scen)
            .port(port)
            .arg("-mp", free_even_port())
            .args(extra)
            .build(1),
    )?;
    // SIPp binds before it reads the scenario's first recv; give it a moment to own the port.
    std::thread::sleep(Duration::from_millis(300));
    if let Some((u, pw)) = user {
        register_agent(dir, hl.sip_udp, u, pw, port)?;
    }
    Ok(uas)
}

/// A free even UDP port whose neighbour is free too: SIPp's media port (RTP, and RTCP above it).
pub fn free_even_port() -> u16 {
    loop {
        let p = free_udp_port();
        if p.is_multiple_of(2) && p < 65000 && UdpSocket::bind(("127.0.0.1", p + 1)).is_ok() {
            return p;
        }
    }
}

/// One HTTP/1.1 request with `Connection: close`; the whole raw response (status line, headers,
/// body).
pub fn http_request(addr: SocketAddr, method: &str, path: &str, body: &str) -> Result<String> {
    // The ACD and call routes want a log-in; tests that are not about it act as the test
    // supervisor every test server has.
    let token = if path.starts_with("/api/acd") || path.starts_with("/api/calls") {
        Some(supervisor_token(addr)?)
    } else {
        None
    };
    http_request_as(addr, method, path, token.as_deref(), body)
}

/// The API user every test server has: a supervisor, who may use every ACD route.
pub const TEST_SUPERVISOR: &str =
    "[[users]]\nid = \"test-sup\"\nrole = \"supervisor\"\npassword = \"test-sup-pw\"\n\n";

/// A token of the test supervisor on the server at `addr`, logged in once per server.
type TokenCache = std::sync::Mutex<Option<std::collections::HashMap<SocketAddr, String>>>;
/// Per server; a stopped server's entry goes (its port may serve the next one).
static TOKENS: TokenCache = std::sync::Mutex::new(None);

fn forget_token(addr: SocketAddr) {
    if let Some(m) = TOKENS.lock().unwrap_or_else(|p| p.into_inner()).as_mut() {
        m.remove(&addr);
    }
}

pub fn supervisor_token(addr: SocketAddr) -> Result<String> {
    if let Some(t) = TOKENS
        .lock()
        .unwrap()
        .get_or_insert_with(Default::default)
        .get(&addr)
    {
        return Ok(t.clone());
    }
    // The users are put in once the database answers, just after start.
    let deadline = Instant::now() + Duration::from_secs(20);
    let token = loop {
        let out = http_request_as(
            addr,
            "POST",
            "/api/auth/login",
            None,
            r#"{"user":"test-sup","password":"test-sup-pw"}"#,
        )?;
        if out.starts_with("HTTP/1.1 200") {
            let body = out.split_once("\r\n\r\n").map(|x| x.1).unwrap_or("");
            let v: serde_json::Value = serde_json::from_str(body)?;
            break v["token"].as_str().context("token")?.to_string();
        }
        if Instant::now() > deadline {
            bail!("the test supervisor cannot log in: {out}");
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    TOKENS
        .lock()
        .unwrap()
        .get_or_insert_with(Default::default)
        .insert(addr, token.clone());
    Ok(token)
}

/// A request with `Authorization: Bearer <token>` when a token is given.
pub fn http_request_as(
    addr: SocketAddr,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: &str,
) -> Result<String> {
    let mut s = std::net::TcpStream::connect(addr)?;
    // Long enough for the requests that answer with an outcome (a transfer rings its target
    // for up to the ring timeout); the response ends the read anyway.
    s.set_read_timeout(Some(Duration::from_secs(30)))?;
    let auth = token
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n{auth}\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )?;
    let mut out = String::new();
    s.read_to_string(&mut out)?;
    Ok(out)
}

/// A GET's raw response.
pub fn http_get(addr: SocketAddr, path: &str) -> Result<String> {
    http_request(addr, "GET", path, "")
}
