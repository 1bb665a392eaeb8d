//! The data directory: sled for records, files for large sealed objects.
//! The only module that imports sled. Storage never sees plaintext: record
//! fields are clear metadata or [`crate::crypto::Sealed`], and objects are
//! committed only as finished age streams.
//!
//! ```text
//! DIR/FORMAT                  format marker, written last at init
//! DIR/db/                     sled: server, accounts, desks, desk key wraps
//! DIR/objects/<xx>/<id>.age   sealed objects
//! DIR/objects/.partial/       objects being written; emptied at open
//! ```
//!
//! Every change is flushed (fsync) before the call that made it returns, so
//! whatever a caller acknowledges has reached the disk.
//!
//! The interface the rest of the code relies on is in traits, so that a
//! second engine (PostgreSQL, for several serving nodes) can stand behind
//! it: [`StatementRecords`] (insert with the receipt lookup; every change by
//! compare-and-swap, bumping the record's version) and [`ChangeFeed`]
//! (every committed change published, after the flush). Accounts are
//! changed the same way, by [`Store::modify_account`] on the record as
//! stored; nothing reads an account, holds it and writes it back whole.

mod durable;
mod feed;
pub mod format;
mod objects;
mod records;
mod submissions;
mod upgrade;

use std::path::{Path, PathBuf};

use serde::Serialize;
use serde::de::DeserializeOwned;
use sled::Transactional;
use zeroize::Zeroizing;

use crate::clock::Day;
use crate::crypto::{Sealed, SigningKey};
use crate::i18n::Message;

pub use durable::{create_private_dir, sync_dir};
pub use feed::{ChangeFeed, ChangeKind, StatementChange, Subscriber};
pub use objects::{ObjectStore, PendingObject};
pub use records::{
    AccountName, AccountRecord, DeskId, DeskKeyGeneration, DeskKeyWrap, DeskRecord, Holder, Invitation, ObjectId,
    Partner, Role, SIGN_IN_HISTORY, ServerRecord, SignIn,
};
pub use submissions::{Author, Channel, FileRecord, SubmissionRecord, ThreadItem};

#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("{} is not a testimony data directory (no FORMAT file: it does not exist, or an `init` or `restore` into it did not finish)", .0.display())]
    NotADataDir(PathBuf),
    #[error(
        "the data directory was written by a newer testimony (format {found}; this build reads format {supported}): upgrade testimony"
    )]
    NewerFormat { found: u32, supported: u32 },
    #[error("the data directory uses format {found}, which this build cannot read (it reads format {supported})")]
    OlderFormat { found: u32, supported: u32 },
    #[error("the data directory is in use by another process (is `testimony serve` running?)")]
    InUse,
    #[error("the statement changed since it was checked, so it was left as it is")]
    Changed,
    #[error(
        "the data directory needs an upgrade to a newer format, and the backup taken before it failed, so nothing was changed ({0}); free space for a copy of the data directory, or restore this build's predecessor"
    )]
    UpgradeStopped(String),
    #[error("the data directory is damaged: {0}")]
    Corrupt(String),
    #[error("no such record")]
    NotFound,
    #[error("{0} already exists")]
    AlreadyExists(String),
    #[error("the disk is nearly full: less than {} MiB free beside the data directory", WRITE_FLOOR >> 20)]
    DiskFull,
    #[error("disk error: {0}")]
    Io(#[from] std::io::Error),
}

/// No record is written while less than this is free on the data
/// directory's disk. sled takes an out-of-space error during a flush as
/// fatal (every later call fails until the process restarts), so it must
/// never meet one: writes are refused first, cleanly, and succeed again by
/// themselves once space is freed. Uploads stop earlier (see the intake's
/// reserve), so this margin is left for reviewers and the audit log.
pub const WRITE_FLOOR: u64 = 16 << 20;

impl From<sled::Error> for StorageError {
    fn from(e: sled::Error) -> Self {
        match e {
            // sled reports its lock as a generic I/O error with this text.
            sled::Error::Io(io) if io.to_string().contains("could not acquire lock") => StorageError::InUse,
            sled::Error::Io(io) => StorageError::Io(io),
            sled::Error::Corruption { .. } => StorageError::Corrupt("the record database is corrupt".into()),
            other => StorageError::Corrupt(other.to_string()),
        }
    }
}

/// Statement records, as any storage engine keeps them: a new statement
/// is inserted with its receipt lookup in one durable step; every later
/// change is applied to the record as stored by compare-and-swap and bumps
/// its version; every committed change is published on the engine's
/// [`ChangeFeed`].
pub trait StatementRecords: ChangeFeed + Send + Sync {
    fn submission(&self, id: &str) -> Result<Option<SubmissionRecord>, StorageError>;

    /// The submission a receipt lookup hash points to.
    fn submission_by_receipt(&self, receipt_lookup: &str) -> Result<Option<SubmissionRecord>, StorageError>;

    /// Stores a new submission (at version 1), its receipt lookup and its
    /// deferred audit event in one transaction, and flushes: when this
    /// returns, the record is durable and the receipt may be shown.
    fn insert_submission(
        &self,
        record: &SubmissionRecord,
        receipt_lookup: &str,
        audit_event: Option<&[u8]>,
    ) -> Result<(), StorageError>;

    /// Changes a submission record without losing anyone else's change:
    /// reads the current record, applies `change` to it, and writes it back
    /// only if nobody wrote in between (compare-and-swap), retrying on a
    /// fresh copy otherwise. Deferred audit events are written in the same
    /// transaction. `change` may refuse (for instance when the statement
    /// was withdrawn meanwhile); nothing is written then. Flushes, publishes
    /// the change, and returns the record as stored.
    fn modify_submission(
        &self,
        id: &str,
        audit_events: &[Vec<u8>],
        change: &mut dyn FnMut(&mut SubmissionRecord) -> Result<(), ModifyError>,
    ) -> Result<SubmissionRecord, ModifyError>;

