//! SQLite's one writer, shared in-process, with two classes of transaction.
//!
//! Transactions someone is waiting on (a chat group commit, an API request, a routing pass)
//! queue for the writer in arrival order ([`WriteLock::foreground`]). Background work that
//! only has to catch up (the report worker's passes) takes a back seat
//! ([`WriteLock::background`]): it waits until no foreground transaction is queued or
//! running, or until it has waited [`BACKGROUND_WAIT`], whichever comes first.
//!
//! In one queue the report worker's short transactions (about a millisecond each, see
//! `reports::apply`) joined it after every chat group commit, so under a steady stream of
//! messages each commit waited for one of them: at 2,000 chat messages/s on two cores a
//! group commit waited 4 ms for the writer beside 5 ms of its own work, and 27 ms per commit
//! while new conversations poured in (BENCHMARKS.md, session 28). Background work still gets
//! a turn at least every [`BACKGROUND_WAIT`], so a busy writer delays reports, never stops them.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Mutex, Notify, OwnedMutexGuard};

/// Longest a background transaction waits for the foreground ones to leave the writer.
pub const BACKGROUND_WAIT: Duration = Duration::from_millis(20);

/// The writer lock and the count of foreground transactions queued for it or holding it.
#[derive(Clone, Default)]
pub struct WriteLock {
    lock: Arc<Mutex<()>>,
    busy: Arc<AtomicUsize>,
    /// Notified whenever the count falls to zero.
    idle: Arc<Notify>,
}

/// The writer, held until dropped.
pub struct WriteGuard {
    _guard: OwnedMutexGuard<()>,
    _busy: Option<Busy>,
}

/// One foreground transaction counted from the moment it queues until it is dropped.
struct Busy {
    lock: WriteLock,
}

impl Drop for Busy {
    fn drop(&mut self) {
        if self.lock.busy.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.lock.idle.notify_waiters();
        }
    }
}

impl WriteLock {
    /// The writer for a transaction someone waits on: in arrival order with the others.
    pub async fn foreground(&self) -> WriteGuard {
        self.busy.fetch_add(1, Ordering::AcqRel);
        let busy = Busy { lock: self.clone() };
        let guard = self.lock.clone().lock_owned().await;
        WriteGuard {
            _guard: guard,
            _busy: Some(busy),
        }
    }

    /// The writer for background work: once no foreground transaction is queued or running,
    /// or after [`BACKGROUND_WAIT`].
    pub async fn background(&self) -> WriteGuard {
        self.background_within(BACKGROUND_WAIT).await
    }

    /// [`WriteLock::background`], waiting at most `wait` for the foreground.
    async fn background_within(&self, wait: Duration) -> WriteGuard {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let idle = self.idle.notified();
            tokio::pin!(idle);
            // Registered before the count is read, so a fall to zero in between still wakes it.
            idle.as_mut().enable();
            if self.busy.load(Ordering::Acquire) == 0 {
                break;
            }
            if tokio::time::timeout_at(deadline, idle).await.is_err() {
                break;
            }
        }
        WriteGuard {
            _guard: self.lock.clone().lock_owned().await,
            _busy: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    /// Longer than any test waits: reaching it means the foreground's end went unnoticed.
    const LONG: Duration = Duration::from_secs(10);

    #[tokio::test]
    async fn background_waits_for_foreground_work_then_at_most_its_bound() {
        let lock = WriteLock::default();
        // Nothing in the foreground: at once.
        let started = Instant::now();
        drop(lock.background_within(LONG).await);
        assert!(started.elapsed() < LONG / 2);

        // Foreground work that ends: the background turn follows it, not the bound.
        let held = lock.foreground().await;
        let waiter = tokio::spawn({
            let lock = lock.clone();
            async move {
                let started = Instant::now();
                drop(lock.background_within(LONG).await);
                started.elapsed()
            }
        });
        tokio::time::sleep(Duration::from_millis(5)).await;
        drop(held);
        let waited = waiter.await.unwrap();
        assert!(waited >= Duration::from_millis(5), "{waited:?}");
        assert!(waited < LONG / 2, "{waited:?}");

        // Foreground work that never ends (queued again and again): the bound.
        let _busy = Busy {
            lock: {
                lock.busy.fetch_add(1, Ordering::AcqRel);
                lock.clone()
            },
        };
        let started = Instant::now();
        drop(lock.background().await);
        assert!(started.elapsed() >= BACKGROUND_WAIT);
    }
}
