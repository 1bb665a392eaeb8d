//! Sessions: 256-bit random tokens, kept only in this process's memory
//! (a restart signs everyone out), each holding the desk keys its owner
//! unlocked at sign-in. Expiry (idle and absolute) is checked on every use
//! against the injected clock; a session that ends, by sign-out, expiry,
//! disabling or revocation, drops its keys, and the key types wipe
//! themselves when dropped.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::clock::{Clock, Timestamp};
use crate::crypto::{DeskIdentity, random_array};
use crate::storage::{AccountName, DeskId, Role};

pub const COOKIE: &str = "__Host-testimony_session";

/// Session lifetimes; DESIGN.md's defaults, configurable.
#[derive(Clone, Copy, Debug)]
pub struct Lifetimes {
    pub idle: Duration,
    pub absolute: Duration,
}

impl Default for Lifetimes {
    fn default() -> Self {
        Lifetimes { idle: Duration::from_secs(15 * 60), absolute: Duration::from_secs(12 * 3600) }
    }
}

/// A signed-in account and what it unlocked.
pub struct Session {
    pub account: AccountName,
    pub role: Role,
    pub created: Timestamp,
    pub last_seen: Timestamp,
    /// Compared in constant time with the `csrf` field of every POST.
    csrf: Zeroizing<String>,
    /// Desk keys this account holds, by desk and generation.
    pub desks: HashMap<DeskId, Vec<(u32, Arc<DeskIdentity>)>>,
    /// Set after an admin reset TOTP: the session may only enrol a new one.
    pub must_enrol_totp: bool,
}

impl Session {
    pub fn csrf(&self) -> &str {
        &self.csrf
    }

    pub fn csrf_matches(&self, given: &str) -> bool {
        self.csrf.as_bytes().ct_eq(given.as_bytes()).into()
    }

    /// The key for one generation of a desk, if this account holds it.
    pub fn desk_key(&self, desk: &DeskId, generation: u32) -> Option<Arc<DeskIdentity>> {
        self.desks.get(desk)?.iter().find(|(g, _)| *g == generation).map(|(_, k)| k.clone())
    }
}

/// A copy of what a handler needs of a session (the keys stay shared).
#[derive(Clone)]
pub struct SessionView {
    pub token_hash: String,
    pub account: AccountName,
    pub role: Role,
    pub csrf: String,
    pub desks: HashMap<DeskId, Vec<(u32, Arc<DeskIdentity>)>>,
    pub must_enrol_totp: bool,
}

impl SessionView {
    /// Constant-time comparison with a submitted `csrf` field.
    pub fn csrf_matches(&self, given: &str) -> bool {
        self.csrf.as_bytes().ct_eq(given.as_bytes()).into()
    }

    pub fn desk_key(&self, desk: &DeskId, generation: u32) -> Option<Arc<DeskIdentity>> {
        self.desks.get(desk)?.iter().find(|(g, _)| *g == generation).map(|(_, k)| k.clone())
    }

    pub fn is_member(&self, desk: &DeskId) -> bool {
        self.desks.contains_key(desk)
    }
}

/// Why a token did not give a session.
#[derive(Debug, PartialEq, Eq)]
pub enum Lookup {
    Unknown,
    /// It existed and has just expired (so the caller can audit it).
    Expired(AccountName),
}

pub struct SessionStore {
    sessions: Mutex<HashMap<String, Session>>,
    clock: Arc<dyn Clock>,
    lifetimes: Lifetimes,
}

fn hash_token(token: &str) -> String {
    crate::crypto::hex(&Sha256::digest(token.as_bytes()))
}

