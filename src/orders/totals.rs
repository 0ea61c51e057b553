//! Customers' order count and net total in the deployment's currency (`customer_values`),
//! kept in step with the orders: a single order adds to them in its own transaction; a CSV
//! import adds its customers' totals at its end ([`Import`]), as it merges its orders into
//! `customer_orders` (see [`super::by_customer`]) — per batch, every order rewrote its
//! customer's row and that row's two index entries, most of an import's writes.
//!
//! An import in progress is marked in `order_imports`, touched by every batch; a mark left
//! untouched for [`IMPORT_STALE_MS`] (its node died mid-import) makes [`heal`] merge that
//! import's orders and recount every customer's totals.

use super::by_customer;
use super::NewOrder;
use crate::state::AppState;
use crate::store::bulk::{insert_rows, V};
use crate::store::{dialect, new_id, now_ms, StoreError, StoreResult, Tx};
use std::collections::{BTreeMap, HashSet};

/// An import mark untouched this long belongs to an import that stopped.
pub const IMPORT_STALE_MS: i64 = 5 * 60_000;
/// Customers recounted per transaction.
const RECOUNT_CHUNK: usize = 20_000;

/// The upsert tail writing recounted totals: rows whose figures did not change are left as
/// they are (no index entries rewritten).
const SET_TOTALS: &str = "ON CONFLICT (customer_id) DO UPDATE SET orders = excluded.orders, \
     total_e4 = excluded.total_e4, updated_at = excluded.updated_at \
   WHERE customer_values.orders <> excluded.orders \
     OR customer_values.total_e4 <> excluded.total_e4";

/// The upsert tail adding figures to a customer's.
const ADD_TOTALS: &str = "ON CONFLICT (customer_id) DO UPDATE SET \
     orders = customer_values.orders + excluded.orders, \
     total_e4 = customer_values.total_e4 + excluded.total_e4, updated_at = excluded.updated_at";

/// The net figures of the orders: purchases are orders with an amount of zero or more;
/// refunds subtract; cancelled orders and other currencies count for nothing.
const SUMS: &str = "SUM(CASE WHEN amount_e4 >= 0 THEN 1 ELSE 0 END), SUM(amount_e4)";

/// Add the new `orders` (all stored; those whose external id is in `skip` or repeated were
/// not) to their customers' count and total in `currency`: the batch's own sums, without
/// re-reading the customers' earlier orders.
pub(super) async fn add(
    tx: &mut Tx,
    orders: &[NewOrder],
    skip: &HashSet<String>,
    currency: &str,
) -> StoreResult<()> {
    let mut seen: HashSet<&str> = skip.iter().map(String::as_str).collect();
    // In customer order, so concurrent writers over the same customers lock their rows in
    // the same order (PostgreSQL would otherwise deadlock them).
    let mut sums: BTreeMap<&str, (i64, i64)> = BTreeMap::new();
    for o in orders {
        let counts = o.currency == currency && o.status != "cancelled";
        if seen.insert(o.external_id.as_str()) && counts {
            let sum = sums.entry(o.customer_id.as_str()).or_default();
            sum.0 += i64::from(o.amount_e4 >= 0);
            sum.1 += o.amount_e4;
        }
    }
    let now = now_ms();
    let rows = sums
        .into_iter()
        .map(|(c, (n, total))| vec![V::S(c.to_string()), V::I(n), V::I(total), V::I(now)])
        .collect();
    insert_rows(
        tx,
        "INSERT INTO customer_values (customer_id, orders, total_e4, updated_at)",
        rows,
        "",
        ADD_TOTALS,
    )
    .await
}

