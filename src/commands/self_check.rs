//! The checks `serve` makes before it opens anything: a data directory
//! that others on the machine can read or that holds the recovery key,
//! and a clock behind the audit log's last record, are refused, each
//! problem named with its fix. (A format newer than this build is refused
//! when the store opens.)
//!
//! Every problem is found before any is reported, so an administrator
//! fixes them in one go rather than one restart at a time.

use std::fs;
use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use crate::clock::Timestamp;

/// How many offending paths a report names (the fix covers them all).
const NAMED: usize = 5;

/// Files larger than this are not read for a key: an age identity file is
/// a few hundred bytes, and attachments can be gigabytes.
const KEY_FILE_MAX: u64 = 64 * 1024;

/// What an age secret key starts with, in an identity file.
const SECRET_KEY_MARK: &[u8] = b"AGE-SECRET-KEY-1";

/// Checks `data` before serving from it, the clock reading `now`. Err
/// holds every problem found, each with what to do about it.
pub fn before_serving(data: &Path, now: Timestamp) -> Result<(), String> {
    // Not a data directory (missing, or an init or restore that did not
    // finish): opening the store says so, more plainly than these could.
    if !data.join("FORMAT").is_file() {
        return Ok(());
    }
    let mut open_to_others: Vec<PathBuf> = Vec::new();
    let mut key_files: Vec<PathBuf> = Vec::new();
    let mut unreadable: Vec<String> = Vec::new();
    let mut pending = vec![data.to_path_buf()];
    while let Some(path) = pending.pop() {
        // Never follows a link: what a link points at is not the data
        // directory's to judge, and a loop must not hang the start.
        let meta = match fs::symlink_metadata(&path) {
            Ok(meta) => meta,
            Err(e) => {
                unreadable.push(format!("{}: {e}", path.display()));
                continue;
            }
        };
        if meta.permissions().mode() & 0o077 != 0 {
            open_to_others.push(path.clone());
        }
        if meta.is_dir() {
            match fs::read_dir(&path) {
                Ok(entries) => pending.extend(entries.filter_map(|e| e.ok()).map(|e| e.path())),
                Err(e) => unreadable.push(format!("{}: {e}", path.display())),
            }
        } else if meta.is_file() && meta.len() <= KEY_FILE_MAX && holds_secret_key(&path) {
            key_files.push(path);
        }
    }
    let mut problems = Vec::new();
    if let Err(e) = crate::audit::check_clock(data, now) {
        problems.push(e.to_string());
    }
    if !open_to_others.is_empty() {
        problems.push(format!(
            "{} path(s) in the data directory can be reached by other users on this machine ({}). Fix: chmod -R go-rwx {}",
            open_to_others.len(),
            named(&open_to_others),
            data.display()
        ));
    }
    if !key_files.is_empty() {
        problems.push(format!(
            "an age secret key (the recovery key?) is inside the data directory: {}. Whoever takes the server would take the key that opens every statement with it. Fix: move it to offline storage (see README, \"The recovery key\"), then shred the copy here",
            named(&key_files)
        ));
    }
    if !unreadable.is_empty() {
        problems.push(format!(
            "parts of the data directory cannot be read: {}. Fix: run testimony as the user that owns the data directory",
            unreadable.iter().take(NAMED).cloned().collect::<Vec<_>>().join(", ")
        ));
    }
    if problems.is_empty() {
        Ok(())
    } else {
        // One line, as every command's failure is.
        let numbered: Vec<String> = problems.iter().enumerate().map(|(i, p)| format!("({}) {p}", i + 1)).collect();
        Err(format!("refusing to serve from {}: {}", data.display(), numbered.join(" ")))
    }
}

fn named(paths: &[PathBuf]) -> String {
    let mut list: Vec<String> = paths.iter().take(NAMED).map(|p| p.display().to_string()).collect();
    if paths.len() > NAMED {
        list.push(format!("and {} more", paths.len() - NAMED));
    }
    list.join(", ")
}

/// Whether the file at `path` holds an age secret key. (Only the mark is
/// looked for; nothing read is kept or printed.)
fn holds_secret_key(path: &Path) -> bool {
    let mut bytes = zeroize::Zeroizing::new(Vec::new());
    let read = fs::File::open(path).and_then(|f| f.take(KEY_FILE_MAX).read_to_end(&mut bytes));
    read.is_ok() && memchr::memmem::find(&bytes, SECRET_KEY_MARK).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn private_dir() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o700)).unwrap();
        dir
    }

    fn private_file(path: &Path, content: &[u8]) {
        fs::write(path, content).unwrap();
        fs::set_permissions(path, fs::Permissions::from_mode(0o600)).unwrap();
    }

    #[test]
    fn a_private_directory_without_keys_passes() {
        let dir = private_dir();
        private_file(&dir.path().join("FORMAT"), b"testimony data format 1\n");
        fs::create_dir(dir.path().join("objects")).unwrap();
        fs::set_permissions(dir.path().join("objects"), fs::Permissions::from_mode(0o700)).unwrap();
        private_file(&dir.path().join("objects/a"), b"sealed bytes");
        before_serving(dir.path(), Timestamp(0)).unwrap();
    }

    #[test]
    fn anything_others_can_reach_is_named_with_the_fix() {
        let dir = private_dir();
        private_file(&dir.path().join("FORMAT"), b"x");
        fs::set_permissions(dir.path().join("FORMAT"), fs::Permissions::from_mode(0o644)).unwrap();
        let refused = before_serving(dir.path(), Timestamp(0)).unwrap_err();
        assert!(refused.contains("FORMAT") && refused.contains("chmod -R go-rwx"), "{refused}");
        fs::set_permissions(dir.path().join("FORMAT"), fs::Permissions::from_mode(0o600)).unwrap();
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o750)).unwrap();
        assert!(before_serving(dir.path(), Timestamp(0)).unwrap_err().contains("1 path(s)"));
    }

    #[test]
    fn a_secret_key_inside_is_found_and_never_printed() {
        let dir = private_dir();
        private_file(&dir.path().join("FORMAT"), b"testimony data format 1\n");
        let secret = "AGE-SECRET-KEY-1QQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQ";
        private_file(&dir.path().join("recovery.key"), format!("# created: today\n{secret}\n").as_bytes());
        let refused = before_serving(dir.path(), Timestamp(0)).unwrap_err();
        assert!(refused.contains("recovery.key") && refused.contains("offline"), "{refused}");
        assert!(!refused.contains("QQQQ"), "the key itself is never in the message");
    }
}
