//! Group commit of visitor messages. Sockets queue their messages here; one writer per node
//! takes everything queued (up to [`MAX_BATCH`]), stores it in one transaction and answers
//! each socket only after that commit, so every ack still means "durable". When the batch
//! transaction fails, each message is stored again in its own transaction: one bad message
//! never takes its neighbours with it, and the `client_id` idempotency (checked inside every
//! transaction) means nothing is stored twice, even if the failed commit did reach the disk.
//!
//! Order: a batch's messages are stored in arrival order, and a socket waits for its ack
//! before it reads its next frame, so each conversation's messages keep the order they were
//! sent in.

use super::hub::Hub;
use super::job::Job;
use super::visitor::{self, Stored, Visitor};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use serde_json::Value;
use std::sync::Arc;
use tokio::sync::mpsc;

/// Most messages in one transaction.
pub const MAX_BATCH: usize = 256;
/// Messages that may wait for the writer; beyond that, sockets wait to queue (back-pressure).
const QUEUE: usize = 4 * MAX_BATCH;

/// Store a visitor message through the node's writer; returns once it is committed.
pub async fn store(
    state: &AppState,
    hub: &Arc<Hub>,
    v: &Visitor,
    client_id: &str,
    text: &str,
    attachment: Option<Value>,
) -> ApiResult<Stored> {
    let (mut job, answer) = Job::new(v.clone(), client_id.to_string(), text.to_string());
    job.attachment = attachment;
    let queue = hub.writer.get_or_init(|| spawn(state.clone(), hub.clone()));
    if queue.send(job).await.is_err() {
        return Err(ApiError::Unavailable);
    }
    answer.await.unwrap_or(Err(ApiError::Unavailable))
}

/// Start the writers of `hub`; they stop when the node stops, after storing what was queued.
/// SQLite has one writer (its transactions are serialised anyway); PostgreSQL runs a few in
/// parallel, each taking the next batch while the others commit. Two writers never hold
/// messages of one socket at once (a socket waits for each ack); what two tabs of one visitor
/// send is ordered by the conversation's row lock (taken when a batch reserves sequence
/// numbers) and, for a new visitor, by the visitor row's insert (one writer claims it).
pub fn spawn(state: AppState, hub: Arc<Hub>) -> mpsc::Sender<Job> {
    let (tx, rx) = mpsc::channel::<Job>(QUEUE);
    let writers = state.store.parallel_writers();
    let rx = Arc::new(tokio::sync::Mutex::new(rx));
    for _ in 0..writers {
        let (state, hub, rx) = (state.clone(), hub.clone(), rx.clone());
        tokio::spawn(async move {
            let mut jobs = Vec::with_capacity(MAX_BATCH);
            loop {
                let n = {
                    let mut rx = rx.lock().await;
                    tokio::select! {
                        biased;
                        n = rx.recv_many(&mut jobs, MAX_BATCH) => n,
                        _ = hub.stopping.cancelled() => {
                            rx.close();
                            rx.recv_many(&mut jobs, MAX_BATCH).await
                        }
                    }
                };
                if n == 0 {
                    break;
                }
                write(&state, std::mem::take(&mut jobs)).await;
                jobs.reserve(MAX_BATCH);
            }
        });
    }
    tx
}

/// Store `jobs` together, or one by one if that fails; answer every job.
async fn write(state: &AppState, jobs: Vec<Job>) {
    let started = std::time::Instant::now();
    metrics::histogram!("switchboard_chat_batch_size").record(jobs.len() as f64);
    match batch_commit(state, &jobs).await {
        Ok(stored) => {
            for (job, s) in jobs.into_iter().zip(stored) {
                let _ = job.reply.send(Ok(s));
            }
        }
        Err(e) => {
            if jobs.len() > 1 {
                tracing::warn!(error = %e, messages = jobs.len(),
                    "chat batch failed; storing its messages one by one");
            }
            for job in jobs {
                let r = visitor::store_message(
                    state,
                    &job.visitor,
                    &job.client_id,
                    &job.text,
                    job.attachment.clone(),
                )
                .await;
                let _ = job.reply.send(r);
            }
        }
    }
    metrics::histogram!("switchboard_chat_batch_seconds").record(started.elapsed().as_secs_f64());
}

async fn batch_commit(state: &AppState, jobs: &[Job]) -> ApiResult<Vec<Stored>> {
    let mut tx = state.store.begin().await?;
    let stored = super::batch::store_all(state, &mut tx, jobs).await;
    tx.finish(stored).await
}
