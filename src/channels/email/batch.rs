//! Set-based storing of mail received together (an IMAP fetch, concurrent pushes): what each
//! message needs looked up — its `Message-ID` and the ones it answers, its sender, the
//! conversation a `[#number]` subject token names — is one statement for the whole batch,
//! and the conversations, messages and history rows are written through the ledger as
//! multi-row inserts: about ten statements a batch instead of about ten a message.
//!
//! What a message becomes depends on the messages before it in the batch (a reply to a
//! message of the same fetch, the same sender twice, the same message twice), so the plan
//! walks them in order over what the database held plus what the batch planned so far —
//! the outcomes are those of storing them one after another.

use super::mailboxes::Mailbox;
use super::message;
use super::outbox;
use super::outcome::Outcome;
use crate::bus::Event;
use crate::conversations::ledger::{batch as ledger, created_data, sql};
use crate::conversations::{self as convs, Actor, Conversation, Message};
use crate::events;
use crate::state::AppState;
use crate::store::bulk::{json_param, V};
use crate::store::{dialect, ms_to_rfc3339, new_id, now_ms, StoreError, StoreResult, Tx};
use std::collections::{BTreeMap, HashMap, HashSet};
use switchboard_mail::{AutoKind, ParsedEmail};

/// One message of a batch: its place among the batch's outcomes and its mailbox.
pub struct Item<'a> {
    pub index: usize,
    pub parsed: &'a ParsedEmail,
    pub mailbox: Option<Mailbox>,
}

/// A conversation a lookup found: id, status, customer.
#[derive(Clone)]
struct Found {
    id: String,
    status: String,
    customer_id: String,
}

/// Store `items` inside `tx`: sets each one's outcome and adds the events to publish after
/// the commit. Must not be given bounces of our own mail (see [`outbox::bounced`]).
pub async fn store(
    state: &AppState,
    tx: &mut Tx,
    items: Vec<Item<'_>>,
    outcomes: &mut [Option<Outcome>],
    events: &mut Vec<Event>,
) -> StoreResult<()> {
    if items.is_empty() {
        return Ok(());
    }
    let mut ids: Vec<&str> = Vec::new();
    for p in items.iter().map(|i| i.parsed) {
        ids.push(&p.message_id);
        ids.extend(
            p.in_reply_to
                .iter()
                .chain(&p.references)
                .map(String::as_str),
        );
    }
    let known = by_message_id(tx, ids).await?;
    let mut seen = HashSet::new();
    let fresh: Vec<&Item> = items
        .iter()
        .filter(|i| !known.contains_key(&i.parsed.message_id) && seen.insert(&i.parsed.message_id))
        .collect();
    let senders = senders(state, tx, &fresh).await?;
    let tokens: Vec<i64> = fresh
        .iter()
        .filter_map(|i| switchboard_mail::conversation_token(&i.parsed.subject))
        .collect();
    let numbered = by_number(tx, tokens).await?;
    let default_queue = if items.iter().any(|i| queue_of(i).is_none()) {
        crate::queues::or_default(tx.conn(), "email", None).await?
    } else {
        None
    };
    let mut plan = Plan::default();
    let mut senders = senders.into_iter();
    let mut placed: HashMap<&str, Found> = HashMap::new();
    for item in &items {
        let id = item.parsed.message_id.as_str();
        if let Some(f) = known.get(id).or_else(|| placed.get(id)) {
            let conversation_id = f.id.clone();
            outcomes[item.index] = Some(Outcome::Duplicate { conversation_id });
            continue;
        }
        let (customer, usable) = senders.next().ok_or(StoreError::NotFound)?;
        let into = thread(item.parsed, &customer, &placed, &known, &numbered);
        let queue = queue_of(item).or_else(|| default_queue.clone());
        let found = plan.place(item, customer, usable, into, queue);
        placed.insert(id, found);
    }
    plan.write(state, tx, outcomes, events).await
}

