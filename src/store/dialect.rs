//! The statements whose SQL differs between SQLite and PostgreSQL. Outside `src/store/`, only
//! the conversation ledger (`conversations::ledger`, whose batch statements are shaped per
//! backend) branches on the backend.

use super::{Backend, StoreError, StoreResult, Tx};

/// The next human-facing conversation number (`#1000`, `#1001`, …) on PostgreSQL: a sequence
/// (safe across nodes). An expression, for statements that number rows themselves.
pub const PG_NEXT_NUMBER: &str = "nextval('conversation_numbers')";

/// The next conversation number on SQLite: the maximum plus one, read inside the serialised
/// write transaction (safe because only one writer exists). A `SELECT` list item and its
/// `FROM`, for statements that read it beside other things.
pub const SQLITE_NEXT_NUMBER: &str = "COALESCE(MAX(number), 999) + 1 FROM conversations";

/// Allocate the next conversation number ([`PG_NEXT_NUMBER`], [`SQLITE_NEXT_NUMBER`]).
pub async fn next_conversation_number(backend: Backend, tx: &mut Tx) -> StoreResult<i64> {
    let sql = match backend {
        Backend::Postgres => format!("SELECT {PG_NEXT_NUMBER}"),
        Backend::Sqlite => format!("SELECT {SQLITE_NEXT_NUMBER}"),
    };
    let (n,): (i64,) = sqlx::query_as(&sql)
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
            let sql = format!("SELECT {PG_NEXT_NUMBER} FROM generate_series(1::bigint, $1)");
            let rows: Vec<(i64,)> = sqlx::query_as(&sql)
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

/// The backend of a connection outside a transaction.
pub fn backend_of(conn: &sqlx::AnyConnection) -> Backend {
    if conn.backend_name().eq_ignore_ascii_case("sqlite") {
        Backend::Sqlite
    } else {
        Backend::Postgres
    }
}

/// [`json_values`] for a connection outside a transaction.
pub fn json_values_on(backend: Backend) -> &'static str {
    match backend {
        Backend::Sqlite => "json_each($1)",
        Backend::Postgres => "json_array_elements_text($1::json)",
    }
}

/// [`json_values_on`] reading the JSON array of strings bound as `$n` (for statements with
/// other parameters before it).
pub fn json_values_at(backend: Backend, n: usize) -> String {
    match backend {
        Backend::Sqlite => format!("json_each(${n})"),
        Backend::Postgres => format!("json_array_elements_text(${n}::json)"),
    }
}

/// A membership test in the JSON array bound as `$n`, for after a column (`col {in_json_list}`);
/// `cast` (e.g. `BIGINT`) converts each element first. SQLite reads the array with
/// `json_each`; PostgreSQL builds it into an array once (`= ANY(ARRAY(…))`), so the column's
/// index is probed per element whatever the planner's statistics say — `IN (SELECT …)`
/// becomes a semi-join that reads every row when they are stale (right after a bulk load).
pub fn in_json_list(backend: Backend, n: usize, cast: Option<&str>) -> String {
    let each = |v: &str| match cast {
        Some(t) => format!("CAST({v} AS {t})"),
        None => v.to_string(),
    };
    match backend {
        Backend::Sqlite => format!("IN (SELECT {} FROM json_each(${n}))", each("value")),
        Backend::Postgres => format!(
            "= ANY(ARRAY(SELECT {} FROM json_array_elements_text(${n}::json) AS j(v)))",
            each("v")
        ),
    }
}

/// [`in_json_list`] as a set to join (`IN (SELECT …)`) on PostgreSQL too, for a column that
/// comes second in its index (e.g. `identities(kind, value)`): there `= ANY(…)` is not made an
/// index condition while the first column has no statistics yet (a new database until
/// autovacuum analyses it), and every row of the first column's value is then compared with
/// every element — a voice batch of 1,000 callers against every phone number stored. A
/// semi-join reads those rows once instead (voice ingest on a fresh PostgreSQL database
/// +7–11 %, BENCHMARKS.md session 20); with statistics both probe the index.
pub fn in_json_set(backend: Backend, n: usize) -> String {
    match backend {
        Backend::Sqlite => in_json_list(backend, n, None),
        Backend::Postgres => {
            format!("IN (SELECT v FROM json_array_elements_text(${n}::json) AS j(v))")
        }
    }
}

/// `INDEXED BY index` on SQLite, which plans without statistics and may otherwise pick a
/// worse index (e.g. one that reads every phone entry ever stored); nothing on PostgreSQL,
/// which picks from its statistics.
pub fn index_hint(backend: Backend, index: &str) -> String {
    match backend {
        Backend::Sqlite => format!("INDEXED BY {index}"),
        Backend::Postgres => String::new(),
    }
}

/// Rows a background sweep may leave for its next pass: ` FOR UPDATE OF alias SKIP LOCKED` on
/// PostgreSQL, so a sweep updating many conversations never waits for a row another
/// transaction holds (the chat writer's group commit updating some of the same conversations
/// in another order made a deadlock); nothing on SQLite, whose one writer never waits so.
pub fn skip_locked(backend: Backend, alias: &str) -> String {
    match backend {
        Backend::Sqlite => String::new(),
        Backend::Postgres => format!(" FOR UPDATE OF {alias} SKIP LOCKED"),
    }
}

/// ` FOR UPDATE` on PostgreSQL: the selected rows are locked until the transaction ends, so
/// figures recomputed from other rows cannot overwrite a concurrent writer's increment;
/// nothing on SQLite, whose transactions write one at a time.
pub fn for_update(backend: Backend) -> &'static str {
    match backend {
        Backend::Sqlite => "",
        Backend::Postgres => " FOR UPDATE",
    }
}

/// Wait for, and hold until `tx` ends, the exclusive lock named `key` (a PostgreSQL
/// transaction-scoped advisory lock): transactions taking the same key run one after another.
/// Nothing on SQLite, whose transactions write one at a time.
pub async fn serialise_on(tx: &mut Tx, key: i64) -> StoreResult<()> {
    if tx.is_sqlite() {
        return Ok(());
    }
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(key)
        .execute(tx.conn())
        .await
        .map_err(StoreError::from_sqlx)?;
    Ok(())
}

/// An aggregate of the selected rows' `a` and `b` (text columns) as ONE JSON text
/// `[[a, b], …]` (`[]` when no row): a lookup of thousands of rows comes back as one row, not
/// one row each (each streamed from the driver's worker and decoded on its own — an import's
/// identity lookups spent more on that than on finding them).
pub fn json_pairs(backend: Backend, a: &str, b: &str) -> String {
    match backend {
        Backend::Sqlite => format!("json_group_array(json_array({a}, {b}))"),
        Backend::Postgres => {
            format!("COALESCE(json_agg(json_build_array({a}, {b})), '[]')::text")
        }
    }
}