/// Add import `import_id`'s pending rows of customers in (`after`, `upto`] (from its runs
/// `0..=last_run`) to their totals in `currency`, in customer order.
async fn add_pending(
    tx: &mut Tx,
    (import_id, last_run): (&str, i64),
    (after, upto): (&str, Option<&str>),
    currency: &str,
) -> StoreResult<()> {
    let rows = by_customer::pending_range(upto.is_some());
    sqlx::query(&format!(
        "{} INSERT INTO customer_values (customer_id, orders, total_e4, updated_at) \
         SELECT customer_id, {SUMS}, $6 {rows} AND currency = $5 AND status <> 'cancelled' \
         GROUP BY customer_id ORDER BY customer_id {ADD_TOTALS}",
        by_customer::RUNS
    ))
    .bind(import_id)
    .bind(after)
    .bind(upto)
    .bind(last_run)
    .bind(currency)
    .bind(now_ms())
    .execute(tx.conn())
    .await
    .map_err(StoreError::from_sqlx)?;
    Ok(())
}

/// Recompute the order count and net total of `customers` in `currency` from their orders.
pub async fn refresh(tx: &mut Tx, customers: &[&str], currency: &str) -> StoreResult<()> {
    for chunk in customers.chunks(5000) {
        let list = serde_json::to_string(chunk)
            .map_err(|e| StoreError::Other(sqlx::Error::Encode(e.into())))?;
        let among = format!("IN (SELECT value FROM {})", dialect::json_values(tx));
        lock(tx, &format!("customer_id {among}"), &[&list]).await?;
        // Customers left without an order that counts go back to zero.
        sqlx::query(&format!(
            "UPDATE customer_values SET orders = 0, total_e4 = 0, updated_at = $2 \
             WHERE customer_id {among} AND (orders <> 0 OR total_e4 <> 0) \
               AND NOT EXISTS (SELECT 1 FROM customer_orders o WHERE o.customer_id = customer_values.customer_id \
                 AND o.currency = $3 AND o.status <> 'cancelled')"
        ))
        .bind(&list)
        .bind(now_ms())
        .bind(currency)
        .execute(tx.conn())
        .await
        .map_err(StoreError::from_sqlx)?;
        sqlx::query(&format!(
            "INSERT INTO customer_values (customer_id, orders, total_e4, updated_at) \
             SELECT customer_id, {SUMS}, $3 \
             FROM customer_orders WHERE customer_id {among} AND currency = $2 AND status <> 'cancelled' \
             GROUP BY customer_id {SET_TOTALS}"
        ))
        .bind(&list)
        .bind(currency)
        .bind(now_ms())
        .execute(tx.conn())
        .await
        .map_err(StoreError::from_sqlx)?;
    }
    Ok(())
}

/// Lock (on PostgreSQL) the `customer_values` rows `which` selects, in key order, before
/// figures are recomputed: an order committed before the lock is in the recount, one
/// committed after adds to it.
async fn lock(tx: &mut Tx, which: &str, binds: &[&str]) -> StoreResult<()> {
    let lock = dialect::for_update(tx.backend());
    if lock.is_empty() {
        return Ok(());
    }
    let sql =
        format!("SELECT customer_id FROM customer_values WHERE {which} ORDER BY customer_id{lock}");
    let mut q = sqlx::query(&sql);
    for b in binds {
        q = q.bind(*b);
    }
    q.execute(tx.conn()).await.map_err(StoreError::from_sqlx)?;
    Ok(())
}

/// Recount every customer's totals in `currency` from the orders, [`RECOUNT_CHUNK`]
/// customers per transaction, in the order of the index by customer; `touch` runs in each
/// chunk's transaction. Orders are only ever added to customers in between (a customer's
/// orders leave only by a merge, which refreshes both), so no customer needs zeroing.
async fn recount_all(state: &AppState, currency: &str, touch: &[String]) -> StoreResult<()> {
    let mut after = String::new();
    loop {
        // The chunk's last customer (a read of the index by customer, no lock taken).
        let (last,): (Option<String>,) = sqlx::query_as(&format!(
            "SELECT MAX(customer_id) FROM (SELECT DISTINCT customer_id FROM customer_orders \
             WHERE customer_id > $1 ORDER BY customer_id LIMIT {RECOUNT_CHUNK}) AS chunk"
        ))
        .bind(&after)
        .fetch_one(state.store.pool())
        .await
        .map_err(StoreError::from_sqlx)?;
        let Some(last) = last else {
            return Ok(());
        };
        let mut tx = state.store.begin().await?;
        let result = async {
            let range = "customer_id > $1 AND customer_id <= $2";
            lock(&mut tx, range, &[&after, &last]).await?;
            sqlx::query(&format!(
                "INSERT INTO customer_values (customer_id, orders, total_e4, updated_at) \
                 SELECT customer_id, {SUMS}, $4 FROM customer_orders \
                 WHERE {range} AND currency = $3 AND status <> 'cancelled' \
                 GROUP BY customer_id {SET_TOTALS}"
            ))
            .bind(&after)
            .bind(&last)
            .bind(currency)
            .bind(now_ms())
            .execute(tx.conn())
            .await
            .map_err(StoreError::from_sqlx)?;
            mark(&mut tx, touch).await
        }
        .await;
        tx.finish(result).await?;
        after = last;
    }
}

