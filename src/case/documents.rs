//! The sealed documents of a statement, as types. Each is serialized to
//! JSON, sealed with age and stored in its own field of the record, so that
//! it can be opened, resealed (a move) or purged (a withdrawal) on its own.
//! Their JSON is the export format too: `testimony export` writes what
//! these types serialize to.
//!
//! [`open`] and [`seal`] are the only way in and out: plaintext lives in
//! zeroizing buffers while it is JSON.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use zeroize::Zeroizing;

use crate::crypto::{self, Opener, Recipient, Sealed};
use crate::storage::Channel;

/// Why a sealed document could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum DocumentError {
    #[error(transparent)]
    Open(#[from] crypto::OpenError),
    #[error(transparent)]
    Seal(#[from] crypto::SealError),
    /// The plaintext is not the document expected; the detail names the
    /// kind of problem, never the content.
    #[error("a sealed document has an unexpected shape")]
    Shape,
}

/// Opens a sealed document with `key` and reads it as a `T`.
pub fn open<T: DeserializeOwned>(sealed: &Sealed, key: &dyn Opener) -> Result<T, DocumentError> {
    let plain = crypto::open(sealed.as_bytes(), key)?;
    serde_json::from_slice(plain.as_bytes()).map_err(|_| DocumentError::Shape)
}

/// Seals a document to every recipient given.
pub fn seal<T: Serialize>(doc: &T, to: &[&Recipient]) -> Result<Sealed, DocumentError> {
    let bytes = Zeroizing::new(serde_json::to_vec(doc).map_err(|_| DocumentError::Shape)?);
    Ok(crypto::seal_to(&bytes, to)?)
}

/// The form as the witness filled it in, and the files they sent.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct StatementDoc {
    /// `testimony-statement-v1`.
    pub format: String,
    pub submission: String,
    pub received: String,
    pub channel: Channel,
    pub form_language: String,
    /// Field name → value (text) or values (multiple choice), as the form
    /// schema defines them; identity fields are in [`IdentityDoc`].
    pub fields: Map<String, Value>,
    pub files: Vec<FileDoc>,
}

impl StatementDoc {
    pub const FORMAT: &'static str = "testimony-statement-v1";

    /// One text field's value ("" if absent).
    pub fn text(&self, name: &str) -> &str {
        self.fields.get(name).and_then(Value::as_str).unwrap_or("")
    }

    /// A multiple-choice field's codes.
    pub fn codes(&self, name: &str) -> Vec<String> {
        strings(self.fields.get(name))
    }
}

/// Names, contact and safety details (DOMAIN.md's S2/S3), sealed apart so
/// they can go first.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct IdentityDoc {
    /// `testimony-identity-v1`.
    pub format: String,
    pub fields: Map<String, Value>,
}

impl IdentityDoc {
    pub const FORMAT: &'static str = "testimony-identity-v1";
}

/// The values of a field as strings (a text or a list of codes).
pub fn strings(value: Option<&Value>) -> Vec<String> {
    match value {
        Some(Value::Array(items)) => items.iter().filter_map(|i| i.as_str().map(str::to_string)).collect(),
        Some(Value::String(s)) => vec![s.clone()],
        _ => Vec::new(),
    }
}

/// What is known of one file (inside the sealed statement or thread item).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct FileDoc {
    /// 1-based, in the order files reached the statement.
    pub index: usize,
    /// The form slot it came from (1-based).
    pub slot: usize,
    /// The file name the witness's device gave (may name people).
    pub name: String,
    pub declared_type: String,
    pub bytes: u64,
    pub sha256: String,
    pub metadata_choice: String,
    pub cleaned_copy: Option<CleanedCopy>,
    #[serde(default)]
    pub cleaned_copy_refused: Option<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CleanedCopy {
    pub bytes: u64,
    pub sha256: String,
}

/// Whom a consent is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    StoreAndReview,
    Share,
    AggregateStatistics,
    PublicUse,
    TestifyPublicly,
    IdentifyAs,
    ContactAgain,
    AskAgainMonths,
}

/// One consent decision. A change never rewrites a record: the old one is
/// revoked (dated) and a new one granted, so the history stays.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsentRecord {
    pub scope: Scope,
    /// `organization`, `partners`, `official_bodies` or `public`.
    pub recipient: String,
    /// The answer, in the scope's vocabulary (`no`, `anonymised`, …).
    pub level: String,
    pub granted_at: String,
    pub text_version: String,
    pub revoked_at: Option<String>,
}

/// Every consent decision of a statement, the current and the revoked.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct ConsentDoc {
    /// `testimony-consent-v1`.
    pub format: String,
    pub records: Vec<ConsentRecord>,
}

/// How far sharing with partners or official bodies may go.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Sharing {
    No,
    Anonymised,
    WithIdentity,
}

impl Sharing {
    pub fn parse(level: &str) -> Option<Sharing> {
        match level {
            "no" => Some(Sharing::No),
            "anonymised" => Some(Sharing::Anonymised),
            "with_identity" => Some(Sharing::WithIdentity),
            _ => None,
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Sharing::No => "no",
            Sharing::Anonymised => "anonymised",
            Sharing::WithIdentity => "with_identity",
        }
    }
}

