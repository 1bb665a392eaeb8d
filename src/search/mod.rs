//! The reviewers' index: decrypted summaries of the statements of unlocked
//! desks, in memory only. A desk's index is built when a member signs in
//! (on a blocking thread, with progress to show), kept current by the
//! store's change feed ([`SearchIndex::apply`]: every committed change to
//! a statement, whoever made it), and dropped when no member of the desk
//! is signed in any more. Nothing in it is ever written anywhere.
//!
//! Each entry carries its record's version, and an older copy never
//! replaces a newer one: a build that read a record before a change and
//! inserts it after the change's event keeps the change.
//!
//! Search text is kept as a key ([`fold`]): NFC, lower case, Traditional
//! Chinese as Simplified, Uyghur and Kazakh in any of their scripts in one
//! Latin, so a reviewer finds a statement whichever script either wrote
//! in. Distinct letters (Uyghur ھ, ە, ې, ى among them) stay distinct.

pub mod fold;
pub mod snapshot;
pub mod text;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::hash::{BuildHasher, RandomState};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};

use fold::{ArabicReading, query_keys};
use hashbrown::HashTable;
use serde::{Deserialize, Serialize};
use text::{SearchText, Vocabulary};

use crate::case::documents::{self, IdentityDoc, StatementDoc, strings};
use crate::case::triage::Triage;
use crate::case::workflow::WorkflowState;
use crate::clock::Day;
use crate::crypto::DeskIdentity;
use crate::storage::{ChangeKind, Channel, DeskId, StatementChange, StatementRecords, Store, SubmissionRecord};

/// What the list shows and filters on, for one statement.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Entry {
    pub id: String,
    pub received: Day,
    pub state: WorkflowState,
    pub priority: Code,
    pub flags: Box<[Code]>,
    pub labels: Box<[Code]>,
    pub language: Code,
    pub communities: Box<[Code]>,
    pub roles: Box<[Code]>,
    pub files: usize,
    pub assigned_to: Option<String>,
    pub channel: Channel,
    pub unread: bool,
    /// A made-up example seeded by `testimony demo`.
    pub example: bool,
    /// The start of the narrative's first non-blank line (at most
    /// [`FIRST_LINE_CHARS`] characters), for the list: enough to tell
    /// statements apart, never the whole of a long line.
    pub first_line: String,
    /// The record version this entry was made from.
    pub version: u64,
    /// The desk key generation its record is sealed to: a snapshot entry
    /// is only shown to a session holding that generation.
    pub generation: u32,
    /// The search key ([`fold::key`]) of everything written in it.
    text: SearchText,
}

/// A short value many entries share (a priority, a flag, a language, a
/// label, a community's code): held once per desk ([`Codes`]) and shared,
/// since at 100,000 entries a copy each costs tens of megabytes.
pub type Code = Arc<str>;

/// A desk's codes, each held once.
#[derive(Default)]
struct Codes(HashSet<Code>);

impl Codes {
    fn share(&mut self, code: &mut Code) {
        match self.0.get(&**code) {
            Some(held) => *code = held.clone(),
            None => {
                self.0.insert(code.clone());
            }
        }
    }

    /// Makes `entry` share the codes already held, and holds its new ones.
    fn share_all(&mut self, entry: &mut Entry) {
        self.share(&mut entry.priority);
        self.share(&mut entry.language);
        for list in [&mut entry.flags, &mut entry.labels, &mut entry.communities, &mut entry.roles] {
            for code in list.iter_mut() {
                self.share(code);
            }
        }
    }
}

/// How much of a narrative's first line the list shows, in characters.
pub const FIRST_LINE_CHARS: usize = 80;

