//! The work-order API (issue 6): log-in, orders and their steps, the missed-call list, the
//! units' deadlines, the KPIs, the calendar overrides, users, and the audit and outbox logs.
//!
//! Every route but log-in and the API document wants `Authorization: Bearer <token>`; each
//! checks the caller's role. A unit's staff see only the orders their unit leads or co-handles
//! (another unit's order is 404, as if it did not exist), with the caller's number and ID
//! masked; a reveal is audited, and a report's (举报) or confidential requester is never shown
//! to a unit. Every answer that carries personal data is written to the audit log.

use std::collections::BTreeMap;

use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use hotline_calendar::{Calendar, beijing_date, end_of_beijing_day};
use hotline_orders::{OrderService, Principal, ServiceError, auth, open_statuses};
use hotline_store::{AuditRow, CalendarOverrideRow, OrderQuery, OrderRow, UserRow};
use hotline_workorder::{
    Actor, EventKind, Exposure, Kpis, Role, Status, exposure, redact_history, redact_order,
    status_name,
};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::{IntoParams, OpenApi, ToSchema};
use utoipa_scalar::{Scalar, Servable};

#[derive(Clone)]
pub struct OrdersState {
    /// Set once the database has answered (the hotline takes calls before that).
    pub service: std::sync::Arc<tokio::sync::OnceCell<OrderService>>,
    pub token_ttl: Duration,
    pub sessions: std::sync::Arc<Sessions>,
    /// The config file's users with their hashes.
    pub config_users: std::sync::Arc<Vec<ConfigUser>>,
    /// The knowledge base, once its database and index are ready.
    pub kb: std::sync::Arc<tokio::sync::OnceCell<hotline_knowledge::KbService>>,
    /// Suggestions per request unless the agent asks for fewer (`kb.suggestions`).
    pub kb_suggestions: usize,
}

/// A user of the config file, for log-in while the database is away.
#[derive(Clone)]
pub struct ConfigUser {
    pub id: String,
    pub name: String,
    pub role: Role,
    pub password_hash: String,
}

/// Tokens seen recently, so a request does not read the database each time and a logged-in
/// agent's call actions (the emergency transfer above all) keep working while the database is
/// briefly away. An entry is checked against the database again after `RECHECK`; if the
/// database does not answer then, the cached answer stands until the token expires. Log-out
/// removes the entry at once.
#[derive(Default)]
pub struct Sessions {
    map: std::sync::Mutex<std::collections::HashMap<String, (Principal, std::time::Instant)>>,
    /// Tokens given while the database was away, not yet stored in it.
    offline: std::sync::Mutex<std::collections::HashSet<String>>,
}

const RECHECK: std::time::Duration = std::time::Duration::from_secs(60);

impl Sessions {
    fn cached(&self, token: &str) -> Option<(Principal, bool)> {
        let map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        map.get(token)
            .map(|(p, at)| (p.clone(), at.elapsed() < RECHECK))
    }

    fn put(&self, token: &str, p: &Principal) {
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        let now = Utc::now();
        map.retain(|_, (q, _)| q.expires_at > now);
        map.insert(token.to_string(), (p.clone(), std::time::Instant::now()));
    }

    fn forget(&self, token: &str) {
        self.offline
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(token);
        self.map
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(token);
    }
}

impl OrdersState {
    /// Log-in against the config file's users, the token kept in memory until the database
    /// is back (then it is stored there like any other).
    async fn offline_log_in(
        &self,
        user: &str,
        password: &str,
        now: DateTime<Utc>,
    ) -> ApiResult<(String, Principal)> {
        let found = self.config_users.iter().find(|u| u.id == user);
        let hash = found.map(|u| u.password_hash.clone()).unwrap_or_default();
        let pw = password.to_string();
        let ok = tokio::task::spawn_blocking(move || auth::verify_password(&pw, &hash))
            .await
            .unwrap_or(false);
        let Some(u) = found.filter(|_| ok) else {
            return Err(match self.svc() {
                Err(unavailable) if found.is_none() => unavailable,
                _ => Failure::new(StatusCode::UNAUTHORIZED, "wrong user name or password"),
            });
        };
        let token = auth::new_token();
        let p = Principal {
            user: u.id.clone(),
            name: u.name.clone(),
            role: u.role.clone(),
            expires_at: now + self.token_ttl,
        };
        self.sessions.put(&token, &p);
        self.sessions
            .offline
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(token.clone());
        tracing::info!(user = %u.id, "log-in while the database is away (config user)");
        Ok((token, p))
    }

    /// Stores a token given offline, once the database answers.
    async fn store_offline(&self, token: &str, p: &Principal) {
        let pending = self
            .sessions
            .offline
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .contains(token);
        if !pending {
            return;
        }
        let Some(svc) = self.service.get() else {
            return;
        };
        let created = p.expires_at - self.token_ttl;
        if svc
            .store()
            .create_session(&auth::token_hash(token), &p.user, created, p.expires_at)
            .await
            .is_ok()
        {
            self.sessions
                .offline
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .remove(token);
        }
    }

