//! The evidence manifest: what was received (the statement and each file,
//! with size and SHA-256), on which day, under which submission id, signed
//! with the server's ed25519 key. A witness keeps it with the receipt; a
//! court or anyone else checks it offline with `testimony verify-manifest`
//! and the organization's published public key.
//!
//! Files a witness adds later through the receipt get a signed proof of
//! their own, an [`Addition`]: the submission id, the day, the addition's
//! number (1, 2, … in the order they were received) and each file, numbered
//! on from the files before it. The two kinds are told apart by their
//! `format`, which is part of what is signed, so one kind never passes for
//! the other.
//!
//! The file is one line of compact JSON, and verification demands the exact
//! canonical bytes, so changing any byte, even white space, fails it.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::crypto::{SigningKey, VerifyingKey};

pub const FORMAT: &str = "testimony-evidence-manifest-v1";
pub const ADDITION_FORMAT: &str = "testimony-evidence-addition-v1";

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

/// Files added to a submission later, through the receipt.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Addition {
    pub format: String,
    pub submission: String,
    /// The day received (UTC); never the time.
    pub received: String,
    /// 1 for the first addition, 2 for the next, …
    pub sequence: usize,
    /// Numbered on from the submission's earlier files.
    pub files: Vec<FileDigest>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignedAddition {
    pub addition: Addition,
    pub public_key: String,
    pub signature: String,
}

fn canonical<T: Serialize>(value: &T) -> String {
    // Invariant: these structs hold only strings and integers.
    #[allow(clippy::expect_used)]
    serde_json::to_string(value).expect("manifests always serialize")
}

/// A signed document of either kind: what is signed, and the signature.
trait Signed: Serialize + DeserializeOwned {
    type Body: Serialize;
    const FORMAT: &'static str;
    fn body(&self) -> &Self::Body;
    fn format(&self) -> &str;
    fn public_key(&self) -> &str;
    fn signature(&self) -> &str;
}

impl Signed for SignedManifest {
    type Body = Manifest;
    const FORMAT: &'static str = FORMAT;
    fn body(&self) -> &Manifest {
        &self.manifest
    }
    fn format(&self) -> &str {
        &self.manifest.format
    }
    fn public_key(&self) -> &str {
        &self.public_key
    }
    fn signature(&self) -> &str {
        &self.signature
    }
}

impl Signed for SignedAddition {
    type Body = Addition;
    const FORMAT: &'static str = ADDITION_FORMAT;
    fn body(&self) -> &Addition {
        &self.addition
    }
    fn format(&self) -> &str {
        &self.addition.format
    }
    fn public_key(&self) -> &str {
        &self.public_key
    }
    fn signature(&self) -> &str {
        &self.signature
    }
}

/// Checks a signed file byte for byte: its format, its canonical form (with
/// or without the final newline), and the signature, by `trusted` when
/// given, else by the key the file names.
fn verify_signed<S: Signed>(text: &str, trusted: Option<&VerifyingKey>) -> Result<S, String> {
    let signed: S =
        serde_json::from_str(text.trim_end_matches('\n')).map_err(|e| format!("not a testimony manifest: {e}"))?;
    if signed.format() != S::FORMAT {
        return Err(format!("unknown manifest format {:?}", signed.format()));
    }
    let canonical_text = canonical(&signed);
    if format!("{canonical_text}\n") != text && canonical_text != text {
        return Err("the file has been changed (it is not byte for byte what was signed)".into());
    }
    let named: VerifyingKey = signed.public_key().parse().map_err(|e| format!("the manifest's public key: {e}"))?;
    if let Some(trusted) = trusted
        && *trusted != named
    {
        return Err(format!("signed by {named}, not by the key you trust ({trusted})"));
    }
    if !named.verify(canonical(signed.body()).as_bytes(), signed.signature()) {
        return Err("the signature does not match: the manifest has been changed".into());
    }
    Ok(signed)
}

fn utf8(bytes: &[u8]) -> Result<&str, String> {
    std::str::from_utf8(bytes).map_err(|_| "not a manifest: not UTF-8 text".to_string())
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
        verify_signed(utf8(bytes)?, trusted)
    }
}

