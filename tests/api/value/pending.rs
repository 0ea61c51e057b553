//! Orders an import has stored but not yet merged by customer (pending until its end): a
//! shop's update to one and a merge of its customer each leave every order on its profile
//! exactly once, at once.
use super::totals::{marks, pending_rows, profile_orders, small_batches, totals, CSV};
use super::*;
use crate::storage_tests;
use serde_json::json;
use switchboard::orders::{refresh, upsert, NewOrder};
use switchboard::store::now_ms;

/// Take `customer`'s merged orders with external ids `ids` back to import `import`'s pending
/// rows (as its batches leave them), their totals with them, and mark the import as running.
async fn make_pending(app: &TestApp, customer: &str, import: &str, ids: &[&str]) {
    let pool = app.state.store.pool();
    for id in ids {
        let copied = sqlx::query(
            "INSERT INTO order_pending (import_id, customer_id, placed_at, order_id, currency, \
               status, amount_e4) SELECT $1, c.customer_id, c.placed_at, c.order_id, \
               c.currency, c.status, c.amount_e4 FROM customer_orders c \
               JOIN orders o ON o.id = c.order_id WHERE c.customer_id = $2 AND o.external_id = $3",
        )
        .bind(import)
        .bind(customer)
        .bind(*id)
        .execute(pool)
        .await
        .unwrap();
        assert_eq!(copied.rows_affected(), 1, "{id}");
        sqlx::query(
            "DELETE FROM customer_orders WHERE customer_id = $1 \
               AND order_id = (SELECT id FROM orders WHERE external_id = $2)",
        )
        .bind(customer)
        .bind(*id)
        .execute(pool)
        .await
        .unwrap();
    }
    sqlx::query(
        "INSERT INTO order_imports (id, touched_at) VALUES ($1, $2) \
         ON CONFLICT (id) DO UPDATE SET touched_at = excluded.touched_at",
    )
    .bind(import)
    .bind(now_ms())
    .execute(pool)
    .await
    .unwrap();
    // Their totals as they stood before the pending orders were merged.
    let mut tx = app.state.store.begin().await.unwrap();
    refresh(&mut tx, &[customer], "USD").await.unwrap();
    tx.commit().await.unwrap();
}

async fn imported(b: Backend) -> (TestApp, String, String) {
    let app = small_batches(b).await;
    let (s, report) = import(&app, &app.admin_token, CSV).await;
    assert_eq!(s, StatusCode::OK, "{report}");
    let a = customer_id(&app, "a@example.com").await;
    let bee = customer_id(&app, "b@example.com").await;
    assert_eq!(
        (profile_orders(&app, &a).await, totals(&app, &a).await),
        (2, (2, 400_000))
    );
    (app, a, bee)
}

/// A shop's change to `customer`'s stored order `external_id`: its amount is now `amount`.
async fn update(app: &TestApp, customer: &str, external_id: &str, amount: i64) {
    let mut tx = app.state.store.begin().await.unwrap();
    let order = NewOrder {
        customer_id: customer.to_string(),
        external_id: external_id.into(),
        source: "csv".into(),
        amount_e4: amount * 10_000,
        currency: "USD".into(),
        status: "completed".into(),
        placed_at: 1_767_312_000_000,
    };
    assert!(!upsert(&mut tx, &order, "USD").await.unwrap());
    tx.commit().await.unwrap();
}

/// Move the pending row of the order `external_id` to run (batch) `run` of its import, as a
/// later batch of the import leaves it.
async fn in_run(app: &TestApp, external_id: &str, run: i64) {
    let moved = sqlx::query(
        "UPDATE order_pending SET batch = $1 \
         WHERE order_id = (SELECT id FROM orders WHERE external_id = $2)",
    )
    .bind(run)
    .bind(external_id)
    .execute(app.state.store.pool())
    .await
    .unwrap();
    assert_eq!(moved.rows_affected(), 1, "{external_id}");
}

/// A customer's pending rows are looked up in each run of the import (by a seek), not only
/// its first: a shop's change finds its order in run 2, a merge moves the one in run 5.
async fn pending_orders_in_later_runs_are_found_by_an_update_and_a_merge(b: Backend) {
    let (app, a, bee) = imported(b).await;
    make_pending(&app, &a, "live", &["i-1", "i-3"]).await;
    in_run(&app, "i-1", 2).await;
    in_run(&app, "i-3", 5).await;
    update(&app, &a, "i-1", 15).await;
    assert_eq!(pending_rows(&app).await, 1, "i-1 left the pending rows");
    assert_eq!(profile_orders(&app, &a).await, 1);
    merge(&app, &bee, &a).await;
    assert_eq!(pending_rows(&app).await, 0, "i-3 left with its customer");
    assert_eq!(profile_orders(&app, &bee).await, 3);
    // b's 20 dollars, a's changed 15 and pending 30.
    assert_eq!(totals(&app, &bee).await, (3, 650_000));
}

async fn a_shop_update_to_a_pending_order_enters_it_once(b: Backend) {
    let (app, a, _) = imported(b).await;
    make_pending(&app, &a, "live", &["i-1", "i-3"]).await;
    assert_eq!(profile_orders(&app, &a).await, 0);
    assert_eq!(pending_rows(&app).await, 2);
    for (external_id, amount) in [("i-1", 15), ("i-3", 35)] {
        update(&app, &a, external_id, amount).await;
    }
    assert_eq!(
        pending_rows(&app).await,
        0,
        "the updated orders left the pending rows"
    );
    assert_eq!(profile_orders(&app, &a).await, 2);
    assert_eq!(totals(&app, &a).await, (2, 500_000));
}