impl ConsentDoc {
    pub const FORMAT: &'static str = "testimony-consent-v1";

    pub fn new(records: Vec<ConsentRecord>) -> ConsentDoc {
        ConsentDoc { format: Self::FORMAT.into(), records }
    }

    /// The level in force for a scope and recipient (`None`: never
    /// answered, or revoked without a new answer).
    pub fn level(&self, scope: Scope, recipient: &str) -> Option<&str> {
        self.records
            .iter()
            .find(|r| r.scope == scope && r.recipient == recipient && r.revoked_at.is_none())
            .map(|r| r.level.as_str())
    }

    /// The level in force, or the most protective answer when there is none.
    pub fn level_or_no(&self, scope: Scope, recipient: &str) -> &str {
        self.level(scope, recipient).unwrap_or("no")
    }

    /// How far sharing with `recipient` (`partners`, `official_bodies`) may go.
    pub fn sharing(&self, recipient: &str) -> Sharing {
        self.level(Scope::Share, recipient).and_then(Sharing::parse).unwrap_or(Sharing::No)
    }

    /// Whether the witness agreed to aggregate statistics.
    pub fn allows_statistics(&self) -> bool {
        self.level(Scope::AggregateStatistics, "organization") == Some("yes")
    }

    /// The next version: each changed scope revoked and granted anew.
    /// Returns `None` when nothing changes.
    pub fn with_changes(&self, changes: &[(Scope, &str, String)], today: &str, text_version: &str) -> Option<Self> {
        let mut next = self.clone();
        let mut changed = false;
        for (scope, recipient, level) in changes {
            if self.level_or_no(*scope, recipient) == level.as_str() {
                continue;
            }
            changed = true;
            for r in next.records.iter_mut() {
                if r.scope == *scope && r.recipient == *recipient && r.revoked_at.is_none() {
                    r.revoked_at = Some(today.to_string());
                }
            }
            next.records.push(ConsentRecord {
                scope: *scope,
                recipient: recipient.to_string(),
                level: level.clone(),
                granted_at: today.to_string(),
                text_version: text_version.to_string(),
                revoked_at: None,
            });
        }
        changed.then_some(next)
    }

    /// Every decision revoked as of `today` (a withdrawal).
    pub fn all_revoked(&self, today: &str) -> ConsentDoc {
        let mut next = self.clone();
        for r in next.records.iter_mut().filter(|r| r.revoked_at.is_none()) {
            r.revoked_at = Some(today.to_string());
        }
        next
    }
}

/// What an item of a statement's thread says.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MessageKind {
    /// A reviewer's reply to the witness.
    Reply,
    /// The witness's answer.
    Answer,
    /// Files the witness added later.
    Files,
}

/// One item of the thread, sealed to the desk, recovery and witness keys.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ThreadMessage {
    pub kind: MessageKind,
    pub text: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<FileDoc>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(scope: Scope, recipient: &str, level: &str, revoked: Option<&str>) -> ConsentRecord {
        ConsentRecord {
            scope,
            recipient: recipient.into(),
            level: level.into(),
            granted_at: "2026-11-01".into(),
            text_version: "t".into(),
            revoked_at: revoked.map(str::to_string),
        }
    }

    #[test]
    fn a_consent_change_revokes_and_grants_anew_and_keeps_history() {
        let doc = ConsentDoc::new(vec![record(Scope::Share, "partners", "anonymised", None)]);
        assert_eq!(doc.sharing("partners"), Sharing::Anonymised);
        assert_eq!(doc.sharing("official_bodies"), Sharing::No, "unanswered is the most protective");
        let same = [(Scope::Share, "partners", "anonymised".to_string())];
        assert!(doc.with_changes(&same, "2026-11-29", "t").is_none());
        let wider = [(Scope::Share, "partners", "with_identity".to_string())];
        let next = doc.with_changes(&wider, "2026-11-29", "t").unwrap();
        assert_eq!(next.records.len(), 2);
        assert_eq!(next.records[0].revoked_at.as_deref(), Some("2026-11-29"));
        assert_eq!(next.sharing("partners"), Sharing::WithIdentity);
        assert!(next.all_revoked("2026-11-30").records.iter().all(|r| r.revoked_at.is_some()));
    }

    #[test]
    fn stored_documents_keep_their_json_shape() {
        let message = ThreadMessage { kind: MessageKind::Reply, text: "thank you".into(), files: vec![] };
        assert_eq!(serde_json::to_value(&message).unwrap(), serde_json::json!({"kind": "reply", "text": "thank you"}));
        let consent: ConsentRecord = serde_json::from_value(serde_json::json!({
            "scope": "aggregate_statistics", "recipient": "organization", "level": "yes",
            "granted_at": "2026-11-29", "text_version": "consent-en-2026-11", "revoked_at": null
        }))
        .unwrap();
        assert_eq!(consent.scope, Scope::AggregateStatistics);
    }
}
