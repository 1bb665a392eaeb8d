//! The change feed: every durable change to a statement record is
//! published here, after it is committed and flushed, to whoever
//! subscribed (the reviewers' index). Writers never notify anyone
//! themselves; the store does it for every writer, so derived state cannot
//! be forgotten by a new code path.
//!
//! Subscribers run on the writer's thread (always a blocking thread, since
//! writes fsync), in commit order for any one statement. They must be quick
//! and must not write to the store.

use std::sync::{Arc, RwLock};

use super::records::DeskId;
use super::submissions::SubmissionRecord;

/// What happened to a statement record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ChangeKind {
    /// A new statement was filed.
    Created,
    /// Triage, thread, consent or files changed.
    Changed,
    /// Sealed anew to another desk; `from` no longer holds it.
    Moved { from: DeskId },
    /// The witness withdrew: content purged, the record kept as a stub.
    Purged,
    /// Deleted whole under the retention rules: the record (as it was
    /// last) is gone from the store.
    Deleted,
}

/// One committed change, with the record as stored after it.
#[derive(Clone, Debug)]
pub struct StatementChange {
    pub kind: ChangeKind,
    pub record: Arc<SubmissionRecord>,
}

/// A subscriber to the feed.
pub type Subscriber = Arc<dyn Fn(&StatementChange) + Send + Sync>;

/// Part of the storage interface: an engine publishes every committed
/// statement change to its subscribers.
pub trait ChangeFeed {
    fn subscribe(&self, subscriber: Subscriber);
}

/// The subscriber list an engine keeps.
#[derive(Default)]
pub(super) struct Feed {
    subscribers: RwLock<Vec<Subscriber>>,
}

impl Feed {
    pub(super) fn add(&self, subscriber: Subscriber) {
        self.subscribers.write().unwrap_or_else(|p| p.into_inner()).push(subscriber);
    }

    pub(super) fn publish(&self, kind: ChangeKind, record: SubmissionRecord) {
        let change = StatementChange { kind, record: Arc::new(record) };
        let subscribers = self.subscribers.read().unwrap_or_else(|p| p.into_inner()).clone();
        for subscriber in subscribers {
            subscriber(&change);
        }
    }
}

/// How a record changed, judged from before and after.
pub(super) fn kind_of(before: &SubmissionRecord, after: &SubmissionRecord) -> ChangeKind {
    if before.desk != after.desk {
        ChangeKind::Moved { from: before.desk.clone() }
    } else if before.statement.is_some() && after.statement.is_none() {
        ChangeKind::Purged
    } else {
        ChangeKind::Changed
    }
}