    /// The caller behind a bearer token (from the header, or `access_token` in the query for
    /// WebSockets, which browsers open without headers).
    pub(crate) async fn authenticate(&self, parts: &Parts) -> Result<(Principal, String), Failure> {
        let token = bearer(&parts.headers)
            .or_else(|| query_token(parts.uri.query()))
            .ok_or_else(|| {
                Failure::new(
                    StatusCode::UNAUTHORIZED,
                    "log in first: send `Authorization: Bearer <token>` from POST /api/auth/login",
                )
            })?;
        let now = Utc::now();
        let cached = self.sessions.cached(&token);
        if let Some((p, _)) = &cached {
            self.store_offline(&token, p).await;
        }
        if let Some((p, fresh)) = &cached
            && *fresh
            && p.expires_at > now
        {
            return Ok((p.clone(), token));
        }
        let checked = match self.service.get() {
            Some(svc) => auth::principal(svc.store(), &token, now).await,
            None => Err(ServiceError::Invalid("no database".into())),
        };
        match checked {
            Ok(p) => {
                self.sessions.put(&token, &p);
                Ok((p, token))
            }
            Err(ServiceError::Unauthorized(m)) => {
                self.sessions.forget(&token);
                Err(Failure::new(StatusCode::UNAUTHORIZED, m))
            }
            // The database is away: a token it accepted before still holds until it expires.
            Err(e) => match cached {
                Some((p, _)) if p.expires_at > now => Ok((p, token)),
                _ => Err(match e {
                    ServiceError::Invalid(_) => self.svc().err().unwrap_or_else(|| {
                        Failure::new(StatusCode::SERVICE_UNAVAILABLE, "no database")
                    }),
                    e => e.into(),
                }),
            },
        }
    }
}

fn query_token(q: Option<&str>) -> Option<String> {
    q?.split('&')
        .find_map(|kv| kv.strip_prefix("access_token="))
        .map(str::to_string)
}

impl OrdersState {
    pub(crate) fn svc(&self) -> ApiResult<&OrderService> {
        self.service.get().ok_or_else(|| {
            Failure::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "the work-order database is not reachable yet; calls are still taken and recorded",
            )
        })
    }
}

pub fn router(state: OrdersState) -> Router {
    Router::new()
        .route("/api/auth/login", post(login))
        .route("/api/auth/logout", post(logout))
        .route("/api/auth/me", get(me))
        .route("/api/orders", get(list_orders))
        .route("/api/orders/{no}", get(get_order))
        .route("/api/orders/{no}/steps", post(post_step))
        .route("/api/orders/{no}/reveal", post(reveal))
        .route("/api/orders/{no}/audit", get(order_audit))
        .route("/api/missed-calls", get(missed_calls))
        .route("/api/callers/{number}/history", get(caller_history))
        .route("/api/units/overdue", get(overdue))
        .route("/api/units/{unit}/due", get(unit_due))
        .route("/api/kpis", get(kpis))
        .route("/api/calendar/overrides", get(list_overrides))
        .route(
            "/api/calendar/overrides/{date}",
            put(put_override).delete(delete_override),
        )
        .route("/api/users", get(list_users).post(add_user))
        .route("/api/outbox", get(outbox))
        .merge(crate::kb_api::routes())
        .merge(crate::attachments_api::routes())
        .route("/api/openapi.json", get(openapi_json))
        .merge(Scalar::with_url("/api/docs", api_doc()))
        .with_state(state)
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "hotline work orders",
        description = "12345 work orders: intake, dispatch to units, deadlines in working days, callbacks, KPIs. Every route but log-in wants `Authorization: Bearer <token>`."
    ),
    paths(
        login,
        logout,
        me,
        list_orders,
        get_order,
        post_step,
        reveal,
        order_audit,
        missed_calls,
        caller_history,
        overdue,
        unit_due,
        kpis,
        list_overrides,
        put_override,
        delete_override,
        list_users,
        add_user,
        outbox
    ),
    components(schemas(
        LoginBody,
        LoginAnswer,
        ApiError,
        OrderSummary,
        OrderList,
        OverrideBody,
        NewUser,
        UserOut
    ))
)]
struct ApiDoc;

/// One document for the whole API: the work orders' routes (their attachments too) and the
/// knowledge base's.
fn api_doc() -> utoipa::openapi::OpenApi {
    let mut doc = ApiDoc::openapi();
    doc.merge(crate::kb_api::KbDoc::openapi());
    doc.merge(crate::attachments_api::AttachmentsDoc::openapi());
    doc
}

async fn openapi_json() -> impl IntoResponse {
    Json(api_doc())
}

// ---- errors -------------------------------------------------------------------------------

/// Every error: what was wrong.
#[derive(Serialize, ToSchema)]
pub(crate) struct ApiError {
    error: String,
}

pub(crate) struct Failure(StatusCode, String);

impl Failure {
    pub(crate) fn new(code: StatusCode, msg: impl Into<String>) -> Self {
        Failure(code, msg.into())
    }
    fn forbidden(msg: impl Into<String>) -> Self {
        Failure::new(StatusCode::FORBIDDEN, msg)
    }
    fn invalid(msg: impl Into<String>) -> Self {
        Failure::new(StatusCode::UNPROCESSABLE_ENTITY, msg)
    }
}

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        let mut r = (self.0, Json(ApiError { error: self.1 })).into_response();
        if self.0 == StatusCode::UNAUTHORIZED {
            r.headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        r
    }
}

