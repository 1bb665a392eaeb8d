//! The server's ed25519 signing key: signs evidence manifests and audit
//! checkpoints so anyone holding the published public key can check them.
//!
//! Unlike the age keys, the server must use this key unattended, so it is
//! kept in the data directory. Whoever seizes the disk can therefore sign
//! new manifests, but cannot change what was signed before and handed out;
//! SECURITY.md states this and how to rotate.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::{Signer as _, Verifier as _};
use zeroize::Zeroizing;

use super::random::random_array;

const PUBLIC_PREFIX: &str = "ed25519:";

pub struct SigningKey(ed25519_dalek::SigningKey);

impl SigningKey {
    pub fn generate() -> Self {
        let seed = Zeroizing::new(random_array::<32>());
        Self(ed25519_dalek::SigningKey::from_bytes(&seed))
    }

    pub fn from_seed(seed: &[u8]) -> Result<Self, String> {
        let seed: Zeroizing<[u8; 32]> =
            Zeroizing::new(seed.try_into().map_err(|_| "the stored signing key has the wrong length".to_string())?);
        Ok(Self(ed25519_dalek::SigningKey::from_bytes(&seed)))
    }

    /// The 32-byte seed, for storing. Wiped when dropped.
    pub fn seed(&self) -> Zeroizing<[u8; 32]> {
        Zeroizing::new(self.0.to_bytes())
    }

    pub fn verifying_key(&self) -> VerifyingKey {
        VerifyingKey(self.0.verifying_key())
    }

    /// Signs `message` and returns the signature as base64 text.
    pub fn sign(&self, message: &[u8]) -> String {
        STANDARD.encode(self.0.sign(message).to_bytes())
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SigningKey({})", self.verifying_key())
    }
}

/// The public half, published as `ed25519:BASE64`.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct VerifyingKey(ed25519_dalek::VerifyingKey);

impl VerifyingKey {
    /// Checks a base64 signature over `message`.
    pub fn verify(&self, message: &[u8], signature_b64: &str) -> bool {
        let Ok(bytes) = STANDARD.decode(signature_b64.trim()) else {
            return false;
        };
        let Ok(signature) = ed25519_dalek::Signature::from_slice(&bytes) else {
            return false;
        };
        self.0.verify(message, &signature).is_ok()
    }
}

impl fmt::Display for VerifyingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{PUBLIC_PREFIX}{}", STANDARD.encode(self.0.as_bytes()))
    }
}

impl fmt::Debug for VerifyingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl std::str::FromStr for VerifyingKey {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let encoded =
            s.trim().strip_prefix(PUBLIC_PREFIX).ok_or_else(|| format!("a public key starts with {PUBLIC_PREFIX}"))?;
        let bytes: [u8; 32] = STANDARD
            .decode(encoded)
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| "not a 32-byte base64 ed25519 public key".to_string())?;
        ed25519_dalek::VerifyingKey::from_bytes(&bytes)
            .map(Self)
            .map_err(|_| "not a valid ed25519 public key".to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_verify_and_changes_are_caught() {
        let key = SigningKey::generate();
        let public = key.verifying_key();
        let sig = key.sign(b"manifest");
        assert!(public.verify(b"manifest", &sig));
        assert!(!public.verify(b"manifesT", &sig));
        assert!(!SigningKey::generate().verifying_key().verify(b"manifest", &sig));
        assert!(!public.verify(b"manifest", "not base64!"));
    }

    #[test]
    fn public_key_text_round_trips() {
        let public = SigningKey::generate().verifying_key();
        let back: VerifyingKey = public.to_string().parse().unwrap();
        assert_eq!(public, back);
    }

    #[test]
    fn seed_round_trips() {
        let key = SigningKey::generate();
        let again = SigningKey::from_seed(key.seed().as_ref()).unwrap();
        assert_eq!(key.verifying_key(), again.verifying_key());
    }
}
