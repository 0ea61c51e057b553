//! The report worker: reads what happened since its persisted position (new history rows and
//! changed conversations — a call record appended to a conversation moves its `updated_at`),
//! recomputes those conversations' facts and the day rollups they touch. Idempotent: facts are
//! replaced per conversation and each touched rollup row is recomputed from its facts, so a
//! row read twice (the late-commit window, two nodes) changes nothing.

use super::apply;
use super::facts::{self, CallRow, ConvRow, HistRow, QueueTargets, Rules};
use super::figures::{Fact, Tally, FACT_COLS};
use super::rollup::{groups_of, insert_facts, insert_rollups, Deltas, GroupKey};
use super::scan::{self, Scanned, SOURCES};
use super::zone::Zone;
use crate::settings::Settings;
use crate::state::AppState;
use crate::store::bulk::{fetch_in, json_param};
use crate::store::{dialect, now_ms, Store, StoreError, StoreResult, Tx};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex, OnceLock};

/// Conversations whose facts are recomputed per statement group.
const CHUNK: usize = 500;
/// The rules facts are decided by, as configured now.
pub async fn rules(store: &Store, settings: &Settings) -> StoreResult<Rules> {
    let s = &settings.reports;
    let zone = Zone::named(&s.time_zone).unwrap_or_else(|| Zone::named("UTC").expect("UTC"));
    let rows: Vec<(String, Option<i64>, Option<i64>)> =
        sqlx::query_as("SELECT id, service_level_seconds, first_response_minutes FROM queues")
            .fetch_all(store.pool())
            .await
            .map_err(StoreError::from_sqlx)?;
    let queues = rows
        .into_iter()
        .map(|(id, sl, fr)| {
            let t = QueueTargets {
                service_level_seconds: sl,
                first_response_minutes: fr,
            };
            (id, t)
        })
        .collect();
    let mut conn = store
        .pool()
        .acquire()
        .await
        .map_err(StoreError::from_sqlx)?;
    let phone_queue = crate::queues::or_default(&mut *conn, "phone", None).await?;
    let fax_queue = crate::queues::or_default(&mut *conn, "fax", None).await?;
    let business = crate::business_hours::queue_calendars(&mut *conn)
        .await?
        .into_iter()
        .filter(|(_, c)| c.business_time_only)
        .map(|(q, c)| (q, c.calendar))
        .collect();
    Ok(Rules {
        zone,
        short_abandon_ms: s.short_abandon_seconds.max(0) * 1000,
        queues,
        first_response_minutes: settings.routing.first_response_minutes,
        phone_queue,
        fax_queue,
        business,
    })
}

/// One pass: read new changes, refresh the touched facts and rollups. Returns how many
/// conversations were refreshed and whether a source had more rows than one pass reads.
pub async fn run_once(state: &AppState) -> StoreResult<(usize, bool)> {
    let _turn = turn(&state.settings).await;
    let mut scans = Vec::new();
    let mut dirty = BTreeSet::new();
    for src in &SOURCES {
        scans.push(scan::scan(state, src, &mut dirty).await?);
    }
    let more = scans.iter().any(|s| s.full);
    if dirty.is_empty() && !scans.iter().any(Scanned::moved) {
        return Ok((0, false));
    }
    let rules = rules(&state.store, &state.settings).await?;
    let ids: Vec<String> = dirty.into_iter().collect();
    // The facts are computed from a read snapshot, outside the writer, beside the facts stored
    // now; only those that differ are written, in short transactions ([`apply`]), so writers
    // (a chat group commit) never wait behind the reading nor for long behind the writing. A
    // row changed after the scan is stamped later and is read again by the next pass.
    let old_sql = format!("SELECT {FACT_COLS} FROM report_facts WHERE conversation_id IN");
    let mut read = state.store.begin_read().await?;
    let (mut new, mut old) = (Vec::new(), Vec::new());
    for chunk in ids.chunks(CHUNK) {
        new.extend(compute(&mut read, &rules, chunk).await?);
        old.extend(fetch_in::<Fact>(&mut read, &old_sql, chunk).await?);
    }
    read.rollback().await;
    apply::write(&state.store, apply::changed(&ids, old, new)).await?;
    let mut tx = state.store.begin_background().await?;
    scan::lock_positions(&mut tx).await?;
    for s in &scans {
        scan::save(&mut tx, s).await?;
    }
    tx.commit().await?;
    for s in scans {
        scan::remember(&state.settings, s);
    }
    Ok((ids.len(), more))
}

