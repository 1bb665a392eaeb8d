//! The evidence manifest: what was received (the statement and each file,
//! with size and SHA-256), on which day, under which submission id, signed
//! with the server's ed25519 key. A witness keeps it with the receipt; a
//! court or anyone else checks it offline with `testimony verify-manifest`
//! and the organization's published public key.
//!
//! The file is one line of compact JSON, and verification demands the exact
//! canonical bytes, so changing any byte, even white space, fails it.

use serde::{Deserialize, Serialize};

use crate::crypto::{SigningKey, VerifyingKey};

pub const FORMAT: &str = "testimony-evidence-manifest-v1";

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Digest {
    pub bytes: u64,
    pub sha256: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileDigest {
    /// 1-based, in the order the files were sent.
    pub index: usize,
    pub bytes: u64,
    pub sha256: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub format: String,
    pub submission: String,
    /// The day received (UTC); never the time.
    pub received: String,
    pub statement: Digest,
    pub files: Vec<FileDigest>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignedManifest {
    pub manifest: Manifest,
    pub public_key: String,
    pub signature: String,
}

fn canonical<T: Serialize>(value: &T) -> String {
    // Invariant: these structs hold only strings and integers.
    #[allow(clippy::expect_used)]
    serde_json::to_string(value).expect("manifests always serialize")
}

impl SignedManifest {
    pub fn sign(manifest: Manifest, key: &SigningKey) -> SignedManifest {
        let signature = key.sign(canonical(&manifest).as_bytes());
        SignedManifest { manifest, public_key: key.verifying_key().to_string(), signature }
    }

    /// The file's contents: canonical JSON and a newline.
    pub fn to_file_text(&self) -> String {
        format!("{}\n", canonical(self))
    }

    /// Checks a manifest file byte for byte. With `trusted`, the signature
    /// must be by that key; without, by the key the file names (the caller
    /// must then compare it with the published one).
    pub fn verify(bytes: &[u8], trusted: Option<&VerifyingKey>) -> Result<SignedManifest, String> {
        let text = std::str::from_utf8(bytes).map_err(|_| "not a manifest: not UTF-8 text".to_string())?;
        let signed: SignedManifest =
            serde_json::from_str(text.trim_end_matches('\n')).map_err(|e| format!("not a testimony manifest: {e}"))?;
        if signed.manifest.format != FORMAT {
            return Err(format!("unknown manifest format {:?}", signed.manifest.format));
        }
        if signed.to_file_text() != text && canonical(&signed) != text {
            return Err("the file has been changed (it is not byte for byte what was signed)".into());
        }
        let named: VerifyingKey = signed.public_key.parse().map_err(|e| format!("the manifest's public key: {e}"))?;
        if let Some(trusted) = trusted
            && *trusted != named
        {
            return Err(format!("signed by {named}, not by the key you trust ({trusted})"));
        }
        if !named.verify(canonical(&signed.manifest).as_bytes(), &signed.signature) {
            return Err("the signature does not match: the manifest has been changed".into());
        }
        Ok(signed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(key: &SigningKey) -> SignedManifest {
        SignedManifest::sign(
            Manifest {
                format: FORMAT.into(),
                submission: "ab".repeat(16),
                received: "2026-11-29".into(),
                statement: Digest { bytes: 120, sha256: "00".repeat(32) },
                files: vec![FileDigest { index: 1, bytes: 5, sha256: "11".repeat(32) }],
            },
            key,
        )
    }

    #[test]
    fn a_manifest_verifies_and_every_changed_byte_fails() {
        let key = SigningKey::generate();
        let text = sample(&key).to_file_text();
        assert!(SignedManifest::verify(text.as_bytes(), Some(&key.verifying_key())).is_ok());
        assert!(SignedManifest::verify(text.as_bytes(), None).is_ok());
        for i in 0..text.len() - 1 {
            let mut bytes = text.as_bytes().to_vec();
            bytes[i] ^= 0x01;
            assert!(SignedManifest::verify(&bytes, None).is_err(), "byte {i} changed unnoticed");
        }
    }

    #[test]
    fn another_key_is_refused_when_a_key_is_trusted() {
        let key = SigningKey::generate();
        let text = sample(&key).to_file_text();
        let other = SigningKey::generate().verifying_key();
        assert!(SignedManifest::verify(text.as_bytes(), Some(&other)).is_err());
    }
}