fn queue_of(item: &Item) -> Option<String> {
    item.mailbox.as_ref().and_then(|m| m.queue_id.clone())
}

/// The conversation `parsed` answers, as the one-message path finds it: the first of
/// `In-Reply-To` and `References` (newest first) stored or planned, else the `[#number]`
/// token of a conversation of the sender's own.
fn thread(
    parsed: &ParsedEmail,
    customer: &str,
    placed: &HashMap<&str, Found>,
    known: &HashMap<String, Found>,
    numbered: &HashMap<(i64, String), Found>,
) -> Option<Found> {
    let ids = parsed
        .in_reply_to
        .iter()
        .chain(parsed.references.iter().rev());
    for id in ids {
        if let Some(f) = placed.get(id.as_str()).or_else(|| known.get(id)) {
            return Some(f.clone());
        }
    }
    let n = switchboard_mail::conversation_token(&parsed.subject)?;
    numbered.get(&(n, customer.to_string())).cloned()
}

/// The conversations holding each of `ids` as the `Message-ID` of a message received or
/// sent (a received one wins, as in the one-message path).
async fn by_message_id(tx: &mut Tx, mut ids: Vec<&str>) -> StoreResult<HashMap<String, Found>> {
    ids.sort_unstable();
    ids.dedup();
    let within = dialect::in_json_list(tx.backend(), 1, None);
    let sql = format!(
        "SELECT x.mid, x.sent, c.id, c.status, c.customer_id FROM ( \
           SELECT external_id AS mid, conversation_id, CAST(0 AS BIGINT) AS sent FROM messages \
             WHERE channel = 'email' AND external_id {within} \
           UNION ALL SELECT rfc_message_id, conversation_id, CAST(1 AS BIGINT) FROM email_outbox \
             WHERE rfc_message_id {within}) x \
         JOIN conversations c ON c.id = x.conversation_id"
    );
    // Planned at each use, with the tables' sizes of the moment: a plan kept from when
    // `messages` was nearly empty reads every email message per lookup until statistics are
    // next gathered (PostgreSQL, a new deployment's first minutes: 2.7 s of 9.7 s of the
    // database's time pushing 8,000 messages, BENCHMARKS.md session 24).
    let rows: Vec<(String, i64, String, String, String)> = sqlx::query_as(&sql)
        .persistent(false)
        .bind(json_param(&ids)?)
        .fetch_all(tx.conn())
        .await
        .map_err(StoreError::from_sqlx)?;
    let mut found = HashMap::new();
    for (mid, sent, id, status, customer_id) in rows {
        let f = Found {
            id,
            status,
            customer_id,
        };
        match found.entry(mid) {
            std::collections::hash_map::Entry::Vacant(e) => {
                e.insert(f);
            }
            std::collections::hash_map::Entry::Occupied(mut e) if sent == 0 => {
                e.insert(f);
            }
            _ => {}
        }
    }
    Ok(found)
}

/// Conversations by (number, customer) for the `[#number]` tokens of a batch.
async fn by_number(
    tx: &mut Tx,
    mut numbers: Vec<i64>,
) -> StoreResult<HashMap<(i64, String), Found>> {
    if numbers.is_empty() {
        return Ok(HashMap::new());
    }
    numbers.sort_unstable();
    numbers.dedup();
    let sql = format!(
        "SELECT number, id, status, customer_id FROM conversations WHERE number {}",
        dialect::in_json_list(tx.backend(), 1, Some("BIGINT"))
    );
    let list = json_param(&numbers)?;
    let rows: Vec<(i64, String, String, String)> = sqlx::query_as(&sql)
        .bind(list)
        .fetch_all(tx.conn())
        .await
        .map_err(StoreError::from_sqlx)?;
    Ok(rows
        .into_iter()
        .map(|(n, id, status, customer_id)| {
            let key = (n, customer_id.clone());
            (
                key,
                Found {
                    id,
                    status,
                    customer_id,
                },
            )
        })
        .collect())
}

