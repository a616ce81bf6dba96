//! The knowledge-base API (issue 7): search and in-call suggestions, entries and their review
//! workflow, batch import and export, and marking an entry as an order's answer (直办). Same
//! log-in and roles as the work orders: supervisors are the maintenance team, a unit's staff
//! edit their own unit's entries, agents read; part of the same OpenAPI document.

use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{NaiveDate, Utc};
use hotline_calendar::beijing_date;
use hotline_kb::{Entry, EntryKind, Format, Step, to_csv, to_json};
use hotline_kb_search::{Hit, Query};
use hotline_knowledge::{KbError, KbService, StoredEntry, kb_actor};
use hotline_store::{KbEntryRow, KbQuery};
use serde::Deserialize;
use serde_json::{Value, json};
use utoipa::{IntoParams, OpenApi, ToSchema};

use crate::orders_api::{ApiError, ApiResult, Body, Caller, Failure, OrdersState, Q};

/// The largest result page of a search or a listing.
const LIMIT_MAX: usize = 50;
/// The longest text a suggestion request reads (a long description is cut, not refused).
const SUGGEST_TEXT_MAX: usize = 4000;

pub(crate) fn routes() -> Router<OrdersState> {
    Router::new()
        .route("/api/kb/search", get(search))
        .route("/api/kb/suggest", post(suggest))
        .route("/api/kb/entries", get(list).post(create))
        .route("/api/kb/entries/{id}", get(entry))
        .route("/api/kb/entries/{id}/steps", post(step))
        .route("/api/kb/import", post(import))
        .route("/api/kb/export", get(export))
        .route("/api/orders/{no}/answers", get(answers).post(mark_answer))
}

#[derive(OpenApi)]
#[openapi(
    paths(
        search,
        suggest,
        list,
        create,
        entry,
        step,
        import,
        export,
        answers,
        mark_answer
    ),
    components(schemas(SuggestBody, AnswerBody))
)]
pub(crate) struct KbDoc;

impl From<KbError> for Failure {
    fn from(e: KbError) -> Self {
        let code = match &e {
            KbError::NotFound(_) => StatusCode::NOT_FOUND,
            // Content that is not acceptable is bad input, not a conflict with the state.
            KbError::Step(hotline_kb::StepError::Invalid(_)) => StatusCode::UNPROCESSABLE_ENTITY,
            KbError::Step(_) | KbError::Busy(_) => StatusCode::CONFLICT,
            KbError::Forbidden(_) => StatusCode::FORBIDDEN,
            KbError::Invalid(_) | KbError::Import(_) => StatusCode::UNPROCESSABLE_ENTITY,
            KbError::Store(_) => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        };
        if code.is_server_error() {
            tracing::error!(error = %e, "knowledge-base API");
        }
        Failure::new(code, e.to_string())
    }
}

fn kb(s: &OrdersState) -> ApiResult<&KbService> {
    s.kb.get().ok_or_else(|| {
        Failure::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "the knowledge base is starting (its database is not reachable yet)",
        )
    })
}

fn today() -> NaiveDate {
    beijing_date(Utc::now()).unwrap_or_else(|| Utc::now().date_naive())
}

fn hit_json(h: &Hit) -> Value {
    json!({
        "id": h.id, "version": h.version, "score": h.score, "title": h.title, "unit": h.unit,
        "kind": h.kind.name(), "kind_name": h.kind.chinese(), "category": h.category,
        "title_html": h.title_snippet.to_html(), "snippet_html": h.body_snippet.to_html(),
        "snippet": h.body_snippet.text, "matched": h.matched,
    })
}

fn summary_json(r: &KbEntryRow) -> Value {
    json!({
        "id": r.id, "unit": r.unit, "state": r.state, "published": r.published, "kind": r.kind,
        "category": r.category, "title": r.title, "hits": r.hits, "rev": r.rev,
        "created_at": r.created_at, "updated_at": r.updated_at,
    })
}

fn entry_json(e: &StoredEntry) -> Value {
    json!({
        "id": e.id, "unit": e.unit, "rev": e.rev, "hits": e.hits,
        "published": e.published().map(|v| v.n), "versions": e.versions,
    })
}

fn kind_param(k: Option<&str>) -> ApiResult<Option<EntryKind>> {
    k.map(|k| {
        EntryKind::parse(k).ok_or_else(|| {
            let known: Vec<_> = EntryKind::ALL.iter().map(|k| k.name()).collect();
            Failure::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                format!("`kind` = `{k}`: give one of {}", known.join(", ")),
            )
        })
    })
    .transpose()
}

fn limit_param(l: Option<usize>, default: usize) -> ApiResult<usize> {
    match l.unwrap_or(default) {
        0 => Err(Failure::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "`limit` must be at least 1",
        )),
        n => Ok(n.min(LIMIT_MAX)),
    }
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
struct SearchParams {
    /// What to look for, as a caller says it.
    q: String,
    unit: Option<String>,
    /// A category path prefix by whole parts (`城乡建设` matches `城乡建设/供暖`).
    category: Option<String>,
    /// guide, policy, hot_topic, everyday, notice, glossary (or the Chinese names).
    kind: Option<String>,
    /// Entries in force on this day (YYYY-MM-DD); `any` for all; today (Beijing) by default.
    valid_on: Option<String>,
    limit: Option<usize>,
}

