//! Reading a backup: every entry's hash, the running hash and counts of the
//! end entry, and the audit chain inside, checked as the file streams by;
//! and the restore built on it, which writes into a temporary sibling of
//! the target and renames it into place only when all of that passed.
//!
//! A restore never removes anything it did not create: a target that is
//! not empty (a live data directory included) is refused before anything
//! is written, and a failed restore removes only its own temporary
//! directory.

use std::fs;
use std::io::{self, BufRead, Read};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::audit;
use crate::crypto::{SigningKey, hex};
use crate::storage::{ObjectId, Store, sync_dir};

use super::{EntryDigest, Header, MAGIC, VERSION};

/// The longest header line a writer makes is about 250 bytes; a "line"
/// longer than this is damage, not a header, and is not read into memory.
const MAX_HEADER: usize = 4096;

/// Where in a backup a problem is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Position {
    /// 1-based, counting the entries after the first line.
    pub entry: u64,
    /// Where the entry's header line starts in the file.
    pub offset: u64,
    /// What the entry holds, as far as it could be read.
    pub section: String,
}

impl std::fmt::Display for Position {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "entry {} ({}, starting at byte offset {})", self.entry, self.section, self.offset)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error("this is not a testimony backup (its first line is not `{MAGIC} {VERSION}`)")]
    NotABackup,
    #[error(
        "this is a version 1 backup, written before backups carried checksums: it cannot be checked for damage, so it is refused; restore it with the testimony release that wrote it, then take a new backup"
    )]
    Version1,
    #[error("this backup is format {0}, newer than this testimony reads (format {VERSION}): upgrade testimony")]
    Newer(u32),
    #[error("the backup is damaged at {at}: {what}")]
    Damaged { at: Position, what: String },
    #[error("the backup is damaged or cut short: it ends inside its first line")]
    CutInFirstLine,
    #[error("the backup is damaged or cut short: it ends inside {at}")]
    CutShort { at: Position },
    /// Reading the file or writing the restore failed: not the backup's fault.
    #[error("{0}")]
    Io(String),
}

/// What a backup holds, once checked.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Contents {
    pub records: u64,
    pub objects: u64,
    pub object_bytes: u64,
    pub audit_bytes: u64,
    /// From the audit chain, when it was checked.
    pub audit_records: u64,
    pub audit_checkpoints: u64,
    pub audit_head: String,
    /// SHA-256 of the whole file before its end line.
    pub sha256: String,
}

/// How much [`read`] checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    /// Every hash and count: the file is the one that was written. (What
    /// `backup` checks of the file it just wrote: a live log that fails
    /// its chain is still worth a copy.)
    Hashes,
    /// And the audit chain inside, and that it was written with this
    /// data's signing key: what `backup --verify` and `restore` check.
    Everything,
}

/// Where the entries of a backup go while it is read.
trait Sink {
    fn record(&mut self, tree: &str, key: &[u8], value: &[u8]) -> Result<(), String>;
    fn object(&mut self, id: &ObjectId, body: &mut dyn Read) -> Result<(), String>;
    fn audit(&mut self, log: &[u8]) -> Result<(), String>;
}

/// Checks a backup without keeping anything (`backup --verify`).
pub fn read(input: impl Read, check: Check) -> Result<Contents, BackupError> {
    struct Discard;
    impl Sink for Discard {
        fn record(&mut self, _: &str, _: &[u8], _: &[u8]) -> Result<(), String> {
            Ok(())
        }
        fn object(&mut self, _: &ObjectId, body: &mut dyn Read) -> Result<(), String> {
            io::copy(body, &mut io::sink()).map(drop).map_err(|e| e.to_string())
        }
        fn audit(&mut self, _: &[u8]) -> Result<(), String> {
            Ok(())
        }
    }
    let mut input = Counting::new(input);
    read_magic(&mut input)?;
    read_entries(&mut input, &mut Discard, check)
}

