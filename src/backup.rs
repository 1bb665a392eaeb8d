//! Backups: one file holding a copy of a data directory that `restore` can
//! turn back into a working one. Ciphertext only: sealed records and
//! objects as they are on disk, the clear metadata beside them, and the
//! audit log. (Like the data directory, it also holds the signing key and
//! the receipt lookup key; see SECURITY.md.)
//!
//! Layout (format 2):
//!
//! ```text
//! testimony-backup 2
//! {"kind":"record","tree":T,"key_bytes":K,"bytes":N,"sha256":H}  then N bytes (key, value) and \n
//! {"kind":"object","id":ID,"bytes":N,"sha256":H}                 then N bytes and \n
//! {"kind":"audit","bytes":N,"sha256":H}                          then N bytes and \n
//! {"kind":"end","entries":E,"records":R,"objects":O,"audit_bytes":A,"sha256":W}
//! ```
//!
//! Each entry's `sha256` covers its header fields and its payload (see
//! [`EntryDigest`]), so a damaged byte anywhere in an entry is named with
//! that entry; the end entry carries counts and `W`, the SHA-256 of every
//! byte before the end line, so a cut, a dropped or a repeated entry is
//! refused too. The reader ([`read`]) checks all of it, and the audit
//! chain inside, before a restore is renamed into place. These hashes catch
//! damage (a bad disk, a cut copy), not a forger: anyone can recompute
//! them. The audit chain and a checkpoint kept elsewhere are what catch a
//! rewritten history (`audit verify --checkpoint` on the restored data).
//!
//! Format 1 (before these hashes) is refused with a message saying so: it
//! cannot be checked for damage, and a restore that may silently carry a
//! flipped byte into the organization's only copy is worse than a clear
//! refusal. Restore such a file with the release that wrote it, then take
//! a new backup.
//!
//! Taken while the server runs, it goes through the control socket: the
//! server writes it from its own open store. Records are read first, then
//! objects (which are committed before the records that name them), then
//! the audit log up to its last complete line.

mod read;

use std::fs;
use std::io::{self, Read, Write};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::crypto::hex;
use crate::storage::Store;

pub use read::{BackupError, Check, Contents, Position, read, restore};

const MAGIC: &str = "testimony-backup";
/// The format this build writes and reads.
pub const VERSION: u32 = 2;
const ENTRY_DOMAIN: &[u8] = b"testimony-backup 2 entry\0";

#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
enum Header {
    Record { tree: String, key_bytes: u64, bytes: u64, sha256: String },
    Object { id: String, bytes: u64, sha256: String },
    Audit { bytes: u64, sha256: String },
    End { entries: u64, records: u64, objects: u64, audit_bytes: u64, sha256: String },
}

/// The hash an entry carries: SHA-256 over a domain label, the entry's
/// kind, name (tree or object id), key length and payload length (each
/// field length-prefixed), then the payload. Covering the header's fields
/// means a damaged tree name, id or length is caught at its own entry.
struct EntryDigest(Sha256);

impl EntryDigest {
    fn new(kind: &str, name: &str, key_bytes: u64, bytes: u64) -> EntryDigest {
        let mut hash = Sha256::new();
        hash.update(ENTRY_DOMAIN);
        for field in [kind.as_bytes(), name.as_bytes()] {
            hash.update((field.len() as u64).to_be_bytes());
            hash.update(field);
        }
        hash.update(key_bytes.to_be_bytes());
        hash.update(bytes.to_be_bytes());
        EntryDigest(hash)
    }

    fn update(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }

    fn hex(self) -> String {
        hex(&self.0.finalize())
    }
}

impl Write for EntryDigest {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.update(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Everything written goes through the running hash of the end entry.
struct Hashing<W> {
    inner: W,
    running: Sha256,
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.running.update(&buf[..n]);
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

fn header(out: &mut impl Write, header: &Header) -> io::Result<()> {
    serde_json::to_writer(&mut *out, header)?;
    out.write_all(b"\n")
}

/// What a backup written by [`write`] holds.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    pub records: u64,
    pub objects: u64,
    pub audit_bytes: u64,
}

/// Writes a backup of an open store to `out`.
pub fn write(store: &Store, out: &mut impl Write) -> Result<Counts, String> {
    let fail = |e: io::Error| format!("writing the backup failed: {e}");
    let mut out = Hashing { inner: out, running: Sha256::new() };
    let mut counts = Counts::default();
    writeln!(out, "{MAGIC} {VERSION}").map_err(fail)?;
    store
        .for_each_record(|tree, key, value| {
            let bytes = (key.len() + value.len()) as u64;
            let mut digest = EntryDigest::new("record", tree, key.len() as u64, bytes);
            digest.update(key);
            digest.update(value);
            let sha256 = digest.hex();
            header(&mut out, &Header::Record { tree: tree.into(), key_bytes: key.len() as u64, bytes, sha256 })?;
            out.write_all(key)?;
            out.write_all(value)?;
            out.write_all(b"\n")?;
            counts.records += 1;
            Ok(())
        })
        .map_err(|e| e.to_string())?;
    for id in store.objects().list().map_err(|e| e.to_string())? {
        let bytes = store.objects().len(&id).map_err(|e| e.to_string())?;
        // Two passes: the header carries the payload's hash, and an object
        // can be 1 GiB, too big to hold. Committed objects never change, so
        // both passes read the same bytes; if a purge removes one between
        // them, the copy fails and the backup with it.
        let mut digest = EntryDigest::new("object", &id.0, 0, bytes);
        let hashed = io::copy(&mut store.objects().read(&id).map_err(|e| e.to_string())?.take(bytes), &mut digest)
            .map_err(fail)?;
        header(&mut out, &Header::Object { id: id.0.clone(), bytes, sha256: digest.hex() }).map_err(fail)?;
        let copied =
            io::copy(&mut store.objects().read(&id).map_err(|e| e.to_string())?.take(bytes), &mut out).map_err(fail)?;
        if copied != bytes || hashed != bytes {
            return Err(format!("object {} changed while it was being copied", id.0));
        }
        out.write_all(b"\n").map_err(fail)?;
        counts.objects += 1;
    }
    let log = fs::read(crate::audit::log_path(store.dir())).map_err(|e| format!("cannot read the audit log: {e}"))?;
    let complete = log.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
    let log = &log[..complete];
    let mut digest = EntryDigest::new("audit", "", 0, log.len() as u64);
    digest.update(log);
    header(&mut out, &Header::Audit { bytes: log.len() as u64, sha256: digest.hex() }).map_err(fail)?;
    out.write_all(log).map_err(fail)?;
    out.write_all(b"\n").map_err(fail)?;
    counts.audit_bytes = log.len() as u64;
    let running = hex(&out.running.clone().finalize());
    let end = Header::End {
        entries: counts.records + counts.objects + 1,
        records: counts.records,
        objects: counts.objects,
        audit_bytes: counts.audit_bytes,
        sha256: running,
    };
    header(&mut out, &end).map_err(fail)?;
    out.flush().map_err(fail)?;
    Ok(counts)
}
