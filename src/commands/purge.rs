//! `testimony purge`: the retention purge by hand (the server runs it
//! once a day). `--dry-run` lists what is due; `--apply` deletes it.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::audit::AuditLog;
use crate::cli::PurgeArgs;
use crate::clock::{Clock, SystemClock};
use crate::config::ConfigFile;
use crate::retention::{self, Retention};
use crate::storage::{StorageError, Store};

/// Where the Debian package puts the config file.
const DEFAULT_CONFIG: &str = "/etc/testimony/testimony.toml";

pub fn run(args: &PurgeArgs) -> Result<(), String> {
    let config: Option<PathBuf> =
        args.config.clone().or_else(|| Path::new(DEFAULT_CONFIG).is_file().then(|| PathBuf::from(DEFAULT_CONFIG)));
    let rules: Retention = match &config {
        Some(path) => ConfigFile::load(path)?.retention.unwrap_or_default(),
        None => Retention::default(),
    };
    let store = match Store::open(&args.data) {
        Ok(store) => store,
        Err(StorageError::InUse) => {
            return Err("the server is running: it runs the purge itself once a day (stop it to purge by hand)".into());
        }
        Err(e) => return Err(format!("{}: {e}", args.data.display())),
    };
    if rules.is_empty() {
        let from = config.map_or("no config file".to_string(), |p| p.display().to_string());
        println!("no retention rules ({from} has no [retention] section): nothing is deleted");
        return Ok(());
    }
    let today = SystemClock.today();
    if args.dry_run {
        let due = retention::due(&store, &rules, today)?;
        for item in &due {
            println!(
                "would delete {}: {} since {}, the rule keeps {} days",
                item.id,
                item.state.code(),
                item.since,
                item.days
            );
        }
        println!("{} statement(s) due; nothing was changed (--apply deletes them)", due.len());
        return Ok(());
    }
    let audit = AuditLog::open(&store, Arc::new(SystemClock)).map_err(|e| e.to_string())?;
    let deleted = retention::purge(&store, &audit, &rules, today)?;
    for item in &deleted {
        println!("deleted {}: {} since {}, the rule keeps {} days", item.id, item.state.code(), item.since, item.days);
    }
    println!("{} statement(s) deleted, each with its tombstone in the audit log", deleted.len());
    Ok(())
}
