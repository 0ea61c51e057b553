//! One group commit: many visitor messages stored inside one transaction with a handful of
//! multi-row statements, whatever the batch size. Writes the same rows and events as
//! [`visitor::store_in`], which still handles the rare cases itself (reopening a resolved
//! conversation, verified identities, a visitor row without a conversation, races).
//!
//! Statements per batch on PostgreSQL ([`chat_pg`]): one read (resends, visitor rows), the
//! sequence reservation of open conversations (which locks their rows) and one statement
//! opening the conversations of new visitors, then one write of the messages and their
//! history rows — five round trips with `BEGIN` and `COMMIT` (six when a batch has both
//! kinds). On SQLite ([`chat_lite`]) the resend check, visitors and their conversations are
//! one read, and the reservation, messages and history one multi-statement write, so a batch
//! of follow-ups is four round trips to SQLite's thread with `BEGIN` and `COMMIT`.

use super::fresh;
use super::job::Job;
use super::visitor::{self, Stored, Visitor, CHANNEL};
use crate::bus::Event;
use crate::conversations::ledger::{batch as ledger, chat_lite, chat_pg};
use crate::conversations::{self, Message};
use crate::error::ApiResult;
use crate::events;
use crate::state::AppState;
use crate::store::bulk::V as B;
use crate::store::{ms_to_rfc3339, new_id, now_ms, Tx};
use serde_json::{json, Value};
use std::collections::{HashMap, HashSet};

/// How one visitor's messages in the batch are stored.
enum Route {
    /// Appended to its open conversation.
    Open(String),
    /// A new visitor: the batch opens its conversation (index into the fresh list).
    Fresh(usize),
    /// The one-message path ([`visitor::store_in`]) inside the same transaction.
    Single,
}

