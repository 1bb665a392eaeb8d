//! The writer: appends records to `audit/log`, durably, in order, and fails
//! closed.
//!
//! Group commit: appending threads queue their entries; one of them (the
//! leader) takes everything queued, writes it with one `write(2)` and one
//! fsync, and wakes the others. Entries that arrive meanwhile form the next
//! batch, in arrival order, so no thread waits behind more than about two
//! fsyncs however many are appending. An append returns only after its
//! record is on disk.
//!
//! A failed write is cut back and reported; the log stays usable. A failed
//! fsync poisons it: after one the kernel may have dropped the dirty pages,
//! so carrying on through the same handle could silently lose entries, and
//! every action that needs an audit entry fails. Recovery does not need a
//! restart: at most every few seconds, an append tries a fresh handle, cuts
//! the file back to what was last synced, syncs that, and checks that the
//! last record on disk is the head it knows; only then does the log take
//! entries again. Appends are refused cleanly (not attempted) while the
//! disk is below a small floor, so a full disk rarely comes to a failed
//! fsync at all.

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom, Write};

use sha2::Digest;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};

use crate::clock::{Clock, Day, Timestamp};
use crate::crypto::SigningKey;
use crate::storage::{Store, create_private_dir, sync_dir};

use super::chain::{Body, Checkpoint, GENESIS, Record};
use super::event::{Actor, Event, Outcome};

pub const LOG_FILE: &str = "log";

/// No append is attempted while less than this is free on the log's disk
/// (half the record store's floor, so the entries that record refusals
/// can still be written when the records cannot).
pub const AUDIT_FLOOR: u64 = crate::storage::WRITE_FLOOR / 2;

/// How often a poisoned log tries to recover, in seconds.
const RECOVERY_INTERVAL_SECS: u64 = 5;

/// How often a signed checkpoint is appended, in records, by default.
pub const DEFAULT_CHECKPOINT_EVERY: u64 = 1000;

#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    #[error("the audit log cannot be written: {0}")]
    Io(#[from] io::Error),
    #[error("the audit log is unavailable after an earlier write failure; fix the disk and restart")]
    Poisoned,
    #[error("the audit log is damaged: {0}")]
    Damaged(String),
    #[error(
        "this machine's clock says {now}, before the audit log's last record ({last}): records written now would be out of order. Fix: set the clock right (timedatectl set-ntp true, or date -s), then start again"
    )]
    ClockBehind { last: String, now: String },
}

/// How far the clock may be behind the last record before the log refuses
/// to open: a restart just after an NTP correction must not be refused.
pub const CLOCK_SLACK: std::time::Duration = std::time::Duration::from_secs(120);

/// Refuses a clock that is behind the log's last record (by more than
/// [`CLOCK_SLACK`]): records written now would be out of order. `serve`
/// asks before it opens anything; nothing is changed either way.
pub fn check_clock(data_dir: &Path, now: Timestamp) -> Result<(), AuditError> {
    let mut file = match File::open(log_path(data_dir)) {
        Ok(file) => file,
        // No log: the store's own checks will say what is wrong.
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e.into()),
    };
    let (_, last, _, _) = scan_tail(&mut file)?;
    match last {
        Some(last) if clock_behind(&last.time, now) => {
            Err(AuditError::ClockBehind { last: last.time, now: now.to_rfc3339() })
        }
        _ => Ok(()),
    }
}

/// Whether `now`, with [`CLOCK_SLACK`], is still before `last` (a record's
/// time: RFC 3339 to the second, or a day alone). Both are fixed-width
/// UTC, so they compare as text.
fn clock_behind(last: &str, now: Timestamp) -> bool {
    let ahead = now.plus(CLOCK_SLACK);
    if last.len() == 10 { ahead.day().to_string().as_str() < last } else { ahead.to_rfc3339().as_str() < last }
}

/// When an entry happened, at the precision its actor allows.
#[derive(Clone, Copy, Debug)]
pub enum When {
    /// Now, to the second (reviewers and the system).
    Now,
    /// A day only (witness events, so the log cannot time a connection).
    Day(Day),
}

