//! Who may act on which statement, decided in one place.
//!
//! A [`Reader`] is an account with the desk keys its session unlocked.
//! [`Cases::authorize`] turns a statement id into an [`Authorized`]
//! statement only when the reader holds the key of the statement's desk
//! and key generation; for anyone else, and for ids that do not exist, the
//! answer is the same `NotFound`. Membership is cryptographic: without the
//! key there is no plaintext, and no `Authorized` either.

use std::collections::HashMap;
use std::sync::Arc;

use crate::crypto::DeskIdentity;
use crate::storage::{AccountName, DeskId, StatementRecords, SubmissionRecord};

use super::{CaseError, Cases};

/// Desk keys by desk, each generation with its key.
pub type DeskKeys = HashMap<DeskId, Vec<(u32, Arc<DeskIdentity>)>>;

/// An account and the desk keys it holds right now.
#[derive(Clone)]
pub struct Reader {
    account: AccountName,
    desks: DeskKeys,
}

impl Reader {
    pub fn new(account: AccountName, desks: DeskKeys) -> Reader {
        Reader { account, desks }
    }

    pub fn account(&self) -> &AccountName {
        &self.account
    }

    /// The key for one generation of a desk, if this reader holds it.
    pub fn desk_key(&self, desk: &DeskId, generation: u32) -> Option<Arc<DeskIdentity>> {
        self.desks.get(desk)?.iter().find(|(g, _)| *g == generation).map(|(_, k)| k.clone())
    }

    pub fn is_member(&self, desk: &DeskId) -> bool {
        self.desks.contains_key(desk)
    }

    /// The key that opens this record, if the reader holds it.
    pub(super) fn key_for(&self, record: &SubmissionRecord) -> Option<Arc<DeskIdentity>> {
        self.desk_key(&record.desk, record.key_generation)
    }
}

/// A statement its reader may act on, as it was read, with the key that
/// opens it. Made only by [`Cases::authorize`].
pub struct Authorized {
    pub(super) record: SubmissionRecord,
    pub(super) key: Arc<DeskIdentity>,
    pub(super) reader: Reader,
}

impl Authorized {
    pub fn id(&self) -> &str {
        &self.record.id
    }

    /// The clear metadata of the record (state, desk, day, sizes).
    pub fn record(&self) -> &SubmissionRecord {
        &self.record
    }

    pub fn reader(&self) -> &Reader {
        &self.reader
    }
}

/// Statement ids are 32 lowercase hex digits; anything else is not looked up.
pub fn is_statement_id(id: &str) -> bool {
    id.len() == 32 && id.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

impl Cases {
    /// The statement `id` if `reader` may act on it; `NotFound` otherwise,
    /// whether it does not exist or belongs to a desk the reader is not a
    /// member of.
    pub fn authorize(&self, reader: Reader, id: &str) -> Result<Authorized, CaseError> {
        if !is_statement_id(id) {
            return Err(CaseError::NotFound);
        }
        let record = self.store.submission(id)?.ok_or(CaseError::NotFound)?;
        let key = reader.key_for(&record).ok_or(CaseError::NotFound)?;
        Ok(Authorized { record, key, reader })
    }

    /// Whether `reader` may open statement `id` (for links between
    /// statements: duplicates, corroboration).
    pub fn can_open(&self, reader: &Reader, id: &str) -> bool {
        self.authorize(reader.clone(), id).is_ok()
    }
}

/// A statement an investigator filed, as their list shows it.
pub struct FiledRow {
    pub id: String,
    pub received: crate::clock::Day,
    pub state: super::WorkflowState,
    /// Whether the investigator is a member of its desk.
    pub readable: bool,
    /// A made-up example (`testimony demo`).
    pub example: bool,
}

impl Cases {
    /// What `reader` filed on witnesses' behalf, newest first (clear
    /// metadata only).
    pub fn filed_by(&self, reader: &Reader) -> Vec<FiledRow> {
        let me = reader.account().as_str();
        let mut rows: Vec<FiledRow> = self
            .store
            .submissions()
            .filter_map(Result::ok)
            .filter(|r| r.filed_by.as_deref() == Some(me))
            .map(|r| FiledRow {
                readable: reader.key_for(&r).is_some(),
                example: r.example,
                id: r.id,
                received: r.received,
                state: r.state,
            })
            .collect();
        rows.sort_by_key(|r| std::cmp::Reverse(r.received));
        rows
    }

    /// The desks `reader` is a member of: id and name.
    pub fn desks_of(&self, reader: &Reader) -> Vec<(DeskId, String)> {
        self.store
            .desks()
            .unwrap_or_default()
            .into_iter()
            .filter(|d| reader.is_member(&d.id))
            .map(|d| (d.id, d.name))
            .collect()
    }
}
