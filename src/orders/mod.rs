//! Orders: customers' purchases, the raw material of customer value. They arrive one by one
//! (`POST /orders`), in bulk (CSV import) and from shops' webhooks, each idempotent by its
//! external id. A single order refreshes its customer's figures (`customer_values`) in its
//! own transaction; a CSV import refreshes its customers' at its end ([`totals`]).

pub mod by_customer;
pub mod import;
pub mod parse;
pub mod routes;
pub mod shop;
pub mod totals;

use crate::customers::owners::Owners;
use crate::state::AppState;
use crate::store::bulk::{insert_rows_counted, V};
use crate::store::{dialect, ms_to_rfc3339, new_id, now_ms, StoreError, StoreResult, Tx};
use serde::Serialize;
use std::collections::{HashMap, HashSet};
use utoipa::ToSchema;

pub use routes::router;
pub use totals::refresh;

/// API tokens with this scope may write orders.
pub const SCOPE: &str = "orders";

/// The currency of an order that names none.
pub fn order_currency(state: &AppState) -> String {
    let s = &state.settings.value;
    if s.order_currency.trim().is_empty() {
        s.default_currency.clone()
    } else {
        s.order_currency.clone()
    }
}

/// `completed` or `cancelled`.
pub fn status(raw: Option<&str>) -> Result<String, String> {
    match raw.map(|s| s.trim().to_ascii_lowercase()).as_deref() {
        None | Some("completed") => Ok("completed".into()),
        Some("cancelled") => Ok("cancelled".into()),
        Some(o) => Err(format!("unknown status `{o}` (completed, cancelled)")),
    }
}

/// An order as the API shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Order {
    pub id: String,
    pub customer_id: String,
    pub external_id: String,
    /// `api`, `csv`, `woocommerce`, …
    pub source: String,
    /// Negative for a refund.
    pub amount: f64,
    pub currency: String,
    /// `completed` or `cancelled` (cancelled orders count for nothing).
    pub status: String,
    pub placed_at: String,
    pub created_at: String,
    /// `placed_at` in Unix milliseconds (for cursors).
    #[serde(skip)]
    pub placed_ms: i64,
}

pub(crate) type OrderRow = (
    String,
    String,
    String,
    String,
    i64,
    String,
    String,
    i64,
    i64,
);

pub(crate) const ORDER_COLS: &str =
    "id, customer_id, external_id, source, amount_e4, currency, status, placed_at, created_at";

impl From<OrderRow> for Order {
    fn from(r: OrderRow) -> Self {
        Order {
            id: r.0,
            customer_id: r.1,
            external_id: r.2,
            source: r.3,
            amount: r.4 as f64 / parse::AMOUNT_SCALE as f64,
            currency: r.5,
            status: r.6,
            placed_at: ms_to_rfc3339(r.7),
            placed_ms: r.7,
            created_at: ms_to_rfc3339(r.8),
        }
    }
}

/// A validated order whose customer is known.
#[derive(Debug, Clone)]
pub struct NewOrder {
    pub customer_id: String,
    pub external_id: String,
    pub source: String,
    pub amount_e4: i64,
    pub currency: String,
    /// `completed` or `cancelled`.
    pub status: String,
    pub placed_at: i64,
}

/// What a write did: orders stored, and orders already stored (by external id) left as
/// they were (or updated, for [`upsert`]).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Written {
    pub stored: usize,
    pub duplicates: usize,
}

/// Store `orders` in `tx`; an external id already stored (or repeated within `orders`) is a
/// duplicate and changes nothing. Refreshes the figures of the customers concerned.
pub async fn insert(
    tx: &mut Tx,
    orders: &[NewOrder],
    value_currency: &str,
) -> StoreResult<Written> {
    let (written, seen_before, ids) = store_new(tx, orders).await?;
    by_customer::index_now(tx, &ids).await?;
    if written.stored == ids.len() {
        totals::add(tx, orders, &seen_before, value_currency).await?;
    } else {
        // A concurrent writer stored some of these external ids first: which of ours were
        // skipped is not known here, so the touched customers are counted again from scratch.
        let customers: HashSet<&str> = orders.iter().map(|o| o.customer_id.as_str()).collect();
        let customers: Vec<&str> = customers.into_iter().collect();
        refresh(tx, &customers, value_currency).await?;
    }
    Ok(written)
}