/// One entry to append.
#[derive(Clone, Debug)]
pub struct NewEntry {
    pub actor: Actor,
    pub event: Event,
    pub object: Option<String>,
    pub outcome: Outcome,
    pub when: When,
}

impl NewEntry {
    pub fn by(actor: Actor, event: Event) -> NewEntry {
        NewEntry { actor, event, object: None, outcome: Outcome::Ok, when: When::Now }
    }

    pub fn on(mut self, object: impl Into<String>) -> NewEntry {
        self.object = Some(object.into());
        self
    }

    pub fn outcome(mut self, outcome: Outcome) -> NewEntry {
        self.outcome = outcome;
        self
    }

    pub fn on_day(mut self, day: Day) -> NewEntry {
        self.when = When::Day(day);
        self
    }
}

/// Proof that an audit entry about `object` is durable: made only by
/// [`AuditLog::append_before_release`], so a function that asks for one
/// cannot run before its entry is in the log (DESIGN.md, promise 6).
#[derive(Debug)]
pub struct Permit {
    object: Option<String>,
}

impl Permit {
    /// Whether this permit was issued for `object` (a statement id).
    pub fn covers(&self, object: &str) -> bool {
        self.object.as_deref() == Some(object)
    }

    /// Whether it was issued for no particular object (an export across
    /// many statements).
    pub fn is_general(&self) -> bool {
        self.object.is_none()
    }
}

/// The file the log is written to; a trait so tests can make it fail like a
/// full or read-only disk.
pub trait LogFile: Send {
    fn append(&mut self, bytes: &[u8]) -> io::Result<()>;
    fn sync(&mut self) -> io::Result<()>;
    /// Cuts the file back to `len` bytes (undoing a partial append).
    fn truncate(&mut self, len: u64) -> io::Result<()>;
}

impl LogFile for File {
    fn append(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.write_all(bytes)
    }
    fn sync(&mut self) -> io::Result<()> {
        self.sync_data()
    }
    fn truncate(&mut self, len: u64) -> io::Result<()> {
        self.set_len(len)
    }
}

struct Tail {
    file: Box<dyn LogFile>,
    sync_handle: Box<dyn LogFile>,
    len: u64,
    next_seq: u64,
    head: String,
    since_checkpoint: u64,
}

impl Tail {
    fn empty(file: Box<dyn LogFile>, sync_handle: Box<dyn LogFile>) -> Tail {
        Tail { file, sync_handle, len: 0, next_seq: 0, head: GENESIS.into(), since_checkpoint: 0 }
    }
}

/// An entry to write, or `None` for a checkpoint.
type Item = Option<NewEntry>;

/// How a batch went, for one caller: the checkpoints signed for its own
/// `None` items, in order.
type Done = Result<Vec<Checkpoint>, (io::ErrorKind, String)>;

/// Where a queued append learns how its batch went.
#[derive(Default)]
struct Slot(Mutex<Option<Done>>);

struct Queue {
    waiting: Vec<(Vec<Item>, Arc<Slot>)>,
    leader: bool,
}

pub struct AuditLog {
    queue: Mutex<Queue>,
    woken: Condvar,
    /// Only the leader takes this, so it is never contended.
    tail: Mutex<Tail>,
    poisoned: AtomicBool,
    /// When recovery from poisoning was last tried (clock seconds).
    last_recovery: AtomicU64,
    signing: SigningKey,
    clock: Arc<dyn Clock>,
    checkpoint_every: u64,
    path: PathBuf,
}