    /// As [`StatementRecords::modify_submission`], for a change begun with
    /// [`Store::begin_change`]: in the same transaction, the begun change's
    /// entry is removed (`then: None`) or replaced by `then` (work left to
    /// do after the record changed), so that after a crash it says whether
    /// the record changed.
    fn modify_submission_begun(
        &self,
        id: &str,
        begun: Finish<'_>,
        change: &mut dyn FnMut(&mut SubmissionRecord) -> Result<(), ModifyError>,
    ) -> Result<SubmissionRecord, ModifyError>;

    /// Every submission record (for listing and export).
    fn submissions(&self) -> Box<dyn Iterator<Item = Result<SubmissionRecord, StorageError>> + '_>;
}

/// What becomes of a begun change when its record is changed.
#[derive(Clone, Copy, Debug)]
pub struct Finish<'a> {
    /// The key [`Store::begin_change`] returned.
    pub key: &'a [u8],
    /// `None`: the change is done; `Some`: what is left to do.
    pub then: Option<&'a [u8]>,
}

/// Why a record could not be changed.
#[derive(Debug, thiserror::Error)]
pub enum ModifyError {
    /// The change itself declined (the reason is for the person asking,
    /// in the reviewer catalogue).
    #[error("{0}")]
    Refused(Message),
    /// The change itself failed (sealing, say): the detail is for the log.
    #[error("{0}")]
    Failed(String),
    #[error(transparent)]
    Storage(#[from] StorageError),
}

impl From<Message> for ModifyError {
    fn from(why: Message) -> Self {
        ModifyError::Refused(why)
    }
}

impl ModifyError {
    /// A failure of the change's own work, for the log.
    pub fn failed(e: impl std::fmt::Display) -> ModifyError {
        ModifyError::Failed(e.to_string())
    }
}

const TREE_META: &str = "meta";
const TREE_ACCOUNTS: &str = "accounts";
const TREE_DESKS: &str = "desks";
const TREE_DESK_KEYS: &str = "desk_keys";
const TREE_SUBMISSIONS: &str = "submissions";
const TREE_RECEIPTS: &str = "receipts";
const TREE_AUDIT_PENDING: &str = "audit_pending";
const TREE_INVITATIONS: &str = "invitations";
const TREE_PARTNERS: &str = "partners";
/// Derived, never backed up: each statement's desk and version, written in
/// the same transaction as the statement, so a desk's index snapshot can
/// tell which records changed since it was written without reading them.
const TREE_STATEMENT_VERSIONS: &str = "statement_versions";
/// Kept in that tree under the empty key (no statement id is empty) once
/// it has been built from the statements: a data directory from before it
/// existed, or a fresh restore (backups leave the tree out), builds it at
/// its first open.
const VERSIONS_BUILT: &[u8] = b"";
const TREE_CHANGES_BEGUN: &str = "changes_begun";

const META_SERVER: &[u8] = b"server";
const META_SIGNING_SEED: &[u8] = b"signing_seed";
const META_RECEIPT_KEY: &[u8] = b"receipt_lookup_key";
/// Prefix of the per-day count of sign-ins under names that are not accounts.
const META_UNKNOWN_SIGN_INS: &str = "unknown_sign_ins/";

/// A deferred witness audit event: its storage key and encoded event.
pub type PendingEvent = (Vec<u8>, Vec<u8>);

/// A change begun and not ended: its key and its plan.
pub type BegunChange = (Vec<u8>, Vec<u8>);

/// What `init` writes, all at once.
pub struct InitialRecords<'a> {
    pub server: ServerRecord,
    pub signing_key: &'a SigningKey,
    pub desk: DeskRecord,
    pub admin: AccountRecord,
    pub wraps: Vec<DeskKeyWrap>,
}

/// An open data directory. Holds sled's exclusive lock: one process at a time.
pub struct Store {
    dir: PathBuf,
    db: sled::Db,
    meta: sled::Tree,
    accounts: sled::Tree,
    desks: sled::Tree,
    desk_keys: sled::Tree,
    submissions: sled::Tree,
    receipts: sled::Tree,
    audit_pending: sled::Tree,
    invitations: sled::Tree,
    partners: sled::Tree,
    statement_versions: sled::Tree,
    changes_begun: sled::Tree,
    objects: ObjectStore,
    feed: feed::Feed,
    /// How many times the records were forced to disk (tests compare the
    /// work two code paths do).
    syncs: std::sync::atomic::AtomicU64,
    /// What "today" is for the days the store stamps itself (a record's
    /// `state_since`): the system clock unless the server gives its own.
    clock: std::sync::RwLock<std::sync::Arc<dyn crate::clock::Clock>>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Store({})", self.dir.display())
    }
}

impl Store {
    /// Creates a data directory's contents in `dir` (which must be empty)
    /// and writes the initial records. The FORMAT marker is written only by
    /// [`Store::complete_init`], after the caller has made everything else
    /// (the audit log), so an interrupted init leaves a directory that
    /// `open` refuses.
    pub fn create(dir: &Path, initial: InitialRecords<'_>) -> Result<Store, StorageError> {
        if dir.join("FORMAT").exists() || dir.join("db").exists() {
            return Err(StorageError::AlreadyExists(dir.display().to_string()));
        }
        let store = Self::open_unchecked(dir)?;
        store.put_json(&store.meta, META_SERVER, &initial.server)?;
        store.meta.insert(META_SIGNING_SEED, &initial.signing_key.seed()[..])?;
        store.put_json(&store.desks, initial.desk.id.0.as_bytes(), &initial.desk)?;
        store.insert_account(&initial.admin, &initial.wraps)?;
        store.flush()?;
        Ok(store)
    }