/// The first non-blank line of `text`, trimmed and cut to `max`
/// characters with an ellipsis. The cut never separates a letter from
/// its marks (a Tibetan stack, an Arabic vowel sign) or a joiner from
/// what it joins.
pub fn first_line(text: &str, max: usize) -> String {
    use unicode_normalization::char::is_combining_mark;
    let line = text.lines().map(str::trim).find(|l| !l.is_empty()).unwrap_or("");
    let mut out = String::new();
    let mut chars = line.chars().peekable();
    let mut count = 0;
    while let Some(c) = chars.next() {
        out.push(c);
        count += 1;
        let joined = c == '\u{200D}'
            || chars
                .peek()
                .is_some_and(|&n| is_combining_mark(n) || n == '\u{200D}' || ('\u{FE00}'..='\u{FE0F}').contains(&n));
        if count >= max && !joined && chars.peek().is_some() {
            out.truncate(out.trim_end().len());
            out.push('…');
            break;
        }
    }
    out
}

/// Decrypts one record into an entry (None if this key cannot open it).
fn summarize(record: &SubmissionRecord, key: &DeskIdentity) -> Option<Entry> {
    let statement: Option<StatementDoc> = match &record.statement {
        Some(sealed) => Some(documents::open(sealed, key).ok()?),
        None => None,
    };
    let identity: Option<IdentityDoc> = record.identity.as_ref().and_then(|s| documents::open(s, key).ok());
    let triage: Triage = record.triage.as_ref().and_then(|s| documents::open(s, key).ok()).unwrap_or_default();
    let mut text = String::new();
    let fields = statement.iter().map(|d| &d.fields).chain(identity.iter().map(|d| &d.fields));
    for map in fields {
        for value in map.values() {
            for s in strings(Some(value)) {
                text.push_str(&s);
                text.push('\n');
            }
        }
    }
    for note in &triage.notes {
        text.push_str(&note.text);
        text.push('\n');
    }
    for label in &triage.labels {
        text.push_str(label);
        text.push('\n');
    }
    text.push_str(&record.id);
    let language = statement
        .as_ref()
        .map(|d| {
            if d.text("statement_language").is_empty() {
                d.form_language.clone()
            } else {
                d.text("statement_language").to_string()
            }
        })
        .unwrap_or_default();
    Some(Entry {
        id: record.id.clone(),
        received: record.received,
        state: record.state,
        priority: triage.priority.as_str().into(),
        flags: triage.flags.iter().map(|f| f.as_str().into()).collect(),
        labels: triage.labels.iter().map(|l| l.as_str().into()).collect(),
        communities: codes(statement.as_ref(), "community"),
        roles: codes(statement.as_ref(), "role"),
        files: record.files.len(),
        assigned_to: triage.assigned_to.clone(),
        channel: record.channel,
        unread: record.thread.iter().any(|i| i.unread && i.author == crate::storage::Author::Witness),
        first_line: statement.as_ref().map(|d| first_line(d.text("statement"), FIRST_LINE_CHARS)).unwrap_or_default(),
        version: record.version,
        example: record.example,
        generation: record.key_generation,
        text: SearchText::new(&fold::key(&text, ArabicReading::of(&text, &language))),
        language: language.into(),
    })
}

/// The codes chosen in a statement's field `name`.
fn codes(statement: Option<&StatementDoc>, name: &str) -> Box<[Code]> {
    statement.map(|d| d.codes(name).into_iter().map(Code::from).collect()).unwrap_or_default()
}

/// A desk's entries, found by id. The id is held once, in its entry (a
/// map keyed by id would hold each twice: megabytes at 100,000).
#[derive(Default)]
struct Entries {
    table: HashTable<Entry>,
    hasher: RandomState,
}

impl Entries {
    fn hash(&self, id: &str) -> u64 {
        self.hasher.hash_one(id)
    }

    fn get(&self, id: &str) -> Option<&Entry> {
        self.table.find(self.hash(id), |e| e.id == id)
    }

    /// Puts `entry` in, replacing the one with its id.
    fn insert(&mut self, entry: Entry) {
        let hash = self.hash(&entry.id);
        let Entries { table, hasher } = self;
        match table.entry(hash, |e| e.id == entry.id, |e| hasher.hash_one(e.id.as_str())) {
            hashbrown::hash_table::Entry::Occupied(mut held) => *held.get_mut() = entry,
            hashbrown::hash_table::Entry::Vacant(slot) => {
                slot.insert(entry);
            }
        }
    }

