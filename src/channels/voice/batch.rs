//! Storing parsed log lines in batches of [`BATCH_SIZE`] records per transaction (uploads and
//! the tail worker).
//!
//! A batch does in a few statements what [`store_contact`] does per record: one `IN (…)`
//! query finds the records already stored (or folded into another entry), one finds the
//! callers' customers (missing ones are created), one loads the agents' extensions, one the
//! CTI entries the batch's calls may complete (see [`super::pairing`]; those calls are taken
//! out of the plan, their entries updated), one the callers' open conversations; then the
//! batch is planned in memory (same matching rules as [`super::ingest::store_in`]: missed
//! calls join an open callback conversation within `voice.callback_window_mins`, other
//! contacts the customer's open conversation on the channel, or a new resolved one; anonymous
//! callers always a new resolved one) and written with multi-row inserts: conversations in
//! their final state, messages, history entries, and webhook deliveries (only when an active
//! webhook exists). Events are published after commit.
//!
//! **Failures.** If anything in a batch fails (typically a concurrent upload of the same log
//! storing a record first, a unique-key conflict), the whole batch is rolled back and stored
//! again one record per transaction with [`store_contact`], which skips what the other writer
//! stored as duplicates; so a bad record never takes its neighbours with it.

mod pair;
mod sql;
mod write;

use super::anonymous::{anonymous_customer, customer_party, customer_raw, Party, ANONYMOUS_SHOWN};
use super::contact::{channel_of, is_missed, Contact};
use super::ingest::{store_contact, with_anonymous, IngestReport, Outcome};
use super::pairing;
use super::summary::{body, meta, subject};
use crate::bus::Event;
use crate::customers;
use crate::state::AppState;
use crate::store::{now_ms, StoreError, StoreResult, Tx};
use sql::fetch_in;
use std::collections::{HashMap, HashSet};
use switchboard_voice::Direction;
use write::{NewConv, Plan, PlannedMsg, Subject, Target};

/// One parsed line: its number and the record or the reason it was skipped.
pub type ParsedLine = (usize, Result<switchboard_voice::CallRecord, String>);

/// Records stored per transaction.
pub const BATCH_SIZE: usize = 1000;

