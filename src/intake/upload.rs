//! One uploaded file, sealed as it streams: chunks go from the request to a
//! blocking thread through a small bounded channel, and from there through
//! SHA-256 and an age encryptor into a pending object. At most a few chunks
//! are in memory at once, whatever the file's size. No plaintext byte is
//! written anywhere.
//!
//! When the witness asks for a cleaned copy of a JPEG or PNG, the file is
//! also kept in memory (up to `CLEAN_MAX`) so the copy can be made without
//! writing plaintext to disk; the copy removes metadata segments without
//! decoding pixels, and is sealed beside the untouched original.

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
                Some(buffer) => match strip_metadata(&buffer) {
                    Some(clean) => {
                        let pending = store.objects().create().map_err(|e| e.to_string())?;
                        let mut writer = SealingWriter::new(pending, &to).map_err(|e| e.to_string())?;
                        writer.write_all(&clean).map_err(|e| e.to_string())?;
                        let sha = hex(&Sha256::digest(&clean[..]));
                        let len = clean.len() as u64;
                        (Some((writer.finish().map_err(|e| e.to_string())?, len, sha)), None)
                    }
                    None => (None, Some("not_an_image")),
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

/// A copy of a JPEG or PNG without its metadata (EXIF, XMP, IPTC, comments,
/// text chunks, time stamps), pixels untouched. `None` for other files.
pub fn strip_metadata(bytes: &[u8]) -> Option<Zeroizing<Vec<u8>>> {
    use img_parts::jpeg::{Jpeg, markers};
    use img_parts::png::Png;
    let data = img_parts::Bytes::copy_from_slice(bytes);
    if bytes.starts_with(&[0xFF, 0xD8]) {
        let mut jpeg = Jpeg::from_bytes(data).ok()?;
        // APP1: EXIF and XMP; APP13: IPTC; APP3–APP12, APP15: maker data;
        // COM: comments. APP0 (JFIF), APP14 (Adobe colour transform) and an
        // APP2 that is an ICC colour profile describe how to show the pixels
        // and stay; other APP2 segments (MPF) point at appended images.
        jpeg.segments_mut().retain(|s| {
            let m = s.marker();
            let icc = m == markers::APP2 && s.contents().starts_with(b"ICC_PROFILE\0");
            !(m == markers::APP1
                || m == markers::COM
                || (m == markers::APP2 && !icc)
                || (markers::APP3..=markers::APP13).contains(&m)
                || m == markers::APP15)
        });
        let mut clean = jpeg.encoder().bytes().to_vec();
        // Phones append more after the main image's end (depth maps, gain
        // maps with their own EXIF, motion-photo videos with GPS): keep
        // nothing past the first end-of-image marker after the scan starts.
        // Entropy-coded data cannot contain FF D9 (an FF there is stuffed).
        if let Some(sos) = clean.windows(2).position(|w| w == [0xFF, markers::SOS])
            && let Some(eoi) = clean[sos..].windows(2).position(|w| w == [0xFF, markers::EOI])
        {
            clean.truncate(sos + eoi + 2);
        }
        return Some(Zeroizing::new(clean));
    }
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        let mut png = Png::from_bytes(data).ok()?;
        png.chunks_mut().retain(|c| !matches!(&c.kind(), b"tEXt" | b"zTXt" | b"iTXt" | b"eXIf" | b"tIME"));
        return Some(Zeroizing::new(png.encoder().bytes().to_vec()));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tiny_png_with_text() -> Vec<u8> {
        use img_parts::png::{Png, PngChunk};
        // A 1x1 grey PNG, then a tEXt chunk holding a canary.
        let base: &[u8] = &[
            0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x48, 0x44, 0x52, 0x00, 0x00,
            0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x00, 0x00, 0x00, 0x00, 0x3A, 0x7E, 0x9B, 0x55, 0x00, 0x00, 0x00,
            0x0A, 0x49, 0x44, 0x41, 0x54, 0x08, 0xD7, 0x63, 0x60, 0x00, 0x00, 0x00, 0x02, 0x00, 0x01, 0xE2, 0x21, 0xBC,
            0x33, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4E, 0x44, 0xAE, 0x42, 0x60, 0x82,
        ];
        let mut png = Png::from_bytes(img_parts::Bytes::copy_from_slice(base)).unwrap();
        let at = png.chunks().len() - 1;
        png.chunks_mut().insert(at, PngChunk::new(*b"tEXt", img_parts::Bytes::from_static(b"GPS\x0041.1,88.2 CANARY")));
        png.encoder().bytes().to_vec()
    }

    #[test]
    fn png_text_chunks_are_removed_and_pixels_kept() {
        let original = tiny_png_with_text();
        assert!(original.windows(6).any(|w| w == b"CANARY"));
        let clean = strip_metadata(&original).unwrap();
        assert!(!clean.windows(6).any(|w| w == b"CANARY"));
        let idat = |b: &[u8]| b.windows(4).position(|w| w == b"IDAT").unwrap();
        assert_eq!(&original[idat(&original)..idat(&original) + 20], &clean[idat(&clean)..idat(&clean) + 20]);
    }

    #[test]
    fn jpeg_exif_and_comments_are_removed() {
        use img_parts::jpeg::{Jpeg, JpegSegment, markers};
        // SOI, APP1 (EXIF with a canary), COM, SOS with entropy data, EOI.
        let mut bytes = vec![0xFF, 0xD8];
        let exif = b"Exif\0\0CANARY-GPS";
        bytes.extend_from_slice(&[0xFF, 0xE1, 0x00, (exif.len() + 2) as u8]);
        bytes.extend_from_slice(exif);
        let comment = b"CANARY-COMMENT";
        bytes.extend_from_slice(&[0xFF, 0xFE, 0x00, (comment.len() + 2) as u8]);
        bytes.extend_from_slice(comment);
        bytes.extend_from_slice(&[0xFF, 0xDA, 0x00, 0x08, 0x01, 0x01, 0x00, 0x00, 0x3F, 0x00, 0x12, 0x34, 0xFF, 0xD9]);
        let parsed = Jpeg::from_bytes(img_parts::Bytes::copy_from_slice(&bytes)).unwrap();
        assert!(parsed.segments().iter().any(|s: &JpegSegment| s.marker() == markers::APP1));
        let clean = strip_metadata(&bytes).unwrap();
        assert!(!clean.windows(6).any(|w| w == b"CANARY"));
        assert!(clean.windows(2).any(|w| w == [0x12, 0x34]), "the image data stays");
    }

    #[test]
    fn anything_appended_after_the_image_is_dropped() {
        let mut bytes = vec![0xFF, 0xD8];
        let mpf = b"MPF\0CANARY-MPF";
        bytes.extend_from_slice(&[0xFF, 0xE2, 0x00, (mpf.len() + 2) as u8]);
        bytes.extend_from_slice(mpf);
        let icc = b"ICC_PROFILE\0\x01\x01keep";
        bytes.extend_from_slice(&[0xFF, 0xE2, 0x00, (icc.len() + 2) as u8]);
        bytes.extend_from_slice(icc);
        bytes.extend_from_slice(&[0xFF, 0xDA, 0x00, 0x08, 0x01, 0x01, 0x00, 0x00, 0x3F, 0x00, 0x12, 0x34, 0xFF, 0xD9]);
        // A second image (with its own EXIF) and a video appended.
        bytes.extend_from_slice(b"\xFF\xD8\xFF\xE1\x00\x10Exif\0\0CANARY-2ND\xFF\xD9ftypmp4 CANARY-VIDEO");
        let clean = strip_metadata(&bytes).unwrap();
        assert!(!clean.windows(6).any(|w| w == b"CANARY"), "{:?}", String::from_utf8_lossy(&clean));
        assert!(clean.windows(11).any(|w| w == b"ICC_PROFILE"), "the colour profile stays");
        assert!(clean.ends_with(&[0x12, 0x34, 0xFF, 0xD9]));
    }

    #[test]
    fn other_files_get_no_cleaned_copy() {
        assert!(strip_metadata(b"%PDF-1.7 not an image").is_none());
    }
}
