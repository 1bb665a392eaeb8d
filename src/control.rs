//! The control socket: `DIR/control.sock`, a Unix socket that only the
//! server's own user can reach (the data directory is 0700). sled lets one
//! process open the data at a time, so commands that read while the server
//! runs (`export`, `backup`) ask the server through this socket instead.
//! It hands out only what is on disk anyway: sealed records.
//!
//! Protocol: the client sends one command line; the server answers with
//! JSON lines and closes. `submissions`: every submission record.
//! `audit offline-export`: appends the export's audit entry (before the
//! export releases anything) and answers `{"ok":true}`. `audit checkpoint`:
//! appends a signed checkpoint of the log's head and answers
//! `{"ok":true,"checkpoint":{…}}`. `backup`: the backup stream.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt};
use tokio::net::UnixListener;
use tokio::sync::watch;

use crate::audit::{Actor, AuditLog, Checkpoint, Event, ExportKind, NewEntry};
use crate::clock::SystemClock;
use crate::storage::StatementRecords;
use crate::storage::{Store, SubmissionRecord};

pub const SOCKET: &str = "control.sock";

pub fn socket_path(data_dir: &Path) -> PathBuf {
    data_dir.join(SOCKET)
}

/// Serves the control socket until `stop`. A stale socket file left by a
/// crash is replaced (the store's lock proves no other server runs).
pub async fn serve(store: Arc<Store>, audit: Arc<AuditLog>, mut stop: watch::Receiver<bool>) -> Result<(), String> {
    let path = socket_path(store.dir());
    let _ = std::fs::remove_file(&path);
    let listener = UnixListener::bind(&path).map_err(|e| format!("cannot open the control socket: {e}"))?;
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600));
    }
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                let (store, audit) = (store.clone(), audit.clone());
                tokio::spawn(async move {
                    if let Err(e) = answer(store, audit, stream).await {
                        tracing::warn!(error = %e, "a control request failed");
                    }
                });
            }
            _ = async { let _ = stop.wait_for(|s| *s).await; } => break,
        }
    }
    let _ = std::fs::remove_file(&path);
    Ok(())
}

async fn answer(store: Arc<Store>, audit: Arc<AuditLog>, stream: tokio::net::UnixStream) -> std::io::Result<()> {
    let mut reader = tokio::io::BufReader::new(stream);
    let mut line = String::new();
    (&mut reader).take(128).read_line(&mut line).await?;
    let mut stream = reader.into_inner();
    match line.trim() {
        // A client that only checks whether a server answers (`restore`).
        "" => return Ok(()),
        "submissions" => {
            let lines = tokio::task::spawn_blocking(move || {
                store
                    .submissions()
                    .filter_map(Result::ok)
                    .filter_map(|r| serde_json::to_string(&r).ok())
                    .collect::<Vec<String>>()
            })
            .await
            .unwrap_or_default();
            for l in lines {
                stream.write_all(l.as_bytes()).await?;
                stream.write_all(b"\n").await?;
            }
        }
        "audit offline-export" => {
            let done = tokio::task::spawn_blocking(move || audit.append(offline_export_entry())).await;
            let answer: &[u8] = if matches!(done, Ok(Ok(()))) { b"{\"ok\":true}\n" } else { b"{\"ok\":false}\n" };
            stream.write_all(answer).await?;
        }
        "audit checkpoint" => {
            // Signed by the process that holds the log, so it describes the
            // head as written, not a checkpoint stored earlier.
            let done = tokio::task::spawn_blocking(move || audit.checkpoint_now()).await;
            let answer = match done {
                Ok(Ok(cp)) => serde_json::json!({ "ok": true, "checkpoint": cp }),
                Ok(Err(e)) => {
                    tracing::error!(error = %e, "a checkpoint through the control socket failed");
                    serde_json::json!({ "ok": false })
                }
                Err(_) => serde_json::json!({ "ok": false }),
            };
            stream.write_all(format!("{answer}\n").as_bytes()).await?;
        }
        "backup" => {
            // The backup is written by blocking code (files, fsyncs): hand it
            // a blocking socket on a blocking thread. Audited first; if the
            // entry cannot be written, the client gets nothing and says so.
            let std_stream = stream.into_std()?;
            std_stream.set_nonblocking(false)?;
            let _ = tokio::task::spawn_blocking(move || {
                if audit.append(NewEntry::by(Actor::System, Event::BackupTaken)).is_err() {
                    return;
                }
                let mut out = std::io::BufWriter::new(std_stream);
                if let Err(e) = crate::backup::write(&store, &mut out) {
                    tracing::error!(error = %e, "a backup through the control socket failed");
                }
            })
            .await;
            return Ok(());
        }
        _ => stream.write_all(b"{\"error\":\"unknown command\"}\n").await?,
    }
    stream.shutdown().await
}

