//! Submission records: what sled keeps of a statement. Clear fields are on
//! the clear-metadata list; everything a witness wrote is in `Sealed`
//! fields, split so that each can be opened or purged on its own:
//!
//! - `statement`: the form and narrative, to the desk and recovery keys;
//! - `identity`: names, contact and safety details (S2/S3), to the same
//!   keys, deleted outright when the witness withdraws;
//! - `consent`: each version of the consent record, also to the witness
//!   key so the follow-up page can show and change it;
//! - `manifest`: the signed evidence manifest, also to the witness key;
//! - `additions`: the signed proof of each set of files added later
//!   through the receipt, also to the witness key.

use serde::{Deserialize, Serialize};

use crate::case::workflow::WorkflowState;
use crate::clock::Day;
use crate::crypto::{Recipient, Salt, Sealed};

use super::records::{DeskId, ObjectId};

/// How a statement arrived.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// The public form.
    Web,
    /// Filed by an investigator on the witness's behalf.
    Assisted,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileRecord {
    /// The original, exactly as sent (sealed).
    pub object: ObjectId,
    /// Plaintext size in bytes.
    pub bytes: u64,
    /// A copy with metadata removed, when the witness asked for one.
    pub cleaned: Option<ObjectId>,
    /// Day added (files can be added later through the follow-up page).
    pub added: Day,
}

/// Who wrote an item of a statement's thread.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Author {
    Reviewer,
    Witness,
}

/// A reply to the witness or a witness's answer.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ThreadItem {
    pub author: Author,
    pub day: Day,
    /// Sealed to the desk, the recovery key and the witness key.
    pub message: Sealed,
    /// Not yet seen by a reviewer (witness items) or the witness (replies).
    pub unread: bool,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubmissionRecord {
    pub id: String,
    pub desk: DeskId,
    /// Which generation of the desk key the sealed parts are sealed to.
    pub key_generation: u32,
    pub received: Day,
    /// Workflow state (DOMAIN.md's vocabulary).
    pub state: WorkflowState,
    pub channel: Channel,
    /// `None` once purged (withdrawal).
    pub statement: Option<Sealed>,
    pub identity: Option<Sealed>,
    pub consent: Vec<Sealed>,
    pub manifest: Option<Sealed>,
    pub files: Vec<FileRecord>,
    /// The receipt-derived key: salt (clear) and public half.
    pub witness_salt: Salt,
    pub witness_recipient: Recipient,
    pub thread: Vec<ThreadItem>,
    /// What reviewers decided and wrote (sealed to the desk and recovery);
    /// `None` until the first triage action.
    #[serde(default)]
    pub triage: Option<Sealed>,
    /// The signed proof of each addition of files through the receipt
    /// (`testimony-evidence-addition-v1`), in order: the first is addition
    /// 1. Sealed like the manifest; emptied when the witness withdraws.
    #[serde(default)]
    pub additions: Vec<Sealed>,
    /// The investigator who filed it (assisted intake), or `None` for the
    /// public form.
    #[serde(default)]
    pub filed_by: Option<String>,
    /// Bumped by every committed change (1 when filed), so a reader that
    /// holds two copies keeps the newer: the reviewers' index, whose build
    /// may race a change.
    #[serde(default)]
    pub version: u64,
    /// A made-up example that `testimony demo` seeded to show the
    /// workspace, never testimony: every page that shows it says so. Only
    /// the demo makes them (`Cases::file_example`), in its throwaway
    /// data directory.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub example: bool,
    /// The day the statement entered its state: the day of receipt, then
    /// the day of each change of state. Set by the store itself whenever
    /// the state changes (never by callers), for retention. Format 1 did
    /// not have it; the upgrade to format 2 gives every record the day of
    /// the upgrade, so no retention period runs from before it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state_since: Option<Day>,
}

impl SubmissionRecord {
    /// The day it entered its present state (the day of receipt for a
    /// record that never had its day set).
    pub fn in_state_since(&self) -> Day {
        self.state_since.unwrap_or(self.received)
    }
}
