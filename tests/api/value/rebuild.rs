//! The index by segment, which a refit on SQLite drops while it writes every segment and then
//! builds again (`store::rebuild`), is in place after a refit, and a start after a crash in
//! the middle of one builds it again.

use super::figures::five_customers;
use super::value_app;
use crate::helpers::*;
use crate::storage_tests;
use reqwest::StatusCode;
use serde_json::json;

async fn segment_index_exists(app: &TestApp, b: Backend) -> bool {
    let sql = match b {
        Backend::Sqlite => {
            "SELECT COUNT(*) FROM sqlite_master WHERE type = 'index' \
             AND name = 'customer_values_segment'"
        }
        Backend::Postgres => {
            "SELECT COUNT(*) FROM pg_indexes WHERE indexname = 'customer_values_segment'"
        }
    };
    let (n,): (i64,) = sqlx::query_as(sql)
        .fetch_one(app.state.store.pool())
        .await
        .unwrap();
    n == 1
}

async fn the_segment_index_survives_a_refit_and_a_crash_in_one(b: Backend) {
    let app = value_app(b).await;
    let ids = five_customers(&app).await;
    assert!(segment_index_exists(&app, b).await);
    let (s, body) = app
        .post(
            "/api/v1/insights/customer-value/refit",
            &app.admin_token,
            json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert!(
        segment_index_exists(&app, b).await,
        "built again after the refit"
    );
    let (_, champions) = app
        .get("/api/v1/customers?segment=champions", &app.admin_token)
        .await;
    assert!(
        champions.to_string().contains(ids["a"].as_str()),
        "{champions}"
    );
    // A crash between the drop and the build: the next start builds it.
    sqlx::query("DROP INDEX customer_values_segment")
        .execute(app.state.store.pool())
        .await
        .unwrap();
    assert!(!segment_index_exists(&app, b).await);
    app.state.store.migrate().await.expect("start's migrations");
    assert!(segment_index_exists(&app, b).await, "built again at start");
}

storage_tests!(the_segment_index_survives_a_refit_and_a_crash_in_one);