/// Touch the import marks `ids` (creating them), in `tx`.
async fn mark(tx: &mut Tx, ids: &[String]) -> StoreResult<()> {
    for id in ids {
        sqlx::query(
            "INSERT INTO order_imports (id, touched_at) VALUES ($1, $2) \
             ON CONFLICT (id) DO UPDATE SET touched_at = excluded.touched_at",
        )
        .bind(id)
        .bind(now_ms())
        .execute(tx.conn())
        .await
        .map_err(StoreError::from_sqlx)?;
    }
    Ok(())
}

async fn unmark(state: &AppState, ids: &[String]) -> StoreResult<()> {
    for id in ids {
        sqlx::query("DELETE FROM order_imports WHERE id = $1")
            .bind(id)
            .execute(state.store.pool())
            .await
            .map_err(StoreError::from_sqlx)?;
    }
    Ok(())
}

/// An import in progress: its mark (its id is also its pending orders').
pub(super) struct Import {
    id: String,
    marked: bool,
    /// Orders staged so far (how many customers' totals its end may add to, at most).
    staged: usize,
    /// Batches staged so far (the next batch's run number).
    runs: i64,
}

impl Import {
    pub fn new() -> Self {
        Import {
            id: new_id(),
            marked: false,
            staged: 0,
            runs: 0,
        }
    }

    /// In a batch's transaction: mark the import as running and stage the batch's stored
    /// orders among `ids` (entered and added to their customers' totals by [`Import::finish`]).
    pub async fn batch(&mut self, tx: &mut Tx, ids: &[String]) -> StoreResult<()> {
        mark(tx, std::slice::from_ref(&self.id)).await?;
        self.marked = true;
        self.staged += ids.len();
        self.runs += 1;
        by_customer::stage(tx, &self.id, self.runs - 1, ids).await
    }

    /// Merge the import's orders into `customer_orders`, adding them to their customers'
    /// totals, then drop the mark.
    pub async fn finish(self, state: &AppState) -> StoreResult<()> {
        if !self.marked {
            return Ok(());
        }
        let currency = &state.settings.value.default_currency;
        let started = std::time::Instant::now();
        let rebuild = mass_merge(state, self.staged).await?;
        merge(state, &self.id, Some(currency), rebuild).await?;
        tracing::info!(
            secs = started.elapsed().as_secs_f64(),
            "order import: orders merged by customer, customers' totals brought up to date"
        );
        unmark(state, std::slice::from_ref(&self.id)).await
    }
}

/// Merge import `id`'s pending orders into `customer_orders`, a range of customers per
/// transaction (each touching the import's mark), in customer order, each adding its orders
/// to their customers' totals in `totals` (when given: after a node died mid-merge the
/// caller recounts instead); then drop them from `order_pending`. With `rebuild`, the
/// indexes holding the total are dropped meanwhile and built again after ([`mass_merge`]).
async fn merge(state: &AppState, id: &str, totals: Option<&str>, rebuild: bool) -> StoreResult<()> {
    use crate::store::rebuild::{CUSTOMER_VALUES_SEGMENT, CUSTOMER_VALUES_TOTAL};
    if rebuild {
        for index in [&CUSTOMER_VALUES_TOTAL, &CUSTOMER_VALUES_SEGMENT] {
            state.store.drop_for_mass_update(index).await?;
        }
    }
    let merged = merge_ranges(state, id, totals).await;
    if rebuild {
        state.store.restore_indexes().await?;
    }
    merged?;
    let mut tx = state.store.begin().await?;
    let result = by_customer::drop_pending(&mut tx, id).await;
    tx.finish(result).await
}