/// Store the orders of `orders` whose external id is new, leaving `customer_orders` and
/// customers' totals to the caller; with the external ids that were already stored before
/// and the new ids of the orders it meant to store (fewer are stored when a concurrent writer
/// stored some first: their ids are not in `orders`).
pub(crate) async fn store_new(
    tx: &mut Tx,
    orders: &[NewOrder],
) -> StoreResult<(Written, HashSet<String>, Vec<String>)> {
    let external: Vec<&str> = orders.iter().map(|o| o.external_id.as_str()).collect();
    let seen_before: HashSet<String> = existing(tx, &external).await?;
    let mut seen = seen_before.clone();
    let now = now_ms();
    let mut rows = Vec::new();
    let mut new_ids = Vec::new();
    for o in orders {
        if !seen.insert(o.external_id.clone()) {
            continue;
        }
        let id = new_id();
        new_ids.push(id.clone());
        rows.push(vec![
            V::S(id),
            V::S(o.customer_id.clone()),
            V::S(o.external_id.clone()),
            V::S(o.source.clone()),
            V::I(o.amount_e4),
            V::S(o.currency.clone()),
            V::S(o.status.clone()),
            V::I(o.placed_at),
            V::I(now),
        ]);
    }
    let stored = insert_rows_counted(
        tx,
        &format!("INSERT INTO orders ({ORDER_COLS})"),
        rows,
        "",
        "ON CONFLICT (external_id) DO NOTHING",
    )
    .await? as usize;
    let written = Written {
        stored,
        duplicates: orders.len() - stored,
    };
    Ok((written, seen_before, new_ids))
}

/// Store one order, or bring the stored order with its external id up to date (a shop
/// reporting a status change or a refund). Returns true when it was new.
pub async fn upsert(tx: &mut Tx, o: &NewOrder, value_currency: &str) -> StoreResult<bool> {
    let before: Option<(String, String, i64)> =
        sqlx::query_as("SELECT id, customer_id, placed_at FROM orders WHERE external_id = $1")
            .bind(&o.external_id)
            .fetch_optional(tx.conn())
            .await
            .map_err(StoreError::from_sqlx)?;
    let (id,): (String,) = sqlx::query_as(&format!(
        "INSERT INTO orders ({ORDER_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
         ON CONFLICT (external_id) DO UPDATE SET amount_e4 = excluded.amount_e4, \
           currency = excluded.currency, status = excluded.status, placed_at = excluded.placed_at \
         RETURNING id"
    ))
    .bind(new_id())
    .bind(&o.customer_id)
    .bind(&o.external_id)
    .bind(&o.source)
    .bind(o.amount_e4)
    .bind(&o.currency)
    .bind(&o.status)
    .bind(o.placed_at)
    .bind(now_ms())
    .fetch_one(tx.conn())
    .await
    .map_err(StoreError::from_sqlx)?;
    let mut customers = vec![o.customer_id.as_str()];
    if let Some((id, old, placed_at)) = &before {
        by_customer::unindex(tx, old, *placed_at, id).await?;
        customers.push(old.as_str());
    }
    by_customer::index_now(tx, &[id]).await?;
    refresh(tx, &customers, value_currency).await?;
    Ok(before.is_none())
}

/// Move every order of customer `from` to `to` (a merge) and refresh both figures.
pub async fn move_customer(tx: &mut Tx, from: &str, to: &str, currency: &str) -> StoreResult<()> {
    by_customer::move_customer(tx, from, to).await?;
    refresh(tx, &[from, to], currency).await
}

