//! Sign-in throttling, in two layers.
//!
//! **Per name.** Every attempt counts as a failure from the moment it is
//! admitted, before its password is checked, and is forgiven only if it
//! succeeds (or never ran). So a dozen attempts sent at the same instant
//! meet the backoff exactly as a dozen sent one after another: the first
//! few cost nothing, then each doubles the wait (1 s, 2 s, … 64 s), and the
//! tenth locks the name for 15 minutes. The lock always expires: a
//! permanent lockout would let an attacker shut reviewers out on purpose.
//! Unknown names are counted exactly like real ones.
//!
//! **Names that are not accounts, together.** A flood of guesses under
//! random names never meets the per-name backoff, so those names share one
//! budget: a burst, then a trickle. Once it is spent, an unknown name is
//! not derived at all; it is refused after the time a derivation takes, so
//! the answer looks the same as a wrong password. Known accounts never draw
//! on that budget, so a flood of made-up names cannot lock a reviewer with
//! the right password and code out (the review of issue 13 saw exactly
//! that). Guessing at real accounts is held by their own backoff.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use crate::clock::Clock;
use crate::web::throttle::Throttle;

pub const FREE_FAILURES: u32 = 3;
pub const LOCK_AFTER: u32 = 10;
pub const LOCK_SECONDS: u64 = 15 * 60;

/// Failed sign-ins under unknown names, all together: this many at once…
pub const UNKNOWN_BURST: u32 = 100;
/// …then one more per this many seconds.
pub const UNKNOWN_REFILL_SECS: u64 = 1;

/// Beyond this many tracked names, those whose wait has passed are dropped.
const MAX_NAMES: usize = 100_000;

#[derive(Clone, Copy, Debug)]
struct Failures {
    /// Attempts that failed or are still running.
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

/// How an admitted attempt is to be checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Check {
    /// Derive the key and compare, as always.
    Derive,
    /// An unknown name while the shared budget is spent: refuse without a
    /// derivation, after as long as one takes.
    RefuseUnknown,
}

pub struct SignInThrottle {
    names: Mutex<HashMap<String, Failures>>,
    unknown: RwLock<Throttle>,
    clock: Arc<dyn Clock>,
}

/// An admitted attempt. Counted as a failure until [`Attempt::succeeded`];
/// dropped without a verdict (the server could not check it), it is
/// forgiven.
#[must_use]
pub struct Attempt<'a> {
    throttle: &'a SignInThrottle,
    /// `None` for an unknown name not tracked by name (the table is full;
    /// the shared budget still holds it).
    name: Option<String>,
    pub check: Check,
    settled: bool,
}

impl Attempt<'_> {
    /// The credentials were right: the name's count is cleared.
    pub fn succeeded(mut self) {
        self.settled = true;
        if let Some(name) = &self.name {
            self.throttle.names().remove(name);
        }
    }

    /// The credentials were wrong: the failure stays counted.
    pub fn failed(mut self) {
        self.settled = true;
    }
}

impl Drop for Attempt<'_> {
    fn drop(&mut self) {
        if !self.settled
            && let Some(name) = &self.name
            && let Some(f) = self.throttle.names().get_mut(name)
        {
            f.count = f.count.saturating_sub(1);
        }
    }
}

impl SignInThrottle {
    pub fn new(clock: Arc<dyn Clock>) -> SignInThrottle {
        SignInThrottle {
            names: Mutex::new(HashMap::new()),
            unknown: RwLock::new(Throttle::new(UNKNOWN_BURST, Duration::from_secs(UNKNOWN_REFILL_SECS), clock.clone())),
            clock,
        }
    }

    /// Replaces the shared budget of unknown names (tests use a small one).
    pub fn limit_unknown_names(&self, burst: u32, refill: Duration) {
        *self.unknown.write().unwrap_or_else(|p| p.into_inner()) = Throttle::new(burst, refill, self.clock.clone());
    }

