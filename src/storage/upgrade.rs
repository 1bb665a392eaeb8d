//! Upgrading a data directory written in an older format, when it is
//! opened: a backup of everything as it was first, then the records
//! changed, then the FORMAT marker rewritten (atomically) as the last
//! step. A crash anywhere before that last step leaves FORMAT as it was
//! and the next open starts again (each step can run twice); a crash
//! after it leaves the upgraded directory. The backup stays in
//! `DIR/upgrade-backups/`, a standard backup file `testimony restore`
//! takes, until the administrator moves it off the server.
//!
//! Format 1 → 2: records gain `state_since`, the day they entered their
//! state. Format 1 never kept it, so every record gets the day of the
//! upgrade: retention counts from then, never from a day guessed too
//! early.

use std::fs;
use std::io::{BufWriter, Write};
use std::path::PathBuf;

use super::durable::sync_dir;
use super::{StorageError, Store, SubmissionRecord, create_private_dir, decode, encode, format};

/// What an upgrade did, for the operator.
#[derive(Debug)]
pub struct Upgraded {
    pub from: u32,
    pub to: u32,
    pub records_changed: u64,
    pub backup: PathBuf,
}

/// Upgrades the store opened (unchecked) from `dir`, found in format
/// `found`, to the current format.
pub(super) fn upgrade(store: &Store, found: u32) -> Result<Upgraded, StorageError> {
    if found != 1 {
        return Err(StorageError::OlderFormat { found, supported: format::CURRENT });
    }
    let backup = back_up(store, found)?;
    let records_changed = stamp_state_days(store)?;
    store.flush()?;
    format::write(store.dir())?;
    Ok(Upgraded { from: found, to: format::CURRENT, records_changed, backup })
}

/// Gives each statement record that lacks one (format 1's) the day it
/// entered its state: today, the day it is first known. Also run by a
/// restore, which may bring records from a format-1 backup. Returns how
/// many records changed.
pub(super) fn stamp_state_days(store: &Store) -> Result<u64, StorageError> {
    let today = store.today();
    let mut changed = 0;
    for kv in store.submissions.iter() {
        let (key, value) = kv?;
        let mut record: SubmissionRecord = decode(&value)?;
        if record.state_since.is_some() {
            continue; // done by an earlier, interrupted run
        }
        record.state_since = Some(today);
        // Nobody else can write meanwhile (sled's lock is held); the
        // version stays, since nothing a reader shows changed.
        store
            .submissions
            .compare_and_swap(&key, Some(&value), Some(encode(&record)?))?
            .map_err(|_| StorageError::Corrupt("a record changed during the upgrade".into()))?;
        changed += 1;
    }
    Ok(changed)
}

/// A backup of the whole directory as it is, in
/// `DIR/upgrade-backups/format-N-DAY.backup` (written to a temporary name,
/// synced, renamed). One made by an interrupted earlier run is kept.
fn back_up(store: &Store, found: u32) -> Result<PathBuf, StorageError> {
    let dir = store.dir().join("upgrade-backups");
    create_private_dir(&dir)?;
    // One taken by an earlier, interrupted run (on any day) is the data as
    // it was: keep it rather than take a second.
    let prefix = format!("format-{found}-");
    for entry in fs::read_dir(&dir)? {
        let path = entry?.path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if name.starts_with(&prefix) && name.ends_with(".backup") {
            return Ok(path);
        }
    }
    let target = dir.join(format!("{prefix}{}.backup", store.today()));
    let partial = dir.join(format!(".{prefix}backup.partial"));
    let written = (|| -> Result<(), StorageError> {
        let file = fs::File::create(&partial)?;
        let mut out = BufWriter::new(&file);
        crate::backup::write(store, &mut out).map_err(StorageError::UpgradeStopped)?;
        out.flush()?;
        drop(out);
        file.sync_all()?;
        fs::rename(&partial, &target)?;
        sync_dir(&dir)?;
        Ok(())
    })();
    if let Err(e) = written {
        // Nothing was changed; a half backup must not keep the disk full.
        let _ = fs::remove_file(&partial);
        return Err(match e {
            StorageError::UpgradeStopped(_) => e,
            other => StorageError::UpgradeStopped(other.to_string()),
        });
    }
    Ok(target)
}
