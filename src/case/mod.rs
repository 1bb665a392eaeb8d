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
//!   which only a durable append produces. A reviewer's change is noted
//!   in storage before its entry is written and the note ends with the
//!   record change, so one a crash cut between the two is found at the
//!   next start and its entry marked failed ([`Cases::finish_interrupted`]).
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
use crate::storage::{Finish, ModifyError, ObjectId, StatementRecords, StorageError, Store};

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

    /// Begins a reviewer's change of a statement: notes it in storage,
    /// then appends its entries (audit first, as ever). The record change
    /// that follows ends the note in its own transaction
    /// ([`Cases::modify_current`]), or a failure ends it after recording
    /// the failure; so a note that outlives a crash means the entries may
    /// be in the log for a change that never happened, and
    /// [`Cases::finish_interrupted`] says so there. A move names the new
    /// copies it will make (`fresh`) and the old ones it will remove
    /// (`retired`), for the cleanup either way.
    fn begin(
        &self,
        statement: &str,
        entries: &[NewEntry],
        fresh: Vec<ObjectId>,
        retired: Vec<ObjectId>,
    ) -> Result<Begun, CaseError> {
        let plan = Plan {
            statement: statement.to_string(),
            from_seq: self.audit.records(),
            entries: entries
                .iter()
                .map(|e| Planned { actor: e.actor.clone(), event: e.event.clone(), object: e.object.clone() })
                .collect(),
            fresh,
            retired,
            stored: false,
        };
        let key = self.store.begin_change(&encode_plan(&plan))?;
        if let Err(e) = self.audit_first(entries.to_vec()) {
            self.end(&Begun { key, plan });
            return Err(e);
        }
        Ok(Begun { key, plan })
    }

    /// Ends a begun change (failed, or done with what follows the record
    /// change). Best effort: one left behind is ended at the next start.
    fn end(&self, begun: &Begun) {
        if let Err(e) = self.store.end_change(&begun.key) {
            tracing::error!(error = %e, "could not end a begun change; it is finished at the next start");
        }
    }

    /// Finishes the reviewers' changes a crash (kill -9, power loss)
    /// interrupted, before anyone is served: for one whose record never
    /// changed, removes the new copies it made and appends its entries
    /// again marked `failed` (unless that was done already), so the log
    /// never claims a change the records do not hold; for one whose
    /// record changed, removes the old copies it left. Returns how many.
    pub fn finish_interrupted(&self) -> Result<usize, CaseError> {
        let begun = self.store.changes_begun()?;
        if begun.is_empty() {
            return Ok(0);
        }
        let log = audit::read_records(&audit::log_path(self.store.dir())).map_err(failed)?;
        let mut claimed = vec![false; log.len()];
        for (key, bytes) in &begun {
            let plan: Plan = serde_json::from_slice(bytes).map_err(|_| failed("a begun change cannot be read"))?;
            if plan.stored {
                for object in &plan.retired {
                    self.store.objects().remove_if_present(object)?;
                }
            } else {
                for object in &plan.fresh {
                    self.store.objects().remove_if_present(object)?;
                }
                let mut undo = Vec::new();
                for planned in &plan.entries {
                    let written = claim(&log, &mut claimed, plan.from_seq, planned, Outcome::Ok);
                    if let Some(at) = written
                        && claim(&log, &mut claimed, log[at].seq, planned, Outcome::Failed).is_none()
                    {
                        let mut entry = NewEntry::by(planned.actor.clone(), planned.event.clone());
                        entry.object = planned.object.clone();
                        undo.push(entry.outcome(Outcome::Failed));
                    }
                }
                if !undo.is_empty() {
                    self.audit.append_all(undo).map_err(|_| CaseError::AuditUnavailable)?;
                }
            }
            self.store.end_change(key)?;
            tracing::warn!(
                statement = %plan.statement,
                done = plan.stored,
                "finished a reviewer's change that a crash interrupted"
            );
        }
        Ok(begun.len())
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
    /// moved to another desk or withdrawn meanwhile; ends `begun` in the
    /// same transaction.
    fn modify_current(
        &self,
        statement: &Authorized,
        begun: &Begun,
        mut change: impl FnMut(&mut crate::storage::SubmissionRecord) -> Result<(), ModifyError>,
    ) -> Result<crate::storage::SubmissionRecord, CaseError> {
        let (desk, generation) = (statement.record.desk.clone(), statement.record.key_generation);
        let finish = Finish { key: &begun.key, then: None };
        let stored = self.store.modify_submission_begun(statement.id(), finish, &mut |fresh| {
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

/// A reviewer's change under way (see [`Cases::begin`]).
struct Begun {
    key: Vec<u8>,
    plan: Plan,
}

/// What a begun change is, as noted in storage.
#[derive(Clone, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Plan {
    statement: String,
    /// How many records the audit log held before its entries.
    from_seq: u64,
    entries: Vec<Planned>,
    /// New copies of objects (a move), made before the record changes.
    #[serde(default)]
    fresh: Vec<ObjectId>,
    /// Old copies, removed once it changed.
    #[serde(default)]
    retired: Vec<ObjectId>,
    /// Set in the transaction that changed the record, when work is left.
    #[serde(default)]
    stored: bool,
}

/// One audit entry of a begun change.
#[derive(Clone, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Planned {
    actor: Actor,
    event: Event,
    object: Option<String>,
}

fn encode_plan(plan: &Plan) -> Vec<u8> {
    // Invariant: a plan holds only strings, numbers, booleans and events.
    #[allow(clippy::expect_used)]
    serde_json::to_vec(plan).expect("plans always encode")
}

/// The first record of `log` at `from_seq` or after, not yet claimed,
/// that is `planned` with `outcome`; claims it.
fn claim(
    log: &[audit::Record],
    claimed: &mut [bool],
    from_seq: u64,
    planned: &Planned,
    outcome: Outcome,
) -> Option<usize> {
    let at = log.iter().enumerate().position(|(i, r)| {
        !claimed[i]
            && r.seq >= from_seq
            && matches!(&r.body, audit::Body::Entry { actor, event, object, outcome: o }
                if *actor == planned.actor && *event == planned.event && *object == planned.object && *o == outcome)
    })?;
    claimed[at] = true;
    Some(at)
}

/// An entry by a reviewer-side account about a statement.
fn entry_by(reader: &Reader, event: Event, object: &str) -> NewEntry {
    NewEntry::by(Actor::Account(reader.account().to_string()), event).on(object)
}
