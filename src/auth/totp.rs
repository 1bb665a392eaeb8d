//! TOTP (RFC 6238) through the `totp-rs` crate: SHA-1, 6 digits, 30-second
//! steps, which is what every authenticator app supports. The secret exists
//! in clear only in memory; on disk it is sealed to the account's key.

use std::fmt;

use totp_rs::{Algorithm, TOTP};
use zeroize::Zeroizing;

use crate::crypto::random_array;

const ISSUER: &str = "testimony";
const DIGITS: usize = 6;
const STEP_SECONDS: u64 = 30;
/// Accept the previous and the next step too: phones' clocks drift.
const SKEW_STEPS: u8 = 1;

/// A TOTP shared secret (160 bits, as RFC 4226 recommends).
pub struct TotpSecret(Zeroizing<Vec<u8>>);

impl TotpSecret {
    pub fn generate() -> Self {
        Self(Zeroizing::new(random_array::<20>().to_vec()))
    }

    pub fn from_bytes(bytes: &[u8]) -> Self {
        Self(Zeroizing::new(bytes.to_vec()))
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// Reads a secret as printed (`totp-secret: BASE32`).
    pub fn from_base32(text: &str) -> Option<Self> {
        totp_rs::Secret::Encoded(text.trim().to_string()).to_bytes().ok().map(|b| Self(Zeroizing::new(b)))
    }

    fn totp(&self, account: &str) -> Result<TOTP, String> {
        TOTP::new(
            Algorithm::SHA1,
            DIGITS,
            // Skew is applied by `verify` one step at a time, so that it can
            // tell which step matched; totp-rs itself checks exactly one.
            0,
            STEP_SECONDS,
            self.0.to_vec(),
            Some(ISSUER.to_string()),
            account.to_string(),
        )
        .map_err(|e| format!("invalid TOTP setup: {e}"))
    }

    /// The secret as base32, for typing into an authenticator by hand.
    pub fn base32(&self, account: &str) -> Result<Zeroizing<String>, String> {
        Ok(Zeroizing::new(self.totp(account)?.get_secret_base32()))
    }

    /// The `otpauth://` URI that authenticator apps read from a QR code.
    pub fn otpauth_uri(&self, account: &str) -> Result<Zeroizing<String>, String> {
        Ok(Zeroizing::new(self.totp(account)?.get_url()))
    }

    /// Checks `code` at unix time `now`. On success returns the time step
    /// it matched, which the caller stores so that this step and every
    /// earlier one are refused from then on (no code is accepted twice).
    pub fn verify(&self, account: &str, code: &str, now: u64, last_used_step: Option<u64>) -> Option<u64> {
        let code = code.trim();
        if code.len() != DIGITS || !code.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let totp = self.totp(account).ok()?;
        let current = now / STEP_SECONDS;
        let skew = u64::from(SKEW_STEPS);
        (current.saturating_sub(skew)..=current + skew)
            .filter(|step| last_used_step.is_none_or(|last| *step > last))
            // totp-rs compares in constant time inside `check`.
            .find(|step| totp.check(code, step * STEP_SECONDS))
    }

    /// The code for time `now` (tests and the demo's printed hint).
    pub fn code_at(&self, account: &str, now: u64) -> Result<String, String> {
        Ok(self.totp(account)?.generate(now))
    }
}

impl fmt::Debug for TotpSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TotpSecret(..)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: u64 = 1_790_000_000;

    #[test]
    fn current_code_is_accepted_once() {
        let secret = TotpSecret::generate();
        let code = secret.code_at("ada", T).unwrap();
        let step = secret.verify("ada", &code, T, None).unwrap();
        assert_eq!(step, T / 30);
        assert_eq!(secret.verify("ada", &code, T, Some(step)), None);
    }

    #[test]
    fn neighbouring_steps_are_accepted_but_not_older_ones() {
        let secret = TotpSecret::generate();
        let previous = secret.code_at("ada", T - 30).unwrap();
        assert!(secret.verify("ada", &previous, T, None).is_some());
        let old = secret.code_at("ada", T - 90).unwrap();
        assert_eq!(secret.verify("ada", &old, T, None), None);
    }

    #[test]
    fn an_earlier_step_is_refused_after_a_later_one_was_used() {
        let secret = TotpSecret::generate();
        let next = secret.code_at("ada", T + 30).unwrap();
        let used = secret.verify("ada", &next, T, None).unwrap();
        let current = secret.code_at("ada", T).unwrap();
        assert_eq!(secret.verify("ada", &current, T, Some(used)), None);
    }

    #[test]
    fn malformed_codes_are_refused() {
        let secret = TotpSecret::generate();
        for bad in ["", "12345", "1234567", "12a456", "１２３４５６"] {
            assert_eq!(secret.verify("ada", bad, T, None), None, "{bad}");
        }
    }

    #[test]
    fn uri_names_the_issuer_and_account() {
        let secret = TotpSecret::generate();
        let uri = secret.otpauth_uri("ada").unwrap();
        assert!(uri.starts_with("otpauth://totp/testimony:ada?"));
        assert!(uri.contains(secret.base32("ada").unwrap().as_str()));
    }
}
