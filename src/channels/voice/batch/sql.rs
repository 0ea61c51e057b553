//! Multi-row statements, portable across SQLite and PostgreSQL: numbered parameters (`$n`)
//! on PostgreSQL, anonymous ones (`?`, bound by position) on SQLite.

use crate::store::{StoreError, StoreResult, Tx};
use std::fmt::Write;

fn is_sqlite(tx: &mut Tx) -> bool {
    tx.conn().backend_name().eq_ignore_ascii_case("sqlite")
}

/// Most bind parameters in one statement, below both backends' limits (SQLite: 32,766).
/// SQLite gets anonymous `?` parameters: named ones (`$n`) are looked up in a linear list per
/// bind, which made 2,000-parameter statements quadratic.
pub fn max_params(tx: &mut Tx) -> usize {
    if is_sqlite(tx) {
        30_000
    } else {
        2000
    }
}

/// Most numbered (`$n`) parameters in one statement: small on SQLite (see [`max_params`]).
pub fn max_numbered_params(tx: &mut Tx) -> usize {
    if is_sqlite(tx) {
        300
    } else {
        2000
    }
}

/// A value to bind.
pub enum V {
    S(String),
    N(Option<String>),
    I(i64),
    J(Option<i64>),
}

/// `$start, $start+1, …` (`n` placeholders), or `?, ?, …` when `anonymous`.
fn placeholders(out: &mut String, start: usize, n: usize, anonymous: bool) {
    for k in 0..n {
        if k > 0 {
            out.push_str(", ");
        }
        if anonymous {
            out.push('?');
        } else {
            let _ = write!(out, "${}", start + k);
        }
    }
}

/// Insert `rows` of `cols` values with `head` (`INSERT INTO t (…)`), many rows per statement.
/// A trailing `internal` column in `head` beyond `cols` is filled with 0.
pub async fn insert_rows(
    tx: &mut Tx,
    head: &str,
    cols: usize,
    rows: Vec<Vec<V>>,
) -> StoreResult<()> {
    let extra_zero = head.ends_with("internal)");
    let anonymous = is_sqlite(tx);
    let per = (max_params(tx) / cols).max(1);
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let chunk: Vec<Vec<V>> = rows.by_ref().take(per).collect();
        let mut sql = format!("{head} VALUES ");
        for r in 0..chunk.len() {
            if r > 0 {
                sql.push_str(", ");
            }
            sql.push('(');
            placeholders(&mut sql, r * cols + 1, cols, anonymous);
            if extra_zero {
                sql.push_str(", 0");
            }
            sql.push(')');
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

/// Run `head (…values…)` for `values` in chunks and collect the rows.
pub async fn fetch_in<T>(tx: &mut Tx, head: &str, values: &[String]) -> StoreResult<Vec<T>>
where
    T: for<'r> sqlx::FromRow<'r, sqlx::any::AnyRow> + Send + Unpin,
{
    let mut out = Vec::new();
    let per = max_params(tx);
    let anonymous = is_sqlite(tx);
    for chunk in values.chunks(per) {
        let mut sql = format!("{head} (");
        placeholders(&mut sql, 1, chunk.len(), anonymous);
        sql.push(')');
        // One-off statements: PostgreSQL plans them with the values (a cached generic plan
        // compares every row with every parameter when the table has no statistics yet).
        let mut q = sqlx::query_as::<_, T>(&sql).persistent(false);
        for v in chunk {
            q = q.bind(v);
        }
        out.extend(
            q.fetch_all(tx.conn())
                .await
                .map_err(StoreError::from_sqlx)?,
        );
    }
    Ok(out)
}
