//! The planner's pairing step: calls of a PBX log batch that complete the entry of the same
//! call already logged from live CTI events (see [`crate::channels::voice::pairing`]), found
//! with one query for the whole batch.

use super::{contact, customer_of, record, Customers, Item};
use crate::channels::voice::ingest::{with_anonymous, Outcome};
use crate::channels::voice::pairing::{self, Entry, Fold, Pairing};
use crate::channels::voice::records::ParsedLine;
use crate::channels::voice::summary::{body, meta};
use crate::state::AppState;
use crate::store::{StoreResult, Tx};
use std::collections::{HashMap, HashSet};

/// Take the `items` that complete a CTI entry out of the plan: their outcome becomes
/// `Merged` and the returned folds are to be written with [`pairing::write`].
#[allow(clippy::too_many_arguments)]
pub(super) async fn fold_into_cti(
    state: &AppState,
    tx: &mut Tx,
    source: &'static str,
    lines: &[ParsedLine],
    items: &mut Vec<Item>,
    customers: Customers<'_>,
    agents: &HashMap<String, String>,
    outcomes: &mut [Option<Outcome>],
) -> StoreResult<Vec<Fold>> {
    let tolerance = state.settings.voice.cti_match_ms();
    let region = state.settings.text.default_region.as_str();
    if tolerance == 0 {
        return Ok(Vec::new());
    }
    // (position in items, customer, start in ms)
    let calls: Vec<(usize, String, i64)> = items
        .iter()
        .enumerate()
        .filter(|(_, it)| Pairing::of(source, record(lines, it.i)) == Some(Pairing::CdrIntoCti))
        .map(|(pos, it)| {
            let at = record(lines, it.i).started_at.unix_timestamp() * 1000;
            (pos, customer_of(&it.number, customers), at)
        })
        .collect();
    let (Some(first), Some(last)) = (
        calls.iter().map(|c| c.2).min(),
        calls.iter().map(|c| c.2).max(),
    ) else {
        return Ok(Vec::new());
    };
    let (from, to) = (first - tolerance, last + tolerance);
    let entries = pairing::entries(tx, Pairing::CdrIntoCti, from, to).await?;
    let mut by_customer: HashMap<&str, Vec<&Entry>> = HashMap::new();
    for e in &entries {
        by_customer.entry(&e.customer_id).or_default().push(e);
    }
    let mut used = HashSet::new();
    let mut folds = Vec::new();
    let mut folded = HashSet::new();
    for (pos, customer_id, at) in calls {
        let Some(list) = by_customer.get(customer_id.as_str()) else {
            continue;
        };
        let rec = record(lines, items[pos].i);
        let free = list
            .iter()
            .copied()
            .filter(|e| !used.contains(&e.message_id));
        let Some(entry) = pairing::best(rec, at, free, tolerance, region) else {
            continue;
        };
        used.insert(entry.message_id.clone());
        let agent_id = rec
            .agent_extension
            .as_ref()
            .and_then(|ext| agents.get(ext).cloned());
        let c = contact(source, rec.clone());
        let meta = with_anonymous(
            meta(&c, region, agent_id.as_deref()),
            items[pos].number.is_none(),
        );
        folds.push(pairing::fold(
            Pairing::CdrIntoCti,
            entry,
            source,
            rec,
            &meta,
            body(rec, None),
        ));
        outcomes[items[pos].i] = Some(Outcome::Merged {
            message_id: entry.message_id.clone(),
            customer_id,
        });
        folded.insert(pos);
    }
    let mut pos = 0;
    items.retain(|_| {
        pos += 1;
        !folded.contains(&(pos - 1))
    });
    Ok(folds)
}
