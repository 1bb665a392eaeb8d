//! What the audit log records: typed events, never free text. An entry
//! names who did what to which object and how it ended; it never holds
//! testimony, a witness's data, a receipt, a label's text or an address.

use serde::{Deserialize, Serialize};

/// Who acted.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Actor {
    /// A named account on the review side.
    Account(String),
    /// A witness on the public side. Never more specific than that.
    Witness,
    /// The server itself (start, stop, scheduled work).
    System,
}

/// How the action ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Ok,
    /// Refused: wrong credentials, not allowed, outside consent.
    Denied,
    /// Attempted and failed for another reason.
    Failed,
}

/// Why a sign-in failed. Unknown user, wrong password and wrong code are
/// one reason on purpose: the log must not help enumerate accounts either.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SignInFailure {
    BadCredentials,
    Throttled,
    Disabled,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExportKind {
    /// A case bundle for a named partner.
    CaseBundle,
    /// Aggregate statistics (S0 fields only).
    Aggregate,
    /// The offline export with the recovery key.
    Offline,
}

/// Every kind of event. Tests assert that each action emits its event.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Event {
    // --- the server ---
    /// The first entry of every log: commits to the key that signs checkpoints.
    DataDirectoryCreated {
        signing_key: String,
    },
    ServerStarted,
    ServerStopped,
    BackupTaken,
    /// An organization-wide setting changed (`setting` names which, e.g.
    /// `partners` when a partner is registered).
    SettingsChanged {
        setting: String,
    },

    // --- accounts and sessions ---
    SignInSucceeded,
    SignInFailed {
        reason: SignInFailure,
    },
    SignedOut,
    SessionExpired,
    /// Made from the command line (`init`, `user add`).
    AccountCreated {
        role: String,
    },
    AccountInvited {
        role: String,
    },
    AccountActivated,
    AccountDisabled,
    TotpReset,
    /// A new TOTP secret was confirmed (after a reset).
    TotpEnrolled,
    /// A disabled account was enabled again.
    AccountEnabled,
    PasswordChanged,

    // --- desks and keys ---
    DeskCreated,
    DeskGranted {
        account: String,
    },
    DeskRevoked {
        account: String,
    },
    DeskKeyRotated {
        generation: u32,
    },

    // --- statements (object: the statement id) ---
    StatementReceived {
        assisted: bool,
    },
    StatementViewed,
    FileDownloaded {
        file: String,
    },
    ExportMade {
        export: ExportKind,
        partner: Option<String>,
    },
    ExportRefused {
        export: ExportKind,
        partner: Option<String>,
    },
    StateChanged {
        from: String,
        to: String,
    },
    PriorityChanged,
    FlagChanged,
    LabelChanged,
    AssignmentChanged,
    EvaluationChanged,
    NoteAdded,
    ReplySent,
    MovedToDesk {
        desk: String,
    },
    WitnessFollowUp,
    ConsentChanged,
    ConsentWithdrawn,
    PurgeDone,

    // --- recovery after a crash ---
    /// At open, a torn last record (a write a crash cut off, never
    /// acknowledged) was cut from the log: its 1-based line, its size and
    /// the SHA-256 of the bytes cut.
    TornRecordCut {
        line: u64,
        bytes: u64,
        sha256: String,
    },

    // --- retention ---
    /// The tombstone of a statement deleted under a retention rule: its
    /// state and the rule's days (the object is its id; the time its day).
    RetentionPurged {
        state: String,
        days: u32,
    },
}

/// Every event kind's name, in declaration order. `kind_index` below is an
/// exhaustive match, so adding a variant without listing it here fails to
/// compile; the tests check that each kind is emitted by its action.
pub const KINDS: [&str; 41] = [
    "data_directory_created",
    "server_started",
    "server_stopped",
    "backup_taken",
    "settings_changed",
    "sign_in_succeeded",
    "sign_in_failed",
    "signed_out",
    "session_expired",
    "account_created",
    "account_invited",
    "account_activated",
    "account_disabled",
    "totp_reset",
    "totp_enrolled",
    "account_enabled",
    "password_changed",
    "desk_created",
    "desk_granted",
    "desk_revoked",
    "desk_key_rotated",
    "statement_received",
    "statement_viewed",
    "file_downloaded",
    "export_made",
    "export_refused",
    "state_changed",
    "priority_changed",
    "flag_changed",
    "label_changed",
    "assignment_changed",
    "evaluation_changed",
    "note_added",
    "reply_sent",
    "moved_to_desk",
    "witness_follow_up",
    "consent_changed",
    "consent_withdrawn",
    "purge_done",
    "torn_record_cut",
    "retention_purged",
];

/// The kinds only recovery after a crash emits, never an action (tests of
/// every action's event leave them to the crash tests).
pub const AFTER_A_CRASH: [&str; 1] = ["torn_record_cut"];

impl Event {
    /// The position of this event's kind in [`KINDS`].
    pub fn kind_index(&self) -> usize {
        use Event::*;
        match self {
            DataDirectoryCreated { .. } => 0,
            ServerStarted => 1,
            ServerStopped => 2,
            BackupTaken => 3,
            SettingsChanged { .. } => 4,
            SignInSucceeded => 5,
            SignInFailed { .. } => 6,
            SignedOut => 7,
            SessionExpired => 8,
            AccountCreated { .. } => 9,
            AccountInvited { .. } => 10,
            AccountActivated => 11,
            AccountDisabled => 12,
            TotpReset => 13,
            TotpEnrolled => 14,
            AccountEnabled => 15,
            PasswordChanged => 16,
            DeskCreated => 17,
            DeskGranted { .. } => 18,
            DeskRevoked { .. } => 19,
            DeskKeyRotated { .. } => 20,
            StatementReceived { .. } => 21,
            StatementViewed => 22,
            FileDownloaded { .. } => 23,
            ExportMade { .. } => 24,
            ExportRefused { .. } => 25,
            StateChanged { .. } => 26,
            PriorityChanged => 27,
            FlagChanged => 28,
            LabelChanged => 29,
            AssignmentChanged => 30,
            EvaluationChanged => 31,
            NoteAdded => 32,
            ReplySent => 33,
            MovedToDesk { .. } => 34,
            WitnessFollowUp => 35,
            ConsentChanged => 36,
            ConsentWithdrawn => 37,
            PurgeDone => 38,
            TornRecordCut { .. } => 39,
            RetentionPurged { .. } => 40,
        }
    }

    /// The event's name as written in the log (`sign_in_failed`, …).
    pub fn name(&self) -> String {
        serde_json::to_value(self)
            .ok()
            .and_then(|v| v.get("kind").and_then(|k| k.as_str()).map(str::to_string))
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_is_listed_under_its_logged_name() {
        let samples = [
            Event::DataDirectoryCreated { signing_key: String::new() },
            Event::SettingsChanged { setting: "partners".into() },
            Event::SignInFailed { reason: SignInFailure::BadCredentials },
            Event::ExportMade { export: ExportKind::Offline, partner: None },
            Event::StateChanged { from: "a".into(), to: "b".into() },
            Event::PurgeDone,
            Event::WitnessFollowUp,
            Event::RetentionPurged { state: "closed".into(), days: 30 },
        ];
        for e in samples {
            assert_eq!(KINDS[e.kind_index()], e.name());
        }
        let mut sorted = KINDS.to_vec();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), KINDS.len(), "names are unique");
    }
}
