//! The one error type at the HTTP edge: every failure becomes `{ "error", "code" }` with the
//! right status. Internal causes are logged, never sent to the client.

use crate::store::StoreError;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;

/// Body of every error response.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: String,
    pub code: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    BadRequest(String),
    #[error("{message}")]
    Invalid { code: &'static str, message: String },
    #[error("authentication required")]
    Unauthorized,
    #[error("{0}")]
    Forbidden(String),
    /// Forbidden with its own machine code (e.g. `cross_origin`).
    #[error("{message}")]
    ForbiddenCode { code: &'static str, message: String },
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("{0}")]
    Conflict(String),
    /// A 409 with its own machine code (e.g. `last_admin`, `agent_unavailable`).
    #[error("{message}")]
    ConflictCode { code: &'static str, message: String },
    #[error("request body too large")]
    TooLarge,
    #[error("too many requests, slow down")]
    RateLimited,
    /// An hourly per-address quota (e.g. widget uploads) is used up.
    #[error("the hourly quota for this network is used up; try again later")]
    QuotaExceeded,
    #[error("service unavailable")]
    Unavailable,
    #[error("the database is unavailable, try again shortly")]
    DatabaseUnavailable,
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
}

pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    /// `map_err` for a read of one `what`: a missing row is 404 `what`, any other failure as
    /// usual.
    pub fn missing(what: &'static str) -> impl Fn(StoreError) -> ApiError {
        move |e| match e {
            StoreError::NotFound => ApiError::NotFound(what),
            o => o.into(),
        }
    }

    pub fn invalid(code: &'static str, message: impl Into<String>) -> Self {
        ApiError::Invalid {
            code,
            message: message.into(),
        }
    }

    fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            ApiError::BadRequest(_) => (StatusCode::BAD_REQUEST, "bad_request"),
            ApiError::Invalid { code, .. } => (StatusCode::UNPROCESSABLE_ENTITY, code),
            ApiError::Unauthorized => (StatusCode::UNAUTHORIZED, "unauthorized"),
            ApiError::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden"),
            ApiError::ForbiddenCode { code, .. } => (StatusCode::FORBIDDEN, code),
            ApiError::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            ApiError::Conflict(_) => (StatusCode::CONFLICT, "conflict"),
            ApiError::ConflictCode { code, .. } => (StatusCode::CONFLICT, code),
            ApiError::TooLarge => (StatusCode::PAYLOAD_TOO_LARGE, "too_large"),
            ApiError::RateLimited => (StatusCode::TOO_MANY_REQUESTS, "rate_limited"),
            ApiError::QuotaExceeded => (StatusCode::TOO_MANY_REQUESTS, "quota_exceeded"),
            ApiError::Unavailable => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
            ApiError::DatabaseUnavailable => {
                (StatusCode::SERVICE_UNAVAILABLE, "database_unavailable")
            }
            ApiError::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        }
    }
}

/// Seconds a client is asked to wait when the database is unavailable.
const RETRY_AFTER_SECS: &str = "2";

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let this = match self {
            ApiError::Internal(cause) => classify_internal(cause),
            other => other,
        };
        let (status, code) = this.status_and_code();
        if let ApiError::Internal(cause) = &this {
            tracing::error!(error = ?cause, "internal error");
        }
        let body = ErrorBody {
            error: this.to_string(),
            code: code.to_string(),
        };
        let mut resp = (status, Json(body)).into_response();
        if matches!(this, ApiError::TooLarge) {
            // The upload was refused before its end: the connection cannot carry another
            // request, and a client reusing it (its next upload) met a broken pipe instead of
            // an answer. Say so, so that it opens a new one.
            resp.headers_mut().insert(
                axum::http::header::CONNECTION,
                axum::http::HeaderValue::from_static("close"),
            );
        }
        if matches!(this, ApiError::DatabaseUnavailable) {
            metrics::counter!("switchboard_database_unavailable_total").increment(1);
            resp.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from_static(RETRY_AFTER_SECS),
            );
        }
        resp
    }
}

