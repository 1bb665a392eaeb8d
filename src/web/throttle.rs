//! Throttling, in one place: token buckets keyed by whatever is being
//! guessed at (a receipt, an account, or everything at once). Time comes
//! from the injected clock, so tests move it instead of sleeping.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::clock::Clock;

/// Beyond this many tracked keys, full (idle) buckets are forgotten.
const MAX_KEYS: usize = 100_000;

#[derive(Clone, Copy, Debug)]
struct Bucket {
    tokens: f64,
    updated: u64,
}

pub struct Throttle {
    buckets: Mutex<HashMap<String, Bucket>>,
    capacity: f64,
    /// Seconds to earn back one token.
    refill_secs: f64,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for Throttle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Throttle(burst {}, one per {}s)", self.capacity, self.refill_secs)
    }
}

impl Throttle {
    /// A burst of `burst` attempts, then one more every `refill`.
    pub fn new(burst: u32, refill: Duration, clock: Arc<dyn Clock>) -> Throttle {
        Throttle {
            buckets: Mutex::new(HashMap::new()),
            capacity: f64::from(burst),
            refill_secs: refill.as_secs_f64().max(1.0),
            clock,
        }
    }

    fn with_bucket<R>(&self, key: &str, f: impl FnOnce(&mut Bucket) -> R) -> R {
        let now = self.clock.now().0;
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if buckets.len() >= MAX_KEYS && !buckets.contains_key(key) {
            let (capacity, refill) = (self.capacity, self.refill_secs);
            buckets.retain(|_, b| b.tokens + (now.saturating_sub(b.updated)) as f64 / refill < capacity);
        }
        let bucket = buckets.entry(key.to_string()).or_insert(Bucket { tokens: self.capacity, updated: now });
        let earned = now.saturating_sub(bucket.updated) as f64 / self.refill_secs;
        bucket.tokens = (bucket.tokens + earned).min(self.capacity);
        bucket.updated = now;
        f(bucket)
    }

    /// Whether an attempt would be allowed now (takes nothing).
    pub fn allows(&self, key: &str) -> bool {
        self.with_bucket(key, |b| b.tokens >= 1.0)
    }

    /// Takes one attempt; false (and nothing taken) when none is left.
    pub fn take(&self, key: &str) -> bool {
        self.with_bucket(key, |b| {
            if b.tokens >= 1.0 {
                b.tokens -= 1.0;
                true
            } else {
                false
            }
        })
    }

    /// Seconds until the next attempt is allowed (0 if now).
    pub fn retry_after(&self, key: &str) -> u64 {
        let refill = self.refill_secs;
        self.with_bucket(key, |b| if b.tokens >= 1.0 { 0 } else { ((1.0 - b.tokens) * refill).ceil() as u64 })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::{ManualClock, Timestamp};

    #[test]
    fn a_burst_then_a_steady_trickle() {
        let clock = Arc::new(ManualClock::at(Timestamp(1000)));
        let t = Throttle::new(3, Duration::from_secs(10), clock.clone());
        assert!(t.take("k") && t.take("k") && t.take("k"));
        assert!(!t.take("k"));
        assert_eq!(t.retry_after("k"), 10);
        assert!(t.take("other"), "keys are independent");
        clock.advance(Duration::from_secs(10));
        assert!(t.take("k"));
        assert!(!t.take("k"));
        clock.advance(Duration::from_secs(1000));
        assert!(t.take("k") && t.take("k") && t.take("k") && !t.take("k"), "never more than the burst");
    }
}