/// The audit entry of an offline export, made before anything is released.
pub fn offline_export_entry() -> NewEntry {
    NewEntry::by(Actor::System, Event::ExportMade { export: ExportKind::Offline, partner: None }).on("offline-export")
}

/// Sends a command to the running server; returns the open connection.
pub fn connect(data_dir: &Path, command: &str) -> Result<UnixStream, String> {
    // A server that has just started holds the lock a moment before its
    // socket is bound (it prints its addresses first): give it two seconds
    // rather than fail a script that runs `serve` and then `backup`.
    let mut tries = 0;
    let mut stream = loop {
        match UnixStream::connect(socket_path(data_dir)) {
            Ok(stream) => break stream,
            Err(e)
                if tries < 40
                    && matches!(e.kind(), std::io::ErrorKind::NotFound | std::io::ErrorKind::ConnectionRefused) =>
            {
                tries += 1;
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
            Err(e) => return Err(format!("the server is running but its control socket does not answer: {e}")),
        }
    };
    stream.write_all(format!("{command}\n").as_bytes()).map_err(|e| e.to_string())?;
    Ok(stream)
}

/// True when a server answers on `data_dir`'s control socket. Connects and
/// hangs up without a command, which the server ignores.
pub fn answers(data_dir: &Path) -> bool {
    UnixStream::connect(socket_path(data_dir)).is_ok()
}

fn request(data_dir: &Path, command: &str) -> Result<Vec<String>, String> {
    BufReader::new(connect(data_dir, command)?).lines().collect::<Result<_, _>>().map_err(|e| e.to_string())
}

/// Asks the running server to append a signed checkpoint of its log's
/// head, and returns it.
pub fn checkpoint(data_dir: &Path) -> Result<Checkpoint, String> {
    #[derive(serde::Deserialize)]
    struct Answer {
        ok: bool,
        checkpoint: Option<Checkpoint>,
    }
    let answer = request(data_dir, "audit checkpoint")?;
    let parsed: Option<Answer> = answer.first().and_then(|l| serde_json::from_str(l).ok());
    match parsed {
        Some(Answer { ok: true, checkpoint: Some(cp) }) => Ok(cp),
        _ => Err("the server could not write a checkpoint to its audit log".into()),
    }
}

/// Audits an offline export and returns every submission record: straight
/// from the data directory when no server runs, else through the running
/// server's control socket. Nothing is returned if the entry cannot be
/// written.
pub fn audited_export(data_dir: &Path) -> Result<Vec<SubmissionRecord>, String> {
    match Store::open(data_dir) {
        Ok(store) => {
            let audit = AuditLog::open(&store, Arc::new(SystemClock)).map_err(|e| e.to_string())?;
            audit
                .append(offline_export_entry())
                .map_err(|e| format!("cannot write the audit log, so nothing was exported: {e}"))?;
            store.submissions().collect::<Result<Vec<_>, _>>().map_err(|e| e.to_string())
        }
        Err(crate::storage::StorageError::InUse) => {
            let answer = request(data_dir, "audit offline-export")?;
            if answer.first().map(String::as_str) != Some("{\"ok\":true}") {
                return Err("the server could not write the audit log, so nothing was exported".into());
            }
            request(data_dir, "submissions")?
                .iter()
                .map(|l| {
                    serde_json::from_str(l).map_err(|_| "the server sent a record that cannot be read".to_string())
                })
                .collect()
        }
        Err(e) => Err(format!("{}: {e}", data_dir.display())),
    }
}