/// A reader that counts and hashes every byte consumed, so the end entry's
/// running hash covers exactly the bytes before the end line, and every
/// problem can be given its byte offset.
struct Counting<R> {
    inner: R,
    buf: Box<[u8]>,
    pos: usize,
    filled: usize,
    offset: u64,
    running: Sha256,
}

impl<R: Read> Counting<R> {
    fn new(inner: R) -> Counting<R> {
        Counting {
            inner,
            buf: vec![0; 64 * 1024].into_boxed_slice(),
            pos: 0,
            filled: 0,
            offset: 0,
            running: Sha256::new(),
        }
    }
}

impl<R: Read> BufRead for Counting<R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        if self.pos == self.filled {
            self.filled = self.inner.read(&mut self.buf)?;
            self.pos = 0;
        }
        Ok(&self.buf[self.pos..self.filled])
    }

    fn consume(&mut self, n: usize) {
        let n = n.min(self.filled - self.pos);
        self.running.update(&self.buf[self.pos..self.pos + n]);
        self.pos += n;
        self.offset += n as u64;
    }
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let available = self.fill_buf()?;
        let n = available.len().min(out.len());
        out[..n].copy_from_slice(&available[..n]);
        self.consume(n);
        Ok(n)
    }
}

/// A payload being read: hashed for its entry as it goes.
struct Payload<'a, R> {
    body: io::Take<&'a mut Counting<R>>,
    digest: EntryDigest,
}

impl<R: Read> Read for Payload<'_, R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let n = self.body.read(out)?;
        self.digest.update(&out[..n]);
        Ok(n)
    }
}

fn io_error(e: io::Error) -> BackupError {
    BackupError::Io(format!("cannot read the backup: {e}"))
}

fn read_magic<R: Read>(input: &mut Counting<R>) -> Result<(), BackupError> {
    let mut first = Vec::new();
    (&mut *input).take(64).read_until(b'\n', &mut first).map_err(io_error)?;
    let text = String::from_utf8_lossy(&first);
    let version = text.trim_end().strip_prefix(MAGIC).and_then(|v| v.strip_prefix(' ')).and_then(|v| v.parse().ok());
    if !first.ends_with(b"\n") && format!("{MAGIC} {VERSION}\n").as_bytes().starts_with(&first) {
        return Err(BackupError::CutInFirstLine);
    }
    match version {
        Some(VERSION) if first.ends_with(b"\n") => Ok(()),
        Some(1) => Err(BackupError::Version1),
        Some(v) if v > VERSION => Err(BackupError::Newer(v)),
        _ => Err(BackupError::NotABackup),
    }
}

