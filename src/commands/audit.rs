//! `testimony audit verify` and `testimony audit checkpoint`. Both work while
//! the server is running: verify only reads the log file, and checkpoint
//! asks the server (the log's one writer) through its control socket.

use std::path::Path;
use std::sync::Arc;

use crate::audit::{self, AuditLog, export};
use crate::clock::SystemClock;
use crate::storage::{StorageError, Store};

/// Exit 0 and one summary line when intact; an error (non-zero exit) naming
/// the first bad line otherwise.
pub fn verify(data: &Path, checkpoint: Option<&Path>) -> Result<(), String> {
    let saved = match checkpoint {
        None => None,
        Some(path) => {
            // `-` reads the checkpoint from standard input, so it can come
            // from another machine without being copied onto the server.
            let text = if path == Path::new("-") {
                std::io::read_to_string(std::io::stdin())
                    .map_err(|e| format!("cannot read the checkpoint from standard input: {e}"))?
            } else {
                std::fs::read_to_string(path)
                    .map_err(|e| format!("cannot read the checkpoint file {}: {}", path.display(), e.kind()))?
            };
            Some(export::from_text(&text).map_err(|e| format!("{}: {e}", path.display()))?)
        }
    };
    let path = existing_log(data)?;
    let summary = audit::verify_file(&path, saved.as_ref()).map_err(|e| e.to_string())?;
    println!(
        "audit log intact: {} records, {} signed checkpoints, head {}{}{}",
        summary.records,
        summary.checkpoints,
        summary.head,
        match &saved {
            Some(cp) => format!(", extends the saved checkpoint of {} records", cp.size),
            None => String::new(),
        },
        match summary.unsigned_tail {
            0 => String::new(),
            n => format!("; the last {n} records are not yet covered by a signed checkpoint"),
        }
    );
    Ok(())
}

/// Signs a checkpoint of the log's current head, appends it to the log and
/// prints it: through the running server (the one writer of the log) when
/// it holds the data directory, directly otherwise. Printing the last
/// stored checkpoint instead would let a rollback of everything after it
/// pass `verify --checkpoint`.
pub fn checkpoint(data: &Path) -> Result<(), String> {
    let path = existing_log(data)?;
    // Never vouch for a damaged log with a fresh signature.
    audit::verify_file(&path, None).map_err(|e| e.to_string())?;
    let cp = match Store::open(data) {
        Ok(store) => {
            let log = AuditLog::open(&store, Arc::new(SystemClock)).map_err(|e| e.to_string())?;
            log.checkpoint_now().map_err(|e| e.to_string())?
        }
        Err(StorageError::InUse) => crate::control::checkpoint(data)?,
        Err(e) => return Err(format!("{}: {e}", data.display())),
    };
    // The checkpoint must now be in the log, right where it says, signed by
    // the log's own key: exactly what a later `verify --checkpoint` checks.
    audit::verify_file(&path, Some(&cp)).map_err(|e| e.to_string())?;
    print!("{}", export::to_text(&cp));
    Ok(())
}

fn existing_log(data: &Path) -> Result<std::path::PathBuf, String> {
    if !audit::exists(data) {
        return Err(format!("{} has no audit log (audit/log); is it a testimony data directory?", data.display()));
    }
    Ok(audit::log_path(data))
}