impl std::fmt::Debug for AuditLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "AuditLog({})", self.path.display())
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // Every state change under these locks happens after the I/O it depends
    // on succeeded, so the state is consistent even if a holder panicked.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl AuditLog {
    /// Creates `DIR/audit/log` with its first entry, which commits to the
    /// signing key. Fails if a log exists. Taking the `Store` proves this
    /// process holds the data directory's lock: one writer at a time.
    pub fn create(store: &Store, clock: Arc<dyn Clock>) -> Result<AuditLog, AuditError> {
        let signing = store.signing_key().map_err(|e| AuditError::Damaged(e.to_string()))?;
        let dir = store.dir().join("audit");
        create_private_dir(&dir)?;
        let path = dir.join(LOG_FILE);
        let file = OpenOptions::new().append(true).create_new(true).open(&path)?;
        sync_dir(&dir)?;
        let sync_handle = file.try_clone()?;
        let log = AuditLog::from_parts(path, Tail::empty(Box::new(file), Box::new(sync_handle)), signing, clock);
        let key = log.signing.verifying_key().to_string();
        log.append(NewEntry::by(Actor::System, Event::DataDirectoryCreated { signing_key: key }))?;
        Ok(log)
    }

    /// Opens an existing log for appending (the `Store` proves the lock is
    /// held). A torn last record (a final line without its newline that is
    /// the beginning of the record due there) was never acknowledged: the
    /// crash came before its fsync. It is cut, said so on stderr, and
    /// recorded in the log itself (`torn_record_cut`, with the size and
    /// SHA-256 of what was cut). Anything else after the last line end was
    /// not written by this log's writer: the log is left as it is and
    /// refused.
    pub fn open(store: &Store, clock: Arc<dyn Clock>) -> Result<AuditLog, AuditError> {
        let signing = store.signing_key().map_err(|e| AuditError::Damaged(e.to_string()))?;
        let path = log_path(store.dir());
        let mut file = match OpenOptions::new().read(true).append(true).open(&path) {
            Ok(file) => file,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(AuditError::Damaged(format!("{} is missing", path.display())));
            }
            Err(e) => return Err(e.into()),
        };
        let (len, last, since_checkpoint, lines) = scan_tail(&mut file)?;
        let full_len = file.metadata()?.len();
        let mut cut = None;
        if full_len > len {
            let mut tail = Vec::new();
            file.seek(SeekFrom::Start(len))?;
            (&mut file).take(full_len - len).read_to_end(&mut tail)?;
            let (seq, head) = last.as_ref().map_or((0, GENESIS), |r| (r.seq + 1, r.hash.as_str()));
            let line = lines + 1;
            if !super::verify::torn_write(&tail, seq, head) {
                return Err(AuditError::Damaged(format!(
                    "line {line}: the last line is incomplete and is not the beginning of the record due there (altered or cut); the log was left as it is"
                )));
            }
            tracing::warn!(
                line,
                bytes = tail.len(),
                "the audit log ended in a torn record (a write cut off by a crash, never acknowledged); cut it, keeping the {lines} records before it"
            );
            file.set_len(len)?;
            file.sync_all()?;
            cut = Some(Event::TornRecordCut {
                line,
                bytes: tail.len() as u64,
                sha256: crate::crypto::hex(&sha2::Sha256::digest(&tail)),
            });
        }
        let last = last.ok_or_else(|| AuditError::Damaged("the log is empty".into()))?;
        let sync_handle = file.try_clone()?;
        let tail = Tail {
            file: Box::new(file),
            sync_handle: Box::new(sync_handle),
            len,
            next_seq: last.seq + 1,
            head: last.hash,
            since_checkpoint,
        };
        let log = AuditLog::from_parts(path, tail, signing, clock);
        if let Some(event) = cut {
            log.append(NewEntry::by(Actor::System, event))?;
        }
        Ok(log)
    }

    /// A log over any `LogFile` (tests use failing ones), starting empty.
    pub fn with_file(
        file: Box<dyn LogFile>,
        sync_handle: Box<dyn LogFile>,
        signing: SigningKey,
        clock: Arc<dyn Clock>,
    ) -> AuditLog {
        AuditLog::from_parts(PathBuf::from("(test)"), Tail::empty(file, sync_handle), signing, clock)
    }

    /// As [`AuditLog::with_file`], for a log whose file is also at `path`
    /// (empty to begin with), so recovery can reopen it there.
    pub fn with_file_at(
        path: PathBuf,
        file: Box<dyn LogFile>,
        sync_handle: Box<dyn LogFile>,
        signing: SigningKey,
        clock: Arc<dyn Clock>,
    ) -> AuditLog {
        AuditLog::from_parts(path, Tail::empty(file, sync_handle), signing, clock)
    }

    fn from_parts(path: PathBuf, tail: Tail, signing: SigningKey, clock: Arc<dyn Clock>) -> AuditLog {
        AuditLog {
            queue: Mutex::new(Queue { waiting: Vec::new(), leader: false }),
            woken: Condvar::new(),
            tail: Mutex::new(tail),
            poisoned: AtomicBool::new(false),
            last_recovery: AtomicU64::new(0),
            signing,
            clock,
            checkpoint_every: DEFAULT_CHECKPOINT_EVERY,
            path,
        }
    }

    /// Sets how many records pass between signed checkpoints.
    pub fn with_checkpoint_every(mut self, every: u64) -> AuditLog {
        self.checkpoint_every = every.max(1);
        self
    }

    /// Appends one entry and returns once it is on disk.
    pub fn append(&self, entry: NewEntry) -> Result<(), AuditError> {
        self.submit(vec![Some(entry)]).map(drop)
    }

    /// Appends the entry that must precede a release of content (a view, a
    /// download, an export) and returns the proof that it is on disk. The
    /// functions that decrypt for a reader take this [`Permit`]; nothing
    /// else can make one.
    pub fn append_before_release(&self, entry: NewEntry) -> Result<Permit, AuditError> {
        let object = entry.object.clone();
        self.append(entry)?;
        Ok(Permit { object })
    }

    /// Appends entries together, in order, and returns once all are on disk.
    pub fn append_all(&self, entries: Vec<NewEntry>) -> Result<(), AuditError> {
        self.submit(entries.into_iter().map(Some).collect()).map(drop)
    }

    /// Appends a signed checkpoint now (also done every N records, hourly
    /// and at a clean shutdown).
    pub fn checkpoint(&self) -> Result<(), AuditError> {
        self.submit(vec![None]).map(drop)
    }

    /// Appends a signed checkpoint of the log's current head and returns
    /// it, once it is on disk (`audit checkpoint`). Its `size` counts every
    /// record written before it, so a copy kept elsewhere catches the
    /// rollback of any of them.
    pub fn checkpoint_now(&self) -> Result<Checkpoint, AuditError> {
        self.submit(vec![None])?
            .pop()
            .ok_or_else(|| AuditError::Damaged("the checkpoint was written but not returned".into()))
    }

    /// Appends a checkpoint if any record was written since the last one.
    pub fn checkpoint_if_needed(&self) -> Result<(), AuditError> {
        let pending = lock(&self.tail).since_checkpoint > 0;
        if pending { self.checkpoint() } else { Ok(()) }
    }

    /// How many records the log holds (the sequence number of the next).
    pub fn records(&self) -> u64 {
        lock(&self.tail).next_seq
    }

    /// Is the log still writable? (False after an fsync failure.)
    pub fn is_healthy(&self) -> bool {
        !self.poisoned.load(Ordering::SeqCst)
    }

    /// Queues `items` and waits until a leader (perhaps this thread) has
    /// written and synced them; returns the checkpoints signed for this
    /// caller's `None` items.
    fn submit(&self, items: Vec<Item>) -> Result<Vec<Checkpoint>, AuditError> {
        if self.poisoned.load(Ordering::SeqCst) && !self.try_recover() {
            return Err(AuditError::Poisoned);
        }
        let slot = Arc::new(Slot::default());
        let mut queue = lock(&self.queue);
        queue.waiting.push((items, slot.clone()));
        loop {
            if let Some(result) = lock(&slot.0).take() {
                return result.map_err(|(kind, message)| self.error_from(kind, message));
            }
            if queue.leader {
                queue = self.woken.wait(queue).unwrap_or_else(|p| p.into_inner());
                continue;
            }
            // Lead one batch: everything queued so far, ours included.
            queue.leader = true;
            let batch = std::mem::take(&mut queue.waiting);
            drop(queue);
            let result = self.write_batch(batch.iter().map(|(items, _)| items.clone()).collect());
            for (i, (_, waiter)) in batch.iter().enumerate() {
                let mine = match &result {
                    Ok(signed) => Ok(signed.get(i).cloned().unwrap_or_default()),
                    Err(e) => Err(e.clone()),
                };
                *lock(&waiter.0) = Some(mine);
            }
            queue = lock(&self.queue);
            queue.leader = false;
            self.woken.notify_all();
        }
    }

    fn error_from(&self, kind: io::ErrorKind, message: String) -> AuditError {
        if self.poisoned.load(Ordering::SeqCst) && kind == io::ErrorKind::Other && message == POISONED {
            AuditError::Poisoned
        } else {
            AuditError::Io(io::Error::new(kind, message))
        }
    }

    /// Formats, writes and syncs one batch (the leader only): each caller's
    /// items in turn. Returns, per caller, the checkpoints its `None` items
    /// asked for.
    fn write_batch(&self, groups: Vec<Vec<Item>>) -> Result<Vec<Vec<Checkpoint>>, (io::ErrorKind, String)> {
        if self.poisoned.load(Ordering::SeqCst) {
            return Err((io::ErrorKind::Other, POISONED.into()));
        }
        if let Some(dir) = self.path.parent()
            && let Ok(stats) = rustix::fs::statvfs(dir)
            && stats.f_bavail.saturating_mul(stats.f_frsize) < AUDIT_FLOOR
        {
            return Err((io::ErrorKind::StorageFull, "the disk is nearly full".into()));
        }
        let now = self.clock.now();
        let mut tail = lock(&self.tail);
        let (mut seq, mut head, mut since) = (tail.next_seq, tail.head.clone(), tail.since_checkpoint);
        let mut bytes = Vec::new();
        let mut push = |body: Body, time: String, seq: &mut u64, head: &mut String| {
            let record = Record::new(*seq, time, body, head);
            bytes.extend_from_slice(record.to_line().as_bytes());
            bytes.push(b'\n');
            *head = record.hash;
            *seq += 1;
        };
        let mut signed: Vec<Vec<Checkpoint>> = Vec::with_capacity(groups.len());
        for items in groups {
            let mut mine = Vec::new();
            for item in items {
                let asked = item.is_none();
                match item {
                    Some(e) => {
                        let time = match e.when {
                            When::Now => now.to_rfc3339(),
                            When::Day(day) => day.to_string(),
                        };
                        let body = Body::Entry { actor: e.actor, event: e.event, object: e.object, outcome: e.outcome };
                        push(body, time, &mut seq, &mut head);
                        since += 1;
                    }
                    None => since = self.checkpoint_every,
                }
                if since >= self.checkpoint_every {
                    let time = now.to_rfc3339();
                    let checkpoint = Checkpoint::sign(seq, &head, &time, &self.signing);
                    if asked {
                        mine.push(checkpoint.clone());
                    }
                    push(Body::Checkpoint(checkpoint), time, &mut seq, &mut head);
                    since = 0;
                }
            }
            signed.push(mine);
        }
        if let Err(e) = tail.file.append(&bytes) {
            // Undo a partial write so the file stays a valid chain; if even
            // that fails, nothing more may be appended.
            let len = tail.len;
            if tail.file.truncate(len).is_err() {
                self.poison();
            }
            return Err((e.kind(), e.to_string()));
        }
        if let Err(e) = tail.sync_handle.sync() {
            // After a failed fsync the kernel may have dropped the pages:
            // what is on disk is unknown, so nothing more may be appended.
            self.poison();
            return Err((e.kind(), e.to_string()));
        }
        tail.len += bytes.len() as u64;
        tail.next_seq = seq;
        tail.head = head;
        tail.since_checkpoint = since;
        Ok(signed)
    }

    /// Tries to make a poisoned log writable again (see the module's
    /// comment); true when it is. Rate-limited: a broken disk is not
    /// hammered by every request.
    fn try_recover(&self) -> bool {
        let now = self.clock.now().0;
        let last = self.last_recovery.load(Ordering::SeqCst);
        if last != 0 && now < last + RECOVERY_INTERVAL_SECS {
            return false;
        }
        self.last_recovery.store(now.max(1), Ordering::SeqCst);
        let mut tail = lock(&self.tail);
        if !self.poisoned.load(Ordering::SeqCst) {
            return true;
        }
        match reopen_at(&self.path, tail.len, &tail.head) {
            Ok((file, sync_handle)) => {
                tail.file = Box::new(file);
                tail.sync_handle = Box::new(sync_handle);
                self.poisoned.store(false, Ordering::SeqCst);
                tracing::warn!(
                    records = tail.next_seq,
                    "the audit log is writable again, checked up to its last record"
                );
                true
            }
            Err(e) => {
                tracing::error!(error = %e, "the audit log is still not writable");
                false
            }
        }
    }

    fn poison(&self) {
        if !self.poisoned.swap(true, Ordering::SeqCst) {
            tracing::error!("the audit log failed to sync; every action that needs it fails until it recovers");
        }
    }
}

