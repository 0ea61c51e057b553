//! The conversations a group commit opens for visitors writing for the first time: a visitor
//! row, a customer holding the visitor identity (or the customer that already holds it), a
//! numbered conversation and, when nobody is available, the `offline` tag. With parallel
//! writers ([`open_locked`], the ledger's [`chat_pg::open`]) in one statement safe against
//! concurrent writers; with one writer ([`open_lite`]) with one read, the rows then going out
//! with the batch's one write ([`chat_lite::write`]).

use super::job::Job;
use super::visitor::{self, Visitor, OFFLINE_TAG};
use crate::conversations::ledger::chat_lite::{self, FreshRows};
use crate::conversations::ledger::chat_pg;
use crate::store::bulk::V as B;
use crate::store::{new_id, StoreResult, Tx};
use std::collections::HashMap;

/// The batch's messages, as the conversations it opens need them.
#[derive(Clone, Copy)]
pub(super) struct Sent<'b> {
    /// Messages per visitor id.
    pub count: &'b HashMap<&'b str, i64>,
    pub jobs: &'b [Job],
    /// Indexes into `jobs` of the messages to store, in arrival order.
    pub work: &'b [usize],
}

/// A conversation the batch opens for a new visitor.
pub(super) struct Fresh<'a> {
    pub(super) visitor: &'a Visitor,
    pub(super) conv_id: String,
    pub(super) number: i64,
    pub(super) customer: String,
    pub(super) subject: String,
    pub(super) offline: bool,
    /// Messages of this visitor in the batch.
    pub(super) count: i64,
}

impl<'a> Fresh<'a> {
    /// A conversation for `v`, whose first message gives the subject; numbered later.
    pub(super) fn new(v: &'a Visitor, customer: String, offline: bool, sent: Sent<'_>) -> Self {
        let text = sent
            .work
            .iter()
            .map(|&i| &sent.jobs[i])
            .find(|j| j.visitor.id == v.id)
            .map(|j| j.text.as_str())
            .unwrap_or("");
        Fresh {
            visitor: v,
            conv_id: new_id(),
            number: 0,
            customer,
            subject: visitor::subject_from(text),
            offline,
            count: sent.count[v.id.as_str()],
        }
    }

    /// The values of the ledger's `sql::CHAT_CONVERSATIONS`.
    pub(super) fn row(&self, now: i64) -> Vec<B> {
        let queue = self.visitor.site.queue_id.clone();
        vec![
            B::S(self.conv_id.clone()),
            B::I(self.number),
            B::S(self.customer.clone()),
            B::J(queue.as_ref().map(|_| now)),
            B::N(queue),
            B::S(self.subject.clone()),
            B::S(switchboard_text::search_fold(&self.subject)),
            B::I(now),
            B::I(self.count),
            B::I(now),
            B::I(now),
        ]
    }

    /// The offline tag row, when the conversation was opened with nobody available.
    pub(super) fn tag(&self) -> Option<Vec<B>> {
        self.offline
            .then(|| vec![B::S(self.conv_id.clone()), B::S(OFFLINE_TAG.into())])
    }
}

/// Open a conversation for each of `candidates` (new visitors), inside `tx`: written at once
/// with parallel writers; with one writer returned as rows for the batch's one write.
pub(super) async fn open<'a>(
    tx: &mut Tx,
    now: i64,
    candidates: Vec<&'a Visitor>,
    sent: Sent<'_>,
) -> StoreResult<(Vec<Fresh<'a>>, FreshRows)> {
    if tx.single_writer() {
        return open_lite(tx, now, candidates, sent).await;
    }
    let fresh = open_locked(tx, now, candidates, sent).await?;
    Ok((fresh, FreshRows::default()))
}

/// [`open`] with parallel writers: one statement ([`chat_pg::open`]). Visitors whose row
/// another writer created meanwhile are left out; they take the one-message path.
async fn open_locked<'a>(
    tx: &mut Tx,
    now: i64,
    candidates: Vec<&'a Visitor>,
    sent: Sent<'_>,
) -> StoreResult<Vec<Fresh<'a>>> {
    let fresh: Vec<Fresh<'a>> = candidates
        .into_iter()
        .map(|v| Fresh::new(v, new_id(), false, sent))
        .collect();
    let input: Vec<chat_pg::Input> = fresh
        .iter()
        .enumerate()
        .map(|(k, f)| chat_pg::Input {
            vid: &f.visitor.id,
            site: &f.visitor.site.id,
            conv: &f.conv_id,
            cust: &f.customer,
            ident: new_id(),
            queue: f.visitor.site.queue_id.as_deref(),
            subject: &f.subject,
            subject_search: switchboard_text::search_fold(&f.subject),
            n: f.count,
            ord: k as i64,
            in_hours: f.visitor.site.in_hours() as i64,
        })
        .collect();
    let mut opened = chat_pg::open(tx, now, &input, OFFLINE_TAG).await?;
    Ok(fresh
        .into_iter()
        .filter_map(|mut f| {
            let o = opened.remove(&f.visitor.id)?;
            (f.number, f.customer, f.offline) = (o.number, o.customer, o.offline);
            Some(f)
        })
        .collect())
}

/// [`open`] with one writer: one read, and the rows to send with the batch's write.
async fn open_lite<'a>(
    tx: &mut Tx,
    now: i64,
    candidates: Vec<&'a Visitor>,
    sent: Sent<'_>,
) -> StoreResult<(Vec<Fresh<'a>>, FreshRows)> {
    let mut rows = FreshRows::default();
    if candidates.is_empty() {
        return Ok((Vec::new(), rows));
    }
    let ids: Vec<&str> = candidates.iter().map(|v| v.id.as_str()).collect();
    let found = chat_lite::fresh_lookup(tx, &ids).await?;
    let mut fresh = Vec::with_capacity(candidates.len());
    for v in candidates {
        let customer = match found.owners.get(&v.id) {
            Some(c) => c.clone(),
            None => {
                let c = new_id();
                rows.customers
                    .push(vec![B::S(c.clone()), B::I(now), B::I(now)]);
                rows.identities.push(vec![
                    B::S(new_id()),
                    B::S(c.clone()),
                    B::S(v.id.clone()),
                    B::S(v.id.clone()),
                    B::I(now),
                ]);
                c
            }
        };
        let offline = !(found.available > 0 && v.site.in_hours());
        let mut f = Fresh::new(v, customer, offline, sent);
        f.number = found.next_number + fresh.len() as i64;
        rows.conversations.push(f.row(now));
        rows.tags.extend(f.tag());
        rows.visitors.push(vec![
            B::S(v.id.clone()),
            B::S(v.site.id.clone()),
            B::S(f.customer.clone()),
            B::S(f.conv_id.clone()),
            B::I(now),
            B::I(now),
        ]);
        fresh.push(f);
    }
    Ok((fresh, rows))
}
