//! `testimony public-key` and `testimony verify-manifest`: what a witness,
//! a lawyer or a court needs to check a receipt's evidence manifest with
//! nothing but this binary and the organization's published key.

use std::path::Path;

use crate::audit;
use crate::crypto::VerifyingKey;
use crate::intake::manifest::SignedManifest;

/// Prints the signing key. Read from the audit log's first record, which
/// commits to it, so this works while the server runs.
pub fn public_key(data: &Path) -> Result<(), String> {
    if !audit::exists(data) {
        return Err(format!("{} has no audit log; is it a testimony data directory?", data.display()));
    }
    let summary = audit::verify_file(&audit::log_path(data), None).map_err(|e| e.to_string())?;
    println!("{}", summary.signing_key);
    Ok(())
}

pub fn verify_manifest(file: &Path, public_key: Option<&str>) -> Result<(), String> {
    let trusted: Option<VerifyingKey> =
        public_key.map(|k| k.parse().map_err(|e| format!("--public-key: {e}"))).transpose()?;
    let bytes = std::fs::read(file).map_err(|e| format!("cannot read {}: {}", file.display(), e.kind()))?;
    let signed = SignedManifest::verify(&bytes, trusted.as_ref())
        .map_err(|why| format!("{}: NOT VALID: {why}", file.display()))?;
    let m = &signed.manifest;
    println!(
        "valid: submission {} received {}, statement {} bytes, {} file(s), signed by {}",
        m.submission,
        m.received,
        m.statement.bytes,
        m.files.len(),
        signed.public_key
    );
    for f in &m.files {
        println!("file {}: {} bytes, sha256 {}", f.index, f.bytes, f.sha256);
    }
    if trusted.is_none() {
        println!("check that {} is the organization's published key (or pass --public-key)", signed.public_key);
    }
    Ok(())
}