impl From<ServiceError> for Failure {
    fn from(e: ServiceError) -> Self {
        let code = match &e {
            ServiceError::NotFound(_) => StatusCode::NOT_FOUND,
            ServiceError::Step(_) | ServiceError::Busy(_) => StatusCode::CONFLICT,
            ServiceError::Forbidden(_) => StatusCode::FORBIDDEN,
            ServiceError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ServiceError::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ServiceError::Store(_) => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        };
        if code.is_server_error() {
            tracing::error!(error = %e, "work-order API");
        }
        Failure(code, e.to_string())
    }
}

impl From<hotline_store::StoreError> for Failure {
    fn from(e: hotline_store::StoreError) -> Self {
        ServiceError::from(e).into()
    }
}

pub(crate) type ApiResult<T> = Result<T, Failure>;

/// A JSON body whose rejection is our error shape (422 with what serde said).
pub(crate) struct Body<T>(pub(crate) T);

impl<S, T> axum::extract::FromRequest<S> for Body<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = Failure;
    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, Failure> {
        match Json::<T>::from_request(req, state).await {
            Ok(Json(v)) => Ok(Body(v)),
            Err(e) => Err(Failure::new(e.status(), e.body_text())),
        }
    }
}

/// Query strings likewise.
pub(crate) struct Q<T>(pub(crate) T);

impl<S, T> FromRequestParts<S> for Q<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = Failure;
    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Failure> {
        match Query::<T>::from_request_parts(parts, state).await {
            Ok(Query(v)) => Ok(Q(v)),
            Err(e) => Err(Failure::invalid(e.body_text())),
        }
    }
}

// ---- who is calling -----------------------------------------------------------------------

/// The authenticated caller and their token.
pub(crate) struct Caller(pub(crate) Principal, String);

impl FromRequestParts<OrdersState> for Caller {
    type Rejection = Failure;
    async fn from_request_parts(parts: &mut Parts, s: &OrdersState) -> Result<Self, Failure> {
        let (p, token) = s.authenticate(parts).await?;
        Ok(Caller(p, token))
    }
}

fn bearer(h: &HeaderMap) -> Option<String> {
    let v = h.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = v.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_string())
}

impl Caller {
    pub(crate) fn actor(&self) -> Actor {
        Actor {
            id: self.0.user.clone(),
            role: self.0.role.clone(),
        }
    }
    pub(crate) fn center(&self) -> ApiResult<()> {
        if self.0.is_center() {
            Ok(())
        } else {
            Err(Failure::forbidden("for the 12345 center's staff only"))
        }
    }
    pub(crate) fn supervisor(&self) -> ApiResult<()> {
        if self.0.is_supervisor() {
            Ok(())
        } else {
            Err(Failure::forbidden("for supervisors and admins only"))
        }
    }
    fn admin(&self) -> ApiResult<()> {
        if self.0.role == Role::Admin {
            Ok(())
        } else {
            Err(Failure::forbidden("for admins only"))
        }
    }
}

fn role_str(r: &Role) -> &'static str {
    match r {
        Role::Agent => "agent",
        Role::Supervisor => "supervisor",
        Role::UnitStaff(_) => "unit_staff",
        Role::UnitHead(_) => "unit_head",
        Role::Admin => "admin",
        _ => "system",
    }
}

pub(crate) async fn audit(
    s: &OrdersState,
    c: &Caller,
    action: &str,
    no: Option<&str>,
    detail: String,
) -> ApiResult<()> {
    s.svc()?
        .store()
        .audit(&AuditRow {
            id: 0,
            at: Utc::now(),
            user_id: c.0.user.clone(),
            action: action.to_string(),
            order_no: no.map(str::to_string),
            detail,
        })
        .await?;
    Ok(())
}

// ---- log-in -------------------------------------------------------------------------------

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct LoginBody {
    user: String,
    password: String,
}

#[derive(Serialize, ToSchema)]
struct LoginAnswer {
    token: String,
    expires_at: DateTime<Utc>,
    user: String,
    name: String,
    role: String,
    unit: Option<String>,
}

fn principal_json(p: &Principal) -> Value {
    json!({
        "user": p.user, "name": p.name, "role": role_str(&p.role), "unit": p.unit(),
        "expires_at": p.expires_at,
    })
}

/// Log in: a bearer token valid for `auth.token_ttl_secs`.
#[utoipa::path(post, path = "/api/auth/login", request_body = LoginBody,
    responses((status = 200, body = LoginAnswer), (status = 401, body = ApiError)))]
async fn login(
    State(s): State<OrdersState>,
    Body(b): Body<LoginBody>,
) -> ApiResult<Json<LoginAnswer>> {
    let now = Utc::now();
    let from_db = match s.service.get() {
        Some(svc) => Some(auth::log_in(svc.store(), &b.user, &b.password, now, s.token_ttl).await),
        None => None,
    };
    let (token, p) = match from_db {
        Some(Ok(ok)) => ok,
        Some(Err(e @ ServiceError::Unauthorized(_))) => return Err(e.into()),
        // No database (yet): the users of the config file can still log in, so an agent's
        // call actions (the emergency transfer) do not depend on it.
        Some(Err(_)) | None => s.offline_log_in(&b.user, &b.password, now).await?,
    };
    Ok(Json(LoginAnswer {
        token,
        expires_at: p.expires_at,
        user: p.user.clone(),
        name: p.name.clone(),
        role: role_str(&p.role).into(),
        unit: p.unit().map(str::to_string),
    }))
}