fn read_entries<R: Read>(input: &mut Counting<R>, sink: &mut dyn Sink, check: Check) -> Result<Contents, BackupError> {
    let mut contents = Contents::default();
    let (mut entry, mut audit_seen) = (0u64, None::<Position>);
    // The signing key among the records, and the one the audit log names.
    let (mut signing_key, mut audit_key) = (None::<String>, None::<String>);
    loop {
        entry += 1;
        let mut at = Position { entry, offset: input.offset, section: "an entry header".into() };
        let running = hex(&input.running.clone().finalize());
        let mut line = Vec::new();
        (&mut *input).take(MAX_HEADER as u64).read_until(b'\n', &mut line).map_err(io_error)?;
        if line.last() != Some(&b'\n') {
            return Err(if line.len() >= MAX_HEADER {
                BackupError::Damaged { at, what: "the header line is unreadable".into() }
            } else {
                BackupError::CutShort { at }
            });
        }
        let header: Header = serde_json::from_slice(&line[..line.len() - 1])
            .map_err(|_| BackupError::Damaged { at: at.clone(), what: "the header line is unreadable".into() })?;
        let damaged = |at: &Position, what: &str| BackupError::Damaged { at: at.clone(), what: what.into() };
        let sink_failed = |at: &Position, e: String| BackupError::Io(format!("restoring {at} failed: {e}"));
        match header {
            Header::Record { tree, key_bytes, bytes, sha256 } => {
                at.section = format!("a record of `{tree}`");
                if key_bytes > bytes {
                    return Err(damaged(&at, "its key is longer than the record"));
                }
                let mut payload = Payload {
                    body: (&mut *input).take(bytes),
                    digest: EntryDigest::new("record", &tree, key_bytes, bytes),
                };
                // Records are small (sealed summaries and keys); the length
                // is checked against what the file really holds as it is read.
                let mut data = Zeroizing::new(Vec::new());
                payload.read_to_end(&mut data).map_err(io_error)?;
                if payload.body.limit() != 0 {
                    return Err(BackupError::CutShort { at });
                }
                if payload.digest.hex() != sha256 {
                    return Err(damaged(&at, "its contents do not match their SHA-256"));
                }
                expect_newline(input, &at)?;
                let (key, value) = data.split_at(key_bytes as usize);
                if (tree.as_str(), key) == Store::SIGNING_SEED_RECORD {
                    let key = SigningKey::from_seed(value).map_err(|_| damaged(&at, "the signing key is malformed"))?;
                    signing_key = Some(key.verifying_key().to_string());
                }
                sink.record(&tree, key, value).map_err(|e| sink_failed(&at, e))?;
                contents.records += 1;
            }
            Header::Object { id, bytes, sha256 } => {
                at.section = format!("object {id}");
                if id.len() != 32 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
                    return Err(damaged(&at, "its id is malformed"));
                }
                let mut payload =
                    Payload { body: (&mut *input).take(bytes), digest: EntryDigest::new("object", &id, 0, bytes) };
                sink.object(&ObjectId(id), &mut payload).map_err(|e| sink_failed(&at, e))?;
                // Whatever the sink left unread still counts.
                io::copy(&mut payload, &mut io::sink()).map_err(io_error)?;
                if payload.body.limit() != 0 {
                    return Err(BackupError::CutShort { at });
                }
                if payload.digest.hex() != sha256 {
                    return Err(damaged(&at, "its contents do not match their SHA-256"));
                }
                expect_newline(input, &at)?;
                contents.objects += 1;
                contents.object_bytes += bytes;
            }
            Header::Audit { bytes, sha256 } => {
                at.section = "the audit log".into();
                if audit_seen.is_some() {
                    return Err(damaged(&at, "a second audit log"));
                }
                let mut payload =
                    Payload { body: (&mut *input).take(bytes), digest: EntryDigest::new("audit", "", 0, bytes) };
                let mut log = Vec::new();
                payload.read_to_end(&mut log).map_err(io_error)?;
                if payload.body.limit() != 0 {
                    return Err(BackupError::CutShort { at });
                }
                if payload.digest.hex() != sha256 {
                    return Err(damaged(&at, "its contents do not match their SHA-256"));
                }
                expect_newline(input, &at)?;
                if check == Check::Everything {
                    let summary = audit::verify_bytes(&log, None)
                        .map_err(|t| damaged(&at, &format!("the audit log inside has been tampered with at {t}")))?;
                    contents.audit_records = summary.records;
                    contents.audit_checkpoints = summary.checkpoints;
                    contents.audit_head = summary.head;
                    audit_key = Some(summary.signing_key);
                }
                sink.audit(&log).map_err(|e| sink_failed(&at, e))?;
                contents.audit_bytes = bytes;
                audit_seen = Some(at);
            }
            Header::End { entries, records, objects, audit_bytes, sha256 } => {
                at.section = "the end entry".into();
                if sha256 != running {
                    return Err(damaged(
                        &at,
                        "the whole-file SHA-256 does not match (entries dropped, added or changed)",
                    ));
                }
                let Some(audit_at) = audit_seen else {
                    return Err(damaged(&at, "the backup holds no audit log"));
                };
                if entries != entry - 1
                    || records != contents.records
                    || objects != contents.objects
                    || audit_bytes != contents.audit_bytes
                {
                    return Err(damaged(&at, "its counts do not match the entries before it"));
                }
                // The audit log must be this data's own, not one from another
                // server put beside its records.
                if check == Check::Everything && (signing_key.is_none() || signing_key != audit_key) {
                    return Err(damaged(&audit_at, "the audit log was not written with this backup's signing key"));
                }
                if !input.fill_buf().map_err(io_error)?.is_empty() {
                    return Err(damaged(&at, "there are bytes after the end entry"));
                }
                contents.sha256 = sha256;
                return Ok(contents);
            }
        }
    }
}

