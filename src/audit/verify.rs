//! `testimony audit verify`: recomputes the chain, checks every checkpoint
//! signature, and, given a checkpoint saved elsewhere, checks that the log
//! still extends it. Reads the file only, so it works while the server
//! appends to it.

use std::path::Path;

use crate::crypto::VerifyingKey;

use super::chain::{Body, Checkpoint, GENESIS, Record};
use super::event::{Actor, Event};

/// An intact log, summarized.
#[derive(Debug, Clone)]
pub struct Summary {
    pub records: u64,
    pub checkpoints: u64,
    pub head: String,
    pub signing_key: String,
    pub last_checkpoint: Option<Checkpoint>,
    /// Records after the last checkpoint: chained, but not yet vouched for
    /// by a signature (a running server signs hourly and when it stops).
    pub unsigned_tail: u64,
}

/// The first problem found: where, and what.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {what}")]
pub struct Tampered {
    /// 1-based line of the log file (0 when the problem is the whole file).
    pub line: u64,
    pub what: String,
    /// The only problem is a torn last record: bytes after the last line
    /// end that are the beginning of the record due there, as a crash in
    /// the middle of a write leaves them. Every line before verified. Not
    /// tampering; the log's next writer cuts it (see `torn_write`).
    pub torn: bool,
}

fn bad(line: u64, what: impl Into<String>) -> Tampered {
    Tampered { line, what: what.into(), torn: false }
}

/// Whether `tail`, the bytes after the last line end of a log whose
/// records verified up to `seq` records ending in `head`, is what a write
/// cut off by a crash leaves: the beginning of the record due next
/// (record `seq`, following `head`), at most the whole of it without its
/// line end; or zeros, from a file system that grew the file before its
/// data reached the disk. Anything else there was not written by this
/// log's writer.
pub fn torn_write(tail: &[u8], seq: u64, head: &str) -> bool {
    if tail.is_empty() || tail.iter().all(|b| *b == 0) {
        return !tail.is_empty();
    }
    let mut values = serde_json::Deserializer::from_slice(tail).into_iter::<Record>();
    match values.next() {
        // All of it but the line end: it must be exactly the record due.
        Some(Ok(record)) => {
            record.to_line().as_bytes() == tail
                && record.seq == seq
                && record.prev == head
                && record.expected_hash() == record.hash
        }
        // A beginning: it ends early, and starts as the record due would.
        Some(Err(e)) if e.is_eof() => {
            let start = format!("{{\"seq\":{seq},");
            tail.starts_with(start.as_bytes()) || start.as_bytes().starts_with(tail)
        }
        _ => false,
    }
}

/// Verifies a whole log given as bytes. `saved` is a checkpoint kept off
/// the server, if any.
pub fn verify_bytes(bytes: &[u8], saved: Option<&Checkpoint>) -> Result<Summary, Tampered> {
    if bytes.is_empty() {
        return Err(bad(0, "the log is empty"));
    }
    // Every complete line is checked first; what follows the last line
    // end (nothing, in a log at rest) is judged once they verified.
    let complete = bytes.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
    let (bytes, tail) = bytes.split_at(complete);
    let summary = verify_lines(bytes, saved)?;
    if tail.is_empty() {
        return Ok(summary);
    }
    let line = summary.records + 1;
    if torn_write(tail, summary.records, &summary.head) {
        return Err(Tampered {
            line,
            what: format!(
                "{} bytes with no line end, the beginning of a record as a write cut off by a crash leaves it (not tampering: the {} records before it verify); the next `testimony serve` cuts it and records that it did",
                tail.len(),
                summary.records
            ),
            torn: true,
        });
    }
    Err(bad(line, "the last line is incomplete and is not the beginning of the record due there (altered or cut)"))
}

