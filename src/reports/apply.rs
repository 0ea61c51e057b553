//! Writing a pass's refreshed facts without holding the database's writer for long (SQLite has
//! one writer; a chat group commit waiting behind a pass waits for all of it).
//!
//! Only conversations whose facts changed are written (a follow-up chat message moves its
//! conversation's `updated_at` but rarely its fact), and they are written a few at a time,
//! each group in its own short transaction that swaps their facts and updates the rollup rows
//! those facts were and are in — so after every commit the rollups still equal the sum of the
//! facts, and a pass cut short by a crash leaves nothing half-counted (its position is saved
//! only after the last group, so the next pass recomputes the same conversations and finds
//! them up to date). Between groups the writer is released: other writers queued for it go
//! first, and each group waits for the writer until no transaction someone waits on is
//! queued for it (for a while: [`crate::store::writer`]). The group size adapts so that each
//! transaction takes about [`TARGET`].

use super::figures::{Fact, FACT_COLS};
use super::rollup::{apply_deltas, groups_of, insert_facts, Deltas};
use crate::store::bulk::fetch_in_then;
use crate::store::{Store, StoreError, StoreResult, Tx};
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// About how long one write transaction of a pass may hold the writer.
const TARGET: Duration = Duration::from_millis(1);
/// Fact rows written per transaction at first, and the bounds of the adapted size.
const FIRST_ROWS: usize = 64;
const MIN_ROWS: usize = 8;
const MAX_ROWS: usize = 1024;

/// One conversation whose facts changed, with its new facts (none when it has none now).
pub struct Change {
    pub conversation_id: String,
    pub facts: Vec<Fact>,
}

/// The conversations among `ids` whose facts in `new` differ from `old` (their stored facts),
/// in the order of `ids`.
pub fn changed(ids: &[String], old: Vec<Fact>, new: Vec<Fact>) -> Vec<Change> {
    let by_conv = |facts: Vec<Fact>| {
        let mut m: HashMap<String, Vec<Fact>> = HashMap::new();
        for f in facts {
            m.entry(f.conversation_id.clone()).or_default().push(f);
        }
        for v in m.values_mut() {
            v.sort_by(|a, b| a.id.cmp(&b.id));
        }
        m
    };
    let (mut old, mut new) = (by_conv(old), by_conv(new));
    ids.iter()
        .filter_map(|id| {
            let was = old.remove(id).unwrap_or_default();
            let now = new.remove(id).unwrap_or_default();
            (was != now).then(|| Change {
                conversation_id: id.clone(),
                facts: now,
            })
        })
        .collect()
}

/// Write `changes` in short transactions (see the module's documentation).
pub async fn write(store: &Store, changes: Vec<Change>) -> StoreResult<()> {
    let mut budget = FIRST_ROWS;
    let mut rest = &changes[..];
    while !rest.is_empty() {
        let mut take = 0;
        let mut rows = 0;
        while take < rest.len() && (take == 0 || rows + rest[take].facts.len().max(1) <= budget) {
            rows += rest[take].facts.len().max(1);
            take += 1;
        }
        let (group, after) = rest.split_at(take);
        rest = after;
        // Behind transactions someone waits on (a chat commit), for a while; timed from
        // when it holds the writer, as the size adapts to how long it holds it.
        let mut tx = store.begin_background().await?;
        let started = Instant::now();
        let result = swap(&mut tx, group).await;
        tx.finish(result).await?;
        let took = started.elapsed();
        budget = if took < TARGET / 2 {
            (budget * 2).min(MAX_ROWS)
        } else if took > TARGET * 2 {
            (budget / 2).max(MIN_ROWS)
        } else {
            budget
        };
        // Let writers queued for the lock (a fair queue) take their turn first.
        tokio::task::yield_now().await;
    }
    Ok(())
}

/// Replace the facts of `group`'s conversations and update the rollups by the difference,
/// inside `tx`. The replaced facts are those the delete returns, whatever was read before.
async fn swap(tx: &mut Tx, group: &[Change]) -> StoreResult<()> {
    if !tx.single_writer() {
        // Row locks: passes of several nodes take turns.
        sqlx::query("UPDATE report_positions SET at = at")
            .execute(tx.conn())
            .await
            .map_err(StoreError::from_sqlx)?;
    }
    let ids: Vec<&str> = group.iter().map(|c| c.conversation_id.as_str()).collect();
    let mut old = delete(tx, "conversation_id", &ids).await?;
    // A call's fact is keyed by its entry, which may have moved here from a conversation not
    // refreshed yet (or later in this pass): its old fact goes now, not at that one's turn.
    let moved: Vec<&str> = group
        .iter()
        .flat_map(|c| c.facts.iter())
        .filter(|f| f.id != f.conversation_id)
        .map(|f| f.id.as_str())
        .collect();
    if !moved.is_empty() {
        old.extend(delete(tx, "id", &moved).await?);
    }
    let mut deltas = Deltas::new();
    for f in &old {
        for g in groups_of(f) {
            deltas.entry(g).or_default().1.add(f);
        }
    }
    let new: Vec<Fact> = group.iter().flat_map(|c| c.facts.iter().cloned()).collect();
    for f in &new {
        for g in groups_of(f) {
            deltas.entry(g).or_default().0.add(f);
        }
    }
    if !new.is_empty() {
        insert_facts(tx, &new).await?;
    }
    apply_deltas(tx, deltas).await
}

/// Delete the facts whose `column` is one of `values`; returns them.
async fn delete(tx: &mut Tx, column: &str, values: &[&str]) -> StoreResult<Vec<Fact>> {
    let head = format!("DELETE FROM report_facts WHERE {column} IN");
    fetch_in_then(tx, &head, values, &format!("RETURNING {FACT_COLS}")).await
}
