//! Filing: a new statement from the public form or from an investigator,
//! and files a witness adds later through the receipt.
//!
//! Order of a filing: the files were sealed into pending objects as they
//! streamed in (see `intake::upload`); here they are committed (fsync,
//! rename), then the statement, identity, consent and manifest are sealed
//! and written in one flushed transaction with the receipt lookup and the
//! deferred audit event. Only then may the witness see the receipt. The
//! store publishes the new record on its change feed, so reviewers who are
//! signed in see it at once.

use serde_json::{Map, Value};
use sha2::{Digest as _, Sha256};

use crate::audit::{Actor, Event, NewEntry, witness};
use crate::clock::Day;
use crate::crypto::{Recipient, Salt, hex, random_hex_id};
use crate::intake::upload::SealedFile;
use crate::storage::{AccountName, Channel, DeskId, FileRecord, StatementRecords, Store, SubmissionRecord};

use super::documents::{self, CleanedCopy, ConsentDoc, ConsentRecord, FileDoc, IdentityDoc, StatementDoc};
use super::manifest::{self, Digest, FileDigest, Manifest, SignedAddition, SignedManifest};
use super::receipt::Receipt;
use super::triage::Triage;
use super::workflow::WorkflowState;
use super::{CaseError, Cases, failed};

/// Where new statements go: the default desk's current key, and recovery.
#[derive(Clone)]
pub struct DeskTarget {
    pub desk: DeskId,
    pub generation: u32,
    pub desk_recipient: Recipient,
    pub recovery: Recipient,
}

impl DeskTarget {
    /// What files are sealed to while they stream in.
    pub fn recipients(&self) -> Vec<Recipient> {
        vec![self.desk_recipient.clone(), self.recovery.clone()]
    }
}

/// A file as received, sealed but not yet committed.
pub struct NewFile {
    /// The form slot it came from (0-based).
    pub slot: usize,
    pub name: String,
    pub declared_type: String,
    pub metadata_choice: String,
    pub sealed: SealedFile,
}

/// A statement as the form produced it, ready to seal.
pub struct NewStatement {
    pub fields: Map<String, Value>,
    pub identity_fields: Map<String, Value>,
    pub consent: Vec<ConsentRecord>,
    pub files: Vec<NewFile>,
    pub form_language: &'static str,
}

/// Who is filing.
pub enum Intake {
    /// A witness, through the public form: logged by day only.
    Web,
    /// An investigator on a witness's behalf: audited first, like any
    /// reviewer-side action.
    Assisted { by: AccountName },
}

/// One file as the witness is shown it: index, name, size, SHA-256,
/// whether a cleaned copy was made, and whether one was asked for but
/// could not be made (why).
#[derive(Clone, Debug)]
pub struct FiledFile {
    pub index: usize,
    pub name: String,
    pub bytes: u64,
    pub sha256: String,
    pub cleaned: bool,
    pub clean_refused: Option<String>,
}

/// What the receipt page shows.
pub struct Filed {
    pub receipt: Receipt,
    pub id: String,
    pub day: String,
    pub manifest: SignedManifest,
    pub files: Vec<FiledFile>,
}

/// What the page for files added through the receipt shows: the
/// addition's number and day, each file, and the signed proof.
pub struct Added {
    pub id: String,
    pub day: String,
    pub sequence: usize,
    pub files: Vec<FiledFile>,
    pub proof: SignedAddition,
}

/// How a statement came in, as its record keeps it (clear metadata).
struct Origin {
    channel: Channel,
    filed_by: Option<String>,
    example: bool,
}

/// Files made durable: their records and their sealed descriptions.
pub(super) struct Committed {
    pub records: Vec<FileRecord>,
    pub docs: Vec<FileDoc>,
}

impl Committed {
    pub fn shown(&self) -> Vec<FiledFile> {
        shown(&self.docs)
    }

    pub fn digests(&self) -> Vec<FileDigest> {
        digests(&self.docs)
    }

