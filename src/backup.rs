//! Backups: one file holding a copy of a data directory that `restore` can
//! turn back into a working one. Ciphertext only: sealed records and
//! objects as they are on disk, the clear metadata beside them, and the
//! audit log. (Like the data directory, it also holds the signing key and
//! the receipt lookup key; see SECURITY.md.)
//!
//! Layout: the line `testimony-backup 1`, then entries, each a JSON header
//! line, objects and the audit log followed by exactly the bytes their
//! header announces and a newline, and a final `end` entry with counts, so a
//! cut-off file is refused rather than half restored.
//!
//! Taken while the server runs, it goes through the control socket: the
//! server writes it from its own open store. Records are read first, then
//! objects (which are committed before the records that name them), then
//! the audit log up to its last complete line.

use std::fs;
use std::io::{self, BufRead, Read, Write};
use std::path::Path;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};

use crate::storage::{ObjectId, Store, create_private_dir, sync_dir};

const MAGIC: &str = "testimony-backup 1";

#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
enum Entry {
    Record { tree: String, key: String, value: String },
    Object { id: String, bytes: u64 },
    Audit { bytes: u64 },
    End { records: u64, objects: u64 },
}

fn line(out: &mut impl Write, entry: &Entry) -> io::Result<()> {
    serde_json::to_writer(&mut *out, entry)?;
    out.write_all(b"\n")
}

/// What a backup holds.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    pub records: u64,
    pub objects: u64,
    pub audit_bytes: u64,
}

/// Writes a backup of an open store to `out`.
pub fn write(store: &Store, out: &mut impl Write) -> Result<Counts, String> {
    let fail = |e: io::Error| format!("writing the backup failed: {e}");
    let mut counts = Counts::default();
    writeln!(out, "{MAGIC}").map_err(fail)?;
    store
        .for_each_record(|tree, key, value| {
            counts.records += 1;
            line(out, &Entry::Record { tree: tree.into(), key: STANDARD.encode(key), value: STANDARD.encode(value) })
        })
        .map_err(|e| e.to_string())?;
    for id in store.objects().list().map_err(|e| e.to_string())? {
        let bytes = store.objects().len(&id).map_err(|e| e.to_string())?;
        line(out, &Entry::Object { id: id.0.clone(), bytes }).map_err(fail)?;
        let copied =
            io::copy(&mut store.objects().read(&id).map_err(|e| e.to_string())?.take(bytes), out).map_err(fail)?;
        if copied != bytes {
            return Err(format!("object {} changed while it was being copied", id.0));
        }
        out.write_all(b"\n").map_err(fail)?;
        counts.objects += 1;
    }
    let log = fs::read(crate::audit::log_path(store.dir())).map_err(|e| format!("cannot read the audit log: {e}"))?;
    let complete = log.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
    line(out, &Entry::Audit { bytes: complete as u64 }).map_err(fail)?;
    out.write_all(&log[..complete]).map_err(fail)?;
    out.write_all(b"\n").map_err(fail)?;
    counts.audit_bytes = complete as u64;
    line(out, &Entry::End { records: counts.records, objects: counts.objects }).map_err(fail)?;
    out.flush().map_err(fail)?;
    Ok(counts)
}

/// Restores a backup into `dir`, which must not exist or be empty. The
/// FORMAT marker is written last: an interrupted restore leaves a directory
/// that nothing will open.
pub fn restore(input: &mut impl BufRead, dir: &Path) -> Result<Counts, String> {
    if let Ok(mut entries) = fs::read_dir(dir)
        && entries.next().is_some()
    {
        return Err(format!("refusing to restore into {}: it exists and is not empty", dir.display()));
    }
    let mut first = String::new();
    input.read_line(&mut first).map_err(|e| e.to_string())?;
    if first.trim_end() != MAGIC {
        return Err("this is not a testimony backup".into());
    }
    create_private_dir(dir).map_err(|e| e.to_string())?;
    let store = Store::create_for_restore(dir).map_err(|e| e.to_string())?;
    let damaged = || "the backup is damaged or cut short".to_string();
    let mut counts = Counts::default();
    loop {
        let mut header = String::new();
        if input.read_line(&mut header).map_err(|e| e.to_string())? == 0 {
            return Err(damaged());
        }
        let entry: Entry = serde_json::from_str(header.trim_end()).map_err(|_| damaged())?;
        match entry {
            Entry::Record { tree, key, value } => {
                let key = STANDARD.decode(key).map_err(|_| damaged())?;
                let value = STANDARD.decode(value).map_err(|_| damaged())?;
                store.restore_record(&tree, &key, &value).map_err(|e| e.to_string())?;
                counts.records += 1;
            }
            Entry::Object { id, bytes } => {
                let mut body = (&mut *input).take(bytes);
                store.objects().restore(&ObjectId(id), &mut body).map_err(|e| e.to_string())?;
                if body.limit() != 0 {
                    return Err(damaged());
                }
                expect_newline(input)?;
                counts.objects += 1;
            }
            Entry::Audit { bytes } => {
                let audit_dir = dir.join("audit");
                create_private_dir(&audit_dir).map_err(|e| e.to_string())?;
                let partial = audit_dir.join(".log.partial");
                let mut file = fs::File::create(&partial).map_err(|e| e.to_string())?;
                let copied = io::copy(&mut (&mut *input).take(bytes), &mut file).map_err(|e| e.to_string())?;
                if copied != bytes {
                    return Err(damaged());
                }
                file.sync_all().map_err(|e| e.to_string())?;
                fs::rename(&partial, crate::audit::log_path(dir)).map_err(|e| e.to_string())?;
                sync_dir(&audit_dir).map_err(|e| e.to_string())?;
                expect_newline(input)?;
                counts.audit_bytes = bytes;
            }
            Entry::End { records, objects } => {
                if records != counts.records || objects != counts.objects || counts.audit_bytes == 0 {
                    return Err(damaged());
                }
                break;
            }
        }
    }
    store.complete_init().map_err(|e| e.to_string())?;
    Ok(counts)
}

fn expect_newline(input: &mut impl BufRead) -> Result<(), String> {
    let mut nl = [0u8; 1];
    input.read_exact(&mut nl).map_err(|_| "the backup is damaged or cut short".to_string())?;
    if nl[0] != b'\n' {
        return Err("the backup is damaged or cut short".into());
    }
    Ok(())
}
