//! The write half of a batch: multi-row inserts of what the planner decided.

use super::sql::{insert_rows, V};
use crate::bus::Event;
use crate::channels::voice::contact::CALLBACK_TAG;
use crate::channels::voice::ingest::Outcome;
use crate::conversations::ledger::{batch as ledger, sql};
use crate::conversations::{self, Message};
use crate::events;
use crate::state::AppState;
use crate::store::event_log::Logged;
use crate::store::{ms_to_rfc3339, new_id, StoreError, StoreResult, Tx};
use serde_json::Value;
use std::collections::{BTreeMap, HashMap, HashSet};

/// Where a planned message goes.
#[derive(Debug, Clone)]
pub enum Target {
    /// A conversation already in the database.
    Existing(String),
    /// The n-th conversation this batch opens.
    New(usize),
}

/// A conversation the batch opens, in its final state.
pub struct NewConv {
    pub id: String,
    customer_id: String,
    channel: String,
    subject: Subject,
    /// Missed-call callback (stays open, tagged) rather than a logged contact (resolved).
    callback: bool,
    created_at: i64,
    updated_at: i64,
    count: i64,
    last_at: i64,
}

impl NewConv {
    /// A conversation of `customer_id` titled `subject` (with its search folding), opened
    /// at `now`; `missed`: a callback.
    pub fn new(customer_id: &str, channel: &str, missed: bool, subject: Subject, now: i64) -> Self {
        NewConv {
            id: new_id(),
            customer_id: customer_id.to_string(),
            channel: channel.to_string(),
            subject,
            callback: missed,
            created_at: now,
            updated_at: now,
            count: 0,
            last_at: 0,
        }
    }
}

/// A new conversation's subject and its search folding.
pub struct Subject {
    pub text: String,
    pub search: String,
}

/// A message the batch appends.
pub struct PlannedMsg {
    pub line: usize,
    pub conv_id: String,
    pub target: Target,
    pub customer_id: String,
    pub author_kind: &'static str,
    pub body: String,
    pub meta: Value,
    pub channel: &'static str,
    pub external_id: String,
    pub at: i64,
    pub now: i64,
}

/// Everything one batch writes.
#[derive(Default)]
pub struct Plan {
    pub new_convs: Vec<NewConv>,
    /// Messages in input order with their position among the batch's messages of their
    /// conversation (1-based).
    msgs: Vec<(PlannedMsg, i64)>,
    /// Existing conversation → (messages appended, last message time, last append time).
    existing: BTreeMap<String, (i64, i64, i64)>,
}

impl Plan {
    /// Append `m` to its conversation.
    pub fn push_msg(&mut self, m: PlannedMsg) {
        let offset = match &m.target {
            Target::New(k) => {
                let c = &mut self.new_convs[*k];
                c.count += 1;
                c.last_at = m.at;
                c.updated_at = m.now;
                c.count
            }
            Target::Existing(id) => {
                let e = self.existing.entry(id.clone()).or_insert((0, 0, 0));
                e.0 += 1;
                e.1 = m.at;
                e.2 = m.now;
                e.0
            }
        };
        self.msgs.push((m, offset));
    }

    /// Write the plan inside `tx`; fills `outcomes` and returns the events to publish.
    ///
    /// The CPU-heavy parts (search folding, meta JSON, events) run on a blocking-pool thread
    /// while the database executes the statements that do not depend on them, so the two
    /// cores work at once instead of taking turns.
    pub async fn write(
        self,
        state: &AppState,
        tx: &mut Tx,
        outcomes: &mut [Option<Outcome>],
    ) -> StoreResult<Vec<Event>> {
        let Plan {
            new_convs,
            msgs,
            existing,
        } = self;
        let prepare = tokio::task::spawn_blocking(move || {
            let prepared: Vec<(String, String, String)> = msgs
                .iter()
                .map(|(m, _)| {
                    let search = switchboard_text::search_fold(&m.body);
                    (new_id(), search, m.meta.to_string())
                })
                .collect();
            (msgs, prepared)
        });
        let written = write_conversations(state, tx, &new_convs, &existing).await;
        let (msgs, prepared) = prepare.await.map_err(join_error)?;
        let (numbers, queue, base) = written?;
        let mut msg_rows = Vec::with_capacity(msgs.len());
        let mut pending = Vec::with_capacity(msgs.len());
        for ((m, offset), (message_id, body_search, meta_text)) in msgs.into_iter().zip(prepared) {
            let (seq, assignee) = match &m.target {
                Target::New(_) => (offset, None),
                Target::Existing(id) => (base[id].0 + offset, base[id].1.clone()),
            };
            let author_id = (m.author_kind == "customer").then(|| m.customer_id.clone());
            msg_rows.push(vec![
                V::S(message_id.clone()),
                V::S(m.conv_id.clone()),
                V::I(seq),
                V::S(m.author_kind.into()),
                V::N(author_id.clone()),
                V::S(body_search),
                V::S(m.body.clone()),
                V::S(m.channel.into()),
                V::S(m.external_id.clone()),
                V::S(meta_text),
                V::I(m.at),
            ]);
            pending.push((m, seq, assignee, message_id, author_id));
        }
        let build =
            tokio::task::spawn_blocking(move || build_events(pending, &new_convs, &numbers, queue));
        let inserted = ledger::insert(tx, sql::MESSAGE_ROWS, msg_rows).await;
        let (out_events, logged, history, stored) = build.await.map_err(join_error)?;
        inserted?;
        for (line, outcome) in stored {
            outcomes[line] = Some(outcome);
        }
        ledger::insert(tx, sql::HISTORY_ROWS, history).await?;
        ledger::deliver_built(tx, &out_events, logged).await?;
        Ok(out_events)
    }
}