impl SignedAddition {
    pub fn sign(addition: Addition, key: &SigningKey) -> SignedAddition {
        let signature = key.sign(canonical(&addition).as_bytes());
        SignedAddition { addition, public_key: key.verifying_key().to_string(), signature }
    }

    /// The file's contents: canonical JSON and a newline.
    pub fn to_file_text(&self) -> String {
        format!("{}\n", canonical(self))
    }

    /// Checks an addition's proof byte for byte, as
    /// [`SignedManifest::verify`] does.
    pub fn verify(bytes: &[u8], trusted: Option<&VerifyingKey>) -> Result<SignedAddition, String> {
        verify_signed(utf8(bytes)?, trusted)
    }
}

/// A signed file of either kind, as `testimony verify-manifest` finds it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Evidence {
    Manifest(SignedManifest),
    Addition(SignedAddition),
}

impl Evidence {
    /// Checks a signed file of either kind byte for byte; which kind it is
    /// comes from the file, and the kind's own checks then apply in full.
    pub fn verify(bytes: &[u8], trusted: Option<&VerifyingKey>) -> Result<Evidence, String> {
        let text = utf8(bytes)?;
        let value: serde_json::Value =
            serde_json::from_str(text.trim_end_matches('\n')).map_err(|e| format!("not a testimony manifest: {e}"))?;
        if value.get("addition").is_some() {
            verify_signed(text, trusted).map(Evidence::Addition)
        } else {
            verify_signed(text, trusted).map(Evidence::Manifest)
        }
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

    fn sample_addition(key: &SigningKey) -> SignedAddition {
        SignedAddition::sign(
            Addition {
                format: ADDITION_FORMAT.into(),
                submission: "ab".repeat(16),
                received: "2026-12-02".into(),
                sequence: 2,
                files: vec![
                    FileDigest { index: 3, bytes: 7, sha256: "22".repeat(32) },
                    FileDigest { index: 4, bytes: 9, sha256: "33".repeat(32) },
                ],
            },
            key,
        )
    }

    #[test]
    fn an_addition_verifies_and_every_changed_byte_fails() {
        let key = SigningKey::generate();
        let text = sample_addition(&key).to_file_text();
        assert!(text.starts_with("{\"addition\":{\"format\":\"testimony-evidence-addition-v1\""), "{text}");
        assert!(SignedAddition::verify(text.as_bytes(), Some(&key.verifying_key())).is_ok());
        assert!(matches!(Evidence::verify(text.as_bytes(), None), Ok(Evidence::Addition(_))));
        for i in 0..text.len() - 1 {
            let mut bytes = text.as_bytes().to_vec();
            bytes[i] ^= 0x01;
            assert!(Evidence::verify(&bytes, None).is_err(), "byte {i} changed unnoticed");
        }
        let other = SigningKey::generate().verifying_key();
        assert!(Evidence::verify(text.as_bytes(), Some(&other)).is_err());
    }

    #[test]
    fn one_kind_never_passes_for_the_other() {
        let key = SigningKey::generate();
        let manifest = sample(&key).to_file_text();
        let addition = sample_addition(&key).to_file_text();
        assert!(matches!(Evidence::verify(manifest.as_bytes(), None), Ok(Evidence::Manifest(_))));
        assert!(SignedAddition::verify(manifest.as_bytes(), None).is_err());
        assert!(SignedManifest::verify(addition.as_bytes(), None).is_err());
        // The signature covers the format: an addition relabelled as a
        // manifest's format (or the reverse) is refused.
        let relabelled = addition.replace(ADDITION_FORMAT, FORMAT);
        assert!(Evidence::verify(relabelled.as_bytes(), None).is_err());
        let forged = SignedAddition {
            addition: Addition { format: FORMAT.into(), ..sample_addition(&key).addition },
            ..sample_addition(&key)
        };
        assert!(Evidence::verify(forged.to_file_text().as_bytes(), None).is_err());
    }

    #[test]
    fn another_key_is_refused_when_a_key_is_trusted() {
        let key = SigningKey::generate();
        let text = sample(&key).to_file_text();
        let other = SigningKey::generate().verifying_key();
        assert!(SignedManifest::verify(text.as_bytes(), Some(&other)).is_err());
    }
}
