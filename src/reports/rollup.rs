//! The rows reports are read from: a fact per conversation (`report_facts`) and the day
//! rollups (`report_daily`) that sum them per (day, queue, channel, agent), kept equal to the
//! sum of their facts by applying each pass's deltas.

use super::figures::{Fact, Tally, FACT_COLS};
use super::histogram::Histogram;
use crate::store::bulk::{insert_rows, V};
use crate::store::{StoreError, StoreResult, Tx};
use std::collections::BTreeMap;

/// A rollup row's key: (local day, queue, channel, agent). Each (day, queue, channel) also
/// has a row summing every agent, keyed [`ALL_AGENTS`], which reports not cut by agent read.
pub type GroupKey = (String, String, String, String);

/// The agent key of the rows summing every agent.
pub const ALL_AGENTS: &str = "*";

/// A fact's rollup rows: its agent's and the all-agents one.
pub fn groups_of(f: &Fact) -> [GroupKey; 2] {
    let all = (
        f.day.clone(),
        f.queue_id.clone(),
        f.channel.clone(),
        ALL_AGENTS.to_string(),
    );
    [group_of(f), all]
}

/// Per rollup group: what a pass's refreshed facts add, and what the facts they replace took.
pub type Deltas = BTreeMap<GroupKey, (Tally, Tally)>;

/// A fact's own rollup row (its agent's).
pub fn group_of(f: &Fact) -> GroupKey {
    (
        f.day.clone(),
        f.queue_id.clone(),
        f.channel.clone(),
        f.agent_id.clone(),
    )
}

/// Insert `facts` (rows of `report_facts`).
pub async fn insert_facts(tx: &mut Tx, facts: &[Fact]) -> StoreResult<()> {
    let rows = facts
        .iter()
        .map(|f| {
            vec![
                V::S(f.id.clone()),
                V::S(f.conversation_id.clone()),
                V::S(f.channel.clone()),
                V::S(f.queue_id.clone()),
                V::S(f.agent_id.clone()),
                V::S(f.day.clone()),
                V::I(f.offered_at),
                V::I(f.offered),
                V::I(f.answered),
                V::I(f.abandoned),
                V::I(f.short_abandoned),
                V::I(f.within_target),
                V::J(f.wait_ms),
                V::J(f.handle_ms),
                V::J(f.first_response_ms),
                V::J(f.resolution_ms),
                V::J(f.csat),
                V::I(f.transfers),
                V::I(f.callbacks),
                V::I(f.callbacks_answered),
            ]
        })
        .collect();
    let head = format!("INSERT INTO report_facts ({FACT_COLS})");
    insert_rows(tx, &head, rows, "", "").await
}

/// Apply a pass's deltas to the rollup rows: each touched row is read, added to and taken
/// from, and written back in one upsert (deleted when nothing is left) — work in proportion to
/// what changed, not to the size of the day (re-reading every fact of a busy day on each pass
/// held SQLite's writer for 150–500 ms at 2,000 chat messages/s).
pub async fn apply_deltas(tx: &mut Tx, deltas: Deltas) -> StoreResult<()> {
    let read = format!(
        "SELECT {ROLLUP_COLS} FROM report_daily \
         WHERE day = $1 AND queue_id = $2 AND channel = $3 AND agent_id = $4"
    );
    let mut rows = BTreeMap::new();
    for (g, (plus, minus)) in deltas {
        if plus == minus {
            continue;
        }
        let row: Option<RollupRow> = sqlx::query_as(&read)
            .bind(&g.0)
            .bind(&g.1)
            .bind(&g.2)
            .bind(&g.3)
            .fetch_optional(tx.conn())
            .await
            .map_err(StoreError::from_sqlx)?;
        let stored = row.is_some();
        let mut t = row.map(|r| r.tally()).unwrap_or_default();
        t.merge(&plus);
        t.subtract(&minus);
        if !t.is_empty() {
            rows.insert(g, t);
        } else if stored {
            sqlx::query(
                "DELETE FROM report_daily WHERE day = $1 AND queue_id = $2 AND channel = $3 \
                   AND agent_id = $4",
            )
            .bind(&g.0)
            .bind(&g.1)
            .bind(&g.2)
            .bind(&g.3)
            .execute(tx.conn())
            .await
            .map_err(StoreError::from_sqlx)?;
        }
    }
    let set = ROLLUP_COLS
        .split(',')
        .map(|c| format!("{0} = excluded.{0}", c.trim()))
        .collect::<Vec<_>>()
        .join(", ");
    let tail = format!("ON CONFLICT (day, queue_id, channel, agent_id) DO UPDATE SET {set}");
    write_rollups(tx, rows, &tail).await
}