/// Replace the facts of `ids`; returns how the rollup groups they were and are in change.
pub async fn refresh(tx: &mut Tx, rules: &Rules, ids: &[String]) -> StoreResult<Deltas> {
    let mut new = Vec::new();
    for chunk in ids.chunks(CHUNK) {
        new.extend(compute(tx, rules, chunk).await?);
    }
    replace(tx, ids, new).await
}

/// Put `new` (the facts of `ids`, computed from their rows) in place of the stored facts of
/// `ids`; returns how the rollup groups they were and are in change.
pub async fn replace(tx: &mut Tx, ids: &[String], new: Vec<Fact>) -> StoreResult<Deltas> {
    let mut deltas = Deltas::new();
    let old_sql = format!("SELECT {FACT_COLS} FROM report_facts WHERE conversation_id IN");
    for chunk in ids.chunks(CHUNK) {
        let old: Vec<Fact> = fetch_in(tx, &old_sql, chunk).await?;
        for f in &old {
            for g in groups_of(f) {
                deltas.entry(g).or_default().1.add(f);
            }
        }
        let sql = format!(
            "DELETE FROM report_facts WHERE conversation_id IN (SELECT value FROM {})",
            dialect::json_values(tx)
        );
        sqlx::query(&sql)
            .bind(json_param(chunk)?)
            .execute(tx.conn())
            .await
            .map_err(StoreError::from_sqlx)?;
    }
    for f in &new {
        for g in groups_of(f) {
            deltas.entry(g).or_default().0.add(f);
        }
    }
    for chunk in new.chunks(CHUNK) {
        insert_facts(tx, chunk).await?;
    }
    Ok(deltas)
}

/// The facts of some conversations, from their rows.
pub async fn compute(tx: &mut Tx, rules: &Rules, ids: &[String]) -> StoreResult<Vec<Fact>> {
    let convs: Vec<ConvRow> = fetch_in(
        tx,
        "SELECT id, channel, status, queue_id, assignee_id, created_at, first_response_at, \
           resolved_at FROM conversations WHERE id IN",
        ids,
    )
    .await?;
    let mut history: Vec<HistRow> = fetch_in(
        tx,
        "SELECT conversation_id, kind, data, created_at, id FROM conversation_events \
         WHERE kind IN ('created', 'assigned', 'transferred', 'requeued', 'status_changed', \
           'rated') AND conversation_id IN",
        ids,
    )
    .await?;
    history.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
    let voice: Vec<String> = convs
        .iter()
        .filter(|c| matches!(c.channel.as_str(), "phone" | "fax"))
        .map(|c| c.id.clone())
        .collect();
    let calls: Vec<CallRow> = fetch_in(
        tx,
        "SELECT id, conversation_id, meta FROM messages WHERE channel IN ('phone', 'fax') \
           AND conversation_id IN",
        &voice,
    )
    .await?;
    let callbacks: Vec<(String,)> = fetch_in(
        tx,
        "SELECT conversation_id FROM conversation_tags WHERE tag = 'callback' AND conversation_id IN",
        &voice,
    )
    .await?;
    let mut by_conv: HashMap<&str, Vec<HistRow>> = HashMap::new();
    for h in &history {
        by_conv
            .entry(&h.conversation_id)
            .or_default()
            .push(h.clone());
    }
    let mut calls_of: HashMap<&str, Vec<CallRow>> = HashMap::new();
    for c in &calls {
        calls_of
            .entry(&c.conversation_id)
            .or_default()
            .push(c.clone());
    }
    let mut out = Vec::new();
    for c in &convs {
        let cb = callbacks.iter().any(|(id,)| *id == c.id);
        let h = by_conv.get(c.id.as_str()).map_or(&[][..], Vec::as_slice);
        let k = calls_of.get(c.id.as_str()).map_or(&[][..], Vec::as_slice);
        out.extend(facts::of_conversation(rules, c, h, k, cb));
    }
    Ok(out)
}

