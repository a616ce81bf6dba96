//! The `hotline` binary: `run` starts the SIP service, the call-record writer and the HTTP endpoint
//! (health, metrics); `check` validates the configuration; `passwd` prints the digest hashes an
//! agent's entry needs so no password has to be written into the config.

mod acd_api;
mod acd_store;
mod attachments_api;
mod embedded;
mod http;
mod insight_api;
mod insight_rt;
mod kb_api;
mod kb_rt;
mod orders_api;
mod orders_rt;
mod phone_ws;
mod settings;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;
use tracing::{error, info, warn};

#[derive(Parser)]
#[command(
    name = "hotline",
    version,
    about = "12345 government-service hotline: SIP registrar, proxy and hotline entry"
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Run the hotline (embedded defaults when no --config is given).
    Run {
        #[arg(long, env = "HOTLINE_CONFIG")]
        config: Option<PathBuf>,
    },
    /// Validate the configuration and the hotline numbers file; errors name file, line and key.
    Check {
        #[arg(long, env = "HOTLINE_CONFIG")]
        config: Option<PathBuf>,
    },
    /// Print an API user's `password_hash` line (argon2id); the password is read from
    /// standard input.
    HashPassword,
    /// Print an agent's ha1_md5 and ha1_sha256 lines; the password is read from standard input.
    Passwd {
        /// The agent id (digest username).
        user: String,
        #[arg(long, default_value = "hotline")]
        realm: String,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.cmd {
        Cmd::Check { config } => match settings::load(config.as_deref()) {
            Ok(loaded) => {
                println!("{}: ok ({})", loaded.source, loaded.summary());
                ExitCode::SUCCESS
            }
            Err(msgs) => {
                for m in msgs {
                    eprintln!("{m}");
                }
                ExitCode::from(2)
            }
        },
        Cmd::HashPassword => {
            let mut pw = String::new();
            if std::io::stdin().read_line(&mut pw).is_err() {
                eprintln!("cannot read the password from standard input");
                return ExitCode::from(2);
            }
            let pw = pw.trim_end_matches(['\r', '\n']);
            if pw.is_empty() {
                eprintln!("the password is empty");
                return ExitCode::from(2);
            }
            match hotline_orders::auth::hash_password(pw) {
                Ok(h) => {
                    println!("password_hash = \"{h}\"");
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("{e}");
                    ExitCode::FAILURE
                }
            }
        }
        Cmd::Passwd { user, realm } => {
            let mut pw = String::new();
            if std::io::stdin().read_line(&mut pw).is_err() {
                eprintln!("cannot read the password from standard input");
                return ExitCode::from(2);
            }
            let pw = pw.trim_end_matches(['\r', '\n']);
            println!(
                "ha1_md5 = \"{}\"",
                hotline_config::ha1_md5(&user, &realm, pw)
            );
            println!(
                "ha1_sha256 = \"{}\"",
                hotline_config::ha1_sha256(&user, &realm, pw)
            );
            ExitCode::SUCCESS
        }
        Cmd::Run { config } => {
            let loaded = match settings::load(config.as_deref()) {
                Ok(l) => l,
                Err(msgs) => {
                    for m in msgs {
                        eprintln!("{m}");
                    }
                    return ExitCode::from(2);
                }
            };
            let rt = match tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
            {
                Ok(rt) => rt,
                Err(e) => {
                    eprintln!("cannot start the runtime: {e}");
                    return ExitCode::FAILURE;
                }
            };
            match rt.block_on(run(loaded)) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("hotline: {e:#}");
                    ExitCode::FAILURE
                }
            }
        }
    }
}

