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

async fn a_shop_update_to_a_pending_order_enters_it_once(b: Backend) {
    let (app, a, _) = imported(b).await;
    make_pending(&app, &a, "live", &["i-1", "i-3"]).await;
    assert_eq!(profile_orders(&app, &a).await, 0);
    assert_eq!(pending_rows(&app).await, 2);
    for (external_id, amount) in [("i-1", 15), ("i-3", 35)] {
        let mut tx = app.state.store.begin().await.unwrap();
        let order = NewOrder {
            customer_id: a.clone(),
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
    let (s, merged) = app
        .post(
            &format!("/api/v1/customers/{bee}/merge"),
            &app.admin_token,
            json!({"source_id": a}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{merged}");
    // b's 20 dollars and a's 10 + 30, at once: the import's range holding b may be merged
    // already, so a's pending orders could not wait for it.
    assert_eq!(pending_rows(&app).await, 0);
    assert_eq!(profile_orders(&app, &bee).await, 3);
    assert_eq!(totals(&app, &bee).await, (3, 600_000));
    assert_eq!(marks(&app).await, vec!["live".to_string()]);
}

storage_tests!(
    a_shop_update_to_a_pending_order_enters_it_once,
    a_customer_merged_while_orders_are_pending_keeps_them,
);
