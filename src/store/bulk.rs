//! Many rows in one statement, portable across SQLite and PostgreSQL.
//!
//! Lookups (`… IN (…)`) send their values as ONE parameter, a JSON array the database expands
//! itself (`json_each` on SQLite, `json_array_elements_text` on PostgreSQL): one bind instead
//! of thousands (sqlx converts and copies every bound value, and SQLite looks numbered
//! parameters up by name in a linear list), and one statement text, prepared once. Inserts
//! bind their values on SQLite and send rows as one JSON parameter on PostgreSQL (see
//! [`insert_rows`]).

use super::{dialect, StoreError, StoreResult, Tx};
use serde::ser::{Serialize, Serializer};
use std::fmt::Write;

/// Most numbered (`$n`) parameters in one statement, for statements that still bind values
/// one by one with numbers: small on SQLite, which resolves each by name in a linear list
/// (quadratic per statement); PostgreSQL takes many more.
pub fn max_numbered_params(tx: &mut Tx) -> usize {
    if tx.is_sqlite() {
        300
    } else {
        2000
    }
}

/// Most rows sent in one statement.
const MAX_ROWS: usize = 5000;

/// SQLite statements inserting at most this many rows are kept prepared on their connection
/// (one text per row count); larger ones are prepared for one use.
pub(crate) const PREPARED_ROWS: usize = 16;

/// A value of a row column: its variant also tells the column's type.
#[derive(Debug, Clone)]
pub enum V {
    /// Text.
    S(String),
    /// Text or NULL.
    N(Option<String>),
    /// Integer.
    I(i64),
    /// Integer or NULL.
    J(Option<i64>),
}

impl Serialize for V {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            V::S(v) => s.serialize_str(v),
            V::N(v) => v.serialize(s),
            V::I(v) => s.serialize_i64(*v),
            V::J(v) => v.serialize(s),
        }
    }
}

/// Insert `rows` with `head` (`INSERT INTO t (a, b, …)`), many rows per statement: each row's
/// values, then `extra` inside its parentheses (constants for trailing columns, e.g. `, 0`),
/// then `tail` after the last row (e.g. `ON CONFLICT … DO NOTHING`, or empty).
///
/// On SQLite inserts bind every value: expanding a JSON array costs SQLite a parse of each row
/// per column read (measured 25 % slower than binding ~10,000 values); the parameters are
/// anonymous (`?`, bound by position), which SQLite does not look up by name. PostgreSQL gets
/// the rows as one JSON array (see `json_statements`).
pub async fn insert_rows(
    tx: &mut Tx,
    head: &str,
    rows: Vec<Vec<V>>,
    extra: &str,
    tail: &str,
) -> StoreResult<()> {
    insert_rows_counted(tx, head, rows, extra, tail).await?;
    Ok(())
}

/// [`insert_rows`], returning how many rows the statements affected (fewer than `rows` when
/// a `tail` such as `ON CONFLICT … DO NOTHING` skipped some).
pub async fn insert_rows_counted(
    tx: &mut Tx,
    head: &str,
    rows: Vec<Vec<V>>,
    extra: &str,
    tail: &str,
) -> StoreResult<u64> {
    let mut affected = 0;
    let cols = rows.first().map_or(1, Vec::len).max(1);
    let sqlite = tx.is_sqlite();
    for (sql, q) in statements(tx, head, rows, extra, tail) {
        // SQLite: a text per row count, so only small ones are kept prepared (a cached
        // statement of thousands of rows holds megabytes on every pooled connection).
        let keep = !sqlite || q.len() / cols <= PREPARED_ROWS;
        let mut query = sqlx::query(&sql).persistent(keep);
        for v in q {
            query = v.bind(query);
        }
        affected += query
            .execute(tx.conn())
            .await
            .map_err(StoreError::from_sqlx)?
            .rows_affected();
    }
    Ok(affected)
}

type Query<'q> = sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>;

impl V {
    /// About how many bytes this value takes as JSON.
    fn len_hint(&self) -> usize {
        match self {
            V::S(v) | V::N(Some(v)) => v.len() + 8,
            V::N(None) | V::J(None) => 4,
            V::I(_) | V::J(Some(_)) => 20,
        }
    }

