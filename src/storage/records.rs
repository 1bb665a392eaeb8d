//! The records kept in sled. Every field is either on DESIGN.md's list of
//! clear metadata (ids, desk id, states, days, sizes, hashes, account names
//! and roles, public keys, salts) or a [`Sealed`] value.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::clock::Day;
use crate::crypto::{KdfParams, LoginVerifier, Recipient, Salt, Sealed};

/// An account name: 1–64 of `a-z 0-9 . _ -`, starting with a letter or
/// digit. Names appear in the audit log and in record keys, so they are kept
/// to a small, unambiguous alphabet.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct AccountName(String);

impl AccountName {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for AccountName {
    type Error = String;
    fn try_from(name: String) -> Result<Self, String> {
        let ok_len = (1..=64).contains(&name.len());
        let ok_first = name.chars().next().is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
        let ok_chars =
            name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-'));
        if ok_len && ok_first && ok_chars {
            Ok(Self(name))
        } else {
            Err("an account name is 1 to 64 characters of a-z, 0-9, '.', '_' or '-', starting with a letter or digit"
                .into())
        }
    }
}

impl std::str::FromStr for AccountName {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Self::try_from(s.to_string())
    }
}

impl From<AccountName> for String {
    fn from(name: AccountName) -> String {
        name.0
    }
}

impl fmt::Display for AccountName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for AccountName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AccountName({})", self.0)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Accounts, desks, settings, the audit log; content only as a desk member.
    Admin,
    /// Reads and triages the statements of their desks.
    Reviewer,
    /// Files statements on a witness's behalf; content only as a desk member.
    Investigator,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Reviewer => "reviewer",
            Role::Investigator => "investigator",
        }
    }
}

impl std::str::FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "admin" => Ok(Role::Admin),
            "reviewer" => Ok(Role::Reviewer),
            "investigator" => Ok(Role::Investigator),
            _ => Err("a role is one of admin, reviewer, investigator".into()),
        }
    }
}

/// A random desk id (32 hex digits).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct DeskId(pub String);

/// A random object id (32 hex digits), naming a file under `objects/`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ObjectId(pub String);

/// Who holds a wrapped copy of a desk key.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Holder {
    /// The organization recovery key (offline custodians).
    Recovery,
    /// A member's personal key.
    Account(AccountName),
}

impl Holder {
    pub(super) fn key_part(&self) -> String {
        match self {
            Holder::Recovery => "recovery".into(),
            Holder::Account(name) => format!("account:{name}"),
        }
    }

    pub(super) fn from_key_part(part: &str) -> Option<Holder> {
        match part {
            "recovery" => Some(Holder::Recovery),
            _ => part.strip_prefix("account:").and_then(|n| n.parse().ok()).map(Holder::Account),
        }
    }
}

/// The server's own public settings, written at init.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerRecord {
    /// Every sealed value is also sealed to this.
    pub recovery_recipient: Recipient,
    pub default_desk: DeskId,
    pub created: Day,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountRecord {
    pub name: AccountName,
    pub role: Role,
    pub salt: Salt,
    pub kdf: KdfParams,
    pub verifier: LoginVerifier,
    /// Desk keys are wrapped to this; granting needs nothing else.
    pub recipient: Recipient,
    /// The TOTP secret, sealed to the account's own recipient: opened only
    /// after the password has been checked. `None` after an admin reset:
    /// the next sign-in enrols a new one.
    pub totp: Option<Sealed>,
    /// The last TOTP time step accepted, so no code is accepted twice.
    pub totp_last_step: Option<u64>,
    pub disabled: bool,
    pub created: Day,
    /// The latest sign-ins, newest last (at most `SIGN_IN_HISTORY`).
    #[serde(default)]
    pub sign_ins: Vec<SignIn>,
}

/// How many sign-ins an account's record remembers for its owner to see.
pub const SIGN_IN_HISTORY: usize = 20;

/// A sign-in attempt on an account (reviewer data, never a witness's).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignIn {
    /// UTC, to the minute (older records: to the second).
    pub time: String,
    pub succeeded: bool,
}

/// An invitation to create an account, waiting for its invitee. Stored
/// under a hash of its token; the token itself is shown once to the admin.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Invitation {
    pub name: AccountName,
    pub role: Role,
    pub invited_by: AccountName,
    /// Unix seconds after which it no longer works.
    pub expires: u64,
}

/// An organization statements may be shared with, and the age recipient
/// its case bundles are sealed to.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Partner {
    pub id: String,
    pub name: String,
    pub recipient: Recipient,
    pub added: Day,
}

/// One generation of a desk's key. Rotation adds a generation; old ones stay
/// (wrapped) so that old statements keep opening.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeskKeyGeneration {
    pub generation: u32,
    pub recipient: Recipient,
    pub created: Day,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeskRecord {
    pub id: DeskId,
    /// The team's name ("Uyghur desk"). Kept clear so admins who are not
    /// members can manage desks; SECURITY.md lists it as clear metadata.
    pub name: String,
    /// Oldest first; the last one is what new statements are sealed to.
    pub keys: Vec<DeskKeyGeneration>,
    pub created: Day,
}

impl DeskRecord {
    pub fn current_key(&self) -> Option<&DeskKeyGeneration> {
        self.keys.last()
    }
}

/// A desk key sealed to one holder.
#[derive(Clone, Debug)]
pub struct DeskKeyWrap {
    pub desk: DeskId,
    pub generation: u32,
    pub holder: Holder,
    pub sealed: Sealed,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_names_are_kept_to_a_safe_alphabet() {
        for good in ["ada", "r.kim", "desk-lead_2", "0day"] {
            assert!(good.parse::<AccountName>().is_ok(), "{good}");
        }
        let too_long = "a".repeat(65);
        for bad in ["", "Ada", "-x", "a b", "a/b", "a:b", "é", too_long.as_str()] {
            assert!(bad.parse::<AccountName>().is_err(), "{bad}");
        }
    }
}
