//! `testimony audit verify` and `testimony audit checkpoint`. Both only read
//! the log file, so they work while the server is running.

use std::path::Path;

use crate::audit::{self, export};

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

/// Prints the latest signed checkpoint of an intact log.
pub fn checkpoint(data: &Path) -> Result<(), String> {
    let path = existing_log(data)?;
    let summary = audit::verify_file(&path, None).map_err(|e| e.to_string())?;
    let latest = summary
        .last_checkpoint
        .ok_or("the log has no checkpoint yet (the server writes one hourly, every 1000 records and when it stops)")?;
    print!("{}", export::to_text(&latest));
    Ok(())
}

fn existing_log(data: &Path) -> Result<std::path::PathBuf, String> {
    if !audit::exists(data) {
        return Err(format!("{} has no audit log (audit/log); is it a testimony data directory?", data.display()));
    }
    Ok(audit::log_path(data))
}
