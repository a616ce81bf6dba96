//! The HTTP endpoint: `/health` (liveness plus whether the database answers) and `/metrics`
//! (Prometheus text format).

use axum::extract::State as AxState;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use metrics_exporter_prometheus::PrometheusHandle;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

#[derive(Clone)]
pub struct State(Arc<Inner>);

struct Inner {
    prometheus: PrometheusHandle,
    database_url: String,
    sip_udp: Vec<SocketAddr>,
    started: std::time::Instant,
    store: tokio::sync::Mutex<Option<hotline_store::Store>>,
}

impl State {
    pub fn new(
        prometheus: PrometheusHandle,
        database_url: String,
        sip_udp: Vec<SocketAddr>,
    ) -> Self {
        Self(Arc::new(Inner {
            prometheus,
            database_url,
            sip_udp,
            started: std::time::Instant::now(),
            store: tokio::sync::Mutex::new(None),
        }))
    }
}

pub fn router(state: State) -> Router {
    let mut pages = Router::new();
    for (path, content_type, body) in PAGES {
        pages = pages.route(
            path,
            get(move || async move { ([("content-type", content_type)], body) }),
        );
    }
    pages
        .route("/health", get(health))
        .route("/metrics", get(metrics))
        .with_state(state)
}

/// The web screens (issue 8), compiled in and served by the hotline itself: path, content
/// type, body.
const PAGES: [(&str, &str, &str); 13] = [
    (
        "/",
        "text/html; charset=utf-8",
        include_str!("../web/index.html"),
    ),
    (
        "/app.js",
        "text/javascript; charset=utf-8",
        include_str!("../web/app.js"),
    ),
    (
        "/dashboard",
        "text/html; charset=utf-8",
        include_str!("../web/dashboard.html"),
    ),
    (
        "/dashboard.js",
        "text/javascript; charset=utf-8",
        include_str!("../web/dashboard.js"),
    ),
    (
        "/center",
        "text/html; charset=utf-8",
        include_str!("../web/center.html"),
    ),
    (
        "/center.js",
        "text/javascript; charset=utf-8",
        include_str!("../web/center.js"),
    ),
    (
        "/phone.js",
        "text/javascript; charset=utf-8",
        include_str!("../web/phone.js"),
    ),
    (
        "/app.css",
        "text/css; charset=utf-8",
        include_str!("../web/app.css"),
    ),
    (
        "/wallboard",
        "text/html; charset=utf-8",
        include_str!("../web/wallboard.html"),
    ),
    (
        "/wallboard.js",
        "text/javascript; charset=utf-8",
        include_str!("../web/wallboard.js"),
    ),
    (
        "/units",
        "text/html; charset=utf-8",
        include_str!("../web/units.html"),
    ),
    (
        "/units.js",
        "text/javascript; charset=utf-8",
        include_str!("../web/units.js"),
    ),
    (
        "/common.js",
        "text/javascript; charset=utf-8",
        include_str!("../web/common.js"),
    ),
];

async fn metrics(AxState(s): AxState<State>) -> impl IntoResponse {
    let mut body = s.0.prometheus.render();
    media_metrics(&mut body);
    ([("content-type", "text/plain; version=0.0.4")], body)
}

/// The media engine's counters (atomics updated per packet, read here) in Prometheus text.
fn media_metrics(out: &mut String) {
    use std::fmt::Write as _;
    for (name, value) in hotline_media_rt::STATS.snapshot() {
        let (kind, help) = match name {
            "calls_active" => ("gauge", "calls with a media task now"),
            "max_lateness_us" => ("gauge", "worst RTP send lateness seen, microseconds"),
            "sent_late_5ms" => (
                "counter",
                "RTP packets sent more than 5 ms after they were due",
            ),
            _ => ("counter", "media engine counter"),
        };
        let metric = format!("hotline_media_{name}");
        let _ = writeln!(
            out,
            "# HELP {metric} {help}\n# TYPE {metric} {kind}\n{metric} {value}"
        );
    }
    let name = "hotline_media_send_lateness_seconds";
    let _ = writeln!(
        out,
        "# HELP {name} RTP packets by how late they were sent\n# TYPE {name} histogram"
    );
    let hist = hotline_media_rt::STATS.lateness_histogram();
    for (le, count) in &hist {
        let _ = writeln!(out, "{name}_bucket{{le=\"{le}\"}} {count}");
    }
    let total = hist.last().map(|h| h.1).unwrap_or(0);
    let _ = writeln!(out, "{name}_count {total}");
}

/// 200 when the SIP service runs; `database` says whether call records reach the database now or
/// go to the spool (the service still takes calls then, so this is not a failure of the health).
async fn health(AxState(s): AxState<State>) -> impl IntoResponse {
    let db_ok = {
        let mut guard = s.0.store.lock().await;
        if guard.is_none() {
            *guard = tokio::time::timeout(
                Duration::from_secs(2),
                hotline_store::Store::connect(&s.0.database_url),
            )
            .await
            .ok()
            .and_then(Result::ok);
        }
        match guard.as_ref() {
            Some(store) => {
                let ok = tokio::time::timeout(Duration::from_secs(2), store.ping())
                    .await
                    .is_ok_and(|r| r.is_ok());
                if !ok {
                    *guard = None;
                }
                ok
            }
            None => false,
        }
    };
    let body = serde_json::json!({
        "status": "ok",
        "database": if db_ok { "up" } else { "down (records are spooled)" },
        "sip_udp": s.0.sip_udp.iter().map(|a| a.to_string()).collect::<Vec<_>>(),
        "uptime_secs": s.0.started.elapsed().as_secs(),
    });
    (StatusCode::OK, Json(body))
}
