//! Attachments on work orders (issue 8: the handling units' portal): the center's staff and the
//! units that handle an order attach files to it (a photo of the spot, the reply letter as a
//! PDF, a spreadsheet) and whoever may see the order lists and downloads them. Same log-in and
//! roles as the rest of the work-order API; a unit's staff reach only their own orders' files
//! (another unit's order is 404, as if it did not exist). Part of the same OpenAPI document.
//!
//! An upload is the raw file as the body (`POST …/attachments?name=<file name>` with its
//! `Content-Type`), at most [`MAX_BYTES`], of the types in [`ALLOWED_TYPES`] (and the Office
//! Open XML family). Downloads are served as `attachment` with `nosniff`, never rendered in the
//! page's origin as something else.

use std::pin::Pin;

use axum::Json;
use axum::Router;
use axum::body::{Body, HttpBody};
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::{DateTime, Utc};
use hotline_orders::ServiceError;
use hotline_store::{AttachmentMeta, AttachmentRow, StoreError};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::{IntoParams, OpenApi, ToSchema};

use crate::orders_api::{ApiError, ApiResult, Caller, Failure, OrdersState, Q, audit, visible};

/// The largest file accepted: 10 MiB.
pub(crate) const MAX_BYTES: usize = 10 * 1024 * 1024;

/// How much of a refused upload is read (and thrown away) before answering. A browser that is
/// still sending when the server answers and closes often sees only a reset connection, not the
/// answer: reading the rest first lets it show why the file was refused. A body longer than
/// this is cut off (the connection is closed) rather than read to its end.
const DRAIN_MAX: usize = 4 * MAX_BYTES;

/// The longest file name, in characters.
const NAME_MAX: usize = 200;

/// The content types accepted as they are; besides these, the Office Open XML family
/// ([`OFFICE_PREFIX`]: .docx, .xlsx, .pptx).
pub(crate) const ALLOWED_TYPES: [&str; 6] = [
    "image/jpeg",
    "image/png",
    "image/gif",
    "image/webp",
    "application/pdf",
    "text/plain",
];
const OFFICE_PREFIX: &str = "application/vnd.openxmlformats-officedocument.";

pub(crate) fn routes() -> Router<OrdersState> {
    Router::new()
        .route(
            "/api/orders/{no}/attachments",
            // The upload reads its body itself, with its own limit; the default limit
            // (2 MB, for the JSON routes) is raised to the same for this route only, so an
            // extractor used here later sees the same bound.
            get(list)
                .post(upload)
                .layer(DefaultBodyLimit::max(MAX_BYTES)),
        )
        .route("/api/orders/{no}/attachments/{id}", get(download))
}

#[derive(OpenApi)]
#[openapi(
    paths(upload, list, download),
    components(schemas(AttachmentOut, AttachmentList))
)]
pub(crate) struct AttachmentsDoc;

/// An attachment's metadata, as listed and as answered to an upload.
#[derive(Serialize, ToSchema)]
pub(crate) struct AttachmentOut {
    id: String,
    /// The file name as uploaded.
    name: String,
    content_type: String,
    /// Bytes.
    size: u64,
    /// SHA-256 of the bytes, lowercase hex.
    sha256: String,
    /// The user who uploaded it.
    uploaded_by: String,
    uploaded_at: DateTime<Utc>,
}