/// Store parsed lines of a `source` log (`asterisk`, `freeswitch`, `hylafax`) in batches.
/// A storage failure that persists one record at a time stops the run with an error; what
/// was stored before it stays stored, and a retry skips it as duplicate.
///
/// On PostgreSQL a long log is split by customer into [`STREAMS`] streams stored at once on
/// their own connections: the server inserts each batch on one core, so one stream leaves the
/// others idle. Every record of a customer (their calls, callbacks, open conversations, CTI
/// entries) stays in one stream and keeps its order; anonymous and unusable records go to
/// the first, a repeated source id to the stream of its first line. SQLite has one writer, so
/// it keeps one stream.
pub async fn store_batched(
    state: &AppState,
    source: &'static str,
    lines: Vec<ParsedLine>,
) -> StoreResult<IngestReport> {
    if state.store.single_writer() || lines.len() <= BATCH_SIZE {
        return store_stream(state, source, lines).await;
    }
    let region = state.settings.text.default_region.as_str();
    let mut streams: Vec<Vec<ParsedLine>> = vec![Vec::new(); STREAMS];
    // A source id seen again (a repeated line, or a corrupt log reusing it for another
    // caller) follows its first line, so the first one is stored and the others are
    // duplicates, as in file order.
    let mut first_of: HashMap<(&'static str, String), usize> = HashMap::new();
    for line in lines {
        let k = match &line.1 {
            Ok(rec) => {
                let by_customer = match customer_party(rec, region) {
                    Ok(Party::Number(n)) => stream_of(&n),
                    _ => 0,
                };
                *first_of
                    .entry((channel_of(rec), rec.external_id.clone()))
                    .or_insert(by_customer)
            }
            Err(_) => 0,
        };
        streams[k].push(line);
    }
    // Tasks of their own, so the planning of one stream runs beside another's on a second
    // core (polled together in one task they took turns on one thread).
    let runs = streams.into_iter().map(|lines| {
        let state = state.clone();
        tokio::spawn(async move { store_stream(&state, source, lines).await })
    });
    let mut report = IngestReport::default();
    for done in futures::future::join_all(runs).await {
        report.merge(done.map_err(write::join_error)??);
    }
    report.rejected.sort_by_key(|r| r.line);
    Ok(report)
}

/// Streams of one PostgreSQL ingest run.
const STREAMS: usize = 3;

/// The stream of a customer's number.
fn stream_of(number: &str) -> usize {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    number.hash(&mut h);
    (h.finish() % STREAMS as u64) as usize
}

/// Store lines in order, [`BATCH_SIZE`] per transaction.
async fn store_stream(
    state: &AppState,
    source: &'static str,
    lines: Vec<ParsedLine>,
) -> StoreResult<IngestReport> {
    let mut report = IngestReport::default();
    let mut lines = lines.into_iter().peekable();
    // A committed batch's events go out from a task of their own while the next batch is
    // stored; batches publish one after another, so subscribers see them in order.
    let mut publishing: Option<tokio::task::JoinHandle<()>> = None;
    while lines.peek().is_some() {
        let batch: Vec<ParsedLine> = lines.by_ref().take(BATCH_SIZE).collect();
        let stored = store_batch(state, source, batch, &mut publishing).await;
        if let Some(previous) = publishing.take() {
            let _ = previous.await;
        }
        let (batch_report, events) = stored?;
        report.merge(batch_report);
        if !events.is_empty() {
            let bus = state.bus.clone();
            publishing = Some(tokio::spawn(async move {
                for ev in events {
                    bus.publish(ev).await;
                }
            }));
        }
    }
    if let Some(last) = publishing {
        let _ = last.await;
    }
    Ok(report)
}

async fn store_batch(
    state: &AppState,
    source: &'static str,
    lines: Vec<ParsedLine>,
    publishing: &mut Option<tokio::task::JoinHandle<()>>,
) -> StoreResult<(IngestReport, Vec<Event>)> {
    let mut report = IngestReport::default();
    match fast_batch(state, source, &lines).await {
        Ok((outcomes, events)) => {
            for ((line, _), outcome) in lines.iter().zip(&outcomes) {
                report.add(*line, outcome);
            }
            return Ok((report, events));
        }
        Err(e) => {
            tracing::debug!(error = %e, "voice batch rolled back; storing it record by record");
            // Records stored one by one publish their own events: the earlier batch's first.
            if let Some(previous) = publishing.take() {
                let _ = previous.await;
            }
            for (line, parsed) in lines {
                let outcome = match parsed {
                    Ok(record) => store_contact(state, &contact(source, record)).await?,
                    Err(reason) => Outcome::Rejected(reason),
                };
                report.add(line, &outcome);
            }
        }
    }
    Ok((report, Vec::new()))
}

fn contact(source: &'static str, record: switchboard_voice::CallRecord) -> Contact {
    Contact {
        source,
        record,
        customer_id: None,
        notes: None,
        logged_by: None,
        agent_id: None,
    }
}

/// A conversation the planner may append to: open ones loaded from the database or opened
/// earlier in this batch.
struct OpenConv {
    id: String,
    target: Target,
    channel: String,
    open: bool,
    callback: bool,
    created_at: i64,
    last_at: Option<i64>,
}

type OpenRow = (String, String, String, String, i64, Option<i64>, i64);

/// Store one batch in one transaction; returns each line's outcome and the events to publish.
async fn fast_batch(
    state: &AppState,
    source: &'static str,
    lines: &[ParsedLine],
) -> StoreResult<(Vec<Outcome>, Vec<Event>)> {
    let region = state.settings.text.default_region.as_str();
    let mut outcomes: Vec<Option<Outcome>> = vec![None; lines.len()];
    let mut items = Vec::new();
    for (i, (_, parsed)) in lines.iter().enumerate() {
        match parsed {
            Err(reason) => outcomes[i] = Some(Outcome::Rejected(reason.clone())),
            Ok(rec) if rec.direction == Direction::Internal => {
                outcomes[i] = Some(Outcome::Internal)
            }
            Ok(rec) => match customer_party(rec, region) {
                Ok(party) => items.push(Item {
                    i,
                    channel: channel_of(rec),
                    external_id: format!("{source}:{}", rec.external_id),
                    number: match party {
                        Party::Number(n) => Some(n),
                        Party::Anonymous => None,
                    },
                }),
                Err(reason) => outcomes[i] = Some(Outcome::Rejected(reason)),
            },
        }
    }
    if items.is_empty() {
        return Ok((outcomes.into_iter().map(Option::unwrap).collect(), vec![]));
    }
    let summaries = summarise(source, region, lines, &items);
    let mut tx = state.store.begin().await?;
    let written = in_tx(
        state,
        source,
        lines,
        &mut tx,
        items,
        &mut outcomes,
        summaries,
    )
    .await;
    let events = tx.finish(written).await?;
    Ok((outcomes.into_iter().map(Option::unwrap).collect(), events))
}

/// The statements of [`fast_batch`] inside `tx`: fills `outcomes`, returns the events.
async fn in_tx(
    state: &AppState,
    source: &'static str,
    lines: &[ParsedLine],
    tx: &mut Tx,
    mut items: Vec<Item>,
    outcomes: &mut [Option<Outcome>],
    summaries: Summaries,
) -> StoreResult<Vec<Event>> {
    let window = state.settings.voice.callback_window_ms();
    drop_stored(tx, &mut items, outcomes).await?;
    let customers = resolve_customers(tx, lines, &items).await?;
    let anonymous_id = match items.iter().any(|it| it.number.is_none()) {
        true => Some(anonymous_customer(tx).await?),
        false => None,
    };
    let agents = agents_by_extension(tx, lines, &items).await?;
    let folds = pair::fold_into_cti(
        state,
        tx,
        source,
        lines,
        &mut items,
        (&customers, &anonymous_id),
        &agents,
        outcomes,
    )
    .await?;
    // Before the open conversations are read: a fold may settle a callback conversation.
    let fold_events = pairing::write(tx, &folds).await?;
    let customer_ids: Vec<String> = customers
        .values()
        .chain(&anonymous_id)
        .cloned()
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    let mut open = open_conversations(tx, &customer_ids).await?;
    let mut summaries = summaries.await.map_err(write::join_error)?;
    let mut plan = Plan::default();
    for Item {
        i,
        channel,
        external_id,
        number,
    } in items
    {
        let rec = record(lines, i);
        let anonymous = number.is_none();
        let customer_id = customer_of(&number, (&customers, &anonymous_id));
        let agent_id = rec
            .agent_extension
            .as_ref()
            .and_then(|ext| agents.get(ext).cloned());
        let at = rec.started_at.unix_timestamp() * 1000;
        let now = now_ms();
        let list = open.entry(customer_id.clone()).or_default();
        let missed = callback(rec, anonymous);
        let found = find_open(list, anonymous, missed, channel, at, window);
        let mut summary = summaries[i].take().expect("summarised");
        let (conv_id, target) = match found {
            Some(c) => {
                c.last_at = Some(at);
                (c.id.clone(), c.target.clone())
            }
            None => {
                let subject = summary
                    .subject
                    .take()
                    .expect("one new conversation a record");
                let new = NewConv::new(&customer_id, channel, missed, subject, now);
                let target = Target::New(plan.new_convs.len());
                if missed {
                    list.push(OpenConv {
                        id: new.id.clone(),
                        target: target.clone(),
                        channel: channel.to_string(),
                        open: true,
                        callback: true,
                        created_at: now,
                        last_at: Some(at),
                    });
                }
                let id = new.id.clone();
                plan.new_convs.push(new);
                (id, target)
            }
        };
        let outbound = rec.direction == Direction::Outbound;
        if let Some(agent) = agent_id {
            summary.meta["agent_id"] = agent.into();
        }
        plan.push_msg(PlannedMsg {
            line: i,
            conv_id,
            target,
            customer_id,
            author_kind: if outbound { "system" } else { "customer" },
            body: summary.body,
            meta: summary.meta,
            channel,
            external_id,
            at,
            now,
        });
    }
    let mut events = fold_events;
    events.extend(plan.write(state, tx, outcomes).await?);
    Ok(events)
}

/// Whether `rec` opens or joins a callback conversation: a missed call from a known caller
/// (anonymous callers are unrelated people: no callback, no joining).
fn callback(rec: &switchboard_voice::CallRecord, anonymous: bool) -> bool {
    is_missed(rec) && !anonymous
}

/// What a record's entry says, made before the batch's reads: its message body, its `meta`
/// (with no agent: the planner sets it) and the subject of a conversation it would open.
struct Summary {
    body: String,
    meta: serde_json::Value,
    subject: Option<Subject>,
}

/// Each line's [`Summary`], by line index.
type Summaries = tokio::task::JoinHandle<Vec<Option<Summary>>>;

/// The summaries of `items`' records, made on a blocking-pool thread while the batch's reads
/// run on the database (formatting numbers and folding text are most of a record's CPU).
fn summarise(
    source: &'static str,
    region: &str,
    lines: &[ParsedLine],
    items: &[Item],
) -> Summaries {
    let records: Vec<_> = items
        .iter()
        .map(|it| (it.i, it.number.clone(), record(lines, it.i).clone()))
        .collect();
    let (region, len) = (region.to_string(), lines.len());
    tokio::task::spawn_blocking(move || {
        let mut out: Vec<Option<Summary>> = std::iter::repeat_with(|| None).take(len).collect();
        for (i, number, rec) in records {
            let anonymous = number.is_none();
            let shown = number.as_deref().unwrap_or(ANONYMOUS_SHOWN);
            let text = if callback(&rec, anonymous) {
                format!("Missed call from {shown}")
            } else {
                subject(&rec, shown)
            };
            let search = switchboard_text::search_fold(&text);
            out[i] = Some(Summary {
                body: body(&rec, None),
                meta: with_anonymous(meta(&contact(source, rec), &region, None), anonymous),
                subject: Some(Subject { text, search }),
            });
        }
        out
    })
}

/// Take the records already stored (or folded into another entry) out of `items`, each a
/// duplicate in `outcomes`; repeats inside the batch too.
async fn drop_stored(
    tx: &mut Tx,
    items: &mut Vec<Item>,
    outcomes: &mut [Option<Outcome>],
) -> StoreResult<()> {
    // Per channel, so the lookup uses the (channel, external_id) unique index; calls also
    // look among the source ids folded into another entry.
    let mut stored = Vec::new();
    for channel in ["phone", "fax"] {
        let ids: Vec<String> = items
            .iter()
            .filter(|it| it.channel == channel)
            .map(|it| it.external_id.clone())
            .collect();
        let sql = format!(
            "SELECT external_id FROM messages WHERE channel = '{channel}' AND external_id IN"
        );
        let rows: Vec<(String,)> = fetch_in(tx, &sql, &ids).await?;
        stored.extend(rows.into_iter().map(|r| (channel.to_string(), r.0)));
        if channel == "phone" {
            let sql = "SELECT source_id FROM voice_source_ids WHERE source_id IN";
            let rows: Vec<(String,)> = fetch_in(tx, sql, &ids).await?;
            stored.extend(rows.into_iter().map(|r| (channel.to_string(), r.0)));
        }
    }
    let mut seen: HashSet<(String, String)> = stored.into_iter().collect();
    items.retain(|it| {
        let new = seen.insert((it.channel.to_string(), it.external_id.clone()));
        if !new {
            outcomes[it.i] = Some(Outcome::Duplicate);
        }
        new
    });
    Ok(())
}

/// Agents by PBX extension, when a record of the batch names one.
async fn agents_by_extension(
    tx: &mut Tx,
    lines: &[ParsedLine],
    items: &[Item],
) -> StoreResult<HashMap<String, String>> {
    if items
        .iter()
        .any(|it| record(lines, it.i).agent_extension.is_some())
    {
        let rows: Vec<(String, String)> = sqlx::query_as(
            "SELECT extension, id FROM agents WHERE extension IS NOT NULL ORDER BY id DESC",
        )
        .fetch_all(tx.conn())
        .await
        .map_err(StoreError::from_sqlx)?;
        Ok(rows.into_iter().collect())
    } else {
        Ok(HashMap::new())
    }
}

/// The open and pending conversations of `customer_ids`, by customer.
async fn open_conversations(
    tx: &mut Tx,
    customer_ids: &[String],
) -> StoreResult<HashMap<String, Vec<OpenConv>>> {
    let rows: Vec<OpenRow> = fetch_in(
        tx,
        &format!(
            "SELECT c.id, c.customer_id, c.channel, c.status, c.created_at, c.last_message_at, \
               (SELECT COUNT(*) FROM conversation_tags t WHERE t.conversation_id = c.id \
                  AND t.tag = '{}') FROM conversations c \
             WHERE c.status IN ('open', 'pending') AND c.customer_id IN",
            super::contact::CALLBACK_TAG
        ),
        customer_ids,
    )
    .await?;
    let mut open: HashMap<String, Vec<OpenConv>> = HashMap::new();
    for (id, customer, channel, status, created_at, last_at, tagged) in rows {
        open.entry(customer).or_default().push(OpenConv {
            target: Target::Existing(id.clone()),
            id,
            channel,
            open: status == "open",
            callback: tagged > 0,
            created_at,
            last_at,
        });
    }
    Ok(open)
}

/// The conversation a record joins among its customer's `list`: anonymous callers none, a
/// missed call an open callback conversation within `window` of it, anything else the latest
/// open conversation on its channel.
fn find_open<'l>(
    list: &'l mut [OpenConv],
    anonymous: bool,
    missed: bool,
    channel: &str,
    at: i64,
    window: i64,
) -> Option<&'l mut OpenConv> {
    if anonymous {
        None
    } else if missed {
        list.iter_mut()
            .filter(|c| c.callback && c.open && c.channel == "phone")
            .filter(|c| {
                c.last_at
                    .is_some_and(|l| l >= at - window && l <= at + window)
            })
            .max_by_key(|c| c.last_at)
    } else {
        list.iter_mut()
            .filter(|c| c.channel == channel)
            .max_by(|a, b| {
                (a.last_at.unwrap_or(a.created_at), &a.id)
                    .cmp(&(b.last_at.unwrap_or(b.created_at), &b.id))
            })
    }
}

