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
//! Inside the stream: a magic line, a header, the desk's vocabulary (the
//! pieces search keys are made of, [`super::text`]) in frames of up to
//! [`PIECES_PER_FRAME`] pieces, one frame per entry (a frame is a
//! little-endian u32 length and postcard), then an HMAC of
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
use super::text::Vocabulary;
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

const MAGIC: &[u8] = b"testimony-index-snapshot-v2\n";

/// Vocabulary pieces per frame: a frame stays well under [`MAX_FRAME`].
const PIECES_PER_FRAME: usize = 4096;

/// No entry is anywhere near this; a larger frame is a damaged file.
const MAX_FRAME: usize = 64 << 20;

#[derive(Serialize, Deserialize)]
struct Header {
    desk: DeskId,
    pieces: u64,
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

/// Removes `desk`'s snapshot, if any (after a statement of the desk was
/// deleted: the next unlock decrypts what it must and writes a new one).
/// A snapshot is only ever a shortcut, so failing to remove it is logged,
/// not fatal.
pub fn discard(data: &Path, desk: &DeskId) {
    if let Some(path) = path(data, desk)
        && let Err(e) = std::fs::remove_file(&path)
        && e.kind() != io::ErrorKind::NotFound
    {
        tracing::warn!(error = %e, "cannot remove a desk's index snapshot after a deletion");
    }
}

/// Writes `entries` as `desk`'s snapshot, sealed to `key` (the newest desk
/// key the index holds), replacing any older one atomically. The
/// vocabulary is written most used piece first, and the keys renumbered
/// to match, so that the index read back from it holds the fewest bytes.
pub fn write<'a>(
    data: &Path,
    desk: &DeskId,
    key: &DeskIdentity,
    vocabulary: &Vocabulary,
    count: usize,
    entries: impl Iterator<Item = &'a Entry> + Clone,
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
    // Only the pieces the entries use: a deleted statement's words go.
    let (new_numbers, order) = vocabulary.by_use(entries.clone().map(|e| &e.text));
    let header = Header { desk: desk.clone(), pieces: order.len() as u64, entries: count as u64 };
    frame(&mut sealed, &mut tag, &header)?;
    let pieces: Vec<&str> = order.iter().filter_map(|&n| vocabulary.piece(n)).collect();
    for chunk in pieces.chunks(PIECES_PER_FRAME) {
        frame(&mut sealed, &mut tag, &chunk)?;
    }
    let mut written = 0usize;
    for entry in entries {
        let text = Vocabulary::renumber(&entry.text, &new_numbers)
            .ok_or_else(|| io::Error::other("an entry's key names a piece the vocabulary lacks"))?;
        frame(&mut sealed, &mut tag, &Entry { text, ..entry.clone() })?;
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

/// What a snapshot holds: the vocabulary its entries' keys are made of,
/// and the entries.
pub type Snapshot = (Vocabulary, Vec<Entry>);

/// Reads `desk`'s snapshot with whichever of `keys` opens it: every entry,
/// once the HMAC over all of them has been checked.
pub fn read(data: &Path, desk: &DeskId, keys: &[(u32, Arc<DeskIdentity>)]) -> Result<Snapshot, SnapshotError> {
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

fn read_opened(mut plain: impl Read, desk: &DeskId, mut tag: Tag) -> io::Result<Snapshot> {
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
    let mut pieces: Vec<String> = Vec::with_capacity(header.pieces.min(1 << 20) as usize);
    while (pieces.len() as u64) < header.pieces {
        let chunk: Vec<String> = read_frame(&mut plain, &mut tag, &mut buffer)?;
        if chunk.is_empty() || pieces.len() as u64 + chunk.len() as u64 > header.pieces {
            return Err(io::Error::other("the snapshot's vocabulary does not match its header"));
        }
        pieces.extend(chunk);
    }
    let vocabulary =
        Vocabulary::from_pieces(pieces).ok_or_else(|| io::Error::other("the snapshot's vocabulary repeats a piece"))?;
    let mut entries = Vec::with_capacity(header.entries.min(1 << 20) as usize);
    for _ in 0..header.entries {
        let entry: Entry = read_frame(&mut plain, &mut tag, &mut buffer)?;
        if !vocabulary.holds(&entry.text) {
            return Err(io::Error::other("a snapshot entry names a piece its vocabulary lacks"));
        }
        entries.push(entry);
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
    Ok((vocabulary, entries))
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

    /// `n` entries with their keys in the vocabulary returned.
    fn entries(n: usize) -> (Vocabulary, Vec<Entry>) {
        let mut vocabulary = Vocabulary::default();
        let mut entries: Vec<Entry> =
            (0..n).map(|i| super::super::tests::entry_for_tests(&format!("{i:032x}"), i as u64 + 1)).collect();
        for e in &mut entries {
            vocabulary.settle(&mut e.text);
        }
        (vocabulary, entries)
    }

    #[test]
    fn a_snapshot_reads_back_whole_only_with_its_desk_key() {
        let data = tempfile::tempdir().unwrap();
        let desk = DeskId("d".repeat(32));
        let key = Arc::new(DeskIdentity::generate());
        let (vocabulary, written) = entries(5000);
        assert!(vocabulary.len() > PIECES_PER_FRAME, "the vocabulary takes more than one frame");
        write(data.path(), &desk, &key, &vocabulary, written.len(), written.iter()).unwrap();
        let (read_vocabulary, back) = read(data.path(), &desk, &[(0, key.clone())]).unwrap();
        assert!(read_vocabulary.pieces().eq(vocabulary.pieces()));
        for (e, w) in back.iter().zip(&written) {
            assert_eq!(read_vocabulary.spelled(&e.text), vocabulary.spelled(&w.text));
            assert_eq!(read_vocabulary.spelled(&e.text).unwrap(), format!("text of {}", w.id));
        }
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
        let (vocabulary, forged) = entries(1);
        let header = Header { desk: desk.clone(), pieces: vocabulary.len() as u64, entries: 1 };
        frame(&mut sealed, &mut tag, &header).unwrap();
        frame(&mut sealed, &mut tag, &vocabulary.pieces().collect::<Vec<&str>>()).unwrap();
        frame(&mut sealed, &mut tag, &forged[0]).unwrap();
        sealed.write_all(&tag.finalize().into_bytes()).unwrap();
        sealed.finish().unwrap();
        let refused = read(data.path(), &desk, &[(0, key)]).unwrap_err();
        assert!(matches!(refused, SnapshotError::Unreadable(ref why) if why.contains("HMAC")), "{refused:?}");
    }

    #[test]
    fn a_snapshot_whose_keys_name_pieces_it_lacks_is_neither_written_nor_read() {
        let data = tempfile::tempdir().unwrap();
        let desk = DeskId("d".repeat(32));
        let key = Arc::new(DeskIdentity::generate());
        let (_, written) = entries(3);
        let empty = Vocabulary::default();
        assert!(write(data.path(), &desk, &key, &empty, written.len(), written.iter()).is_err());
        // Made by hand, with the right key and HMAC: still refused.
        let target = path(data.path(), &desk).unwrap();
        crate::storage::create_private_dir(&dir(data.path())).unwrap();
        let mut sealed = SealingWriter::new(std::fs::File::create(&target).unwrap(), &[&key.recipient()]).unwrap();
        let mut tag = mac(&key);
        sealed.write_all(MAGIC).unwrap();
        tag.update(MAGIC);
        frame(&mut sealed, &mut tag, &Header { desk: desk.clone(), pieces: 0, entries: 1 }).unwrap();
        frame(&mut sealed, &mut tag, &written[0]).unwrap();
        sealed.write_all(&tag.finalize().into_bytes()).unwrap();
        sealed.finish().unwrap();
        let refused = read(data.path(), &desk, &[(0, key)]).unwrap_err();
        assert!(matches!(refused, SnapshotError::Unreadable(ref why) if why.contains("lacks")), "{refused:?}");
    }

    #[test]
    fn a_cut_or_damaged_snapshot_is_refused() {
        let data = tempfile::tempdir().unwrap();
        let desk = DeskId("d".repeat(32));
        let key = Arc::new(DeskIdentity::generate());
        let (vocabulary, written) = entries(200);
        write(data.path(), &desk, &key, &vocabulary, written.len(), written.iter()).unwrap();
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
