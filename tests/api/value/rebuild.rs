//! The indexes of `customer_values` that SQLite drops for a mass update and builds again
//! after (`store::rebuild`) — by segment in a refit, by total at a large import's end — are in
//! place after each, and a start after a crash in the middle of one builds them again.

use super::figures::five_customers;
use super::value_app;
use crate::helpers::*;
use crate::storage_tests;
use reqwest::StatusCode;

async fn index_exists(app: &TestApp, b: Backend, name: &str) -> bool {
    let sql = match b {
        Backend::Sqlite => "SELECT COUNT(*) FROM sqlite_master WHERE type = 'index' AND name = $1",
        Backend::Postgres => "SELECT COUNT(*) FROM pg_indexes WHERE indexname = $1",
    };
    let (n,): (i64,) = sqlx::query_as(sql)
        .bind(name)
        .fetch_one(app.state.store.pool())
        .await
        .unwrap();
    n == 1
}

async fn segment_index_exists(app: &TestApp, b: Backend) -> bool {
    index_exists(app, b, "customer_values_segment").await
}

async fn the_segment_index_survives_a_refit_and_a_crash_in_one(b: Backend) {
    let app = value_app(b).await;
    let ids = five_customers(&app).await;
    assert!(segment_index_exists(&app, b).await);
    // An index an earlier mass update failed to build again (SQLite drops them): the refit's
    // end builds it too.
    if b == Backend::Sqlite {
        sqlx::query("DROP INDEX customer_values_total")
            .execute(app.state.store.pool())
            .await
            .unwrap();
    }
    super::refit(&app).await;
    assert!(
        segment_index_exists(&app, b).await,
        "built again after the refit"
    );
    assert!(index_exists(&app, b, "customer_values_total").await);
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

/// An import whose orders are a tenth or more of the customers with figures: SQLite drops the
/// indexes holding the total for its end; they are back after it, and lists by value follow.
async fn the_indexes_by_total_survive_a_large_import(b: Backend) {
    let app = value_app(b).await;
    let ids = five_customers(&app).await;
    let csv = "customer,external_id,amount,placed_at\n\
        d@example.com,big-1,5000,2026-01-02\n\
        d@example.com,big-2,5000,2026-01-03\n";
    let (s, report) = super::import(&app, &app.admin_token, csv).await;
    assert_eq!(
        (s, report["imported"].as_u64()),
        (StatusCode::OK, Some(2)),
        "{report}"
    );
    for name in ["customer_values_total", "customer_values_segment"] {
        assert!(index_exists(&app, b, name).await, "{name} after the import");
    }
    let (_, top) = app
        .get("/api/v1/customers?sort=-value&limit=1", &app.admin_token)
        .await;
    assert_eq!(top["items"][0]["id"], ids["d"].as_str(), "{top}");
    sqlx::query("DROP INDEX customer_values_total")
        .execute(app.state.store.pool())
        .await
        .unwrap();
    app.state.store.migrate().await.expect("start's migrations");
    assert!(
        index_exists(&app, b, "customer_values_total").await,
        "built again at start"
    );
}

storage_tests!(
    the_segment_index_survives_a_refit_and_a_crash_in_one,
    the_indexes_by_total_survive_a_large_import,
);
