//! Storage: one sqlx `Any` pool over SQLite (embedded) or PostgreSQL (scale mode).
//!
//! Domain code writes portable SQL (`$1` placeholders, `RETURNING`, `ON CONFLICT`); the few
//! places where the dialects differ live in [`dialect`]. Column types are restricted to what both
//! backends decode through `Any`: TEXT, BIGINT/INTEGER (timestamps are Unix milliseconds, flags
//! are 0/1) and JSON kept as TEXT.

pub mod bulk;
pub mod dialect;
pub mod event_data;
pub mod event_log;
pub mod fulltext;
pub mod lease;
pub mod rebuild;
pub mod statistics;
pub mod writer;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyConnection, AnyPool, Executor};
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Which database the store talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Every backend, for code that is the same on each (e.g. a test of SQL built for either).
pub const BACKENDS: [Backend; 2] = [Backend::Sqlite, Backend::Postgres];

/// Errors the store reports to services.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    #[error("conflict: {0}")]
    Conflict(String),
    #[error(transparent)]
    Other(#[from] sqlx::Error),
}

impl StoreError {
    /// Map unique-constraint violations to `Conflict`, keep the rest.
    pub fn from_sqlx(e: sqlx::Error) -> Self {
        match &e {
            sqlx::Error::RowNotFound => StoreError::NotFound,
            sqlx::Error::Database(db) if db.is_unique_violation() => {
                StoreError::Conflict(db.message().to_string())
            }
            _ => StoreError::Other(e),
        }
    }
}

pub type StoreResult<T> = Result<T, StoreError>;

/// The connection pool plus what is needed to use it safely on each backend.
#[derive(Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    /// SQLite allows one writer; serialising write transactions in-process avoids
    /// `SQLITE_BUSY` upgrade failures (background work takes a back seat, see [`writer`]).
    /// PostgreSQL needs no such lock.
    write_lock: Option<writer::WriteLock>,
    webhooks: Arc<WebhookCache>,
    /// Transactions committed so far (for [`Store::run_checkpoints`]).
    commits: Arc<AtomicU64>,
}

/// Whether any active webhook exists, as last read (Unix ms of the reading, answer), so
/// changes need not look for webhooks to notify in a database that has none.
#[derive(Default)]
struct WebhookCache(std::sync::Mutex<Option<(i64, bool)>>);

/// How long a reading of [`WebhookCache`] is trusted: a webhook added on another node starts
/// receiving this node's events at most this long after it was created.
const WEBHOOK_CACHE_MS: i64 = 1000;

/// A write transaction (holding the SQLite writer lock where needed).
pub struct Tx {
    tx: sqlx::Transaction<'static, sqlx::Any>,
    _guard: Option<writer::WriteGuard>,
    webhooks: Arc<WebhookCache>,
    commits: Arc<AtomicU64>,
    /// Events to write in the event log at commit ([`Tx::log_event`]).
    log: Vec<event_log::Logged>,
}

impl Tx {
    /// Write `ev` in the deployment's event log when this transaction commits (numbered in
    /// commit order there, see [`event_log`]); its `seq` then lands in `ev.slot`.
    pub fn log_event(&mut self, ev: &crate::bus::Event) {
        self.log.push(event_log::Logged::of(ev));
    }

    /// [`Tx::log_event`] of events whose rows were built already ([`event_log::Logged::of`],
    /// e.g. on a blocking thread beside the batch's other CPU work), in their order.
    pub fn log_built(&mut self, rows: Vec<event_log::Logged>) {
        self.log.extend(rows);
    }

    /// SQLite: the event-log insert of the events recorded so far (then not written at
    /// commit), for the caller to send as the LAST statement of its own multi-statement write
    /// — one round trip fewer per commit; give the rows it returns to its `slots`. `None` on
    /// PostgreSQL, when nothing was recorded, or when one statement cannot hold them all.
    pub fn take_log_insert(&mut self) -> Option<event_log::LogInsert> {
        if self.log.is_empty() || !self.is_sqlite() || !event_log::LogInsert::fits(self.log.len()) {
            return None;
        }
        Some(event_log::LogInsert::sqlite(std::mem::take(&mut self.log)))
    }

    pub fn conn(&mut self) -> &mut AnyConnection {
        &mut self.tx
    }

