//! Cross-site request checks. A browser attaches the session cookie to requests that another
//! site's page makes (a form POST, a `text/plain` fetch, a WebSocket), so a request
//! authenticated by that cookie must come from the console's own origin:
//! - state-changing requests (not GET/HEAD/OPTIONS) and `/ws/console` handshakes carrying
//!   the session cookie and no bearer token are refused (`403 cross_origin`) when their
//!   `Origin` is another site (absent `Origin`: not a browser's cross-site request);
//! - the raw-body intake routes (inbound email, call records) refuse the body types a page
//!   may send without a CORS preflight when `Origin` is another site, however authenticated.
//!
//! "Our origin" is the request's own `Host`, or `server.public_url` when set.

use super::SESSION_COOKIE;
use crate::error::ApiError;
use crate::state::AppState;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// Routes whose bodies are raw text: cross-site "simple" requests must not reach them.
const RAW_INTAKE: &[&str] = &[
    "/api/v1/channels/email/inbound",
    "/api/v1/channels/voice/records",
];

/// Middleware applying the rules above, and sending HSTS when `server.public_url` is https.
pub async fn guard(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let mut resp = check(&state, req, next).await;
    if state.settings.server.public_url.starts_with("https://") {
        resp.headers_mut().insert(
            header::STRICT_TRANSPORT_SECURITY,
            header::HeaderValue::from_static("max-age=31536000"),
        );
    }
    resp
}

async fn check(state: &AppState, req: Request, next: Next) -> Response {
    let headers = req.headers();
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return next.run(req).await;
    };
    if same_origin(origin, headers, &state.settings.server.public_url) {
        return next.run(req).await;
    }
    let path = req.uri().path();
    let unsafe_method = !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    let console = path == "/ws/console" && !query_has_token(req.uri().query());
    if (unsafe_method || console) && cookie_only(headers) {
        return refuse("requests authenticated by the session cookie must come from this site");
    }
    if unsafe_method && RAW_INTAKE.contains(&path) && simple_body(headers) {
        return refuse("this route does not accept form or text bodies from another site");
    }
    next.run(req).await
}

fn refuse(why: &str) -> Response {
    metrics::counter!("switchboard_cross_origin_refused_total").increment(1);
    ApiError::ForbiddenCode {
        code: "cross_origin",
        message: why.into(),
    }
    .into_response()
}

/// Whether `origin` (`scheme://host[:port]`) is this server's own.
fn same_origin(origin: &str, headers: &HeaderMap, public_url: &str) -> bool {
    let Some((_, host)) = origin.split_once("://") else {
        return false; // `null` and other opaque origins
    };
    let public = public_url.trim().trim_end_matches('/');
    if !public.is_empty() && origin.eq_ignore_ascii_case(public) {
        return true;
    }
    headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|h| h.eq_ignore_ascii_case(host))
}

/// The session cookie is present and no `Authorization` header overrides it.
fn cookie_only(headers: &HeaderMap) -> bool {
    if headers.contains_key(header::AUTHORIZATION) {
        return false;
    }
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .any(|p| {
            p.trim()
                .split_once('=')
                .is_some_and(|(k, _)| k == SESSION_COOKIE)
        })
}

fn query_has_token(query: Option<&str>) -> bool {
    query.is_some_and(|q| {
        q.split('&')
            .any(|p| p.strip_prefix("token=").is_some_and(|t| !t.is_empty()))
    })
}

/// A body type a page may send to another site without a CORS preflight.
fn simple_body(headers: &HeaderMap) -> bool {
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("text/plain")
        .to_ascii_lowercase();
    [
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data",
    ]
    .iter()
    .any(|s| ct.starts_with(s))
}
