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
    Router::new()
        .route("/health", get(health))
        .route("/metrics", get(metrics))
        .with_state(state)
}

async fn metrics(AxState(s): AxState<State>) -> impl IntoResponse {
    (
        [("content-type", "text/plain; version=0.0.4")],
        s.0.prometheus.render(),
    )
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