pub(super) fn join_error(e: tokio::task::JoinError) -> StoreError {
    StoreError::Other(sqlx::Error::Protocol(format!("batch worker failed: {e}")))
}

/// New conversations (numbered, callback ones queued and tagged) and the sequence numbers
/// reserved on existing ones: the statements that need nothing computed from the messages.
async fn write_conversations(
    state: &AppState,
    tx: &mut Tx,
    new_convs: &[NewConv],
    existing: &BTreeMap<String, (i64, i64, i64)>,
) -> StoreResult<(
    Vec<i64>,
    Option<String>,
    HashMap<String, (i64, Option<String>)>,
)> {
    let numbers = ledger::next_numbers(tx, new_convs.len()).await?;
    let queue = if new_convs.iter().any(|c| c.callback) {
        super::super::callback_queue(state, tx).await?
    } else {
        None
    };
    let conv_rows = new_convs.iter().zip(&numbers).map(|(c, n)| {
        vec![
            V::S(c.id.clone()),
            V::I(*n),
            V::S(c.customer_id.clone()),
            V::S(c.channel.clone()),
            V::S(if c.callback { "open" } else { "resolved" }.into()),
            V::S(c.subject.text.clone()),
            V::S(c.subject.search.clone()),
            V::I(c.created_at),
            V::I(c.updated_at),
            V::I(c.last_at),
            V::I(c.count),
            V::J((!c.callback).then_some(c.updated_at)),
            V::N(queue.clone().filter(|_| c.callback)),
            V::J(queue.as_ref().filter(|_| c.callback).map(|_| c.created_at)),
        ]
    });
    ledger::insert(tx, sql::CONVERSATION_ROWS, conv_rows.collect()).await?;
    let tag_rows = new_convs.iter().filter(|c| c.callback);
    let tag_rows = tag_rows.map(|c| vec![V::S(c.id.clone()), V::S(CALLBACK_TAG.into())]);
    insert_rows(
        tx,
        "INSERT INTO conversation_tags (conversation_id, tag)",
        tag_rows.collect(),
        "",
        "",
    )
    .await?;
    // Existing conversations: reserve the sequence numbers (also serialising concurrent
    // appends on PostgreSQL), in id order to keep lock order stable.
    let base = ledger::reserve_seqs(tx, existing).await?;
    Ok((numbers, queue, base))
}

/// A message planned and numbered: (message, seq, assignee, message id, author id).
type Numbered = (PlannedMsg, i64, Option<String>, String, Option<String>);

/// What [`build_events`] makes: the batch's events in order, their event-log rows, their
/// history rows, and each line's outcome.
type Built = (Vec<Event>, Vec<Logged>, Vec<Vec<V>>, Vec<(usize, Outcome)>);

/// The events of the batch (with their log rows, built here, off the runtime's threads),
/// their history rows, and each line's outcome.
fn build_events(
    pending: Vec<Numbered>,
    new_convs: &[NewConv],
    numbers: &[i64],
    queue: Option<String>,
) -> Built {
    let mut history = Vec::new();
    let mut out_events = Vec::new();
    let mut stored = Vec::with_capacity(pending.len());
    let mut announced = HashSet::new();
    for (m, seq, assignee, message_id, author_id) in pending {
        if let Target::New(k) = &m.target {
            if announced.insert(*k) {
                let c = &new_convs[*k];
                let q = queue.clone().filter(|_| c.callback);
                let status = if c.callback { "open" } else { "resolved" };
                let data = conversations::created_data(&c.channel, numbers[*k], &q, status);
                out_events.push(event(&m, "created", data, &mut history));
            }
        }
        stored.push((
            m.line,
            Outcome::Stored {
                conversation_id: m.conv_id.clone(),
                message_id: message_id.clone(),
                customer_id: m.customer_id.clone(),
            },
        ));
        let message = Message {
            id: message_id,
            conversation_id: m.conv_id,
            seq,
            author_kind: m.author_kind.into(),
            author_id,
            body: m.body,
            internal: false,
            channel: m.channel.into(),
            external_id: Some(m.external_id),
            meta: m.meta,
            created_at: ms_to_rfc3339(m.at),
        };
        // A message has no history row of its own (see `conversations::append_new_message`).
        let conv_id = message.conversation_id.clone();
        out_events.push(events::about_conversation(
            "message.created",
            message.into_event_data(),
            &conv_id,
            &m.customer_id,
            assignee.as_deref(),
        ));
    }
    let logged = out_events.iter().map(Logged::of).collect();
    (out_events, logged, history, stored)
}

/// A `conversation.<kind>` event about `m`'s conversation, with its history row.
fn event(m: &PlannedMsg, kind: &str, data: Value, history: &mut Vec<Vec<V>>) -> Event {
    let kind_name = format!("conversation.{kind}");
    // Only new conversations get these: nobody is assigned yet.
    let ev = events::about_conversation(&kind_name, data, &m.conv_id, &m.customer_id, None);
    history.push(vec![
        V::S(ev.id.clone()),
        V::S(m.conv_id.clone()),
        V::S(kind.into()),
        V::S("system".into()),
        V::N(None),
        V::S(ev.data.to_string()),
        V::I(m.now),
    ]);
    ev
}
