//! `GET /widget/test?site=SITE_KEY`: a page served by the server itself that embeds the widget
//! for one site, so a site's chat can be tried before it is on any website. The site's
//! `allowed_origins` must include this server's own address (e.g. `http://127.0.0.1:8080`),
//! as for any page; otherwise the widget says chat is not enabled here.

use super::sites;
use crate::error::{ApiError, ApiQuery};
use crate::state::AppState;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

/// The example host page (`web-widget/test-page.html`).
const PAGE: &str = include_str!("../../../web-widget/test-page.html");
/// The tag in [`PAGE`] that is pointed at the requested site.
const TAG: &str = r#"<script src="/widget.js" data-site="demo" async></script>"#;

#[derive(Deserialize)]
pub struct TestPageQuery {
    site: String,
}

pub async fn test_page(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<TestPageQuery>,
) -> Result<Response, ApiError> {
    // Site keys are URL-safe base64; anything else is no key (and never reaches the page).
    let key = q.site.trim();
    let plain = !key.is_empty()
        && key.len() <= 128
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if !plain {
        return Err(ApiError::invalid(
            "invalid_site",
            "`site` must be a site key (from /api/v1/channels/chat/sites)",
        ));
    }
    let mut conn = state.store.pool().acquire().await?;
    if sites::by_key(&mut conn, key).await?.is_none() {
        return Err(ApiError::NotFound("site"));
    }
    let tag = format!(
        r#"<script src="/widget.js?v={}" data-site="{key}" async></script>"#,
        super::widget_version()
    );
    Ok((
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        PAGE.replace(TAG, &tag),
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_example_page_holds_the_tag_that_is_replaced() {
        assert_eq!(super::PAGE.matches(super::TAG).count(), 1);
    }
}
