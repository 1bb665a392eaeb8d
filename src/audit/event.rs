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
    SettingsChanged,

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
    PartnerAdded,
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
}

impl Event {
    /// The event's name as written in the log (`sign_in_failed`, …).
    pub fn name(&self) -> String {
        serde_json::to_value(self)
            .ok()
            .and_then(|v| v.get("kind").and_then(|k| k.as_str()).map(str::to_string))
            .unwrap_or_default()
    }
}