    /// Bind this value as the next parameter of `q`.
    pub(crate) fn bind(self, q: Query<'_>) -> Query<'_> {
        match self {
            V::S(v) => q.bind(v),
            V::N(v) => q.bind(v),
            V::I(v) => q.bind(v),
            V::J(v) => q.bind(v),
        }
    }
}

/// The statements inserting `rows`, each with the values it binds, in as few statements as
/// the backend's parameter limit allows.
pub(super) fn statements(
    tx: &mut Tx,
    head: &str,
    rows: Vec<Vec<V>>,
    extra: &str,
    tail: &str,
) -> Vec<(String, Vec<V>)> {
    let Some(cols) = rows.first().map(Vec::len) else {
        return Vec::new();
    };
    let sqlite = tx.is_sqlite();
    if !sqlite {
        return json_statements(head, rows, cols, extra, tail);
    }
    let max_params = 30_000;
    let per = (max_params / cols.max(1)).max(1);
    let mut out = Vec::new();
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let chunk: Vec<Vec<V>> = rows.by_ref().take(per).collect();
        let mut sql = format!("{head} VALUES ");
        let mut n = 0;
        for r in 0..chunk.len() {
            sql.push_str(if r > 0 { ", (" } else { "(" });
            for k in 0..cols {
                if k > 0 {
                    sql.push_str(", ");
                }
                n += 1;
                if sqlite {
                    sql.push('?');
                } else {
                    let _ = write!(sql, "${n}");
                }
            }
            sql.push_str(extra);
            sql.push(')');
        }
        if !tail.is_empty() {
            sql.push(' ');
            sql.push_str(tail.trim_start());
        }
        out.push((sql, chunk.into_iter().flatten().collect()));
    }
    out
}

/// PostgreSQL: the rows as ONE JSON parameter that `json_to_recordset` turns back into typed
/// columns (`c0 text, c1 bigint, …`, types from the values' variants), `MAX_ROWS` per
/// statement. A multi-row `VALUES` list is capped at a few thousand parameters (sqlx sends
/// each separately and PostgreSQL plans the statement anew every time), so a batch of 1,000
/// messages took six statements; this takes one, and the same statement text every time.
fn json_statements(
    head: &str,
    rows: Vec<Vec<V>>,
    cols: usize,
    extra: &str,
    tail: &str,
) -> Vec<(String, Vec<V>)> {
    let mut sql = json_insert(head, &rows[0], extra, 1);
    if !tail.is_empty() {
        sql.push(' ');
        sql.push_str(tail.trim_start());
    }
    let mut out = Vec::new();
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let chunk: Vec<Vec<V>> = rows.by_ref().take(MAX_ROWS).collect();
        out.push((sql.clone(), vec![V::S(json_rows(chunk, cols))]));
    }
    out
}

/// `head SELECT c0, c1, …extra FROM json_to_recordset($param::json) AS x(c0 text, …)`, the
/// column types taken from `first`, a row of the values.
fn json_insert(head: &str, first: &[V], extra: &str, param: usize) -> String {
    let mut select = String::new();
    let mut defs = String::new();
    for (k, v) in first.iter().enumerate() {
        let sep = if k > 0 { ", " } else { "" };
        let ty = match v {
            V::S(_) | V::N(_) => "text",
            V::I(_) | V::J(_) => "bigint",
        };
        let _ = write!(select, "{sep}c{k}");
        let _ = write!(defs, "{sep}c{k} {ty}");
    }
    format!("{head} SELECT {select}{extra} FROM json_to_recordset(${param}::json) AS x({defs})")
}

/// `rows` (of `cols` values each) as a JSON array of objects `{"c0": …, "c1": …}`.
fn json_rows(rows: Vec<Vec<V>>, cols: usize) -> String {
    // Keys `"c0":` … once, values serialised straight into one buffer (sized from the first
    // row): no allocation per value.
    let keys: Vec<String> = (0..cols)
        .map(|k| format!("{}\"c{k}\":", if k > 0 { "," } else { "" }))
        .collect();
    let per_row = 16
        + keys.iter().map(String::len).sum::<usize>()
        + rows
            .first()
            .map_or(0, |r| r.iter().map(V::len_hint).sum::<usize>());
    let mut json: Vec<u8> = Vec::with_capacity(2 + per_row * rows.len());
    json.push(b'[');
    for (r, row) in rows.into_iter().enumerate() {
        json.extend_from_slice(if r > 0 { b",{" } else { b"{" });
        for (key, v) in keys.iter().zip(&row) {
            json.extend_from_slice(key.as_bytes());
            // Serialising a string, integer or null into memory cannot fail.
            let _ = serde_json::to_writer(&mut json, v);
        }
        json.push(b'}');
    }
    json.push(b']');
    // serde_json writes UTF-8 only.
    String::from_utf8(json).unwrap_or_default()
}

