//! Large sealed objects (attachments, bulky statements) as files:
//! `objects/<2 hex>/<id>.age`. sled keeps only records; a 1 GiB value in
//! sled would cost its size in memory.
//!
//! A new object is written under `objects/.partial/` and becomes visible
//! only through [`ObjectStore::commit`]. An object that is dropped without
//! being committed (an aborted upload, an error) deletes its partial file,
//! and whatever a crash leaves in `.partial/` is removed at the next open.

use std::fs::{self, File};
use std::io::{self, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use crate::crypto::{SealedStream, random_hex_id};

use super::durable::{create_private_dir, sync_dir};
use super::{ObjectId, StorageError};

const PARTIAL: &str = ".partial";

#[derive(Debug)]
pub struct ObjectStore {
    root: PathBuf,
}

impl ObjectStore {
    /// Opens `DIR/objects`, creating it if missing, and removes partial files
    /// left by an interrupted write. Only the process that holds the database
    /// lock calls this, so no live write is ever removed.
    pub fn open(data_dir: &Path) -> Result<Self, StorageError> {
        let root = data_dir.join("objects");
        create_private_dir(&root)?;
        let partial = root.join(PARTIAL);
        create_private_dir(&partial)?;
        let mut removed = 0usize;
        for entry in fs::read_dir(&partial)? {
            let path = entry?.path();
            fs::remove_file(&path)?;
            removed += 1;
        }
        if removed > 0 {
            sync_dir(&partial)?;
            tracing::info!(removed, "removed partial objects left by an interrupted write");
        }
        Ok(Self { root })
    }

    /// Read-only access to a data directory's objects, without opening it
    /// (for commands that run beside the server: files are immutable once
    /// committed, so reading them needs no lock).
    pub fn reader(data_dir: &Path) -> Self {
        Self { root: data_dir.join("objects") }
    }

    /// Starts a new object. Write sealed bytes into it, then commit it.
    pub fn create(&self) -> Result<PendingObject, StorageError> {
        self.create_as(ObjectId(random_hex_id()))
    }

    /// Starts a new object under an id chosen beforehand (a fresh random
    /// one, noted where a crash recovery will find it).
    pub fn create_as(&self, id: ObjectId) -> Result<PendingObject, StorageError> {
        self.path_of(&id)?;
        let path = self.root.join(PARTIAL).join(format!("{}.age", id.0));
        let file = fs::OpenOptions::new().write(true).create_new(true).open(&path)?;
        Ok(PendingObject { id, path: Some(path), writer: BufWriter::with_capacity(64 * 1024, file) })
    }

    /// Makes a finished object durable and visible: fsync, rename, fsync of
    /// the directory. After this returns, a crash cannot lose the object.
    pub fn commit(&self, sealed: SealedStream<PendingObject>) -> Result<ObjectId, StorageError> {
        let mut pending = sealed.into_inner();
        pending.writer.flush()?;
        // A file's modification time would tell when a witness uploaded it;
        // set it back to the start of the day (the only time we keep). The
        // change time cannot be set: SECURITY.md says so.
        let now = std::time::SystemTime::UNIX_EPOCH
            + std::time::Duration::from_secs(crate::clock::Clock::now(&crate::clock::SystemClock).0 / 86_400 * 86_400);
        let times = fs::FileTimes::new().set_modified(now).set_accessed(now);
        pending.writer.get_ref().set_times(times)?;
        pending.writer.get_ref().sync_all()?;
        let final_path = self.path_of(&pending.id)?;
        if let Some(shard) = final_path.parent() {
            create_private_dir(shard)?;
        }
        let Some(partial_path) = pending.path.take() else {
            return Err(StorageError::Corrupt("object committed twice".into()));
        };
        fs::rename(&partial_path, &final_path)?;
        if let Some(shard) = final_path.parent() {
            sync_dir(shard)?;
        }
        sync_dir(&self.root.join(PARTIAL))?;
        Ok(pending.id.clone())
    }

    /// Every committed object's id (backups).
    pub fn list(&self) -> Result<Vec<ObjectId>, StorageError> {
        let mut ids = Vec::new();
        for shard in fs::read_dir(&self.root)? {
            let shard = shard?;
            if shard.file_name() == PARTIAL || !shard.file_type()?.is_dir() {
                continue;
            }
            for entry in fs::read_dir(shard.path())? {
                let name = entry?.file_name();
                if let Some(id) = name.to_str().and_then(|n| n.strip_suffix(".age")) {
                    ids.push(ObjectId(id.to_string()));
                }
            }
        }
        ids.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(ids)
    }

    /// Writes an object read from a backup under its own id, durably.
    pub fn restore(&self, id: &ObjectId, mut sealed: impl Read) -> Result<(), StorageError> {
        let final_path = self.path_of(id)?;
        if let Some(shard) = final_path.parent() {
            create_private_dir(shard)?;
        }
        let partial = self.root.join(PARTIAL).join(format!("{}.age", id.0));
        let mut file = fs::OpenOptions::new().write(true).create_new(true).open(&partial)?;
        io::copy(&mut sealed, &mut file)?;
        file.sync_all()?;
        fs::rename(&partial, &final_path)?;
        if let Some(shard) = final_path.parent() {
            sync_dir(shard)?;
        }
        Ok(())
    }

    /// Reads a committed object's ciphertext as a stream.
    pub fn read(&self, id: &ObjectId) -> Result<impl Read + use<>, StorageError> {
        match File::open(self.path_of(id)?) {
            Ok(file) => Ok(io::BufReader::new(file)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Err(StorageError::NotFound),
            Err(e) => Err(e.into()),
        }
    }

    /// The size of a committed object's ciphertext.
    pub fn len(&self, id: &ObjectId) -> Result<u64, StorageError> {
        Ok(fs::metadata(self.path_of(id)?)?.len())
    }

    /// Removes a committed object if it is there (the cleanup after a
    /// crash, which may have come before or after the object was made).
    pub fn remove_if_present(&self, id: &ObjectId) -> Result<(), StorageError> {
        match self.remove(id) {
            Err(StorageError::Io(e)) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            other => other,
        }
    }

    /// Removes a committed object for good (purge after withdrawal).
    pub fn remove(&self, id: &ObjectId) -> Result<(), StorageError> {
        let path = self.path_of(id)?;
        fs::remove_file(&path)?;
        if let Some(shard) = path.parent() {
            sync_dir(shard)?;
        }
        Ok(())
    }

    fn path_of(&self, id: &ObjectId) -> Result<PathBuf, StorageError> {
        // Ids come from records, but a damaged record must not be able to
        // point outside the objects directory.
        let valid = id.0.len() == 32 && id.0.bytes().all(|b| b.is_ascii_hexdigit());
        if !valid {
            return Err(StorageError::Corrupt("an object id is malformed".into()));
        }
        Ok(self.root.join(&id.0[..2]).join(format!("{}.age", id.0)))
    }
}

/// An object being written. Dropping it without committing deletes it.
pub struct PendingObject {
    id: ObjectId,
    path: Option<PathBuf>,
    writer: BufWriter<File>,
}

impl PendingObject {
    pub fn id(&self) -> &ObjectId {
        &self.id
    }
}

impl Write for PendingObject {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.writer.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.writer.flush()
    }
}

impl Drop for PendingObject {
    fn drop(&mut self) {
        if let Some(path) = self.path.take() {
            // Best effort: if this fails, the next open removes it.
            let _ = fs::remove_file(path);
        }
    }
}
