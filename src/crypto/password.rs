//! From a password to two independent keys: the login verifier and the
//! personal age identity.
//!
//! One argon2id run turns the password and a per-account salt into a master
//! secret; HKDF-SHA256 then expands it under two distinct labels. The
//! verifier (stored) proves the password at login; the identity (never
//! stored) opens the desk keys wrapped to this account. Knowing the stored
//! verifier tells nothing about the identity, because the two come out of
//! HKDF under different labels from a secret that is never stored.
//!
//! Parameters: 64 MiB and 3 passes answer an attacker who has imaged the
//! disk and guesses passwords offline: each guess costs that memory and time
//! on their hardware as on ours. One lane, so one login uses one core; the
//! login pool (auth) bounds how many run at once.

use std::fmt;

use hkdf::Hkdf;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::i18n::Message;

use super::Opener;
use super::identity::{Recipient, identity_from_bytes};
use super::random::random_array;

/// Passwords are counted in characters, not bytes.
pub const MIN_PASSWORD_CHARS: usize = 12;
/// Long enough for any passphrase; short enough that argon2's input stays small.
pub const MAX_PASSWORD_CHARS: usize = 1024;

const HKDF_SALT: &[u8] = b"testimony/v1/personal-keys";
const LABEL_VERIFIER: &[u8] = b"login-verifier";
const LABEL_IDENTITY: &[u8] = b"personal-x25519-identity";

/// A password in memory. Wiped on drop; `Debug` prints nothing of it.
pub struct Password(SecretString);

impl Password {
    /// Accepts a password of reasonable length. The error (a message of
    /// the reviewer catalogue: the account pages show it, the command line
    /// prints its English) never contains the password.
    pub fn new(text: String) -> Result<Self, Message> {
        let secret = SecretString::from(text);
        let chars = secret.expose_secret().chars().count();
        if chars == 0 {
            return Err(Message::new("password-empty"));
        }
        if chars < MIN_PASSWORD_CHARS {
            return Err(Message::new("password-too-short").arg("min", MIN_PASSWORD_CHARS));
        }
        if chars > MAX_PASSWORD_CHARS {
            return Err(Message::new("password-too-long").arg("max", MAX_PASSWORD_CHARS));
        }
        Ok(Self(secret))
    }

    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(..)")
    }
}

/// A per-account salt (clear metadata: it is useless without the password).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Salt(#[serde(with = "super::seal::base64_bytes")] Vec<u8>);

impl Salt {
    pub fn generate() -> Self {
        Self(random_array::<16>().to_vec())
    }
}

/// argon2id cost parameters, stored with each account so they can be raised
/// later without locking anyone out.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KdfParams {
    pub memory_kib: u32,
    pub passes: u32,
    pub lanes: u32,
}

impl KdfParams {
    /// 64 MiB, 3 passes, 1 lane: the design's figure for every account.
    pub const DEFAULT: KdfParams = KdfParams { memory_kib: 64 * 1024, passes: 3, lanes: 1 };
}

/// What a login compares against: stored in clear, useless without the password.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoginVerifier(#[serde(with = "super::seal::base64_bytes")] Vec<u8>);

impl LoginVerifier {
    /// Constant-time comparison, so timing does not tell how much matched.
    pub fn matches(&self, other: &LoginVerifier) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}

impl fmt::Debug for LoginVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("LoginVerifier(..)")
    }
}

/// The two keys one password yields for one account.
pub struct PersonalKeys {
    pub verifier: LoginVerifier,
    pub identity: PersonalIdentity,
}

impl PersonalKeys {
    /// One argon2id derivation (about a second of one core and 64 MiB).
    /// Callers on the async runtime run it on a blocking thread.
    pub fn derive(password: &Password, salt: &Salt, params: KdfParams) -> Result<Self, String> {
        let argon_params = argon2::Params::new(params.memory_kib, params.passes, params.lanes, Some(32))
            .map_err(|e| format!("invalid key-derivation parameters: {e}"))?;
        let argon = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, argon_params);
        let mut master = Zeroizing::new([0u8; 32]);
        argon
            .hash_password_into(password.expose().as_bytes(), &salt.0, master.as_mut())
            .map_err(|e| format!("key derivation failed: {e}"))?;

        let hkdf = Hkdf::<Sha256>::new(Some(HKDF_SALT), master.as_ref());
        let mut verifier = [0u8; 32];
        let mut identity = Zeroizing::new([0u8; 32]);
        // Invariant: 32 bytes is far below HKDF-SHA256's 8160-byte output limit.
        #[allow(clippy::expect_used)]
        {
            hkdf.expand(LABEL_VERIFIER, &mut verifier).expect("32 bytes is a valid HKDF length");
            hkdf.expand(LABEL_IDENTITY, identity.as_mut()).expect("32 bytes is a valid HKDF length");
        }
        Ok(Self {
            verifier: LoginVerifier(verifier.to_vec()),
            identity: PersonalIdentity(identity_from_bytes(&identity)),
        })
    }
}

