//! What a witness does after filing, through the receipt: read the state
//! and replies, answer, add files, change consent, withdraw. A witness
//! case is opened with the receipt-derived key, which opens the consent,
//! the manifest and the thread but never the statement itself.
//!
//! Witness events are deferred to the end of their day (audit::witness) and
//! written in the same transaction as the change they record.

use crate::audit::{Event, witness};
use crate::crypto::{Recipient, WitnessIdentity};
use crate::i18n::Message;
use crate::storage::{Author, ModifyError, StatementRecords, SubmissionRecord, ThreadItem};

use super::documents::{self, ConsentDoc, MessageKind, Scope, ThreadMessage};
use super::filing::{Added, NewFile, commit_files, digests, discard, shown};
use super::manifest::{ADDITION_FORMAT, Addition, SignedAddition};
use super::receipt::Receipt;
use super::workflow::WorkflowState;
use super::{CaseError, Cases};

/// A statement opened with its receipt. Made only by
/// [`Cases::open_by_receipt`].
pub struct WitnessCase {
    record: SubmissionRecord,
    key: WitnessIdentity,
}

/// One item of the thread as the witness reads it.
pub struct WitnessItem {
    pub from_reviewer: bool,
    pub day: String,
    pub text: String,
    pub files: Vec<String>,
}

/// What the follow-up page shows.
pub struct WitnessView {
    pub state: WorkflowState,
    pub received: String,
    pub items: Vec<WitnessItem>,
    pub consent: ConsentDoc,
    /// A made-up example (`testimony demo`): the page says so.
    pub example: bool,
}

/// One set of files added through the receipt, as its signed proof
/// lists them (with the names the witness's device gave, where known).
pub struct WitnessAddition {
    pub sequence: usize,
    pub day: String,
    pub files: Vec<AddedFile>,
}

/// One file of an addition.
pub struct AddedFile {
    pub index: usize,
    pub name: String,
    pub bytes: u64,
    pub sha256: String,
}

/// One consent answer the witness changes.
pub struct ConsentChange {
    pub scope: Scope,
    pub recipient: &'static str,
    pub level: String,
}

impl WitnessCase {
    pub fn id(&self) -> &str {
        &self.record.id
    }

    pub fn state(&self) -> WorkflowState {
        self.record.state
    }

    pub fn is_withdrawn(&self) -> bool {
        self.record.state.is_final()
    }

    /// The consent in force, as the witness's key opens it.
    pub fn consent(&self) -> ConsentDoc {
        self.record.consent.last().and_then(|s| documents::open(s, &self.key).ok()).unwrap_or_default()
    }

    /// What the follow-up page shows (never the statement).
    pub fn view(&self) -> WitnessView {
        let items = self
            .record
            .thread
            .iter()
            .filter_map(|item| {
                let message: ThreadMessage = documents::open(&item.message, &self.key).ok()?;
                Some(WitnessItem {
                    from_reviewer: item.author == Author::Reviewer,
                    day: item.day.to_string(),
                    text: message.text,
                    files: message.files.into_iter().map(|f| f.name).collect(),
                })
            })
            .collect();
        WitnessView {
            state: self.record.state,
            received: self.record.received.to_string(),
            items,
            consent: self.consent(),
            example: self.record.example,
        }
    }

    /// The signed evidence manifest as the witness downloads it, if it was
    /// not purged.
    pub fn manifest(&self) -> Option<crate::crypto::Plaintext> {
        let sealed = self.record.manifest.as_ref()?;
        crate::crypto::open(sealed.as_bytes(), &self.key).ok()
    }

    /// The signed proof of addition `sequence` (1-based) as the witness
    /// downloads it, if there is one and it was not purged.
    pub fn addition(&self, sequence: usize) -> Option<crate::crypto::Plaintext> {
        let sealed = self.record.additions.get(sequence.checked_sub(1)?)?;
        crate::crypto::open(sealed.as_bytes(), &self.key).ok()
    }

    /// Every addition of files, in order, as its signed proof lists them.
    pub fn additions(&self) -> Vec<WitnessAddition> {
        let mut names = std::collections::HashMap::new();
        for item in &self.record.thread {
            if let Ok(message) = documents::open::<ThreadMessage>(&item.message, &self.key)
                && message.kind == MessageKind::Files
            {
                names.extend(message.files.into_iter().map(|f| (f.index, f.name)));
            }
        }
        self.record
            .additions
            .iter()
            .filter_map(|sealed| documents::open::<SignedAddition>(sealed, &self.key).ok())
            .map(|signed| WitnessAddition {
                sequence: signed.addition.sequence,
                day: signed.addition.received,
                files: signed
                    .addition
                    .files
                    .into_iter()
                    .map(|f| AddedFile {
                        name: names.remove(&f.index).unwrap_or_default(),
                        index: f.index,
                        bytes: f.bytes,
                        sha256: f.sha256,
                    })
                    .collect(),
            })
            .collect()
    }
}

