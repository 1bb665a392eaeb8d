//! Slots that can be taken back from the slowest holder: open connections
//! per listener, and uploads in progress.
//!
//! A fixed pool that refuses newcomers when full lets an attacker hold it
//! with a trickle of bytes on every slot (an outside review held the public
//! listener with 1,030 connections sending a byte every 25 s, and every
//! upload slot with 16 slow uploads). Here a newcomer to a full pool takes,
//! in this order:
//!
//! 1. the slot of the slowest holder past its grace period that moves less
//!    than the minimum rate (a holder is not judged before it had time to
//!    send anything);
//! 2. else the slot of the oldest holder still within its grace (an
//!    attacker who opens connections faster than they age only pushes out
//!    its own young ones, and an established upload never gives way to
//!    them);
//! 3. else nothing: every holder is past its grace and above the minimum
//!    rate, the server is busy with honest work, and the newcomer waits.
//!
//! Holding the server then costs an attacker at least the minimum rate on
//! every slot, and an honest upload that keeps that rate is never evicted.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;

struct Holder {
    since: Instant,
    meter: Arc<AtomicU64>,
    evicted: Arc<Notify>,
}

pub struct Slots {
    capacity: usize,
    grace: Duration,
    /// Bytes per second below which a holder past its grace may be evicted.
    min_rate: f64,
    held: Mutex<(u64, HashMap<u64, Holder>)>,
}

/// A held slot; dropping it frees the slot.
pub struct Slot {
    slots: Arc<Slots>,
    id: u64,
    /// Bytes moved so far: the holder adds to it as data arrives.
    pub meter: Arc<AtomicU64>,
    /// Notified when the slot was given to a newcomer: stop at once.
    pub evicted: Arc<Notify>,
}

impl Slot {
    /// Counts `n` more bytes moved.
    pub fn moved(&self, n: u64) {
        self.meter.fetch_add(n, Ordering::Relaxed);
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.slots.held.lock().unwrap_or_else(|p| p.into_inner()).1.remove(&self.id);
    }
}

impl Slots {
    pub fn new(capacity: usize, grace: Duration, min_bytes_per_sec: u64) -> Arc<Slots> {
        Arc::new(Slots {
            capacity: capacity.max(1),
            grace,
            min_rate: min_bytes_per_sec as f64,
            held: Mutex::new((0, HashMap::new())),
        })
    }

    /// Takes a free slot, or one given up as the module's comment says;
    /// `None` when every holder is past its grace and above the rate.
    pub fn claim(self: &Arc<Self>) -> Option<Slot> {
        let now = Instant::now();
        let mut held = self.held.lock().unwrap_or_else(|p| p.into_inner());
        let (next_id, holders) = &mut *held;
        if holders.len() >= self.capacity {
            let rate = |h: &Holder| {
                let age = now.duration_since(h.since).as_secs_f64().max(0.001);
                h.meter.load(Ordering::Relaxed) as f64 / age
            };
            let judged = |h: &Holder| now.duration_since(h.since) >= self.grace;
            let slowest = holders
                .iter()
                .filter(|(_, h)| judged(h) && rate(h) < self.min_rate)
                .min_by(|a, b| rate(a.1).total_cmp(&rate(b.1)))
                .map(|(id, _)| *id);
            let oldest_young =
                || holders.iter().filter(|(_, h)| !judged(h)).min_by_key(|(_, h)| h.since).map(|(id, _)| *id);
            let victim = slowest.or_else(oldest_young)?;
            if let Some(victim) = holders.remove(&victim) {
                victim.evicted.notify_one();
            }
        }
        let id = *next_id;
        *next_id += 1;
        let meter = Arc::new(AtomicU64::new(0));
        let evicted = Arc::new(Notify::new());
        holders.insert(id, Holder { since: now, meter: meter.clone(), evicted: evicted.clone() });
        Some(Slot { slots: self.clone(), id, meter, evicted })
    }

    /// Slots held now.
    pub fn held(&self) -> usize {
        self.held.lock().unwrap_or_else(|p| p.into_inner()).1.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_full_pool_gives_the_slowest_holders_slot_to_a_newcomer() {
        let slots = Slots::new(2, Duration::from_secs(10), 1024);
        let slow = slots.claim().expect("free");
        let fast = slots.claim().expect("free");
        tokio::time::advance(Duration::from_secs(11)).await;
        slow.moved(10);
        fast.moved(10_000_000);
        let newcomer = slots.claim().expect("the slowest gives way");
        slow.evicted.notified().await; // it was told
        assert_eq!(slots.held(), 2);
        drop(slow); // its own drop must not free the newcomer's slot
        assert_eq!(slots.held(), 2);
        drop((fast, newcomer));
        assert_eq!(slots.held(), 0);
    }
}

#[cfg(test)]
mod churn {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn when_every_holder_is_young_the_oldest_gives_way() {
        let slots = Slots::new(2, Duration::from_secs(10), 1024);
        let first = slots.claim().expect("free");
        tokio::time::advance(Duration::from_secs(1)).await;
        let _second = slots.claim().expect("free");
        let _third = slots.claim().expect("a young holder gives way");
        first.evicted.notified().await;
    }

    #[tokio::test(start_paused = true)]
    async fn an_upload_above_the_minimum_rate_never_gives_way_to_churn() {
        let slots = Slots::new(2, Duration::from_secs(10), 1024);
        let honest = slots.claim().expect("free");
        let mut churn = slots.claim().expect("free");
        tokio::time::advance(Duration::from_secs(11)).await;
        honest.moved(140_000 * 11);
        // An attacker opening connections as fast as it likes.
        for _ in 0..50 {
            churn = slots.claim().expect("the young one gives way");
            tokio::time::advance(Duration::from_millis(100)).await;
        }
        assert_eq!(slots.held(), 2);
        // The honest upload was never told to stop.
        let told = tokio::time::timeout(Duration::from_millis(1), honest.evicted.notified()).await;
        assert!(told.is_err(), "the honest upload was evicted");
        // Past their grace and both above the rate: a newcomer waits.
        churn.moved(1_000_000);
        tokio::time::advance(Duration::from_secs(11)).await;
        honest.moved(140_000 * 11);
        assert!(slots.claim().is_none());
    }
}
