//! The control socket: `DIR/control.sock`, a Unix socket that only the
//! server's own user can reach (the data directory is 0700). sled lets one
//! process open the data at a time, so commands that read while the server
//! runs (`export`, `backup`) ask the server through this socket instead.
//! It hands out only what is on disk anyway: sealed records.
//!
//! Protocol: the client sends one command line; the server answers with
//! JSON lines and closes. `submissions`: every submission record.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt};
use tokio::net::UnixListener;
use tokio::sync::watch;

use crate::storage::{Store, SubmissionRecord};

pub const SOCKET: &str = "control.sock";

pub fn socket_path(data_dir: &Path) -> PathBuf {
    data_dir.join(SOCKET)
}

/// Serves the control socket until `stop`. A stale socket file left by a
/// crash is replaced (the store's lock proves no other server runs).
pub async fn serve(store: Arc<Store>, mut stop: watch::Receiver<bool>) -> Result<(), String> {
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
                let store = store.clone();
                tokio::spawn(async move {
                    if let Err(e) = answer(store, stream).await {
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

async fn answer(store: Arc<Store>, stream: tokio::net::UnixStream) -> std::io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut line = String::new();
    tokio::io::BufReader::new(read).take(128).read_line(&mut line).await?;
    match line.trim() {
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
                write.write_all(l.as_bytes()).await?;
                write.write_all(b"\n").await?;
            }
        }
        _ => write.write_all(b"{\"error\":\"unknown command\"}\n").await?,
    }
    write.shutdown().await
}

/// Every submission record: straight from the store when no server runs,
/// else through the running server's control socket.
pub fn submissions(data_dir: &Path) -> Result<Vec<SubmissionRecord>, String> {
    match Store::open(data_dir) {
        Ok(store) => store.submissions().collect::<Result<Vec<_>, _>>().map_err(|e| e.to_string()),
        Err(crate::storage::StorageError::InUse) => {
            let mut stream = UnixStream::connect(socket_path(data_dir))
                .map_err(|e| format!("the server is running but its control socket does not answer: {e}"))?;
            stream.write_all(b"submissions\n").map_err(|e| e.to_string())?;
            BufReader::new(stream)
                .lines()
                .map(|l| {
                    let l = l.map_err(|e| e.to_string())?;
                    serde_json::from_str(&l).map_err(|_| "the server sent a record that cannot be read".to_string())
                })
                .collect()
        }
        Err(e) => Err(format!("{}: {e}", data_dir.display())),
    }
}
