//! Full-text matching of messages and subjects: the one place where search SQL differs per
//! backend. SQLite matches with FTS5 (external-content tables kept by triggers, migration 0017);
//! PostgreSQL with `simple` tsvectors stored beside the text (`body_tsv`, `subject_tsv`,
//! migration 0033) in GIN indexes. Both index the folded copies written by the conversation
//! writers (`body_search`, `subject_search`) and receive terms folded the same way in Rust, so
//! they find the same conversations.

use super::{Backend, Store, StoreError, StoreResult};

/// SQL producing rows `(conversation_id, message_id, text)` for the newest `ranked` messages
/// (and, apart, conversation subjects, with a NULL `message_id`) matching all terms bound as
/// `$1` whose conversation `c` passes `filter` (` AND …` clauses on `c.`); `text` is the
/// folded text matched, which `search::rank` scores. Only the newest matches are taken: a
/// common word matches a large share of a year's messages (`limits.search_ranked_matches`).
pub fn hits_sql(backend: Backend, filter: &str, ranked: usize) -> String {
    match backend {
        // FTS5 walks its matches by rowid, newest first, and stops at the limit.
        Backend::Sqlite => format!(
            "SELECT * FROM (SELECT m.conversation_id AS conversation_id, m.id AS message_id, \
                    m.body_search AS text \
             FROM messages_fts JOIN messages m ON m.rowid = messages_fts.rowid \
               JOIN conversations c ON c.id = m.conversation_id \
             WHERE messages_fts MATCH $1{filter} ORDER BY messages_fts.rowid DESC LIMIT {ranked}) \
             UNION ALL \
             SELECT * FROM (SELECT c.id, NULL, c.subject_search \
             FROM conversations_fts JOIN conversations c ON c.rowid = conversations_fts.rowid \
             WHERE conversations_fts MATCH $1{filter} ORDER BY conversations_fts.rowid DESC LIMIT {ranked})"
        ),
        // Ids are time-ordered (UUIDv7): the newest matches by id.
        Backend::Postgres => format!(
            "(SELECT m.conversation_id AS conversation_id, m.id AS message_id, \
                    m.body_search AS text FROM messages m \
               JOIN conversations c ON c.id = m.conversation_id \
               WHERE m.body_tsv @@ to_tsquery('simple', $1){filter} \
               ORDER BY m.id DESC LIMIT {ranked}) \
             UNION ALL \
             (SELECT c.id, NULL::text, c.subject_search FROM conversations c \
               WHERE c.subject_tsv @@ to_tsquery('simple', $1){filter} \
               ORDER BY c.id DESC LIMIT {ranked})"
        ),
    }
}

/// SQL counting the messages holding the one term bound as `$1` (a [`match_param`] of it), up
/// to `cap` rows: how common a word is, for its weight in ranking, without reading every row
/// that holds a common one.
pub fn capped_count_sql(backend: Backend, cap: u32) -> String {
    match backend {
        Backend::Sqlite => format!(
            "SELECT COUNT(*) FROM (SELECT 1 FROM messages_fts \
             WHERE messages_fts MATCH $1 LIMIT {cap}) t"
        ),
        Backend::Postgres => format!(
            "SELECT COUNT(*) FROM (SELECT 1 FROM messages \
             WHERE body_tsv @@ to_tsquery('simple', $1) LIMIT {cap}) t"
        ),
    }
}

/// How the next full-text statements of a transaction may read on PostgreSQL, whose planner
/// otherwise chooses from its estimate of a word's frequency. A word missing from the
/// statistics is estimated at a fixed share (17,266 of 3.45 million messages for one found in
/// 16): the planner then walked the primary key backwards, re-parsing every message to find
/// the newest matches, 13.9 s (BENCHMARKS.md, session 17). SQLite's FTS5 plans alike always.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Plan {
    /// Only through the full-text indexes (every match, then the newest of them): the cost
    /// follows the number of matches.
    IndexOnly,
    /// The planner's choice, for words its statistics know as common: walking the newest
    /// rows (checking each one's stored vector) finds their newest matches soonest.
    Newest,
}

/// Matches estimated by PostgreSQL's statistics above which [`Plan::Newest`] serves.
const COMMON_ESTIMATE: f64 = 50_000.0;