async fn run(loaded: settings::Loaded) -> Result<()> {
    let filter = std::env::var("RUST_LOG").unwrap_or_else(|_| loaded.log_filter.clone());
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_new(&filter).context("log.filter")?)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let prometheus = metrics_exporter_prometheus::PrometheusBuilder::new()
        .install_recorder()
        .context("install the metrics recorder")?;

    // Records flow: SIP handlers -> sink channel -> writer (database, or the spool when it is down).
    if let Some(parent) = std::path::Path::new(&loaded.spool_dir).parent() {
        std::fs::create_dir_all(parent).ok();
    }
    let (writer, writer_task) = hotline_store::CallRecordWriter::start(
        loaded.database_url.clone(),
        PathBuf::from(&loaded.spool_dir),
    );
    // Hashed before the first request: log-in works for them even without the database.
    let config_users =
        std::sync::Arc::new(orders_rt::hash_config_users(&loaded.orders.users).await);
    let orders = orders_rt::OrdersRuntime::start(
        loaded.orders.clone(),
        config_users.clone(),
        loaded.database_url.clone(),
    );
    let kb = kb_rt::KbRuntime::start(loaded.kb.clone(), orders.service.clone());
    let insight =
        insight_rt::Insight::new(&loaded.insight, &loaded.kb.lexicon, orders.service.clone());
    let insight_stop = tokio_util::sync::CancellationToken::new();
    let insight_task = insight_rt::start(
        insight.clone(),
        std::time::Duration::from_secs(u64::from(loaded.insight.evaluate_secs)),
        insight_stop.clone(),
    );
    let token_ttl = loaded.orders.token_ttl;
    let (sink, mut records) = hotline_sip::RecordSink::new();
    let forward_stop = tokio_util::sync::CancellationToken::new();
    let forward = {
        let writer = writer.clone();
        let drafts = orders.drafts.clone();
        let stop = forward_stop.clone();
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    r = records.recv() => match r {
                        Some(r) => {
                            // The record is stored (or spooled) and its order drafted; a
                            // draft that fails is made by the catch-up scan later.
                            let _ = drafts.send(r.clone());
                            writer.submit(r);
                        }
                        None => return,
                    },
                    _ = stop.cancelled() => break,
                }
            }
            // Stopping: take what the hung-up calls left in the channel; handlers still holding
            // the sink after this log their records instead (RecordSink::submit).
            while let Ok(r) = records.try_recv() {
                let _ = drafts.send(r.clone());
                writer.submit(r);
            }
        })
    };

    let mut sip_cfg = loaded.sip.clone();
    if let Some(acd) = sip_cfg.acd.as_mut() {
        acd.store = Some(std::sync::Arc::new(acd_store::StoreAcd::new(
            loaded.database_url.clone(),
        )));
    }
    let sip = hotline_sip::SipServer::start(sip_cfg, sink)
        .await
        .context("start SIP")?;
    let listener = tokio::net::TcpListener::bind(loaded.http_listen)
        .await
        .with_context(|| format!("cannot listen for HTTP on {}", loaded.http_listen))?;
    let http_addr = listener.local_addr()?;
    let state = http::State::new(
        prometheus,
        loaded.database_url.clone(),
        sip.udp_addrs().to_vec(),
    );
    let acd = acd_api::AcdState(sip.acd(), sip.calls());
    let orders_state = orders_api::OrdersState {
        service: orders.service.clone(),
        token_ttl,
        sessions: std::sync::Arc::new(orders_api::Sessions::default()),
        config_users,
        kb: kb.service.clone(),
        kb_suggestions: loaded.kb.suggestions,
    };
    let guard = acd_api::Guard {
        orders: orders_state.clone(),
        acd: sip.acd(),
    };
    let insight_state = insight_api::InsightState {
        orders: orders_state.clone(),
        insight: insight.clone(),
    };
    let phone_state = loaded.sip.media.as_ref().map(|m| phone_ws::PhoneState {
        orders: orders_state.clone(),
        phones: sip.phones(),
        numbers: loaded.sip.numbers.clone(),
        bridge: phone_ws::bridge_config(m.ports.ip()),
    });
    let http_cancel = tokio_util::sync::CancellationToken::new();
    let http_task = {
        let cancel = http_cancel.clone();
        tokio::spawn(async move {
            let mut app = http::router(state)
                .merge(acd_api::router(acd, guard))
                .merge(orders_api::router(orders_state));
            // Without the media engine (`[ivr] enabled = false`) calls are not anchored, so
            // there is no RTP to bridge a browser to: no softphone.
            if let Some(p) = phone_state {
                app = app.merge(phone_ws::router(p));
            }
            app = app.merge(insight_api::router(insight_state));
            if let Err(e) = axum::serve(listener, app)
                .with_graceful_shutdown(async move { cancel.cancelled().await })
                .await
            {
                error!(error = %e, "HTTP server failed");
            }
        })
    };
    let udp = sip
        .udp_addrs()
        .first()
        .map(|a| a.to_string())
        .unwrap_or_else(|| "-".into());
    let tcp = sip
        .tcp_addrs()
        .first()
        .map(|a| a.to_string())
        .unwrap_or_else(|| "-".into());
    // One machine-readable line for scripts and tests (ports may be 0 in config).
    println!("hotline ready sip_udp={udp} sip_tcp={tcp} http={http_addr}");
    info!(config = %loaded.source, %udp, %tcp, http = %http_addr, "hotline running");

    wait_for_signal().await;
    info!("stopping: hanging up calls, flushing records");
    sip.shutdown(Duration::from_secs(5)).await;
    forward_stop.cancel();
    forward.await.ok();
    insight_stop.cancel();
    let _ = tokio::time::timeout(std::time::Duration::from_secs(5), insight_task).await;
    kb.stop().await;
    orders.stop().await;
    match tokio::time::timeout(Duration::from_secs(10), writer.flush()).await {
        Ok(Ok(())) => info!("call records flushed"),
        Ok(Err(e)) => error!(error = %e, "call record writer stopped early"),
        Err(_) => {
            // The database is too slow to take the backlog in time: everything still queued goes
            // to the spool (fast, local), which the next start replays. Nothing is dropped.
            warn!("database too slow for the remaining call records; spooling them");
            writer.spool_rest();
            match tokio::time::timeout(Duration::from_secs(30), writer.flush()).await {
                Ok(Ok(())) => info!("remaining call records spooled"),
                _ => error!("spooling the remaining call records did not finish"),
            }
        }
    }
    drop(writer);
    writer_task.abort();
    http_cancel.cancel();
    http_task.await.ok();
    info!("stopped");
    Ok(())
}

async fn wait_for_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = match signal(SignalKind::terminate()) {
        Ok(s) => s,
        Err(_) => {
            tokio::signal::ctrl_c().await.ok();
            return;
        }
    };
    tokio::select! {
        _ = term.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
}
