//! The server keeps PostgreSQL's planner statistics itself when autovacuum is off
//! (`store::statistics`): without them plans made while a table was small stay, and a
//! foreign-key check scans the whole table.

use crate::helpers::{fresh_database, spawn_app, Backend};
use std::time::{Duration, Instant};
use switchboard::store::{statistics, Store};

async fn store(backend: Backend, dir: &std::path::Path) -> Store {
    let url = fresh_database(backend, dir).await;
    let store = Store::connect(&url, 4, "normal").await.expect("connects");
    store.migrate().await.expect("migrates");
    store
}

async fn add_customers(store: &Store, from: usize, n: usize) {
    for k in from..from + n {
        sqlx::query(
            "INSERT INTO customers (id, name, name_search, created_at, updated_at) \
             VALUES ($1, $2, $2, 0, 0)",
        )
        .bind(format!("c{k}"))
        .bind(format!("customer {k}"))
        .execute(store.pool())
        .await
        .expect("customer inserted");
    }
}

/// A table changed past autovacuum's threshold for analysing (50 rows + 10 %) is analysed;
/// past its threshold for inserted rows (1,000 + 20 %) vacuumed too, which marks its pages
/// all-visible. Nothing is ever due on SQLite.
async fn a_table_changed_past_the_thresholds_is_analysed_or_vacuumed(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let store = store(backend, dir.path()).await;
    add_customers(&store, 0, 120).await;
    if backend == Backend::Sqlite {
        assert!(statistics::due(&store).await.unwrap().is_empty());
        assert!(statistics::run_due(&store).await.unwrap().is_empty());
        assert!(statistics::autovacuum_on(&store).await.unwrap());
        return;
    }
    let (tuples, visible) = run_when_due(&store, "ANALYZE public.customers").await;
    assert_eq!(tuples, 120.0);
    assert_eq!(visible, 0, "analysed, not vacuumed");
    // Fewer changes than the threshold since: nothing due.
    add_customers(&store, 120, 10).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(!statistics::due(&store)
        .await
        .unwrap()
        .iter()
        .any(|s| s.ends_with("public.customers")));
    // Past the inserted rows' threshold: vacuumed (and analysed).
    add_customers(&store, 130, 1100).await;
    let (tuples, visible) = run_when_due(&store, "VACUUM (ANALYZE) public.customers").await;
    assert_eq!(tuples, 1230.0);
    assert!(visible > 0, "no page marked all-visible");
}

/// Wait until `statement` is among what is due (PostgreSQL counts changes asynchronously,
/// flushed within about a second), run what is due, and return `customers`' row count and
/// all-visible pages as the planner then knows them.
async fn run_when_due(store: &Store, statement: &str) -> (f32, i32) {
    let started = Instant::now();
    while !statistics::due(store)
        .await
        .unwrap()
        .iter()
        .any(|s| s == statement)
    {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "never due: {statement}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let done = statistics::run_due(store).await.unwrap();
    assert!(done.iter().any(|s| s == statement), "{done:?}");
    sqlx::query_as("SELECT reltuples, relallvisible FROM pg_class WHERE relname = 'customers'")
        .fetch_one(store.pool())
        .await
        .unwrap()
}

/// A running server analyses what changed when its PostgreSQL's autovacuum is off (as on
/// this project's CI machine); with autovacuum on it leaves that to PostgreSQL.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_running_server_analyses_its_tables_when_autovacuum_is_off() {
    let app = spawn_app(Backend::Postgres).await;
    let store = &app.state.store;
    add_customers(store, 0, 200).await;
    let analysed = || async {
        let (manual,): (bool,) = sqlx::query_as(
            "SELECT last_analyze IS NOT NULL FROM pg_stat_user_tables WHERE relname = 'customers'",
        )
        .fetch_one(store.pool())
        .await
        .unwrap();
        manual
    };
    if statistics::autovacuum_on(store).await.unwrap() {
        tokio::time::sleep(Duration::from_secs(12)).await;
        assert!(!analysed().await, "the server analysed beside autovacuum");
        return;
    }
    let started = Instant::now();
    while !analysed().await {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the server never analysed customers"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

crate::storage_tests!(a_table_changed_past_the_thresholds_is_analysed_or_vacuumed);

/// One conversation, `v1` (of customer `c0`).
async fn add_conversation(store: &Store) {
    add_customers(store, 0, 1).await;
    sqlx::query(
        "INSERT INTO conversations (id, number, customer_id, channel, status, created_at, \
           updated_at) VALUES ('v1', 1, 'c0', 'email', 'open', 0, 0)",
    )
    .execute(store.pool())
    .await
    .expect("conversation inserted");
}

/// How PostgreSQL plans a foreign-key check of `conversations` once the table holds a row:
/// the statement it keeps per connection, planned for any key (a generic plan).
async fn foreign_key_check_plan(store: &Store) -> String {
    add_conversation(store).await;
    let mut conn = store.pool().acquire().await.unwrap();
    for sql in [
        "SET plan_cache_mode = force_generic_plan",
        "PREPARE fk(text) AS SELECT 1 FROM ONLY conversations x WHERE id = $1 FOR KEY SHARE OF x",
    ] {
        sqlx::query(sql).execute(&mut *conn).await.unwrap();
    }
    let lines: Vec<(String,)> = sqlx::query_as("EXPLAIN EXECUTE fk('v1')")
        .fetch_all(&mut *conn)
        .await
        .unwrap();
    sqlx::query("RESET plan_cache_mode")
        .execute(&mut *conn)
        .await
        .unwrap();
    lines
        .into_iter()
        .map(|l| l.0)
        .collect::<Vec<_>>()
        .join("\n")
}

/// A new database's foreign-key checks read the primary key: migration 0033 analysed the
/// empty `conversations` and `messages`, after which PostgreSQL planned those checks (kept
/// per pooled connection) as scans of the whole table; migration 0039 forgets that.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_databases_foreign_key_checks_read_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(Backend::Postgres, dir.path()).await;
    for table in ["conversations", "messages"] {
        let (tuples,): (f32,) = sqlx::query_as("SELECT reltuples FROM pg_class WHERE relname = $1")
            .bind(table)
            .fetch_one(store.pool())
            .await
            .unwrap();
        assert!(tuples < 0.0, "{table} counts as analysed: {tuples} rows");
    }
    let plan = foreign_key_check_plan(&store).await;
    assert!(plan.contains("conversations_pkey"), "{plan}");
}

/// Migration 0039 leaves a database holding anything as it was: run again on one with a
/// conversation, it keeps every row (and the statistics).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forgetting_the_statistics_keeps_every_row() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(Backend::Postgres, dir.path()).await;
    add_conversation(&store).await;
    sqlx::query("ANALYZE conversations")
        .execute(store.pool())
        .await
        .unwrap();
    let migration = include_str!("../../migrations/postgres/0039_new_database_statistics.sql");
    sqlx::raw_sql(migration)
        .execute(store.pool())
        .await
        .expect("the migration runs again");
    let (rows, tuples): (i64, f32) = sqlx::query_as(
        "SELECT (SELECT COUNT(*) FROM conversations), \
           (SELECT reltuples FROM pg_class WHERE relname = 'conversations')",
    )
    .fetch_one(store.pool())
    .await
    .unwrap();
    assert_eq!((rows, tuples), (1, 1.0));
}
