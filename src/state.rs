//! What every handler can reach, assembled once. A module of its own so
//! that the HTTP modules (intake, review, auth's extractors) depend on it
//! and not on each other.

use std::sync::Arc;

use crate::administration::Administration;
use crate::audit::AuditLog;
use crate::auth::AuthState;
use crate::auth::session::Lifetimes;
use crate::case::Cases;
use crate::clock::Clock;
use crate::config::IntakeLimits;
use crate::intake::IntakeState;
use crate::search::SearchIndex;
use crate::storage::{ChangeFeed, Store};
use crate::web::fonts::WebFonts;

#[derive(Clone)]
pub struct AppState {
    pub store: Arc<Store>,
    pub audit: Arc<AuditLog>,
    pub clock: Arc<dyn Clock>,
    pub intake: Arc<IntakeState>,
    pub auth: Arc<AuthState>,
    pub search: Arc<SearchIndex>,
    /// The life of a statement (no HTTP in it).
    pub cases: Cases,
    /// Accounts, desks and partners (no HTTP in it).
    pub admin: Administration,
    /// The fonts both listeners serve (the system's, unless `serve` was
    /// given a `fonts_dir`).
    pub fonts: Arc<WebFonts>,
    /// The retention rules (none unless `serve` was given some), and the
    /// day they last ran.
    pub retention: Arc<crate::retention::Retention>,
    last_purge: Arc<std::sync::Mutex<Option<crate::clock::Day>>>,
}

impl AppState {
    /// Opens the audit log of an open store (the store's lock makes this
    /// process its only writer).
    pub fn new(store: Store, clock: Arc<dyn Clock>, limits: IntakeLimits) -> Result<AppState, String> {
        AppState::with_sessions(store, clock, limits, Lifetimes::default())
    }

    pub fn with_sessions(
        store: Store,
        clock: Arc<dyn Clock>,
        limits: IntakeLimits,
        lifetimes: Lifetimes,
    ) -> Result<AppState, String> {
        let audit = AuditLog::open(&store, clock.clone()).map_err(|e| format!("cannot open the audit log: {e}"))?;
        Ok(AppState::from_parts(store, audit, clock, limits, lifetimes))
    }

    /// Assembles a state from an already opened audit log. The server uses
    /// [`AppState::with_sessions`]; tests use this to give it a log whose
    /// disk fails on command.
    pub fn from_parts(
        store: Store,
        audit: AuditLog,
        clock: Arc<dyn Clock>,
        limits: IntakeLimits,
        lifetimes: Lifetimes,
    ) -> AppState {
        store.use_clock(clock.clone());
        let store = Arc::new(store);
        let audit = Arc::new(audit);
        let intake = Arc::new(IntakeState::new(limits, clock.clone()));
        let auth = Arc::new(AuthState::new(clock.clone(), lifetimes));
        let search = Arc::new(SearchIndex::default());
        // The index follows every committed change to a statement.
        let index = search.clone();
        store.subscribe(Arc::new(move |change| index.apply(change)));
        AppState {
            cases: Cases::new(store.clone(), audit.clone(), clock.clone()),
            admin: Administration::new(store.clone(), audit.clone(), clock.clone(), auth.clone()),
            store,
            audit,
            clock,
            intake,
            auth,
            search,
            fonts: WebFonts::system(),
            retention: Arc::default(),
            last_purge: Arc::default(),
        }
    }

    /// The retention purge, at most once a day (the sweeper asks every
    /// minute): deletes the statements its rules say are due, each with
    /// its tombstone in the audit log. Returns how many it deleted.
    pub fn purge_if_a_new_day(&self) -> Result<usize, String> {
        let today = self.clock.today();
        {
            let mut last = self.last_purge.lock().unwrap_or_else(|p| p.into_inner());
            if self.retention.is_empty() || *last == Some(today) {
                return Ok(0);
            }
            *last = Some(today);
        }
        let deleted = crate::retention::purge(&self.store, &self.audit, &self.retention, today)?;
        Ok(deleted.len())
    }

    /// Moves witness events of past days into the audit log.
    pub fn release_witness_events(&self) -> Result<usize, String> {
        crate::audit::witness::release_due(&self.store, &self.audit, self.clock.today()).map_err(|e| e.to_string())
    }
}
