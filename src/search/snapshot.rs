//! A desk's index, sealed to the desk's key: `index/<desk>.sealed` in the
//! data directory. Unlocking a desk of 100,000 statements used to cost one
//! X25519 agreement per statement (17 s on two cores); with a snapshot it
//! costs one agreement, a stream decryption and the statements that
//! changed since the snapshot was written.
//!
//! Never plaintext on disk: the file is an age stream to the desk's
//! current key, written to a temporary name, synced and renamed, so a
//! crash leaves the old snapshot or the new one, never half of either. A
//! snapshot that cannot be opened or read is ignored (the desk is rebuilt
//! from its statements); it is only ever a shortcut.
//!
//! Inside the stream: a magic line, a header, one frame per entry (a
//! little-endian u32 length and the entry in postcard), then an HMAC of
//! all of it under a key derived from the desk key. Anyone can seal to a
//! desk's public key; only a holder of its secret can make a snapshot
//! that is believed. Nothing from a snapshot is used before its HMAC is
//! checked.

use std::io::{self, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use hmac::{Hmac, Mac};
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use super::Entry;
use crate::crypto::{self, DeskIdentity, SealingWriter};
use crate::storage::DeskId;

type Tag = Hmac<Sha256>;

/// The HMAC key of `key`'s snapshots.
fn mac(key: &DeskIdentity) -> Tag {
    let secret = key.to_secret_text();
    let hkdf = hkdf::Hkdf::<Sha256>::new(Some(MAGIC), secret.expose_secret().as_bytes());
    let mut okm = zeroize::Zeroizing::new([0u8; 32]);
    // Invariant: 32 bytes is a valid HKDF-SHA256 output length.
    #[allow(clippy::expect_used)]
    hkdf.expand(b"index snapshot hmac", okm.as_mut()).expect("32 bytes is a valid HKDF length");
    // Invariant: HMAC takes a key of any length.
    #[allow(clippy::expect_used)]
    Tag::new_from_slice(okm.as_ref()).expect("HMAC takes any key length")
}

const MAGIC: &[u8] = b"testimony-index-snapshot-v1\n";

/// No entry is anywhere near this; a larger frame is a damaged file.
const MAX_FRAME: usize = 64 << 20;

#[derive(Serialize, Deserialize)]
struct Header {
    desk: DeskId,
    entries: u64,
}

/// The directory of the snapshots.
pub fn dir(data: &Path) -> PathBuf {
    data.join("index")
}

/// Where `desk`'s snapshot lives. Desk ids are 32 hex digits, so the
/// name needs no escaping; anything else has no snapshot.
fn path(data: &Path, desk: &DeskId) -> Option<PathBuf> {
    desk.0
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        .then(|| dir(data).join(format!("{}.sealed", desk.0)))
}

/// Writes `entries` as `desk`'s snapshot, sealed to `key` (the newest desk
/// key the index holds), replacing any older one atomically.
pub fn write<'a>(
    data: &Path,
    desk: &DeskId,
    key: &DeskIdentity,
    count: usize,
    entries: impl Iterator<Item = &'a Entry>,
) -> io::Result<()> {
    let Some(target) = path(data, desk) else { return Ok(()) };
    let dir = dir(data);
    crate::storage::create_private_dir(&dir)?;
    let temp = tempfile::NamedTempFile::new_in(&dir)?;
    let file = temp.as_file().try_clone()?;
    let mut sealed = SealingWriter::new(BufWriter::new(file), &[&key.recipient()]).map_err(io::Error::other)?;
    let mut tag = mac(key);
    sealed.write_all(MAGIC)?;
    tag.update(MAGIC);
    frame(&mut sealed, &mut tag, &Header { desk: desk.clone(), entries: count as u64 })?;
    let mut written = 0usize;
    for entry in entries {
        frame(&mut sealed, &mut tag, entry)?;
        written += 1;
    }
    if written != count {
        return Err(io::Error::other("the index changed size while it was written"));
    }
    sealed.write_all(&tag.finalize().into_bytes())?;
    let mut inner = sealed.finish()?.into_inner();
    inner.flush()?;
    inner.get_ref().sync_all()?;
    temp.persist(&target).map_err(|e| e.error)?;
    crate::storage::sync_dir(&dir)
}

fn frame<T: Serialize>(out: &mut impl Write, tag: &mut Tag, value: &T) -> io::Result<()> {
    let bytes = postcard::to_allocvec(value).map_err(io::Error::other)?;
    let length = (bytes.len() as u32).to_le_bytes();
    tag.update(&length);
    tag.update(&bytes);
    out.write_all(&length)?;
    out.write_all(&bytes)
}

fn read_frame<T: for<'de> Deserialize<'de>>(
    input: &mut impl Read,
    tag: &mut Tag,
    buffer: &mut Vec<u8>,
) -> io::Result<T> {
    let mut length = [0u8; 4];
    input.read_exact(&mut length)?;
    tag.update(&length);
    let length = u32::from_le_bytes(length) as usize;
    if length > MAX_FRAME {
        return Err(io::Error::other("a snapshot frame is larger than any entry"));
    }
    buffer.resize(length, 0);
    input.read_exact(buffer)?;
    tag.update(buffer);
    postcard::from_bytes(buffer).map_err(io::Error::other)
}

