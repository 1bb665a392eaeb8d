//! The workflow of a statement (DOMAIN.md): fourteen states, one at a time,
//! and the rules for moving between them in one table, so that a new state
//! or rule is added in one place and every caller obeys it.

use serde::{Deserialize, Serialize};

use crate::clock::Day;

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

/// How many days after the day of receipt the safety screen is due.
///
/// DOMAIN.md: the safety screen is the first read, within 48 hours of
/// arrival. Only the day a statement arrived is stored, never the time (a
/// witness's exact time is never kept), so the 48 hours are counted from
/// the latest moment the day allows: a statement received on day D is due
/// by the end of day D + 2, and overdue from day D + 3. Computed from the
/// server's clock whenever it is shown, never stored, so it stays right as
/// days pass.
pub const SAFETY_SCREEN_DAYS: i64 = 2;

/// Where a statement that has not had its safety screen stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ScreenDue {
    /// The last day of the 48 hours.
    pub by: Day,
    /// `today` is past `by`.
    pub overdue: bool,
}

impl WorkflowState {
    /// Whether the statement still waits for its safety screen: it has
    /// not been read yet (`received`) or is being screened
    /// (`safety_screen`). Any other state was set by a reviewer who has
    /// read it, or by the witness's withdrawal.
    pub fn awaits_safety_screen(self) -> bool {
        matches!(self, WorkflowState::Received | WorkflowState::SafetyScreen)
    }

    /// When the safety screen of a statement in this state, received on
    /// `received`, is due, judged on `today`; `None` once it is past the
    /// screen (see [`SAFETY_SCREEN_DAYS`]).
    pub fn safety_screen_due(self, received: Day, today: Day) -> Option<ScreenDue> {
        if !self.awaits_safety_screen() {
            return None;
        }
        let by = received.plus_days(SAFETY_SCREEN_DAYS);
        Some(ScreenDue { by, overdue: today > by })
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
    fn the_safety_screen_is_due_two_days_after_the_day_of_receipt_and_overdue_after() {
        use WorkflowState::*;
        let received = Day::from_civil(2026, 11, 29).unwrap();
        let on = |n: i64| received.plus_days(n);
        let due = |state: WorkflowState, n: i64| state.safety_screen_due(received, on(n));
        for n in 0..=2 {
            assert_eq!(due(Received, n), Some(ScreenDue { by: on(2), overdue: false }), "day {n}");
        }
        assert_eq!(due(Received, 3), Some(ScreenDue { by: on(2), overdue: true }));
        assert_eq!(due(SafetyScreen, 30), Some(ScreenDue { by: on(2), overdue: true }));
        for later in [NeedsTranslation, InReview, OnHold, SecurityReview, Withdrawn, Closed] {
            assert_eq!(due(later, 3), None, "{later} is past the screen");
        }
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