/// Insert into several tables at once: `parts` are `(head, rows, extra)` as for
/// [`insert_rows`], inserted in their order. On PostgreSQL one statement (one round trip): each
/// part a data-modifying `WITH` step reading its rows from one JSON parameter; foreign keys
/// between the parts are checked at the statement's end. Parts without rows are left out.
/// SQLite, or a part over `MAX_ROWS` rows: one [`insert_rows`] per part.
pub async fn insert_together(
    tx: &mut Tx,
    parts: Vec<(&str, Vec<Vec<V>>, &str)>,
) -> StoreResult<()> {
    insert_together_then(tx, parts, None).await.map(|_| ())
}

/// A last insert of [`insert_together_then`], whose rows come back: `head` and `rows` as for
/// [`insert_rows`], `tail` after them (`RETURNING …`). The transaction-scoped advisory lock
/// `lock` is taken after every other part is inserted and before any row of this one (so it
/// is held for this insert and the commit alone).
pub struct Last<'a> {
    pub head: &'a str,
    pub rows: Vec<Vec<V>>,
    pub lock: i64,
    pub tail: &'a str,
}

/// [`insert_together`], then `last` in the same statement on PostgreSQL; returns the rows
/// `last` returned. `Err` with `last` handed back when it cannot go in one statement (SQLite,
/// or too many rows); the parts are inserted anyway.
pub async fn insert_together_then<'a>(
    tx: &mut Tx,
    parts: Vec<(&str, Vec<Vec<V>>, &str)>,
    last: Option<Last<'a>>,
) -> StoreResult<Result<Vec<sqlx::any::AnyRow>, Option<Last<'a>>>> {
    together(tx, parts, last, "").await
}

/// [`insert_together`] with `tail` after the last part (e.g. `ON CONFLICT … DO NOTHING`).
/// On PostgreSQL, when the parts go in one statement, `returning` (`RETURNING …`) follows
/// and its rows come back: `Some(rows)`. Otherwise (SQLite, or too many rows) each part is
/// its own insert and `None` comes back; the caller reads what it needs.
pub async fn insert_together_returning(
    tx: &mut Tx,
    mut parts: Vec<(&str, Vec<Vec<V>>, &str)>,
    tail: &str,
    returning: &str,
) -> StoreResult<Option<Vec<sqlx::any::AnyRow>>> {
    parts.retain(|p| !p.1.is_empty());
    if tx.is_sqlite() || parts.iter().any(|p| p.1.len() > MAX_ROWS) {
        let last = parts.pop();
        for (head, rows, extra) in parts {
            insert_rows(tx, head, rows, extra, "").await?;
        }
        if let Some((head, rows, extra)) = last {
            insert_rows(tx, head, rows, extra, tail).await?;
        }
        return Ok(None);
    }
    let tail = format!("{tail} {returning}");
    Ok(together(tx, parts, None, &tail).await?.ok())
}

