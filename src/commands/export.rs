//! `testimony export --data DIR --recovery-key FILE --out DIR`: offline,
//! with the organization recovery key, every statement as JSON and every
//! file as it was sent. Works whether or not the server runs (records come
//! through its control socket when it does).
//!
//! The output is plaintext testimony: it is meant for an offline machine,
//! is created 0700, and must never be made on the server itself.

use std::fs;
use std::io::{IsTerminal, Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use serde_json::{Value, json};

use crate::cli::ExportArgs;
use crate::crypto::{self, RecoveryIdentity, read_identity_file};
use crate::storage::{ObjectStore, SubmissionRecord, create_private_dir};

pub fn run(args: &ExportArgs) -> Result<(), String> {
    let recovery = read_identity_file(&args.recovery_key)?;
    if let Ok(mut entries) = fs::read_dir(&args.out)
        && entries.next().is_some()
    {
        return Err(format!("refusing to export into {}: it exists and is not empty", args.out.display()));
    }
    // The export is audited before any record is read; the key is then
    // tried on one sealed part before anything is written.
    let records = crate::control::audited_export(&args.data)?;
    if let Some(sealed) = records.iter().find_map(|r| r.consent.first())
        && crypto::open(sealed.as_bytes(), &recovery).is_err()
    {
        return Err(format!("{} is not this data directory's recovery key", args.recovery_key.display()));
    }
    create_private_dir(&args.out).map_err(|e| format!("cannot create {}: {e}", args.out.display()))?;
    let objects = ObjectStore::reader(&args.data);
    let total = records.len();
    let show_progress = std::io::stderr().is_terminal();
    let mut files = 0usize;
    for (n, record) in records.iter().enumerate() {
        files += export_one(record, &recovery, &objects, &args.out)?;
        if show_progress {
            let width = 30;
            let filled = (n + 1) * width / total.max(1);
            eprint!("\r[{}{}] {}/{} statements", "#".repeat(filled), ".".repeat(width - filled), n + 1, total);
        }
    }
    if show_progress {
        eprintln!();
    }
    println!("exported {total} statements and {files} files to {}", args.out.display());
    Ok(())
}

fn open_json(sealed: Option<&crypto::Sealed>, key: &RecoveryIdentity) -> Result<Value, String> {
    match sealed {
        None => Ok(Value::Null),
        Some(sealed) => {
            let plain = crypto::open(sealed.as_bytes(), key)
                .map_err(|e| format!("a sealed part does not open with this recovery key: {e}"))?;
            serde_json::from_slice(plain.as_bytes())
                .or_else(|_| Ok(Value::String(String::from_utf8_lossy(plain.as_bytes()).into_owned())))
        }
    }
}

fn write_private(path: &Path, bytes: &[u8]) -> Result<(), String> {
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    file.write_all(bytes).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

fn export_one(
    record: &SubmissionRecord,
    key: &RecoveryIdentity,
    objects: &ObjectStore,
    out: &Path,
) -> Result<usize, String> {
    let dir = out.join(&record.id);
    create_private_dir(&dir).map_err(|e| e.to_string())?;
    let thread: Vec<Value> = record
        .thread
        .iter()
        .map(|item| {
            Ok(json!({
                "author": item.author,
                "day": item.day,
                "message": open_json(Some(&item.message), key)?,
            }))
        })
        .collect::<Result<_, String>>()?;
    let consent: Vec<Value> = record.consent.iter().map(|c| open_json(Some(c), key)).collect::<Result<_, _>>()?;
    let mut doc = json!({
        "id": record.id,
        "desk": record.desk.0,
        "received": record.received,
        "state": record.state,
        "channel": record.channel,
        "statement": open_json(record.statement.as_ref(), key)?,
        "identity": open_json(record.identity.as_ref(), key)?,
        "consent_history": consent,
        "manifest": open_json(record.manifest.as_ref(), key)?,
        "additions": record.additions.iter().map(|a| open_json(Some(a), key)).collect::<Result<Vec<_>, _>>()?,
        "triage": open_json(record.triage.as_ref(), key)?,
        "thread": thread,
    });
    if record.example {
        // Made up by `testimony demo`: said so wherever it goes.
        doc["example"] = Value::Bool(true);
    }
    let text = zeroize::Zeroizing::new(serde_json::to_vec_pretty(&doc).map_err(|e| e.to_string())?);
    write_private(&dir.join("statement.json"), &text)?;
    let mut written = 0;
    for (i, file) in record.files.iter().enumerate() {
        for (object, suffix) in
            std::iter::once((&file.object, "original")).chain(file.cleaned.iter().map(|c| (c, "cleaned")))
        {
            let sealed = objects.read(object).map_err(|e| format!("file {} of {}: {e}", i + 1, record.id))?;
            let mut plain =
                crypto::open_stream(sealed, key).map_err(|e| format!("file {} of {}: {e}", i + 1, record.id))?;
            let path = dir.join(format!("file-{}-{suffix}.bin", i + 1));
            let mut outf = fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&path)
                .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
            let mut buf = vec![0u8; 64 * 1024];
            loop {
                let n = plain.read(&mut buf).map_err(|e| format!("file {} of {} is damaged: {e}", i + 1, record.id))?;
                if n == 0 {
                    break;
                }
                outf.write_all(&buf[..n]).map_err(|e| e.to_string())?;
            }
            written += 1;
        }
    }
    Ok(written)
}
