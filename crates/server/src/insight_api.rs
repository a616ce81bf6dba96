//! The leaders' dashboard and the alerts over HTTP (issue 9), for supervisors and admins:
//! `GET /api/insight/dashboard`, `/orders` (drill-down), `/brief` (printable HTML), `/alerts`,
//! `POST /api/insight/alerts/{cause}/acknowledge|close`, `POST /api/insight/evaluate` (run the
//! rules now, or as of a past time after a rule changed), and `/api/insight/events`, the
//! alerts live over a WebSocket.

use std::sync::Arc;

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, NaiveDate, Utc};
use hotline_insight::{Granularity, Period};
use hotline_store::FactDimension;
use serde::Deserialize;
use serde_json::json;

use crate::insight_rt::{Insight, InsightError};
use crate::orders_api::{Caller, Failure, OrdersState};

#[derive(Clone)]
pub struct InsightState {
    pub orders: OrdersState,
    pub insight: Arc<Insight>,
}

impl FromRequestParts<InsightState> for Caller {
    type Rejection = Failure;
    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        s: &InsightState,
    ) -> Result<Self, Failure> {
        let c =
            <Caller as FromRequestParts<OrdersState>>::from_request_parts(parts, &s.orders).await?;
        c.supervisor()?;
        Ok(c)
    }
}

pub fn router(state: InsightState) -> Router {
    Router::new()
        .route("/api/insight/dashboard", get(dashboard))
        .route("/api/insight/orders", get(orders))
        .route("/api/insight/brief", get(brief))
        .route("/api/insight/alerts", get(alerts))
        .route("/api/insight/alerts/{cause}/{action}", post(handle))
        .route("/api/insight/evaluate", post(evaluate))
        .route("/api/insight/events", get(events))
        .with_state(state)
}

fn fail(e: InsightError) -> Failure {
    match e {
        InsightError::NotReady => Failure::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "the work-order database is not reachable yet",
        ),
        InsightError::Alert(e) => Failure::new(StatusCode::CONFLICT, e.to_string()),
        InsightError::Store(e) => Failure::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PeriodQuery {
    /// day, week or month (default month).
    granularity: Option<String>,
    /// A Beijing date in the period (YYYY-MM-DD); default today.
    date: Option<NaiveDate>,
    /// Read by the log-in check (a printed brief opens in a new tab without headers);
    /// accepted here so that the query's unknown-field check lets it through.
    #[serde(default)]
    #[allow(dead_code)]
    access_token: Option<String>,
    /// Drill-down: the dimension and key, the page size and the cursor.
    by: Option<String>,
    key: Option<String>,
    limit: Option<u32>,
    before: Option<String>,
}

impl PeriodQuery {
    fn period(&self) -> Result<Period, Failure> {
        let g = match self.granularity.as_deref().unwrap_or("month") {
            "day" => Granularity::Day,
            "week" => Granularity::Week,
            "month" => Granularity::Month,
            other => {
                return Err(Failure::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    format!("`granularity` = {other:?}: give day, week or month"),
                ));
            }
        };
        let day = self
            .date
            .unwrap_or_else(|| hotline_insight::period::day_of(Utc::now()));
        Ok(Period::containing(g, day))
    }
}

async fn dashboard(
    State(s): State<InsightState>,
    _c: Caller,
    Query(q): Query<PeriodQuery>,
) -> Result<Response, Failure> {
    let p = q.period()?;
    let d = s.insight.dashboard(p).await.map_err(fail)?;
    Ok(Json(d).into_response())
}

fn dimension(s: &str) -> Option<FactDimension> {
    FactDimension::ALL.into_iter().find(|d| d.name() == s)
}

async fn orders(
    State(s): State<InsightState>,
    _c: Caller,
    Query(q): Query<PeriodQuery>,
) -> Result<Response, Failure> {
    let p = q.period()?;
    let by = q.by.as_deref().unwrap_or("");
    let dim = dimension(by).ok_or_else(|| {
        Failure::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            format!(
                "`by` = {by:?}: give one of {}",
                FactDimension::ALL.map(|d| d.name()).join(", ")
            ),
        )
    })?;
    let key = q.key.clone().unwrap_or_default();
    let limit = q.limit.unwrap_or(50).clamp(1, 500);
    let nos = s
        .insight
        .drill(dim, &key, p, limit, q.before.as_deref())
        .await
        .map_err(fail)?;
    let next = (nos.len() as u32 == limit)
        .then(|| nos.last().cloned())
        .flatten();
    Ok(
        Json(json!({"by": by, "key": key, "period": p.label(), "orders": nos, "next": next}))
            .into_response(),
    )
}

async fn brief(
    State(s): State<InsightState>,
    _c: Caller,
    Query(q): Query<PeriodQuery>,
) -> Result<Response, Failure> {
    let p = q.period()?;
    let html = s.insight.brief(p).await.map_err(fail)?;
    Ok(Html(html).into_response())
}

async fn alerts(State(s): State<InsightState>, _c: Caller) -> Result<Response, Failure> {
    let open = s.insight.open_alerts().await.map_err(fail)?;
    Ok(Json(json!({"alerts": open})).into_response())
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct NoteBody {
    note: Option<String>,
}

async fn handle(
    State(s): State<InsightState>,
    c: Caller,
    Path((cause, action)): Path<(String, String)>,
    body: String,
) -> Result<Response, Failure> {
    let b: NoteBody = if body.trim().is_empty() {
        NoteBody::default()
    } else {
        serde_json::from_str(&body)
            .map_err(|e| Failure::new(StatusCode::UNPROCESSABLE_ENTITY, format!("the body: {e}")))?
    };
    let close = match action.as_str() {
        "acknowledge" => false,
        "close" => true,
        other => {
            return Err(Failure::new(
                StatusCode::NOT_FOUND,
                format!("no alert action `{other}` (acknowledge or close)"),
            ));
        }
    };
    let note = b.note.unwrap_or_default();
    let e = s
        .insight
        .handle_alert(&cause, &c.0.user, &note, close, Utc::now())
        .await
        .map_err(|e| match e {
            InsightError::Alert(hotline_insight::warning::AlertError::Unknown(c)) => {
                Failure::new(StatusCode::NOT_FOUND, format!("no alert for cause {c}"))
            }
            InsightError::Alert(hotline_insight::warning::AlertError::NoNote) => Failure::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "closing an alert needs a `note` saying what was done",
            ),
            e => fail(e),
        })?;
    Ok(Json(e).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EvaluateQuery {
    /// Run the rules as of this time (RFC 3339); default now.
    at: Option<DateTime<Utc>>,
}

async fn evaluate(
    State(s): State<InsightState>,
    _c: Caller,
    Query(q): Query<EvaluateQuery>,
) -> Result<Response, Failure> {
    let at = q.at.unwrap_or_else(Utc::now);
    let pushed = s.insight.evaluate(at).await.map_err(fail)?;
    Ok(Json(json!({"at": at, "alerts": pushed})).into_response())
}

async fn events(State(s): State<InsightState>, _c: Caller, ws: WebSocketUpgrade) -> Response {
    let rx = s.insight.subscribe();
    ws.on_upgrade(move |socket| stream(socket, rx))
}

async fn stream(mut socket: WebSocket, mut rx: tokio::sync::broadcast::Receiver<String>) {
    loop {
        tokio::select! {
            ev = rx.recv() => match ev {
                Ok(text) => {
                    if socket.send(Message::Text(text.into())).await.is_err() {
                        return;
                    }
                }
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                Err(_) => return,
            },
            msg = socket.recv() => match msg {
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return,
                _ => {}
            },
        }
    }
}
