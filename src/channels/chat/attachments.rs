//! Visitor file uploads: `POST /api/v1/widget/attachments` (`Authorization: Visitor <token>`,
//! multipart `file`) and signed downloads, with CORS for the sites' allowed origins.

use super::hub::Hub;
use super::{secrets, sites, MAX_ATTACHMENT_BYTES};
use crate::error::{ApiError, ApiPath, ApiQuery, ApiResult};
use crate::state::AppState;
use crate::store::{new_id, now_ms};
use crate::uploads::clean_name;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Extension;
use serde::Deserialize;
use serde_json::{json, Value};
use std::sync::Arc;

/// The content type of an accepted file, from its first bytes (never from the client's claim).
pub fn sniff(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else if bytes.starts_with(&[0xff, 0xd8, 0xff]) {
        Some("image/jpeg")
    } else if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
        Some("image/gif")
    } else if bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        Some("image/webp")
    } else if bytes.starts_with(b"%PDF-") {
        Some("application/pdf")
    } else {
        None
    }
}

fn cors(resp: &mut Response, origin: Option<&str>) {
    if let Some(o) = origin.and_then(|o| HeaderValue::from_str(o).ok()) {
        let h = resp.headers_mut();
        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, o);
        h.insert(header::VARY, HeaderValue::from_static("Origin"));
    }
}

fn origin(headers: &HeaderMap) -> Option<String> {
    headers
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

/// CORS preflight for the upload: allowed when some site allows the page's origin.
pub async fn preflight(State(state): State<AppState>, headers: HeaderMap) -> ApiResult<Response> {
    let Some(o) = origin(&headers) else {
        return Ok(StatusCode::NO_CONTENT.into_response());
    };
    let mut conn = state.store.pool().acquire().await?;
    if !sites::any_allows(&mut conn, &o).await? {
        return Err(ApiError::Forbidden("origin not allowed".into()));
    }
    let mut resp = StatusCode::NO_CONTENT.into_response();
    cors(&mut resp, Some(&o));
    let h = resp.headers_mut();
    h.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("POST, GET, OPTIONS"),
    );
    h.insert(
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static("authorization, content-type"),
    );
    h.insert(
        header::ACCESS_CONTROL_MAX_AGE,
        HeaderValue::from_static("600"),
    );
    Ok(resp)
}

/// Upload a file for the visitor's next message: images (PNG, JPEG, GIF, WebP) and PDF up to
/// 10 MiB, recognised by their content.
#[utoipa::path(post, path = "/widget/attachments", tag = "chat",
    request_body(content = inline(UploadForm), content_type = "multipart/form-data"), responses((status = 201, description = "`{id, name, content_type, size, url}`"), (status = 401, body = crate::error::ErrorBody), (status = 413, body = crate::error::ErrorBody), (status = 415, body = crate::error::ErrorBody)))]
pub async fn upload(
    State(state): State<AppState>,
    Extension(hub): Extension<Arc<Hub>>,
    axum::extract::ConnectInfo(addr): axum::extract::ConnectInfo<std::net::SocketAddr>,
    req: Request,
) -> Response {
    let o = origin(req.headers());
    let ip = state.proxies.client_ip(addr, req.headers());
    let mut resp = match upload_inner(&state, &hub, req, o.as_deref(), ip).await {
        Ok(v) => (StatusCode::CREATED, axum::Json(v)).into_response(),
        Err(e) => e.into_response(),
    };
    cors(&mut resp, o.as_deref());
    resp
}

async fn upload_inner(
    state: &AppState,
    hub: &Hub,
    req: Request,
    origin: Option<&str>,
    ip: std::net::IpAddr,
) -> Result<Value, UploadError> {
    let auth = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Visitor "))
        .ok_or(ApiError::Unauthorized)?
        .trim()
        .to_string();
    let key = hub.key(state).await.map_err(ApiError::from)?;
    let (visitor, site_id) =
        secrets::parse_visitor_token(key, &auth).ok_or(ApiError::Unauthorized)?;
    let mut conn = state.store.pool().acquire().await.map_err(ApiError::from)?;
    let site = sites::by_id(&mut conn, &site_id)
        .await
        .map_err(ApiError::from)?
        .ok_or(ApiError::Unauthorized)?;
    drop(conn);
    if origin.is_some() && !site.origin_allowed(origin) {
        return Err(ApiError::Forbidden("origin not allowed".into()).into());
    }
    let (name, bytes) = read_file(req).await?;
    let content_type = sniff(&bytes).ok_or(UploadError::Unsupported)?;
    if !hub.quotas.upload(ip, bytes.len()) {
        return Err(ApiError::QuotaExceeded.into());
    }
    let mut tx = state.store.begin().await.map_err(ApiError::from)?;
    let id = insert(&mut tx, &site.id, &visitor, &name, content_type, &bytes).await?;
    tx.commit().await.map_err(ApiError::from)?;
    Ok(
        json!({"id": id, "name": name, "content_type": content_type, "size": bytes.len(), "url": secrets::attachment_url(key, &id, state.settings.chat.attachment_url_secs())}),
    )
}