const POISONED: &str = "the audit log is poisoned";

/// Streams through the file and returns the length up to the end of the
/// last complete line, that line's record, how many records follow the
/// last checkpoint, and how many complete lines there are.
fn scan_tail(file: &mut File) -> Result<(u64, Option<Record>, u64, u64), AuditError> {
    const CHECKPOINT_MARK: &[u8] = b"\"checkpoint\":{";
    file.seek(SeekFrom::Start(0))?;
    let mut reader = BufReader::new(&mut *file);
    let (mut len, mut last_line, mut since, mut lines) = (0u64, None::<Vec<u8>>, 0u64, 0u64);
    let mut line = Vec::new();
    loop {
        line.clear();
        let n = reader.read_until(b'\n', &mut line)?;
        if n == 0 || line.last() != Some(&b'\n') {
            break;
        }
        len += n as u64;
        lines += 1;
        since = if line.windows(CHECKPOINT_MARK.len()).any(|w| w == CHECKPOINT_MARK) { 0 } else { since + 1 };
        last_line = Some(line.clone());
    }
    let last = match last_line {
        None => None,
        Some(bytes) => {
            let record: Record = serde_json::from_slice(&bytes[..bytes.len() - 1])
                .map_err(|_| AuditError::Damaged("the last record cannot be read".into()))?;
            if record.expected_hash() != record.hash {
                return Err(AuditError::Damaged("the last record does not match its hash".into()));
            }
            Some(record)
        }
    };
    Ok((len, last, since, lines))
}

/// Opens the log at `path` afresh, cuts it back to `len` (what was last
/// synced), syncs, and checks that its last record is `head`: the state
/// from which appending may safely go on.
fn reopen_at(path: &Path, len: u64, head: &str) -> Result<(File, File), AuditError> {
    let mut file = OpenOptions::new().read(true).append(true).open(path)?;
    if file.metadata()?.len() < len {
        return Err(AuditError::Damaged("the log is shorter than what was synced".into()));
    }
    file.set_len(len)?;
    file.sync_all()?;
    let (scanned, last, _, _) = scan_tail(&mut file)?;
    let last_hash = last.map(|r| r.hash).unwrap_or_else(|| GENESIS.to_string());
    if scanned != len || last_hash != head {
        return Err(AuditError::Damaged("the log on disk does not end where it was last synced".into()));
    }
    let sync_handle = file.try_clone()?;
    Ok((file, sync_handle))
}

/// Where the log of a data directory lives.
pub fn log_path(data_dir: &Path) -> PathBuf {
    data_dir.join("audit").join(LOG_FILE)
}

/// True when the data directory has an audit log.
pub fn exists(data_dir: &Path) -> bool {
    fs::metadata(log_path(data_dir)).is_ok()
}