impl From<AttachmentMeta> for AttachmentOut {
    fn from(m: AttachmentMeta) -> Self {
        AttachmentOut {
            id: m.id,
            name: m.name,
            content_type: m.content_type,
            size: m.size,
            sha256: m.sha256,
            uploaded_by: m.uploaded_by,
            uploaded_at: m.uploaded_at,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub(crate) struct AttachmentList {
    /// Oldest first.
    attachments: Vec<AttachmentOut>,
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
struct UploadParams {
    /// The file name: 1 to 200 characters, no `/` or `\`.
    name: Option<String>,
}

/// The file name as given, if acceptable.
fn check_name(name: Option<&str>) -> Result<String, String> {
    let name = name.unwrap_or_default();
    if name.trim().is_empty() {
        return Err("give the file name: `?name=<file name>`".into());
    }
    let chars = name.chars().count();
    if chars > NAME_MAX {
        return Err(format!(
            "the file name has {chars} characters; at most {NAME_MAX}"
        ));
    }
    if name.contains(['/', '\\']) {
        return Err(format!(
            "the file name `{name}` contains `/` or `\\`: give the name without a folder"
        ));
    }
    if name.chars().any(char::is_control) {
        return Err("the file name contains control characters".into());
    }
    Ok(name.to_string())
}

/// The accepted content type of a `Content-Type` header (its type/subtype, lowercased, without
/// parameters), or why it is refused.
fn check_type(header: Option<&HeaderValue>) -> Result<String, String> {
    let allowed = || {
        format!(
            "allowed: {}, and the Office types {OFFICE_PREFIX}* (.docx, .xlsx)",
            ALLOWED_TYPES.join(", ")
        )
    };
    let Some(value) = header else {
        return Err(format!(
            "send the file's type as the Content-Type header; {}",
            allowed()
        ));
    };
    let essence = value
        .to_str()
        .unwrap_or_default()
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    let office = essence
        .strip_prefix(OFFICE_PREFIX)
        .is_some_and(|rest| !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_graphic()));
    if ALLOWED_TYPES.contains(&essence.as_str()) || office {
        Ok(essence)
    } else {
        Err(format!(
            "files of type `{}` are not accepted; {}",
            value.to_str().unwrap_or("(not text)"),
            allowed()
        ))
    }
}

fn too_large() -> Failure {
    Failure::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        format!(
            "the file is larger than {} MiB, the largest accepted",
            MAX_BYTES / (1024 * 1024)
        ),
    )
}

/// The next data of the body: Ok(None) at its end.
async fn next_data(body: &mut Body) -> Result<Option<axum::body::Bytes>, axum::Error> {
    loop {
        match std::future::poll_fn(|cx| Pin::new(&mut *body).poll_frame(cx)).await {
            None => return Ok(None),
            Some(Err(e)) => return Err(e),
            Some(Ok(frame)) => {
                if let Ok(data) = frame.into_data() {
                    return Ok(Some(data));
                }
                // Trailers: nothing to keep.
            }
        }
    }
}

/// Reads and drops what is left of a refused upload, up to [`DRAIN_MAX`] in all, so the
/// client reads the answer (see there). A client that asked `Expect: 100-continue` was never
/// told to send: nothing is read.
async fn refuse(mut body: Body, expects_continue: bool, already: usize, why: Failure) -> Failure {
    if !expects_continue {
        let mut read = already;
        while read < DRAIN_MAX {
            match next_data(&mut body).await {
                Ok(Some(data)) => read += data.len(),
                Ok(None) | Err(_) => break,
            }
        }
    }
    why
}

/// Adds a file to an order: the raw bytes as the body, `Content-Type` its type, `name` its
/// file name. For the center's staff and the order's lead and co-units. At most 10 MiB (413);
/// images (JPEG, PNG, GIF, WebP), PDF, plain text, Word and Excel (.docx, .xlsx) only (415).
#[utoipa::path(post, path = "/api/orders/{no}/attachments",
    params(("no" = String, Path, description = "order number"), UploadParams),
    request_body(content = Vec<u8>, description = "the file's bytes", content_type = "application/octet-stream"),
    responses((status = 201, body = AttachmentOut), (status = 403, body = ApiError),
        (status = 404, body = ApiError), (status = 413, body = ApiError),
        (status = 415, body = ApiError), (status = 422, body = ApiError)))]