    fn remove(&mut self, id: &str) {
        if let Ok(held) = self.table.find_entry(self.hash(id), |e| e.id == id) {
            held.remove();
        }
    }

    fn reserve(&mut self, more: usize) {
        let Entries { table, hasher } = self;
        table.reserve(more, |e| hasher.hash_one(e.id.as_str()));
    }

    fn len(&self) -> usize {
        self.table.len()
    }

    fn values(&self) -> impl Iterator<Item = &Entry> + Clone {
        self.table.iter()
    }
}

/// One desk's index.
struct DeskIndex {
    keys: Vec<(u32, Arc<DeskIdentity>)>,
    entries: Entries,
    /// The pieces the entries' search keys are made of ([`text`]).
    vocabulary: Vocabulary,
    codes: Codes,
    total: Arc<AtomicUsize>,
    done: Arc<AtomicUsize>,
    /// Changes the feed brought, and how many of them the last snapshot
    /// holds; sweeps since it was written.
    changes: AtomicUsize,
    saved_changes: AtomicUsize,
    sweeps_since_saved: AtomicUsize,
}

/// A changed desk's snapshot is rewritten at most this many sweeps (one a
/// minute) apart: it costs about a second and a disk write per 100,000
/// statements, and a stale one only means more to decrypt at the next
/// unlock.
pub const SNAPSHOT_EVERY_SWEEPS: usize = 10;

impl DeskIndex {
    fn new(keys: Vec<(u32, Arc<DeskIdentity>)>, total: usize) -> DeskIndex {
        DeskIndex {
            keys,
            entries: Entries::default(),
            vocabulary: Vocabulary::default(),
            codes: Codes::default(),
            total: Arc::new(AtomicUsize::new(total)),
            done: Arc::new(AtomicUsize::new(0)),
            changes: AtomicUsize::new(0),
            saved_changes: AtomicUsize::new(0),
            sweeps_since_saved: AtomicUsize::new(0),
        }
    }
}

#[derive(Default)]
pub struct SearchIndex {
    desks: RwLock<HashMap<DeskId, DeskIndex>>,
    /// Statements decrypted from their records by builds so far (those
    /// taken from a snapshot are not), for tests and the benchmark.
    decrypted: AtomicUsize,
}

/// How far a desk's index is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Progress {
    pub done: usize,
    pub total: usize,
}

/// A query against the index.
#[derive(Clone, Debug, Default)]
pub struct Query {
    pub text: String,
    pub state: String,
    pub priority: String,
    pub flag: String,
    pub label: String,
    pub desk: String,
    pub language: String,
    pub community: String,
    pub role: String,
    pub has_files: bool,
    pub assigned_to: Option<String>,
    /// The safety screen: "" (any), `pending` (not screened yet) or
    /// `overdue` (not screened and past its day; see
    /// [`WorkflowState::safety_screen_due`]). Either lists the oldest first.
    pub screen: String,
    /// The day to judge the safety screen by (the server's clock, read
    /// when the list is asked for). Without it nothing is overdue.
    pub today: Option<Day>,
}

pub struct Page {
    pub entries: Vec<Entry>,
    pub matching: usize,
    pub counts: BTreeMap<String, usize>,
    /// How many statements matching the other filters (whatever their
    /// state and the screen filter) are overdue for their safety screen.
    pub screen_overdue: usize,
}

impl Entry {
    /// Whether the safety screen is past its day on `today`.
    pub fn screen_overdue(&self, today: Option<Day>) -> bool {
        today.and_then(|today| self.state.safety_screen_due(self.received, today)).is_some_and(|due| due.overdue)
    }
}