/// Store every job inside `tx`; the results are in job order. Any error fails the batch.
pub async fn store_all(state: &AppState, tx: &mut Tx, jobs: &[Job]) -> ApiResult<Vec<Stored>> {
    let now = now_ms();
    let ext: Vec<String> = jobs
        .iter()
        .map(|j| visitor::external_id(&j.visitor, &j.client_id))
        .collect();
    let mut out: Vec<Option<Stored>> = jobs.iter().map(|_| None).collect();
    let keys: Vec<&str> = ext.iter().map(String::as_str).collect();
    // One read: resends, the visitors and (SQLite) their conversations.
    let mut ids: Vec<&str> = jobs.iter().map(|j| j.visitor.id.as_str()).collect();
    let mut seen = HashSet::new();
    ids.retain(|v| seen.insert(*v));
    let (stored, known, stale, lite) = if tx.single_writer() {
        let mut l = chat_lite::lookup(tx, now, CHANNEL, &keys, &ids).await?;
        let (stored, known) = (std::mem::take(&mut l.stored), std::mem::take(&mut l.known));
        (stored, known, Vec::new(), Some(l))
    } else {
        let p = chat_pg::lookup(tx, now, CHANNEL, &keys, &ids).await?;
        (p.stored, p.known, p.stale, None)
    };
    let (repeats, work) = split_resends(&ext, &stored, &mut out);
    let (visitors, count) = visitors_of(jobs, &work);
    let (mut route, open, candidates) = routes(&visitors, &known, &count);
    // Open conversations: reserve the seqs (and lock the rows on PostgreSQL). One that was
    // resolved meanwhile is left to the one-message path, which reopens it.
    let pairs: Vec<(&str, i64)> = open.iter().map(|(c, n, _)| (*c, *n)).collect();
    let (reserved, pending) = match &lite {
        Some(l) => reserve_read(&l.convs, &pairs),
        None => (ledger::reserve_open(tx, now, &pairs).await?, Vec::new()),
    };
    for (c, _, v) in &open {
        if !reserved.contains_key(*c) {
            route.insert(v, Route::Single);
        }
    }
    let sent = fresh::Sent {
        count: &count,
        jobs,
        work: &work,
    };
    let (fresh, fresh_rows) = fresh::open(tx, now, candidates, sent).await?;
    for (k, f) in fresh.iter().enumerate() {
        route.insert(&f.visitor.id, Route::Fresh(k));
    }
    // The messages, their history rows and events, in arrival order.
    let mut next: HashMap<String, i64> = HashMap::new();
    let (mut rows, mut history, mut singles) = (Vec::new(), Vec::new(), Vec::new());
    for &i in &work {
        let j = &jobs[i];
        let vid = j.visitor.id.as_str();
        let mut events = Vec::new();
        let (conv, customer, assignee, seq) = match &route[vid] {
            Route::Single => {
                singles.push(i);
                continue;
            }
            Route::Open(c) => {
                let (last, customer, assignee) = &reserved[c];
                let n = next.entry(c.clone()).or_insert(last - count[vid]);
                *n += 1;
                (c.clone(), customer.clone(), assignee.clone(), *n)
            }
            Route::Fresh(k) => {
                let f = &fresh[*k];
                let n = next.entry(f.conv_id.clone()).or_insert(0);
                *n += 1;
                if *n == 1 {
                    let queue = &j.visitor.site.queue_id;
                    let data = conversations::created_data(CHANNEL, f.number, queue, "open");
                    let at = At {
                        conv: &f.conv_id,
                        customer: &f.customer,
                        assignee: None,
                        vid,
                        now,
                    };
                    events.push(event(&at, "created", data, &mut history));
                }
                (f.conv_id.clone(), f.customer.clone(), None, *n)
            }
        };
        let message = Message {
            id: new_id(),
            conversation_id: conv.clone(),
            seq,
            author_kind: "customer".into(),
            author_id: None,
            body: j.text.clone(),
            internal: false,
            channel: CHANNEL.into(),
            external_id: Some(ext[i].clone()),
            meta: visitor::message_meta(&j.visitor, &j.client_id, j.attachment.clone()),
            created_at: ms_to_rfc3339(now),
        };
        rows.push(vec![
            B::S(message.id.clone()),
            B::S(conv.clone()),
            B::I(seq),
            B::S(message.body.clone()),
            B::S(switchboard_text::search_fold(&message.body)),
            B::S(ext[i].clone()),
            B::S(message.meta.to_string()),
            B::I(now),
        ]);
        let at = At {
            conv: &conv,
            customer: &customer,
            assignee: assignee.as_deref(),
            vid,
            now,
        };
        // No history row: the message list holds it (see `conversations::append_new_message`).
        let ev = bare_event(&at, "message.created", json!({ "message": message }));
        events.push(ev);
        out[i] = Some(Stored {
            seq,
            conversation_id: conv,
            events,
            message: Some(message),
        });
    }
    // Recorded before the write: on SQLite the write also logs them (no round trip of its own).
    ledger::deliver(tx, out.iter().flatten().flat_map(|s| s.events.iter())).await?;
    match &lite {
        Some(l) => chat_lite::write(tx, now, fresh_rows, &pending, &l.stale, rows, history).await?,
        None => {
            chat_pg::touch(tx, now, &stale).await?;
            ledger::insert_chat(tx, rows, history).await?
        }
    }
    for i in singles {
        let j = &jobs[i];
        let s = visitor::store_in(
            state,
            tx,
            &j.visitor,
            &j.client_id,
            &j.text,
            j.attachment.clone(),
        )
        .await?;
        out[i] = Some(s);
    }
    for (i, f) in repeats {
        let s = out[f].as_ref().expect("stored before its repeat");
        out[i] = Some(resend(&s.conversation_id, s.seq));
    }
    Ok(out
        .into_iter()
        .map(|s| s.expect("every job answered"))
        .collect())
}

/// Resends of stored messages get the first copy's seq in `out`; returns the repeats inside
/// the batch (index, index of its first copy) and the indexes of the messages to store.
fn split_resends(
    ext: &[String],
    stored: &HashMap<String, (String, i64)>,
    out: &mut [Option<Stored>],
) -> (Vec<(usize, usize)>, Vec<usize>) {
    let mut first: HashMap<&str, usize> = HashMap::new();
    let (mut repeats, mut work) = (Vec::new(), Vec::new());
    for (i, e) in ext.iter().enumerate() {
        if let Some((c, seq)) = stored.get(e) {
            out[i] = Some(resend(c, *seq));
        } else if let Some(&f) = first.get(e.as_str()) {
            repeats.push((i, f));
        } else {
            first.insert(e, i);
            work.push(i);
        }
    }
    (repeats, work)
}