fn expect_newline<R: Read>(input: &mut Counting<R>, at: &Position) -> Result<(), BackupError> {
    let mut nl = [0u8; 1];
    match input.read(&mut nl).map_err(io_error)? {
        0 => Err(BackupError::CutShort { at: at.clone() }),
        _ if nl[0] != b'\n' => {
            Err(BackupError::Damaged { at: at.clone(), what: "its payload is not followed by a newline".into() })
        }
        _ => Ok(()),
    }
}

/// Restores a backup into `dir`, which must not exist, or be an empty
/// directory that no process holds. Everything is written into a new
/// temporary sibling `.NAME.restore-XXXXXXXX` (0700), checked, made
/// durable, and only then renamed onto `dir`; on any failure that sibling,
/// and only it, is removed.
pub fn restore(input: impl Read, dir: &Path) -> Result<Contents, String> {
    refuse_unless_empty(dir)?;
    let mut input = Counting::new(input);
    read_magic(&mut input).map_err(|e| e.to_string())?;
    let temp = TempSibling::create(dir)?;
    let contents = (|| -> Result<Contents, String> {
        let store = Store::create_for_restore(&temp.path).map_err(|e| e.to_string())?;
        let mut sink = Restorer { store: &store, dir: &temp.path };
        let contents = read_entries(&mut input, &mut sink, Check::Everything).map_err(|e| e.to_string())?;
        // The restored log, as written, is the one that was checked, and it
        // belongs to the restored signing key.
        let summary = audit::verify_file(&audit::log_path(&temp.path), None).map_err(|e| e.to_string())?;
        let key = store.signing_key().map_err(|e| e.to_string())?.verifying_key().to_string();
        if summary.signing_key != key {
            return Err("the restored audit log was not written with the restored signing key".into());
        }
        store.complete_init().map_err(|e| e.to_string())?;
        drop(store);
        sync_dir(&temp.path).map_err(|e| e.to_string())?;
        Ok(contents)
    })()?;
    temp.rename_onto(dir)?;
    Ok(contents)
}

struct Restorer<'a> {
    store: &'a Store,
    dir: &'a Path,
}

impl Sink for Restorer<'_> {
    fn record(&mut self, tree: &str, key: &[u8], value: &[u8]) -> Result<(), String> {
        self.store.restore_record(tree, key, value).map_err(|e| e.to_string())
    }

    fn object(&mut self, id: &ObjectId, body: &mut dyn Read) -> Result<(), String> {
        self.store.objects().restore(id, body).map_err(|e| e.to_string())
    }

    fn audit(&mut self, log: &[u8]) -> Result<(), String> {
        use std::io::Write;
        let audit_dir = self.dir.join("audit");
        crate::storage::create_private_dir(&audit_dir).map_err(|e| e.to_string())?;
        let mut file = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(audit::log_path(self.dir))
            .map_err(|e| e.to_string())?;
        file.write_all(log).map_err(|e| e.to_string())?;
        file.sync_all().map_err(|e| e.to_string())?;
        sync_dir(&audit_dir).map_err(|e| e.to_string())
    }
}

