//! What a report pass reads: the conversations changed since the worker's persisted position,
//! per source (new history rows; conversations whose `updated_at` moved).
//!
//! A row is stamped before its transaction commits, so a row can become visible after a pass
//! has moved the position past its stamp ("late"; `reports.late_commit_secs` bounds how late).
//! Besides the rows after the position, a pass therefore re-reads a *window* of rows at or
//! before it — but not every pass: at most every half `late_commit_secs` (the first pass of a
//! process always), and each window reaches back to `late_commit_secs` before the position the
//! previous window read ended at (persisted beside the position, `<source>.window`). That still
//! finds every late row: take a row stamped `t` that commits at `c ≤ t + late`, and the first
//! window read that starts after `c`; the previous one started before `c`, so the position it
//! ended at is at most `c`, and this window starts at or before `c − late ≤ t`. Re-reading the
//! last `late_commit_secs` on every pass cost most of a busy pass (at 2,000 chat messages a
//! second, 20,000 rows read again for 2,000 new ones, passes back to back while catching up).
//! Rows this process already read are skipped ([`Scanned::fresh`]).

use crate::settings::Settings;
use crate::state::AppState;
use crate::store::{StoreError, StoreResult, Tx};
use std::collections::{BTreeSet, HashMap};
use std::sync::{Mutex, OnceLock};
use std::time::Instant;

/// Most rows read per source and pass.
const SCAN_LIMIT: i64 = 2_000;

/// A source of changes: rows `(conversation id, time, row id)` after a position.
pub struct Source {
    pub name: &'static str,
    window_name: &'static str,
    after: &'static str,
    window: &'static str,
}

pub const SOURCES: [Source; 2] = [
    Source {
        name: "history",
        window_name: "history.window",
        after: "SELECT conversation_id, created_at, id FROM conversation_events \
                WHERE created_at >= $1 AND (created_at > $1 OR id > $2) \
                ORDER BY created_at, id LIMIT $3",
        window: "SELECT conversation_id, created_at, id FROM conversation_events \
                 WHERE created_at >= $1 AND created_at <= $2",
    },
    Source {
        name: "conversations",
        window_name: "conversations.window",
        after: "SELECT id, updated_at, id FROM conversations \
                WHERE updated_at >= $1 AND (updated_at > $1 OR id > $2) \
                ORDER BY updated_at, id LIMIT $3",
        window: "SELECT id, updated_at, id FROM conversations \
                 WHERE updated_at >= $1 AND updated_at <= $2",
    },
];

/// What this process remembers per database and source: the rows it already read (by key,
/// with their time) and when it last read a window.
#[derive(Default)]
struct Memory {
    seen: HashMap<String, i64>,
    last_window: Option<Instant>,
}

fn memory() -> &'static Mutex<HashMap<String, Memory>> {
    static MEMORY: OnceLock<Mutex<HashMap<String, Memory>>> = OnceLock::new();
    MEMORY.get_or_init(Mutex::default)
}

/// A key naming `source` of the configured database, for what this process keeps about it.
pub fn key(settings: &Settings, source: &str) -> String {
    use secrecy::ExposeSecret;
    format!("{}#{source}", settings.database.url.expose_secret())
}

/// What a scan found: the new position, whether it was cut short, the rows not read before.
pub struct Scanned {
    name: &'static str,
    window_name: &'static str,
    pub next: Option<(i64, String)>,
    pub full: bool,
    fresh: Vec<(String, i64)>,
    /// The position this scan's window read ended at, when it read one.
    window_at: Option<i64>,
}

impl Scanned {
    /// Whether saving this scan changes a persisted position.
    pub fn moved(&self) -> bool {
        self.next.is_some() || self.window_at.is_some()
    }
}

