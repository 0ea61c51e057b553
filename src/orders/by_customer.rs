//! Orders by customer (`customer_orders`): the table every read by customer uses (profiles,
//! totals, the refit), clustered by customer, kept in step with `orders`.
//!
//! A single order enters it in its own transaction ([`index_now`]). An import's orders do
//! not: one by one, each would land at a random place in a B-tree larger than any cache (a
//! page read and two page writes per order, the import's main cost). Each batch instead notes
//! its orders in `order_pending` as a run of its own sorted by customer (appended,
//! [`stage`]) and the import's end merges them in customer order
//! (`totals::Import::finish`, [`enter_range`]), a range of customers per transaction, so the
//! table's pages are written in one sweep: a fraction of a page per order. Each range takes
//! its rows from every run by a seek ([`pending_range`]), so the end reads each pending row
//! once however many ranges the upload needs. Until then an import's orders are stored (and
//! counted as duplicates by a retry) but not yet on their customers' profiles. An order is
//! in `customer_orders` or pending, never both: a changed order leaves `order_pending` as it
//! is entered ([`unindex`]), and so do the pending orders of a customer merged into another
//! ([`move_customer`]).

use crate::state::AppState;
use crate::store::{dialect, StoreError, StoreResult, Tx};

/// The lock ([`dialect::serialise_on`]) an import's merge range and a customer merge both
/// take first (and so does a change to a stored order, [`unindex`]), so they run one after
/// the other. On PostgreSQL a range's insert reads `order_pending` in a snapshot taken as it
/// starts: a customer merge committing meanwhile (its pending orders entered under the
/// target) would otherwise see them entered once more under the merged-away customer, and a
/// changed order once more as it was. Any constant unique to this use: "sbmerge" in ASCII.
pub const MERGE_LOCK: i64 = 0x0073_626d_6572_6765;

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

/// Note the stored orders among `ids` as batch `batch` of import `import_id`: their
/// `customer_orders` rows wait in `order_pending` to be merged at the import's end, as the
/// batch's own run, in customer order (appended to `order_pending_import`).
pub(super) async fn stage(
    tx: &mut Tx,
    import_id: &str,
    batch: i64,
    ids: &[String],
) -> StoreResult<()> {
    if ids.is_empty() {
        return Ok(());
    }
    let among = dialect::in_json_list(tx.backend(), 3, None);
    sqlx::query(&format!(
        "INSERT INTO order_pending (import_id, batch, {COLS}) \
         SELECT $1, $2, {FROM_ORDER} FROM orders o WHERE o.id {among} ORDER BY 3, 4, 5"
    ))
    .bind(import_id)
    .bind(batch)
    .bind(json(ids)?)
    .execute(tx.conn())
    .await
    .map_err(StoreError::from_sqlx)?;
    Ok(())
}

/// Import `$1`'s pending rows of customers in (`$2`, `$3`] (`$3` NULL: no upper bound), taken
/// from each of its runs (batches `0..=$4`) by a seek in `order_pending_import`, rather than
/// by reading every pending row of the import for each range: [`RUNS`] before the statement,
/// this as its `FROM`.
pub(super) fn pending_range(upto: bool) -> &'static str {
    if upto {
        "FROM run CROSS JOIN order_pending p WHERE p.import_id = $1 AND p.batch = run.n \
           AND p.customer_id > $2 AND p.customer_id <= $3"
    } else {
        "FROM run CROSS JOIN order_pending p WHERE p.import_id = $1 AND p.batch = run.n \
           AND p.customer_id > $2 AND CAST($3 AS TEXT) IS NULL"
    }
}

/// The batch numbers `0..=$4` of an import's runs, for [`pending_range`].
pub(super) const RUNS: &str = "WITH RECURSIVE run(n) AS \
    (SELECT CAST(0 AS BIGINT) UNION ALL SELECT n + 1 FROM run WHERE n < $4)";

/// The last batch number of import `import_id`'s pending rows (0 when none is left).
pub(super) async fn last_run(state: &AppState, import_id: &str) -> StoreResult<i64> {
    let (last,): (Option<i64>,) =
        sqlx::query_as("SELECT MAX(batch) FROM order_pending WHERE import_id = $1")
            .bind(import_id)
            .fetch_one(state.store.pool())
            .await
            .map_err(StoreError::from_sqlx)?;
    Ok(last.unwrap_or(0))
}

/// Every run of every import in progress (`order_imports`), as `run(import_id, n)`: with
/// [`of_customer`], a customer's pending rows are found by a seek in each run
/// (`order_pending_import`) where a filter on the customer alone reads every pending row
/// (~60 ms a million, under the write lock: a shop's change to an order, or a customer merge,
/// during a large import).
const IMPORT_RUNS: &str = "WITH RECURSIVE run(import_id, n, last) AS \
    (SELECT id, CAST(0 AS BIGINT), (SELECT MAX(batch) FROM order_pending p \
       WHERE p.import_id = order_imports.id) FROM order_imports \
     UNION ALL SELECT import_id, n + 1, last FROM run WHERE n < last)";

/// `order_pending`'s rows of the customer in parameter `$n`, in [`IMPORT_RUNS`].
fn of_customer(n: usize) -> String {
    format!("customer_id = ${n} AND (import_id, batch) IN (SELECT import_id, n FROM run)")
}

