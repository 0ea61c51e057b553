//! The agent and supervisor web console (`web-console/`), embedded in the binary and served
//! at `/console/`, so running the server needs no Node toolchain.

use crate::state::AppState;
use axum::http::header::{
    CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, X_CONTENT_TYPE_OPTIONS,
};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;

const INDEX: &str = include_str!("../web-console/dist/index.html");
const SCRIPT: &str = include_str!("../web-console/dist/console.js");
const STYLE: &str = include_str!("../web-console/dist/console.css");

/// Inline styles and `https:` images are needed inside the sandboxed email frames only
/// (they inherit this policy); the console itself loads nothing inline.
const CSP: &str = "default-src 'self'; connect-src 'self'; script-src 'self'; \
    style-src 'self' 'unsafe-inline'; img-src 'self' data: https:; frame-ancestors 'none'";

fn asset(content_type: &'static str, body: &'static str, cache: &'static str) -> Response {
    (
        [
            (CONTENT_TYPE, content_type),
            (CACHE_CONTROL, cache),
            (CONTENT_SECURITY_POLICY, CSP),
            (X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        body,
    )
        .into_response()
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(|| async { Redirect::to("/console/") }))
        .route(
            "/console",
            get(|| async { Redirect::permanent("/console/") }),
        )
        .route(
            "/console/",
            get(|| async { asset("text/html; charset=utf-8", INDEX, "no-cache") }),
        )
        .route(
            "/console/console.js",
            get(|| async { asset("text/javascript; charset=utf-8", SCRIPT, "no-cache") }),
        )
        .route(
            "/console/console.css",
            get(|| async { asset("text/css; charset=utf-8", STYLE, "no-cache") }),
        )
}
