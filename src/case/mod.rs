//! The case layer: the life of a statement, with no HTTP in it. Filing
//! (the public form, assisted intake, files added through the receipt),
//! typed changes (triage, evaluation, notes, replies), the witness's
//! follow-up (answers, consent, withdrawal and purge), moving to another
//! desk, and every release of content (view, download, case bundle,
//! aggregate statistics).
//!
//! Three rules hold here so that no handler has to remember them:
//!
//! - **Who may act** is decided once: reviewer operations take an
//!   [`Authorized`] statement, which only [`Cases::authorize`] makes, from
//!   the desk keys the reader holds (no key, no statement: 404).
//! - **Audit comes first**: every change is in the audit log before it is
//!   stored, and content is released only against an [`audit::Permit`],
//!   which only a durable append produces.
//! - **Derived state follows the store**: the reviewers' index subscribes
//!   to the store's change feed, so nothing here notifies anyone.
//!
//! Everything here blocks (fsync, age, argon2 elsewhere): HTTP handlers call
//! it through `tokio::task::spawn_blocking`.
//!
//! - `access`: readers and authorized statements;
//! - `workflow`, `triage`, `documents`: the typed vocabulary and the
//!   sealed documents; `names`: what reviewers read for each code;
//! - `filing`: new statements and added files; `receipt`, `manifest`: what
//!   the witness keeps;
//! - `change`: what reviewers decide; `witness`: what witnesses do later;
//! - `moving`: sealing a statement anew to another desk;
//! - `release`: view, download, case bundle, aggregate statistics.

mod access;
mod change;
pub mod documents;
mod filing;
pub mod manifest;
mod moving;
pub mod names;
pub mod receipt;
mod release;
pub mod triage;
mod witness;
pub mod workflow;

use std::sync::Arc;

use crate::audit::{self, Actor, AuditLog, Event, NewEntry, Outcome};
use crate::clock::Clock;
use crate::i18n::Message;
use crate::storage::{ModifyError, StatementRecords, StorageError, Store};

pub use access::{Authorized, DeskKeys, Reader};
pub use change::Change;
pub use filing::{Added, DeskTarget, Filed, FiledFile, Intake, NewFile, NewStatement};
pub use release::{Download, StatementView, ThreadRow};
pub use witness::{AddedFile, ConsentChange, WitnessAddition, WitnessCase, WitnessView};
pub use workflow::WorkflowState;

/// Why a case operation did not happen. The message of `Refused`,
/// `OutsideConsent` and `Conflict` (reviewer catalogue) is for the person
/// asking and never holds testimony.
#[derive(Debug, thiserror::Error)]
pub enum CaseError {
    /// No such statement, or not one this reader may open: one answer.
    #[error("not found")]
    NotFound,
    /// The request breaks a rule (a reason missing, consent too narrow).
    #[error("{0}")]
    Refused(Message),
    /// The witness's consent does not cover it (sharing, publication).
    #[error("{0}")]
    OutsideConsent(Message),
    /// Someone else changed the statement meanwhile (moved, withdrawn).
    #[error("{0}")]
    Conflict(Message),
    /// The audit log cannot be written, so nothing happened.
    #[error("the audit log cannot be written")]
    AuditUnavailable,
    /// The disk is nearly full, so nothing was written; it works again by
    /// itself once space is freed.
    #[error("the disk is nearly full")]
    DiskFull,
    /// Storage or sealing failed; the detail is for the log.
    #[error("{0}")]
    Failed(String),
}

impl From<StorageError> for CaseError {
    fn from(e: StorageError) -> Self {
        match e {
            StorageError::NotFound => CaseError::NotFound,
            StorageError::DiskFull => CaseError::DiskFull,
            other => CaseError::Failed(other.to_string()),
        }
    }
}

impl From<documents::DocumentError> for CaseError {
    fn from(e: documents::DocumentError) -> Self {
        CaseError::Failed(e.to_string())
    }
}

impl From<crate::crypto::SealError> for CaseError {
    fn from(e: crate::crypto::SealError) -> Self {
        CaseError::Failed(e.to_string())
    }
}

fn failed(e: impl std::fmt::Display) -> CaseError {
    CaseError::Failed(e.to_string())
}

/// The case layer over one store, its audit log and its clock.
#[derive(Clone)]
pub struct Cases {
    store: Arc<Store>,
    audit: Arc<AuditLog>,
    clock: Arc<dyn Clock>,
}

impl Cases {
    pub fn new(store: Arc<Store>, audit: Arc<AuditLog>, clock: Arc<dyn Clock>) -> Cases {
        Cases { store, audit, clock }
    }

    /// Appends entries before a change; the change must not happen if this
    /// fails.
    fn audit_first(&self, entries: Vec<NewEntry>) -> Result<(), CaseError> {
        self.audit.append_all(entries).map_err(|_| CaseError::AuditUnavailable)
    }

    /// Appends the entry a release of content needs, and returns its permit.
    fn permit(&self, entry: NewEntry) -> Result<audit::Permit, CaseError> {
        self.audit.append_before_release(entry).map_err(|_| CaseError::AuditUnavailable)
    }

    /// Records that audited entries did not end as planned. Best effort:
    /// the first entries are already durable, and the outcome is what
    /// failed to be written.
    fn audit_failed(&self, entries: Vec<NewEntry>) {
        let failed = entries.into_iter().map(|e| e.outcome(Outcome::Failed)).collect();
        if self.audit.append_all(failed).is_err() {
            tracing::error!("could not record a failed action in the audit log");
        }
    }

    /// Applies `change` to the statement as stored, refusing if it was
    /// moved to another desk or withdrawn meanwhile.
    fn modify_current(
        &self,
        statement: &Authorized,
        mut change: impl FnMut(&mut crate::storage::SubmissionRecord) -> Result<(), ModifyError>,
    ) -> Result<crate::storage::SubmissionRecord, CaseError> {
        let (desk, generation) = (statement.record.desk.clone(), statement.record.key_generation);
        let stored = self.store.modify_submission(statement.id(), &[], &mut |fresh| {
            if fresh.desk != desk || fresh.key_generation != generation {
                return Err(Message::new("case-moved-meanwhile").into());
            }
            if fresh.state.is_final() {
                return Err(Message::new("case-withdrawn-meanwhile").into());
            }
            change(fresh)
        });
        Ok(stored?)
    }
}

/// A change to a stored record that declined is a conflict with whoever
/// changed it meanwhile; one that failed is a failure.
impl From<ModifyError> for CaseError {
    fn from(e: ModifyError) -> Self {
        match e {
            ModifyError::Refused(why) => CaseError::Conflict(why),
            ModifyError::Failed(detail) => CaseError::Failed(detail),
            ModifyError::Storage(e) => e.into(),
        }
    }
}

/// An entry by a reviewer-side account about a statement.
fn entry_by(reader: &Reader, event: Event, object: &str) -> NewEntry {
    NewEntry::by(Actor::Account(reader.account().to_string()), event).on(object)
}
