//! Many rows in one statement, portable across SQLite and PostgreSQL.
//!
//! Lookups (`… IN (…)`) send their values as ONE parameter, a JSON array the database expands
//! itself (`json_each` on SQLite, `json_array_elements_text` on PostgreSQL): one bind instead
//! of thousands (sqlx converts and copies every bound value, and SQLite looks numbered
//! parameters up by name in a linear list), and one statement text, prepared once. Inserts
//! bind their values (see [`insert_rows`]).

use super::{dialect, StoreError, StoreResult, Tx};
use serde::ser::{Serialize, Serializer};
use std::fmt::Write;

/// Most rows sent in one statement.
const MAX_ROWS: usize = 5000;

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

/// Insert `rows` with `head` (`INSERT INTO t (a, b, …)`), then `tail` (e.g. `ON CONFLICT …
/// DO NOTHING`, or empty), many rows per statement. Every row has the same shape; a trailing
/// `internal` column in `head` beyond the row's values is filled with 0.
///
/// Unlike lookups, inserts bind every value: expanding a JSON array costs SQLite a parse of
/// each row per column read (measured slower than binding ~10,000 values). On SQLite the
/// parameters are anonymous (`?`, bound by position), which SQLite does not look up by name.
pub async fn insert_rows(
    tx: &mut Tx,
    head: &str,
    rows: Vec<Vec<V>>,
    tail: &str,
) -> StoreResult<()> {
    let Some(cols) = rows.first().map(Vec::len) else {
        return Ok(());
    };
    let sqlite = tx.conn().backend_name().eq_ignore_ascii_case("sqlite");
    let max_params = if sqlite { 30_000 } else { 2000 };
    let extra_zero = head.ends_with("internal)");
    let per = (max_params / cols.max(1)).max(1);
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
            if extra_zero {
                sql.push_str(", 0");
            }
            sql.push(')');
        }
        if !tail.is_empty() {
            sql.push(' ');
            sql.push_str(tail);
        }
        let mut q = sqlx::query(&sql);
        for v in chunk.into_iter().flatten() {
            q = match v {
                V::S(s) => q.bind(s),
                V::N(s) => q.bind(s),
                V::I(i) => q.bind(i),
                V::J(i) => q.bind(i),
            };
        }
        q.execute(tx.conn()).await.map_err(StoreError::from_sqlx)?;
    }
    Ok(())
}

/// Run `head (SELECT value FROM …values…)`: `head` ends with `IN`; returns the rows.
pub async fn fetch_in<T>(tx: &mut Tx, head: &str, values: &[String]) -> StoreResult<Vec<T>>
where
    T: for<'r> sqlx::FromRow<'r, sqlx::any::AnyRow> + Send + Unpin,
{
    let mut out = Vec::new();
    let sql = format!("{head} (SELECT value FROM {})", dialect::json_values(tx));
    for chunk in values.chunks(MAX_ROWS) {
        let list = serde_json::to_string(chunk)
            .map_err(|e| StoreError::Other(sqlx::Error::Encode(e.into())))?;
        let rows = sqlx::query_as::<_, T>(&sql)
            .bind(list)
            .fetch_all(tx.conn())
            .await
            .map_err(StoreError::from_sqlx)?;
        out.extend(rows);
    }
    Ok(out)
}
