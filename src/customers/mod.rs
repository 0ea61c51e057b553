//! Customers: one profile per real person, matched across email addresses, phone numbers,
//! chat visitors and external ids (all stored normalised), with merge and a timeline.

pub mod merge;
pub mod owners;
pub mod routes;
pub mod timeline;

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::store::{ms_to_rfc3339, new_id, now_ms, Store, StoreError, StoreResult, Tx};
use serde::{Deserialize, Serialize};
use sqlx::AnyConnection;
use utoipa::{IntoParams, ToSchema};

pub use routes::router;

/// Kinds of identity a customer can have.
pub const IDENTITY_KINDS: &[&str] = &["email", "phone", "visitor", "external"];

/// Identity kind reserved for the shared profile of callers who withheld their number (see
/// `channels::voice::anonymous`); not among [`IDENTITY_KINDS`], so nobody can claim it.
pub const ANONYMOUS_KIND: &str = "anonymous";

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Identity {
    pub id: String,
    /// `email`, `phone`, `visitor` or `external`.
    pub kind: String,
    /// Normalised form (lower-cased email, E.164 phone number).
    pub value: String,
    /// As originally given.
    pub raw: String,
    pub created_at: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Customer {
    pub id: String,
    pub name: Option<String>,
    pub language: Option<String>,
    /// e.g. `standard` or `vip`.
    pub tier: String,
    #[schema(value_type = Object)]
    pub attributes: serde_json::Value,
    pub identities: Vec<Identity>,
    /// Set when this profile was merged into another; follow it.
    pub merged_into: Option<String>,
    pub conversation_count: i64,
    pub last_contact_at: Option<String>,
    pub created_at: String,
    pub updated_at: String,
    /// Orders, RFM segment and lifetime value (on one customer, and in lists by value).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<crate::value::CustomerValue>,
}

/// `customer` with its `value`, the whole profile as `GET /customers/{id}` gives it: also the
/// answer to a change (create, update, identity added, merge), so a client that shows the
/// answer shows the customer's orders and segment as before, not "no orders yet".
pub(crate) async fn with_value(state: &AppState, mut customer: Customer) -> ApiResult<Customer> {
    customer.value = Some(crate::value::profile::customer_value(state, &customer.id).await?);
    Ok(customer)
}

/// Customer `id` read again, [`with_value`].
pub(crate) async fn whole(state: &AppState, id: &str) -> ApiResult<Customer> {
    with_value(state, get(&state.store, id).await?).await
}

/// Query of the customer list (`GET /customers`), also read by the list by value.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// Searches names (Persian/Arabic letter forms folded) and identities.
    pub q: Option<String>,
    pub limit: Option<usize>,
    pub cursor: Option<String>,
    /// Only customers of this RFM segment (e.g. `Champions`, `cant_lose_them`).
    pub segment: Option<String>,
    /// `-value` (highest net total first) or `value`.
    pub sort: Option<String>,
}