/// The external ids among `ids` already stored.
async fn existing(tx: &mut Tx, ids: &[&str]) -> StoreResult<HashSet<String>> {
    let mut out = HashSet::new();
    for chunk in ids.chunks(5000) {
        let list = serde_json::to_string(chunk)
            .map_err(|e| StoreError::Other(sqlx::Error::Encode(e.into())))?;
        let sql = format!(
            "SELECT external_id FROM orders WHERE external_id IN (SELECT value FROM {})",
            dialect::json_values(tx)
        );
        let rows: Vec<(String,)> = sqlx::query_as(&sql)
            .bind(list)
            .fetch_all(tx.conn())
            .await
            .map_err(StoreError::from_sqlx)?;
        out.extend(rows.into_iter().map(|r| r.0));
    }
    Ok(out)
}

/// A customer's orders, newest first, at most `limit` placed before `before` (cursor).
pub async fn list_for_customer(
    pool: &sqlx::AnyPool,
    customer_id: &str,
    before: Option<(i64, String)>,
    limit: usize,
) -> StoreResult<Vec<Order>> {
    let (at, id) = before.clone().unwrap_or_default();
    let cols = ORDER_COLS.replace(", ", ", o.");
    let rows: Vec<OrderRow> = sqlx::query_as(&format!(
        "SELECT o.{cols} FROM customer_orders c JOIN orders o ON o.id = c.order_id \
         WHERE c.customer_id = $1 \
           AND ($2 = 0 OR c.placed_at < $3 OR (c.placed_at = $3 AND c.order_id < $4)) \
         ORDER BY c.placed_at DESC, c.order_id DESC LIMIT $5"
    ))
    .bind(customer_id)
    .bind(i64::from(before.is_some()))
    .bind(at)
    .bind(id)
    .bind(limit as i64)
    .fetch_all(pool)
    .await
    .map_err(StoreError::from_sqlx)?;
    Ok(rows.into_iter().map(Order::from).collect())
}

/// The stored order with `external_id`.
pub async fn by_external_id(pool: &sqlx::AnyPool, external_id: &str) -> StoreResult<Order> {
    let row: Option<OrderRow> = sqlx::query_as(&format!(
        "SELECT {ORDER_COLS} FROM orders WHERE external_id = $1"
    ))
    .bind(external_id)
    .fetch_optional(pool)
    .await
    .map_err(StoreError::from_sqlx)?;
    row.map(Order::from).ok_or(StoreError::NotFound)
}

/// (normalised value, raw value, name) of an identity to find or create.
type NewIdentity = (String, String, Option<String>);

/// [`resolve_identities`], with owners read ahead of `tx` ([`Owners::read`]) where they still
/// hold: only the identities they lack are looked up (or created) inside `tx`.
pub async fn resolve_identities_ahead(
    tx: &mut Tx,
    wanted: &[(String, String, String)],
    ahead: Option<Owners>,
) -> StoreResult<HashMap<(String, String), String>> {
    let mut out = match ahead {
        Some(owners) if owners.current(tx).await? => owners.found,
        _ => HashMap::new(),
    };
    let rest: Vec<_> = wanted
        .iter()
        .filter(|(kind, value, _)| !out.contains_key(&(kind.clone(), value.clone())))
        .cloned()
        .collect();
    if !rest.is_empty() {
        out.extend(resolve_identities(tx, &rest).await?);
    }
    Ok(out)
}

/// Which customer each distinct identity (kind, normalised value, raw) is, creating
/// customers for unknown ones (safe against concurrent creators).
pub async fn resolve_identities(
    tx: &mut Tx,
    wanted: &[(String, String, String)],
) -> StoreResult<HashMap<(String, String), String>> {
    let mut by_kind: HashMap<&str, Vec<NewIdentity>> = HashMap::new();
    let mut seen = HashSet::new();
    for (kind, value, raw) in wanted {
        if seen.insert((kind.as_str(), value.as_str())) {
            by_kind
                .entry(kind)
                .or_default()
                .push((value.clone(), raw.clone(), None));
        }
    }
    let mut out = HashMap::new();
    for (kind, items) in by_kind {
        let found = crate::customers::find_or_create_many(tx, kind, &items).await?;
        out.extend(found.into_iter().map(|(v, c)| ((kind.to_string(), v), c)));
    }
    Ok(out)
}
