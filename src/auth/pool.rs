//! The login pool: at most one argon2id derivation (64 MiB) per core at a
//! time, and a short queue behind them. When the queue is full the attempt
//! is refused at once (503) instead of waiting, so a flood of logins costs
//! at most cores × 64 MiB of memory and cannot starve the server.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::sync::Semaphore;

pub struct LoginPool {
    permits: Arc<Semaphore>,
    waiting: AtomicUsize,
    max_waiting: usize,
    running: AtomicUsize,
    peak: AtomicUsize,
}

/// The queue was full.
#[derive(Debug)]
pub struct Busy;

impl LoginPool {
    pub fn new(workers: usize, max_waiting: usize) -> LoginPool {
        LoginPool {
            permits: Arc::new(Semaphore::new(workers.max(1))),
            waiting: AtomicUsize::new(0),
            max_waiting,
            running: AtomicUsize::new(0),
            peak: AtomicUsize::new(0),
        }
    }

    /// Sized for this machine: one worker per core, four waiting per core.
    pub fn for_this_machine() -> LoginPool {
        let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2);
        LoginPool::new(cores, cores * 4)
    }

    /// Runs `work` (a derivation) on a blocking thread once a worker is free.
    pub async fn run<R: Send + 'static>(&self, work: impl FnOnce() -> R + Send + 'static) -> Result<R, Busy> {
        if self.waiting.fetch_add(1, Ordering::SeqCst) >= self.max_waiting {
            self.waiting.fetch_sub(1, Ordering::SeqCst);
            return Err(Busy);
        }
        let permit = self.permits.clone().acquire_owned().await;
        self.waiting.fetch_sub(1, Ordering::SeqCst);
        let Ok(permit) = permit else { return Err(Busy) };
        let now = self.running.fetch_add(1, Ordering::SeqCst) + 1;
        self.peak.fetch_max(now, Ordering::SeqCst);
        let result = tokio::task::spawn_blocking(work).await;
        self.running.fetch_sub(1, Ordering::SeqCst);
        drop(permit);
        result.map_err(|_| Busy)
    }

    /// The most derivations that ever ran at once.
    pub fn peak(&self) -> usize {
        self.peak.load(Ordering::SeqCst)
    }

    pub fn workers(&self) -> usize {
        self.permits.available_permits() + self.running.load(Ordering::SeqCst)
    }
}
