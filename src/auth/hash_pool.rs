//! A few long-lived threads for password hashing. An argon2 hash takes 19 MiB; run on tokio's
//! blocking pool (up to 512 threads) each thread's malloc arena kept its freed buffer, so memory
//! grew with the number of threads that had ever hashed — 616 MiB after 120 concurrent logins
//! even with only four hashing at a time. On a fixed set of threads it stays near
//! `threads` × 19 MiB, each thread reusing its own working memory ([`with_memory`]) while
//! logins keep coming, and giving it back after [`IDLE`] without one (an idle server kept
//! 19 MiB per thread that had ever hashed: one admin's login took its RSS from 30 to 50 MiB).

use std::sync::mpsc::{channel, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How long a hashing thread keeps its working memory without a job.
pub const IDLE: Duration = Duration::from_secs(2);

type Job = Box<dyn FnOnce() + Send>;

/// Threads that run hashing jobs; they end when the pool is dropped.
pub struct HashPool {
    jobs: Sender<Job>,
}

impl HashPool {
    pub fn new(threads: usize) -> Self {
        let (jobs, queue) = channel::<Job>();
        let queue = Arc::new(Mutex::new(queue));
        for i in 0..threads.max(1) {
            let queue = queue.clone();
            std::thread::Builder::new()
                .name(format!("password-hash-{i}"))
                .spawn(move || work(&queue))
                .expect("start a password hashing thread");
        }
        HashPool { jobs }
    }

    /// Run `f` on one of the pool's threads (`None` if the pool is gone).
    pub async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> Option<T> {
        let (done, result) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move || {
            let _ = done.send(f());
        });
        self.jobs.send(job).ok()?;
        result.await.ok()
    }
}

thread_local! {
    /// Each hashing thread's argon2 working memory, allocated once and reused.
    static MEMORY: std::cell::RefCell<Vec<argon2::Block>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Run `f` with this thread's argon2 working memory.
pub fn with_memory<T>(f: impl FnOnce(&mut Vec<argon2::Block>) -> T) -> T {
    MEMORY.with(|m| f(&mut m.borrow_mut()))
}

fn work(queue: &Mutex<Receiver<Job>>) {
    loop {
        let next = match queue.lock() {
            Ok(q) => q.recv_timeout(IDLE),
            Err(_) => return,
        };
        match next {
            Ok(job) => job(),
            Err(RecvTimeoutError::Timeout) => MEMORY.with(|m| *m.borrow_mut() = Vec::new()),
            Err(RecvTimeoutError::Disconnected) => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// This thread's working memory in bytes (0 once given back).
    fn memory_bytes() -> usize {
        MEMORY.with(|m| m.borrow().capacity() * std::mem::size_of::<argon2::Block>())
    }

    #[tokio::test]
    async fn jobs_run_on_the_pools_own_threads() {
        let pool = HashPool::new(2);
        let name = pool
            .run(|| std::thread::current().name().map(str::to_string))
            .await
            .flatten();
        assert!(name.unwrap().starts_with("password-hash-"));
    }

    #[tokio::test]
    async fn an_idle_thread_gives_its_working_memory_back() {
        let pool = HashPool::new(1);
        let held = pool
            .run(|| {
                with_memory(|m| m.resize(1024, argon2::Block::default()));
                memory_bytes()
            })
            .await
            .unwrap();
        assert_eq!(held, 1024 * 1024);
        let soon = pool.run(memory_bytes).await.unwrap();
        assert_eq!(soon, held, "kept while jobs keep coming");
        tokio::time::sleep(IDLE + Duration::from_millis(500)).await;
        assert_eq!(pool.run(memory_bytes).await.unwrap(), 0);
    }
}
