//! The login pool: at most one argon2id derivation (64 MiB) per core at a
//! time, and a short queue behind them. When the queue is full the attempt
//! is refused at once (503) instead of waiting, so a flood of logins costs
//! at most cores × 64 MiB of memory and cannot starve the server.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use tokio::sync::Semaphore;

pub struct LoginPool {
    permits: Arc<Semaphore>,
    waiting: AtomicUsize,
    max_waiting: usize,
    running: Arc<AtomicUsize>,
    peak: Arc<AtomicUsize>,
    /// About how long one derivation takes here, in microseconds (a moving
    /// average), so an attempt that is refused without one can take as long.
    typical_micros: Arc<AtomicU64>,
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
            running: Arc::new(AtomicUsize::new(0)),
            peak: Arc::new(AtomicUsize::new(0)),
            typical_micros: Arc::new(AtomicU64::new(250_000)),
        }
    }

    /// Sized for this machine: one worker per core, four waiting per core.
    pub fn for_this_machine() -> LoginPool {
        let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2);
        LoginPool::new(cores, cores * 4)
    }

    /// Runs `work` (a derivation) on a blocking thread once a worker is free.
    pub async fn run<R: Send + 'static>(&self, work: impl FnOnce() -> R + Send + 'static) -> Result<R, Busy> {
        self.run_within(self.max_waiting, work).await
    }

    /// As [`LoginPool::run`], but only while at most half the queue is
    /// taken: attempts under names that are not accounts use it, so that
    /// the other half is always there for real accounts.
    pub async fn run_spare<R: Send + 'static>(&self, work: impl FnOnce() -> R + Send + 'static) -> Result<R, Busy> {
        self.run_within(self.max_waiting / 2, work).await
    }

    /// Whether the whole queue is taken (a real account would be refused
    /// with 503 now; an unknown name must then be answered alike).
    pub fn is_full(&self) -> bool {
        self.waiting.load(Ordering::SeqCst) >= self.max_waiting
    }

    /// How long a derivation typically takes on this machine.
    pub fn typical_derivation(&self) -> Duration {
        Duration::from_micros(self.typical_micros.load(Ordering::Relaxed))
    }

    async fn run_within<R: Send + 'static>(
        &self,
        max_waiting: usize,
        work: impl FnOnce() -> R + Send + 'static,
    ) -> Result<R, Busy> {
        if self.waiting.fetch_add(1, Ordering::SeqCst) >= max_waiting {
            self.waiting.fetch_sub(1, Ordering::SeqCst);
            return Err(Busy);
        }
        // Every count below is undone by a guard or inside the blocking
        // task, never after an await: a caller that is dropped while it
        // waits (a client that went away) leaves the counts right, and a
        // derivation that has started keeps its worker until it ends.
        struct Waiting<'a>(&'a AtomicUsize);
        impl Drop for Waiting<'_> {
            fn drop(&mut self) {
                self.0.fetch_sub(1, Ordering::SeqCst);
            }
        }
        let waiting = Waiting(&self.waiting);
        let permit = self.permits.clone().acquire_owned().await;
        drop(waiting);
        let Ok(permit) = permit else { return Err(Busy) };
        let (running, peak, typical) = (self.running.clone(), self.peak.clone(), self.typical_micros.clone());
        // Measures how long the work takes (a duration, not a time of day,
        // so the injected clock has nothing to say about it).
        #[allow(clippy::disallowed_methods)]
        let result = tokio::task::spawn_blocking(move || {
            let _worker = permit;
            let now = running.fetch_add(1, Ordering::SeqCst) + 1;
            peak.fetch_max(now, Ordering::SeqCst);
            let started = std::time::Instant::now();
            let result = work();
            // A moving average over about the last eight derivations.
            let took = started.elapsed().as_micros().min(u128::from(u64::MAX)) as u64;
            let old = typical.load(Ordering::Relaxed);
            typical.store(old - old / 8 + took / 8, Ordering::Relaxed);
            running.fetch_sub(1, Ordering::SeqCst);
            result
        })
        .await;
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