/// Log out: the token stops working.
#[utoipa::path(post, path = "/api/auth/logout", responses((status = 204), (status = 401, body = ApiError)))]
async fn logout(State(s): State<OrdersState>, c: Caller) -> ApiResult<StatusCode> {
    s.sessions.forget(&c.1);
    auth::log_out(s.svc()?.store(), &c.1).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Who the token belongs to.
#[utoipa::path(get, path = "/api/auth/me", responses((status = 200), (status = 401, body = ApiError)))]
async fn me(c: Caller) -> Json<Value> {
    Json(principal_json(&c.0))
}

// ---- orders -------------------------------------------------------------------------------

/// An order in a listing: no personal data.
#[derive(Serialize, ToSchema)]
struct OrderSummary {
    no: String,
    /// The call record the order came from.
    record: String,
    status: String,
    request_type: Option<String>,
    lead_unit: Option<String>,
    co_units: Vec<String>,
    due_at: Option<DateTime<Utc>>,
    owner: Option<String>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    version: u32,
}

impl From<OrderRow> for OrderSummary {
    fn from(r: OrderRow) -> Self {
        OrderSummary {
            no: r.no,
            record: r.record,
            status: r.status,
            request_type: r.request_type,
            lead_unit: r.lead_unit,
            co_units: r.co_units,
            due_at: r.due_at,
            owner: r.owner,
            created_at: r.created_at,
            updated_at: r.updated_at,
            version: r.version,
        }
    }
}

#[derive(Serialize, ToSchema)]
struct OrderList {
    orders: Vec<OrderSummary>,
    /// Pass as `before` for the next page; absent on the last one.
    next: Option<String>,
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
struct ListParams {
    /// Comma-separated statuses (draft, missed_call, dispatched, handling…).
    status: Option<String>,
    /// A unit's orders (lead or co-unit); unit staff may only name their own.
    unit: Option<String>,
    owner: Option<String>,
    /// Received on or after this Beijing date (YYYY-MM-DD).
    from: Option<NaiveDate>,
    /// Received on or before this Beijing date.
    to: Option<NaiveDate>,
    /// The cursor `next` of the previous page.
    before: Option<String>,
    limit: Option<u32>,
    /// The order of this call record (at most one; the desktop finds the draft of the call
    /// it just took). The other filters do not apply with it.
    record: Option<String>,
}

fn statuses(list: &str) -> ApiResult<Vec<String>> {
    let mut out = Vec::new();
    for s in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        if !Status::ALL.iter().any(|st| status_name(*st) == s) {
            let known: Vec<_> = Status::ALL.iter().map(|s| status_name(*s)).collect();
            return Err(Failure::invalid(format!(
                "unknown status `{s}`; known: {}",
                known.join(", ")
            )));
        }
        out.push(s.to_string());
    }
    Ok(out)
}

fn day_start(d: NaiveDate) -> ApiResult<DateTime<Utc>> {
    d.pred_opt()
        .and_then(end_of_beijing_day)
        .ok_or_else(|| Failure::invalid(format!("{d} is out of range")))
}

fn day_end(d: NaiveDate) -> ApiResult<DateTime<Utc>> {
    end_of_beijing_day(d).ok_or_else(|| Failure::invalid(format!("{d} is out of range")))
}

fn cursor(c: &str) -> ApiResult<(DateTime<Utc>, String)> {
    let bad = || Failure::invalid(format!("`before` = `{c}` is not a cursor from `next`"));
    let (ms, no) = c.split_once('_').ok_or_else(bad)?;
    let ms: i64 = ms.parse().map_err(|_| bad())?;
    let at = DateTime::from_timestamp_millis(ms).ok_or_else(bad)?;
    Ok((at, no.to_string()))
}

/// Orders, newest first, by status, unit, owner and period; unit staff get their unit's.
#[utoipa::path(get, path = "/api/orders", params(ListParams),
    responses((status = 200, body = OrderList), (status = 403, body = ApiError), (status = 422, body = ApiError)))]
async fn list_orders(
    State(s): State<OrdersState>,
    c: Caller,
    Q(p): Q<ListParams>,
) -> ApiResult<Json<OrderList>> {
    if let Some(record) = p.record.as_deref() {
        let row = s.svc()?.store().order_by_record(record).await?;
        let visible = match (row, c.0.unit()) {
            (Some(r), Some(unit)) => {
                let o = visible(&s, &c, &r.no).await.ok();
                o.filter(|o| o.order.visible_to_unit(unit)).map(|_| r)
            }
            (None, Some(_)) => None,
            (r, None) => r,
        };
        return Ok(Json(OrderList {
            orders: visible.into_iter().map(OrderSummary::from).collect(),
            next: None,
        }));
    }
    let limit = p.limit.unwrap_or(50);
    if limit == 0 || limit > 500 {
        return Err(Failure::invalid(format!(
            "`limit` = {limit}: give 1 to 500"
        )));
    }
    let mut q = OrderQuery {
        statuses: p
            .status
            .as_deref()
            .map(statuses)
            .transpose()?
            .unwrap_or_default(),
        owner: p.owner,
        created_from: p.from.map(day_start).transpose()?,
        created_to: p.to.map(day_end).transpose()?,
        before: p.before.as_deref().map(cursor).transpose()?,
        limit,
        ..OrderQuery::default()
    };
    match (c.0.unit(), p.unit) {
        (Some(mine), Some(asked)) if asked != mine => {
            return Err(Failure::forbidden(format!(
                "you see the orders of {mine}, not of {asked}"
            )));
        }
        (Some(mine), _) => q.visible_to_unit = Some(mine.to_string()),
        (None, unit) => q.visible_to_unit = unit,
    }
    let rows = s.svc()?.store().list_orders(&q).await?;
    let next = (rows.len() as u32 == limit)
        .then(|| {
            rows.last()
                .map(|r| format!("{}_{}", r.created_at.timestamp_millis(), r.no))
        })
        .flatten();
    Ok(Json(OrderList {
        orders: rows.into_iter().map(OrderSummary::from).collect(),
        next,
    }))
}