    /// Every tree's name, for backups.
    fn trees(&self) -> [(&'static str, &sled::Tree); 10] {
        [
            (TREE_META, &self.meta),
            (TREE_ACCOUNTS, &self.accounts),
            (TREE_DESKS, &self.desks),
            (TREE_DESK_KEYS, &self.desk_keys),
            (TREE_SUBMISSIONS, &self.submissions),
            (TREE_RECEIPTS, &self.receipts),
            (TREE_AUDIT_PENDING, &self.audit_pending),
            (TREE_INVITATIONS, &self.invitations),
            (TREE_PARTNERS, &self.partners),
            (TREE_CHANGES_BEGUN, &self.changes_begun),
        ]
    }

    /// Calls `each(tree, key, value)` for every record (backups). Values are
    /// clear metadata or sealed, as stored.
    pub fn for_each_record(
        &self,
        mut each: impl FnMut(&str, &[u8], &[u8]) -> std::io::Result<()>,
    ) -> Result<(), StorageError> {
        for (name, tree) in self.trees() {
            for kv in tree.iter() {
                let (k, v) = kv?;
                each(name, &k, &v)?;
            }
        }
        Ok(())
    }

    /// Creates an empty store in a new directory for a restore; FORMAT is
    /// written by [`Store::complete_init`] once everything is in.
    pub fn create_for_restore(dir: &Path) -> Result<Store, StorageError> {
        if dir.join("FORMAT").exists() || dir.join("db").exists() {
            return Err(StorageError::AlreadyExists(dir.display().to_string()));
        }
        Self::open_unchecked(dir)
    }

    /// Puts one record back (restores only).
    pub fn restore_record(&self, tree: &str, key: &[u8], value: &[u8]) -> Result<(), StorageError> {
        let tree = self
            .trees()
            .into_iter()
            .find(|(name, _)| *name == tree)
            .map(|(_, t)| t.clone())
            .ok_or_else(|| StorageError::Corrupt(format!("the backup names an unknown tree {tree:?}")))?;
        tree.insert(key, value)?;
        Ok(())
    }

    /// Marks a new data directory as complete (writes FORMAT, durably).
    /// Records restored from a format-1 backup get their state's day first.
    pub fn complete_init(&self) -> Result<(), StorageError> {
        upgrade::stamp_state_days(self)?;
        self.flush()?;
        format::write(&self.dir)
    }

    /// The record holding the signing key's seed, as `for_each_record`
    /// names it: a backup's reader checks that its audit log was written
    /// with this key.
    pub const SIGNING_SEED_RECORD: (&'static str, &'static [u8]) = (TREE_META, META_SIGNING_SEED);

    /// True when another process holds `dir`'s lock (a running server, or a
    /// command such as `user add`), so a restore must keep away. Only
    /// looks: opens sled's lock file read-only and tries a shared lock,
    /// which is released when the file closes; nothing is written.
    pub fn is_held(dir: &Path) -> bool {
        let Ok(file) = std::fs::File::open(dir.join("db").join("db")) else {
            return false;
        };
        matches!(
            rustix::fs::flock(&file, rustix::fs::FlockOperation::NonBlockingLockShared),
            Err(rustix::io::Errno::WOULDBLOCK)
        )
    }

    /// Opens an existing data directory: checks the format, takes the lock,
    /// and removes leftovers of interrupted writes.
    /// A directory in an older format is upgraded first ([`upgrade`]),
    /// after a backup, and the log says so.
    pub fn open(dir: &Path) -> Result<Store, StorageError> {
        let older = match format::check(dir) {
            Ok(()) => None,
            Err(StorageError::OlderFormat { found, .. }) => Some(found),
            Err(e) => return Err(e),
        };
        if !dir.join("db").is_dir() {
            return Err(StorageError::Corrupt("the record database (db/) is missing".into()));
        }
        let store = Self::open_unchecked(dir)?;
        if store.meta.get(META_SERVER)?.is_none() {
            return Err(StorageError::Corrupt("the server record is missing".into()));
        }
        if let Some(found) = older {
            let done = upgrade::upgrade(&store, found)?;
            tracing::warn!(
                from = done.from,
                to = done.to,
                records = done.records_changed,
                backup = %done.backup.display(),
                "upgraded the data directory's format; the data as it was is in the backup named, a standard backup: move it off the server once the upgraded server works"
            );
        }
        store.build_statement_versions()?;
        Ok(store)
    }

    /// Fills the versions tree from the statements where it was never
    /// built (once per data directory; idempotent if interrupted).
    fn build_statement_versions(&self) -> Result<(), StorageError> {
        if self.statement_versions.get(VERSIONS_BUILT)?.is_some() {
            return Ok(());
        }
        self.statement_versions.clear()?;
        for value in self.submissions.iter().values() {
            let record: SubmissionRecord = decode(&value?)?;
            self.statement_versions.insert(record.id.as_bytes(), version_value(&record))?;
        }
        self.statement_versions.insert(VERSIONS_BUILT, &b"1"[..])?;
        self.flush()
    }

    /// Every statement of `desk` with its record version, read from the
    /// small versions tree (no statement record is read).
    pub fn statement_versions(&self, desk: &DeskId) -> Result<Vec<(String, u64)>, StorageError> {
        let mut found = Vec::new();
        for kv in self.statement_versions.iter() {
            let (id, value) = kv?;
            if id.is_empty() {
                continue; // the built marker
            }
            let (version, owner) = value
                .split_at_checked(8)
                .ok_or_else(|| StorageError::Corrupt("a statement version record is shorter than 8 bytes".into()))?;
            if owner == desk.0.as_bytes() {
                let mut be = [0u8; 8];
                be.copy_from_slice(version);
                let id = String::from_utf8(id.to_vec())
                    .map_err(|_| StorageError::Corrupt("a statement id is not UTF-8".into()))?;
                found.push((id, u64::from_be_bytes(be)));
            }
        }
        Ok(found)
    }

    fn open_unchecked(dir: &Path) -> Result<Store, StorageError> {
        create_private_dir(dir)?;
        let db_dir = dir.join("db");
        create_private_dir(&db_dir)?;
        let db = sled::Config::new().path(&db_dir).mode(sled::Mode::HighThroughput).open()?;
        let objects = ObjectStore::open(dir)?;
        Ok(Store {
            dir: dir.to_path_buf(),
            meta: db.open_tree(TREE_META)?,
            accounts: db.open_tree(TREE_ACCOUNTS)?,
            desks: db.open_tree(TREE_DESKS)?,
            desk_keys: db.open_tree(TREE_DESK_KEYS)?,
            submissions: db.open_tree(TREE_SUBMISSIONS)?,
            receipts: db.open_tree(TREE_RECEIPTS)?,
            audit_pending: db.open_tree(TREE_AUDIT_PENDING)?,
            invitations: db.open_tree(TREE_INVITATIONS)?,
            partners: db.open_tree(TREE_PARTNERS)?,
            statement_versions: db.open_tree(TREE_STATEMENT_VERSIONS)?,
            changes_begun: db.open_tree(TREE_CHANGES_BEGUN)?,
            db,
            objects,
            feed: feed::Feed::default(),
            syncs: std::sync::atomic::AtomicU64::new(0),
            clock: std::sync::RwLock::new(std::sync::Arc::new(crate::clock::SystemClock)),
        })
    }

    /// Makes the store date what it stamps by `clock` (the server's own,
    /// which tests set).
    pub fn use_clock(&self, clock: std::sync::Arc<dyn crate::clock::Clock>) {
        *self.clock.write().unwrap_or_else(|p| p.into_inner()) = clock;
    }

    fn today(&self) -> crate::clock::Day {
        self.clock.read().unwrap_or_else(|p| p.into_inner()).today()
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Forces every change so far to disk (fsync).
    pub fn flush(&self) -> Result<(), StorageError> {
        self.syncs.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.db.flush()?;
        Ok(())
    }

    /// How many times [`Store::flush`] has run since the store was opened.
    pub fn syncs(&self) -> u64 {
        self.syncs.load(std::sync::atomic::Ordering::Relaxed)
    }

    pub fn objects(&self) -> &ObjectStore {
        &self.objects
    }

    // --- server ------------------------------------------------------------

    pub fn server(&self) -> Result<ServerRecord, StorageError> {
        self.get_json(&self.meta, META_SERVER)?.ok_or(StorageError::NotFound)
    }

    pub fn signing_key(&self) -> Result<SigningKey, StorageError> {
        let seed = Zeroizing::new(self.meta.get(META_SIGNING_SEED)?.ok_or(StorageError::NotFound)?.to_vec());
        SigningKey::from_seed(&seed).map_err(StorageError::Corrupt)
    }

    // --- accounts ----------------------------------------------------------

    pub fn account(&self, name: &AccountName) -> Result<Option<AccountRecord>, StorageError> {
        self.get_json(&self.accounts, name.as_str().as_bytes())
    }

    pub fn accounts(&self) -> Result<Vec<AccountRecord>, StorageError> {
        self.accounts.iter().values().map(|v| decode(&v?)).collect()
    }

    /// Adds a new account together with the desk keys wrapped to it, in one
    /// transaction; refuses a name that exists.
    pub fn insert_account(&self, account: &AccountRecord, wraps: &[DeskKeyWrap]) -> Result<(), StorageError> {
        self.room()?;
        let key = account.name.as_str().as_bytes().to_vec();
        let value = encode(account)?;
        let wraps: Vec<(Vec<u8>, Vec<u8>)> =
            wraps.iter().map(|w| (wrap_key(&w.desk, w.generation, &w.holder), w.sealed.as_bytes().to_vec())).collect();
        let result = (&self.accounts, &self.desk_keys).transaction(|(accounts, desk_keys)| {
            if accounts.get(&key)?.is_some() {
                return sled::transaction::abort(());
            }
            accounts.insert(key.as_slice(), value.as_slice())?;
            for (k, v) in &wraps {
                desk_keys.insert(k.as_slice(), v.as_slice())?;
            }
            Ok(())
        });
        match result {
            Ok(()) => self.flush(),
            Err(sled::transaction::TransactionError::Abort(())) => {
                Err(StorageError::AlreadyExists(format!("the account {}", account.name)))
            }
            Err(sled::transaction::TransactionError::Storage(e)) => Err(e.into()),
        }
    }

    /// Changes an account without losing anyone else's change: `change` is
    /// applied to the record as stored, and written back only if nobody
    /// wrote in between (compare-and-swap), retrying on a fresh copy
    /// otherwise. A failed sign-in can never undo an admin's disable, a
    /// TOTP reset or a password change. Flushes before returning the record
    /// as stored.
    pub fn modify_account(
        &self,
        name: &AccountName,
        mut change: impl FnMut(&mut AccountRecord) -> Result<(), ModifyError>,
    ) -> Result<AccountRecord, ModifyError> {
        self.modify_account_and_wraps(name, |record| change(record).map(|()| Vec::new()))
    }

    /// As [`Store::modify_account`], also storing the desk key wraps the
    /// change returns, in the same transaction (a password change: new
    /// verifier, new recipient, every desk key rewrapped).
    pub fn modify_account_and_wraps(
        &self,
        name: &AccountName,
        mut change: impl FnMut(&mut AccountRecord) -> Result<Vec<DeskKeyWrap>, ModifyError>,
    ) -> Result<AccountRecord, ModifyError> {
        self.room()?;
        let key = name.as_str().as_bytes().to_vec();
        for _ in 0..CAS_ATTEMPTS {
            let Some(current) = self.accounts.get(&key).map_err(StorageError::from)? else {
                return Err(ModifyError::Storage(StorageError::NotFound));
            };
            let mut record: AccountRecord = decode(&current)?;
            let wraps = change(&mut record)?;
            let value = encode(&record)?;
            let wraps: Vec<(Vec<u8>, Vec<u8>)> = wraps
                .iter()
                .map(|w| (wrap_key(&w.desk, w.generation, &w.holder), w.sealed.as_bytes().to_vec()))
                .collect();
            let result = (&self.accounts, &self.desk_keys).transaction(|(accounts, desk_keys)| {
                if accounts.get(&key)?.as_deref() != Some(&current[..]) {
                    return sled::transaction::abort(());
                }
                accounts.insert(key.as_slice(), value.as_slice())?;
                for (k, v) in &wraps {
                    desk_keys.insert(k.as_slice(), v.as_slice())?;
                }
                Ok(())
            });
            match result {
                Ok(()) => {
                    self.flush()?;
                    return Ok(record);
                }
                Err(sled::transaction::TransactionError::Abort(())) => continue,
                Err(sled::transaction::TransactionError::Storage(e)) => return Err(ModifyError::Storage(e.into())),
            }
        }
        Err(ModifyError::Refused(Message::new("storage-account-kept-changing")))
    }

    /// Counts a failed sign-in under a name that is not an account, by day
    /// (shown to admins). Written and flushed like the failure recorded on
    /// a real account, so the two answers take the same work and time.
    pub fn count_unknown_sign_in(&self, day: Day) -> Result<u64, StorageError> {
        self.room()?;
        let key = format!("{META_UNKNOWN_SIGN_INS}{day}").into_bytes();
        let count = self.meta.transaction(|meta| {
            let old = meta.get(&key)?.and_then(|v| <[u8; 8]>::try_from(&v[..]).ok()).map(u64::from_be_bytes);
            let new = old.unwrap_or(0).saturating_add(1);
            meta.insert(key.as_slice(), &new.to_be_bytes()[..])?;
            Ok(new)
        });
        let count = count.map_err(|e: sled::transaction::TransactionError<()>| match e {
            sled::transaction::TransactionError::Storage(e) => StorageError::from(e),
            sled::transaction::TransactionError::Abort(()) => StorageError::Corrupt("aborted".into()),
        })?;
        self.flush()?;
        Ok(count)
    }

    /// Failed sign-ins under names that are not accounts on `day`.
    pub fn unknown_sign_ins(&self, day: Day) -> Result<u64, StorageError> {
        let key = format!("{META_UNKNOWN_SIGN_INS}{day}");
        Ok(self.meta.get(key.as_bytes())?.and_then(|v| <[u8; 8]>::try_from(&v[..]).ok()).map_or(0, u64::from_be_bytes))
    }

    // --- desks -------------------------------------------------------------

    pub fn desk(&self, id: &DeskId) -> Result<Option<DeskRecord>, StorageError> {
        self.get_json(&self.desks, id.0.as_bytes())
    }

    pub fn desks(&self) -> Result<Vec<DeskRecord>, StorageError> {
        self.desks.iter().values().map(|v| decode(&v?)).collect()
    }

    pub fn desk_key_wrap(
        &self,
        desk: &DeskId,
        generation: u32,
        holder: &Holder,
    ) -> Result<Option<Sealed>, StorageError> {
        Ok(self.desk_keys.get(wrap_key(desk, generation, holder))?.map(|v| Sealed::from_stored(v.to_vec())))
    }

    /// Creates or replaces a desk record.
    pub fn put_desk(&self, desk: &DeskRecord) -> Result<(), StorageError> {
        self.put_json(&self.desks, desk.id.0.as_bytes(), desk)?;
        self.flush()
    }

    /// Who holds a wrapped copy of one generation of a desk key.
    pub fn desk_holders(&self, desk: &DeskId, generation: u32) -> Result<Vec<Holder>, StorageError> {
        let prefix = format!("{}/{generation:08}/", desk.0);
        self.desk_keys
            .scan_prefix(prefix.as_bytes())
            .keys()
            .map(|k| {
                let k = k?;
                let holder = std::str::from_utf8(&k[prefix.len()..]).unwrap_or("");
                Holder::from_key_part(holder)
                    .ok_or_else(|| StorageError::Corrupt("a desk key holder is malformed".into()))
            })
            .collect()
    }

    /// The accounts that hold one generation of a desk key (its members).
    pub fn desk_members(&self, desk: &DeskId, generation: u32) -> Result<Vec<AccountName>, StorageError> {
        Ok(self
            .desk_holders(desk, generation)?
            .into_iter()
            .filter_map(|h| match h {
                Holder::Account(name) => Some(name),
                Holder::Recovery => None,
            })
            .collect())
    }

    /// Every desk key wrapped to one account: (desk, generation, sealed).
    pub fn wraps_of(&self, account: &AccountName) -> Result<Vec<DeskKeyWrap>, StorageError> {
        let suffix = format!("/{}", Holder::Account(account.clone()).key_part());
        let mut out = Vec::new();
        for kv in self.desk_keys.iter() {
            let (k, v) = kv?;
            let key = std::str::from_utf8(&k).unwrap_or("");
            if let Some(rest) = key.strip_suffix(&suffix) {
                let (desk, generation) =
                    rest.split_once('/').ok_or_else(|| StorageError::Corrupt("a desk key name is malformed".into()))?;
                let generation = generation
                    .parse()
                    .map_err(|_| StorageError::Corrupt("a desk key generation is malformed".into()))?;
                out.push(DeskKeyWrap {
                    desk: DeskId(desk.to_string()),
                    generation,
                    holder: Holder::Account(account.clone()),
                    sealed: Sealed::from_stored(v.to_vec()),
                });
            }
        }
        Ok(out)
    }

    /// Removes every generation of a desk key held by `holder`.
    pub fn remove_desk_key_wraps(&self, desk: &DeskId, holder: &Holder) -> Result<usize, StorageError> {
        self.room()?;
        let suffix = format!("/{}", holder.key_part());
        let prefix = format!("{}/", desk.0);
        let mut batch = sled::Batch::default();
        let mut n = 0;
        for k in self.desk_keys.scan_prefix(prefix.as_bytes()).keys() {
            let k = k?;
            if k.ends_with(suffix.as_bytes()) {
                batch.remove(k);
                n += 1;
            }
        }
        self.desk_keys.apply_batch(batch)?;
        self.flush()?;
        Ok(n)
    }

    // --- partners --------------------------------------------------------------

    pub fn put_partner(&self, partner: &Partner) -> Result<(), StorageError> {
        self.put_json(&self.partners, partner.id.as_bytes(), partner)?;
        self.flush()
    }

    pub fn partner(&self, id: &str) -> Result<Option<Partner>, StorageError> {
        self.get_json(&self.partners, id.as_bytes())
    }

    pub fn partners(&self) -> Result<Vec<Partner>, StorageError> {
        self.partners.iter().values().map(|v| decode(&v?)).collect()
    }

    // --- invitations ---------------------------------------------------------

    pub fn put_invitation(&self, token_hash: &str, invitation: &Invitation) -> Result<(), StorageError> {
        self.put_json(&self.invitations, token_hash.as_bytes(), invitation)?;
        self.flush()
    }

    pub fn invitation(&self, token_hash: &str) -> Result<Option<Invitation>, StorageError> {
        self.get_json(&self.invitations, token_hash.as_bytes())
    }

    pub fn remove_invitation(&self, token_hash: &str) -> Result<(), StorageError> {
        self.room()?;
        self.invitations.remove(token_hash.as_bytes())?;
        self.flush()
    }

    pub fn invitations(&self) -> Result<Vec<Invitation>, StorageError> {
        self.invitations.iter().values().map(|v| decode(&v?)).collect()
    }

    /// Stores (or replaces) one wrapped desk key.
    pub fn put_desk_key_wrap(&self, wrap: &DeskKeyWrap) -> Result<(), StorageError> {
        self.room()?;
        self.desk_keys.insert(wrap_key(&wrap.desk, wrap.generation, &wrap.holder), wrap.sealed.as_bytes())?;
        self.flush()
    }

    // --- submissions -------------------------------------------------------

    /// The key that turns a receipt into its lookup hash (HMAC). Made on
    /// first use; clear metadata, as it is useless without a receipt.
    pub fn receipt_lookup_key(&self) -> Result<Zeroizing<Vec<u8>>, StorageError> {
        if let Some(key) = self.meta.get(META_RECEIPT_KEY)? {
            return Ok(Zeroizing::new(key.to_vec()));
        }
        let fresh = crate::crypto::random_array::<32>();
        self.room()?;
        // compare_and_swap: two first uses at once must agree on one key.
        let _ = self.meta.compare_and_swap(META_RECEIPT_KEY, None as Option<&[u8]>, Some(&fresh[..]))?;
        self.flush()?;
        let key = self.meta.get(META_RECEIPT_KEY)?.ok_or(StorageError::NotFound)?;
        Ok(Zeroizing::new(key.to_vec()))
    }

    /// Free space on the disk that holds the data directory, in bytes.
    pub fn free_space(&self) -> Result<u64, StorageError> {
        let stats = rustix::fs::statvfs(&self.dir).map_err(|e| StorageError::Io(e.into()))?;
        Ok(stats.f_bavail.saturating_mul(stats.f_frsize))
    }

    /// Whether a record could be written now (the disk is above the floor).
    pub fn has_room(&self) -> bool {
        self.room().is_ok()
    }

    /// Refuses a write when the disk is below [`WRITE_FLOOR`]. Every method
    /// that writes records calls this first.
    fn room(&self) -> Result<(), StorageError> {
        if self.free_space()? < WRITE_FLOOR { Err(StorageError::DiskFull) } else { Ok(()) }
    }

    // --- deferred witness audit events ---------------------------------------

    /// Witness events waiting for their day to end before they join the
    /// audit log (see `audit::witness`): (key, encoded event).
    pub fn pending_audit_events(&self) -> Result<Vec<PendingEvent>, StorageError> {
        self.audit_pending.iter().map(|kv| kv.map(|(k, v)| (k.to_vec(), v.to_vec())).map_err(Into::into)).collect()
    }

    pub fn remove_pending_audit_events(&self, keys: &[Vec<u8>]) -> Result<(), StorageError> {
        self.room()?;
        let mut batch = sled::Batch::default();
        for key in keys {
            batch.remove(key.as_slice());
        }
        self.audit_pending.apply_batch(batch)?;
        self.flush()
    }

    // --- changes begun ---------------------------------------------------------

    /// Notes, durably, that a change is about to be audited and made
    /// (`plan` is the case layer's, opaque here); returns its key. Ended in
    /// the transaction that changes the record
    /// ([`StatementRecords::modify_submission_begun`]) or by
    /// [`Store::end_change`], so one still here after a crash is a change
    /// whose record was never changed (or, if its plan says so, whose
    /// record changed but whose cleanup did not finish).
    pub fn begin_change(&self, plan: &[u8]) -> Result<Vec<u8>, StorageError> {
        self.room()?;
        let key = crate::crypto::random_array::<16>().to_vec();
        self.changes_begun.insert(key.as_slice(), plan)?;
        self.flush()?;
        Ok(key)
    }

    /// Every change begun and not ended: (key, plan).
    pub fn changes_begun(&self) -> Result<Vec<BegunChange>, StorageError> {
        self.changes_begun.iter().map(|kv| kv.map(|(k, v)| (k.to_vec(), v.to_vec())).map_err(Into::into)).collect()
    }

    /// Ends a begun change whose record did not change, or whose work
    /// after it is done.
    pub fn end_change(&self, key: &[u8]) -> Result<(), StorageError> {
        self.room()?;
        self.changes_begun.remove(key)?;
        self.flush()
    }

    // --- encoding ----------------------------------------------------------

    fn get_json<T: DeserializeOwned>(&self, tree: &sled::Tree, key: &[u8]) -> Result<Option<T>, StorageError> {
        tree.get(key)?.map(|v| decode(&v)).transpose()
    }

    fn put_json<T: Serialize>(&self, tree: &sled::Tree, key: &[u8], value: &T) -> Result<(), StorageError> {
        self.room()?;
        tree.insert(key, encode(value)?)?;
        Ok(())
    }
}

/// How often a compare-and-swap is retried before the writer gives up.
const CAS_ATTEMPTS: usize = 16;

impl ChangeFeed for Store {
    fn subscribe(&self, subscriber: Subscriber) {
        self.feed.add(subscriber);
    }
}

impl StatementRecords for Store {
    fn submission(&self, id: &str) -> Result<Option<SubmissionRecord>, StorageError> {
        self.get_json(&self.submissions, id.as_bytes())
    }

    fn submission_by_receipt(&self, receipt_lookup: &str) -> Result<Option<SubmissionRecord>, StorageError> {
        match self.receipts.get(receipt_lookup.as_bytes())? {
            Some(id) => self.get_json(&self.submissions, &id),
            None => Ok(None),
        }
    }

    fn insert_submission(
        &self,
        record: &SubmissionRecord,
        receipt_lookup: &str,
        audit_event: Option<&[u8]>,
    ) -> Result<(), StorageError> {
        self.room()?;
        let mut record = record.clone();
        record.version = 1;
        record.state_since = Some(record.received);
        let id = record.id.as_bytes().to_vec();
        let value = encode(&record)?;
        let lookup = receipt_lookup.as_bytes().to_vec();
        let pending_key = crate::crypto::random_array::<16>().to_vec();
        let version = version_value(&record);
        let result = (&self.submissions, &self.receipts, &self.audit_pending, &self.statement_versions).transaction(
            |(subs, receipts, pending, versions)| {
                if subs.get(&id)?.is_some() || receipts.get(&lookup)?.is_some() {
                    return sled::transaction::abort(());
                }
                subs.insert(id.as_slice(), value.as_slice())?;
                versions.insert(id.as_slice(), version.as_slice())?;
                receipts.insert(lookup.as_slice(), id.as_slice())?;
                if let Some(event) = audit_event {
                    pending.insert(pending_key.as_slice(), event)?;
                }
                Ok(())
            },
        );
        match result {
            Ok(()) => {
                self.flush()?;
                self.feed.publish(ChangeKind::Created, record);
                Ok(())
            }
            Err(sled::transaction::TransactionError::Abort(())) => {
                Err(StorageError::AlreadyExists("a submission with this id or receipt".into()))
            }
            Err(sled::transaction::TransactionError::Storage(e)) => Err(e.into()),
        }
    }

    fn modify_submission(
        &self,
        id: &str,
        audit_events: &[Vec<u8>],
        change: &mut dyn FnMut(&mut SubmissionRecord) -> Result<(), ModifyError>,
    ) -> Result<SubmissionRecord, ModifyError> {
        self.modify(id, audit_events, None, change)
    }

    fn modify_submission_begun(
        &self,
        id: &str,
        begun: Finish<'_>,
        change: &mut dyn FnMut(&mut SubmissionRecord) -> Result<(), ModifyError>,
    ) -> Result<SubmissionRecord, ModifyError> {
        self.modify(id, &[], Some(begun), change)
    }

    fn submissions(&self) -> Box<dyn Iterator<Item = Result<SubmissionRecord, StorageError>> + '_> {
        Box::new(self.submissions.iter().values().map(|v| decode(&v?)))
    }
}

impl Store {
    /// Deletes a statement whole (the retention purge): its record, its
    /// receipt's lookup and its version entry in one transaction, then its
    /// files. Returns the record as it was, or None if it was already
    /// gone. The caller audits first.
    ///
    /// Only the version `checked` (the one the caller judged due) is
    /// deleted: a record changed since (a reviewer reopened it) is left
    /// alone, and Err(Changed) says so.
    pub fn delete_submission(&self, id: &str, checked: u64) -> Result<Option<SubmissionRecord>, StorageError> {
        self.room()?;
        let key = id.as_bytes().to_vec();
        let Some(current) = self.submissions.get(&key)? else { return Ok(None) };
        let record: SubmissionRecord = decode(&current)?;
        if record.version != checked {
            return Err(StorageError::Changed);
        }
        // The receipt's lookup names the record; found by its value.
        let mut lookups = Vec::new();
        for kv in self.receipts.iter() {
            let (lookup, owner) = kv?;
            if owner.as_ref() == key.as_slice() {
                lookups.push(lookup);
            }
        }
        let result =
            (&self.submissions, &self.receipts, &self.statement_versions).transaction(|(subs, receipts, versions)| {
                if subs.get(&key)?.as_deref() != Some(&current[..]) {
                    return sled::transaction::abort(());
                }
                subs.remove(key.as_slice())?;
                versions.remove(key.as_slice())?;
                for lookup in &lookups {
                    receipts.remove(lookup)?;
                }
                Ok(())
            });
        match result {
            Ok(()) => {}
            Err(sled::transaction::TransactionError::Abort(())) => {
                return Err(StorageError::Corrupt(
                    "the statement changed while it was being deleted; try again".into(),
                ));
            }
            Err(sled::transaction::TransactionError::Storage(e)) => return Err(e.into()),
        }
        self.flush()?;
        for file in &record.files {
            for object in std::iter::once(&file.object).chain(file.cleaned.iter()) {
                self.objects.remove_if_present(object)?;
            }
        }
        self.feed.publish(ChangeKind::Deleted, record.clone());
        Ok(Some(record))
    }