impl Cases {
    /// The case a receipt opens, if any.
    pub fn open_by_receipt(&self, receipt: &Receipt) -> Result<Option<WitnessCase>, CaseError> {
        let lookup = receipt.lookup(&self.store.receipt_lookup_key()?);
        Ok(self.store.submission_by_receipt(&lookup)?.map(|record| {
            let key = receipt.witness_identity(&record.witness_salt);
            WitnessCase { record, key }
        }))
    }

    /// The recipients of what the witness adds: the case's desk key,
    /// recovery, and (for thread items) the witness key.
    fn witness_recipients(&self, record: &SubmissionRecord) -> Result<Vec<Recipient>, CaseError> {
        let mut to = self.desk_recipients(record)?;
        to.push(record.witness_recipient.clone());
        Ok(to)
    }

    /// What files added to this case are sealed to as they stream in: the
    /// desk and recovery keys, like the originals.
    pub fn file_recipients(&self, case: &WitnessCase) -> Result<Vec<Recipient>, CaseError> {
        self.desk_recipients(&case.record)
    }

    /// Applies a witness's change to the record as stored, with its
    /// deferred audit event; refuses if the statement was withdrawn.
    fn witness_modify(
        &self,
        case: &mut WitnessCase,
        event: Event,
        mut change: impl FnMut(&mut SubmissionRecord) -> Result<(), ModifyError>,
    ) -> Result<(), CaseError> {
        let today = self.clock.today();
        let events = [witness::deferred(today, event, &case.record.id)];
        let stored = self.store.modify_submission(&case.record.id, &events, &mut |fresh| {
            if fresh.state.is_final() {
                return Err(Message::new("case-withdrawn-before").into());
            }
            change(fresh)
        });
        case.record = stored?;
        Ok(())
    }

    /// Marks the reviewers' replies as read by the witness.
    pub fn replies_read(&self, case: &WitnessCase) {
        if !case.record.thread.iter().any(|i| i.author == Author::Reviewer && i.unread) {
            return;
        }
        let marked = self.store.modify_submission(&case.record.id, &[], &mut |fresh| {
            for item in fresh.thread.iter_mut().filter(|i| i.author == Author::Reviewer) {
                item.unread = false;
            }
            Ok(())
        });
        if let Err(e) = marked {
            tracing::error!(error = %e, "could not mark replies read");
        }
    }

    /// The witness's answer to the reviewers.
    pub fn answer(&self, case: &mut WitnessCase, text: String) -> Result<(), CaseError> {
        let message = ThreadMessage { kind: MessageKind::Answer, text, files: vec![] };
        let to = self.witness_recipients(&case.record)?;
        let sealed = documents::seal(&message, &to.iter().collect::<Vec<_>>())?;
        let today = self.clock.today();
        self.witness_modify(case, Event::WitnessFollowUp, |fresh| {
            fresh.thread.push(ThreadItem {
                author: Author::Witness,
                day: today,
                message: sealed.clone(),
                unread: true,
            });
            Ok(())
        })
    }

    /// Files the witness adds later. They are committed, then recorded in
    /// one write with their thread item and the addition's signed proof
    /// (numbered, like the files, from the record as stored), so a file
    /// and its proof are kept together or not at all; if they cannot be
    /// recorded, the files are removed again.
    pub fn add_files(&self, case: &mut WitnessCase, files: Vec<NewFile>) -> Result<Added, CaseError> {
        let today = self.clock.today();
        let committed = commit_files(&self.store, files, today, 1)?;
        let recorded = (|| {
            let to = self.witness_recipients(&case.record)?;
            let to: Vec<&Recipient> = to.iter().collect();
            let key = self.store.signing_key()?;
            // The files were sealed to this desk key as they streamed in.
            let (desk, generation) = (case.record.desk.clone(), case.record.key_generation);
            let mut made = None;
            self.witness_modify(case, Event::WitnessFollowUp, |fresh| {
                if fresh.desk != desk || fresh.key_generation != generation {
                    return Err(Message::new("case-moved-send-again").into());
                }
                let docs = committed.numbered_from(fresh.files.len() + 1);
                let sequence = fresh.additions.len() + 1;
                let proof = SignedAddition::sign(
                    Addition {
                        format: ADDITION_FORMAT.into(),
                        submission: fresh.id.clone(),
                        received: today.to_string(),
                        sequence,
                        files: digests(&docs),
                    },
                    &key,
                );
                let sealed_proof =
                    crate::crypto::seal_to(proof.to_file_text().as_bytes(), &to).map_err(ModifyError::failed)?;
                let message = ThreadMessage { kind: MessageKind::Files, text: String::new(), files: docs };
                let sealed_message = documents::seal(&message, &to).map_err(ModifyError::failed)?;
                fresh.thread.push(ThreadItem {
                    author: Author::Witness,
                    day: today,
                    message: sealed_message,
                    unread: true,
                });
                fresh.files.extend(committed.records.iter().cloned());
                fresh.additions.push(sealed_proof);
                made = Some((message.files, proof));
                Ok(())
            })?;
            made.ok_or_else(|| super::failed("the addition was stored but not made"))
        })();
        match recorded {
            Ok((docs, proof)) => Ok(Added {
                id: case.record.id.clone(),
                day: today.to_string(),
                sequence: proof.addition.sequence,
                files: shown(&docs),
                proof,
            }),
            Err(e) => {
                discard(&self.store, &committed.records);
                Err(e)
            }
        }
    }

