//! Group commit of mail pushed over HTTP (`POST /channels/email/inbound`): concurrent pushes
//! queue here, and a writer stores everything queued (up to [`MAX_BATCH`] messages or
//! [`MAX_BATCH_BYTES`]) with [`inbound::ingest_parsed`] in one transaction per mailbox, like an
//! IMAP fetch (each push is parsed by its own request first). Each push is answered after that commit; a batch that fails is stored message
//! by message, so one bad message never fails its neighbours. On stores with parallel writers
//! at most two writers take turns at the queue ([`MAX_WRITERS`]).

use super::inbound::{self, Outcome};
use super::mailboxes::Mailbox;
use crate::state::AppState;
use crate::store::{StoreError, StoreResult};
use axum::body::Bytes;
use std::sync::{Arc, OnceLock};
use tokio::sync::{mpsc, oneshot, Mutex};

/// Most messages stored in one transaction (an IMAP fetch stores up to 50).
pub const MAX_BATCH: usize = 50;
/// Most raw bytes stored in one transaction (as an IMAP fetch).
pub const MAX_BATCH_BYTES: usize = 16 * 1024 * 1024;
/// Pushes waiting for a writer before senders wait for room.
const QUEUE: usize = 1024;

/// One pushed message and where its answer goes.
struct Job {
    mailbox: Option<Mailbox>,
    raw: Bytes,
    /// Parsed by the pushing request (in parallel with the others and with the writer).
    parsed: inbound::Parsed,
    answer: oneshot::Sender<StoreResult<Outcome>>,
}

/// The queue of pushed mail of one application (its writers start on the first push).
#[derive(Default)]
pub struct Pushes {
    queue: OnceLock<mpsc::Sender<Job>>,
}

impl Pushes {
    /// Store `raw` (for `mailbox`, if given) together with whatever else is being pushed;
    /// returns once its transaction committed.
    pub async fn store(
        &self,
        state: &AppState,
        mailbox: Option<Mailbox>,
        raw: Bytes,
    ) -> StoreResult<Outcome> {
        let queue = self.queue.get_or_init(|| spawn(state.clone()));
        let (answer, answered) = oneshot::channel();
        let parsed = inbound::parse(&raw);
        let job = Job {
            mailbox,
            raw,
            parsed,
            answer,
        };
        if queue.send(job).await.is_err() {
            return Err(gone());
        }
        answered.await.unwrap_or_else(|_| Err(gone()))
    }
}

fn gone() -> StoreError {
    StoreError::Other(sqlx::Error::PoolClosed)
}

/// Most push writers at once. Their commits take turns anyway (the event log's order,
/// `crate::store::event_log`), so two suffice for one to gather its group while the other
/// commits; more only split the queue into smaller groups (PostgreSQL, 16 senders: 4 writers
/// 1,832 messages/s median, 2 writers 1,929; BENCHMARKS.md session 24).
const MAX_WRITERS: usize = 2;

/// Start the writers; they end when the queue's sender is dropped.
fn spawn(state: AppState) -> mpsc::Sender<Job> {
    let (tx, rx) = mpsc::channel::<Job>(QUEUE);
    let rx = Arc::new(Mutex::new(rx));
    for _ in 0..state.store.parallel_writers().min(MAX_WRITERS) {
        let (state, rx) = (state.clone(), rx.clone());
        tokio::spawn(async move {
            let mut held = None;
            while let Some(batch) = next_batch(&rx, &mut held).await {
                write(&state, batch).await;
            }
        });
    }
    tx
}

/// The next batch: one job waited for, then whatever is queued within the limits (a job
/// over the byte limit is `held` for the next batch). None when the queue is closed.
async fn next_batch(rx: &Mutex<mpsc::Receiver<Job>>, held: &mut Option<Job>) -> Option<Vec<Job>> {
    let mut rx = rx.lock().await;
    let first = match held.take() {
        Some(job) => job,
        None => rx.recv().await?,
    };
    let mut bytes = first.raw.len();
    let mut batch = vec![first];
    while batch.len() < MAX_BATCH {
        let Ok(job) = rx.try_recv() else { break };
        if bytes + job.raw.len() > MAX_BATCH_BYTES {
            *held = Some(job);
            break;
        }
        bytes += job.raw.len();
        batch.push(job);
    }
    Some(batch)
}

/// Store `batch`, one transaction per mailbox, and answer each job.
async fn write(state: &AppState, batch: Vec<Job>) {
    let mut groups: Vec<(Option<Mailbox>, Vec<Job>)> = Vec::new();
    for job in batch {
        let id = job.mailbox.as_ref().map(|m| m.id.clone());
        match groups
            .iter_mut()
            .find(|(m, _)| m.as_ref().map(|m| &m.id) == id.as_ref())
        {
            Some((_, jobs)) => jobs.push(job),
            None => groups.push((job.mailbox.clone(), vec![job])),
        }
    }
    for (mailbox, jobs) in groups {
        let mut raws = Vec::with_capacity(jobs.len());
        let mut parsed = Vec::with_capacity(jobs.len());
        let mut answers = Vec::with_capacity(jobs.len());
        for j in jobs {
            raws.push(j.raw);
            parsed.push(j.parsed);
            answers.push(j.answer);
        }
        match inbound::ingest_parsed(state, mailbox.as_ref(), &raws, &parsed, None).await {
            Ok(outcomes) => {
                for (answer, outcome) in answers.into_iter().zip(outcomes) {
                    let _ = answer.send(Ok(outcome));
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "storing pushed mail failed");
                for answer in answers {
                    let msg = format!("storing pushed mail failed: {e}");
                    let _ = answer.send(Err(StoreError::Other(sqlx::Error::Protocol(msg))));
                }
            }
        }
    }
}
