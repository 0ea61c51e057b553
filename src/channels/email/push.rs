//! Group commit of mail pushed over HTTP (`POST /channels/email/inbound`): concurrent pushes
//! queue here, and a writer stores everything queued (up to [`MAX_BATCH`] messages or
//! [`MAX_BATCH_BYTES`]) with [`inbound::ingest_parsed`] in one transaction per mailbox, like an
//! IMAP fetch (each push is parsed by its own request first). Each push is answered after that
//! commit; a batch that fails is stored message by message, so one bad message never fails its
//! neighbours. On stores with parallel writers at most two writers take turns at the queue
//! ([`MAX_WRITERS`]); under load each first gathers its share of the pushes waiting
//! ([`Load`], [`GATHER`]).

use super::inbound::{self, Outcome};
use super::mailboxes::Mailbox;
use crate::state::AppState;
use crate::store::{StoreError, StoreResult};
use axum::body::Bytes;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot, Mutex};
use tokio::time::Instant;

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
    load: Arc<Load>,
}

/// How many pushes are waiting for their answer, now and at most lately: a writer gathers
/// its share of them before it starts, so that senders answered together come back into
/// one group instead of each into a group of its own.
#[derive(Default)]
struct Load {
    waiting: AtomicUsize,
    /// The most pushes waiting at once within [`LOAD_WINDOW`], and when that was seen.
    peak: std::sync::Mutex<(usize, Option<Instant>)>,
}

/// How long a peak of waiting pushes counts as the current load.
const LOAD_WINDOW: Duration = Duration::from_millis(100);

impl Load {
    fn arrived(&self) {
        let now = self.waiting.fetch_add(1, Ordering::Relaxed) + 1;
        let mut peak = self.peak.lock().expect("push load lock");
        let stale = peak.1.is_none_or(|at| at.elapsed() > LOAD_WINDOW);
        if stale || now >= peak.0 {
            *peak = (now, Some(Instant::now()));
        }
    }

    fn answered(&self) {
        self.waiting.fetch_sub(1, Ordering::Relaxed);
    }

    /// Pushes a writer of `writers` should gather: its share of the recent peak.
    fn share(&self, writers: usize) -> usize {
        let peak = *self.peak.lock().expect("push load lock");
        let recent = match peak.1 {
            Some(at) if at.elapsed() <= LOAD_WINDOW => peak.0,
            _ => self.waiting.load(Ordering::Relaxed),
        };
        recent.div_ceil(writers.max(1)).max(1)
    }
}

/// Answers its push's place in [`Load`] when dropped (answered, failed or cancelled).
struct Waiting<'a>(&'a Load);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.answered();
    }
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
        let queue = self
            .queue
            .get_or_init(|| spawn(state.clone(), self.load.clone()));
        self.load.arrived();
        let _waiting = Waiting(&self.load);
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
fn spawn(state: AppState, load: Arc<Load>) -> mpsc::Sender<Job> {
    let (tx, rx) = mpsc::channel::<Job>(QUEUE);
    let rx = Arc::new(Mutex::new(rx));
    let writers = state.store.parallel_writers().min(MAX_WRITERS);
    for _ in 0..writers {
        let (state, rx, load) = (state.clone(), rx.clone(), load.clone());
        tokio::spawn(async move {
            let mut held = None;
            while let Some(batch) = next_batch(&rx, &mut held, &load, writers).await {
                write(&state, batch).await;
            }
        });
    }
    tx
}

/// Longest a writer waits for its share of the load ([`Load::share`]) after its first push.
/// Senders answered by one commit push again within about a millisecond; a writer that
/// started at once took only the first of them, and the rest waited for the next commit
/// (PostgreSQL, 16 senders: 649 messages/s without waiting, 821 with; BENCHMARKS.md
/// session 35). It is also the most a push waits for others when the load has just
/// dropped.
const GATHER: Duration = Duration::from_millis(2);

/// The next batch: one job waited for, then whatever is queued within the limits (a job
/// over the byte limit is `held` for the next batch), waiting up to [`GATHER`] until it
/// holds its share of the load as it is when the first job came. None when the queue is
/// closed.
async fn next_batch(
    rx: &Mutex<mpsc::Receiver<Job>>,
    held: &mut Option<Job>,
    load: &Load,
    writers: usize,
) -> Option<Vec<Job>> {
    let mut rx = rx.lock().await;
    let first = match held.take() {
        Some(job) => job,
        None => rx.recv().await?,
    };
    let want = load.share(writers);
    let until = Instant::now() + GATHER;
    let mut bytes = first.raw.len();
    let mut batch = vec![first];
    while batch.len() < MAX_BATCH {
        let job = match rx.try_recv() {
            Ok(job) => job,
            Err(mpsc::error::TryRecvError::Empty) if batch.len() < want => {
                match tokio::time::timeout_at(until, rx.recv()).await {
                    Ok(Some(job)) => job,
                    _ => break,
                }
            }
            Err(_) => break,
        };
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

#[cfg(test)]
mod tests {
    use super::*;

    fn job() -> (Job, oneshot::Receiver<StoreResult<Outcome>>) {
        let raw = Bytes::from_static(b"From: a@example.com\r\nSubject: hi\r\n\r\nhello\r\n");
        let (answer, answered) = oneshot::channel();
        let parsed = inbound::parse(&raw);
        let job = Job {
            mailbox: None,
            raw,
            parsed,
            answer,
        };
        (job, answered)
    }

    #[test]
    fn a_writers_share_is_the_recent_peak_split_between_the_writers() {
        let load = Load::default();
        assert_eq!(load.share(2), 1, "no load: start at once");
        for _ in 0..16 {
            load.arrived();
        }
        for _ in 0..10 {
            load.answered();
        }
        assert_eq!(
            load.share(2),
            8,
            "the peak of 16 counts, not the 6 waiting now"
        );
        assert_eq!(load.share(1), 16);
        *load.peak.lock().unwrap() = (16, Some(Instant::now() - LOAD_WINDOW * 2));
        assert_eq!(load.share(2), 3, "an old peak gives way to the 6 waiting");
    }

    // Paused time: the runtime's clock jumps to the next timer whenever every task waits, so
    // "a millisecond after the first push" and "the wait is over" come in that order.
    #[tokio::test(start_paused = true)]
    async fn a_writer_gathers_the_pushes_that_come_back_within_the_wait() {
        let (tx, rx) = mpsc::channel(QUEUE);
        let rx = Mutex::new(rx);
        // Eight pushes waiting lately: each of two writers gathers four.
        let load = Load::default();
        for _ in 0..8 {
            load.arrived();
        }
        let mut answers = Vec::new();
        let (first, a) = job();
        answers.push(a);
        tx.send(first).await.ok().unwrap();
        let late = tx.clone();
        let mut later = Vec::new();
        for _ in 0..3 {
            let (j, a) = job();
            answers.push(a);
            later.push(j);
        }
        tokio::spawn(async move {
            tokio::time::sleep(GATHER / 2).await;
            for j in later {
                late.send(j).await.ok().unwrap();
            }
        });
        let batch = next_batch(&rx, &mut None, &load, 2).await.unwrap();
        assert_eq!(
            batch.len(),
            4,
            "the three sent just after the first join it"
        );

        let (alone, _a) = job();
        tx.send(alone).await.ok().unwrap();
        let started = Instant::now();
        let batch = next_batch(&rx, &mut None, &load, 2).await.unwrap();
        assert_eq!(batch.len(), 1, "nobody else came");
        assert_eq!(
            started.elapsed(),
            GATHER,
            "waited the gathering time, no longer"
        );
    }
}
