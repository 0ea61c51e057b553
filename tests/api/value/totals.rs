//! Customers' order count and total (what lists sort by value): an import adds them once, at
//! its end; an import that stopped before its end has every customer's totals recounted.
use super::*;
use crate::storage_tests;
use serde_json::json;
use switchboard::orders::totals::{heal, IMPORT_STALE_MS};
use switchboard::store::now_ms;

/// (orders, total × 10,000) stored for `customer`.
pub(super) async fn totals(app: &TestApp, customer: &str) -> (i64, i64) {
    sqlx::query_as("SELECT orders, total_e4 FROM customer_values WHERE customer_id = $1")
        .bind(customer)
        .fetch_optional(app.state.store.pool())
        .await
        .unwrap()
        .unwrap_or((0, 0))
}

pub(super) async fn marks(app: &TestApp) -> Vec<String> {
    let rows: Vec<(String,)> = sqlx::query_as("SELECT id FROM order_imports ORDER BY id")
        .fetch_all(app.state.store.pool())
        .await
        .unwrap();
    rows.into_iter().map(|r| r.0).collect()
}

pub(super) async fn small_batches(b: Backend) -> TestApp {
    value_app_with(b, |s| {
        s.value.import_batch = 3;
        // Several merge ranges at the import's end (one per sampled run).
        s.value.import_merge_range = 1;
    })
    .await
}

pub(super) const CSV: &str = "customer,external_id,amount,placed_at,currency,status\n\
    a@example.com,i-1,10,2026-01-02,,\n\
    b@example.com,i-2,20,2026-01-03,,\n\
    a@example.com,i-3,30,2026-01-04,,\n\
    b@example.com,i-4,500,2026-01-05,EUR,\n\
    c@example.com,i-5,7,2026-01-06,,\n\
    c@example.com,i-6,-5,2026-01-07,,\n\
    c@example.com,i-7,90,2026-01-08,,cancelled\n\
    a@example.com,i-3,30,2026-01-04,,\n";

