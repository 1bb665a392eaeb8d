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
    running: AtomicUsize,
    peak: AtomicUsize,
    /// About how long one derivation takes here, in microseconds (a moving
    /// average), so an attempt that is refused without one can take as long.
    typical_micros: AtomicU64,
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
            typical_micros: AtomicU64::new(250_000),
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
        let permit = self.permits.clone().acquire_owned().await;
        self.waiting.fetch_sub(1, Ordering::SeqCst);
        let Ok(permit) = permit else { return Err(Busy) };
        let now = self.running.fetch_add(1, Ordering::SeqCst) + 1;
        self.peak.fetch_max(now, Ordering::SeqCst);
        // Measures how long the work takes (a duration, not a time of day,
        // so the injected clock has nothing to say about it).
        #[allow(clippy::disallowed_methods)]
        let result = tokio::task::spawn_blocking(move || {
            let started = std::time::Instant::now();
            let result = work();
            (result, started.elapsed())
        })
        .await;
        self.running.fetch_sub(1, Ordering::SeqCst);
        let result = result.map(|(result, took)| {
            // A moving average over about the last eight derivations.
            let took = took.as_micros().min(u128::from(u64::MAX)) as u64;
            let old = self.typical_micros.load(Ordering::Relaxed);
            self.typical_micros.store(old - old / 8 + took / 8, Ordering::Relaxed);
            result
        });
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