/// The customer behind each item's sender (created if new, as in the one-message path) and
/// whether the sender had a usable address.
async fn senders(
    state: &AppState,
    tx: &mut Tx,
    items: &[&Item<'_>],
) -> StoreResult<Vec<(String, bool)>> {
    let region = &state.settings.text.default_region;
    let keys: Vec<Option<(String, &str)>> = items
        .iter()
        .map(|i| {
            let raw = i.parsed.from.email.as_deref()?;
            let value = crate::customers::normalise_identity("email", raw, region).ok()?;
            Some((value, raw))
        })
        .collect();
    // Each new customer is named by the first message of theirs; kept in value order, so
    // concurrent batches insert identities in the same order.
    let mut wanted: BTreeMap<&str, (&str, Option<String>)> = BTreeMap::new();
    for (item, key) in items.iter().zip(&keys) {
        if let Some((value, raw)) = key {
            wanted
                .entry(value.as_str())
                .or_insert((raw, item.parsed.from.name.clone()));
        }
    }
    let list: Vec<(String, String, Option<String>)> = wanted
        .into_iter()
        .map(|(v, (raw, name))| (v.to_string(), raw.to_string(), name))
        .collect();
    let found = if list.is_empty() {
        HashMap::new()
    } else {
        crate::customers::find_or_create_many(tx, "email", &list).await?
    };
    let mut out = Vec::with_capacity(items.len());
    for (item, key) in items.iter().zip(keys) {
        out.push(match key {
            Some((value, _)) => (
                found.get(&value).cloned().ok_or(StoreError::NotFound)?,
                true,
            ),
            None => {
                let name = item.parsed.from.name.as_deref().unwrap_or("Unknown sender");
                let id = crate::customers::insert(tx, Some(name), None, "standard", "{}").await?;
                (id, false)
            }
        });
    }
    Ok(out)
}

/// A conversation the batch opens.
struct NewConv<'a> {
    id: String,
    customer_id: String,
    subject: String,
    queue_id: Option<String>,
    count: i64,
    /// The message that opened it (acknowledged, if its mailbox says so).
    first: &'a Item<'a>,
}

/// A message the batch appends: its conversation and its place among the batch's messages
/// of that conversation (1-based).
struct Msg<'a> {
    item: &'a Item<'a>,
    author: String,
    usable: bool,
    conv: Found,
    offset: i64,
    opened: bool,
}

/// Everything a batch writes.
#[derive(Default)]
struct Plan<'a> {
    new_convs: Vec<NewConv<'a>>,
    new_index: HashMap<String, usize>,
    /// Existing conversation → (messages appended, last message time, last append time).
    existing: BTreeMap<String, (i64, i64, i64)>,
    /// Existing conversations' status as the batch leaves them.
    status: HashMap<String, String>,
    /// Finished conversations a personal message reopens, with the customer reopening each.
    reopen: Vec<(String, String)>,
    msgs: Vec<Msg<'a>>,
}

impl<'a> Plan<'a> {
    /// Plan `item` (from `author`) into the conversation it answers, or a new one.
    fn place(
        &mut self,
        item: &'a Item<'a>,
        author: String,
        usable: bool,
        into: Option<Found>,
        queue_id: Option<String>,
    ) -> Found {
        let now = now_ms();
        let (conv, offset, opened) = match into {
            Some(f) if self.new_index.contains_key(&f.id) => {
                let c = &mut self.new_convs[self.new_index[&f.id]];
                c.count += 1;
                (f, c.count, false)
            }
            Some(f) => {
                let status = self.status.entry(f.id.clone()).or_insert(f.status.clone());
                let finished = matches!(status.as_str(), "pending" | "resolved" | "closed");
                if finished && message::personal(item.parsed) {
                    self.reopen.push((f.id.clone(), author.clone()));
                    *status = "open".into();
                }
                let e = self.existing.entry(f.id.clone()).or_insert((0, 0, 0));
                *e = (e.0 + 1, now, now);
                (f, e.0, false)
            }
            None => {
                let id = new_id();
                self.new_index.insert(id.clone(), self.new_convs.len());
                self.new_convs.push(NewConv {
                    id: id.clone(),
                    customer_id: author.clone(),
                    subject: message::subject(item.parsed),
                    queue_id,
                    count: 1,
                    first: item,
                });
                let f = Found {
                    id,
                    status: "open".into(),
                    customer_id: author.clone(),
                };
                (f, 1, true)
            }
        };
        self.msgs.push(Msg {
            item,
            author,
            usable,
            conv: conv.clone(),
            offset,
            opened,
        });
        conv
    }