/// Loads an order the caller may see: a unit's staff only theirs (others are 404).
pub(crate) async fn visible(
    s: &OrdersState,
    c: &Caller,
    no: &str,
) -> ApiResult<hotline_orders::StoredOrder> {
    let o = s.svc()?.load(no).await?;
    if let Some(unit) = c.0.unit()
        && !o.order.visible_to_unit(unit)
    {
        return Err(ServiceError::NotFound(no.to_string()).into());
    }
    Ok(o)
}

fn exposure_name(e: Exposure) -> &'static str {
    match e {
        Exposure::Full => "full",
        Exposure::Masked => "masked",
        _ => "hidden",
    }
}

/// The order as the caller may see it, and the audit of the personal data it shows.
async fn order_view(
    s: &OrdersState,
    c: &Caller,
    o: &hotline_orders::StoredOrder,
    revealed: bool,
    action: &str,
) -> ApiResult<Value> {
    let e = exposure(&o.order, &c.0.role, revealed);
    let order = redact_order(&o.order, e);
    let events = redact_history(&o.events, e);
    audit(
        s,
        c,
        action,
        Some(&o.row.no),
        format!("personal data: {}", exposure_name(e)),
    )
    .await?;
    Ok(json!({
        "no": o.row.no,
        "version": o.row.version,
        "personal_data": exposure_name(e),
        "order": order,
        "events": events,
    }))
}

/// One order with its history; personal data masked for units.
#[utoipa::path(get, path = "/api/orders/{no}", params(("no" = String, Path, description = "order number")),
    responses((status = 200), (status = 404, body = ApiError)))]
async fn get_order(
    State(s): State<OrdersState>,
    c: Caller,
    Path(no): Path<String>,
) -> ApiResult<Json<Value>> {
    let o = visible(&s, &c, &no).await?;
    Ok(Json(order_view(&s, &c, &o, false, "view").await?))
}

/// Shows a unit the caller's full number and ID (audited); never a report's requester.
#[utoipa::path(post, path = "/api/orders/{no}/reveal", params(("no" = String, Path)),
    responses((status = 200), (status = 403, body = ApiError), (status = 404, body = ApiError)))]
async fn reveal(
    State(s): State<OrdersState>,
    c: Caller,
    Path(no): Path<String>,
) -> ApiResult<Json<Value>> {
    let o = visible(&s, &c, &no).await?;
    if exposure(&o.order, &c.0.role, true) == Exposure::Hidden {
        return Err(Failure::forbidden(
            "the requester of a report (举报) or a confidential request is never shown to units",
        ));
    }
    Ok(Json(order_view(&s, &c, &o, true, "reveal").await?))
}

/// Applies one step of the lifecycle, e.g. `{"step":"signed_for"}` or
/// `{"step":"dispatched","lead":"市交通局","co":[],"card":"…"}`. A step the order's state,
/// the caller's role or the deadline does not allow is 409 with the reason; nothing is written.
#[utoipa::path(post, path = "/api/orders/{no}/steps", params(("no" = String, Path)),
    request_body(content = Object, description = "the step: `step` names it, the rest are its fields"),
    responses((status = 200), (status = 403, body = ApiError), (status = 404, body = ApiError),
        (status = 409, body = ApiError), (status = 422, body = ApiError)))]
async fn post_step(
    State(s): State<OrdersState>,
    c: Caller,
    Path(no): Path<String>,
    Body(step): Body<EventKind>,
) -> ApiResult<Json<Value>> {
    if matches!(step, EventKind::Drafted { .. }) {
        return Err(Failure::invalid(
            "orders are drafted from call records, not by a step",
        ));
    }
    // The service answers another unit's order as not found, before any check of the step.
    let o = s.svc()?.step(&no, c.actor(), step, Utc::now()).await?;
    Ok(Json(order_view(&s, &c, &o, false, "step").await?))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
struct LimitParams {
    limit: Option<u32>,
}

/// Who saw or revealed an order's personal data, and who changed it (supervisors).
#[utoipa::path(get, path = "/api/orders/{no}/audit", params(("no" = String, Path), LimitParams),
    responses((status = 200), (status = 403, body = ApiError)))]
async fn order_audit(
    State(s): State<OrdersState>,
    c: Caller,
    Path(no): Path<String>,
    Q(p): Q<LimitParams>,
) -> ApiResult<Json<Value>> {
    c.supervisor()?;
    let rows = s
        .svc()?
        .store()
        .audit_entries(Some(&no), p.limit.unwrap_or(200).min(1000))
        .await?;
    Ok(Json(
        json!({ "entries": rows.iter().map(audit_json).collect::<Vec<_>>() }),
    ))
}

