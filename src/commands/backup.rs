//! `testimony backup --data DIR --out FILE`, `testimony backup --verify
//! FILE` and `testimony restore --from FILE --data DIR`. A backup can be
//! taken while the server runs (through its control socket); it is audited
//! first either way, and checked once written.

use std::fs;
use std::io::{BufWriter, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::sync::Arc;

use crate::audit::{Actor, AuditLog, Event, NewEntry};
use crate::backup::{self, Check};
use crate::cli::{BackupArgs, RestoreArgs};
use crate::clock::SystemClock;
use crate::storage::{StorageError, Store, sync_dir};

pub fn backup(args: &BackupArgs) -> Result<(), String> {
    let (data, target) = match (&args.verify, &args.data, &args.out) {
        (Some(file), None, None) => return verify(file),
        (None, Some(data), Some(target)) => (data, target),
        // clap enforces this; kept so no combination slips through.
        _ => return Err("use either --data DIR --out FILE, or --verify FILE".into()),
    };
    if target.exists() {
        return Err(format!("refusing to overwrite {}", target.display()));
    }
    let (partial, file) = open_partial(target)?;
    let result = (|| -> Result<(), String> {
        let mut out = BufWriter::new(&file);
        match Store::open(data) {
            Ok(store) => {
                let audit = AuditLog::open(&store, Arc::new(SystemClock)).map_err(|e| e.to_string())?;
                audit
                    .append(NewEntry::by(Actor::System, Event::BackupTaken))
                    .map_err(|e| format!("cannot write the audit log, so no backup was taken: {e}"))?;
                backup::write(&store, &mut out)?;
            }
            Err(StorageError::InUse) => {
                let mut stream = crate::control::connect(data, "backup")?;
                std::io::copy(&mut stream, &mut out).map_err(|e| e.to_string())?;
            }
            Err(e) => return Err(format!("{}: {e}", data.display())),
        }
        out.flush().map_err(|e| e.to_string())?;
        drop(out);
        // Read back what was written: every hash and count, so a backup
        // that a stopped server cut short, or a bad disk spoiled, is never
        // renamed into place. (Not the audit chain: a live log that fails
        // it is still worth a copy; `backup --verify` and `restore` check it.)
        let written = fs::File::open(&partial).map_err(|e| e.to_string())?;
        backup::read(written, Check::Hashes).map_err(|e| {
            format!("the backup is incomplete or damaged, so it was not kept (did the server stop?): {e}")
        })?;
        file.sync_all().map_err(|e| e.to_string())?;
        fs::rename(&partial, target).map_err(|e| e.to_string())?;
        if let Some(parent) = target.parent().filter(|p| !p.as_os_str().is_empty()) {
            sync_dir(parent).map_err(|e| e.to_string())?;
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = fs::remove_file(&partial);
    }
    result?;
    println!("backup written to {}", target.display());
    Ok(())
}

/// Opens `FILE.partial`, where a backup is written before it is checked
/// and renamed onto FILE, and takes its lock for as long as this process
/// runs. One left by a backup that was killed (no process holds its lock)
/// is taken over and emptied, so the next run works; one a running backup
/// holds is refused. After a lock is taken, the name must still lead to
/// the file locked: a backup that finished meanwhile renamed that one
/// onto its target, which must not be emptied.
fn open_partial(target: &Path) -> Result<(std::path::PathBuf, fs::File), String> {
    use rustix::fs::{FlockOperation, flock};
    use std::os::unix::fs::MetadataExt;
    let mut name = target.as_os_str().to_owned();
    name.push(".partial");
    let partial = std::path::PathBuf::from(name);
    let shown = partial.display();
    for _ in 0..10 {
        let file = fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(&partial)
            .map_err(|e| format!("cannot write {shown}: {e}"))?;
        match flock(&file, FlockOperation::NonBlockingLockExclusive) {
            Ok(()) => {}
            Err(rustix::io::Errno::WOULDBLOCK) => {
                return Err(format!(
                    "another backup is being written to {shown} right now; wait for it to finish, or choose another --out"
                ));
            }
            Err(e) => return Err(format!("cannot lock {shown}: {e}")),
        }
        let locked = file.metadata().map_err(|e| e.to_string())?;
        match fs::symlink_metadata(&partial) {
            Ok(now) if now.ino() == locked.ino() && now.dev() == locked.dev() => {
                // Ours now: whatever a killed backup left in it goes.
                file.set_len(0).map_err(|e| format!("cannot write {shown}: {e}"))?;
                return Ok((partial, file));
            }
            _ => continue,
        }
    }
    Err(format!("cannot take {shown}: other backups keep writing to it"))
}

/// Restores into a new (or empty) directory. Everything about where it
/// writes and what it may remove lives in `backup::restore`: it builds
/// beside the target and removes only its own temporary directory.
pub fn restore(args: &RestoreArgs) -> Result<(), String> {
    let file = fs::File::open(&args.from).map_err(|e| format!("cannot read {}: {}", args.from.display(), e.kind()))?;
    let contents = backup::restore(file, &args.data)?;
    println!(
        "restored {} records, {} objects and an audit log of {} records into {}",
        contents.records,
        contents.objects,
        contents.audit_records,
        args.data.display()
    );
    Ok(())
}

/// `backup --verify FILE`: checks a backup as `restore` would (no keys, no
/// data directory) and prints what it holds.
fn verify(file: &Path) -> Result<(), String> {
    let input = fs::File::open(file).map_err(|e| format!("cannot read {}: {}", file.display(), e.kind()))?;
    let c = backup::read(input, Check::Everything).map_err(|e| e.to_string())?;
    println!(
        "backup intact: format {}, {} records, {} objects ({} bytes of ciphertext), an audit log of {} records with {} signed checkpoints (head {}); SHA-256 {}",
        backup::VERSION,
        c.records,
        c.objects,
        c.object_bytes,
        c.audit_records,
        c.audit_checkpoints,
        c.audit_head,
        c.sha256
    );
    Ok(())
}