/// Take order `order_id` (as it was: its customer and time) out of `customer_orders`, or out
/// of an import's pending rows, before it is changed and entered again.
pub(super) async fn unindex(
    tx: &mut Tx,
    customer_id: &str,
    placed_at: i64,
    order_id: &str,
) -> StoreResult<()> {
    // Not while a merge range may be entering its pending row as it was.
    dialect::serialise_on(tx, MERGE_LOCK).await?;
    for sql in [
        "DELETE FROM customer_orders WHERE customer_id = $1 AND placed_at = $2 AND order_id = $3"
            .to_string(),
        format!(
            "{IMPORT_RUNS} DELETE FROM order_pending WHERE {} AND placed_at = $2 AND order_id = $3",
            of_customer(1)
        ),
    ] {
        sqlx::query(&sql)
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
/// orders still pending in an import are entered at once (the import's merge may have passed
/// `to`'s range already, so they could not wait for it) and leave `order_pending`.
pub(super) async fn move_customer(tx: &mut Tx, from: &str, to: &str) -> StoreResult<()> {
    dialect::serialise_on(tx, MERGE_LOCK).await?;
    let pending = of_customer(2);
    for sql in [
        format!(
            "{IMPORT_RUNS} UPDATE orders SET customer_id = $1 WHERE customer_id = $2 AND id IN \
               (SELECT order_id FROM customer_orders WHERE customer_id = $2 \
                UNION ALL SELECT order_id FROM order_pending WHERE {pending})"
        ),
        "UPDATE customer_orders SET customer_id = $1 WHERE customer_id = $2".to_string(),
        format!(
            "{IMPORT_RUNS} INSERT INTO customer_orders ({COLS}) SELECT CAST($1 AS TEXT), \
               placed_at, order_id, currency, status, amount_e4 FROM order_pending \
             WHERE {pending} ORDER BY 2, 3 ON CONFLICT DO NOTHING"
        ),
    ] {
        sqlx::query(&sql)
            .bind(to)
            .bind(from)
            .execute(tx.conn())
            .await
            .map_err(StoreError::from_sqlx)?;
    }
    let sql = format!(
        "{IMPORT_RUNS} DELETE FROM order_pending WHERE {}",
        of_customer(1)
    );
    sqlx::query(&sql)
        .bind(from)
        .execute(tx.conn())
        .await
        .map_err(StoreError::from_sqlx)?;
    Ok(())
}

/// Drop import `import_id`'s pending rows (all merged), in `tx`.
pub(super) async fn drop_pending(tx: &mut Tx, import_id: &str) -> StoreResult<()> {
    sqlx::query("DELETE FROM order_pending WHERE import_id = $1")
        .bind(import_id)
        .execute(tx.conn())
        .await
        .map_err(StoreError::from_sqlx)?;
    Ok(())
}

/// Every [`SAMPLE`]th row of each of the import's runs (all in customer order already).
const SAMPLE: i64 = 64;

/// About every `value.import_merge_range`th customer of the import's pending orders, in
/// order: the upper bounds of the merge's ranges, a transaction each (the last range is
/// open). Taken from a sample of each run (every [`SAMPLE`]th row, read in index order), not
/// by sorting every pending row: the ranges only bound how much one transaction writes.
pub(super) async fn boundaries(state: &AppState, import_id: &str) -> StoreResult<Vec<String>> {
    let rows: Vec<(String,)> = sqlx::query_as(
        "SELECT customer_id FROM (SELECT customer_id, \
           ROW_NUMBER() OVER (ORDER BY customer_id) AS n FROM (SELECT customer_id, \
             ROW_NUMBER() OVER (PARTITION BY batch ORDER BY customer_id) AS k \
             FROM order_pending WHERE import_id = $1) AS runs \
           WHERE (k - 1) % $2 = 0) AS sampled \
         WHERE n % $3 = 0 ORDER BY customer_id",
    )
    .bind(import_id)
    .bind(SAMPLE)
    .bind((state.settings.value.import_merge_range / SAMPLE).max(1))
    .fetch_all(state.store.pool())
    .await
    .map_err(StoreError::from_sqlx)?;
    let mut out: Vec<String> = rows.into_iter().map(|r| r.0).collect();
    out.dedup();
    Ok(out)
}

/// Merge the import's pending rows of customers in (`after`, `upto`] into `customer_orders`,
/// in key order, from its runs `0..=last_run`.
pub(super) async fn enter_range(
    tx: &mut Tx,
    import_id: &str,
    last_run: i64,
    (after, upto): (&str, Option<&str>),
) -> StoreResult<()> {
    dialect::serialise_on(tx, MERGE_LOCK).await?;
    let rows = pending_range(upto.is_some());
    sqlx::query(&format!(
        "{RUNS} INSERT INTO customer_orders ({COLS}) SELECT {COLS} {rows} \
         ORDER BY 1, 2, 3 ON CONFLICT DO NOTHING"
    ))
    .bind(import_id)
    .bind(after)
    .bind(upto)
    .bind(last_run)
    .execute(tx.conn())
    .await
    .map_err(StoreError::from_sqlx)?;
    Ok(())
}