    /// Changes consent answers; `Ok(false)` when nothing changed.
    pub fn change_consent(&self, case: &mut WitnessCase, changes: &[ConsentChange]) -> Result<bool, CaseError> {
        let today = self.clock.today().to_string();
        let changes: Vec<(Scope, &str, String)> =
            changes.iter().map(|c| (c.scope, c.recipient, c.level.clone())).collect();
        let version = crate::intake::form::CONSENT_TEXT_VERSION;
        if case.consent().with_changes(&changes, &today, version).is_none() {
            return Ok(false);
        }
        let to = self.witness_recipients(&case.record)?;
        let key = &case.key;
        let mut unchanged = false;
        let record_id = case.record.id.clone();
        let stored = self.store.modify_submission(
            &record_id,
            &[witness::deferred(self.clock.today(), Event::ConsentChanged, &record_id)],
            &mut |fresh| {
                if fresh.state.is_final() {
                    return Err(Message::new("case-withdrawn-before").into());
                }
                // Applied to the consent as it is now.
                let current: ConsentDoc =
                    fresh.consent.last().and_then(|s| documents::open(s, key).ok()).unwrap_or_default();
                let Some(next) = current.with_changes(&changes, &today, version) else {
                    unchanged = true;
                    return Err(Message::new("case-unchanged").into());
                };
                let sealed = documents::seal(&next, &to.iter().collect::<Vec<_>>()).map_err(ModifyError::failed)?;
                fresh.consent.push(sealed);
                Ok(())
            },
        );
        match stored {
            Ok(record) => {
                case.record = record;
                Ok(true)
            }
            Err(_) if unchanged => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// Withdrawal: every consent revoked, and everything the witness sent
    /// or said purged (statement, identity, manifest, the proofs of later
    /// additions, triage, thread, files). The record keeps its id, day,
    /// state and consent history.
    pub fn withdraw(&self, case: &mut WitnessCase) -> Result<(), CaseError> {
        let today = self.clock.today();
        let events = [
            witness::deferred(today, Event::ConsentWithdrawn, &case.record.id),
            // The purge itself is recorded too, by day, like the withdrawal.
            witness::deferred(today, Event::PurgeDone, &case.record.id),
        ];
        let to = self.witness_recipients(&case.record)?;
        let key = &case.key;
        let mut objects = Vec::new();
        let record_id = case.record.id.clone();
        let purged = self.store.modify_submission(&record_id, &events, &mut |fresh| {
            if fresh.state.is_final() {
                return Err(Message::new("case-withdrawn-before").into());
            }
            let current: ConsentDoc =
                fresh.consent.last().and_then(|s| documents::open(s, key).ok()).unwrap_or_default();
            let revoked = current.all_revoked(&today.to_string());
            fresh.consent.push(documents::seal(&revoked, &to.iter().collect::<Vec<_>>()).map_err(ModifyError::failed)?);
            objects =
                fresh.files.iter().flat_map(|f| std::iter::once(f.object.clone()).chain(f.cleaned.clone())).collect();
            fresh.statement = None;
            fresh.identity = None;
            fresh.manifest = None;
            fresh.additions.clear();
            fresh.triage = None;
            fresh.files.clear();
            fresh.thread.clear();
            fresh.state = WorkflowState::Withdrawn;
            Ok(())
        });
        case.record = purged?;
        for object in objects {
            if let Err(e) = self.store.objects().remove(&object) {
                tracing::error!(error = %e, "could not remove a withdrawn file");
            }
        }
        Ok(())
    }
}