    /// True on the embedded SQLite backend.
    pub fn is_sqlite(&mut self) -> bool {
        self.tx.backend_name().eq_ignore_ascii_case("sqlite")
    }

    /// The backend this transaction runs on.
    pub fn backend(&mut self) -> Backend {
        if self.is_sqlite() {
            Backend::Sqlite
        } else {
            Backend::Postgres
        }
    }

    /// [`Store::index_hint`] inside a transaction.
    pub fn index_hint(&mut self, index: &str) -> String {
        let backend = self.backend();
        dialect::index_hint(backend, index)
    }

    /// True when the store has one writer (SQLite): nothing read inside this transaction can
    /// change before it commits, so a batch may decide from one read instead of locking rows.
    pub fn single_writer(&mut self) -> bool {
        self.is_sqlite()
    }

    /// True when an active webhook may exist (read at most [`WEBHOOK_CACHE_MS`] ago, or now
    /// inside this transaction).
    pub async fn webhooks_active(&mut self) -> StoreResult<bool> {
        let now = now_ms();
        let cached = *self.webhooks.0.lock().expect("webhook cache lock");
        if let Some((at, active)) = cached {
            if now - at < WEBHOOK_CACHE_MS && now >= at {
                return Ok(active);
            }
        }
        let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM webhooks WHERE active = 1")
            .fetch_one(self.conn())
            .await
            .map_err(StoreError::from_sqlx)?;
        *self.webhooks.0.lock().expect("webhook cache lock") = Some((now, n > 0));
        Ok(n > 0)
    }
    pub async fn commit(mut self) -> StoreResult<()> {
        let log = std::mem::take(&mut self.log);
        if !log.is_empty() {
            event_log::append(&mut self, log).await?;
        }
        self.tx.commit().await.map_err(StoreError::from_sqlx)?;
        self.commits.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    /// Roll back now, e.g. a read-only transaction when done: its snapshot is released at
    /// once instead of when its connection is next used.
    pub async fn rollback(self) {
        let _ = self.tx.rollback().await;
    }

    /// Commit when `result` is `Ok`; otherwise roll back at once, before the SQLite write
    /// lock is released, and return the error. (A dropped transaction is rolled back later,
    /// when its connection is next used, while the next writer — e.g. the same records
    /// retried one by one — may already have begun on another connection.)
    pub async fn finish<T, E: From<StoreError>>(self, result: Result<T, E>) -> Result<T, E> {
        match result {
            Ok(v) => {
                self.commit().await?;
                Ok(v)
            }
            Err(e) => {
                let _ = self.tx.rollback().await;
                Err(e)
            }
        }
    }
}

/// PostgreSQL pool options: a connection is pinged before use only when it has been idle for
/// over a second. sqlx pings each connection when it is released (and closes one that does
/// not answer), so pinging it again when it is taken a moment later only cost every
/// transaction and request a round trip (`begin` 1.1 → 0.6 ms with pushed mail,
/// BENCHMARKS.md session 21); an idle connection may have outlived its server (a restart)
/// and is still checked.
fn pg_pool(opts: AnyPoolOptions) -> AnyPoolOptions {
    opts.test_before_acquire(false)
        .before_acquire(|conn, meta| {
            Box::pin(async move {
                if meta.idle_for < Duration::from_secs(1) {
                    return Ok(true);
                }
                Ok(sqlx::Connection::ping(conn).await.is_ok())
            })
        })
}

static MIGRATOR_SQLITE: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static MIGRATOR_POSTGRES: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

impl Store {
    /// Connect to `url` (`sqlite://…` or `postgres://…`); `sqlite_synchronous` (`normal` or
    /// `full`) is SQLite's `PRAGMA synchronous`.
    pub async fn connect(
        url: &str,
        max_connections: u32,
        sqlite_synchronous: &str,
    ) -> anyhow::Result<Self> {
        Self::connect_with_timeout(
            url,
            max_connections,
            sqlite_synchronous,
            Duration::from_secs(10),
        )
        .await
    }

