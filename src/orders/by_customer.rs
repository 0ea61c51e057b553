//! Orders by customer (`customer_orders`): the table every read by customer uses (profiles,
//! totals, the refit), clustered by customer, kept in step with `orders`.
//!
//! A single order enters it in its own transaction ([`index_now`]). An import's orders do
//! not: one by one, each would land at a random place in a B-tree larger than any cache (a
//! page read and two page writes per order, the import's main cost). Each batch instead notes
//! its orders in `order_pending` (appended, [`stage`]); the import's end sorts them by
//! customer into `order_merge` in one pass ([`sort_pending`]) and merges them from there a
//! range of customers per transaction (`totals::Import::finish`, [`enter_range`]), so both
//! tables are read and written in one sweep: a fraction of a page per order. Until then an
//! import's orders are stored (and counted as duplicates by a retry) but not yet on their
//! customers' profiles. An order is in `customer_orders` or pending (in one of the two
//! tables), never both: a changed order leaves the pending ones as it is entered
//! ([`unindex`]).

use crate::state::AppState;
use crate::store::{dialect, StoreError, StoreResult, Tx};

/// About how many orders one transaction of an import's merge writes.
const MERGE_CHUNK: i64 = 200_000;

fn json(ids: &[String]) -> StoreResult<String> {
    serde_json::to_string(ids).map_err(|e| StoreError::Other(sqlx::Error::Encode(e.into())))
}

/// The columns of a `customer_orders` row, read from `orders` (aliased `o`).
const FROM_ORDER: &str = "o.customer_id, o.placed_at, o.id, o.currency, o.status, o.amount_e4";
const COLS: &str = "customer_id, placed_at, order_id, currency, status, amount_e4";

/// Enter the stored orders among `ids` (new ids of orders just inserted; those skipped as
/// duplicates do not exist) into `customer_orders`, in `tx`.
pub(super) async fn index_now(tx: &mut Tx, ids: &[String]) -> StoreResult<()> {
    if ids.is_empty() {
        return Ok(());
    }
    let among = dialect::in_json_list(tx.backend(), 1, None);
    sqlx::query(&format!(
        "INSERT INTO customer_orders ({COLS}) SELECT {FROM_ORDER} FROM orders o \
         WHERE o.id {among} ORDER BY 1, 2, 3 ON CONFLICT DO NOTHING"
    ))
    .bind(json(ids)?)
    .execute(tx.conn())
    .await
    .map_err(StoreError::from_sqlx)?;
    Ok(())
}

/// Note the stored orders among `ids` as import `import_id`'s: their `customer_orders` rows
/// wait in `order_pending` to be merged at the import's end.
pub(super) async fn stage(tx: &mut Tx, import_id: &str, ids: &[String]) -> StoreResult<()> {
    if ids.is_empty() {
        return Ok(());
    }
    let among = dialect::in_json_list(tx.backend(), 2, None);
    sqlx::query(&format!(
        "INSERT INTO order_pending (import_id, {COLS}) \
         SELECT $1, {FROM_ORDER} FROM orders o WHERE o.id {among}"
    ))
    .bind(import_id)
    .bind(json(ids)?)
    .execute(tx.conn())
    .await
    .map_err(StoreError::from_sqlx)?;
    Ok(())
}

/// Take order `order_id` (as it was: its customer and time) out of `customer_orders`, or out
/// of an import's pending rows, before it is changed and entered again.
pub(super) async fn unindex(
    tx: &mut Tx,
    customer_id: &str,
    placed_at: i64,
    order_id: &str,
) -> StoreResult<()> {
    for sql in [
        "DELETE FROM customer_orders WHERE customer_id = $1 AND placed_at = $2 AND order_id = $3",
        "DELETE FROM order_pending WHERE customer_id = $1 AND placed_at = $2 AND order_id = $3",
        "DELETE FROM order_merge WHERE customer_id = $1 AND placed_at = $2 AND order_id = $3",
    ] {
        sqlx::query(sql)
            .bind(customer_id)
            .bind(placed_at)
            .bind(order_id)
            .execute(tx.conn())
            .await
            .map_err(StoreError::from_sqlx)?;
    }
    Ok(())
}

