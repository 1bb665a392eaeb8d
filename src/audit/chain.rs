//! The hash chain and checkpoint signatures: pure functions over records,
//! shared by the writer and by `audit verify`.
//!
//! Each line of the log is one record in canonical JSON (fields in a fixed
//! order, no spaces). Its hash is SHA-256 over a domain-separation label and
//! the record without its `hash` field; the record names the previous hash,
//! so changing, removing, reordering or inserting any entry breaks every
//! hash after it. Verification re-encodes each record and compares bytes,
//! so even a change that parses to the same value is caught.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::crypto::{SigningKey, VerifyingKey};

use super::event::{Actor, Event, Outcome};

const ENTRY_DOMAIN: &[u8] = b"testimony-audit-v1\x00entry\x00";
const CHECKPOINT_DOMAIN: &str = "testimony-audit-v1 checkpoint";

/// The `prev` of the first record.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// What a record says, apart from its place in the chain.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Body {
    Entry {
        actor: Actor,
        event: Event,
        /// The statement, account or desk acted on, by id or name.
        object: Option<String>,
        outcome: Outcome,
    },
    /// A signed statement that the log had `size` records ending in `head`.
    Checkpoint(Checkpoint),
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Checkpoint {
    /// Number of records before this one.
    pub size: u64,
    /// Hash of record `size - 1` (or GENESIS for an empty log).
    pub head: String,
    pub time: String,
    pub key: String,
    pub signature: String,
}

impl Checkpoint {
    /// The exact bytes that are signed; also the start of the text format.
    pub fn signed_text(size: u64, head: &str, time: &str) -> String {
        format!("{CHECKPOINT_DOMAIN}\nsize: {size}\nhead: {head}\ntime: {time}\n")
    }

    pub fn sign(size: u64, head: &str, time: &str, key: &SigningKey) -> Checkpoint {
        let signature = key.sign(Self::signed_text(size, head, time).as_bytes());
        Checkpoint {
            size,
            head: head.to_string(),
            time: time.to_string(),
            key: key.verifying_key().to_string(),
            signature,
        }
    }

    /// True when the signature is valid and made by `key`.
    pub fn is_signed_by(&self, key: &VerifyingKey) -> bool {
        self.key == key.to_string()
            && key.verify(Self::signed_text(self.size, &self.head, &self.time).as_bytes(), &self.signature)
    }
}

/// One line of the log. (Unknown fields cannot hide here: verification
/// compares each line byte for byte with its canonical encoding.)
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    pub seq: u64,
    /// UTC: a full time for reviewers and the system, the day alone for
    /// witness events.
    pub time: String,
    #[serde(flatten)]
    pub body: Body,
    pub prev: String,
    pub hash: String,
}

/// The record minus its hash, in the order the hash covers.
#[derive(Serialize)]
struct Unhashed<'a> {
    seq: u64,
    time: &'a str,
    #[serde(flatten)]
    body: &'a Body,
    prev: &'a str,
}

impl Record {
    /// Makes the record that follows `prev`, with its hash.
    pub fn new(seq: u64, time: String, body: Body, prev: &str) -> Record {
        let hash = hash_of(seq, &time, &body, prev);
        Record { seq, time, body, prev: prev.to_string(), hash }
    }

    /// The hash this record should carry.
    pub fn expected_hash(&self) -> String {
        hash_of(self.seq, &self.time, &self.body, &self.prev)
    }

    /// The canonical line, without the newline.
    pub fn to_line(&self) -> String {
        // Invariant: every field is a string, number, bool or enum of them;
        // serde_json cannot fail on such a value.
        #[allow(clippy::expect_used)]
        serde_json::to_string(self).expect("audit records always serialize")
    }
}

fn hash_of(seq: u64, time: &str, body: &Body, prev: &str) -> String {
    #[allow(clippy::expect_used)] // as in `to_line`
    let bytes = serde_json::to_vec(&Unhashed { seq, time, body, prev }).expect("audit records always serialize");
    let mut hasher = Sha256::new();
    hasher.update(ENTRY_DOMAIN);
    hasher.update(&bytes);
    crate::crypto::hex(&hasher.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(event: Event) -> Body {
        Body::Entry { actor: Actor::System, event, object: None, outcome: Outcome::Ok }
    }

    #[test]
    fn records_round_trip_byte_for_byte() {
        let a = Record::new(0, "2026-11-29T10:00:00Z".into(), entry(Event::ServerStarted), GENESIS);
        let line = a.to_line();
        let back: Record = serde_json::from_str(&line).unwrap();
        assert_eq!(back, a);
        assert_eq!(back.to_line(), line);
        assert_eq!(back.expected_hash(), back.hash);
    }

    #[test]
    fn hash_covers_every_field() {
        let a = Record::new(3, "2026-11-29T10:00:00Z".into(), entry(Event::ServerStarted), GENESIS);
        let variants = [
            Record::new(4, a.time.clone(), a.body.clone(), GENESIS),
            Record::new(3, "2026-11-29T10:00:01Z".into(), a.body.clone(), GENESIS),
            Record::new(3, a.time.clone(), entry(Event::ServerStopped), GENESIS),
            Record::new(3, a.time.clone(), a.body.clone(), &a.hash),
        ];
        for v in variants {
            assert_ne!(v.hash, a.hash);
        }
    }

    #[test]
    fn checkpoints_verify_only_with_their_key() {
        let key = SigningKey::generate();
        let cp = Checkpoint::sign(10, GENESIS, "2026-11-29T10:00:00Z", &key);
        assert!(cp.is_signed_by(&key.verifying_key()));
        assert!(!cp.is_signed_by(&SigningKey::generate().verifying_key()));
        let mut moved = cp.clone();
        moved.size = 9;
        assert!(!moved.is_signed_by(&key.verifying_key()));
    }
}