    /// [`Store::connect`] with the longest wait for a pooled connection: past it a request
    /// fails fast (503 `database_unavailable`) instead of hanging while the database is down.
    pub async fn connect_with_timeout(
        url: &str,
        max_connections: u32,
        sqlite_synchronous: &str,
        acquire_timeout: Duration,
    ) -> anyhow::Result<Self> {
        let synchronous = match sqlite_synchronous.to_ascii_lowercase().as_str() {
            "normal" => "NORMAL",
            "full" => "FULL",
            other => anyhow::bail!(
                "database.sqlite_synchronous must be \"normal\" or \"full\", not {other:?}"
            ),
        };
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Backend::Postgres
        } else {
            anyhow::bail!("unsupported database URL scheme (use sqlite:// or postgres://)");
        };
        let opts = AnyConnectOptions::from_str(url)?;
        let pool_opts = AnyPoolOptions::new()
            .max_connections(max_connections)
            .acquire_timeout(acquire_timeout);
        let pool = match backend {
            Backend::Sqlite => {
                // An in-process database: no dropped connection to detect, so no ping
                // (a statement round trip) before every use.
                pool_opts
                    .test_before_acquire(false)
                    .after_connect(move |conn, _| {
                        Box::pin(async move {
                            conn.execute(
                                format!(
                                    "PRAGMA journal_mode=WAL; PRAGMA synchronous={synchronous}; \
                                     PRAGMA foreign_keys=ON; PRAGMA busy_timeout=10000; \
                                     PRAGMA wal_autocheckpoint=10000;"
                                )
                                .as_str(),
                            )
                            .await?;
                            Ok(())
                        })
                    })
                    .connect_with(opts)
                    .await?
            }
            // No JIT compiling: it pays off for long analytical scans, but a short statement
            // the planner costs high (the router's look over a backlog) spent 30 ms of its
            // 75 ms compiling, on every pass. An operator's own `jit` in the URL's options wins.
            Backend::Postgres if !url.split_once('?').is_some_and(|(_, q)| q.contains("jit")) => {
                pg_pool(pool_opts)
                    .after_connect(|conn, _| {
                        Box::pin(async move {
                            conn.execute("SET jit = off").await?;
                            Ok(())
                        })
                    })
                    .connect_with(opts)
                    .await?
            }
            Backend::Postgres => pg_pool(pool_opts).connect_with(opts).await?,
        };
        let write_lock = (backend == Backend::Sqlite).then(writer::WriteLock::default);
        Ok(Store {
            pool,
            backend,
            write_lock,
            webhooks: Arc::default(),
            commits: Arc::default(),
        })
    }

    /// Apply pending migrations for this backend.
    pub async fn migrate(&self) -> anyhow::Result<()> {
        let migrator = match self.backend {
            Backend::Sqlite => &MIGRATOR_SQLITE,
            Backend::Postgres => &MIGRATOR_POSTGRES,
        };
        migrator.run(&self.pool).await?;
        self.restore_indexes().await?;
        Ok(())
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Refresh the planner's statistics of `tables` before a long read of them, e.g. after a
    /// bulk import that autovacuum has not analysed yet (PostgreSQL would otherwise scan every
    /// row for each `= ANY(…)` lookup). SQLite plans without statistics (see `index_hint`):
    /// nothing to do there.
    pub async fn refresh_statistics(&self, tables: &[&str]) -> StoreResult<()> {
        if self.backend == Backend::Postgres {
            for t in tables {
                sqlx::query(&format!("ANALYZE {t}"))
                    .execute(&self.pool)
                    .await
                    .map_err(StoreError::from_sqlx)?;
            }
        }
        Ok(())
    }

    /// True when the store has one writer at a time (SQLite): splitting a write into parallel
    /// streams gains nothing.
    pub fn single_writer(&self) -> bool {
        self.backend == Backend::Sqlite
    }

    /// How many batch writers (e.g. chat group commits) may run at once: one with a single
    /// writer; otherwise half the pool, at most four, leaving connections for everything else.
    pub fn parallel_writers(&self) -> usize {
        if self.single_writer() {
            return 1;
        }
        (self.pool.options().get_max_connections() as usize / 2).clamp(1, 4)
    }

    /// `INDEXED BY index` where the planner must be told (SQLite, which has no statistics),
    /// else nothing; for after a table name in `FROM`.
    pub fn index_hint(&self, index: &str) -> String {
        dialect::index_hint(self.backend, index)
    }

    /// Start a write transaction. On SQLite with `BEGIN IMMEDIATE`: it takes the database's
    /// write lock at once (waiting up to `busy_timeout` for a write made outside this store's
    /// lock, e.g. a lease renewal), so a transaction that reads and then writes can never fail
    /// with `SQLITE_BUSY_SNAPSHOT` because such a write committed in between — which a
    /// deferred `BEGIN` allowed, failing a chat batch and then its messages one by one.
    pub async fn begin(&self) -> StoreResult<Tx> {
        let guard = match &self.write_lock {
            Some(lock) => Some(lock.foreground().await),
            None => None,
        };
        self.begin_holding(guard).await
    }

    /// [`Store::begin`] for background work that only has to catch up (the report worker):
    /// on SQLite it lets transactions someone waits on go first, for a while
    /// ([`writer::WriteLock::background`]).
    pub async fn begin_background(&self) -> StoreResult<Tx> {
        let guard = match &self.write_lock {
            Some(lock) => Some(lock.background().await),
            None => None,
        };
        self.begin_holding(guard).await
    }

    async fn begin_holding(&self, guard: Option<writer::WriteGuard>) -> StoreResult<Tx> {
        let tx = match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await,
            Backend::Postgres => self.pool.begin().await,
        }
        .map_err(StoreError::from_sqlx)?;
        Ok(Tx {
            tx,
            _guard: guard,
            webhooks: self.webhooks.clone(),
            commits: self.commits.clone(),
            log: Vec::new(),
        })
    }