impl SessionStore {
    pub fn new(clock: Arc<dyn Clock>, lifetimes: Lifetimes) -> SessionStore {
        SessionStore { sessions: Mutex::new(HashMap::new()), clock, lifetimes }
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<String, Session>> {
        self.sessions.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Starts a session and returns its token (for the cookie). The store
    /// keys sessions by a hash of the token, so looking one up takes the
    /// same time however much of a guessed token is right.
    pub fn create(
        &self,
        account: AccountName,
        role: Role,
        desks: HashMap<DeskId, Vec<(u32, Arc<DeskIdentity>)>>,
        must_enrol_totp: bool,
    ) -> Zeroizing<String> {
        let token = Zeroizing::new(URL_SAFE_NO_PAD.encode(random_array::<32>()));
        let csrf = Zeroizing::new(URL_SAFE_NO_PAD.encode(random_array::<32>()));
        let now = self.clock.now();
        let session = Session { account, role, created: now, last_seen: now, csrf, desks, must_enrol_totp };
        self.lock().insert(hash_token(&token), session);
        token
    }

    /// The session for a token, if it is live; marks it used now.
    pub fn touch(&self, token: &str) -> Result<SessionView, Lookup> {
        let now = self.clock.now();
        let key = hash_token(token);
        let mut sessions = self.lock();
        let Some(session) = sessions.get_mut(&key) else {
            return Err(Lookup::Unknown);
        };
        let idle_over = now.0 >= session.last_seen.0 + self.lifetimes.idle.as_secs();
        let absolute_over = now.0 >= session.created.0 + self.lifetimes.absolute.as_secs();
        if idle_over || absolute_over {
            let gone = sessions.remove(&key);
            return Err(Lookup::Expired(gone.map(|s| s.account).unwrap_or_else(unreachable_name)));
        }
        session.last_seen = now;
        Ok(SessionView {
            token_hash: key,
            account: session.account.clone(),
            role: session.role,
            csrf: session.csrf.to_string(),
            desks: session.desks.clone(),
            must_enrol_totp: session.must_enrol_totp,
        })
    }

    /// Ends a session (sign-out). Its keys are dropped with it.
    pub fn end(&self, token_hash: &str) -> Option<AccountName> {
        self.lock().remove(token_hash).map(|s| s.account)
    }

    /// Ends every session of an account (disabled, or signed out everywhere).
    pub fn end_all_of(&self, account: &AccountName) -> usize {
        let mut sessions = self.lock();
        let before = sessions.len();
        sessions.retain(|_, s| &s.account != account);
        before - sessions.len()
    }

    /// Ends every session of an account but one (a password change ends the
    /// others: whoever else knew the old password is signed out).
    pub fn end_others_of(&self, account: &AccountName, keep_token_hash: &str) -> usize {
        let mut sessions = self.lock();
        let before = sessions.len();
        sessions.retain(|hash, s| &s.account != account || hash == keep_token_hash);
        before - sessions.len()
    }

    /// Removes a desk's keys from an account's live sessions (revocation).
    pub fn forget_desk(&self, account: &AccountName, desk: &DeskId) {
        for session in self.lock().values_mut().filter(|s| &s.account == account) {
            session.desks.remove(desk);
        }
    }

    /// Adds a desk key to an account's live sessions (a grant, a rotation).
    pub fn add_desk_key(&self, account: &AccountName, desk: &DeskId, generation: u32, key: Arc<DeskIdentity>) {
        for session in self.lock().values_mut().filter(|s| &s.account == account) {
            let keys = session.desks.entry(desk.clone()).or_default();
            if !keys.iter().any(|(g, _)| *g == generation) {
                keys.push((generation, key.clone()));
            }
        }
    }

    /// Clears the TOTP-enrolment restriction of a session.
    pub fn enrolled(&self, token_hash: &str) {
        if let Some(s) = self.lock().get_mut(token_hash) {
            s.must_enrol_totp = false;
        }
    }

    /// Drops every expired session and returns their accounts.
    pub fn sweep(&self) -> Vec<AccountName> {
        let now = self.clock.now();
        let lifetimes = self.lifetimes;
        let mut expired = Vec::new();
        self.lock().retain(|_, s| {
            let live =
                now.0 < s.last_seen.0 + lifetimes.idle.as_secs() && now.0 < s.created.0 + lifetimes.absolute.as_secs();
            if !live {
                expired.push(s.account.clone());
            }
            live
        });
        expired
    }

    /// The desks at least one live session holds a key of.
    pub fn live_desks(&self) -> std::collections::HashSet<DeskId> {
        self.lock().values().flat_map(|s| s.desks.keys().cloned()).collect()
    }

    pub fn count(&self) -> usize {
        self.lock().len()
    }
}

fn unreachable_name() -> AccountName {
    // Only used if a session vanished between `get_mut` and `remove`, which
    // the lock makes impossible; a harmless placeholder rather than a panic.
    #[allow(clippy::expect_used)]
    "unknown".parse().expect("a valid account name")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;

    fn store() -> (SessionStore, Arc<ManualClock>) {
        let clock = Arc::new(ManualClock::at(Timestamp(1_000_000)));
        (SessionStore::new(clock.clone(), Lifetimes::default()), clock)
    }

    fn name(n: &str) -> AccountName {
        n.parse().unwrap()
    }

    #[test]
    fn tokens_are_long_random_and_distinct() {
        let (s, _) = store();
        let a = s.create(name("ada"), Role::Admin, HashMap::new(), false);
        let b = s.create(name("ada"), Role::Admin, HashMap::new(), false);
        assert_ne!(*a, *b);
        assert!(a.len() >= 43, "256 bits in base64");
        assert!(s.touch(&a).is_ok());
        assert_eq!(s.touch("not-a-token").err(), Some(Lookup::Unknown));
    }

    #[test]
    fn idle_and_absolute_expiry() {
        let (s, clock) = store();
        let t = s.create(name("ada"), Role::Reviewer, HashMap::new(), false);
        clock.advance(Duration::from_secs(14 * 60));
        assert!(s.touch(&t).is_ok(), "used within 15 minutes");
        clock.advance(Duration::from_secs(15 * 60));
        assert_eq!(s.touch(&t).err(), Some(Lookup::Expired(name("ada"))));
        assert_eq!(s.touch(&t).err(), Some(Lookup::Unknown), "gone for good");

        let t = s.create(name("bo"), Role::Reviewer, HashMap::new(), false);
        for _ in 0..(12 * 4 + 2) {
            clock.advance(Duration::from_secs(14 * 60 + 59));
            if s.touch(&t).is_err() {
                return;
            }
        }
        panic!("a session used every 15 minutes still ends after 12 hours");
    }

    #[test]
    fn ending_an_accounts_sessions() {
        let (s, _) = store();
        let a = s.create(name("ada"), Role::Admin, HashMap::new(), false);
        let b = s.create(name("bo"), Role::Reviewer, HashMap::new(), false);
        assert_eq!(s.end_all_of(&name("ada")), 1);
        assert!(s.touch(&a).is_err());
        assert!(s.touch(&b).is_ok());
    }

    #[test]
    fn csrf_compares_exactly() {
        let (s, _) = store();
        let t = s.create(name("ada"), Role::Admin, HashMap::new(), false);
        let view = s.touch(&t).unwrap();
        let guard = s.lock();
        let session = guard.get(&view.token_hash).unwrap();
        assert!(session.csrf_matches(&view.csrf));
        assert!(!session.csrf_matches(""));
        assert!(!session.csrf_matches(&view.csrf[..view.csrf.len() - 1]));
    }
}