    fn names(&self) -> std::sync::MutexGuard<'_, HashMap<String, Failures>> {
        self.names.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Admits an attempt under `name` (`known`: it names an account), or
    /// says how many seconds the name must wait.
    pub fn admit(&self, name: &str, known: bool) -> Result<Attempt<'_>, u64> {
        let now = self.clock.now().0;
        // Names are keys of at most 64 characters (what the form accepts).
        let name: String = name.chars().take(64).collect();
        let tracked = {
            let mut names = self.names();
            if names.len() >= MAX_NAMES && !names.contains_key(&name) {
                names.retain(|_, f| now < f.last + wait_after(f.count).max(LOCK_SECONDS));
            }
            // Still full (a flood of made-up names): those are not tracked
            // one by one, only through their shared budget, so the table
            // stays bounded and no request rescans it.
            if names.len() >= MAX_NAMES && !names.contains_key(&name) && !known {
                false
            } else {
                let f = names.entry(name.clone()).or_insert(Failures { count: 0, last: now });
                let until = f.last + wait_after(f.count);
                if now < until {
                    return Err(until - now);
                }
                f.count += 1;
                f.last = now;
                true
            }
        };
        let check = if known || self.unknown.read().unwrap_or_else(|p| p.into_inner()).take("") {
            Check::Derive
        } else {
            Check::RefuseUnknown
        };
        Ok(Attempt { throttle: self, name: tracked.then_some(name), check, settled: false })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::{ManualClock, Timestamp};

    fn fail(t: &SignInThrottle, name: &str) {
        t.admit(name, true).map(Attempt::failed).expect("admitted");
    }

    #[test]
    fn delays_grow_then_lock_then_the_lock_expires() {
        let clock = Arc::new(ManualClock::at(Timestamp(5_000)));
        let t = SignInThrottle::new(clock.clone());
        for _ in 0..FREE_FAILURES {
            fail(&t, "ada");
        }
        assert_eq!(t.admit("ada", true).err(), Some(1));
        clock.advance(Duration::from_secs(1));
        fail(&t, "ada");
        assert_eq!(t.admit("ada", true).err(), Some(2));
        for _ in 0..(LOCK_AFTER - FREE_FAILURES - 1) {
            clock.advance(Duration::from_secs(3600));
            fail(&t, "ada");
        }
        assert_eq!(t.admit("ada", true).err(), Some(LOCK_SECONDS));
        assert!(t.admit("bo", true).is_ok(), "other accounts are not affected");
        clock.advance(Duration::from_secs(LOCK_SECONDS));
        t.admit("ada", true).expect("the lock expires").succeeded();
        assert!(t.admit("ada", true).is_ok(), "a success clears the count");
    }

    #[test]
    fn attempts_in_flight_count_before_their_verdict() {
        let clock = Arc::new(ManualClock::at(Timestamp(5_000)));
        let t = SignInThrottle::new(clock);
        // Twelve at once: none has failed yet when the next is admitted.
        let admitted: Vec<_> = (0..12).filter_map(|_| t.admit("ada", true).ok()).collect();
        assert_eq!(admitted.len(), FREE_FAILURES as usize);
        admitted.into_iter().for_each(Attempt::failed);
        assert!(t.admit("ada", true).is_err());
    }

    #[test]
    fn an_attempt_the_server_could_not_check_is_forgiven() {
        let clock = Arc::new(ManualClock::at(Timestamp(5_000)));
        let t = SignInThrottle::new(clock);
        for _ in 0..10 {
            drop(t.admit("ada", true).expect("never counted"));
        }
    }

    #[test]
    fn a_flood_of_unknown_names_spends_only_their_own_budget() {
        let clock = Arc::new(ManualClock::at(Timestamp(5_000)));
        let t = SignInThrottle::new(clock.clone());
        for i in 0..UNKNOWN_BURST {
            let a = t.admit(&format!("random-{i}"), false).expect("a new name");
            assert_eq!(a.check, Check::Derive);
            a.failed();
        }
        let a = t.admit("random-x", false).expect("still admitted, per name");
        assert_eq!(a.check, Check::RefuseUnknown, "the shared budget is spent");
        a.failed();
        let a = t.admit("ada", true).expect("a real account is not held by the flood");
        assert_eq!(a.check, Check::Derive);
        a.succeeded();
        clock.advance(Duration::from_secs(UNKNOWN_REFILL_SECS));
        assert_eq!(t.admit("random-y", false).map(|a| a.check).ok(), Some(Check::Derive), "the trickle");
    }
}
