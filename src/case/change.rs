//! What reviewers decide about a statement, as typed changes. Each change
//! is checked against the rules (a reason where the state needs one, links
//! only to statements the reviewer can open, assignment only to desk
//! members, publication and sharing never wider than consent), written to
//! the audit log, and only then applied to the record *as stored*, so two
//! reviewers working on one statement never undo each other and nobody
//! undoes a withdrawal.

use std::collections::BTreeSet;

use crate::audit::{Event, NewEntry};
use crate::i18n::Message;
use crate::storage::{AccountName, Author, ModifyError, SubmissionRecord, ThreadItem};

use super::documents::{self, ConsentDoc, MessageKind, Sharing, ThreadMessage};
use super::names;
use super::triage::{self, Evaluation, Note, Triage};
use super::workflow::WorkflowState;
use super::{Authorized, CaseError, Cases, entry_by, failed};

/// Longest note, reply or reason, in characters.
pub const TEXT_MAX: usize = 5_000;

/// One reviewer decision.
#[derive(Clone, Debug)]
pub enum Change {
    State { to: WorkflowState, reason: String, duplicate_of: Option<String> },
    Triage { priority: String, flags: BTreeSet<String>, labels: BTreeSet<String>, assigned_to: Option<AccountName> },
    Evaluation(Evaluation),
    Note(String),
    Reply(String),
}

fn refused(why: Message) -> CaseError {
    CaseError::Refused(why)
}

/// A note or reply as written: NFC, Windows line ends made plain, bounded.
fn written_text(text: &str) -> Result<String, CaseError> {
    let text: String = unicode_normalization::UnicodeNormalization::nfc(text.replace("\r\n", "\n").as_str()).collect();
    if text.trim().is_empty() {
        return Err(refused(Message::new("case-write-something")));
    }
    if text.chars().count() > TEXT_MAX {
        return Err(refused(Message::new("case-text-too-long")));
    }
    Ok(text)
}

impl Cases {
    /// The triage document of a statement (the default if none yet).
    pub(super) fn triage_of(&self, record: &SubmissionRecord, statement: &Authorized) -> Triage {
        record.triage.as_ref().and_then(|s| documents::open(s, statement.key.as_ref()).ok()).unwrap_or_default()
    }

    /// The consent in force, as the desk reads it.
    pub(super) fn consent_of(&self, record: &SubmissionRecord, statement: &Authorized) -> ConsentDoc {
        record.consent.last().and_then(|s| documents::open(s, statement.key.as_ref()).ok()).unwrap_or_default()
    }

    /// Checks a change against the rules and says which audit entries it
    /// makes (none: nothing would change).
    fn entries_for(&self, statement: &Authorized, change: &mut Change) -> Result<Vec<NewEntry>, CaseError> {
        let record = &statement.record;
        if record.state.is_final() {
            return Err(refused(Message::new("case-withdrawn")));
        }
        let reader = &statement.reader;
        let id = statement.id();
        let before = self.triage_of(record, statement);
        let entries = match change {
            Change::State { to, reason, duplicate_of } => {
                let rule = to.rule();
                if !record.state.reviewer_may_move_to(*to) {
                    return Err(refused(Message::new("case-choose-state")));
                }
                if rule.needs_reason && reason.trim().is_empty() {
                    return Err(refused(Message::new("case-reason-needed")));
                }
                if reason.chars().count() > TEXT_MAX {
                    return Err(refused(Message::new("case-reason-too-long")));
                }
                if rule.needs_original {
                    let original = duplicate_of.as_deref().unwrap_or("");
                    if original == id || !self.can_open(reader, original) {
                        return Err(refused(Message::new("case-duplicate-target")));
                    }
                } else {
                    *duplicate_of = None;
                }
                if rule.implies_sharing {
                    let consent = self.consent_of(record, statement);
                    if consent.sharing("partners") == Sharing::No && consent.sharing("official_bodies") == Sharing::No {
                        let why = Message::new("case-state-needs-sharing-consent");
                        return Err(CaseError::OutsideConsent(names::with_name(
                            why,
                            "state",
                            &names::STATES,
                            to.code(),
                        )));
                    }
                }
                vec![entry_by(reader, Event::StateChanged { from: record.state.to_string(), to: to.to_string() }, id)]
            }
            Change::Triage { priority, flags, labels, assigned_to } => {
                if !triage::PRIORITIES.contains(&priority.as_str()) {
                    return Err(refused(Message::new("case-choose-priority")));
                }
                if flags.iter().any(|f| !triage::FLAGS.contains(&f.as_str())) {
                    return Err(refused(Message::new("case-unknown-flag")));
                }
                if let Some(bad) = labels.iter().find(|l| !triage::valid_label(l)) {
                    let why = Message::new("case-label-not-namespaced").arg("label", format!("{bad:?}"));
                    return Err(refused(why));
                }
                if let Some(assignee) = assigned_to {
                    let members = self.store.desk_members(&record.desk, record.key_generation).unwrap_or_default();
                    if !members.contains(assignee) {
                        return Err(refused(Message::new("case-assign-members-only")));
                    }
                }
                let mut entries = Vec::new();
                if *priority != before.priority {
                    entries.push(entry_by(reader, Event::PriorityChanged, id));
                }
                if *flags != before.flags {
                    entries.push(entry_by(reader, Event::FlagChanged, id));
                }
                if *labels != before.labels {
                    entries.push(entry_by(reader, Event::LabelChanged, id));
                }
                if assigned_to.as_ref().map(AccountName::to_string) != before.assigned_to {
                    entries.push(entry_by(reader, Event::AssignmentChanged, id));
                }
                entries
            }
            Change::Evaluation(evaluation) => {
                if evaluation.credibility.is_some_and(|n| !(1..=6).contains(&n)) {
                    return Err(refused(Message::new("case-credibility-range")));
                }
                for other in &evaluation.corroborated_by {
                    if other == id || !self.can_open(reader, other) {
                        return Err(refused(Message::new("case-corroboration-links")));
                    }
                }
                let long =
                    [&evaluation.source_reliability_why, &evaluation.credibility_why, &evaluation.publication_why];
                if long.iter().any(|t| t.chars().count() > TEXT_MAX) {
                    return Err(refused(Message::new("case-justification-too-long")));
                }
                if let Some(publication) = &evaluation.publication {
                    let widest = triage::widest_publication_allowed(&self.consent_of(record, statement));
                    let wanted = triage::PUBLICATION.iter().position(|p| p == publication).unwrap_or(usize::MAX);
                    if wanted > widest {
                        let why = Message::new("case-publication-wider");
                        let why = names::with_name(why, "widest", &names::PUBLICATION, triage::PUBLICATION[widest]);
                        return Err(refused(names::with_name(why, "wanted", &names::PUBLICATION, publication)));
                    }
                }
                if *evaluation == before.evaluation {
                    vec![]
                } else {
                    vec![entry_by(reader, Event::EvaluationChanged, id)]
                }
            }
            Change::Note(text) => {
                *text = written_text(text)?;
                vec![entry_by(reader, Event::NoteAdded, id)]
            }
            Change::Reply(text) => {
                *text = written_text(text)?;
                vec![entry_by(reader, Event::ReplySent, id)]
            }
        };
        Ok(entries)
    }