async fn a_customer_merged_while_orders_are_pending_keeps_them(b: Backend) {
    let (app, a, bee) = imported(b).await;
    make_pending(&app, &a, "live", &["i-1", "i-3"]).await;
    merge(&app, &bee, &a).await;
    // b's 20 dollars and a's 10 + 30, at once: the import's range holding b may be merged
    // already, so a's pending orders could not wait for it.
    assert_eq!(pending_rows(&app).await, 0);
    assert_eq!(profile_orders(&app, &bee).await, 3);
    assert_eq!(totals(&app, &bee).await, (3, 600_000));
    assert_eq!(marks(&app).await, vec!["live".to_string()]);
}

/// Rows `customer` has in `customer_orders`.
async fn entered(app: &TestApp, customer: &str) -> i64 {
    let (n,): (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM customer_orders WHERE customer_id = $1")
            .bind(customer)
            .fetch_one(app.state.store.pool())
            .await
            .unwrap();
    n
}

/// A transaction holding the lock an import's merge ranges take, as a range does.
async fn range_in_progress(app: &TestApp) -> sqlx::Transaction<'static, sqlx::Any> {
    let mut range = app.state.store.pool().begin().await.unwrap();
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(switchboard::orders::by_customer::MERGE_LOCK)
        .execute(&mut *range)
        .await
        .unwrap();
    range
}

/// `request` waits while `range` holds the lock, then is answered 200 once it commits.
async fn answered_after(
    range: sqlx::Transaction<'static, sqlx::Any>,
    request: tokio::task::JoinHandle<reqwest::Result<reqwest::Response>>,
    what: &str,
) {
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert!(!request.is_finished(), "{what} waits for the lock");
    range.commit().await.unwrap();
    let resp = request.await.unwrap().unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
}

/// On PostgreSQL: a's orders i-1 and i-3 pending in import `live`, and a range of its merge
/// that has entered them (read in its snapshot) and not committed yet.
async fn range_entering_pending_orders() -> (
    TestApp,
    String,
    String,
    sqlx::Transaction<'static, sqlx::Any>,
) {
    let (app, a, bee) = imported(Backend::Postgres).await;
    make_pending(&app, &a, "live", &["i-1", "i-3"]).await;
    let mut range = range_in_progress(&app).await;
    sqlx::query(
        "INSERT INTO customer_orders (customer_id, placed_at, order_id, currency, status, \
           amount_e4) SELECT customer_id, placed_at, order_id, currency, status, amount_e4 \
         FROM order_pending WHERE import_id = 'live'",
    )
    .execute(&mut *range)
    .await
    .unwrap();
    (app, a, bee, range)
}

#[tokio::test]
async fn a_customer_merge_waits_for_a_merge_range_reading_its_pending_orders_on_postgresql() {
    let (app, a, bee, range) = range_entering_pending_orders().await;
    let merge = tokio::spawn(
        app.client
            .post(app.url(&format!("/api/v1/customers/{bee}/merge")))
            .bearer_auth(&app.admin_token)
            .json(&json!({"source_id": a}))
            .send(),
    );
    answered_after(range, merge, "the merge").await;
    // Every order once, on the target: none left under the merged-away customer.
    assert_eq!(entered(&app, &a).await, 0);
    // b's two (one in euros) and a's two.
    assert_eq!(entered(&app, &bee).await, 4);
    assert_eq!(profile_orders(&app, &bee).await, 3);
    assert_eq!(totals(&app, &bee).await, (3, 600_000));
}

#[tokio::test]
async fn a_shop_update_waits_for_a_merge_range_entering_the_order_as_it_was_on_postgresql() {
    let (app, a, _, range) = range_entering_pending_orders().await;
    // The shop moves i-1 to another day.
    let state = app.state.clone();
    let (customer, moved_to) = (a.clone(), 1_767_398_400_000);
    let update = tokio::spawn(async move {
        let mut tx = state.store.begin().await.unwrap();
        let order = NewOrder {
            customer_id: customer,
            external_id: "i-1".into(),
            source: "csv".into(),
            amount_e4: 150_000,
            currency: "USD".into(),
            status: "completed".into(),
            placed_at: moved_to,
        };
        upsert(&mut tx, &order, "USD").await.unwrap();
        tx.commit().await.unwrap();
    });
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert!(!update.is_finished(), "the update waits for the range");
    range.commit().await.unwrap();
    update.await.unwrap();
    // i-1 once, on its new day; i-3 as the range entered it.
    assert_eq!(entered(&app, &a).await, 2);
    let (days,): (i64,) = sqlx::query_as(
        "SELECT COUNT(*) FROM customer_orders c JOIN orders o ON o.id = c.order_id \
         WHERE o.external_id = 'i-1' AND c.placed_at = $1",
    )
    .bind(moved_to)
    .fetch_one(app.state.store.pool())
    .await
    .unwrap();
    assert_eq!(days, 1);
    assert_eq!(totals(&app, &a).await, (2, 450_000));
}

#[tokio::test]
async fn an_imports_merge_waits_for_a_customer_merge_in_progress_on_postgresql() {
    let app = small_batches(Backend::Postgres).await;
    // A customer merge (or another import's range) holds the lock.
    let range = range_in_progress(&app).await;
    let running = tokio::spawn(
        app.client
            .post(app.url("/api/v1/orders/import"))
            .bearer_auth(&app.admin_token)
            .header("content-type", "text/csv")
            .body(CSV)
            .send(),
    );
    answered_after(range, running, "the import's end").await;
    let a = customer_id(&app, "a@example.com").await;
    assert_eq!(entered(&app, &a).await, 2);
    assert_eq!(pending_rows(&app).await, 0);
}

storage_tests!(
    a_shop_update_to_a_pending_order_enters_it_once,
    pending_orders_in_later_runs_are_found_by_an_update_and_a_merge,
    a_customer_merged_while_orders_are_pending_keeps_them,
);