/// Reads `desk`'s snapshot with whichever of `keys` opens it: every entry,
/// once the HMAC over all of them has been checked.
pub fn read(data: &Path, desk: &DeskId, keys: &[(u32, Arc<DeskIdentity>)]) -> Result<Vec<Entry>, SnapshotError> {
    let path = path(data, desk).ok_or(SnapshotError::None)?;
    for (_, key) in keys {
        let file = match std::fs::File::open(&path) {
            Ok(file) => file,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Err(SnapshotError::None),
            Err(e) => return Err(SnapshotError::Unreadable(e.to_string())),
        };
        let plain = match crypto::open_stream(file, key.as_ref()) {
            Ok(plain) => BufReader::with_capacity(1 << 20, plain),
            Err(crypto::OpenError::NotARecipient) => continue,
            Err(e) => return Err(SnapshotError::Unreadable(e.to_string())),
        };
        return read_opened(plain, desk, mac(key)).map_err(|e| SnapshotError::Unreadable(e.to_string()));
    }
    Err(SnapshotError::NoKey)
}

fn read_opened(mut plain: impl Read, desk: &DeskId, mut tag: Tag) -> io::Result<Vec<Entry>> {
    let mut magic = [0u8; MAGIC.len()];
    plain.read_exact(&mut magic)?;
    if magic != MAGIC {
        return Err(io::Error::other("not an index snapshot of this version"));
    }
    tag.update(MAGIC);
    let mut buffer = Vec::new();
    let header: Header = read_frame(&mut plain, &mut tag, &mut buffer)?;
    if &header.desk != desk {
        return Err(io::Error::other("the snapshot is another desk's"));
    }
    let mut entries = Vec::with_capacity(header.entries.min(1 << 20) as usize);
    for _ in 0..header.entries {
        entries.push(read_frame(&mut plain, &mut tag, &mut buffer)?);
    }
    let mut expected = [0u8; 32];
    plain.read_exact(&mut expected)?;
    tag.verify_slice(&expected).map_err(|_| io::Error::other("the snapshot's HMAC does not match"))?;
    // The stream's end is authenticated: reading to it proves nothing was
    // cut or added.
    let mut rest = Vec::new();
    plain.read_to_end(&mut rest)?;
    if !rest.is_empty() {
        return Err(io::Error::other("bytes after the snapshot's HMAC"));
    }
    Ok(entries)
}

/// Why a snapshot was not used.
#[derive(Debug, PartialEq, Eq)]
pub enum SnapshotError {
    /// There is none yet.
    None,
    /// None of the keys given opens it (written to a newer key).
    NoKey,
    /// Damaged, cut, or of another version: rebuilt from the statements.
    Unreadable(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries(n: usize) -> Vec<Entry> {
        (0..n).map(|i| super::super::tests::entry_for_tests(&format!("{i:032x}"), i as u64 + 1)).collect()
    }

    #[test]
    fn a_snapshot_reads_back_whole_only_with_its_desk_key() {
        let data = tempfile::tempdir().unwrap();
        let desk = DeskId("d".repeat(32));
        let key = Arc::new(DeskIdentity::generate());
        let written = entries(50);
        write(data.path(), &desk, &key, written.len(), written.iter()).unwrap();
        let back = read(data.path(), &desk, &[(0, key.clone())]).unwrap();
        assert_eq!(
            back.iter().map(|e| (&e.id, e.version)).collect::<Vec<_>>(),
            written.iter().map(|e| (&e.id, e.version)).collect::<Vec<_>>()
        );
        let other = Arc::new(DeskIdentity::generate());
        assert_eq!(read(data.path(), &desk, &[(1, other)]).unwrap_err(), SnapshotError::NoKey);
        assert_eq!(read(data.path(), &DeskId("e".repeat(32)), &[(0, key)]).unwrap_err(), SnapshotError::None);
    }

    #[test]
    fn a_snapshot_sealed_to_the_desk_by_someone_without_its_secret_is_refused() {
        // Anyone can seal to the desk's public key; the HMAC needs its secret.
        let data = tempfile::tempdir().unwrap();
        let desk = DeskId("d".repeat(32));
        let key = Arc::new(DeskIdentity::generate());
        let forger = DeskIdentity::generate();
        let target = path(data.path(), &desk).unwrap();
        crate::storage::create_private_dir(&dir(data.path())).unwrap();
        let file = std::fs::File::create(&target).unwrap();
        let mut sealed = SealingWriter::new(file, &[&key.recipient()]).unwrap();
        let mut tag = mac(&forger);
        sealed.write_all(MAGIC).unwrap();
        tag.update(MAGIC);
        let forged = entries(1);
        frame(&mut sealed, &mut tag, &Header { desk: desk.clone(), entries: 1 }).unwrap();
        frame(&mut sealed, &mut tag, &forged[0]).unwrap();
        sealed.write_all(&tag.finalize().into_bytes()).unwrap();
        sealed.finish().unwrap();
        let refused = read(data.path(), &desk, &[(0, key)]).unwrap_err();
        assert!(matches!(refused, SnapshotError::Unreadable(ref why) if why.contains("HMAC")), "{refused:?}");
    }

    #[test]
    fn a_cut_or_damaged_snapshot_is_refused() {
        let data = tempfile::tempdir().unwrap();
        let desk = DeskId("d".repeat(32));
        let key = Arc::new(DeskIdentity::generate());
        let written = entries(200);
        write(data.path(), &desk, &key, written.len(), written.iter()).unwrap();
        let target = path(data.path(), &desk).unwrap();
        let whole = std::fs::read(&target).unwrap();
        for damaged in [whole[..whole.len() - 100].to_vec(), {
            let mut flipped = whole.clone();
            let at = flipped.len() / 2;
            flipped[at] ^= 1;
            flipped
        }] {
            std::fs::write(&target, damaged).unwrap();
            assert!(matches!(read(data.path(), &desk, &[(0, key.clone())]), Err(SnapshotError::Unreadable(_))));
        }
    }
}