/// The visitors of the messages to store, in order of their first message, with their
/// message counts.
fn visitors_of<'j>(jobs: &'j [Job], work: &[usize]) -> (Vec<&'j Visitor>, HashMap<&'j str, i64>) {
    let mut visitors: Vec<&Visitor> = Vec::new();
    let mut count: HashMap<&str, i64> = HashMap::new();
    for &i in work {
        let v = &jobs[i].visitor;
        let n = count.entry(v.id.as_str()).or_insert(0);
        if *n == 0 {
            visitors.push(v);
        }
        *n += 1;
    }
    (visitors, count)
}

/// Open conversations of a visitor, with how many messages it adds, and the visitor.
type OpenEntry<'j> = (&'j str, i64, &'j str);

/// Each visitor's route as far as the read tells: appended to its open conversation (listed
/// in the second value), a candidate for a new conversation (the third; one-message path
/// until opened), or the one-message path.
#[allow(clippy::type_complexity)]
fn routes<'j>(
    visitors: &[&'j Visitor],
    known: &'j HashMap<String, Option<String>>,
    count: &HashMap<&str, i64>,
) -> (
    HashMap<&'j str, Route>,
    Vec<OpenEntry<'j>>,
    Vec<&'j Visitor>,
) {
    let mut route: HashMap<&str, Route> = HashMap::new();
    let (mut open, mut candidates): (Vec<OpenEntry>, _) = (Vec::new(), Vec::new());
    for v in visitors {
        let r = match known.get(&v.id) {
            // A conversation is one visitor's; should two ever share one, the second takes
            // the one-message path (seqs are reserved per conversation and visitor).
            Some(Some(c)) if open.iter().any(|(o, _, _)| *o == c.as_str()) => Route::Single,
            Some(Some(c)) => {
                open.push((c.as_str(), count[v.id.as_str()], v.id.as_str()));
                Route::Open(c.clone())
            }
            None if v.identity_customer.is_none() => {
                candidates.push(*v);
                Route::Single // until its conversation is opened below
            }
            _ => Route::Single,
        };
        route.insert(&v.id, r);
    }
    (route, open, candidates)
}

fn resend(conv: &str, seq: i64) -> Stored {
    Stored {
        seq,
        conversation_id: conv.to_string(),
        events: Vec::new(),
        message: None,
    }
}

/// Where a history entry belongs.
struct At<'a> {
    conv: &'a str,
    customer: &'a str,
    assignee: Option<&'a str>,
    vid: &'a str,
    now: i64,
}

/// An event `kind` about the visitor's conversation.
fn bare_event(at: &At, kind: &str, data: Value) -> Event {
    events::about_conversation(kind, data, at.conv, at.customer, at.assignee)
}

/// A `conversation.<kind>` event by the visitor, with its history row.
fn event(at: &At, kind: &str, data: Value, history: &mut Vec<Vec<B>>) -> Event {
    let ev = bare_event(at, &format!("conversation.{kind}"), data);
    history.push(vec![
        B::S(ev.id.clone()),
        B::S(at.conv.to_string()),
        B::S(kind.into()),
        B::N(Some(at.vid.to_string())),
        B::S(ev.data.to_string()),
        B::I(at.now),
    ]);
    ev
}

/// [`ledger::reserve_open`] from the conversations as read on SQLite: the reservations happen
/// in [`chat_lite::write`] (conversation, messages added, `last_seq` as read).
#[allow(clippy::type_complexity)]
fn reserve_read(
    convs: &HashMap<String, chat_lite::Conv>,
    open: &[(&str, i64)],
) -> (
    HashMap<String, (i64, String, Option<String>)>,
    Vec<(String, i64, i64)>,
) {
    let (mut reserved, mut pending) = (HashMap::new(), Vec::new());
    for &(c, n) in open {
        let Some(conv) = convs.get(c) else { continue };
        if matches!(conv.status.as_str(), "resolved" | "closed") {
            continue;
        }
        let last = conv.last_seq + n;
        reserved.insert(
            c.to_string(),
            (last, conv.customer.clone(), conv.assignee.clone()),
        );
        pending.push((c.to_string(), n, conv.last_seq));
    }
    (reserved, pending)
}
