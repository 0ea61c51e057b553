//! Lookups of the chat writer with numbered parameters (portable across SQLite and
//! PostgreSQL); multi-row inserts use [`crate::store::bulk`].

use crate::store::bulk::V;
use crate::store::{StoreError, StoreResult, Tx};
use std::fmt::Write;

pub use crate::store::bulk::max_numbered_params as max_params;

/// `$from, $from+1, …` (`n` of them).
pub fn marks(out: &mut String, from: usize, n: usize) {
    for k in 0..n {
        let sep = if k > 0 { ", " } else { "" };
        let _ = write!(out, "{sep}${}", from + k);
    }
}

/// Rows of `head (…) tail` for `keys` in the `(…)` list, after the fixed `params` (`$1…`),
/// in chunks that respect the parameter limit. One-off statements: not prepared for reuse.
pub async fn fetch_in<T>(
    tx: &mut Tx,
    head: &str,
    tail: &str,
    params: &[V],
    keys: &[&str],
) -> StoreResult<Vec<T>>
where
    T: for<'r> sqlx::FromRow<'r, sqlx::any::AnyRow> + Send + Unpin,
{
    let mut out = Vec::new();
    let per = max_params(tx).saturating_sub(params.len()).max(1);
    for chunk in keys.chunks(per) {
        let mut sql = format!("{head} (");
        marks(&mut sql, params.len() + 1, chunk.len());
        sql.push(')');
        sql.push_str(tail);
        let mut q = sqlx::query_as::<_, T>(&sql).persistent(false);
        for p in params {
            q = p.clone().bind_as(q);
        }
        for k in chunk {
            q = q.bind(k.to_string());
        }
        let rows = q
            .fetch_all(tx.conn())
            .await
            .map_err(StoreError::from_sqlx)?;
        out.extend(rows);
    }
    Ok(out)
}