/// Whether an import that staged `staged` orders adds to so many customers' totals (a tenth
/// or more of the customers with figures) that the indexes holding the total are better
/// dropped and built again than moved entry by entry, on stores that rebuild indexes
/// ([`crate::store::rebuild`]; BENCHMARKS.md session 24).
async fn mass_merge(state: &AppState, staged: usize) -> StoreResult<bool> {
    if !state.store.rebuilds_indexes() {
        return Ok(false);
    }
    let (customers,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM customer_values")
        .fetch_one(state.store.pool())
        .await
        .map_err(StoreError::from_sqlx)?;
    Ok(staged as i64 * 10 >= customers)
}

/// [`merge`]'s ranges, a transaction each.
async fn merge_ranges(state: &AppState, id: &str, totals: Option<&str>) -> StoreResult<()> {
    let mark_ids = [id.to_string()];
    let last_run = by_customer::last_run(state, id).await?;
    let mut bounds: Vec<Option<String>> = by_customer::boundaries(state, id)
        .await?
        .into_iter()
        .map(Some)
        .collect();
    bounds.push(None);
    let mut after = String::new();
    for upto in bounds {
        let mut tx = state.store.begin().await?;
        let result = async {
            let range = (after.as_str(), upto.as_deref());
            by_customer::enter_range(&mut tx, id, last_run, range).await?;
            if let Some(currency) = totals {
                add_pending(&mut tx, (id, last_run), range, currency).await?;
            }
            mark(&mut tx, &mark_ids).await
        }
        .await;
        tx.finish(result).await?;
        after = upto.unwrap_or_default();
    }
    Ok(())
}

/// How often a node looks for order imports that stopped before adding their totals
/// ([`heal`]).
const HEAL_EVERY: std::time::Duration = std::time::Duration::from_secs(60);

/// The healer: every [`HEAL_EVERY`], [`heal`] what an import left unfinished, until `stop`.
pub fn spawn_healer(
    state: &AppState,
    stop: tokio_util::sync::CancellationToken,
) -> tokio::task::JoinHandle<()> {
    let state = state.clone();
    tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = tokio::time::sleep(HEAL_EVERY) => {}
            }
            if let Err(e) = heal(&state).await {
                tracing::warn!(error = %e, "cannot recount customers' order totals");
            }
        }
    })
}

/// Merge the orders of an import that stopped before its end (its mark went stale) and
/// recount every customer's totals: the marks are claimed first (touched now), so one node heals them, and
/// dropped when done; a node dying meanwhile leaves them to go stale again. True when it
/// recounted.
pub async fn heal(state: &AppState) -> StoreResult<bool> {
    let now = now_ms();
    let claimed: Vec<(String,)> = sqlx::query_as(
        "UPDATE order_imports SET touched_at = $1 WHERE touched_at < $2 RETURNING id",
    )
    .bind(now)
    .bind(now - IMPORT_STALE_MS)
    .fetch_all(state.store.pool())
    .await
    .map_err(StoreError::from_sqlx)?;
    if claimed.is_empty() {
        return Ok(false);
    }
    let ids: Vec<String> = claimed.into_iter().map(|r| r.0).collect();
    tracing::warn!(
        imports = ids.len(),
        "an order import stopped before its end: merging its orders, recounting every customer's totals"
    );
    for id in &ids {
        merge(state, id, None, false).await?;
    }
    recount_all(state, &state.settings.value.default_currency, &ids).await?;
    unmark(state, &ids).await?;
    Ok(true)
}
