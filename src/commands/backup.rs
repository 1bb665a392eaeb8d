//! `testimony backup --data DIR --out FILE` and `testimony restore --from
//! FILE --data DIR`. A backup can be taken while the server runs (through
//! its control socket); it is audited first either way.

use std::fs;
use std::io::{BufReader, BufWriter, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::sync::Arc;

use crate::audit::{Actor, AuditLog, Event, NewEntry};
use crate::backup;
use crate::cli::{BackupArgs, RestoreArgs};
use crate::clock::SystemClock;
use crate::storage::{StorageError, Store, sync_dir};

pub fn backup(args: &BackupArgs) -> Result<(), String> {
    if args.out.exists() {
        return Err(format!("refusing to overwrite {}", args.out.display()));
    }
    let partial = args.out.with_extension("partial");
    let file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&partial)
        .map_err(|e| format!("cannot write {}: {e}", partial.display()))?;
    let result = (|| -> Result<(), String> {
        let mut out = BufWriter::new(&file);
        match Store::open(&args.data) {
            Ok(store) => {
                let audit = AuditLog::open(&store, Arc::new(SystemClock)).map_err(|e| e.to_string())?;
                audit
                    .append(NewEntry::by(Actor::System, Event::BackupTaken))
                    .map_err(|e| format!("cannot write the audit log, so no backup was taken: {e}"))?;
                backup::write(&store, &mut out)?;
            }
            Err(StorageError::InUse) => {
                let mut stream = crate::control::connect(&args.data, "backup")?;
                std::io::copy(&mut stream, &mut out).map_err(|e| e.to_string())?;
            }
            Err(e) => return Err(format!("{}: {e}", args.data.display())),
        }
        out.flush().map_err(|e| e.to_string())?;
        drop(out);
        // A backup that does not end with its `end` entry is incomplete.
        let text = fs::read(&partial).map_err(|e| e.to_string())?;
        let last = text.rsplit(|b| *b == b'\n').find(|l| !l.is_empty()).unwrap_or(&[]);
        if !last.starts_with(b"{\"kind\":\"end\"") {
            return Err("the backup is incomplete (the server could not write its audit entry or stopped)".into());
        }
        file.sync_all().map_err(|e| e.to_string())?;
        fs::rename(&partial, &args.out).map_err(|e| e.to_string())?;
        if let Some(parent) = args.out.parent().filter(|p| !p.as_os_str().is_empty()) {
            sync_dir(parent).map_err(|e| e.to_string())?;
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = fs::remove_file(&partial);
    }
    result?;
    println!("backup written to {}", args.out.display());
    Ok(())
}

pub fn restore(args: &RestoreArgs) -> Result<(), String> {
    let file = fs::File::open(&args.from).map_err(|e| format!("cannot read {}: {}", args.from.display(), e.kind()))?;
    let existed = args.data.exists();
    match backup::restore(&mut BufReader::new(file), &args.data) {
        Ok(counts) => {
            println!(
                "restored {} records, {} objects and the audit log into {}",
                counts.records,
                counts.objects,
                args.data.display()
            );
            Ok(())
        }
        Err(e) => {
            // Leave nothing half restored behind.
            if !existed {
                let _ = fs::remove_dir_all(&args.data);
            } else if let Ok(entries) = fs::read_dir(&args.data) {
                for entry in entries.flatten() {
                    let _ = fs::remove_dir_all(entry.path()).or_else(|_| fs::remove_file(entry.path()));
                }
            }
            Err(e)
        }
    }
}
