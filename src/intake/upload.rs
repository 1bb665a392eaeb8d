//! One uploaded file, sealed as it streams: chunks go from the request to a
//! blocking thread through a small bounded channel, and from there through
//! SHA-256 and an age encryptor into a pending object. At most a few chunks
//! are in memory at once, whatever the file's size. No plaintext byte is
//! written anywhere.
//!
//! When the witness asks for a cleaned copy of a JPEG or PNG, the file is
//! also kept in memory (up to `CLEAN_MAX`) so the copy can be made without
//! writing plaintext to disk; `clean` rebuilds it from only what shows the
//! image, without decoding pixels, and it is sealed beside the untouched
//! original.

use std::io::Write;
use std::sync::Arc;

use axum::body::Bytes;
use sha2::{Digest, Sha256};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use zeroize::Zeroizing;

use crate::crypto::{Recipient, SealedStream, SealingWriter, hex};
use crate::storage::{PendingObject, Store};

/// The largest file a cleaned copy is made of (it is held in memory).
pub const CLEAN_MAX: usize = 32 * 1024 * 1024;

enum Message {
    Chunk(Bytes),
    End,
}

/// A file that has been sealed into a pending object, not yet committed.
pub struct SealedFile {
    pub original: SealedStream<PendingObject>,
    pub bytes: u64,
    pub sha256: String,
    /// The cleaned copy, when asked for and possible.
    pub cleaned: Option<(SealedStream<PendingObject>, u64, String)>,
    /// Why no cleaned copy was made although one was asked for.
    pub clean_refused: Option<&'static str>,
}

/// The sending end held by the request handler.
pub struct FileSink {
    tx: mpsc::Sender<Message>,
    task: JoinHandle<Result<SealedFile, String>>,
}

impl FileSink {
    /// Starts sealing a new file to `recipients`.
    pub fn start(store: Arc<Store>, recipients: Vec<Recipient>, make_clean_copy: bool) -> FileSink {
        let (tx, mut rx) = mpsc::channel::<Message>(4);
        let task = tokio::task::spawn_blocking(move || {
            let to: Vec<&Recipient> = recipients.iter().collect();
            let pending = store.objects().create().map_err(|e| e.to_string())?;
            let mut writer = SealingWriter::new(pending, &to).map_err(|e| e.to_string())?;
            let mut hasher = Sha256::new();
            let mut kept: Option<Zeroizing<Vec<u8>>> = make_clean_copy.then(|| Zeroizing::new(Vec::new()));
            let mut too_big = false;
            let mut ended = false;
            while let Some(message) = rx.blocking_recv() {
                match message {
                    Message::Chunk(chunk) => {
                        hasher.update(&chunk);
                        writer.write_all(&chunk).map_err(|e| e.to_string())?;
                        if let Some(buffer) = kept.as_mut() {
                            if buffer.len() + chunk.len() <= CLEAN_MAX {
                                buffer.extend_from_slice(&chunk);
                            } else {
                                kept = None;
                                too_big = true;
                            }
                        }
                    }
                    Message::End => {
                        ended = true;
                        break;
                    }
                }
            }
            if !ended {
                // The request was cut off or refused: dropping the writer
                // deletes the pending object.
                return Err("the upload ended early".into());
            }
            let bytes = writer.plaintext_len();
            let original = writer.finish().map_err(|e| e.to_string())?;
            let sha256 = hex(&hasher.finalize());
            let (cleaned, clean_refused) = match kept {
                None if too_big => (None, Some("too_big")),
                None => (None, None),
                Some(buffer) => match super::clean::clean(&buffer) {
                    Ok(clean) => {
                        let pending = store.objects().create().map_err(|e| e.to_string())?;
                        let mut writer = SealingWriter::new(pending, &to).map_err(|e| e.to_string())?;
                        writer.write_all(&clean).map_err(|e| e.to_string())?;
                        let sha = hex(&Sha256::digest(&clean[..]));
                        let len = clean.len() as u64;
                        (Some((writer.finish().map_err(|e| e.to_string())?, len, sha)), None)
                    }
                    Err(reason) => {
                        // The reason names the file's structure, never its content.
                        tracing::debug!(%reason, "no cleaned copy");
                        (None, Some(reason.code()))
                    }
                },
            };
            Ok(SealedFile { original, bytes, sha256, cleaned, clean_refused })
        });
        FileSink { tx, task }
    }

    /// Hands one chunk to the sealing thread (waits if it is behind).
    pub async fn send(&self, chunk: Bytes) -> Result<(), String> {
        self.tx.send(Message::Chunk(chunk)).await.map_err(|_| "the sealing thread stopped".to_string())
    }

    /// Ends the file and waits until it is sealed (not yet committed).
    pub async fn finish(self) -> Result<SealedFile, String> {
        self.tx.send(Message::End).await.map_err(|_| "the sealing thread stopped".to_string())?;
        drop(self.tx);
        self.task.await.map_err(|_| "the sealing thread failed".to_string())?
    }
}