    /// Start a read-only transaction: one consistent snapshot, without the writer lock (on
    /// SQLite a deferred `BEGIN`, so writers are never kept waiting by it). Drop it when done;
    /// nothing it would write is committed.
    pub async fn begin_read(&self) -> StoreResult<Tx> {
        let tx = self.pool.begin().await.map_err(StoreError::from_sqlx)?;
        Ok(Tx {
            tx,
            _guard: None,
            webhooks: self.webhooks.clone(),
            commits: self.commits.clone(),
            log: Vec::new(),
        })
    }

    /// Forget whether webhooks exist (call after adding, changing or removing one).
    pub fn webhooks_changed(&self) {
        *self.webhooks.0.lock().expect("webhook cache lock") = None;
    }

    /// On SQLite, copy the write-ahead log into the database from a background task (a
    /// passive checkpoint never blocks writers), so commits rarely pay for one themselves
    /// (SQLite then checkpoints inside a commit only past 10,000 WAL pages): every `every`
    /// when a transaction committed since the last one, and at least once a second (writes
    /// made outside a transaction). Small and frequent is what keeps writers' latency low:
    /// a checkpoint's cost, its `fsync` above all, grows with the pages it copies, and
    /// commits made meanwhile wait behind it in the file system (measured at 2,000 chat
    /// messages/s: first-message ack p99 27 ms checkpointing every 500 ms, 6.0–7.9 ms every
    /// 50 ms, 4.9–6.1 ms every 10 ms). Does nothing on PostgreSQL. Ends when `stop` is
    /// cancelled.
    pub async fn run_checkpoints(self, every: Duration, stop: tokio_util::sync::CancellationToken) {
        if self.backend != Backend::Sqlite {
            return;
        }
        let mut done = self.commits.load(Ordering::Relaxed);
        let mut last = tokio::time::Instant::now();
        loop {
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = tokio::time::sleep(every) => {}
            }
            let commits = self.commits.load(Ordering::Relaxed);
            if commits == done && last.elapsed() < Duration::from_secs(1) {
                continue;
            }
            (done, last) = (commits, tokio::time::Instant::now());
            if let Err(e) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
                .execute(&self.pool)
                .await
            {
                tracing::warn!(error = %e, "SQLite checkpoint failed");
            }
        }
    }

    /// True when the database answers a trivial query.
    pub async fn ping(&self) -> bool {
        sqlx::query("SELECT 1").execute(&self.pool).await.is_ok()
    }
}

/// Current time as Unix milliseconds (how every timestamp is stored).
pub fn now_ms() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp_nanos() as i64 / 1_000_000
}

/// A new time-ordered, URL-safe id.
pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// Fixed-width RFC 3339 in UTC with milliseconds, so timestamps also sort as strings.
const RFC3339_MILLIS: &[time::format_description::FormatItem<'static>] = time::macros::format_description!(
    "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
);

/// Unix milliseconds as RFC 3339 (API output).
pub fn ms_to_rfc3339(ms: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp_nanos(ms as i128 * 1_000_000)
        .ok()
        .and_then(|t| t.format(RFC3339_MILLIS).ok())
        .unwrap_or_default()
}