/// Refuses a target that exists and is anything but an empty directory,
/// saying so plainly when a running process holds it.
fn refuse_unless_empty(dir: &Path) -> Result<(), String> {
    let shown = dir.display();
    match fs::symlink_metadata(dir) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(format!("cannot look at {shown}: {}", e.kind())),
        Ok(meta) if !meta.is_dir() => {
            Err(format!("refusing to restore into {shown}: it exists and is not a directory"))
        }
        Ok(_) => {
            let empty = fs::read_dir(dir).map_err(|e| format!("cannot read {shown}: {}", e.kind()))?.next().is_none();
            if empty {
                Ok(())
            } else if Store::is_held(dir) || crate::control::answers(dir) {
                Err(format!(
                    "refusing to restore into {shown}: a running server (or another testimony command) holds it; restore into a new directory"
                ))
            } else {
                Err(format!(
                    "refusing to restore into {shown}: it is not empty (nothing in it was touched); restore into a new directory"
                ))
            }
        }
    }
}

/// The restore's own directory beside the target. Dropped without being
/// renamed, it removes itself: it holds nothing but what this restore wrote.
struct TempSibling {
    path: PathBuf,
    renamed: bool,
}

impl TempSibling {
    fn create(dir: &Path) -> Result<TempSibling, String> {
        use std::os::unix::fs::DirBuilderExt;
        let name = dir
            .file_name()
            .ok_or_else(|| format!("{} does not name a directory to restore into", dir.display()))?
            .to_string_lossy();
        let parent = parent_of(dir);
        remove_interrupted(&parent, &name);
        let path = parent.join(format!(".{name}.restore-{}", &crate::crypto::random_hex_id()[..8]));
        // `create`, not `create_all`: fails rather than reuse anything that
        // exists, so what is removed on failure is only what this made.
        fs::DirBuilder::new()
            .mode(0o700)
            .create(&path)
            .map_err(|e| format!("cannot create a directory beside {}: {}", dir.display(), e.kind()))?;
        Ok(TempSibling { path, renamed: false })
    }

    /// Renames the finished restore onto `dir`. rename(2) replaces an empty
    /// directory atomically and fails on a non-empty one, so a directory
    /// that gained files meanwhile is refused, not replaced.
    fn rename_onto(mut self, dir: &Path) -> Result<(), String> {
        fs::rename(&self.path, dir).map_err(|e| match e.kind() {
            io::ErrorKind::DirectoryNotEmpty | io::ErrorKind::AlreadyExists => format!(
                "refusing to restore into {}: something was written into it during the restore (nothing in it was touched)",
                dir.display()
            ),
            _ => format!("cannot move the restored data into {}: {e}", dir.display()),
        })?;
        self.renamed = true;
        sync_dir(&parent_of(dir)).map_err(|e| format!("cannot make the restore durable: {e}"))
    }
}

impl Drop for TempSibling {
    fn drop(&mut self) {
        if !self.renamed {
            // Only this restore's own directory, made by `create` above.
            let _ = fs::remove_dir_all(&self.path);
        }
    }
}

/// Removes what earlier restores into `parent/name` left when they were
/// killed (or the power failed) before renaming: their own temporary
/// siblings, by their exact name (`.NAME.restore-` and eight hex digits),
/// that no process holds. Each is a copy of the organization's data that
/// nobody would ever open; none is ever served (it has no FORMAT until it
/// is complete, and only its rename makes it the data directory).
fn remove_interrupted(parent: &Path, name: &str) {
    let prefix = format!(".{name}.restore-");
    let Ok(entries) = fs::read_dir(parent) else { return };
    for entry in entries.flatten() {
        let file_name = entry.file_name();
        let Some(suffix) = file_name.to_str().and_then(|n| n.strip_prefix(&prefix)) else { continue };
        let ours = suffix.len() == 8 && suffix.bytes().all(|b| b.is_ascii_hexdigit());
        let path = entry.path();
        if !ours || !entry.file_type().is_ok_and(|t| t.is_dir()) || Store::is_held(&path) {
            continue;
        }
        match fs::remove_dir_all(&path) {
            Ok(()) => tracing::warn!(path = %path.display(), "removed what an interrupted restore left"),
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "cannot remove what an interrupted restore left")
            }
        }
    }
}

fn parent_of(dir: &Path) -> PathBuf {
    // A relative name like "data" has the empty path as parent.
    dir.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new(".")).to_path_buf()
}
