//! Accounts, passwords and TOTP. The review listener's login, sessions and
//! the `Reviewer` extractor arrive with the accounts issue and live here too.

pub mod accounts;
pub mod totp;