/// Store an accepted file for `visitor` of `site_id`; returns its id.
async fn insert(
    tx: &mut crate::store::Tx,
    site_id: &str,
    visitor: &str,
    name: &str,
    content_type: &str,
    bytes: &[u8],
) -> ApiResult<String> {
    let id = new_id();
    sqlx::query(
        "INSERT INTO chat_attachments (id, site_id, visitor_id, name, content_type, size, data, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(&id)
    .bind(site_id)
    .bind(visitor)
    .bind(name)
    .bind(content_type)
    .bind(bytes.len() as i64)
    .bind(bytes.to_vec())
    .bind(now_ms())
    .execute(tx.conn())
    .await?;
    Ok(id)
}

/// The body of an attachment upload, as the API description shows it.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct UploadForm {
    /// The file (one field named `file`).
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
}

/// The `file` field of a multipart upload (at most [`MAX_ATTACHMENT_BYTES`]), with a clean name.
async fn read_file(req: Request) -> Result<(String, axum::body::Bytes), UploadError> {
    let ct = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let boundary = multer::parse_boundary(ct)
        .map_err(|_| ApiError::BadRequest("expected a multipart/form-data body".into()))?;
    let limits = multer::Constraints::new().size_limit(
        multer::SizeLimit::new()
            .whole_stream(MAX_ATTACHMENT_BYTES as u64 + 64 * 1024)
            .for_field("file", MAX_ATTACHMENT_BYTES as u64),
    );
    let mut mp =
        multer::Multipart::with_constraints(req.into_body().into_data_stream(), boundary, limits);
    let mut file = None;
    loop {
        let field = match mp.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) => return Err(multipart_error(e)),
        };
        if field.name() != Some("file") {
            continue;
        }
        let name = clean_name(field.file_name());
        let bytes = field.bytes().await.map_err(multipart_error)?;
        file = Some((name, bytes));
        break;
    }
    let (name, bytes) = file
        .ok_or_else(|| ApiError::invalid("invalid_field", "multipart field `file` is required"))?;
    Ok((name, bytes))
}

fn multipart_error(e: multer::Error) -> UploadError {
    crate::uploads::multipart_error(e).into()
}

/// Upload failures: API errors plus 415 for a type we do not take.
enum UploadError {
    Api(ApiError),
    Unsupported,
}

impl From<ApiError> for UploadError {
    fn from(e: ApiError) -> Self {
        UploadError::Api(e)
    }
}

impl IntoResponse for UploadError {
    fn into_response(self) -> Response {
        match self {
            UploadError::Api(e) => e.into_response(),
            UploadError::Unsupported => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                axum::Json(json!({"error": "only PNG, JPEG, GIF, WebP images and PDF files are accepted", "code": "unsupported_type"})),
            )
                .into_response(),
        }
    }
}

/// The stored description of a visitor's own attachment, for the message's meta.
pub async fn meta_for(state: &AppState, id: &str, visitor: &str) -> ApiResult<Option<Value>> {
    let row: Option<(String, String, i64)> = sqlx::query_as(
        "SELECT name, content_type, size FROM chat_attachments WHERE id = $1 AND visitor_id = $2",
    )
    .bind(id)
    .bind(visitor)
    .fetch_optional(state.store.pool())
    .await?;
    Ok(row.map(|(name, content_type, size)| json!({"id": id, "name": name, "content_type": content_type, "size": size})))
}

#[derive(Deserialize)]
pub struct SigQuery {
    #[serde(default)]
    exp: String,
    sig: String,
}

/// Download an attachment by its signed URL (no headers needed, so `<img>` works).
pub async fn download(
    State(state): State<AppState>,
    Extension(hub): Extension<Arc<Hub>>,
    ApiPath(id): ApiPath<String>,
    ApiQuery(q): ApiQuery<SigQuery>,
) -> ApiResult<Response> {
    let key = hub.key(&state).await?;
    if !secrets::attachment_sig_ok(key, &id, &q.exp, &q.sig) {
        return Err(ApiError::NotFound("attachment"));
    }
    serve_stored(&state, &id).await
}

/// The stored chat file `id` as a response (`404` when there is none); callers check access.
pub async fn serve_stored(state: &AppState, id: &str) -> ApiResult<Response> {
    let row: Option<(String, String, Vec<u8>)> =
        sqlx::query_as("SELECT name, content_type, data FROM chat_attachments WHERE id = $1")
            .bind(id)
            .fetch_optional(state.store.pool())
            .await?;
    let (name, content_type, data) = row.ok_or(ApiError::NotFound("attachment"))?;
    Ok(serve(&name, &content_type, data))
}