/// Choose the plan for matching `param` (a [`match_param`]) in messages and set it for the
/// rest of the transaction `tx`: from PostgreSQL's estimate of the matches (planning only, no
/// rows read), which its statistics get right for common words (they are listed there) and
/// overestimate for rare ones ([`Plan::IndexOnly`] either way). Nothing to set on SQLite.
pub async fn choose_plan(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    backend: Backend,
    param: &str,
) -> StoreResult<Plan> {
    if backend != Backend::Postgres {
        return Ok(Plan::IndexOnly);
    }
    let lines: Vec<String> = sqlx::query_scalar(
        "EXPLAIN SELECT 1 FROM messages WHERE body_tsv @@ to_tsquery('simple', $1)",
    )
    .bind(param)
    .fetch_all(&mut **tx)
    .await
    .map_err(StoreError::from_sqlx)?;
    let rows = lines
        .first()
        .and_then(|l| l.split("rows=").nth(1))
        .and_then(|r| r.split_whitespace().next())
        .and_then(|r| r.parse::<f64>().ok())
        .unwrap_or(0.0);
    let plan = if rows >= COMMON_ESTIMATE {
        Plan::Newest
    } else {
        Plan::IndexOnly
    };
    let on = if plan == Plan::IndexOnly { "off" } else { "on" };
    // No parallel workers: on a few cores they take the CPU other agents' requests wait for
    // (eight searches at once queued to ~1 s with them, BENCHMARKS.md session 18).
    let settings = [
        format!("enable_seqscan = {on}"),
        format!("enable_indexscan = {on}"),
        "max_parallel_workers_per_gather = 0".to_string(),
    ];
    for setting in settings {
        sqlx::query(&format!("SET LOCAL {setting}"))
            .execute(&mut **tx)
            .await
            .map_err(StoreError::from_sqlx)?;
    }
    Ok(plan)
}

/// The `$1` of [`hits_sql`] for folded terms made only of letters and digits (every term
/// must occur, as a whole word).
pub fn match_param(backend: Backend, terms: &[String]) -> String {
    let quote = match backend {
        Backend::Sqlite => '"',
        Backend::Postgres => '\'',
    };
    let join = match backend {
        Backend::Sqlite => " ",
        Backend::Postgres => " & ",
    };
    terms
        .iter()
        .map(|t| format!("{quote}{t}{quote}"))
        .collect::<Vec<_>>()
        .join(join)
}

/// The part of a customer search that finds who matches: SQL selecting the ids of customers
/// whose folded name or a (non-visitor) identity contains `folded`, and, with `phone_prefix`,
/// whose identity starts with it; with the values to bind as `$2` and `$3`. SQLite answers
/// from its trigram indexes (migration 0029) for three characters or more, PostgreSQL from
/// `pg_trgm` GIN indexes serving the same `LIKE`; shorter text reads every row.
pub fn customer_ids(
    backend: Backend,
    folded: &str,
    phone_prefix: Option<&str>,
) -> (String, [String; 2]) {
    let like = format!("%{}%", super::dialect::like_escape(folded));
    let (mut sql, text) = if backend == Backend::Sqlite && folded.chars().count() >= 3 {
        (
            "SELECT id FROM customers WHERE rowid IN \
               (SELECT rowid FROM customers_name_fts WHERE customers_name_fts MATCH $2) \
             UNION SELECT customer_id FROM identities WHERE rowid IN \
               (SELECT rowid FROM identities_fts WHERE identities_fts MATCH $2)"
                .to_string(),
            format!("\"{}\"", folded.replace('"', "\"\"")),
        )
    } else {
        (
            "SELECT id FROM customers WHERE name_search LIKE $2 ESCAPE '\\' \
             UNION SELECT customer_id FROM identities \
               WHERE kind <> 'visitor' AND value LIKE $2 ESCAPE '\\'"
                .to_string(),
            like,
        )
    };
    // Always in the statement (so the parameters keep their numbers); without a prefix the
    // arm's constant condition is false and it reads nothing.
    sql.push_str(
        " UNION SELECT customer_id FROM identities \
          WHERE $3 <> '' AND kind <> 'visitor' AND value LIKE $3 ESCAPE '\\'",
    );
    let prefix = phone_prefix
        .map(|p| format!("{}%", super::dialect::like_escape(p)))
        .unwrap_or_default();
    (sql, [text, prefix])
}

/// Rebuild the full-text indexes from the stored rows (after an upgrade or a `VACUUM`). The
/// FTS5 tables' names are quoted, so `grep 'INSERT INTO messages'` finds the ledger alone.
pub async fn reindex(store: &Store) -> StoreResult<()> {
    let statements: &[&str] = match store.backend() {
        Backend::Sqlite => &[
            "INSERT INTO \"messages_fts\"(messages_fts) VALUES ('rebuild')",
            "INSERT INTO \"conversations_fts\"(conversations_fts) VALUES ('rebuild')",
            "INSERT INTO customers_name_fts(customers_name_fts) VALUES ('rebuild')",
            "INSERT INTO identities_fts(identities_fts) VALUES ('delete-all')",
            "INSERT INTO identities_fts(rowid, value) \
               SELECT rowid, value FROM identities WHERE kind <> 'visitor'",
        ],
        Backend::Postgres => &[
            "REINDEX INDEX messages_fts",
            "REINDEX INDEX conversations_fts",
            "REINDEX INDEX customers_name_trgm",
            "REINDEX INDEX identities_value_trgm",
        ],
    };
    let mut tx = store.begin().await?;
    for sql in statements {
        sqlx::query(sql)
            .execute(tx.conn())
            .await
            .map_err(StoreError::from_sqlx)?;
    }
    tx.commit().await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_term_is_quoted_and_required() {
        let terms = vec!["کد".to_string(), "447812".to_string()];
        assert_eq!(match_param(Backend::Sqlite, &terms), "\"کد\" \"447812\"");
        assert_eq!(match_param(Backend::Postgres, &terms), "'کد' & '447812'");
    }
}
