//! Multi-row statements with numbered parameters (portable across SQLite and PostgreSQL).

use crate::store::{StoreError, StoreResult, Tx};
use std::fmt::Write;

/// A value to bind.
pub enum B {
    S(String),
    O(Option<String>),
    I(i64),
    OI(Option<i64>),
}

impl B {
    fn bind<'q>(
        self,
        q: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
    ) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
        match self {
            B::S(v) => q.bind(v),
            B::O(v) => q.bind(v),
            B::I(v) => q.bind(v),
            B::OI(v) => q.bind(v),
        }
    }
}

/// Most parameters per statement: SQLite resolves numbered parameters by a linear search, so
/// huge statements get slow there; PostgreSQL takes many more.
pub fn max_params(tx: &mut Tx) -> usize {
    if tx.conn().backend_name().eq_ignore_ascii_case("sqlite") {
        300
    } else {
        2000
    }
}

/// `$from, $from+1, …` (`n` of them).
pub fn marks(out: &mut String, from: usize, n: usize) {
    for k in 0..n {
        let sep = if k > 0 { ", " } else { "" };
        let _ = write!(out, "{sep}${}", from + k);
    }
}

/// `head VALUES (…), (…) tail` for `rows` of `cols` values, as few statements as the
/// parameter limit allows; `extra` is appended inside each row's parentheses (constants).
pub async fn insert_rows(
    tx: &mut Tx,
    head: &str,
    cols: usize,
    extra: &str,
    rows: Vec<Vec<B>>,
) -> StoreResult<()> {
    let per = (max_params(tx) / cols).max(1);
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let chunk: Vec<Vec<B>> = rows.by_ref().take(per).collect();
        let mut sql = format!("{head} VALUES ");
        for r in 0..chunk.len() {
            sql.push_str(if r > 0 { ", (" } else { "(" });
            marks(&mut sql, r * cols + 1, cols);
            sql.push_str(extra);
            sql.push(')');
        }
        let mut q = sqlx::query(&sql).persistent(false);
        for v in chunk.into_iter().flatten() {
            q = v.bind(q);
        }
        q.execute(tx.conn()).await.map_err(StoreError::from_sqlx)?;
    }
    Ok(())
}

/// [`insert_rows`] with a `RETURNING id`-style `tail`: the first column of every row returned.
pub async fn insert_returning(
    tx: &mut Tx,
    head: &str,
    cols: usize,
    tail: &str,
    rows: Vec<Vec<B>>,
) -> StoreResult<Vec<String>> {
    let per = (max_params(tx) / cols).max(1);
    let mut out = Vec::new();
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let chunk: Vec<Vec<B>> = rows.by_ref().take(per).collect();
        let mut sql = format!("{head} VALUES ");
        for r in 0..chunk.len() {
            sql.push_str(if r > 0 { ", (" } else { "(" });
            marks(&mut sql, r * cols + 1, cols);
            sql.push(')');
        }
        sql.push_str(tail);
        let mut q = sqlx::query_as::<_, (String,)>(&sql).persistent(false);
        for v in chunk.into_iter().flatten() {
            q = match v {
                B::S(v) => q.bind(v),
                B::O(v) => q.bind(v),
                B::I(v) => q.bind(v),
                B::OI(v) => q.bind(v),
            };
        }
        let got = q
            .fetch_all(tx.conn())
            .await
            .map_err(StoreError::from_sqlx)?;
        out.extend(got.into_iter().map(|r| r.0));
    }
    Ok(out)
}

/// Rows of `head (…) tail` for `keys` in the `(…)` list, after the fixed `params` (`$1…`),
/// in chunks that respect the parameter limit. One-off statements: not prepared for reuse.
pub async fn fetch_in<T>(
    tx: &mut Tx,
    head: &str,
    tail: &str,
    params: &[B],
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
            q = match p {
                B::S(v) => q.bind(v.clone()),
                B::O(v) => q.bind(v.clone()),
                B::I(v) => q.bind(*v),
                B::OI(v) => q.bind(*v),
            };
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
