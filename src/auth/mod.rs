//! Accounts, passwords, TOTP, sign-in and sessions: who may enter the review
//! listener, and with which desk keys. Security-relevant pieces live here,
//! each in one file:
//!
//! - `accounts`: making an account (password → keys, TOTP secret sealed);
//! - `policy`: what a password must be;
//! - `login`, `pool`, `throttle`: signing in, bounded and slowed;
//! - `session`: tokens in memory, expiry, the desk keys a session holds;
//! - `extract`: the `SignedIn` and `Admin` extractors, the one place where
//!   authorization is decided, and `CsrfForm`, the one place CSRF is checked.

pub mod accounts;
pub mod extract;
pub mod login;
pub mod policy;
pub mod pool;
pub mod session;
pub mod throttle;
pub mod totp;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::clock::Clock;

/// Sign-in state shared by the review listener's handlers.
pub struct AuthState {
    pub sessions: session::SessionStore,
    pub pool: pool::LoginPool,
    pub throttle: throttle::SignInThrottle,
    pub decoy: login::Decoy,
    /// Serializes "check the TOTP code, store its time step".
    pub totp_guard: Mutex<()>,
    /// TOTP secrets shown to someone enrolling and not yet confirmed, by
    /// invitation-token hash or session-token hash. Memory only.
    pub enrolments: Mutex<HashMap<String, accounts::Enrolment>>,
}

impl AuthState {
    pub fn new(clock: Arc<dyn Clock>, lifetimes: session::Lifetimes) -> AuthState {
        AuthState {
            sessions: session::SessionStore::new(clock.clone(), lifetimes),
            pool: pool::LoginPool::for_this_machine(),
            throttle: throttle::SignInThrottle::new(clock),
            decoy: login::Decoy::new(),
            totp_guard: Mutex::new(()),
            enrolments: Mutex::new(HashMap::new()),
        }
    }
}
