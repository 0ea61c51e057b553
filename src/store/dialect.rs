//! The statements whose SQL differs between SQLite and PostgreSQL. Nothing else in the code
//! base branches on the backend.

use super::{Backend, StoreError, StoreResult, Tx};

/// Allocate the next human-facing conversation number (`#1000`, `#1001`, …).
///
/// PostgreSQL uses a sequence (safe across nodes); SQLite reads the maximum inside the
/// serialised write transaction, which is equally safe because only one writer exists.
pub async fn next_conversation_number(backend: Backend, tx: &mut Tx) -> StoreResult<i64> {
    let sql = match backend {
        Backend::Postgres => "SELECT nextval('conversation_numbers')",
        Backend::Sqlite => "SELECT COALESCE(MAX(number), 999) + 1 FROM conversations",
    };
    let (n,): (i64,) = sqlx::query_as(sql)
        .fetch_one(tx.conn())
        .await
        .map_err(StoreError::from_sqlx)?;
    Ok(n)
}

/// Escape `%`, `_` and `\` for a `LIKE … ESCAPE '\'` pattern.
pub fn like_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    for c in s.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Allocate `count` consecutive-or-not new conversation numbers at once (batch inserts).
///
/// Like [`next_conversation_number`]: a sequence on PostgreSQL; on SQLite the maximum plus
/// one onwards, safe inside the serialised write transaction as long as the caller inserts
/// the conversations before allocating again.
pub async fn next_conversation_numbers(
    backend: Backend,
    tx: &mut Tx,
    count: usize,
) -> StoreResult<Vec<i64>> {
    if count == 0 {
        return Ok(Vec::new());
    }
    match backend {
        Backend::Postgres => {
            let rows: Vec<(i64,)> = sqlx::query_as(
                "SELECT nextval('conversation_numbers') FROM generate_series(1::bigint, $1)",
            )
            .bind(count as i64)
            .fetch_all(tx.conn())
            .await
            .map_err(StoreError::from_sqlx)?;
            Ok(rows.into_iter().map(|r| r.0).collect())
        }
        Backend::Sqlite => {
            let first = next_conversation_number(backend, tx).await?;
            Ok((first..first + count as i64).collect())
        }
    }
}

/// A table of the JSON array of strings bound as `$1`, one text row per element in `value`.
pub fn json_values(tx: &mut Tx) -> &'static str {
    json_values_on(if tx.is_sqlite() {
        Backend::Sqlite
    } else {
        Backend::Postgres
    })
}

/// [`json_values`] for a connection outside a transaction.
pub fn json_values_on(backend: Backend) -> &'static str {
    match backend {
        Backend::Sqlite => "json_each($1)",
        Backend::Postgres => "json_array_elements_text($1::json)",
    }
}
