//! Cursor pagination: every list answers `{ items, next_cursor }`.

use crate::error::{ApiError, ApiResult};
use base64::Engine;
use serde::Serialize;
use utoipa::ToSchema;

/// One page of a list.
#[derive(Debug, Serialize, ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Pass as `?cursor=` to get the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

/// Clamp a requested page size to `1..=max` (default 50).
pub fn page_size(limit: Option<usize>, max: usize) -> usize {
    limit.unwrap_or(50).clamp(1, max)
}

/// Opaque cursor from the sort key of the last item returned.
pub fn encode_cursor(key: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(key.as_bytes())
}

pub fn decode_cursor(cursor: &str) -> ApiResult<String> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(cursor.as_bytes())
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or_else(|| ApiError::BadRequest("invalid cursor".into()))
}

/// Given `limit + 1` rows, keep `limit` and compute the next cursor from the last kept row.
pub fn finish<T, F: Fn(&T) -> String>(mut rows: Vec<T>, limit: usize, key: F) -> Page<T> {
    let next_cursor = if rows.len() > limit {
        rows.truncate(limit);
        rows.last().map(|r| encode_cursor(&key(r)))
    } else {
        None
    };
    Page {
        items: rows,
        next_cursor,
    }
}