/// Searches the entries in force, best first, with highlighted snippets and the words that
/// matched (everyone logged in).
#[utoipa::path(get, path = "/api/kb/search", params(SearchParams),
    responses((status = 200), (status = 401, body = ApiError), (status = 422, body = ApiError)))]
async fn search(
    State(s): State<OrdersState>,
    _c: Caller,
    Q(p): Q<SearchParams>,
) -> ApiResult<Json<Value>> {
    let valid_on = match p.valid_on.as_deref() {
        None => Some(today()),
        Some("any") => None,
        Some(d) => Some(NaiveDate::parse_from_str(d, "%Y-%m-%d").map_err(|_| {
            Failure::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                format!("`valid_on` = `{d}`: give YYYY-MM-DD or any"),
            )
        })?),
    };
    let hits = kb(&s)?
        .search(Query {
            text: p.q,
            unit: p.unit,
            category: p.category,
            kind: kind_param(p.kind.as_deref())?,
            valid_on,
            limit: limit_param(p.limit, 10)?,
        })
        .await?;
    Ok(Json(
        json!({ "hits": hits.iter().map(hit_json).collect::<Vec<_>>() }),
    ))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct SuggestBody {
    /// What the agent has typed so far (the order's description).
    text: String,
    limit: Option<usize>,
}

/// Suggestions while an order is typed: the entries in force today that best match, each with
/// why it matched (the center's staff).
#[utoipa::path(post, path = "/api/kb/suggest", request_body = SuggestBody,
    responses((status = 200), (status = 403, body = ApiError)))]
async fn suggest(
    State(s): State<OrdersState>,
    c: Caller,
    Body(b): Body<SuggestBody>,
) -> ApiResult<Json<Value>> {
    c.center()?;
    let text: String = b.text.chars().take(SUGGEST_TEXT_MAX).collect();
    let limit = limit_param(b.limit, s.kb_suggestions)?;
    let hits = kb(&s)?.suggest(&text, today(), limit).await?;
    Ok(Json(
        json!({ "suggestions": hits.iter().map(hit_json).collect::<Vec<_>>() }),
    ))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
struct ListParams {
    unit: Option<String>,
    /// draft, in_review, rejected, published, superseded, retired (the newest version's).
    state: Option<String>,
    kind: Option<String>,
    category: Option<String>,
    /// The last id of the previous page.
    after: Option<String>,
    limit: Option<usize>,
}

/// The entries, by id, in pages; agents and other units see only entries with a version in
/// force, the maintenance team and the entry's unit see drafts too.
#[utoipa::path(get, path = "/api/kb/entries", params(ListParams),
    responses((status = 200), (status = 401, body = ApiError)))]
async fn list(
    State(s): State<OrdersState>,
    c: Caller,
    Q(p): Q<ListParams>,
) -> ApiResult<Json<Value>> {
    let kind = kind_param(p.kind.as_deref())?;
    let limit = limit_param(p.limit, LIMIT_MAX)?;
    let rows = kb(&s)?
        .list(
            &KbQuery {
                unit: p.unit,
                state: p.state,
                kind: kind.map(|k| k.name().to_string()),
                category_prefix: p.category,
                after_id: p.after,
                limit: limit as u32,
            },
            &kb_actor(&c.actor()),
        )
        .await?;
    let next = (rows.len() == limit).then(|| rows.last().map(|r| r.id.clone()));
    Ok(Json(json!({
        "entries": rows.iter().map(summary_json).collect::<Vec<_>>(),
        "next": next.flatten(),
    })))
}

/// A new entry as a draft (a unit's staff for their own unit, or the maintenance team).
#[utoipa::path(post, path = "/api/kb/entries",
    responses((status = 201), (status = 403, body = ApiError), (status = 422, body = ApiError)))]
async fn create(
    State(s): State<OrdersState>,
    c: Caller,
    Body(e): Body<Entry>,
) -> ApiResult<Response> {
    let stored = kb(&s)?.create(&kb_actor(&c.actor()), e, Utc::now()).await?;
    Ok((StatusCode::CREATED, Json(entry_json(&stored))).into_response())
}

/// One entry with its versions (as the caller may see them).
#[utoipa::path(get, path = "/api/kb/entries/{id}", params(("id" = String, Path)),
    responses((status = 200), (status = 404, body = ApiError)))]
async fn entry(
    State(s): State<OrdersState>,
    c: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let e = kb(&s)?.entry(&id, &kb_actor(&c.actor())).await?;
    Ok(Json(entry_json(&e)))
}

/// A workflow step: `{"step": "draft"|"edit", "entry": {...}}`, `{"step": "submit"}`,
/// `{"step": "approve"}`, `{"step": "reject", "reason": "…"}`, `{"step": "retire", "reason": "…"}`.
/// A refused step is 409 (or 403 for a role that may not) and changes nothing.
#[utoipa::path(post, path = "/api/kb/entries/{id}/steps", params(("id" = String, Path)),
    responses((status = 200), (status = 403, body = ApiError), (status = 404, body = ApiError),
        (status = 409, body = ApiError), (status = 422, body = ApiError)))]