/// An account's personal age identity. Exists only in memory, derived at
/// login or by a command that was given the password.
pub struct PersonalIdentity(age::x25519::Identity);

impl PersonalIdentity {
    pub fn recipient(&self) -> Recipient {
        Recipient::from_age(self.0.to_public())
    }
}

impl Opener for PersonalIdentity {
    fn age_identity(&self) -> &age::x25519::Identity {
        &self.0
    }
}

impl fmt::Debug for PersonalIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PersonalIdentity({})", self.recipient())
    }
}

/// A witness's key, derived from their receipt: replies are sealed to it so
/// that the witness, and only someone holding the receipt, can read them.
/// Never stored.
pub struct WitnessIdentity(age::x25519::Identity);

impl WitnessIdentity {
    /// HKDF-SHA256 over the receipt with a per-submission salt. The receipt
    /// carries about 90 bits from the CSPRNG, so no slow hash is needed.
    pub fn derive(receipt_digits: &[u8], salt: &Salt) -> WitnessIdentity {
        let hkdf = Hkdf::<Sha256>::new(Some(&salt.0), receipt_digits);
        let mut bytes = Zeroizing::new([0u8; 32]);
        // Invariant: 32 bytes is a valid HKDF-SHA256 output length.
        #[allow(clippy::expect_used)]
        hkdf.expand(b"testimony/v1/witness-x25519-identity", bytes.as_mut()).expect("32 bytes is a valid HKDF length");
        WitnessIdentity(identity_from_bytes(&bytes))
    }

    pub fn recipient(&self) -> Recipient {
        Recipient::from_age(self.0.to_public())
    }
}

impl Opener for WitnessIdentity {
    fn age_identity(&self) -> &age::x25519::Identity {
        &self.0
    }
}

impl fmt::Debug for WitnessIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "WitnessIdentity({})", self.recipient())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Cheap parameters for unit tests only; the real ones are checked in
    /// the integration tests through the binary.
    const FAST: KdfParams = KdfParams { memory_kib: 64, passes: 1, lanes: 1 };

    fn pw(s: &str) -> Password {
        Password::new(s.to_string()).unwrap()
    }

    #[test]
    fn same_password_and_salt_give_same_keys() {
        let salt = Salt::generate();
        let a = PersonalKeys::derive(&pw("correct horse battery"), &salt, FAST).unwrap();
        let b = PersonalKeys::derive(&pw("correct horse battery"), &salt, FAST).unwrap();
        assert!(a.verifier.matches(&b.verifier));
        assert_eq!(a.identity.recipient(), b.identity.recipient());
    }

    #[test]
    fn another_password_or_salt_gives_other_keys() {
        let salt = Salt::generate();
        let a = PersonalKeys::derive(&pw("correct horse battery"), &salt, FAST).unwrap();
        let b = PersonalKeys::derive(&pw("correct horse batterz"), &salt, FAST).unwrap();
        let c = PersonalKeys::derive(&pw("correct horse battery"), &Salt::generate(), FAST).unwrap();
        assert!(!a.verifier.matches(&b.verifier));
        assert!(!a.verifier.matches(&c.verifier));
        assert_ne!(a.identity.recipient(), b.identity.recipient());
        assert_ne!(a.identity.recipient(), c.identity.recipient());
    }

    #[test]
    fn verifier_is_not_the_identity_key() {
        let keys = PersonalKeys::derive(&pw("correct horse battery"), &Salt::generate(), FAST).unwrap();
        let from_verifier = identity_from_bytes(&keys.verifier.0.clone().try_into().unwrap());
        assert_ne!(Recipient::from_age(from_verifier.to_public()), keys.identity.recipient());
    }

    #[test]
    fn passwords_are_bounded_in_characters_and_never_printed() {
        assert!(Password::new(String::new()).is_err());
        assert!(Password::new("short".into()).is_err());
        // Twelve Uyghur letters are twelve characters, though many more bytes.
        assert!(Password::new("ئۇيغۇرچەئۇيغۇرچە".chars().take(12).collect()).is_ok());
        let p = pw("a secret passphrase here");
        assert!(!format!("{p:?}").contains("secret"));
        let err = Password::new("tiny-canary".into()).err().unwrap().to_string();
        assert!(!err.contains("tiny-canary"));
    }
}