fn audit_json(r: &AuditRow) -> Value {
    json!({"id": r.id, "at": r.at, "user": r.user_id, "action": r.action, "order": r.order_no, "detail": r.detail})
}

/// How far back the desktop's caller history looks, and how many calls it lists.
const HISTORY_DAYS: i64 = 30;
const HISTORY_CALLS: u32 = 20;
/// Two calls within this many hours make a repeat caller (the ACD's rule, 48 h).
const REPEAT_HOURS: i64 = 48;

/// A caller's history for the agent who has them on the line (center staff): their calls of
/// the last 30 days, newest first, with the order each became, the orders still open, and
/// whether they are a repeat caller (an earlier call within 48 hours).
#[utoipa::path(get, path = "/api/callers/{number}/history", params(("number" = String, Path)),
    responses((status = 200, body = Object), (status = 403, body = ApiError)))]
async fn caller_history(
    State(s): State<OrdersState>,
    c: Caller,
    Path(number): Path<String>,
) -> ApiResult<Json<Value>> {
    c.center()?;
    let number = number.trim().to_string();
    if number.is_empty() || number.len() > 32 {
        return Err(Failure::invalid(
            "give the caller's number (at most 32 characters)",
        ));
    }
    let now = Utc::now();
    let store = s.svc()?.store();
    let rows = store
        .calls_from_caller(
            &number,
            now - chrono::Duration::days(HISTORY_DAYS),
            HISTORY_CALLS,
        )
        .await?;
    let mut calls = Vec::with_capacity(rows.len());
    let mut open = Vec::new();
    for (r, order) in &rows {
        calls.push(json!({
            "record": r.id, "arrived_at": r.arrived_at, "line": r.line_number,
            "answered_by": r.agent, "end_reason": r.end_reason.as_str(), "order": order,
        }));
        if let Some(no) = order
            && let Some(o) = store.order(no).await?
            && !matches!(
                o.status.as_str(),
                "draft" | "closed" | "called_back" | "archived" | "merged"
            )
        {
            open.push(json!({"no": o.no, "status": o.status, "lead_unit": o.lead_unit, "due_at": o.due_at}));
        }
    }
    // Asked while the caller is on the line (their current call is not recorded yet): any
    // call within the window makes this one a repeat.
    let repeat = rows
        .iter()
        .any(|(r, _)| r.arrived_at > now - chrono::Duration::hours(REPEAT_HOURS));
    audit(
        &s,
        &c,
        "view",
        None,
        format!("caller history: {} calls", calls.len()),
    )
    .await?;
    Ok(Json(json!({
        "number": number, "days": HISTORY_DAYS, "repeat": repeat, "calls": calls, "open_orders": open,
    })))
}

/// Calls nobody answered, to be called back (漏接回拨), newest first (center staff).
#[utoipa::path(get, path = "/api/missed-calls", params(LimitParams),
    responses((status = 200, body = OrderList), (status = 403, body = ApiError)))]
async fn missed_calls(
    State(s): State<OrdersState>,
    c: Caller,
    Q(p): Q<LimitParams>,
) -> ApiResult<Json<Value>> {
    c.center()?;
    let rows = s
        .svc()?
        .store()
        .list_orders(&OrderQuery {
            statuses: vec![status_name(Status::MissedCall).to_string()],
            limit: p.limit.unwrap_or(100).clamp(1, 500),
            ..OrderQuery::default()
        })
        .await?;
    // The list is for calling back: the numbers are the point, so the view is audited.
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let o = s.svc()?.load(&r.no).await?;
        out.push(json!({"no": r.no, "caller": o.order.caller, "line": o.order.line, "created_at": r.created_at}));
    }
    audit(
        &s,
        &c,
        "view",
        None,
        format!("missed-call list: {} numbers", out.len()),
    )
    .await?;
    Ok(Json(json!({ "missed_calls": out })))
}

/// Open orders past their deadline, counted per unit (the center).
#[utoipa::path(get, path = "/api/units/overdue", responses((status = 200), (status = 403, body = ApiError)))]
async fn overdue(State(s): State<OrdersState>, c: Caller) -> ApiResult<Json<Value>> {
    c.center()?;
    let rows = s
        .svc()?
        .store()
        .overdue_by_unit(&open_statuses(), Utc::now())
        .await?;
    let units: BTreeMap<_, _> = rows.into_iter().collect();
    Ok(Json(json!({ "overdue": units })))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
struct DueParams {
    /// Working days ahead (default 1): due by the end of the Nth working day from today.
    within: Option<u32>,
    limit: Option<u32>,
}

/// A unit's open orders due within N working days, soonest first (its own staff, the center).
#[utoipa::path(get, path = "/api/units/{unit}/due", params(("unit" = String, Path), DueParams),
    responses((status = 200, body = OrderList), (status = 403, body = ApiError)))]