/// An internal error caused by a database that cannot be reached is a 503; text the database
/// refuses (a NUL character on PostgreSQL) is the client's 422. Anything else stays internal.
fn classify_internal(cause: anyhow::Error) -> ApiError {
    let db = cause.chain().find_map(|e| {
        e.downcast_ref::<sqlx::Error>()
            .or_else(|| match e.downcast_ref::<StoreError>() {
                Some(StoreError::Other(e)) => Some(e),
                _ => None,
            })
    });
    match db {
        Some(e) if database_unreachable(e) => ApiError::DatabaseUnavailable,
        Some(e) if invalid_text(e) => nul_refused(),
        _ => ApiError::Internal(cause),
    }
}

/// The error a NUL character in text gets.
pub fn nul_refused() -> ApiError {
    ApiError::invalid("invalid_text", "text must not contain NUL characters")
}

/// The pool could not hand out a working connection: the database is down or unreachable.
pub fn database_unreachable(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::WorkerCrashed => true,
        // PostgreSQL: connection exceptions (08…), shutting down or starting up (57P0…).
        sqlx::Error::Database(db) => db
            .code()
            .is_some_and(|c| c.starts_with("08") || c.starts_with("57P0")),
        _ => false,
    }
}

/// PostgreSQL refused a string (`invalid byte sequence`, e.g. a NUL character).
fn invalid_text(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(db) if db.code().as_deref() == Some("22021"))
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => ApiError::NotFound("resource"),
            StoreError::Conflict(_) => ApiError::Conflict("already exists".into()),
            StoreError::Other(e) => classify_internal(e.into()),
        }
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(e: sqlx::Error) -> Self {
        StoreError::from_sqlx(e).into()
    }
}

impl From<serde_json::Error> for ApiError {
    fn from(e: serde_json::Error) -> Self {
        ApiError::Internal(e.into())
    }
}

impl From<JsonRejection> for ApiError {
    fn from(r: JsonRejection) -> Self {
        match r {
            JsonRejection::MissingJsonContentType(_) => {
                ApiError::BadRequest("expected Content-Type: application/json".into())
            }
            JsonRejection::BytesRejection(_) => ApiError::TooLarge,
            JsonRejection::JsonDataError(e) => ApiError::invalid("invalid_field", e.body_text()),
            other => ApiError::BadRequest(format!("malformed JSON: {}", other.body_text())),
        }
    }
}

impl From<QueryRejection> for ApiError {
    fn from(r: QueryRejection) -> Self {
        ApiError::BadRequest(r.body_text())
    }
}

impl From<PathRejection> for ApiError {
    fn from(r: PathRejection) -> Self {
        ApiError::BadRequest(r.body_text())
    }
}

/// `Json` extractor whose rejections come out in our error format; text holding a NUL
/// character is refused (422 `invalid_text`) on every backend, since PostgreSQL cannot store it.
pub struct ApiJson<T>(pub T);

impl<T, S> axum::extract::FromRequest<S> for ApiJson<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: axum::extract::Request, state: &S) -> ApiResult<Self> {
        let (parts, body) = req.into_parts();
        let whole = axum::extract::Request::from_parts(parts.clone(), body);
        let bytes = axum::body::Bytes::from_request(whole, state)
            .await
            .map_err(|_| ApiError::TooLarge)?;
        let nul = switchboard_wire::json_has_nul(&bytes);
        let again = axum::extract::Request::from_parts(parts, axum::body::Body::from(bytes));
        let axum::Json(value) = axum::Json::<T>::from_request(again, state).await?;
        if nul {
            return Err(nul_refused());
        }
        Ok(ApiJson(value))
    }
}

/// `Query` extractor whose rejections come out in our error format.
#[derive(axum::extract::FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(ApiError))]
pub struct ApiQuery<T>(pub T);

/// `Path` extractor whose rejections come out in our error format.
#[derive(axum::extract::FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(ApiError))]
pub struct ApiPath<T>(pub T);