/// Passes of one database take turns in this process (the worker, a report's catch-up pass,
/// a rebuild); across nodes the `report_positions` row locks order them.
async fn turn(settings: &Settings) -> tokio::sync::OwnedMutexGuard<()> {
    static TURNS: OnceLock<Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>> = OnceLock::new();
    let lock = TURNS
        .get_or_init(Mutex::default)
        .lock()
        .expect("turns lock")
        .entry(scan::key(settings, "turn"))
        .or_default()
        .clone();
    lock.lock_owned().await
}

/// `switchboard reports rebuild`: every fact and rollup from scratch (after changing
/// `reports.time_zone` or a queue's target, or after an upgrade). Returns the facts written.
/// Run it with the servers stopped (or expect rows their workers touch meanwhile to be
/// recomputed by them once more).
pub async fn rebuild(store: &Store, settings: &Settings) -> StoreResult<usize> {
    let _turn = turn(settings).await;
    let started = now_ms();
    store
        .refresh_statistics(&[
            "conversations",
            "conversation_events",
            "messages",
            "report_facts",
        ])
        .await?;
    let rules = rules(store, settings).await?;
    let mut tx = store.begin().await?;
    scan::lock_positions(&mut tx).await?;
    // Changes stamped from now on are the worker's; the late-commit window re-reads the rest.
    sqlx::query("UPDATE report_positions SET at = $1, last_id = ''")
        .bind(started)
        .execute(tx.conn())
        .await
        .map_err(StoreError::from_sqlx)?;
    tx.commit().await?;
    scan::forget(settings);
    let (mut after, mut written) = (String::new(), 0);
    loop {
        let ids: Vec<(String,)> =
            sqlx::query_as("SELECT id FROM conversations WHERE id > $1 ORDER BY id LIMIT $2")
                .bind(&after)
                .bind(CHUNK as i64 * 4)
                .fetch_all(store.pool())
                .await
                .map_err(StoreError::from_sqlx)?;
        let Some(last) = ids.last() else { break };
        after = last.0.clone();
        let ids: Vec<String> = ids.into_iter().map(|r| r.0).collect();
        let mut tx = store.begin().await?;
        refresh(&mut tx, &rules, &ids).await?;
        tx.commit().await?;
        written += ids.len();
    }
    roll_up_all(store).await?;
    store
        .refresh_statistics(&["report_facts", "report_daily"])
        .await?;
    Ok(written)
}

/// Rebuild `report_daily` from every fact, one group after another.
async fn roll_up_all(store: &Store) -> StoreResult<()> {
    use futures::TryStreamExt;
    let mut tx = store.begin().await?;
    sqlx::query("DELETE FROM report_daily")
        .execute(tx.conn())
        .await
        .map_err(StoreError::from_sqlx)?;
    let sql =
        format!("SELECT {FACT_COLS} FROM report_facts ORDER BY day, queue_id, channel, agent_id");
    let mut rows = sqlx::query_as::<_, Fact>(&sql).fetch(store.pool());
    let mut tallies: BTreeMap<GroupKey, Tally> = BTreeMap::new();
    while let Some(f) = rows.try_next().await.map_err(StoreError::from_sqlx)? {
        for g in groups_of(&f) {
            tallies.entry(g).or_default().add(&f);
        }
    }
    drop(rows);
    insert_rollups(&mut tx, tallies).await?;
    tx.commit().await
}
