//! The workflow of a statement (DOMAIN.md): fourteen states, one at a time,
//! and the rules for moving between them in one table, so that a new state
//! or rule is added in one place and every caller obeys it.

use serde::{Deserialize, Serialize};

/// Where a statement is in its review. Stored in clear (it drives the
/// witness's follow-up page), under these snake_case names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WorkflowState {
    Received,
    SafetyScreen,
    NeedsTranslation,
    InReview,
    NeedsFollowUp,
    PeerReview,
    Finalized,
    Referred,
    Closed,
    Duplicate,
    Withdrawn,
    OutOfScope,
    OnHold,
    SecurityReview,
}

/// What moving into a state asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rule {
    /// A reviewer may set it (withdrawal is the witness's alone).
    pub set_by_reviewer: bool,
    /// A short reason must be written.
    pub needs_reason: bool,
    /// It must point to the original statement.
    pub needs_original: bool,
    /// It means the statement is passed on outside the organization, so
    /// the witness's consent to sharing must cover it.
    pub implies_sharing: bool,
}

const fn rule(set_by_reviewer: bool, needs_reason: bool, needs_original: bool, implies_sharing: bool) -> Rule {
    Rule { set_by_reviewer, needs_reason, needs_original, implies_sharing }
}

/// Every state, its name and its rule, in DOMAIN.md's order.
const TABLE: [(WorkflowState, &str, Rule); 14] = {
    use WorkflowState::*;
    [
        (Received, "received", rule(true, false, false, false)),
        (SafetyScreen, "safety_screen", rule(true, false, false, false)),
        (NeedsTranslation, "needs_translation", rule(true, false, false, false)),
        (InReview, "in_review", rule(true, false, false, false)),
        (NeedsFollowUp, "needs_follow_up", rule(true, false, false, false)),
        (PeerReview, "peer_review", rule(true, false, false, false)),
        (Finalized, "finalized", rule(true, false, false, false)),
        (Referred, "referred", rule(true, false, false, true)),
        (Closed, "closed", rule(true, false, false, false)),
        (Duplicate, "duplicate", rule(true, false, true, false)),
        (Withdrawn, "withdrawn", rule(false, false, false, false)),
        (OutOfScope, "out_of_scope", rule(true, true, false, false)),
        (OnHold, "on_hold", rule(true, true, false, false)),
        (SecurityReview, "security_review", rule(true, true, false, false)),
    ]
};

/// The names of every state, in order (for menus and filters).
pub const STATE_NAMES: [&str; 14] = {
    let mut names = [""; 14];
    let mut i = 0;
    while i < TABLE.len() {
        names[i] = TABLE[i].1;
        i += 1;
    }
    names
};

impl WorkflowState {
    pub const ALL: [WorkflowState; 14] = {
        let mut all = [WorkflowState::Received; 14];
        let mut i = 0;
        while i < TABLE.len() {
            all[i] = TABLE[i].0;
            i += 1;
        }
        all
    };

    fn row(self) -> &'static (WorkflowState, &'static str, Rule) {
        // TABLE lists every variant in declaration order (a test checks it),
        // so the discriminant is the row.
        &TABLE[self as usize]
    }

    /// The state's name as stored and shown (`needs_follow_up`).
    pub fn code(self) -> &'static str {
        self.row().1
    }

    pub fn rule(self) -> Rule {
        self.row().2
    }

    pub fn parse(code: &str) -> Option<WorkflowState> {
        TABLE.iter().find(|(_, name, _)| *name == code).map(|(state, _, _)| *state)
    }

    /// Whether nothing about the statement may change any more.
    pub fn is_final(self) -> bool {
        self == WorkflowState::Withdrawn
    }

    /// Whether a reviewer may move a statement from `self` to `to`.
    pub fn reviewer_may_move_to(self, to: WorkflowState) -> bool {
        !self.is_final() && to.rule().set_by_reviewer
    }
}

/// A state equals its stored name (`state == "withdrawn"`).
impl PartialEq<&str> for WorkflowState {
    fn eq(&self, other: &&str) -> bool {
        self.code() == *other
    }
}

impl std::fmt::Display for WorkflowState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_lists_every_state_in_declaration_order_under_its_stored_name() {
        for (i, (state, name, _)) in TABLE.iter().enumerate() {
            assert_eq!(*state as usize, i);
            assert_eq!(serde_json::to_value(state).unwrap(), serde_json::json!(name));
            assert_eq!(WorkflowState::parse(name), Some(*state));
        }
        assert_eq!(WorkflowState::parse("deleted"), None);
    }

    #[test]
    fn only_the_witness_withdraws_and_nothing_follows_a_withdrawal() {
        use WorkflowState::*;
        assert!(!Received.reviewer_may_move_to(Withdrawn));
        assert!(!Withdrawn.reviewer_may_move_to(InReview));
        assert!(InReview.reviewer_may_move_to(OnHold));
        assert!(OnHold.rule().needs_reason && Duplicate.rule().needs_original && Referred.rule().implies_sharing);
    }
}
