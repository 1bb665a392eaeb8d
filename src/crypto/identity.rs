//! age identities (secret) and recipients (public) with roles in their names.
//!
//! A `DeskIdentity` and a `RecoveryIdentity` are the same kind of key to age;
//! separate types stop one from being passed where the other is meant.

use std::fmt;
use std::path::Path;
use std::str::FromStr;

use age::secrecy::ExposeSecret;
use secrecy::SecretString;
use zeroize::Zeroizing;

use super::Opener;

/// An age X25519 recipient (`age1…`): public, safe to store and show.
#[derive(Clone, PartialEq, Eq)]
pub struct Recipient(age::x25519::Recipient);

impl Recipient {
    pub(crate) fn as_age(&self) -> &age::x25519::Recipient {
        &self.0
    }

    pub(crate) fn from_age(recipient: age::x25519::Recipient) -> Self {
        Self(recipient)
    }
}

impl fmt::Display for Recipient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl fmt::Debug for Recipient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Recipient({})", self.0)
    }
}

impl FromStr for Recipient {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        age::x25519::Recipient::from_str(s.trim())
            .map(Recipient)
            .map_err(|_| "not an age X25519 recipient (age1…)".to_string())
    }
}

impl serde::Serialize for Recipient {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&self.0)
    }
}

impl<'de> serde::Deserialize<'de> for Recipient {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// Builds an age identity from 32 secret bytes (a derived key). age has no
/// constructor from bytes, so the bytes take the same path a key file does:
/// Bech32 text, then the library's own parser.
pub(crate) fn identity_from_bytes(bytes: &[u8; 32]) -> age::x25519::Identity {
    const HRP: bech32::Hrp = bech32::Hrp::parse_unchecked("age-secret-key-");
    // Invariant: 32 bytes under a fixed, valid prefix always encode, and the
    // encoding of 32 bytes is always a valid age identity.
    #[allow(clippy::expect_used)]
    let text =
        Zeroizing::new(bech32::encode::<bech32::Bech32>(HRP, bytes).expect("32 bytes always encode").to_uppercase());
    #[allow(clippy::expect_used)]
    age::x25519::Identity::from_str(&text).expect("32 bytes are always an X25519 key")
}

macro_rules! secret_identity {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        pub struct $name(age::x25519::Identity);

        impl $name {
            /// A fresh identity from the OS CSPRNG.
            pub fn generate() -> Self {
                Self(age::x25519::Identity::generate())
            }

            /// The public half, to seal to.
            pub fn recipient(&self) -> Recipient {
                Recipient(self.0.to_public())
            }

            /// The identity as `AGE-SECRET-KEY-1…` text. Only for sealing it
            /// (wrapping) or writing it where the operator asked.
            pub fn to_secret_text(&self) -> SecretString {
                SecretString::from(self.0.to_string().expose_secret().to_string())
            }

            /// Parses `AGE-SECRET-KEY-1…` text.
            pub fn from_secret_text(text: &str) -> Result<Self, InvalidIdentity> {
                age::x25519::Identity::from_str(text.trim())
                    .map(Self)
                    .map_err(|_| InvalidIdentity)
            }
        }

        impl Opener for $name {
            fn age_identity(&self) -> &age::x25519::Identity {
                &self.0
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!(stringify!($name), "({})"), self.recipient())
            }
        }
    };
}

secret_identity!(
    /// The organization recovery key. Its identity is written once, to the
    /// file the operator names at `init`, and never kept by the server.
    RecoveryIdentity
);

secret_identity!(
    /// A desk's key: opens the statements of one team. Stored only wrapped
    /// (sealed to the recovery key and to each member's personal key).
    DeskIdentity
);

/// Text that is not an age X25519 identity. Says nothing about the text.
#[derive(Debug, thiserror::Error)]
#[error("not an age identity (AGE-SECRET-KEY-1…)")]
pub struct InvalidIdentity;

/// Reads an age identity file (`age-keygen` format: `#` comments and one
/// `AGE-SECRET-KEY-1…` line). Errors name the file, never its contents.
pub fn read_identity_file(path: &Path) -> Result<RecoveryIdentity, String> {
    let text = Zeroizing::new(
        std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read the key file {}: {}", path.display(), e.kind()))?,
    );
    let mut keys = text.lines().map(str::trim).filter(|line| !line.is_empty() && !line.starts_with('#'));
    match (keys.next(), keys.next()) {
        (Some(line), None) => RecoveryIdentity::from_secret_text(line)
            .map_err(|_| format!("{} does not hold an age identity", path.display())),
        (None, _) => Err(format!("{} holds no age identity", path.display())),
        (Some(_), Some(_)) => Err(format!("{} holds more than one key; give a file with exactly one", path.display())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_from_bytes_is_deterministic_and_parses_back() {
        let a = identity_from_bytes(&[7u8; 32]);
        let b = identity_from_bytes(&[7u8; 32]);
        assert_eq!(a.to_public().to_string(), b.to_public().to_string());
        let c = identity_from_bytes(&[8u8; 32]);
        assert_ne!(a.to_public().to_string(), c.to_public().to_string());
    }

    #[test]
    fn debug_shows_only_the_public_half() {
        let desk = DeskIdentity::generate();
        let shown = format!("{desk:?}");
        assert!(shown.contains("age1"));
        assert!(!shown.to_uppercase().contains("AGE-SECRET-KEY"));
    }

    #[test]
    fn recipient_round_trips_through_serde() {
        let r = DeskIdentity::generate().recipient();
        let json = serde_json::to_string(&r).unwrap();
        let back: Recipient = serde_json::from_str(&json).unwrap();
        assert_eq!(r, back);
    }
}
