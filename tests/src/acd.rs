//! Helpers for the tests of the ACD and of calls in progress: the JSON API, agent states, a
//! citizen who waits on the line, a hotline whose annex points lines at loopback SIPp peers.

use crate::{Hotline, Sipp, SippArgs, free_even_port, http_request, repo_root, sipp_spawn};
use anyhow::{Context, Result, bail};
use serde_json::Value;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// One API request: (status, the JSON body's line).
pub fn api(addr: SocketAddr, method: &str, path: &str, body: &str) -> Result<(u16, String)> {
    split_response(&http_request(addr, method, path, body)?)
}

/// A raw response as (status, the JSON body's line).
pub fn split_response(out: &str) -> Result<(u16, String)> {
    let status = out
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .context("status line")?;
    let body = out.split_once("\r\n\r\n").map(|x| x.1).unwrap_or("");
    // Chunked bodies: the JSON is the one line that starts with { or [.
    let json = body
        .lines()
        .find(|l| l.starts_with('{') || l.starts_with('['))
        .unwrap_or(body)
        .to_string();
    Ok((status, json))
}

/// `GET /api/acd`.
pub fn snapshot(hl: &Hotline) -> Result<Value> {
    let (code, body) = api(hl.http, "GET", "/api/acd", "")?;
    if code != 200 {
        bail!("GET /api/acd: {code} {body}");
    }
    Ok(serde_json::from_str(&body)?)
}

/// An agent's state name and not-ready reason.
pub fn agent_state(hl: &Hotline, id: &str) -> Result<(String, Option<String>)> {
    let snap = snapshot(hl)?;
    let a = snap["agents"]
        .as_array()
        .context("agents")?
        .iter()
        .find(|a| a["id"] == id)
        .with_context(|| format!("agent {id} in {snap}"))?
        .clone();
    Ok((
        a["state"].as_str().unwrap_or_default().to_string(),
        a["reason"].as_str().map(str::to_string),
    ))
}

/// Polls until the agent is in `state`; its reason then (or fails with the last state seen).
pub fn wait_agent_state(
    hl: &Hotline,
    id: &str,
    state: &str,
    limit: Duration,
) -> Result<Option<String>> {
    let deadline = Instant::now() + limit;
    loop {
        let (s, reason) = agent_state(hl, id)?;
        if s == state {
            return Ok(reason);
        }
        if Instant::now() > deadline {
            bail!("agent {id} is {s} ({reason:?}), not {state}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A citizen who dials 12345, presses 0 (to an agent) and stays on the line until the
/// hotline hangs up, media on `mp` (a free even port when None).
pub fn waiting_citizen(hl: &Hotline, mp: Option<u16>) -> Result<Sipp> {
    sipp_spawn(
        hl.dir.path(),
        "citizen",
        &SippArgs::new("ivr_caller_wait_bye.xml")
            .to(hl.sip_udp)
            .arg("-s", "12345")
            .arg("-mp", mp.unwrap_or_else(free_even_port))
            .args(&["-set", "dtmf_after", "0", "-timeout", "60"])
            .arg("-m", 1)
            .into_args(),
    )
}

/// A hotline whose annex has `replace` applied (a trunk or seat URI pointed at a loopback
/// SIPp), on `db_url` (SQLite in its directory when None), with `env` on top.
pub fn start_with_lines(
    replace: &[(&str, String)],
    db_url: Option<String>,
    env: &[(&str, &str)],
) -> Result<Hotline> {
    let dir = tempfile::tempdir()?;
    let mut numbers = std::fs::read_to_string(repo_root().join("config/hotlines.toml"))?;
    for (from, to) in replace {
        anyhow::ensure!(numbers.contains(from), "`{from}` is not in hotlines.toml");
        numbers = numbers.replace(from, to);
    }
    let path = dir.path().join("hotlines-test.toml");
    std::fs::write(&path, numbers)?;
    let numbers_env = path.display().to_string();
    let db_url =
        db_url.unwrap_or_else(|| format!("sqlite://{}/hotline.db?mode=rwc", dir.path().display()));
    let mut all: Vec<(&str, &str)> = vec![("HOTLINE_HOTLINE__NUMBERS_FILE", numbers_env.as_str())];
    all.extend_from_slice(env);
    Hotline::start_in(dir, db_url, "", &all)
}
