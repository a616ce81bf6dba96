//! A call record is never lost: with PostgreSQL unreachable the server keeps taking calls and
//! spools their records to disk; when the database appears, the spool is replayed into it, once.

use anyhow::{Context, Result};
use hotline_tests::acd::split_response;
use hotline_tests::{
    Hotline, SIGNALLING_ONLY, http_request_as, status_of, supervisor_token, udp_exchange,
};
use std::process::Command;
use std::time::{Duration, Instant};

fn pg_admin_url() -> String {
    std::env::var("TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

fn psql(sql: &str) -> Result<String> {
    let out = Command::new("psql")
        .arg(pg_admin_url())
        .args(["-Atc", sql])
        .output()
        .context("psql")?;
    anyhow::ensure!(
        out.status.success(),
        "psql {sql}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

#[test]
fn records_are_spooled_while_postgres_is_away_and_replayed_when_it_returns() -> Result<()> {
    // PostgreSQL must run for this test (the test script starts it); the database itself does
    // not exist yet, which is what "unreachable" looks like to the server.
    psql("select 1").context("PostgreSQL is not running: scripts/test.sh starts it")?;
    let db = format!("hotline_outage_{}", std::process::id());
    psql(&format!("drop database if exists {db}"))?;
    let base = pg_admin_url();
    let url = format!(
        "{}/{db}",
        base.rsplit_once('/').map(|(b, _)| b).unwrap_or(&base)
    );
    let dir = tempfile::tempdir()?;
    let spool = dir.path().join("spool").join(hotline_store::SPOOL_FILE);
    let hl = Hotline::start_in(dir, url.clone(), SIGNALLING_ONLY, &[])?;

    // Three calls with nobody staffed: each is answered 480 and leaves a record.
    for i in 0..3 {
        let s = hl.sip_udp;
        let replies = udp_exchange(
            s,
            |l| {
                format!(
                    "INVITE sip:12345@{s} SIP/2.0\r\nVia: SIP/2.0/UDP {l};branch=z9hG4bK-out{i}\r\nFrom: <sip:1390000000{i}@{l}>;tag=o{i}\r\n\
                     To: <sip:12345@{s}>\r\nCall-ID: outage-{i}\r\nCSeq: 1 INVITE\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
                )
                .into_bytes()
            },
            Duration::from_secs(2),
        )?;
        assert!(
            replies.iter().any(|r| status_of(r) == 480),
            "call {i} must be answered while the database is away: {replies:?}"
        );
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    let spooled = loop {
        let n = std::fs::read_to_string(&spool)
            .map(|t| t.lines().count())
            .unwrap_or(0);
        if n >= 3 || Instant::now() > deadline {
            break n;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(
        spooled,
        3,
        "records must be on disk while the database is away:\n{}",
        hl.log()
    );

    // A config user logs in while the database is away (the token lives in memory).
    let token = supervisor_token(hl.http)?;
    let (code, _) = split_response(&http_request_as(
        hl.http,
        "GET",
        "/api/orders",
        Some(&token),
        "",
    )?)?;
    assert_eq!(code, 503, "orders need the database");

    psql(&format!("create database {db}"))?;
    // The writer retries with backoff (1 s doubling to 30 s): within a minute all three are in.
    let recs = hl.wait_records(3, Duration::from_secs(60))?;
    let callers: Vec<String> = recs.iter().map(|r| r.caller.clone()).collect();
    assert_eq!(
        callers,
        vec!["13900000000", "13900000001", "13900000002"],
        "{}",
        hl.log()
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::fs::read_to_string(&spool)
        .map(|t| !t.trim().is_empty())
        .unwrap_or(false)
        && Instant::now() < deadline
    {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(
        std::fs::read_to_string(&spool)
            .map(|t| t.trim().is_empty())
            .unwrap_or(true),
        "spool not emptied"
    );
    // And each of the calls became its order (on the missed-call list: nobody answered), on
    // PostgreSQL, through the work-order API: drafted from the queued records once the
    // database answered, or by the scan over the replayed ones.
    let deadline = Instant::now() + Duration::from_secs(30);
    let missed = loop {
        let out = http_request_as(hl.http, "GET", "/api/missed-calls", Some(&token), "")?;
        let body = out.split_once("\r\n\r\n").map(|x| x.1).unwrap_or("");
        let v: serde_json::Value = serde_json::from_str(body).unwrap_or_default();
        let mut callers: Vec<String> = v["missed_calls"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|m| m["caller"].as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        callers.sort();
        if callers.len() >= 3 || Instant::now() > deadline {
            break callers;
        }
        std::thread::sleep(Duration::from_millis(300));
    };
    assert_eq!(
        missed,
        ["13900000000", "13900000001", "13900000002"],
        "{}",
        hl.log()
    );
    drop(hl);
    psql(&format!("drop database if exists {db} with (force)"))?;
    Ok(())
}