    /// Write the plan inside `tx`.
    async fn write(
        self,
        state: &AppState,
        tx: &mut Tx,
        outcomes: &mut [Option<Outcome>],
        events: &mut Vec<Event>,
    ) -> StoreResult<()> {
        let now = now_ms();
        for (id, customer) in &self.reopen {
            let conv = convs::get_untagged(tx.conn(), id).await?;
            events.extend(convs::set_status(tx, &conv, "open", &actor(customer)).await?);
        }
        let start = events.len();
        let numbers = match self.new_convs.len() {
            0 => Vec::new(),
            n => ledger::next_numbers(tx, n).await?,
        };
        let base = if self.existing.is_empty() {
            HashMap::new()
        } else {
            ledger::reserve_seqs(tx, &self.existing).await?
        };
        let max_chars = state.settings.limits.max_message_chars;
        let (mut rows, mut history, mut written) = (Vec::new(), Vec::new(), Vec::new());
        for m in &self.msgs {
            let built = message::build(m.item.parsed, m.item.mailbox.as_ref(), m.usable, max_chars);
            let (seq, assignee) = match base.get(&m.conv.id) {
                Some((last, assignee)) => (last + m.offset, assignee.clone()),
                None => (m.offset, None),
            };
            if m.opened {
                let c = &self.new_convs[self.new_index[&m.conv.id]];
                let number = numbers[self.new_index[&m.conv.id]];
                let data = created_data("email", number, &c.queue_id, "open");
                events.push(created(&m.conv, &m.author, data, now, &mut history));
            }
            let message = Message {
                id: new_id(),
                conversation_id: m.conv.id.clone(),
                seq,
                author_kind: "customer".into(),
                author_id: Some(m.author.clone()),
                body: built.body,
                internal: false,
                channel: "email".into(),
                external_id: Some(m.item.parsed.message_id.clone()),
                meta: built.meta,
                created_at: ms_to_rfc3339(now),
            };
            rows.push(message_row(&message, now));
            outcomes[m.item.index] = Some(Outcome::Stored {
                conversation_id: m.conv.id.clone(),
                message_id: message.id.clone(),
                new_conversation: m.opened,
            });
            written.push((message.id.clone(), built.attachments));
            events.push(events::about_conversation(
                "message.created",
                message.into_event_data(),
                &m.conv.id,
                &m.conv.customer_id,
                assignee.as_deref(),
            ));
        }
        ledger::deliver(tx, events[start..].iter()).await?;
        let conversations = self.conversation_rows(&numbers, now);
        // Conversations, messages, history and the events: one round trip.
        let parts = vec![
            (sql::CONVERSATION_ROWS, conversations),
            (sql::MESSAGE_ROWS, rows),
            (sql::HISTORY_ROWS, history),
        ];
        let attached = written.iter().any(|(_, a)| !a.is_empty());
        let last = !attached && !self.acknowledges();
        ledger::insert_written(tx, parts, last).await?;
        for ((message_id, attachments), m) in written.iter().zip(&self.msgs) {
            message::insert_attachments(tx, message_id, &m.conv.id, attachments).await?;
        }
        self.acknowledge(tx, &numbers, now).await
    }