impl SearchIndex {
    /// Makes sure each desk a session unlocked is indexed, building missing
    /// ones on a blocking thread. Returns at once.
    pub fn ensure(self: &Arc<Self>, store: &Arc<Store>, desks: &HashMap<DeskId, Vec<(u32, Arc<DeskIdentity>)>>) {
        for (desk, keys) in desks {
            {
                let mut map = self.desks.write().unwrap_or_else(|p| p.into_inner());
                if let Some(existing) = map.get_mut(desk) {
                    for (g, k) in keys {
                        if !existing.keys.iter().any(|(eg, _)| eg == g) {
                            existing.keys.push((*g, k.clone()));
                        }
                    }
                    continue;
                }
                map.insert(desk.clone(), DeskIndex::new(keys.clone(), usize::MAX));
            }
            let (this, store, desk, keys) = (self.clone(), store.clone(), desk.clone(), keys.clone());
            tokio::task::spawn_blocking(move || this.build(&store, &desk, &keys));
        }
    }

    /// Fills a desk's index: from its sealed snapshot, every entry whose
    /// record has not changed since (the versions tree says which, without
    /// reading a record), then the rest from their records, decrypted on
    /// every core. Writes a fresh snapshot when it had to decrypt any.
    fn build(&self, store: &Store, desk: &DeskId, keys: &[(u32, Arc<DeskIdentity>)]) {
        let (total, done) = {
            let map = self.desks.read().unwrap_or_else(|p| p.into_inner());
            match map.get(desk) {
                Some(d) => (d.total.clone(), d.done.clone()),
                None => return,
            }
        };
        let current: HashMap<String, u64> = match store.statement_versions(desk) {
            Ok(versions) => versions.into_iter().collect(),
            Err(e) => {
                tracing::error!(error = %e, "cannot list a desk's statements; its index stays empty");
                total.store(0, Ordering::SeqCst);
                return;
            }
        };
        total.store(current.len(), Ordering::SeqCst);
        let generations: HashSet<u32> = keys.iter().map(|(g, _)| *g).collect();
        let mut fresh: HashSet<String> = HashSet::new();
        // Whether the snapshot holds entries no longer current (deleted,
        // changed): then it is rewritten even if nothing had to be
        // decrypted, so a deleted statement does not linger in it.
        let mut outdated = false;
        match snapshot::read(store.dir(), desk, keys) {
            Ok((vocabulary, entries)) => {
                let read = entries.len();
                let kept: Vec<Entry> = entries
                    .into_iter()
                    .filter(|e| current.get(&e.id) == Some(&e.version) && generations.contains(&e.generation))
                    .collect();
                outdated = kept.len() < read;
                fresh.extend(kept.iter().map(|e| e.id.clone()));
                let kept = self.insert_from(desk, &vocabulary, kept);
                done.fetch_add(kept, Ordering::SeqCst);
            }
            Err(snapshot::SnapshotError::None) => {}
            Err(e) => tracing::warn!(problem = ?e, "a desk's index snapshot was not used; rebuilding it"),
        }
        let stale: Vec<&String> = current.keys().filter(|id| !fresh.contains(*id)).collect();
        // Decrypting is the cost (an X25519 agreement per statement): use
        // every core, each on its own share of the records.
        let workers = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2);
        let share = stale.len().div_ceil(workers).max(1);
        std::thread::scope(|scope| {
            for chunk in stale.chunks(share) {
                let done = &done;
                scope.spawn(move || {
                    let mut batch = Vec::with_capacity(1024);
                    for id in chunk {
                        if let Ok(Some(record)) = store.submission(id)
                            && &record.desk == desk
                            && let Some((_, key)) = keys.iter().find(|(g, _)| *g == record.key_generation)
                            && let Some(entry) = summarize(&record, key)
                        {
                            batch.push(entry);
                            self.decrypted.fetch_add(1, Ordering::SeqCst);
                        }
                        done.fetch_add(1, Ordering::SeqCst);
                        if batch.len() == 1024 {
                            self.insert(desk, std::mem::take(&mut batch));
                        }
                    }
                    self.insert(desk, batch);
                });
            }
        });
        if (!stale.is_empty() || outdated)
            && let Err(e) = self.write_snapshot(store, desk)
        {
            tracing::warn!(error = %e, "cannot write a desk's index snapshot");
        }
    }

    /// Statements builds have decrypted from their records so far.
    pub fn decrypted_in_builds(&self) -> usize {
        self.decrypted.load(Ordering::SeqCst)
    }

    /// Writes `desk`'s snapshot from its index as it is now, sealed to the
    /// newest desk key the index holds. Nothing when the index is not
    /// complete (a snapshot of half a desk would hide statements).
    pub fn write_snapshot(&self, store: &Store, desk: &DeskId) -> std::io::Result<()> {
        let map = self.desks.read().unwrap_or_else(|p| p.into_inner());
        let Some(d) = map.get(desk) else { return Ok(()) };
        let total = d.total.load(Ordering::SeqCst);
        if total == usize::MAX || d.done.load(Ordering::SeqCst) < total {
            return Ok(());
        }
        let Some((_, key)) = d.keys.iter().max_by_key(|(g, _)| *g) else { return Ok(()) };
        let changes = d.changes.load(Ordering::SeqCst);
        snapshot::write(store.dir(), desk, key, &d.vocabulary, d.entries.len(), d.entries.values())?;
        d.saved_changes.store(changes, Ordering::SeqCst);
        d.sweeps_since_saved.store(0, Ordering::SeqCst);
        Ok(())
    }

    /// The sweeper's part (every minute): rewrites the snapshot of each
    /// desk that changed since its last one, at most every
    /// [`SNAPSHOT_EVERY_SWEEPS`] sweeps, and at once for a desk about to
    /// be dropped (no member of it in `live` any more).
    pub fn save_due_snapshots(&self, store: &Store, live: &HashSet<DeskId>) {
        let due: Vec<DeskId> = {
            let map = self.desks.read().unwrap_or_else(|p| p.into_inner());
            map.iter()
                .filter(|(desk, d)| {
                    let swept = d.sweeps_since_saved.fetch_add(1, Ordering::SeqCst) + 1;
                    d.changes.load(Ordering::SeqCst) != d.saved_changes.load(Ordering::SeqCst)
                        && (swept >= SNAPSHOT_EVERY_SWEEPS || !live.contains(*desk))
                })
                .map(|(desk, _)| desk.clone())
                .collect()
        };
        for desk in due {
            if let Err(e) = self.write_snapshot(store, &desk) {
                tracing::warn!(error = %e, "cannot write a desk's index snapshot");
            }
        }
    }

    /// Puts a snapshot's entries (keys in the snapshot's `vocabulary`)
    /// into a desk's index: the vocabulary joins the desk's, and keys are
    /// renumbered unless the numbers already agree (the usual case: the
    /// snapshot comes first into an empty index). Returns how many.
    fn insert_from(&self, desk: &DeskId, vocabulary: &Vocabulary, entries: Vec<Entry>) -> usize {
        let count = entries.len();
        let mut map = self.desks.write().unwrap_or_else(|p| p.into_inner());
        let Some(d) = map.get_mut(desk) else { return 0 };
        let numbers = d.vocabulary.absorb(vocabulary, entries.iter().map(|e| &e.text));
        // Every number the kept keys use is where it was: nothing to rewrite.
        let same = numbers.iter().enumerate().all(|(i, n)| i as u32 == *n || *n == text::UNUSED);
        d.entries.reserve(count);
        for mut e in entries {
            if d.entries.get(&e.id).is_some_and(|existing| existing.version > e.version) {
                continue;
            }
            if !same {
                // Invariant: snapshot::read checked every key against its
                // vocabulary, so each number is in the map.
                e.text = Vocabulary::renumber(&e.text, &numbers).unwrap_or_default();
            }
            d.codes.share_all(&mut e);
            d.entries.insert(e);
        }
        count
    }

    /// What a desk's index holds, for the benchmark's account of its
    /// memory: entries, bytes of their search keys, pieces in the
    /// vocabulary and their bytes.
    pub fn size(&self, desk: &DeskId) -> Option<(usize, usize, usize, usize)> {
        let map = self.desks.read().unwrap_or_else(|p| p.into_inner());
        let d = map.get(desk)?;
        let keys = d.entries.values().map(|e| e.text.held_len()).sum();
        Some((d.entries.len(), keys, d.vocabulary.len(), d.vocabulary.piece_bytes()))
    }

    /// Puts entries into a desk's index, keeping the newer of two copies.
    fn insert(&self, desk: &DeskId, entries: Vec<Entry>) {
        let mut map = self.desks.write().unwrap_or_else(|p| p.into_inner());
        if let Some(d) = map.get_mut(desk) {
            for e in entries {
                match d.entries.get(&e.id) {
                    Some(existing) if existing.version > e.version => {}
                    _ => {
                        let mut e = e;
                        d.vocabulary.settle(&mut e.text);
                        d.codes.share_all(&mut e);
                        d.entries.insert(e);
                    }
                }
            }
        }
    }

    /// Follows one committed change (the store's change feed calls this
    /// for every change to a statement, after it is durable).
    pub fn apply(&self, change: &StatementChange) {
        let record = &change.record;
        if let ChangeKind::Deleted = change.kind {
            if let Some(d) = self.desks.write().unwrap_or_else(|p| p.into_inner()).get_mut(&record.desk) {
                d.entries.remove(&record.id);
                d.changes.fetch_add(1, Ordering::SeqCst);
            }
            return;
        }
        if let ChangeKind::Moved { from } = &change.kind
            && let Some(d) = self.desks.write().unwrap_or_else(|p| p.into_inner()).get_mut(from)
        {
            d.entries.remove(&record.id);
            d.changes.fetch_add(1, Ordering::SeqCst);
        }
        let key = {
            let map = self.desks.read().unwrap_or_else(|p| p.into_inner());
            map.get(&record.desk)
                .and_then(|d| d.keys.iter().find(|(g, _)| *g == record.key_generation).map(|(_, k)| k.clone()))
        };
        let Some(key) = key else { return };
        if let Some(entry) = summarize(record, &key) {
            self.insert(&record.desk, vec![entry]);
        }
        if let Some(d) = self.desks.read().unwrap_or_else(|p| p.into_inner()).get(&record.desk) {
            d.changes.fetch_add(1, Ordering::SeqCst);
        }
    }

    /// Keeps only the desks in `live` (those with a member signed in).
    pub fn retain(&self, live: &HashSet<DeskId>) {
        self.desks.write().unwrap_or_else(|p| p.into_inner()).retain(|d, _| live.contains(d));
    }

    /// Progress of the desks a session can read, summed.
    pub fn progress(&self, desks: &HashSet<DeskId>) -> Progress {
        let map = self.desks.read().unwrap_or_else(|p| p.into_inner());
        let mut p = Progress { done: 0, total: 0 };
        for desk in desks {
            if let Some(d) = map.get(desk) {
                let total = d.total.load(Ordering::SeqCst);
                if total == usize::MAX {
                    p.total += 1; // not counted yet
                } else {
                    p.total += total;
                }
                p.done += d.done.load(Ordering::SeqCst);
            }
        }
        p
    }

    /// Whether a desk is indexed (at least started).
    pub fn has(&self, desk: &DeskId) -> bool {
        self.desks.read().unwrap_or_else(|p| p.into_inner()).contains_key(desk)
    }

    /// The `page`-th `per_page` entries of the desks given that match:
    /// newest first, or oldest first when filtered on the safety screen.
    pub fn search(&self, desks: &HashSet<DeskId>, q: &Query, page: usize, per_page: usize) -> Page {
        let needles = query_keys(&q.text);
        let map = self.desks.read().unwrap_or_else(|p| p.into_inner());
        let mut counts = BTreeMap::new();
        let mut screen_overdue = 0;
        let mut hits: Vec<&Entry> = Vec::new();
        for (desk, index) in map.iter() {
            if !desks.contains(desk) || (!q.desk.is_empty() && desk.0 != q.desk) {
                continue;
            }
            let needles: Vec<text::Needle> = needles.iter().map(|n| index.vocabulary.needle(n)).collect();
            for e in index.entries.values() {
                let has = |codes: &[Code], wanted: &str| codes.iter().any(|c| &**c == wanted);
                let matches = (q.priority.is_empty() || *e.priority == *q.priority)
                    && (q.flag.is_empty() || has(&e.flags, &q.flag))
                    && (q.label.is_empty()
                        || e.labels.iter().any(|l| **l == *q.label || l.starts_with(&format!("{}:", q.label))))
                    && (q.language.is_empty() || *e.language == *q.language)
                    && (q.community.is_empty() || has(&e.communities, &q.community))
                    && (q.role.is_empty() || has(&e.roles, &q.role))
                    && (!q.has_files || e.files > 0)
                    && (q.assigned_to.is_none() || e.assigned_to == q.assigned_to)
                    && (needles.is_empty() || index.vocabulary.matches(&e.text, &needles));
                if !matches {
                    continue;
                }
                let overdue = e.screen_overdue(q.today);
                if overdue {
                    screen_overdue += 1;
                }
                let screen = match q.screen.as_str() {
                    "" => true,
                    "pending" => e.state.awaits_safety_screen(),
                    "overdue" => overdue,
                    _ => false,
                };
                if !screen {
                    continue;
                }
                *counts.entry(e.state.code().to_string()).or_insert(0) += 1;
                if q.state.is_empty() || e.state.code() == q.state {
                    hits.push(e);
                }
            }
        }
        let matching = hits.len();
        // Newest first; but statements waiting for their safety screen
        // oldest first, the longest overdue on top. Ties by id for a
        // stable order between pages.
        let oldest_first = !q.screen.is_empty();
        let order = |a: &&Entry, b: &&Entry| {
            let by_day = if oldest_first { a.received.cmp(&b.received) } else { b.received.cmp(&a.received) };
            by_day.then_with(|| a.id.cmp(&b.id))
        };
        let start = page * per_page;
        if start < hits.len() {
            let end = (start + per_page).min(hits.len());
            hits.select_nth_unstable_by(end - 1, order);
            hits.truncate(end);
            hits.sort_unstable_by(order);
        }
        let entries = hits.into_iter().skip(start).take(per_page).cloned().collect();
        Page { entries, matching, counts, screen_overdue }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An entry with `id` and `version`, for other modules' tests.
    pub(crate) fn entry_for_tests(id: &str, version: u64) -> Entry {
        Entry {
            id: id.into(),
            text: SearchText::new(&format!("text of {id}")),
            ..entry(version, WorkflowState::Received)
        }
    }

    fn entry(version: u64, state: WorkflowState) -> Entry {
        Entry {
            id: "a".repeat(32),
            received: Day::from_civil(2026, 11, 29).unwrap(),
            state,
            priority: "normal".into(),
            flags: Box::default(),
            labels: Box::default(),
            language: "".into(),
            communities: Box::default(),
            roles: Box::default(),
            files: 0,
            assigned_to: None,
            channel: Channel::Web,
            unread: false,
            example: false,
            first_line: String::new(),
            version,
            generation: 0,
            text: SearchText::default(),
        }
    }

    /// An index holding one empty desk, `d`.
    fn index_with_one_desk() -> (SearchIndex, DeskId) {
        let index = SearchIndex::default();
        let desk = DeskId("d".into());
        index.desks.write().unwrap().insert(desk.clone(), DeskIndex::new(vec![], 0));
        (index, desk)
    }

    #[test]
    fn an_older_copy_never_replaces_a_newer_one() {
        let (index, desk) = index_with_one_desk();
        // The change feed delivers version 3; a build that read version 2
        // before the change inserts it afterwards.
        index.insert(&desk, vec![entry(3, WorkflowState::InReview)]);
        index.insert(&desk, vec![entry(2, WorkflowState::Received)]);
        let shown = index.desks.read().unwrap()[&desk].entries.get(&"a".repeat(32)).unwrap().clone();
        assert_eq!((shown.version, shown.state), (3, WorkflowState::InReview));
        index.insert(&desk, vec![entry(4, WorkflowState::Closed)]);
        assert_eq!(index.desks.read().unwrap()[&desk].entries.get(&"a".repeat(32)).unwrap().version, 4);
    }

    #[test]
    fn a_snapshot_joining_an_index_that_already_holds_entries_keeps_every_key() {
        let (index, desk) = index_with_one_desk();
        // The change feed brought one statement before the snapshot was read.
        let early = Entry {
            id: "early".into(),
            text: SearchText::new("night bus to the camp"),
            ..entry(1, WorkflowState::Received)
        };
        index.insert(&desk, vec![early]);
        let mut vocabulary = Vocabulary::default();
        let mut from_snapshot = Vec::new();
        for (id, key) in [("old", "the camp hospital"), ("older", "ultrasound at night")] {
            let mut e = Entry { id: id.into(), text: SearchText::new(key), ..entry(1, WorkflowState::Received) };
            vocabulary.settle(&mut e.text);
            from_snapshot.push(e);
        }
        assert_eq!(index.insert_from(&desk, &vocabulary, from_snapshot), 2);
        let desks = HashSet::from([desk]);
        let found = |text: &str| {
            let q = Query { text: text.into(), ..Query::default() };
            let mut ids: Vec<String> = index.search(&desks, &q, 0, 50).entries.into_iter().map(|e| e.id).collect();
            ids.sort();
            ids
        };
        assert_eq!(found("camp"), ["early", "old"]);
        assert_eq!(found("at night"), ["older"]);
        assert_eq!(found("the camp hospital"), ["old"]);
        assert_eq!(found("bus to"), ["early"]);
    }

    #[test]
    fn the_screen_filter_finds_overdue_statements_oldest_first() {
        let (index, desk) = index_with_one_desk();
        let today = Day::from_civil(2026, 12, 10).unwrap();
        let at = |id: &str, days_ago: i64, state: WorkflowState| Entry {
            id: id.into(),
            received: today.plus_days(-days_ago),
            ..entry(1, state)
        };
        index.insert(
            &desk,
            vec![
                at("fresh", 1, WorkflowState::Received),
                at("late", 3, WorkflowState::SafetyScreen),
                at("later", 9, WorkflowState::Received),
                at("screened", 9, WorkflowState::InReview),
            ],
        );
        let desks = HashSet::from([desk]);
        let ids = |screen: &str| {
            let q = Query { screen: screen.into(), today: Some(today), ..Query::default() };
            let page = index.search(&desks, &q, 0, 50);
            (page.entries.into_iter().map(|e| e.id).collect::<Vec<_>>(), page.screen_overdue)
        };
        assert_eq!(ids("overdue"), (vec!["later".to_string(), "late".to_string()], 2));
        assert_eq!(ids("pending").0, ["later", "late", "fresh"]);
        assert_eq!(ids("").0, ["fresh", "late", "later", "screened"], "newest first, ties by id");
        assert_eq!(ids("").1, 2, "counted whatever the screen filter");
    }

    #[test]
    fn the_first_line_is_short_and_never_cuts_a_letter_from_its_marks() {
        assert_eq!(first_line("\n  \n  Taken at night.  \nThen the bus.", 80), "Taken at night.");
        assert_eq!(first_line("", 80), "");
        assert_eq!(first_line("abcdef", 6), "abcdef", "a line that fits is whole");
        assert_eq!(first_line("abc defg", 4), "abc…");
        // Tibetan ལྷ: ལ, then the subjoined ཧ (a mark) that belongs to it.
        assert_eq!(first_line("ལྷ་ས", 1), "ལྷ…");
        assert_eq!(first_line(&"字".repeat(200), 80).chars().count(), 81);
    }
}