/// Move every order of customer `from` to `to` (a merge of customers), in both tables; its
/// orders still pending in an import are entered at once (a range already merged may hold
/// `to`, so they could not wait for the import's end), and leave the pending tables.
pub(super) async fn move_customer(tx: &mut Tx, from: &str, to: &str) -> StoreResult<()> {
    let pending = |table: &str| {
        format!(
            "SELECT CAST($1 AS TEXT), placed_at, order_id, currency, status, amount_e4 FROM {table} \
             WHERE customer_id = $2"
        )
    };
    for sql in [
        "UPDATE orders SET customer_id = $1 WHERE customer_id = $2 AND id IN \
           (SELECT order_id FROM customer_orders WHERE customer_id = $2 \
            UNION ALL SELECT order_id FROM order_pending WHERE customer_id = $2 \
            UNION ALL SELECT order_id FROM order_merge WHERE customer_id = $2)"
            .to_string(),
        "UPDATE customer_orders SET customer_id = $1 WHERE customer_id = $2".to_string(),
        format!(
            "INSERT INTO customer_orders ({COLS}) {} UNION ALL {} ON CONFLICT DO NOTHING",
            pending("order_pending"),
            pending("order_merge")
        ),
    ] {
        sqlx::query(&sql)
            .bind(to)
            .bind(from)
            .execute(tx.conn())
            .await
            .map_err(StoreError::from_sqlx)?;
    }
    for table in ["order_pending", "order_merge"] {
        sqlx::query(&format!("DELETE FROM {table} WHERE customer_id = $1"))
            .bind(from)
            .execute(tx.conn())
            .await
            .map_err(StoreError::from_sqlx)?;
    }
    Ok(())
}

/// Move import `import_id`'s pending rows into `order_merge`, sorted by customer (one
/// sort of them all), in `tx`.
pub(super) async fn sort_pending(tx: &mut Tx, import_id: &str) -> StoreResult<()> {
    for sql in [
        format!(
            "INSERT INTO order_merge (import_id, {COLS}) SELECT import_id, {COLS} \
             FROM order_pending WHERE import_id = $1 ORDER BY 2, 3, 4 ON CONFLICT DO NOTHING"
        ),
        "DELETE FROM order_pending WHERE import_id = $1".to_string(),
    ] {
        sqlx::query(&sql)
            .bind(import_id)
            .execute(tx.conn())
            .await
            .map_err(StoreError::from_sqlx)?;
    }
    Ok(())
}

/// The last customer of the next range of import `import_id`'s sorted rows after customer
/// `after`: the customer [`MERGE_CHUNK`] rows on, or the import's last; `None` when no row
/// is left.
pub(super) async fn next_bound(
    state: &AppState,
    import_id: &str,
    after: &str,
) -> StoreResult<Option<String>> {
    let (upto,): (Option<String>,) = sqlx::query_as(
        "SELECT COALESCE( \
           (SELECT customer_id FROM order_merge WHERE import_id = $1 AND customer_id > $2 \
            ORDER BY customer_id LIMIT 1 OFFSET $3), \
           (SELECT MAX(customer_id) FROM order_merge WHERE import_id = $1 AND customer_id > $2))",
    )
    .bind(import_id)
    .bind(after)
    .bind(MERGE_CHUNK - 1)
    .fetch_one(state.store.pool())
    .await
    .map_err(StoreError::from_sqlx)?;
    Ok(upto)
}

/// The sorted rows of customers in (`after`, `upto`]: `WHERE` conditions on `order_merge`
/// with the import's id as `$1`.
pub(super) const RANGE: &str = "import_id = $1 AND customer_id > $2 AND customer_id <= $3";

/// Merge the import's sorted rows of customers in (`after`, `upto`] into `customer_orders`,
/// in key order.
pub(super) async fn enter_range(
    tx: &mut Tx,
    import_id: &str,
    (after, upto): (&str, &str),
) -> StoreResult<()> {
    sqlx::query(&format!(
        "INSERT INTO customer_orders ({COLS}) SELECT {COLS} FROM order_merge WHERE {RANGE} \
         ORDER BY 1, 2, 3 ON CONFLICT DO NOTHING"
    ))
    .bind(import_id)
    .bind(after)
    .bind(upto)
    .execute(tx.conn())
    .await
    .map_err(StoreError::from_sqlx)?;
    Ok(())
}

/// Drop the import's sorted rows of customers in (`after`, `upto`] (merged), in `tx`.
pub(super) async fn drop_range(
    tx: &mut Tx,
    import_id: &str,
    (after, upto): (&str, &str),
) -> StoreResult<()> {
    sqlx::query(&format!("DELETE FROM order_merge WHERE {RANGE}"))
        .bind(import_id)
        .bind(after)
        .bind(upto)
        .execute(tx.conn())
        .await
        .map_err(StoreError::from_sqlx)?;
    Ok(())
}
