//! `testimony public-key` and `testimony verify-manifest`: what a witness,
//! a lawyer or a court needs to check a receipt's evidence manifest, or the
//! proof of files added later, with nothing but this binary and the
//! organization's published key.

use std::path::Path;

use crate::audit;
use crate::crypto::VerifyingKey;
use crate::intake::manifest::Evidence;

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

/// Checks a signed file of either kind, the evidence manifest of a
/// statement or the proof of an addition of files, and says which it was.
pub fn verify_manifest(file: &Path, public_key: Option<&str>) -> Result<(), String> {
    let trusted: Option<VerifyingKey> =
        public_key.map(|k| k.parse().map_err(|e| format!("--public-key: {e}"))).transpose()?;
    let bytes = std::fs::read(file).map_err(|e| format!("cannot read {}: {}", file.display(), e.kind()))?;
    let evidence =
        Evidence::verify(&bytes, trusted.as_ref()).map_err(|why| format!("{}: NOT VALID: {why}", file.display()))?;
    let (files, public_key) = match &evidence {
        Evidence::Manifest(signed) => {
            let m = &signed.manifest;
            println!(
                "valid: evidence manifest ({}) of submission {} received {}, statement {} bytes, {} file(s), signed by {}",
                m.format,
                m.submission,
                m.received,
                m.statement.bytes,
                m.files.len(),
                signed.public_key
            );
            (&m.files, &signed.public_key)
        }
        Evidence::Addition(signed) => {
            let a = &signed.addition;
            println!(
                "valid: addition {} ({}) to submission {} received {}, {} file(s), signed by {}",
                a.sequence,
                a.format,
                a.submission,
                a.received,
                a.files.len(),
                signed.public_key
            );
            (&a.files, &signed.public_key)
        }
    };
    for f in files {
        println!("file {}: {} bytes, sha256 {}", f.index, f.bytes, f.sha256);
    }
    if trusted.is_none() {
        println!("check that {public_key} is the organization's published key (or pass --public-key)");
    }
    Ok(())
}
