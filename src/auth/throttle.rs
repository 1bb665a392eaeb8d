//! Sign-in throttling. Per account: the first few failures cost nothing,
//! then each one doubles the wait (1 s, 2 s, … 64 s), and the tenth locks
//! the account for 15 minutes. The lock always expires: a permanent lockout
//! would let an attacker shut reviewers out on purpose. A success clears
//! the count. All accounts together: a burst of failures, then a steady
//! trickle, so a guessing campaign across many names is slowed too.
//! Unknown names are throttled exactly like real ones.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::clock::Clock;
use crate::web::throttle::Throttle;

pub const FREE_FAILURES: u32 = 3;
pub const LOCK_AFTER: u32 = 10;
pub const LOCK_SECONDS: u64 = 15 * 60;

#[derive(Clone, Copy, Debug)]
struct Failures {
    count: u32,
    last: u64,
}

fn wait_after(count: u32) -> u64 {
    match count {
        c if c < FREE_FAILURES => 0,
        c if c < LOCK_AFTER => 1 << (c - FREE_FAILURES),
        _ => LOCK_SECONDS,
    }
}

pub struct SignInThrottle {
    accounts: Mutex<HashMap<String, Failures>>,
    global: Throttle,
    clock: Arc<dyn Clock>,
}

impl SignInThrottle {
    pub fn new(clock: Arc<dyn Clock>) -> SignInThrottle {
        SignInThrottle {
            accounts: Mutex::new(HashMap::new()),
            // 100 failed sign-ins across all names, then one a second.
            global: Throttle::new(100, Duration::from_secs(1), clock.clone()),
            clock,
        }
    }

    /// `Err(seconds)` when `name` must wait before another attempt.
    pub fn check(&self, name: &str) -> Result<(), u64> {
        if !self.global.allows("") {
            return Err(self.global.retry_after(""));
        }
        let now = self.clock.now().0;
        let accounts = self.accounts.lock().unwrap_or_else(|p| p.into_inner());
        match accounts.get(name) {
            Some(f) if now < f.last + wait_after(f.count) => Err(f.last + wait_after(f.count) - now),
            _ => Ok(()),
        }
    }

    pub fn failed(&self, name: &str) {
        self.global.take("");
        let now = self.clock.now().0;
        let mut accounts = self.accounts.lock().unwrap_or_else(|p| p.into_inner());
        if accounts.len() > 100_000 {
            accounts.retain(|_, f| now < f.last + LOCK_SECONDS);
        }
        let f = accounts.entry(name.to_string()).or_insert(Failures { count: 0, last: now });
        f.count += 1;
        f.last = now;
    }

    pub fn succeeded(&self, name: &str) {
        self.accounts.lock().unwrap_or_else(|p| p.into_inner()).remove(name);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::{ManualClock, Timestamp};

    #[test]
    fn delays_grow_then_lock_then_the_lock_expires() {
        let clock = Arc::new(ManualClock::at(Timestamp(5_000)));
        let t = SignInThrottle::new(clock.clone());
        for _ in 0..FREE_FAILURES {
            assert!(t.check("ada").is_ok());
            t.failed("ada");
        }
        assert_eq!(t.check("ada"), Err(1));
        clock.advance(Duration::from_secs(1));
        t.failed("ada");
        assert_eq!(t.check("ada"), Err(2));
        for _ in 0..(LOCK_AFTER - FREE_FAILURES - 1) {
            clock.advance(Duration::from_secs(3600));
            t.failed("ada");
        }
        assert_eq!(t.check("ada"), Err(LOCK_SECONDS));
        assert!(t.check("bo").is_ok(), "other accounts are not affected");
        clock.advance(Duration::from_secs(LOCK_SECONDS));
        assert!(t.check("ada").is_ok(), "the lock expires");
        t.succeeded("ada");
        assert!(t.check("ada").is_ok());
    }
}