/// Conversations changed after the source's position (and, when due, late rows of the window
/// before it) go to `dirty`; the new position when it moved, and whether the scan was cut short.
pub async fn scan(
    state: &AppState,
    src: &Source,
    dirty: &mut BTreeSet<String>,
) -> StoreResult<Scanned> {
    let late = state.settings.reports.late_commit_secs.max(0) * 1000;
    let pool = state.store.pool();
    let positions: Vec<(String, i64, String)> =
        sqlx::query_as("SELECT name, at, last_id FROM report_positions WHERE name IN ($1, $2)")
            .bind(src.name)
            .bind(src.window_name)
            .fetch_all(pool)
            .await
            .map_err(StoreError::from_sqlx)?;
    let find = |n: &str| positions.iter().find(|p| p.0 == n);
    let (at, last) = find(src.name).map_or((0, String::new()), |p| (p.1, p.2.clone()));
    let rows: Vec<(String, i64, String)> = sqlx::query_as(src.after)
        .bind(at)
        .bind(&last)
        .bind(SCAN_LIMIT)
        .fetch_all(pool)
        .await
        .map_err(StoreError::from_sqlx)?;
    let mem_key = key(&state.settings, src.name);
    let due = window_due(&mem_key, late);
    let mut window = Vec::new();
    if due {
        let since = find(src.window_name).map_or(at, |p| p.1.min(at)) - late;
        window = sqlx::query_as(src.window)
            .bind(since)
            .bind(at)
            .fetch_all(pool)
            .await
            .map_err(StoreError::from_sqlx)?;
    }
    let full = rows.len() as i64 >= SCAN_LIMIT;
    let next = rows.last().map(|r| (r.1, r.2.clone()));
    let map = memory().lock().expect("report scan memory");
    let seen = map.get(&mem_key).map(|m| &m.seen);
    let mut fresh = Vec::new();
    for (conv, t, id) in window.into_iter().chain(rows) {
        let key = format!("{id}@{t}");
        if !seen.is_some_and(|s| s.contains_key(&key)) {
            dirty.insert(conv);
            fresh.push((key, t));
        }
    }
    Ok(Scanned {
        name: src.name,
        window_name: src.window_name,
        next,
        full,
        fresh,
        window_at: due.then_some(at),
    })
}

/// Whether this process should read `source`'s window now (see the module's documentation).
fn window_due(mem_key: &str, late: i64) -> bool {
    let map = memory().lock().expect("report scan memory");
    map.get(mem_key)
        .and_then(|m| m.last_window)
        .is_none_or(|t| t.elapsed().as_millis() as i64 * 2 >= late)
}

/// Make sure the sources' positions exist, and lock them: passes of several nodes take turns.
pub async fn lock_positions(tx: &mut Tx) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO report_positions (name, at, last_id) VALUES ($1, 0, ''), ($2, 0, '') \
         ON CONFLICT (name) DO NOTHING",
    )
    .bind(SOURCES[0].name)
    .bind(SOURCES[1].name)
    .execute(tx.conn())
    .await
    .map_err(StoreError::from_sqlx)?;
    sqlx::query("UPDATE report_positions SET at = at")
        .execute(tx.conn())
        .await
        .map_err(StoreError::from_sqlx)?;
    Ok(())
}

/// Persist where a scan got to (its position; where its window ended, when it read one).
pub async fn save(tx: &mut Tx, s: &Scanned) -> StoreResult<()> {
    if let Some((at, id)) = &s.next {
        sqlx::query(
            "UPDATE report_positions SET at = $1, last_id = $2 WHERE name = $3 AND at <= $1",
        )
        .bind(*at)
        .bind(id)
        .bind(s.name)
        .execute(tx.conn())
        .await
        .map_err(StoreError::from_sqlx)?;
    }
    if let Some(at) = s.window_at {
        sqlx::query(
            "INSERT INTO report_positions (name, at, last_id) VALUES ($1, $2, '') \
             ON CONFLICT (name) DO UPDATE SET at = excluded.at",
        )
        .bind(s.window_name)
        .bind(at)
        .execute(tx.conn())
        .await
        .map_err(StoreError::from_sqlx)?;
    }
    Ok(())
}

/// After the pass committed: remember its rows, forget those no window will read again.
pub fn remember(settings: &Settings, scanned: Scanned) {
    let late = settings.reports.late_commit_secs.max(0) * 1000;
    let mut map = memory().lock().expect("report scan memory");
    let mem = map.entry(key(settings, scanned.name)).or_default();
    mem.seen.extend(scanned.fresh);
    if let Some(at) = scanned.window_at {
        mem.last_window = Some(Instant::now());
        mem.seen.retain(|_, t| *t >= at - late);
    }
}

/// Forget what this process read (after a rebuild).
pub fn forget(settings: &Settings) {
    let mut map = memory().lock().expect("report scan memory");
    for src in &SOURCES {
        map.remove(&key(settings, src.name));
    }
}