    /// The descriptions numbered from `first` (1-based).
    pub fn numbered_from(&self, first: usize) -> Vec<FileDoc> {
        let mut docs = self.docs.clone();
        for (offset, doc) in docs.iter_mut().enumerate() {
            doc.index = first + offset;
        }
        docs
    }
}

/// The files as the witness is shown them.
pub(super) fn shown(docs: &[FileDoc]) -> Vec<FiledFile> {
    docs.iter()
        .map(|d| FiledFile {
            index: d.index,
            name: d.name.clone(),
            bytes: d.bytes,
            sha256: d.sha256.clone(),
            cleaned: d.cleaned_copy.is_some(),
            clean_refused: d.cleaned_copy_refused.clone(),
        })
        .collect()
}

/// The files as a signed manifest or addition lists them.
pub(super) fn digests(docs: &[FileDoc]) -> Vec<FileDigest> {
    docs.iter().map(|d| FileDigest { index: d.index, bytes: d.bytes, sha256: d.sha256.clone() }).collect()
}

/// Commits sealed uploads (fsync, rename), numbering them from `first_index`.
pub(super) fn commit_files(
    store: &Store,
    files: Vec<NewFile>,
    today: Day,
    first_index: usize,
) -> Result<Committed, CaseError> {
    let mut out = Committed { records: Vec::new(), docs: Vec::new() };
    for (offset, file) in files.into_iter().enumerate() {
        let index = first_index + offset;
        let NewFile { slot, name, declared_type, metadata_choice, sealed } = file;
        let original = store.objects().commit(sealed.original)?;
        let (cleaned_id, cleaned_copy) = match sealed.cleaned {
            Some((stream, bytes, sha256)) => {
                (Some(store.objects().commit(stream)?), Some(CleanedCopy { bytes, sha256 }))
            }
            None => (None, None),
        };
        out.records.push(FileRecord { object: original, bytes: sealed.bytes, cleaned: cleaned_id, added: today });
        out.docs.push(FileDoc {
            index,
            slot: slot + 1,
            name,
            declared_type,
            bytes: sealed.bytes,
            sha256: sealed.sha256,
            metadata_choice,
            cleaned_copy,
            cleaned_copy_refused: sealed.clean_refused.map(str::to_string),
        });
    }
    Ok(out)
}

/// Removes committed objects that no record will name (a filing that
/// failed after its files were committed).
pub(super) fn discard(store: &Store, records: &[FileRecord]) {
    for file in records {
        for object in std::iter::once(&file.object).chain(file.cleaned.as_ref()) {
            if let Err(e) = store.objects().remove(object) {
                tracing::error!(error = %e, "could not remove a file of a failed filing");
            }
        }
    }
}

impl Cases {
    /// Where new statements are sealed to: the default desk's current key.
    pub fn intake_target(&self) -> Result<DeskTarget, CaseError> {
        let server = self.store.server()?;
        let desk = self.store.desk(&server.default_desk)?.ok_or_else(|| failed("no default desk"))?;
        let key = desk.current_key().ok_or_else(|| failed("the default desk has no key"))?;
        Ok(DeskTarget {
            desk: desk.id.clone(),
            generation: key.generation,
            desk_recipient: key.recipient.clone(),
            recovery: server.recovery_recipient,
        })
    }

    /// Files a new statement. When this returns, the statement and every
    /// file are durable and the receipt may be shown.
    pub fn file(&self, target: DeskTarget, statement: NewStatement, intake: Intake) -> Result<Filed, CaseError> {
        self.file_as(target, statement, intake, false)
    }

    /// Files a made-up example statement, marked as such in its record
    /// (clear metadata), so every page that shows it says it is an example.
    /// Only `testimony demo` calls this, in its throwaway data directory:
    /// nothing a witness or reviewer sends can make an example.
    pub(crate) fn file_example(
        &self,
        target: DeskTarget,
        statement: NewStatement,
        intake: Intake,
    ) -> Result<Filed, CaseError> {
        self.file_as(target, statement, intake, true)
    }