    /// Applies one reviewer decision: checked, audited, then stored on the
    /// record as it is now. Returns whether anything changed.
    pub fn change(&self, statement: &Authorized, mut change: Change) -> Result<bool, CaseError> {
        let entries = self.entries_for(statement, &mut change)?;
        if entries.is_empty() {
            return Ok(false);
        }
        let recipients = self.desk_recipients(&statement.record)?;
        // Sealed before the audit entry, so a sealing failure changes nothing.
        let reply = match &change {
            Change::Reply(text) => {
                let message = ThreadMessage { kind: MessageKind::Reply, text: text.clone(), files: vec![] };
                let mut to: Vec<_> = recipients.iter().collect();
                to.push(&statement.record.witness_recipient);
                Some(documents::seal(&message, &to)?)
            }
            _ => None,
        };
        let begun = self.begin(statement.id(), &entries, Vec::new(), Vec::new())?;
        let today = self.clock.today();
        let author = statement.reader.account().to_string();
        let stored = self.modify_current(statement, &begun, |fresh| {
            if let Some(message) = &reply {
                fresh.thread.push(ThreadItem {
                    author: Author::Reviewer,
                    day: today,
                    message: message.clone(),
                    unread: true,
                });
                return Ok(());
            }
            let mut t = self.triage_of(fresh, statement);
            match &change {
                Change::State { to, reason, duplicate_of } => {
                    fresh.state = *to;
                    t.state_reason = reason.clone();
                    if duplicate_of.is_some() {
                        t.duplicate_of = duplicate_of.clone();
                    }
                }
                Change::Triage { priority, flags, labels, assigned_to } => {
                    t.priority = priority.clone();
                    t.flags = flags.clone();
                    t.labels = labels.clone();
                    t.assigned_to = assigned_to.as_ref().map(AccountName::to_string);
                }
                Change::Evaluation(evaluation) => t.evaluation = evaluation.clone(),
                Change::Note(text) => {
                    t.notes.push(Note { author: author.clone(), day: today.to_string(), text: text.clone() })
                }
                Change::Reply(_) => {}
            }
            let to: Vec<_> = recipients.iter().collect();
            fresh.triage = Some(documents::seal(&t, &to).map_err(ModifyError::failed)?);
            Ok(())
        });
        match stored {
            Ok(_) => Ok(true),
            Err(e) => {
                self.audit_failed(entries);
                self.end(&begun);
                Err(e)
            }
        }
    }

    /// The recipients of what reviewers write about a statement: its desk
    /// key (of the statement's generation) and the recovery key.
    pub(super) fn desk_recipients(
        &self,
        record: &SubmissionRecord,
    ) -> Result<Vec<crate::crypto::Recipient>, CaseError> {
        let desk = self.store.desk(&record.desk)?.ok_or_else(|| failed("the desk is missing"))?;
        let key = desk
            .keys
            .iter()
            .find(|k| k.generation == record.key_generation)
            .ok_or_else(|| failed("the desk key is missing"))?;
        let recovery = self.store.server()?.recovery_recipient;
        Ok(vec![key.recipient.clone(), recovery])
    }
}