    /// Both ways of changing a submission record (see the trait).
    fn modify(
        &self,
        id: &str,
        audit_events: &[Vec<u8>],
        begun: Option<Finish<'_>>,
        change: &mut dyn FnMut(&mut SubmissionRecord) -> Result<(), ModifyError>,
    ) -> Result<SubmissionRecord, ModifyError> {
        self.room()?;
        let key = id.as_bytes().to_vec();
        for _ in 0..CAS_ATTEMPTS {
            let Some(current) = self.submissions.get(&key).map_err(StorageError::from)? else {
                return Err(ModifyError::Storage(StorageError::NotFound));
            };
            let before: SubmissionRecord = decode(&current)?;
            let mut record = before.clone();
            change(&mut record)?;
            record.version = before.version + 1;
            // Kept by the store, so that no caller has to remember it.
            record.state_since = if record.state != before.state { Some(self.today()) } else { before.state_since };
            let value = encode(&record)?;
            let pending: Vec<(Vec<u8>, &[u8])> =
                audit_events.iter().map(|e| (crate::crypto::random_array::<16>().to_vec(), e.as_slice())).collect();
            let version = version_value(&record);
            let trees = (&self.submissions, &self.audit_pending, &self.changes_begun, &self.statement_versions);
            let result = trees.transaction(|(subs, pending_tree, begun_tree, versions)| {
                if subs.get(&key)?.as_deref() != Some(&current[..]) {
                    return sled::transaction::abort(());
                }
                subs.insert(key.as_slice(), value.as_slice())?;
                versions.insert(key.as_slice(), version.as_slice())?;
                for (k, v) in &pending {
                    pending_tree.insert(k.as_slice(), *v)?;
                }
                match begun {
                    Some(Finish { key, then: None }) => drop(begun_tree.remove(key)?),
                    Some(Finish { key, then: Some(rest) }) => drop(begun_tree.insert(key, rest)?),
                    None => {}
                }
                Ok(())
            });
            match result {
                Ok(()) => {
                    self.flush()?;
                    self.feed.publish(feed::kind_of(&before, &record), record.clone());
                    return Ok(record);
                }
                Err(sled::transaction::TransactionError::Abort(())) => continue,
                Err(sled::transaction::TransactionError::Storage(e)) => return Err(ModifyError::Storage(e.into())),
            }
        }
        Err(ModifyError::Refused(Message::new("storage-statement-kept-changing")))
    }
}

/// A statement's entry in the versions tree: its version (8 bytes, big
/// endian), then its desk's id.
fn version_value(record: &SubmissionRecord) -> Vec<u8> {
    let mut value = record.version.to_be_bytes().to_vec();
    value.extend_from_slice(record.desk.0.as_bytes());
    value
}

fn wrap_key(desk: &DeskId, generation: u32, holder: &Holder) -> Vec<u8> {
    format!("{}/{generation:08}/{}", desk.0, holder.key_part()).into_bytes()
}

fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, StorageError> {
    serde_json::to_vec(value).map_err(|e| StorageError::Corrupt(format!("cannot encode a record: {e}")))
}

fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, StorageError> {
    // The serde error names the field but never echoes a value.
    serde_json::from_slice(bytes)
        .map_err(|e| StorageError::Corrupt(format!("a record cannot be read: {}", e.classify_name())))
}

trait ClassifyName {
    fn classify_name(&self) -> &'static str;
}

impl ClassifyName for serde_json::Error {
    fn classify_name(&self) -> &'static str {
        match self.classify() {
            serde_json::error::Category::Io => "I/O error",
            serde_json::error::Category::Syntax => "not valid JSON",
            serde_json::error::Category::Data => "a field has the wrong type or is unknown",
            serde_json::error::Category::Eof => "truncated",
        }
    }
}