#[derive(sqlx::FromRow)]
pub(crate) struct CustomerRow {
    pub id: String,
    pub name: Option<String>,
    pub language: Option<String>,
    pub tier: String,
    pub attributes: String,
    pub merged_into: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

pub(crate) const COLS: &str =
    "id, name, language, tier, attributes, merged_into, created_at, updated_at";

/// Normalise an identity value of `kind`; errors are user-facing.
pub fn normalise_identity(kind: &str, raw: &str, region: &str) -> ApiResult<String> {
    let raw = raw.trim();
    match kind {
        "email" => switchboard_text::EmailAddress::parse(raw)
            .map(|e| e.into_string())
            .map_err(|e| ApiError::invalid("invalid_email", e.to_string())),
        "phone" => switchboard_text::PhoneNumber::parse(raw, region)
            .map(|p| p.into_string())
            .map_err(|e| ApiError::invalid("invalid_phone", e.to_string())),
        "visitor" | "external" => {
            if raw.is_empty() || raw.chars().count() > 200 || raw.chars().any(char::is_control) {
                Err(ApiError::invalid(
                    "invalid_identity",
                    "identity must be 1–200 characters",
                ))
            } else {
                Ok(raw.to_string())
            }
        }
        other => Err(ApiError::invalid(
            "invalid_identity_kind",
            format!("unknown identity kind `{other}` (email, phone, visitor, external)"),
        )),
    }
}

pub async fn get(store: &Store, id: &str) -> StoreResult<Customer> {
    let mut conn = store
        .pool()
        .acquire()
        .await
        .map_err(StoreError::from_sqlx)?;
    get_with(&mut conn, id).await
}

pub async fn get_with(conn: &mut AnyConnection, id: &str) -> StoreResult<Customer> {
    let row: Option<CustomerRow> =
        sqlx::query_as(&format!("SELECT {COLS} FROM customers WHERE id = $1"))
            .bind(id)
            .fetch_optional(&mut *conn)
            .await
            .map_err(StoreError::from_sqlx)?;
    let row = row.ok_or(StoreError::NotFound)?;
    let backend = crate::store::dialect::backend_of(conn);
    Ok(hydrate(conn, backend, vec![row])
        .await?
        .pop()
        .expect("one row in, one customer out"))
}

/// Profiles for `rows` with their identities and conversation figures, in two statements
/// whatever the number of rows (a page of customers is not one query per customer).
pub(crate) async fn hydrate(
    conn: &mut AnyConnection,
    backend: crate::store::Backend,
    rows: Vec<CustomerRow>,
) -> StoreResult<Vec<Customer>> {
    use std::collections::HashMap;
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<&str> = rows.iter().map(|r| r.id.as_str()).collect();
    let list = serde_json::to_string(&ids)
        .map_err(|e| StoreError::Other(sqlx::Error::Encode(e.into())))?;
    // `= ANY(…)` on PostgreSQL probes `identities_customer` per id whatever the statistics;
    // `IN (SELECT …)` became a seq scan of every identity on an unanalysed table (a profile
    // read 20–46 ms at 200,000–660,000 customers, BENCHMARKS.md session 20).
    let among = format!(
        "customer_id {}",
        crate::store::dialect::in_json_list(backend, 1, None)
    );
    let idents: Vec<(String, String, String, String, String, i64)> = sqlx::query_as(&format!(
        "SELECT customer_id, id, kind, value, raw, created_at FROM identities WHERE {among} \
         ORDER BY id"
    ))
    .bind(&list)
    .fetch_all(&mut *conn)
    .await
    .map_err(StoreError::from_sqlx)?;
    let figures: Vec<(String, i64, Option<i64>)> = sqlx::query_as(&format!(
        "SELECT customer_id, COUNT(*), MAX(COALESCE(last_message_at, created_at)) \
         FROM conversations WHERE {among} GROUP BY customer_id"
    ))
    .bind(&list)
    .fetch_all(&mut *conn)
    .await
    .map_err(StoreError::from_sqlx)?;
    let mut by_customer: HashMap<String, Vec<Identity>> = HashMap::new();
    for (customer, id, kind, value, raw, at) in idents {
        by_customer.entry(customer).or_default().push(Identity {
            id,
            kind,
            value,
            raw,
            created_at: ms_to_rfc3339(at),
        });
    }
    let figures: HashMap<String, (i64, Option<i64>)> = figures
        .into_iter()
        .map(|(c, n, last)| (c, (n, last)))
        .collect();
    Ok(rows
        .into_iter()
        .map(|row| {
            let (count, last) = figures.get(&row.id).copied().unwrap_or((0, None));
            Customer {
                identities: by_customer.remove(&row.id).unwrap_or_default(),
                attributes: serde_json::from_str(&row.attributes)
                    .unwrap_or_else(|_| serde_json::json!({})),
                conversation_count: count,
                last_contact_at: last.map(ms_to_rfc3339),
                created_at: ms_to_rfc3339(row.created_at),
                updated_at: ms_to_rfc3339(row.updated_at),
                id: row.id,
                name: row.name,
                language: row.language,
                tier: row.tier,
                merged_into: row.merged_into,
                value: None,
            }
        })
        .collect())
}

/// Insert a bare customer profile.
pub async fn insert(
    tx: &mut Tx,
    name: Option<&str>,
    language: Option<&str>,
    tier: &str,
    attributes: &str,
) -> StoreResult<String> {
    let id = new_id();
    let now = now_ms();
    sqlx::query(
        "INSERT INTO customers (id, name, name_search, language, tier, attributes, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $7)",
    )
    .bind(&id)
    .bind(name)
    .bind(switchboard_text::search_fold(name.unwrap_or("")))
    .bind(language)
    .bind(tier)
    .bind(attributes)
    .bind(now)
    .execute(tx.conn())
    .await
    .map_err(StoreError::from_sqlx)?;
    Ok(id)
}

/// Attach an already-normalised identity; `Conflict` if another customer has it.
pub async fn add_identity(
    tx: &mut Tx,
    customer_id: &str,
    kind: &str,
    value: &str,
    raw: &str,
) -> StoreResult<String> {
    let id = new_id();
    sqlx::query("INSERT INTO identities (id, customer_id, kind, value, raw, created_at) VALUES ($1, $2, $3, $4, $5, $6)")
        .bind(&id)
        .bind(customer_id)
        .bind(kind)
        .bind(value)
        .bind(raw)
        .bind(now_ms())
        .execute(tx.conn())
        .await
        .map_err(StoreError::from_sqlx)?;
    Ok(id)
}

/// The customer owning a normalised identity, following merges.
pub async fn find_by_identity(
    conn: &mut AnyConnection,
    kind: &str,
    value: &str,
) -> StoreResult<Option<String>> {
    let row: Option<(String,)> =
        sqlx::query_as("SELECT customer_id FROM identities WHERE kind = $1 AND value = $2")
            .bind(kind)
            .bind(value)
            .fetch_optional(&mut *conn)
            .await
            .map_err(StoreError::from_sqlx)?;
    Ok(row.map(|r| r.0))
}

/// Find the customer with this (normalised) identity or create one, inside `tx`.
/// Returns (customer id, created).
///
/// Safe against a concurrent transaction (another node) creating the same identity: the
/// identity insert does nothing on conflict (waiting for the other transaction on
/// PostgreSQL), and then the other transaction's customer is used.
pub async fn find_or_create(
    tx: &mut Tx,
    kind: &str,
    value: &str,
    raw: &str,
    name: Option<&str>,
) -> StoreResult<(String, bool)> {
    if let Some(id) = find_by_identity(tx.conn(), kind, value).await? {
        return Ok((id, false));
    }
    let id = insert(tx, name, None, "standard", "{}").await?;
    let inserted = sqlx::query(
        "INSERT INTO identities (id, customer_id, kind, value, raw, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (kind, value) DO NOTHING",
    )
    .bind(new_id())
    .bind(&id)
    .bind(kind)
    .bind(value)
    .bind(raw)
    .bind(now_ms())
    .execute(tx.conn())
    .await
    .map_err(StoreError::from_sqlx)?;
    if inserted.rows_affected() == 1 {
        return Ok((id, true));
    }
    sqlx::query("DELETE FROM customers WHERE id = $1")
        .bind(&id)
        .execute(tx.conn())
        .await
        .map_err(StoreError::from_sqlx)?;
    let existing = find_by_identity(tx.conn(), kind, value).await?;
    existing.map(|e| (e, false)).ok_or(StoreError::NotFound)
}

/// [`find_or_create`] for many identities of one `kind` at once (batch imports), with the
/// same safety against concurrent creators: `items` are `(value, raw, name)` with distinct
/// normalised values; returns the customer id per value.
pub async fn find_or_create_many(
    tx: &mut Tx,
    kind: &str,
    items: &[(String, String, Option<String>)],
) -> StoreResult<std::collections::HashMap<String, String>> {
    let mut found = std::collections::HashMap::new();
    for chunk in items.chunks(1000) {
        let values: Vec<&str> = chunk.iter().map(|i| i.0.as_str()).collect();
        found.extend(identities_of(tx, kind, &values).await?);
        let missing: Vec<_> = chunk.iter().filter(|i| !found.contains_key(&i.0)).collect();
        if missing.is_empty() {
            continue;
        }
        let ids: Vec<String> = missing.iter().map(|_| new_id()).collect();
        let owners = create_many(tx, kind, &ids, &missing).await?;
        // Customers whose identity a concurrent transaction created first are dropped.
        for (id, (value, _, _)) in ids.iter().zip(&missing) {
            if owners.get(value) != Some(id) {
                sqlx::query("DELETE FROM customers WHERE id = $1")
                    .bind(id)
                    .execute(tx.conn())
                    .await
                    .map_err(StoreError::from_sqlx)?;
            }
        }
        found.extend(owners);
    }
    if let Some(lost) = items.iter().find(|i| !found.contains_key(&i.0)) {
        return Err(StoreError::Conflict(format!(
            "identity {} vanished",
            lost.0
        )));
    }
    Ok(found)
}

/// Insert a customer `ids[k]` for each of `missing` and its identity of `kind` (kept only
/// where no concurrent transaction created that identity first); returns the owner of each
/// identity. On PostgreSQL one statement, whose inserted identities come back; the stored
/// ones are read only when some were taken meanwhile.
async fn create_many(
    tx: &mut Tx,
    kind: &str,
    ids: &[String],
    missing: &[&(String, String, Option<String>)],
) -> StoreResult<std::collections::HashMap<String, String>> {
    use crate::store::bulk::{insert_together_returning, V};
    let now = now_ms();
    let customers = ids.iter().zip(missing).map(|(id, (_, _, name))| {
        let folded = switchboard_text::search_fold(name.as_deref().unwrap_or(""));
        vec![
            V::S(id.clone()),
            V::N(name.clone()),
            V::S(folded),
            V::I(now),
            V::I(now),
        ]
    });
    let identities = ids.iter().zip(missing).map(|(id, (value, raw, _))| {
        vec![
            V::S(new_id()),
            V::S(id.clone()),
            V::S(kind.to_string()),
            V::S(value.clone()),
            V::S(raw.clone()),
            V::I(now),
        ]
    });
    let parts = vec![
        (
            "INSERT INTO customers (id, name, name_search, created_at, updated_at)",
            customers.collect(),
            "",
        ),
        (
            "INSERT INTO identities (id, customer_id, kind, value, raw, created_at)",
            identities.collect(),
            "",
        ),
    ];
    let conflict = "ON CONFLICT (kind, value) DO NOTHING";
    let returned = insert_together_returning(tx, parts, conflict, "RETURNING value, customer_id");
    if let Some(rows) = returned.await?.filter(|rows| rows.len() == missing.len()) {
        return rows
            .iter()
            .map(|r| Ok((sqlx::Row::try_get(r, 0)?, sqlx::Row::try_get(r, 1)?)))
            .collect::<Result<_, sqlx::Error>>()
            .map_err(StoreError::from_sqlx);
    }
    let values: Vec<&str> = missing.iter().map(|i| i.0.as_str()).collect();
    identities_of(tx, kind, &values).await
}

/// Owner per value of the identities of `kind` among `values`.
pub(crate) async fn identities_of(
    tx: &mut Tx,
    kind: &str,
    values: &[&str],
) -> StoreResult<std::collections::HashMap<String, String>> {
    use crate::store::dialect;
    let backend = tx.backend();
    let sql = format!(
        "SELECT {} FROM identities WHERE kind = $2 AND value {}",
        dialect::json_pairs(backend, "value", "customer_id"),
        dialect::in_json_set(backend, 1)
    );
    let list = serde_json::to_string(values)
        .map_err(|e| StoreError::Other(sqlx::Error::Encode(e.into())))?;
    let (pairs,): (String,) = sqlx::query_as(&sql)
        .bind(list)
        .bind(kind)
        .fetch_one(tx.conn())
        .await
        .map_err(StoreError::from_sqlx)?;
    let pairs: Vec<(String, String)> = serde_json::from_str(&pairs)
        .map_err(|e| StoreError::Other(sqlx::Error::Decode(e.into())))?;
    Ok(pairs.into_iter().collect())
}

/// The editable part of a profile.
pub struct Profile<'a> {
    pub name: Option<&'a str>,
    pub language: Option<&'a str>,
    pub tier: &'a str,
    pub attributes: &'a serde_json::Value,
}

/// Overwrite a customer's profile fields (keeping the folded search form in step).
pub async fn update_profile(tx: &mut Tx, id: &str, p: &Profile<'_>) -> StoreResult<()> {
    sqlx::query(
        "UPDATE customers SET name = $1, name_search = $2, language = $3, tier = $4, attributes = $5, \
           updated_at = $6 WHERE id = $7",
    )
    .bind(p.name)
    .bind(switchboard_text::search_fold(p.name.unwrap_or("")))
    .bind(p.language)
    .bind(p.tier)
    .bind(p.attributes.to_string())
    .bind(now_ms())
    .bind(id)
    .execute(tx.conn())
    .await
    .map_err(StoreError::from_sqlx)?;
    Ok(())
}
