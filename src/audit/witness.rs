//! Witness events (a statement received, a follow-up, a consent change)
//! carry the day only. Written straight into the log they would still sit
//! between timed reviewer entries, and their position would bound the time
//! of the witness's connection. So they wait, durably, in storage (written
//! in the same step as the change they record) and join the log in one
//! batch, in random order, once their day is over.
//!
//! A crash between appending a batch and removing it from storage appends
//! it again at the next release: an event may be logged twice, never lost.

use serde::{Deserialize, Serialize};

use crate::clock::Day;
use crate::storage::{StorageError, Store};

use super::event::{Actor, Event, Outcome};
use super::log::{AuditError, AuditLog, NewEntry};

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Pending {
    day: Day,
    event: Event,
    object: Option<String>,
}

/// Encodes a witness event for `Store::insert_submission` and friends.
pub fn deferred(day: Day, event: Event, object: &str) -> Vec<u8> {
    // Invariant: events hold only strings, numbers and booleans.
    #[allow(clippy::expect_used)]
    serde_json::to_vec(&Pending { day, event, object: Some(object.to_string()) }).expect("events always encode")
}

#[derive(Debug, thiserror::Error)]
pub enum ReleaseError {
    #[error(transparent)]
    Audit(#[from] AuditError),
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// Appends every waiting witness event whose day is before `today`, then
/// removes them from storage. Returns how many were released.
pub fn release_due(store: &Store, audit: &AuditLog, today: Day) -> Result<usize, ReleaseError> {
    let mut due_keys = Vec::new();
    let mut entries = Vec::new();
    // Keys are random, so storage order is a random order.
    for (key, bytes) in store.pending_audit_events()? {
        let pending: Pending = serde_json::from_slice(&bytes)
            .map_err(|_| StorageError::Corrupt("a deferred audit event cannot be read".into()))?;
        if pending.day < today {
            let mut entry = NewEntry::by(Actor::Witness, pending.event).outcome(Outcome::Ok).on_day(pending.day);
            entry.object = pending.object;
            entries.push(entry);
            due_keys.push(key);
        }
    }
    if entries.is_empty() {
        return Ok(0);
    }
    let n = entries.len();
    audit.append_all(entries)?;
    store.remove_pending_audit_events(&due_keys)?;
    Ok(n)
}
