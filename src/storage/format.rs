//! The data directory's format marker: one line in `DIR/FORMAT`.
//!
//! Written last at `init` (so a directory whose init was interrupted has none
//! and is refused), read first at every open, before sled is touched.

use std::fs;
use std::io::Write;
use std::path::Path;

use super::StorageError;
use super::durable::sync_dir;

/// The format this build writes and reads. Raise it with a migration
/// (`upgrade.rs`): 2 added `state_since` to statement records.
pub const CURRENT: u32 = 2;

const FILE: &str = "FORMAT";
const PREFIX: &str = "testimony data format ";

pub fn write(dir: &Path) -> Result<(), StorageError> {
    let tmp = dir.join(".FORMAT.partial");
    let mut file = fs::File::create(&tmp)?;
    writeln!(file, "{PREFIX}{CURRENT}")?;
    file.sync_all()?;
    fs::rename(&tmp, dir.join(FILE))?;
    sync_dir(dir)?;
    Ok(())
}

pub fn check(dir: &Path) -> Result<(), StorageError> {
    let path = dir.join(FILE);
    let text = match fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(StorageError::NotADataDir(dir.to_path_buf()));
        }
        Err(e) => return Err(e.into()),
    };
    let version = text
        .trim_end()
        .strip_prefix(PREFIX)
        .and_then(|v| v.parse::<u32>().ok())
        .ok_or_else(|| StorageError::Corrupt(format!("{} is not a format marker", path.display())))?;
    match version {
        CURRENT => Ok(()),
        v if v > CURRENT => Err(StorageError::NewerFormat { found: v, supported: CURRENT }),
        v => Err(StorageError::OlderFormat { found: v, supported: CURRENT }),
    }
}