    fn file_as(
        &self,
        target: DeskTarget,
        statement: NewStatement,
        intake: Intake,
        example: bool,
    ) -> Result<Filed, CaseError> {
        let id = random_hex_id();
        let today = self.clock.today();
        let (channel, filed_by, audited) = match &intake {
            Intake::Web => (Channel::Web, None, None),
            Intake::Assisted { by } => {
                let entry = NewEntry::by(Actor::Account(by.to_string()), Event::StatementReceived { assisted: true })
                    .on(id.as_str());
                (Channel::Assisted, Some(by.to_string()), Some(entry))
            }
        };
        if let Some(entry) = &audited {
            self.audit_first(vec![entry.clone()])?;
        }
        let filed = self.seal_and_store(id, today, target, statement, Origin { channel, filed_by, example });
        if filed.is_err()
            && let Some(entry) = audited
        {
            self.audit_failed(vec![entry]);
        }
        filed
    }

    fn seal_and_store(
        &self,
        id: String,
        today: Day,
        target: DeskTarget,
        statement: NewStatement,
        origin: Origin,
    ) -> Result<Filed, CaseError> {
        let Origin { channel, filed_by, example } = origin;
        let NewStatement { fields, identity_fields, consent, files, form_language } = statement;
        let receipt = Receipt::generate();
        let witness_salt = Salt::generate();
        let witness_recipient = receipt.witness_identity(&witness_salt).recipient();

        let committed = commit_files(&self.store, files, today, 1)?;
        let stored = (|| {
            let doc = StatementDoc {
                format: StatementDoc::FORMAT.into(),
                submission: id.clone(),
                received: today.to_string(),
                channel,
                form_language: form_language.into(),
                fields,
                files: committed.docs.clone(),
            };
            let statement_bytes = zeroize::Zeroizing::new(serde_json::to_vec(&doc).map_err(failed)?);
            let desk_and_recovery = [&target.desk_recipient, &target.recovery];
            let with_witness = [&target.desk_recipient, &target.recovery, &witness_recipient];
            let sealed_statement = crate::crypto::seal_to(&statement_bytes, &desk_and_recovery)?;
            let triage = arrival_triage(&doc.fields, Some(&identity_fields))
                .map(|t| documents::seal(&t, &desk_and_recovery))
                .transpose()?;
            let identity = if identity_fields.is_empty() {
                None
            } else {
                let doc = IdentityDoc { format: IdentityDoc::FORMAT.into(), fields: identity_fields };
                Some(documents::seal(&doc, &desk_and_recovery)?)
            };
            let consent = documents::seal(&ConsentDoc::new(consent), &with_witness)?;
            let signed = SignedManifest::sign(
                Manifest {
                    format: manifest::FORMAT.into(),
                    submission: id.clone(),
                    received: today.to_string(),
                    statement: Digest {
                        bytes: statement_bytes.len() as u64,
                        sha256: hex(&Sha256::digest(&statement_bytes[..])),
                    },
                    files: committed.digests(),
                },
                &self.store.signing_key()?,
            );
            let sealed_manifest = crate::crypto::seal_to(signed.to_file_text().as_bytes(), &with_witness)?;
            let record = SubmissionRecord {
                id: id.clone(),
                desk: target.desk.clone(),
                key_generation: target.generation,
                received: today,
                state: WorkflowState::Received,
                channel,
                statement: Some(sealed_statement),
                identity,
                consent: vec![consent],
                manifest: Some(sealed_manifest),
                additions: Vec::new(),
                files: committed.records.clone(),
                witness_salt,
                witness_recipient,
                thread: Vec::new(),
                triage,
                filed_by,
                version: 0,
                example,
                state_since: None,
            };
            let lookup_key = self.store.receipt_lookup_key()?;
            // A witness's own submission is logged by day only (see
            // audit::witness); an assisted one was audited by `file`.
            let event = (channel == Channel::Web)
                .then(|| witness::deferred(today, Event::StatementReceived { assisted: false }, &id));
            self.store.insert_submission(&record, &receipt.lookup(&lookup_key), event.as_deref())?;
            Ok::<_, CaseError>(signed)
        })();
        match stored {
            Ok(manifest) => Ok(Filed { receipt, id, day: today.to_string(), manifest, files: committed.shown() }),
            Err(e) => {
                discard(&self.store, &committed.records);
                Err(e)
            }
        }
    }
}