async fn upload(
    State(s): State<OrdersState>,
    c: Result<Caller, Failure>,
    Path(no): Path<String>,
    params: Result<Q<UploadParams>, Failure>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Response> {
    let expects_continue = headers
        .get(header::EXPECT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("100-continue"));
    // Every check that needs no byte of the file comes first; a refusal still reads what the
    // client sends (see DRAIN_MAX).
    let checked = async {
        let c = c?;
        if !(c.0.is_center() || c.0.unit().is_some()) {
            return Err(Failure::new(
                StatusCode::FORBIDDEN,
                "for the center's staff and the order's units only",
            ));
        }
        // A unit's staff only on the orders their unit leads or co-handles (else 404).
        visible(&s, &c, &no).await?;
        let Q(p) = params?;
        let name = check_name(p.name.as_deref())
            .map_err(|m| Failure::new(StatusCode::UNPROCESSABLE_ENTITY, m))?;
        let content_type = check_type(headers.get(header::CONTENT_TYPE))
            .map_err(|m| Failure::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, m))?;
        let declared = headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok());
        if declared.is_some_and(|n| n > MAX_BYTES as u64) {
            return Err(too_large());
        }
        Ok((c, name, content_type, declared))
    }
    .await;
    let (c, name, content_type, declared) = match checked {
        Ok(ok) => ok,
        Err(why) => return Err(refuse(body, expects_continue, 0, why).await),
    };

    let mut body = body;
    let mut data = Vec::with_capacity(declared.unwrap_or(0) as usize);
    loop {
        match next_data(&mut body).await {
            Ok(Some(chunk)) if data.len() + chunk.len() > MAX_BYTES => {
                let read = data.len() + chunk.len();
                return Err(refuse(body, false, read, too_large()).await);
            }
            Ok(Some(chunk)) => data.extend_from_slice(&chunk),
            Ok(None) => break,
            Err(e) => {
                return Err(Failure::new(
                    StatusCode::BAD_REQUEST,
                    format!("the upload broke off after {} bytes: {e}", data.len()),
                ));
            }
        }
    }
    if data.is_empty() {
        return Err(Failure::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "the file is empty",
        ));
    }

    let meta = AttachmentMeta {
        id: uuid::Uuid::new_v4().to_string(),
        order_no: no.clone(),
        name,
        content_type,
        size: data.len() as u64,
        sha256: hex::encode(Sha256::digest(&data)),
        uploaded_by: c.0.user.clone(),
        // Milliseconds, as stored: the answer to the upload is what a listing shows later.
        uploaded_at: DateTime::from_timestamp_millis(Utc::now().timestamp_millis())
            .unwrap_or_else(Utc::now),
    };
    let row = AttachmentRow {
        meta: meta.clone(),
        data,
    };
    s.svc()?
        .store()
        .add_attachment(&row)
        .await
        .map_err(|e| match e {
            StoreError::NoSuchOrder(no) => ServiceError::NotFound(no).into(),
            e => Failure::from(e),
        })?;
    audit(
        &s,
        &c,
        "attachment",
        Some(&no),
        format!(
            "upload {} `{}` ({}, {} bytes, sha256 {})",
            meta.id, meta.name, meta.content_type, meta.size, meta.sha256
        ),
    )
    .await?;
    let location = format!("/api/orders/{no}/attachments/{}", meta.id);
    let mut r = (StatusCode::CREATED, Json(AttachmentOut::from(meta))).into_response();
    if let Ok(v) = HeaderValue::from_str(&percent_path(&location)) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    Ok(r)
}

/// An order's attachments without their bytes, oldest first (whoever may see the order).
#[utoipa::path(get, path = "/api/orders/{no}/attachments",
    params(("no" = String, Path, description = "order number")),
    responses((status = 200, body = AttachmentList), (status = 404, body = ApiError)))]
async fn list(
    State(s): State<OrdersState>,
    c: Caller,
    Path(no): Path<String>,
) -> ApiResult<Json<AttachmentList>> {
    visible(&s, &c, &no).await?;
    let rows = s.svc()?.store().attachments_of(&no).await?;
    Ok(Json(AttachmentList {
        attachments: rows.into_iter().map(AttachmentOut::from).collect(),
    }))
}

/// One attachment's bytes, with its type, as a download (`Content-Disposition: attachment`
/// with the UTF-8 file name, RFC 6266 and 5987) and `X-Content-Type-Options: nosniff`.
/// Downloads are audited (a photo or a letter may carry personal data).
#[utoipa::path(get, path = "/api/orders/{no}/attachments/{id}",
    params(("no" = String, Path, description = "order number"), ("id" = String, Path, description = "attachment id")),
    responses((status = 200, description = "the file's bytes", content_type = "application/octet-stream"),
        (status = 404, body = ApiError)))]
