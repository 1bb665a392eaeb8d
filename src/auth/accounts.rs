//! Creating accounts: one password becomes a login verifier and a personal
//! key (see `crypto::password`); a fresh TOTP secret is sealed to that key.
//! Used by `init`, `user add` and (later) invitations on the review side.

use crate::clock::Day;
use crate::crypto::{self, KdfParams, Password, PersonalKeys, Salt};
use crate::storage::{AccountName, AccountRecord, Role};

use super::totp::TotpSecret;

/// A TOTP secret shown to someone enrolling, waiting for their first code.
pub struct Enrolment {
    /// For an invitation: the prepared account. For a reset: `None`.
    pub account: Option<Box<NewAccount>>,
    pub totp: TotpSecret,
    /// Unix seconds after which it is forgotten.
    pub expires: u64,
}

/// A prepared account: the record to store, plus what the new user must be
/// shown once (the TOTP secret) and their personal keys (to wrap desk keys).
pub struct NewAccount {
    pub record: AccountRecord,
    pub totp: TotpSecret,
    pub keys: PersonalKeys,
}

/// Derives the account's keys (one argon2id run) and makes its TOTP secret.
/// Stores nothing.
pub fn prepare(
    name: AccountName,
    role: Role,
    password: &Password,
    kdf: KdfParams,
    today: Day,
) -> Result<NewAccount, String> {
    let salt = Salt::generate();
    let keys = PersonalKeys::derive(password, &salt, kdf)?;
    let totp = TotpSecret::generate();
    let recipient = keys.identity.recipient();
    let sealed_totp = crypto::seal(totp.as_bytes(), &recipient).map_err(|e| e.to_string())?;
    let record = AccountRecord {
        name,
        role,
        salt,
        kdf,
        verifier: keys.verifier.clone(),
        recipient,
        totp: Some(sealed_totp),
        totp_last_step: None,
        disabled: false,
        created: today,
        sign_ins: Vec::new(),
    };
    Ok(NewAccount { record, totp, keys })
}