/// The safety flags and priority a statement arrives with, from the
/// witness's own answers, so that a witness at risk is never left at
/// "normal" until someone reads the whole statement. `None`: nothing to
/// flag.
pub(super) fn arrival_triage(fields: &Map<String, Value>, identity: Option<&Map<String, Value>>) -> Option<Triage> {
    let answer = |name: &str| -> &str {
        identity.and_then(|m| m.get(name)).or_else(|| fields.get(name)).and_then(Value::as_str).unwrap_or("").trim()
    };
    let mut triage = Triage::default();
    let at_risk = !answer("at_risk").is_empty();
    if at_risk {
        // The form asks "I am at risk of detention or deportation now".
        triage.flags.insert("risk_to_witness".into());
        triage.flags.insert("deportation_risk".into());
    }
    if answer("family_in_prc") == "yes" {
        triage.flags.insert("family_in_prc".into());
    }
    if !answer("threats_received").is_empty() {
        triage.flags.insert("transnational_repression".into());
    }
    if answer("act_sexual_violence") == "yes" {
        triage.flags.insert("sexual_violence".into());
    }
    // The witness was under 18 at the time, or a child is among the people
    // described. "Not sure" and no answer set nothing.
    if answer("minor_involved") == "yes" {
        triage.flags.insert("minor_involved".into());
    }
    if triage.flags.is_empty() {
        return None;
    }
    // Every flag above means at least high. A child's case, in particular,
    // needs safeguarding steps (who may contact the witness and how, who
    // else may learn of it, a reviewer experienced with children) decided
    // before the ordinary review, so it must not wait at "normal".
    triage.priority = if at_risk { "urgent" } else { "high" }.into();
    Some(triage)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn safety_answers_set_flags_and_priority_on_arrival() {
        let none = Map::new();
        assert!(arrival_triage(&none, None).is_none(), "nothing to flag: normal, no flags");
        let mut identity = Map::new();
        identity.insert("family_in_prc".into(), json!("yes"));
        identity.insert("threats_received".into(), json!("calls to my mother"));
        let t = arrival_triage(&none, Some(&identity)).unwrap();
        assert_eq!(t.priority, "high");
        assert!(t.flags.contains("family_in_prc") && t.flags.contains("transnational_repression"));
        identity.insert("at_risk".into(), json!("yes"));
        let mut fields = Map::new();
        fields.insert("act_sexual_violence".into(), json!("yes"));
        let t = arrival_triage(&fields, Some(&identity)).unwrap();
        assert_eq!(t.priority, "urgent");
        assert!(t.flags.contains("risk_to_witness") && t.flags.contains("deportation_risk"));
        assert!(t.flags.contains("sexual_violence"));
    }

    #[test]
    fn a_child_involved_raises_priority_to_high_and_never_lowers_urgent() {
        let none = Map::new();
        let minor = |answer: &str| {
            let mut identity = Map::new();
            identity.insert("minor_involved".into(), json!(answer));
            identity
        };
        let t = arrival_triage(&none, Some(&minor("yes"))).unwrap();
        assert_eq!(t.priority, "high");
        assert!(t.flags.contains("minor_involved"));
        assert!(arrival_triage(&none, Some(&minor("no"))).is_none());
        assert!(arrival_triage(&none, Some(&minor("not_sure"))).is_none());
        let mut at_risk = minor("yes");
        at_risk.insert("at_risk".into(), json!("yes"));
        assert_eq!(arrival_triage(&none, Some(&at_risk)).unwrap().priority, "urgent");
    }
}
