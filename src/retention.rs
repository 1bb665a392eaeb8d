//! Retention: statements in some final states are deleted whole a set
//! number of days after they entered that state. The rules are the
//! `[retention]` section of the config file, a state's code and its days:
//!
//! ```toml
//! [retention]
//! out_of_scope = 30
//! duplicate = 90
//! closed = 3650
//! ```
//!
//! Only final states may have a rule ([`PURGEABLE`]): a statement still
//! being worked on, on hold or under security review is never deleted by
//! a rule, and a config naming such a state is refused. No rule, no
//! deletion: the default keeps everything.
//!
//! A purge writes the audit tombstone first (`retention_purged`: the
//! statement's id, the day, the state and the rule's days; never content),
//! then deletes the record, its receipt's lookup and its files (see
//! SECURITY.md for what deletion cannot reach). The server runs it once a
//! day; `testimony purge` runs it by hand, or shows what it would do.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize};

use crate::audit::{Actor, AuditLog, Event, NewEntry, Outcome};
use crate::case::workflow::WorkflowState;
use crate::clock::Day;
use crate::storage::{StatementRecords, StorageError, Store, SubmissionRecord};

/// The states a rule may name: a reviewer (or the witness) has finished
/// with the statement. Not `finalized`: a finalized statement is
/// documented evidence on its way to a referral or a report, which no
/// rule should delete behind its reviewers' backs.
pub const PURGEABLE: [&str; 5] = ["closed", "out_of_scope", "duplicate", "referred", "withdrawn"];

/// The rules: days in a state, by the state's code.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Retention(BTreeMap<String, u32>);

impl Retention {
    /// Rules from (state code, days) pairs, checked as a config file's are.
    pub fn new(rules: impl IntoIterator<Item = (String, u32)>) -> Result<Retention, String> {
        let rules: BTreeMap<String, u32> = rules.into_iter().collect();
        for (state, days) in &rules {
            match WorkflowState::parse(state) {
                None => {
                    return Err(format!(
                        "[retention] {state}: not a state (the final ones are {})",
                        PURGEABLE.join(", ")
                    ));
                }
                Some(_) if !PURGEABLE.contains(&state.as_str()) => {
                    return Err(format!(
                        "[retention] {state}: a statement in this state is never deleted by a rule (only {} may have one)",
                        PURGEABLE.join(", ")
                    ));
                }
                Some(_) if *days == 0 => {
                    return Err(format!(
                        "[retention] {state}: at least 1 day (a rule of 0 would delete on the day it is set)"
                    ));
                }
                Some(_) => {}
            }
        }
        Ok(Retention(rules))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The rule's days for `state`, if it has one.
    pub fn days_for(&self, state: WorkflowState) -> Option<u32> {
        self.0.get(state.code()).copied()
    }

    /// Whether `record` is due on `today`: its state has a rule and it has
    /// been in that state at least the rule's days.
    pub fn due(&self, record: &SubmissionRecord, today: Day) -> Option<u32> {
        let days = self.days_for(record.state)?;
        let since = record.in_state_since();
        (today >= since.plus_days(i64::from(days))).then_some(days)
    }
}

impl<'de> Deserialize<'de> for Retention {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let rules = BTreeMap::<String, u32>::deserialize(deserializer)?;
        Retention::new(rules).map_err(serde::de::Error::custom)
    }
}

/// A statement a purge deletes (or would).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Due {
    pub id: String,
    pub state: WorkflowState,
    /// The day it entered that state.
    pub since: Day,
    /// The rule's days.
    pub days: u32,
}

/// The statements due on `today`, oldest in their state first.
pub fn due(store: &Store, rules: &Retention, today: Day) -> Result<Vec<Due>, String> {
    let mut found = Vec::new();
    if rules.is_empty() {
        return Ok(found);
    }
    for record in store.submissions() {
        let record = record.map_err(|e| e.to_string())?;
        if let Some(days) = rules.due(&record, today) {
            found.push(Due { id: record.id.clone(), state: record.state, since: record.in_state_since(), days });
        }
    }
    found.sort_by(|a, b| a.since.cmp(&b.since).then_with(|| a.id.cmp(&b.id)));
    Ok(found)
}

/// Deletes every statement due on `today`: for each, the audit tombstone
/// first (nothing is deleted that the log does not name), then the
/// statement. Returns those deleted; stops at the first failure, leaving
/// the rest for the next run.
pub fn purge(store: &Store, audit: &AuditLog, rules: &Retention, today: Day) -> Result<Vec<Due>, String> {
    let mut deleted = Vec::new();
    for item in due(store, rules, today)? {
        // Read again: a reviewer may have changed its state since.
        let Some(record) = store.submission(&item.id).map_err(|e| e.to_string())? else { continue };
        let Some(days) = rules.due(&record, today) else { continue };
        let tombstone = || Event::RetentionPurged { state: record.state.code().to_string(), days };
        audit
            .append(NewEntry::by(Actor::System, tombstone()).on(&item.id).on_day(today))
            .map_err(|e| format!("cannot write the audit log, so nothing more was deleted: {e}"))?;
        // Only the version judged due: one a reviewer reopened since stays.
        match store.delete_submission(&item.id, record.version) {
            Ok(_) => {
                crate::search::snapshot::discard(store.dir(), &record.desk);
                deleted.push(item);
            }
            Err(e) => {
                // The log must not claim a deletion that did not happen.
                let failed =
                    NewEntry::by(Actor::System, tombstone()).on(&item.id).on_day(today).outcome(Outcome::Failed);
                let _ = audit.append(failed);
                if matches!(e, StorageError::Changed) {
                    continue;
                }
                return Err(format!("deleting {}: {e}", item.id));
            }
        }
    }
    Ok(deleted)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_final_states_may_have_a_rule_and_never_of_zero_days() {
        assert!(Retention::new([("out_of_scope".into(), 30), ("closed".into(), 3650)]).is_ok());
        for never in ["on_hold", "security_review", "received", "in_review", "finalized"] {
            let refused = Retention::new([(never.to_string(), 30)]).unwrap_err();
            assert!(refused.contains("never deleted"), "{refused}");
        }
        assert!(Retention::new([("cloosed".into(), 30)]).unwrap_err().contains("not a state"));
        assert!(Retention::new([("closed".into(), 0)]).unwrap_err().contains("at least 1 day"));
        let rules: Retention = toml::from_str("closed = 10\nduplicate = 2").unwrap();
        assert_eq!(rules.days_for(WorkflowState::Closed), Some(10));
        assert_eq!(rules.days_for(WorkflowState::OnHold), None);
    }
}