/// The customers of a batch: by normalised number, and the anonymous profile if needed.
type Customers<'a> = (&'a HashMap<String, String>, &'a Option<String>);

/// The customer id of a record with customer `number` (`None`: anonymous).
fn customer_of(number: &Option<String>, (customers, anonymous_id): Customers) -> String {
    match (number, anonymous_id) {
        (Some(n), _) => customers[n].clone(),
        (None, Some(id)) => id.clone(),
        (None, None) => unreachable!("resolved when any record is anonymous"),
    }
}

fn record(lines: &[ParsedLine], i: usize) -> &switchboard_voice::CallRecord {
    match &lines[i].1 {
        Ok(rec) => rec,
        Err(_) => unreachable!("only parsed records are planned"),
    }
}

/// A record to plan: its line index, channel, prefixed external id and customer number
/// (`None` for an anonymous caller).
struct Item {
    i: usize,
    channel: &'static str,
    external_id: String,
    number: Option<String>,
}

/// Customer id per normalised number of `items`, creating missing customers (named after the
/// first record's caller name, as when stored one by one).
async fn resolve_customers(
    tx: &mut Tx,
    lines: &[ParsedLine],
    items: &[Item],
) -> StoreResult<HashMap<String, String>> {
    let mut seen = HashSet::new();
    let mut wanted = Vec::new();
    for it in items {
        let Some(number) = &it.number else { continue };
        if !seen.insert(number.as_str()) {
            continue;
        }
        let rec = record(lines, it.i);
        let name = rec
            .caller_name
            .clone()
            .filter(|_| rec.direction != Direction::Outbound);
        wanted.push((number.clone(), customer_raw(rec).trim().to_string(), name));
    }
    customers::find_or_create_many(tx, "phone", &wanted).await
}