async fn unit_due(
    State(s): State<OrdersState>,
    c: Caller,
    Path(unit): Path<String>,
    Q(p): Q<DueParams>,
) -> ApiResult<Json<OrderList>> {
    if let Some(mine) = c.0.unit()
        && mine != unit
    {
        return Err(Failure::forbidden(format!(
            "you see the orders of {mine}, not of {unit}"
        )));
    }
    let within = p.within.unwrap_or(1);
    if within > 30 {
        return Err(Failure::invalid("`within` is at most 30 working days"));
    }
    let cal = s.svc()?.calendar();
    let before = due_horizon(&cal, Utc::now(), within)?;
    let rows = s
        .svc()?
        .store()
        .unit_orders_due(
            &unit,
            &open_statuses(),
            before,
            p.limit.unwrap_or(100).clamp(1, 500),
        )
        .await?;
    Ok(Json(OrderList {
        orders: rows.into_iter().map(OrderSummary::from).collect(),
        next: None,
    }))
}

/// 24:00 of the `n`th working day counted from today (today itself if it is one and n is 1).
fn due_horizon(cal: &Calendar, now: DateTime<Utc>, n: u32) -> ApiResult<DateTime<Utc>> {
    let today = beijing_date(now).ok_or_else(|| Failure::invalid("time out of range"))?;
    let yesterday = today
        .pred_opt()
        .ok_or_else(|| Failure::invalid("time out of range"))?;
    let day = if n == 0 {
        today
    } else {
        cal.add_working_days(yesterday, n)
            .map_err(|e| Failure::invalid(e.to_string()))?
    };
    day_end(day)
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
struct KpiParams {
    /// First Beijing date of the period (orders received from then).
    from: NaiveDate,
    /// Last Beijing date of the period, inclusive.
    to: NaiveDate,
    /// `json` (default) or `csv`.
    format: Option<String>,
}

fn kpi_json(k: &Kpis) -> Value {
    json!({
        "counts": k,
        "on_time_sign_for": k.on_time_sign_for(),
        "return_rate": k.return_rate(),
        "rejected_return_rate": k.rejected_return_rate(),
        "on_time_completion": k.on_time_completion(),
        "callback_rate": k.callback_rate(),
        "satisfaction_rate": k.satisfaction_rate(),
        "solved_rate": k.solved_rate(),
        "redo_rate": k.redo_rate(),
        "reminders": k.reminders,
        "notices": k.notices,
        "criticisms": k.criticisms,
    })
}

/// The D3 figures per unit and for the center over a period (formulas in docs/workorders.md);
/// a unit's staff get their own unit's only.
#[utoipa::path(get, path = "/api/kpis", params(KpiParams),
    responses((status = 200), (status = 403, body = ApiError), (status = 422, body = ApiError)))]
async fn kpis(State(s): State<OrdersState>, c: Caller, Q(p): Q<KpiParams>) -> ApiResult<Response> {
    if p.to < p.from {
        return Err(Failure::invalid(format!(
            "`to` ({}) is before `from` ({})",
            p.to, p.from
        )));
    }
    let (mut per, mut all) = s.svc()?.kpis(day_start(p.from)?, day_end(p.to)?).await?;
    if let Some(mine) = c.0.unit() {
        per.retain(|u, _| u == mine);
        all = per.get(mine).cloned().unwrap_or_default();
    }
    match p.format.as_deref().unwrap_or("json") {
        "json" => {
            // The knowledge base's share (A4): the center's figure, not a unit's.
            let knowledge = match s.kb.get() {
                Some(kb) if c.0.is_center() => Some(
                    kb.kpis(day_start(p.from)?, day_end(p.to)?, 10)
                        .await
                        .map_err(Failure::from)?,
                ),
                _ => None,
            };
            Ok(Json(json!({
                "from": p.from, "to": p.to,
                "units": per.iter().map(|(u, k)| (u.clone(), kpi_json(k))).collect::<BTreeMap<_, _>>(),
                "center": kpi_json(&all),
                "knowledge": knowledge,
            }))
            .into_response())
        }
        "csv" => Ok((
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
                (
                    header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"kpis-{}-{}.csv\"", p.from, p.to),
                ),
            ],
            Kpis::csv(&per, &all),
        )
            .into_response()),
        other => Err(Failure::invalid(format!(
            "`format` = `{other}`: give json or csv"
        ))),
    }
}

// ---- calendar, users, outbox --------------------------------------------------------------

/// The admin overrides of the working-day calendar.
#[utoipa::path(get, path = "/api/calendar/overrides", responses((status = 200), (status = 401, body = ApiError)))]
async fn list_overrides(State(s): State<OrdersState>, _c: Caller) -> ApiResult<Json<Value>> {
    let rows = s.svc()?.store().calendar_overrides().await?;
    Ok(Json(json!({ "overrides": rows.iter().map(|r| json!({
        "date": r.date, "working": r.working, "note": r.note, "set_by": r.set_by, "set_at": r.set_at,
    })).collect::<Vec<_>>() })))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct OverrideBody {
    working: bool,
    note: String,
}

/// Makes a date (today or later) a working day or a day off, over the shipped calendar (admins).
#[utoipa::path(put, path = "/api/calendar/overrides/{date}", params(("date" = String, Path, description = "YYYY-MM-DD")),
    request_body = OverrideBody, responses((status = 204), (status = 403, body = ApiError), (status = 422, body = ApiError)))]