    /// Rows of the conversations the batch opens, in their state after it.
    fn conversation_rows(&self, numbers: &[i64], now: i64) -> Vec<Vec<V>> {
        let rows = self.new_convs.iter().zip(numbers).map(|(c, n)| {
            vec![
                V::S(c.id.clone()),
                V::I(*n),
                V::S(c.customer_id.clone()),
                V::S("email".into()),
                V::S("open".into()),
                V::S(c.subject.clone()),
                V::S(switchboard_text::search_fold(&c.subject)),
                V::I(now),
                V::I(now),
                V::I(now),
                V::I(c.count),
                V::J(None),
                V::N(c.queue_id.clone()),
                V::J(c.queue_id.as_ref().map(|_| now)),
            ]
        });
        rows.collect()
    }

    /// The mailbox acknowledging new conversation `c`, if it is opened by a person's mail to
    /// a mailbox that acknowledges.
    fn acknowledging<'c>(c: &'c NewConv) -> Option<&'c Mailbox> {
        let mailbox = c.first.mailbox.as_ref().filter(|m| m.ack_enabled == 1);
        mailbox.filter(|_| c.first.parsed.auto == AutoKind::None)
    }

    /// Whether [`Self::acknowledge`] writes anything.
    fn acknowledges(&self) -> bool {
        self.new_convs
            .iter()
            .any(|c| Self::acknowledging(c).is_some())
    }

    /// Acknowledge the new conversations opened by a person's mail to a mailbox that
    /// acknowledges.
    async fn acknowledge(&self, tx: &mut Tx, numbers: &[i64], now: i64) -> StoreResult<()> {
        for (c, number) in self.new_convs.iter().zip(numbers) {
            let Some(m) = Self::acknowledging(c) else {
                continue;
            };
            let at = ms_to_rfc3339(now);
            let conv = Conversation {
                id: c.id.clone(),
                number: *number,
                customer_id: c.customer_id.clone(),
                channel: "email".into(),
                status: "open".into(),
                priority: 0,
                queue_id: c.queue_id.clone(),
                assignee_id: None,
                subject: c.subject.clone(),
                tags: Vec::new(),
                created_at: at.clone(),
                updated_at: at.clone(),
                last_message_at: Some(at),
                first_response_at: None,
                resolved_at: None,
            };
            outbox::enqueue_ack(tx, &conv, m, c.first.parsed).await?;
        }
        Ok(())
    }
}

fn actor(customer: &str) -> Actor {
    Actor {
        kind: "customer",
        id: Some(customer.to_string()),
    }
}

/// A conversation's `created` event, by the customer whose mail opened it, with its
/// history row.
fn created(
    conv: &Found,
    author: &str,
    data: serde_json::Value,
    now: i64,
    history: &mut Vec<Vec<V>>,
) -> Event {
    let ev = events::about_conversation(
        "conversation.created",
        data,
        &conv.id,
        &conv.customer_id,
        None,
    );
    history.push(vec![
        V::S(ev.id.clone()),
        V::S(conv.id.clone()),
        V::S("created".into()),
        V::S("customer".into()),
        V::N(Some(author.to_string())),
        V::S(ev.data.to_string()),
        V::I(now),
    ]);
    ev
}

/// A message's row of [`sql::MESSAGE_ROWS`].
fn message_row(m: &Message, at: i64) -> Vec<V> {
    vec![
        V::S(m.id.clone()),
        V::S(m.conversation_id.clone()),
        V::I(m.seq),
        V::S(m.author_kind.clone()),
        V::N(m.author_id.clone()),
        V::S(switchboard_text::search_fold(&m.body)),
        V::S(m.body.clone()),
        V::S(m.channel.clone()),
        V::N(m.external_id.clone()),
        V::S(m.meta.to_string()),
        V::I(at),
    ]
}