/// A stored file as an inline response of its own (sniffed) type.
pub(super) fn serve(name: &str, content_type: &str, data: Vec<u8>) -> Response {
    let disposition = format!(
        "inline; filename=\"file\"; filename*=UTF-8''{}",
        percent(name)
    );
    let mut resp = Response::new(Body::from(data));
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(static_type(content_type)),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, max-age=86400"),
    );
    if let Ok(v) = HeaderValue::from_str(&disposition) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    resp
}

fn static_type(ct: &str) -> &'static str {
    match ct {
        "image/png" => "image/png",
        "image/jpeg" => "image/jpeg",
        "image/gif" => "image/gif",
        "image/webp" => "image/webp",
        "application/pdf" => "application/pdf",
        _ => "application/octet-stream",
    }
}

fn percent(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_are_recognised_by_their_magic_bytes() {
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\nrest"), Some("image/png"));
        assert_eq!(sniff(&[0xff, 0xd8, 0xff, 0xe0]), Some("image/jpeg"));
        assert_eq!(sniff(b"GIF89a..."), Some("image/gif"));
        assert_eq!(sniff(b"RIFF\0\0\0\0WEBPVP8 "), Some("image/webp"));
        assert_eq!(sniff(b"%PDF-1.7"), Some("application/pdf"));
        assert_eq!(sniff(b"<html><script>"), None);
        assert_eq!(sniff(b"MZ\x90\0"), None);
    }
}

/// An agent sends a file (image or PDF, recognised by content) into a chat: it is stored for
/// the conversation's visitor and posted as an agent message, which the widget shows (images
/// preview) through the signed URL.
#[utoipa::path(post, path = "/channels/chat/conversations/{id}/attachments", tag = "chat",
    request_body(content = inline(UploadForm), content_type = "multipart/form-data"), responses((status = 201, body = crate::conversations::Message), (status = 404, body = crate::error::ErrorBody), (status = 413, body = crate::error::ErrorBody), (status = 415, body = crate::error::ErrorBody)))]
pub async fn agent_upload(
    State(state): State<AppState>,
    caller: crate::auth::Caller,
    ApiPath(id): ApiPath<String>,
    req: Request,
) -> Response {
    match agent_upload_inner(&state, &caller, &id, req).await {
        Ok(m) => (StatusCode::CREATED, axum::Json(m)).into_response(),
        Err(e) => e.into_response(),
    }
}

async fn agent_upload_inner(
    state: &AppState,
    caller: &crate::auth::Caller,
    conv_id: &str,
    req: Request,
) -> Result<crate::conversations::Message, UploadError> {
    use crate::conversations::{self as convs, Actor, NewMessage};
    let agent = caller.require_role(crate::auth::Role::Agent)?.clone();
    crate::teams::Scope::of(&state.store, caller)
        .await
        .map_err(ApiError::from)?
        .check_id(&state.store, conv_id)
        .await?;
    let visitor: Option<(String, String)> = sqlx::query_as(
        "SELECT v.id, v.site_id FROM chat_visitors v JOIN conversations c ON c.id = v.conversation_id \
         WHERE c.id = $1 AND c.channel = $2 ORDER BY v.updated_at DESC LIMIT 1",
    )
    .bind(conv_id)
    .bind(super::visitor::CHANNEL)
    .fetch_optional(state.store.pool())
    .await
    .map_err(ApiError::from)?;
    let (visitor, site_id) = visitor.ok_or(ApiError::NotFound("chat conversation"))?;
    let (name, bytes) = read_file(req).await?;
    let content_type = sniff(&bytes).ok_or(UploadError::Unsupported)?;
    let mut tx = state.store.begin().await.map_err(ApiError::from)?;
    let id = insert(&mut tx, &site_id, &visitor, &name, content_type, &bytes).await?;
    let msg = NewMessage {
        author_kind: "agent",
        author_id: Some(agent.id.clone()),
        body: name.clone(),
        internal: false,
        channel: super::visitor::CHANNEL.into(),
        external_id: None,
        meta: json!({ "attachment": {"id": id, "name": name, "content_type": content_type, "size": bytes.len()} }),
        at: None,
    };
    let actor = Actor {
        kind: "agent",
        id: Some(agent.id),
    };
    let (message, ev) = convs::append_message(&mut tx, conv_id, msg, &actor)
        .await
        .map_err(ApiError::from)?;
    tx.commit().await.map_err(ApiError::from)?;
    if let Some(ev) = ev {
        state.bus.publish(ev).await;
    }
    Ok(message)
}