async fn put_override(
    State(s): State<OrdersState>,
    c: Caller,
    Path(date): Path<String>,
    Body(b): Body<OverrideBody>,
) -> ApiResult<StatusCode> {
    c.admin()?;
    let date = parse_date(&date)?;
    let now = Utc::now();
    s.svc()?
        .set_calendar_override(
            CalendarOverrideRow {
                date,
                working: b.working,
                note: b.note.clone(),
                set_by: c.0.user.clone(),
                set_at: now,
            },
            now,
        )
        .await?;
    audit(
        &s,
        &c,
        "calendar",
        None,
        format!("{date} working={} ({})", b.working, b.note),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

fn parse_date(d: &str) -> ApiResult<NaiveDate> {
    NaiveDate::parse_from_str(d, "%Y-%m-%d")
        .map_err(|_| Failure::invalid(format!("`{d}` is not a date (YYYY-MM-DD)")))
}

/// Removes an override (admins).
#[utoipa::path(delete, path = "/api/calendar/overrides/{date}", params(("date" = String, Path)),
    responses((status = 204), (status = 404, body = ApiError), (status = 403, body = ApiError)))]
async fn delete_override(
    State(s): State<OrdersState>,
    c: Caller,
    Path(date): Path<String>,
) -> ApiResult<StatusCode> {
    c.admin()?;
    let date = parse_date(&date)?;
    if !s.svc()?.delete_calendar_override(date, Utc::now()).await? {
        return Err(Failure::new(
            StatusCode::NOT_FOUND,
            format!("no override for {date}"),
        ));
    }
    audit(&s, &c, "calendar", None, format!("{date} override removed")).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Serialize, ToSchema)]
struct UserOut {
    id: String,
    name: String,
    role: String,
    unit: Option<String>,
    disabled: bool,
}

/// The API users (admins).
#[utoipa::path(get, path = "/api/users", responses((status = 200, body = [UserOut]), (status = 403, body = ApiError)))]
async fn list_users(State(s): State<OrdersState>, c: Caller) -> ApiResult<Json<Vec<UserOut>>> {
    c.admin()?;
    let users = s.svc()?.store().users().await?;
    Ok(Json(
        users
            .into_iter()
            .map(|u| UserOut {
                id: u.id,
                name: u.name,
                role: u.role,
                unit: u.unit,
                disabled: u.disabled,
            })
            .collect(),
    ))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct NewUser {
    id: String,
    name: String,
    /// agent | supervisor | unit_staff | unit_head | admin
    role: String,
    unit: Option<String>,
    /// At least 8 characters; stored as an argon2id hash.
    password: String,
    #[serde(default)]
    disabled: bool,
}

/// Adds or changes a user (admins).
#[utoipa::path(post, path = "/api/users", request_body = NewUser,
    responses((status = 204), (status = 403, body = ApiError), (status = 422, body = ApiError)))]
async fn add_user(
    State(s): State<OrdersState>,
    c: Caller,
    Body(u): Body<NewUser>,
) -> ApiResult<StatusCode> {
    c.admin()?;
    if u.id.is_empty()
        || !u
            .id
            .chars()
            .all(|ch| ch.is_ascii_alphanumeric() || "._-".contains(ch))
    {
        return Err(Failure::invalid(format!(
            "`{}` is not a user name (letters, digits, `.`, `-`, `_`)",
            u.id
        )));
    }
    let has_unit = matches!(u.role.as_str(), "unit_staff" | "unit_head");
    if !matches!(
        u.role.as_str(),
        "agent" | "supervisor" | "unit_staff" | "unit_head" | "admin"
    ) {
        return Err(Failure::invalid(format!(
            "`{}` is not a role: agent, supervisor, unit_staff, unit_head or admin",
            u.role
        )));
    }
    if has_unit != u.unit.as_deref().is_some_and(|x| !x.trim().is_empty()) {
        return Err(Failure::invalid(if has_unit {
            "unit staff and heads name their unit"
        } else {
            "only unit staff and heads have a unit"
        }));
    }
    if u.password.chars().count() < 8 {
        return Err(Failure::invalid("the password needs at least 8 characters"));
    }
    let pw = u.password.clone();
    let hash = tokio::task::spawn_blocking(move || auth::hash_password(&pw))
        .await
        .map_err(|e| Failure::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))??;
    s.svc()?
        .store()
        .put_user(&UserRow {
            id: u.id.clone(),
            name: u.name,
            role: u.role.clone(),
            unit: u.unit,
            password_hash: hash,
            disabled: u.disabled,
            created_at: Utc::now(),
        })
        .await?;
    audit(&s, &c, "user", None, format!("{} as {}", u.id, u.role)).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
struct OutboxParams {
    order: Option<String>,
    limit: Option<u32>,
}

/// Notifications queued and sent (SMS, webhooks), newest first (supervisors).
#[utoipa::path(get, path = "/api/outbox", params(OutboxParams), responses((status = 200), (status = 403, body = ApiError)))]
async fn outbox(
    State(s): State<OrdersState>,
    c: Caller,
    Q(p): Q<OutboxParams>,
) -> ApiResult<Json<Value>> {
    c.supervisor()?;
    let rows = s
        .svc()?
        .store()
        .outbox_items(p.order.as_deref(), p.limit.unwrap_or(100).clamp(1, 1000))
        .await?;
    Ok(Json(json!({ "items": rows.iter().map(|r| json!({
        "id": r.id, "channel": r.channel, "target": r.target, "order": r.order_no, "body": r.body,
        "created_at": r.created_at, "attempts": r.attempts, "sent_at": r.sent_at, "last_error": r.last_error,
    })).collect::<Vec<_>>() })))
}
