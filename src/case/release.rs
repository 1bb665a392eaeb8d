//! Releasing content to a reader: the statement page, a file download, a
//! case bundle for a partner, aggregate statistics. Each takes an
//! [`audit::Permit`] for what it releases, and a permit exists only once
//! its audit entry is durable: content cannot leave before the log says
//! who took it. A permit for one statement does not open another.

use std::io::{Read, Write};

use serde_json::{Value, json};

use crate::audit::{self, Actor, Event, ExportKind, NewEntry, Outcome, Permit};
use crate::crypto::{self, SealingWriter};
use crate::i18n::Message;
use crate::storage::{Author, Channel, ObjectId, Partner, StatementRecords};

use super::access::Reader;
use super::documents::{self, ConsentDoc, FileDoc, IdentityDoc, MessageKind, Sharing, StatementDoc, ThreadMessage};
use super::manifest::SignedAddition;
use super::triage::{self, Triage};
use super::{Authorized, CaseError, Cases, entry_by, failed};

/// One item of the thread as a reviewer reads it.
pub struct ThreadRow {
    pub from_reviewer: bool,
    pub day: String,
    pub text: String,
    /// Names of files the witness added with this item.
    pub files: Vec<String>,
    pub unread: bool,
}

/// Everything the statement page shows, decrypted.
pub struct StatementView {
    pub statement: Option<StatementDoc>,
    pub identity: Option<IdentityDoc>,
    pub consent: ConsentDoc,
    /// Every file: the form's, then those added through the receipt.
    pub files: Vec<FileDoc>,
    /// The signed proof of each addition of files, in order.
    pub additions: Vec<SignedAddition>,
    pub thread: Vec<ThreadRow>,
    pub triage: Triage,
    /// The desk's members (account names), for assignment.
    pub members: Vec<String>,
    /// The widest publication decision the consent allows.
    pub widest_publication: &'static str,
}

/// A file being downloaded: plaintext read from the sealed object.
pub struct Download {
    pub reader: Box<dyn Read + Send>,
    /// The plaintext size when on record (originals).
    pub len: Option<u64>,
    /// `3` or `3-clean`, for the file name.
    pub label: String,
}

/// What a case bundle will hold, decided before anything is released.
pub struct BundlePlan {
    partner: Partner,
    sharing: Sharing,
}

impl BundlePlan {
    pub fn partner_id(&self) -> &str {
        &self.partner.id
    }
}

fn check(permit: &Permit, statement: &Authorized) -> Result<(), CaseError> {
    if permit.covers(statement.id()) { Ok(()) } else { Err(failed("an audit permit for another statement")) }
}

impl Cases {
    /// Audits a reading of the statement page.
    pub fn permit_view(&self, statement: &Authorized) -> Result<Permit, CaseError> {
        self.permit(entry_by(&statement.reader, Event::StatementViewed, statement.id()))
    }

    /// The statement page's content. The witness's new messages are marked
    /// seen by a reviewer.
    pub fn view(&self, statement: &Authorized, permit: &Permit) -> Result<StatementView, CaseError> {
        check(permit, statement)?;
        let record = &statement.record;
        let key = statement.key.as_ref();
        let doc: Option<StatementDoc> = record.statement.as_ref().and_then(|s| documents::open(s, key).ok());
        let identity: Option<IdentityDoc> = record.identity.as_ref().and_then(|s| documents::open(s, key).ok());
        let mut files: Vec<FileDoc> = doc.iter().flat_map(|d| d.files.iter().cloned()).collect();
        let mut thread = Vec::new();
        for item in &record.thread {
            let Ok(message) = documents::open::<ThreadMessage>(&item.message, key) else { continue };
            if message.kind == MessageKind::Files {
                files.extend(message.files.iter().cloned());
            }
            thread.push(ThreadRow {
                from_reviewer: item.author == Author::Reviewer,
                day: item.day.to_string(),
                files: message.files.into_iter().map(|f| f.name).collect(),
                text: message.text,
                unread: item.unread,
            });
        }
        let additions = record.additions.iter().filter_map(|s| documents::open(s, key).ok()).collect();
        let consent = self.consent_of(record, statement);
        let members = self
            .store
            .desk_members(&record.desk, record.key_generation)
            .unwrap_or_default()
            .iter()
            .map(ToString::to_string)
            .collect();
        if record.thread.iter().any(|i| i.unread && i.author == Author::Witness) {
            let seen = self.store.modify_submission(statement.id(), &[], &mut |fresh| {
                for item in fresh.thread.iter_mut().filter(|i| i.author == Author::Witness) {
                    item.unread = false;
                }
                Ok(())
            });
            if let Err(e) = seen {
                tracing::error!(error = %e, "could not mark the witness's messages seen");
            }
        }
        Ok(StatementView {
            widest_publication: triage::PUBLICATION[triage::widest_publication_allowed(&consent)],
            triage: self.triage_of(record, statement),
            statement: doc,
            identity,
            consent,
            files,
            additions,
            thread,
            members,
        })
    }