/// Columns of `report_daily` after the key.
pub const ROLLUP_COLS: &str = "offered, answered, abandoned, short_abandoned, within_target, \
    wait_ms, handled, handle_ms, csat_sum, csat_count, transfers, callbacks, callbacks_answered, \
    first_response_hist, resolution_hist";

pub async fn insert_rollups(tx: &mut Tx, rows: BTreeMap<GroupKey, Tally>) -> StoreResult<()> {
    write_rollups(tx, rows, "").await
}

/// Insert rollup rows, with `tail` after the values (e.g. `ON CONFLICT …`).
async fn write_rollups(
    tx: &mut Tx,
    rows: BTreeMap<GroupKey, Tally>,
    tail: &str,
) -> StoreResult<()> {
    let rows = rows
        .into_iter()
        .map(|((day, q, ch, a), t)| {
            vec![
                V::S(day),
                V::S(q),
                V::S(ch),
                V::S(a),
                V::I(t.offered),
                V::I(t.answered),
                V::I(t.abandoned),
                V::I(t.short_abandoned),
                V::I(t.within_target),
                V::I(t.wait_ms),
                V::I(t.handled),
                V::I(t.handle_ms),
                V::I(t.csat_sum),
                V::I(t.csat_count),
                V::I(t.transfers),
                V::I(t.callbacks),
                V::I(t.callbacks_answered),
                V::S(t.first_response.to_text()),
                V::S(t.resolution.to_text()),
            ]
        })
        .collect();
    let head =
        format!("INSERT INTO report_daily (day, queue_id, channel, agent_id, {ROLLUP_COLS})");
    insert_rows(tx, &head, rows, "", tail).await
}

/// The counters a row of `report_daily` holds and a report sums per group (columns of these
/// names in both).
#[derive(sqlx::FromRow)]
pub(super) struct Counts {
    offered: i64,
    answered: i64,
    abandoned: i64,
    short_abandoned: i64,
    within_target: i64,
    wait_ms: i64,
    handled: i64,
    handle_ms: i64,
    csat_sum: i64,
    csat_count: i64,
    transfers: i64,
    callbacks: i64,
    callbacks_answered: i64,
}

impl Counts {
    pub(super) fn add_to(&self, t: &mut Tally) {
        t.offered += self.offered;
        t.answered += self.answered;
        t.abandoned += self.abandoned;
        t.short_abandoned += self.short_abandoned;
        t.within_target += self.within_target;
        t.wait_ms += self.wait_ms;
        t.handled += self.handled;
        t.handle_ms += self.handle_ms;
        t.csat_sum += self.csat_sum;
        t.csat_count += self.csat_count;
        t.transfers += self.transfers;
        t.callbacks += self.callbacks;
        t.callbacks_answered += self.callbacks_answered;
    }
}

/// A row of `report_daily` as the worker reads it (the worker keeps the key it asked for).
#[derive(sqlx::FromRow)]
pub(super) struct RollupRow {
    #[sqlx(flatten)]
    counts: Counts,
    first_response_hist: String,
    resolution_hist: String,
}

impl RollupRow {
    pub(super) fn tally(&self) -> Tally {
        let mut t = Tally {
            first_response: Histogram::from_text(&self.first_response_hist),
            resolution: Histogram::from_text(&self.resolution_hist),
            ..Tally::default()
        };
        self.counts.add_to(&mut t);
        t
    }
}