/// [`insert_together_then`], with `tail` after the last part when there is no `last`.
async fn together<'a>(
    tx: &mut Tx,
    parts: Vec<(&str, Vec<Vec<V>>, &str)>,
    last: Option<Last<'a>>,
    tail: &str,
) -> StoreResult<Result<Vec<sqlx::any::AnyRow>, Option<Last<'a>>>> {
    let parts: Vec<_> = parts.into_iter().filter(|p| !p.1.is_empty()).collect();
    let last = last.filter(|l| !l.rows.is_empty());
    let too_big = parts.iter().any(|p| p.1.len() > MAX_ROWS)
        || last.as_ref().is_some_and(|l| l.rows.len() > MAX_ROWS);
    if tx.is_sqlite() || too_big {
        for (head, rows, extra) in parts {
            insert_rows(tx, head, rows, extra, "").await?;
        }
        return Ok(Err(last));
    }
    let mut steps = Vec::new();
    let mut params = Vec::new();
    for (k, (head, rows, extra)) in parts.into_iter().enumerate() {
        steps.push(json_insert(head, &rows[0], extra, k + 1));
        let cols = rows[0].len();
        params.push(json_rows(rows, cols));
    }
    let named = |steps: &[String]| -> Vec<String> {
        let step = |(k, s): (usize, &String)| format!("p{k} AS ({s})");
        steps.iter().enumerate().map(step).collect()
    };
    let (names, main) = match &last {
        None => match steps.pop() {
            Some(main) if tail.is_empty() => (named(&steps), main),
            Some(main) => (named(&steps), format!("{main} {tail}")),
            None => return Ok(Ok(Vec::new())),
        },
        Some(l) => {
            // Every part returns a row per row inserted; the lock's key depends on their count,
            // so the parts are in before the lock is taken (and it before any row of `last`).
            let mut done = vec!["0".to_string()];
            for (k, step) in steps.iter_mut().enumerate() {
                step.push_str(" RETURNING 1");
                done.push(format!("(SELECT count(*) FROM p{k})"));
            }
            let mut names = named(&steps);
            names.push(format!(
                "l AS MATERIALIZED (SELECT pg_advisory_xact_lock({} + 0 * ({})))",
                l.lock,
                done.join(" + ")
            ));
            let insert = json_insert(l.head, &l.rows[0], "", params.len() + 1).replacen(
                " FROM json_to_recordset(",
                " FROM l, json_to_recordset(",
                1,
            );
            (names, format!("{insert} {}", l.tail))
        }
    };
    let sql = if names.is_empty() {
        main
    } else {
        format!("WITH {} {main}", names.join(", "))
    };
    if let Some(l) = last {
        let cols = l.rows[0].len();
        params.push(json_rows(l.rows, cols));
    }
    let mut query = sqlx::query(&sql);
    for p in params {
        query = query.bind(p);
    }
    let rows = query
        .fetch_all(tx.conn())
        .await
        .map_err(StoreError::from_sqlx)?;
    Ok(Ok(rows))
}

/// `v` as JSON text, for a statement's one JSON parameter.
pub fn json_param<T: Serialize + ?Sized>(v: &T) -> StoreResult<String> {
    serde_json::to_string(v).map_err(|e| StoreError::Other(sqlx::Error::Encode(e.into())))
}

/// Run `head (SELECT value FROM …values…)`: `head` ends with `IN`; returns the rows.
pub async fn fetch_in<T>(tx: &mut Tx, head: &str, values: &[String]) -> StoreResult<Vec<T>>
where
    T: for<'r> sqlx::FromRow<'r, sqlx::any::AnyRow> + Send + Unpin,
{
    fetch_in_then(tx, head, values, "").await
}

/// [`fetch_in`] with `tail` after the list (e.g. `RETURNING …` of a `DELETE`).
pub async fn fetch_in_then<T, S>(
    tx: &mut Tx,
    head: &str,
    values: &[S],
    tail: &str,
) -> StoreResult<Vec<T>>
where
    T: for<'r> sqlx::FromRow<'r, sqlx::any::AnyRow> + Send + Unpin,
    S: Serialize,
{
    let mut out = Vec::new();
    // PostgreSQL: `col = ANY(ARRAY(…))` is answered from an index on `col` whatever the
    // statistics say; with `IN (SELECT …)` the planner guesses 100 values and, on a table
    // filled faster than autovacuum analyses it (a bulk import), hashes them and scans every
    // row of the table instead (measured: 34 ms per lookup at 100,000 phone entries).
    let sql = match head.trim_end().strip_suffix(" IN") {
        Some(column) if !tx.is_sqlite() => {
            format!("{column} = ANY(ARRAY(SELECT json_array_elements_text($1::json))) {tail}")
        }
        _ => format!(
            "{head} (SELECT value FROM {}) {tail}",
            dialect::json_values(tx)
        ),
    };
    for chunk in values.chunks(MAX_ROWS) {
        let list = json_param(chunk)?;
        let rows = sqlx::query_as::<_, T>(&sql)
            .bind(list)
            .fetch_all(tx.conn())
            .await
            .map_err(StoreError::from_sqlx)?;
        out.extend(rows);
    }
    Ok(out)
}