    /// The object behind file `index` (1-based), or its cleaned copy.
    fn file_object(
        &self,
        statement: &Authorized,
        index: usize,
        clean: bool,
    ) -> Result<(ObjectId, Option<u64>), CaseError> {
        let file = index.checked_sub(1).and_then(|i| statement.record.files.get(i)).ok_or(CaseError::NotFound)?;
        match (clean, &file.cleaned) {
            (false, _) => Ok((file.object.clone(), Some(file.bytes))),
            // A cleaned copy's size is inside the sealed statement.
            (true, Some(cleaned)) => Ok((cleaned.clone(), None)),
            (true, None) => Err(CaseError::NotFound),
        }
    }

    /// Audits a download of file `index` (or its cleaned copy).
    pub fn permit_download(&self, statement: &Authorized, index: usize, clean: bool) -> Result<Permit, CaseError> {
        self.file_object(statement, index, clean)?;
        let file = if clean { format!("{index}-clean") } else { index.to_string() };
        self.permit(entry_by(&statement.reader, Event::FileDownloaded { file }, statement.id()))
    }

    /// Opens file `index` for reading, decrypting as it is read.
    pub fn download(
        &self,
        statement: &Authorized,
        index: usize,
        clean: bool,
        permit: &Permit,
    ) -> Result<Download, CaseError> {
        check(permit, statement)?;
        let (object, len) = self.file_object(statement, index, clean)?;
        let sealed = self.store.objects().read(&object).map_err(|_| CaseError::NotFound)?;
        let reader = crypto::open_stream(sealed, statement.key.as_ref()).map_err(failed)?;
        let label = if clean { format!("{index}-clean") } else { index.to_string() };
        Ok(Download { reader: Box::new(reader), len, label })
    }

    /// Decides whether a case bundle for `partner_id` at `level` may be
    /// made. A refusal by consent is audited (denied) and says why.
    pub fn plan_bundle(&self, statement: &Authorized, partner_id: &str, level: &str) -> Result<BundlePlan, CaseError> {
        let partner =
            self.store.partner(partner_id)?.ok_or_else(|| CaseError::Refused(Message::new("case-choose-partner")))?;
        let sharing = match Sharing::parse(level) {
            Some(s @ (Sharing::Anonymised | Sharing::WithIdentity)) => s,
            _ => return Err(CaseError::Refused(Message::new("case-choose-level"))),
        };
        let allowed = self.consent_of(&statement.record, statement).sharing("partners");
        if statement.record.state.is_final() || sharing > allowed {
            let export = ExportKind::CaseBundle;
            let refused = entry_by(
                &statement.reader,
                Event::ExportRefused { export, partner: Some(partner.id.clone()) },
                statement.id(),
            )
            .outcome(Outcome::Denied);
            if self.audit.append(refused).is_err() {
                return Err(CaseError::AuditUnavailable);
            }
            let why = match allowed {
                Sharing::No => Message::new("case-not-exported-no-consent"),
                a => Message::new("case-not-exported-level").arg("level", a.code()),
            };
            return Err(CaseError::OutsideConsent(why));
        }
        Ok(BundlePlan { partner, sharing })
    }

    /// Audits a case bundle's export.
    pub fn permit_bundle(&self, statement: &Authorized, plan: &BundlePlan) -> Result<Permit, CaseError> {
        let export = ExportKind::CaseBundle;
        let partner = Some(plan.partner.id.clone());
        self.permit(entry_by(&statement.reader, Event::ExportMade { export, partner }, statement.id()))
    }