async fn an_import_in_many_batches_adds_each_customers_totals_once(b: Backend) {
    let app = small_batches(b).await;
    // An order stored before the import stays in its customer's total.
    let (s, o) = app
        .post(
            "/api/v1/orders",
            &app.admin_token,
            json!({"identity": {"kind": "email", "value": "a@example.com"},
                "external_id": "before", "amount": "100", "placed_at": "2026-01-01"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{o}");
    let (s, report) = import(&app, &app.admin_token, CSV).await;
    assert_eq!(s, StatusCode::OK, "{report}");
    assert_eq!(
        (report["imported"].as_u64(), report["duplicates"].as_u64()),
        (Some(7), Some(1)),
        "{report}"
    );
    let [a, bee, c] = [
        customer_id(&app, "a@example.com").await,
        customer_id(&app, "b@example.com").await,
        customer_id(&app, "c@example.com").await,
    ];
    // a: 100 + 10 + 30 (the repeated line once); b: 20 (euros are not dollars); c: 7, a
    // refund of 5, a cancelled order that counts for nothing.
    assert_eq!(totals(&app, &a).await, (3, 1_400_000));
    assert_eq!(totals(&app, &bee).await, (1, 200_000));
    assert_eq!(totals(&app, &c).await, (1, 20_000));
    // Lists sort by them as soon as the import has answered.
    let (s, list) = app
        .get("/api/v1/customers?sort=-value", &app.admin_token)
        .await;
    assert_eq!(s, StatusCode::OK, "{list}");
    let order: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(order, vec![a.as_str(), bee.as_str(), c.as_str()], "{list}");
    assert!(
        marks(&app).await.is_empty(),
        "the finished import left its mark"
    );
    // The same file again adds nothing.
    let (s, again) = import(&app, &app.admin_token, CSV).await;
    assert_eq!(again["imported"], 0, "{s} {again}");
    assert_eq!(totals(&app, &a).await, (3, 1_400_000));
}

async fn totals_of_an_import_that_stopped_midway_are_recounted(b: Backend) {
    let app = small_batches(b).await;
    let (s, report) = import(&app, &app.admin_token, CSV).await;
    assert_eq!(s, StatusCode::OK, "{report}");
    let a = customer_id(&app, "a@example.com").await;
    let c = customer_id(&app, "c@example.com").await;
    // As a node dying between an import's batches and its end leaves things: batches stored,
    // totals not added, the import's mark no longer touched.
    let pool = app.state.store.pool();
    sqlx::query("UPDATE customer_values SET orders = 0, total_e4 = 0")
        .execute(pool)
        .await
        .unwrap();
    for (id, at) in [
        ("dead", now_ms() - IMPORT_STALE_MS - 1_000),
        ("live", now_ms()),
    ] {
        sqlx::query("INSERT INTO order_imports (id, touched_at) VALUES ($1, $2)")
            .bind(id)
            .bind(at)
            .execute(pool)
            .await
            .unwrap();
    }
    assert!(heal(&app.state).await.unwrap(), "a stale mark was healed");
    assert_eq!(totals(&app, &a).await, (2, 400_000));
    assert_eq!(totals(&app, &c).await, (1, 20_000));
    assert_eq!(marks(&app).await, vec!["live".to_string()]);
    // An import still running (its mark fresh) is left to finish its own.
    assert!(!heal(&app.state).await.unwrap());
}

/// Orders shown on `customer`'s profile (its `value`, read live from `customer_orders`).
pub(super) async fn profile_orders(app: &TestApp, customer: &str) -> i64 {
    let (s, body) = app
        .get(&format!("/api/v1/customers/{customer}"), &app.admin_token)
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    body["value"]["orders"].as_i64().unwrap()
}

pub(super) async fn pending_rows(app: &TestApp) -> i64 {
    let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM order_pending")
        .fetch_one(app.state.store.pool())
        .await
        .unwrap();
    n
}

async fn orders_of_an_import_that_stopped_before_merging_them_are_merged(b: Backend) {
    let app = small_batches(b).await;
    let (s, report) = import(&app, &app.admin_token, CSV).await;
    assert_eq!(s, StatusCode::OK, "{report}");
    assert_eq!(
        pending_rows(&app).await,
        0,
        "a finished import leaves nothing pending"
    );
    let a = customer_id(&app, "a@example.com").await;
    assert_eq!(profile_orders(&app, &a).await, 2);
    // As a node dying after an import's batches and before its merge leaves things: the
    // orders stored and pending, not yet on the profile, totals not added, the mark stale.
    let pool = app.state.store.pool();
    for sql in [
        "INSERT INTO order_pending (import_id, customer_id, placed_at, order_id, currency, \
           status, amount_e4) SELECT 'dead', customer_id, placed_at, order_id, currency, \
           status, amount_e4 FROM customer_orders WHERE customer_id = $1",
        "DELETE FROM customer_orders WHERE customer_id = $1",
        "UPDATE customer_values SET orders = 0, total_e4 = 0 WHERE customer_id = $1",
    ] {
        sqlx::query(sql).bind(&a).execute(pool).await.unwrap();
    }
    sqlx::query("INSERT INTO order_imports (id, touched_at) VALUES ('dead', $1)")
        .bind(now_ms() - IMPORT_STALE_MS - 1_000)
        .execute(pool)
        .await
        .unwrap();
    assert_eq!(profile_orders(&app, &a).await, 0);
    assert!(
        heal(&app.state).await.unwrap(),
        "the stale import was healed"
    );
    assert_eq!(profile_orders(&app, &a).await, 2);
    assert_eq!(totals(&app, &a).await, (2, 400_000));
    assert_eq!(pending_rows(&app).await, 0);
    assert!(marks(&app).await.is_empty());
}

storage_tests!(
    an_import_in_many_batches_adds_each_customers_totals_once,
    totals_of_an_import_that_stopped_midway_are_recounted,
    orders_of_an_import_that_stopped_before_merging_them_are_merged,
);