/// Verifies complete lines (`bytes` is empty or ends in a line end).
fn verify_lines(bytes: &[u8], saved: Option<&Checkpoint>) -> Result<Summary, Tampered> {
    let mut head = GENESIS.to_string();
    let mut key: Option<VerifyingKey> = None;
    let mut key_text = String::new();
    let (mut checkpoints, mut last_checkpoint) = (0u64, None);
    let mut saved_matched = false;
    let mut count = 0u64;

    let lines = bytes.strip_suffix(b"\n").map(|b| b.split(|c| *c == b'\n'));
    for (index, raw) in lines.into_iter().flatten().enumerate() {
        let line = index as u64 + 1;
        let seq = index as u64;
        let record: Record =
            serde_json::from_slice(raw).map_err(|_| bad(line, "not a valid audit record (altered bytes?)"))?;
        if record.to_line().as_bytes() != raw {
            return Err(bad(line, "the record is not in canonical form (altered bytes)"));
        }
        if record.seq != seq {
            return Err(bad(
                line,
                format!(
                    "sequence number {} where {seq} was expected (entries removed, added or reordered)",
                    record.seq
                ),
            ));
        }
        if record.prev != head {
            return Err(bad(line, "does not follow the previous record (chain broken)"));
        }
        if record.expected_hash() != record.hash {
            return Err(bad(line, "the record does not match its hash (altered)"));
        }
        match (&record.body, seq) {
            (Body::Entry { actor: Actor::System, event: Event::DataDirectoryCreated { signing_key }, .. }, 0) => {
                key =
                    Some(signing_key.parse().map_err(|_| bad(line, "the signing key in the first record is invalid"))?);
                key_text = signing_key.clone();
            }
            (_, 0) => return Err(bad(line, "the first record must be the creation of the data directory")),
            (Body::Checkpoint(cp), _) => {
                // Invariant: seq > 0 here, so the first record set the key.
                let signer = key.as_ref().ok_or_else(|| bad(line, "checkpoint before the signing key"))?;
                if cp.size != seq || cp.head != record.prev || cp.time != record.time {
                    return Err(bad(line, "the checkpoint does not describe the log before it"));
                }
                if !cp.is_signed_by(signer) {
                    return Err(bad(line, "the checkpoint's signature is invalid"));
                }
                checkpoints += 1;
                last_checkpoint = Some(cp.clone());
            }
            (Body::Entry { .. }, _) => {}
        }
        if let Some(cp) = saved
            && cp.size == seq
        {
            // The saved checkpoint was printed from this log, so the log must
            // still hold it, right here, describing the same history.
            if record.prev != cp.head {
                return Err(bad(line, "the log differs from the saved checkpoint here (history rewritten or forked)"));
            }
            if record.body != Body::Checkpoint(cp.clone()) {
                return Err(bad(line, "the saved checkpoint is not in the log where it belongs (rewritten)"));
            }
            saved_matched = true;
        }
        head = record.hash;
        count += 1;
    }

    if let Some(cp) = saved {
        // No line at all (a torn first record) leaves no key: refused here.
        let signer = key.as_ref().ok_or_else(|| bad(0, "the log has no signing key"))?;
        if !cp.is_signed_by(signer) {
            return Err(bad(0, "the saved checkpoint is not signed by this log's key"));
        }
        if !saved_matched {
            return Err(bad(
                count + 1,
                format!(
                    "the log has {count} records but the saved checkpoint is record {} (truncated or rolled back)",
                    cp.size + 1
                ),
            ));
        }
    }
    let unsigned_tail = count - last_checkpoint.as_ref().map_or(0, |cp| cp.size + 1);
    Ok(Summary { records: count, checkpoints, head, signing_key: key_text, last_checkpoint, unsigned_tail })
}

#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error("cannot read the audit log {0}: {1}")]
    Read(String, std::io::ErrorKind),
    #[error("the audit log has been tampered with at {0}")]
    Tampered(Tampered),
    /// A torn last record (see [`Tampered::torn`]): a crash, not tampering.
    #[error("the audit log ends in a torn record at {0}")]
    Torn(Tampered),
}

impl From<Tampered> for VerifyError {
    fn from(t: Tampered) -> Self {
        if t.torn { VerifyError::Torn(t) } else { VerifyError::Tampered(t) }
    }
}

/// Every record of a log file that parses, in order, whatever the state of
/// the chain (for display; `verify_file` says whether to trust them).
pub fn read_records(path: &Path) -> std::io::Result<Vec<Record>> {
    Ok(parse_records(&std::fs::read(path)?))
}

/// Every record of a log's bytes that parses, in order (see `read_records`).
pub fn parse_records(bytes: &[u8]) -> Vec<Record> {
    bytes.split(|b| *b == b'\n').filter(|l| !l.is_empty()).filter_map(|l| serde_json::from_slice(l).ok()).collect()
}

/// The log file's bytes. If its last line is still being written, reads
/// again briefly before taking it as it is. Whoever both verifies and
/// shows the log verifies and shows these same bytes, so that what it
/// says about the chain and what it shows agree even while the server
/// appends.
pub fn read_settled(path: &Path) -> Result<Vec<u8>, VerifyError> {
    let read = || std::fs::read(path).map_err(|e| VerifyError::Read(path.display().to_string(), e.kind()));
    let mut bytes = read()?;
    for _ in 0..20 {
        if bytes.last() == Some(&b'\n') || bytes.is_empty() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
        bytes = read()?;
    }
    Ok(bytes)
}

/// Verifies the log file. If its last line is still being written, reads
/// again briefly before calling it cut.
pub fn verify_file(path: &Path, saved: Option<&Checkpoint>) -> Result<Summary, VerifyError> {
    Ok(verify_bytes(&read_settled(path)?, saved)?)
}