async fn download(
    State(s): State<OrdersState>,
    c: Caller,
    Path((no, id)): Path<(String, String)>,
) -> ApiResult<Response> {
    visible(&s, &c, &no).await?;
    let Some((meta, data)) = s.svc()?.store().attachment(&no, &id).await? else {
        return Err(Failure::new(
            StatusCode::NOT_FOUND,
            format!("work order {no} has no attachment `{id}`"),
        ));
    };
    audit(
        &s,
        &c,
        "attachment",
        Some(&no),
        format!("download {} `{}`", meta.id, meta.name),
    )
    .await?;
    let content_type = HeaderValue::from_str(&meta.content_type)
        .unwrap_or(HeaderValue::from_static("application/octet-stream"));
    let disposition = HeaderValue::from_str(&content_disposition(&meta.name))
        .unwrap_or(HeaderValue::from_static("attachment"));
    Ok((
        [
            (header::CONTENT_TYPE, content_type),
            (header::CONTENT_DISPOSITION, disposition),
            (
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            ),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("private, no-store"),
            ),
        ],
        data,
    )
        .into_response())
}

/// `attachment; filename*=UTF-8''<name>` with the name percent-encoded as RFC 5987's
/// `ext-value` wants: every byte of its UTF-8 but the `attr-char`s as `%XX`.
fn content_disposition(name: &str) -> String {
    let mut out = String::from("attachment; filename*=UTF-8''");
    for b in name.bytes() {
        let attr_char = b.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&b);
        if attr_char {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A path with every byte outside printable ASCII percent-encoded (the Location header).
fn percent_path(path: &str) -> String {
    let mut out = String::new();
    for b in path.bytes() {
        if b.is_ascii_graphic() && b != b'%' {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_encoded_as_rfc_5987_ext_values() {
        assert_eq!(
            content_disposition("report-2026_v1.pdf"),
            "attachment; filename*=UTF-8''report-2026_v1.pdf"
        );
        // RFC 5987's own example, then Chinese, spaces, quotes, `%` and `;`.
        assert_eq!(
            content_disposition("€ rates"),
            "attachment; filename*=UTF-8''%E2%82%AC%20rates"
        );
        assert_eq!(
            content_disposition("现场 照片.png"),
            "attachment; filename*=UTF-8''%E7%8E%B0%E5%9C%BA%20%E7%85%A7%E7%89%87.png"
        );
        assert_eq!(
            content_disposition("a\"b%c;d'e*f"),
            "attachment; filename*=UTF-8''a%22b%25c%3Bd%27e%2Af"
        );
    }

    #[test]
    fn names_need_one_to_two_hundred_characters_without_folders() {
        assert_eq!(check_name(Some("回复函.pdf")), Ok("回复函.pdf".to_string()));
        assert!(check_name(None).is_err());
        assert!(check_name(Some("")).is_err());
        assert!(check_name(Some("  ")).is_err());
        assert!(check_name(Some(&"字".repeat(200))).is_ok());
        let long = check_name(Some(&"字".repeat(201))).unwrap_err();
        assert!(long.contains("201"), "{long}");
        assert!(check_name(Some("../etc/passwd")).is_err());
        assert!(check_name(Some("C:\\photo.png")).is_err());
        assert!(check_name(Some("a\nb.txt")).is_err());
    }

    #[test]
    fn only_the_listed_types_and_the_office_family_are_accepted() {
        let t = |v: &'static str| check_type(Some(&HeaderValue::from_static(v)));
        assert_eq!(t("image/png"), Ok("image/png".to_string()));
        assert_eq!(t("Image/JPEG"), Ok("image/jpeg".to_string()));
        assert_eq!(t("text/plain; charset=utf-8"), Ok("text/plain".to_string()));
        assert_eq!(
            t("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
            Ok("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet".to_string())
        );
        for refused in [
            "application/zip",
            "text/html",
            "image/svg+xml",
            "application/octet-stream",
            "application/vnd.openxmlformats-officedocument.",
            "application/msword",
        ] {
            let e = t(refused).unwrap_err();
            assert!(e.contains(refused) && e.contains("image/png"), "{e}");
        }
        assert!(check_type(None).unwrap_err().contains("Content-Type"));
    }

    #[test]
    fn locations_keep_ascii_and_encode_the_rest() {
        assert_eq!(
            percent_path("/api/orders/YC1/attachments/ab-1"),
            "/api/orders/YC1/attachments/ab-1"
        );
        assert_eq!(percent_path("/a b/工"), "/a%20b/%E5%B7%A5");
    }
}
