//! A visitor socket's queue of pushes: a few words while empty (no preallocated channel
//! block), bounded, and coalescing consecutive "new messages" triggers.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use tokio::sync::Notify;

/// Something for a visitor socket to do.
#[derive(Debug, Clone)]
pub enum Push {
    /// Messages up to this seq may exist: read those not yet sent from the database.
    Messages(i64),
    /// The visitor's conversation was opened (by another tab).
    Conversation(String),
    Typing {
        on: bool,
        name: String,
    },
    AgentJoined {
        name: String,
    },
    Status(String),
    Read(i64),
}

/// Pending pushes a slow socket may hold before it is dropped (the widget reconnects and replays).
const SOCKET_QUEUE: usize = 256;

#[derive(Default)]
pub struct Mailbox {
    queue: Mutex<VecDeque<Push>>,
    notify: Notify,
    closed: AtomicBool,
}

impl Mailbox {
    /// Queue `push`; false (and the mailbox is closed) when the socket is too far behind.
    pub fn put(&self, push: Push) -> bool {
        if self.closed.load(Ordering::Acquire) {
            return false;
        }
        let mut q = self.queue.lock().expect("mailbox");
        if let (Push::Messages(new), Some(Push::Messages(old))) = (&push, q.back_mut()) {
            // One pending read-back covers both: it reads everything committed by then.
            *old = (*old).max(*new);
            return true;
        }
        if q.len() >= SOCKET_QUEUE {
            drop(q);
            self.close();
            return false;
        }
        q.push_back(push);
        drop(q);
        self.notify.notify_one();
        true
    }

    /// Stop delivering; the socket's next `take` returns `None`.
    pub fn close(&self) {
        self.closed.store(true, Ordering::Release);
        self.notify.notify_one();
    }

    /// The next push, or `None` once closed. Cancel-safe: nothing is taken until it returns.
    pub async fn take(&self) -> Option<Push> {
        loop {
            if self.closed.load(Ordering::Acquire) {
                return None;
            }
            if let Some(p) = self.pop() {
                return Some(p);
            }
            // `notify_one` stores a permit when nobody waits, so a put between the check
            // above and this wait is not missed.
            self.notify.notified().await;
        }
    }

    fn pop(&self) -> Option<Push> {
        let mut q = self.queue.lock().expect("mailbox");
        let p = q.pop_front();
        if q.is_empty() && q.capacity() > 8 {
            // A burst is over: give the memory back while the socket idles.
            q.shrink_to_fit();
        }
        p
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn coalesces_message_triggers_and_closes_when_full() {
        let m = Mailbox::default();
        assert!(m.put(Push::Messages(3)));
        assert!(m.put(Push::Messages(5)));
        assert!(m.put(Push::Read(2)));
        assert!(matches!(m.take().await, Some(Push::Messages(5))));
        assert!(matches!(m.take().await, Some(Push::Read(2))));
        for i in 0..SOCKET_QUEUE {
            assert!(m.put(Push::Read(i as i64)));
        }
        assert!(!m.put(Push::Read(0)), "the 257th pending push closes it");
        assert!(m.take().await.is_none());
    }

    #[tokio::test]
    async fn a_waiting_taker_wakes_on_put() {
        let m = std::sync::Arc::new(Mailbox::default());
        let m2 = m.clone();
        let t = tokio::spawn(async move { m2.take().await });
        tokio::task::yield_now().await;
        m.put(Push::Status("open".into()));
        let got = tokio::time::timeout(std::time::Duration::from_secs(5), t)
            .await
            .unwrap()
            .unwrap();
        assert!(matches!(got, Some(Push::Status(s)) if s == "open"));
    }
}