    /// Writes the case bundle, sealed to the partner's key, into `out`.
    ///
    /// Layout (after age decryption): one line of JSON (the header, whose
    /// `files` give each file's size), then the files' bytes one after
    /// another in that order.
    pub fn write_bundle(
        &self,
        statement: &Authorized,
        plan: &BundlePlan,
        permit: &Permit,
        out: impl Write,
    ) -> Result<(), CaseError> {
        check(permit, statement)?;
        let record = &statement.record;
        let key = statement.key.as_ref();
        let mut doc: Option<StatementDoc> = record.statement.as_ref().and_then(|s| documents::open(s, key).ok());
        let with_identity = plan.sharing == Sharing::WithIdentity;
        let identity: Option<IdentityDoc> =
            if with_identity { record.identity.as_ref().and_then(|s| documents::open(s, key).ok()) } else { None };
        let manifest: Option<Value> = record.manifest.as_ref().and_then(|s| documents::open(s, key).ok());
        let additions: Vec<SignedAddition> =
            record.additions.iter().filter_map(|s| documents::open(s, key).ok()).collect();
        // Each file's SHA-256 by its index: the form's from the statement,
        // those added later from their signed proofs.
        let hashes: std::collections::HashMap<usize, String> = doc
            .iter()
            .flat_map(|d| d.files.iter().map(|f| (f.index, f.sha256.clone())))
            .chain(additions.iter().flat_map(|a| a.addition.files.iter().map(|f| (f.index, f.sha256.clone()))))
            .collect();
        if !with_identity && let Some(d) = doc.as_mut() {
            // File names can name people and places; an anonymised bundle
            // carries only numbers, sizes and hashes.
            for f in &mut d.files {
                f.name = String::new();
            }
        }
        let excerpt: Vec<Value> = audit::read_records(&audit::log_path(self.store.dir()))
            .unwrap_or_default()
            .into_iter()
            .filter(|r| matches!(&r.body, audit::Body::Entry { object: Some(o), .. } if o == statement.id()))
            .filter_map(|r| serde_json::to_value(r).ok())
            .collect();
        let header = json!({
            "format": "testimony-case-bundle-v1",
            "partner": plan.partner.name,
            "level": plan.sharing.code(),
            "statement": doc,
            "identity": identity,
            "manifest": manifest,
            "additions": additions,
            "audit_excerpt": excerpt,
            "files": record.files.iter().enumerate().map(|(i, f)| json!({
                "index": i + 1,
                "bytes": f.bytes,
                "sha256": hashes.get(&(i + 1)),
            })).collect::<Vec<_>>(),
        });
        let write = || -> std::io::Result<()> {
            let mut out = SealingWriter::new(out, &[&plan.partner.recipient]).map_err(std::io::Error::other)?;
            out.write_all(header.to_string().as_bytes())?;
            out.write_all(b"\n")?;
            for file in &record.files {
                let sealed = self.store.objects().read(&file.object).map_err(std::io::Error::other)?;
                let mut plain = crypto::open_stream(sealed, key).map_err(std::io::Error::other)?;
                std::io::copy(&mut plain, &mut out)?;
            }
            out.finish()?;
            Ok(())
        };
        write().map_err(failed)
    }

    /// Audits an aggregate statistics export.
    pub fn permit_aggregate(&self, reader: &Reader) -> Result<Permit, CaseError> {
        let event = Event::ExportMade { export: ExportKind::Aggregate, partner: None };
        self.permit(NewEntry::by(Actor::Account(reader.account().to_string()), event))
    }

    /// Aggregate statistics as CSV: S0 codes only, of the statements the
    /// reader can open whose witnesses consented to statistics.
    pub fn aggregate_csv(&self, reader: &Reader, permit: &Permit) -> Result<String, CaseError> {
        if !permit.is_general() {
            return Err(failed("an audit permit for one statement"));
        }
        let mut csv = String::from("received_month,channel,state,roles,acts,regions\n");
        for record in self.store.submissions().filter_map(Result::ok) {
            let Some(key) = reader.key_for(&record) else { continue };
            let consent: ConsentDoc =
                record.consent.last().and_then(|s| documents::open(s, key.as_ref()).ok()).unwrap_or_default();
            if !consent.allows_statistics() || record.state.is_final() {
                continue;
            }
            let Some(doc) =
                record.statement.as_ref().and_then(|s| documents::open::<StatementDoc>(s, key.as_ref()).ok())
            else {
                continue;
            };
            let roles = doc.codes("role").join(";");
            let acts: Vec<&str> =
                crate::intake::schema::act_codes().filter(|code| doc.text(&format!("act_{code}")) == "yes").collect();
            let regions: Vec<String> =
                (1..=5).map(|i| doc.text(&format!("place{i}_region")).to_string()).filter(|r| !r.is_empty()).collect();
            let month: String = record.received.to_string().chars().take(7).collect();
            let channel = match record.channel {
                Channel::Web => "web",
                Channel::Assisted => "assisted",
            };
            let cells = [month.as_str(), channel, record.state.code(), &roles, &acts.join(";"), &regions.join(";")];
            csv.push_str(&cells.iter().map(|c| cell(c)).collect::<Vec<_>>().join(","));
            csv.push('\n');
        }
        Ok(csv)
    }
}

/// One CSV cell: codes only (S0), but quoted anyway.
fn cell(value: &str) -> String {
    format!("\"{}\"", value.replace('"', "\"\""))
}