async fn step(
    State(s): State<OrdersState>,
    c: Caller,
    Path(id): Path<String>,
    Body(step): Body<Step>,
) -> ApiResult<Json<Value>> {
    let svc = kb(&s)?;
    let actor = kb_actor(&c.actor());
    // Someone who may not see the entry gets 404, as if it did not exist.
    svc.entry(&id, &actor).await?;
    let e = svc.step(&id, &actor, &step, Utc::now()).await?;
    Ok(Json(entry_json(&e)))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
struct FormatParams {
    /// csv or json.
    format: Option<String>,
    /// Export only this unit's entries.
    unit: Option<String>,
}

fn format_param(f: Option<&str>) -> ApiResult<Format> {
    match f.unwrap_or("json") {
        "json" => Ok(Format::Json),
        "csv" => Ok(Format::Csv),
        other => Err(Failure::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            format!("`format` = `{other}`: give csv or json"),
        )),
    }
}

/// A batch of entries from a CSV or JSON file (the body): every row checked, every problem
/// named with its row, field and reason (422), nothing imported unless all are good. The
/// maintenance team's batch is published; a unit's goes to review.
#[utoipa::path(post, path = "/api/kb/import", params(FormatParams), request_body = String,
    responses((status = 201), (status = 403, body = ApiError), (status = 422)))]
async fn import(
    State(s): State<OrdersState>,
    c: Caller,
    Q(p): Q<FormatParams>,
    text: String,
) -> ApiResult<Response> {
    if p.unit.is_some() {
        return Err(Failure::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "`unit` is for exports; an import names each row's unit",
        ));
    }
    let format = format_param(p.format.as_deref())?;
    match kb(&s)?
        .import(&kb_actor(&c.actor()), format, &text, Utc::now())
        .await
    {
        Ok(ids) => Ok((
            StatusCode::CREATED,
            Json(json!({ "imported": ids.len(), "ids": ids })),
        )
            .into_response()),
        Err(KbError::Import(e)) => Ok((
            StatusCode::UNPROCESSABLE_ENTITY,
            Json(json!({
                "error": e.to_string(),
                "rows": e.0.iter().map(|r| json!({"row": r.row, "field": r.field, "reason": r.reason})).collect::<Vec<_>>(),
            })),
        )
            .into_response()),
        Err(e) => Err(e.into()),
    }
}

/// The versions in force as a CSV or JSON file that imports back (the center's staff and
/// units).
#[utoipa::path(get, path = "/api/kb/export", params(FormatParams),
    responses((status = 200), (status = 401, body = ApiError)))]
async fn export(
    State(s): State<OrdersState>,
    _c: Caller,
    Q(p): Q<FormatParams>,
) -> ApiResult<Response> {
    let format = format_param(p.format.as_deref())?;
    let entries = kb(&s)?.export(p.unit.as_deref()).await?;
    let (ct, ext, body) = match format {
        Format::Csv => ("text/csv; charset=utf-8", "csv", to_csv(&entries)),
        _ => ("application/json", "json", to_json(&entries)),
    };
    Ok((
        [
            (header::CONTENT_TYPE, ct.to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"kb.{ext}\""),
            ),
        ],
        body,
    )
        .into_response())
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct AnswerBody {
    /// The entry that answered the caller.
    entry: String,
}

/// Marks an entry as (one of) the order's answer (直办): the link is kept with the version
/// used and counts the entry's hit once. Closing the order is its own step
/// (`answered_on_spot`).
#[utoipa::path(post, path = "/api/orders/{no}/answers", params(("no" = String, Path)), request_body = AnswerBody,
    responses((status = 201), (status = 200), (status = 403, body = ApiError), (status = 422, body = ApiError)))]
async fn mark_answer(
    State(s): State<OrdersState>,
    c: Caller,
    Path(no): Path<String>,
    Body(b): Body<AnswerBody>,
) -> ApiResult<Response> {
    c.center()?;
    let new = kb(&s)?.link(&no, &b.entry, &c.actor(), Utc::now()).await?;
    let code = if new {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((
        code,
        Json(json!({ "order": no, "entry": b.entry, "new": new })),
    )
        .into_response())
}

/// The entries marked as the order's answer (the center's staff).
#[utoipa::path(get, path = "/api/orders/{no}/answers", params(("no" = String, Path)),
    responses((status = 200), (status = 403, body = ApiError)))]
async fn answers(
    State(s): State<OrdersState>,
    c: Caller,
    Path(no): Path<String>,
) -> ApiResult<Json<Value>> {
    c.center()?;
    let links = kb(&s)?.links_of_order(&no).await?;
    Ok(Json(json!({ "answers": links.iter().map(|l| json!({
        "entry": l.entry_id, "version": l.version, "agent": l.agent, "at": l.at,
    })).collect::<Vec<_>>() })))
}
