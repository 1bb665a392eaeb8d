//! The audit log: honest logs verify, every kind of tampering is caught
//! (property-tested over random positions), and failures close the log.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io;
use std::sync::{Arc, Mutex};

use proptest::prelude::*;
use testimony::audit::{
    self, Actor, AuditError, AuditLog, Body, Checkpoint, Event, LogFile, NewEntry, Outcome, Record, SignInFailure,
    export,
};
use testimony::clock::{Day, ManualClock, Timestamp};
use testimony::crypto::SigningKey;

use common::*;

/// A log file in memory that can be told to fail, like a full disk.
#[derive(Clone, Default)]
struct MemFile {
    bytes: Arc<Mutex<Vec<u8>>>,
    fail_writes: Arc<Mutex<bool>>,
    fail_sync: Arc<Mutex<bool>>,
    /// Bytes a failing write still gets onto "disk" before the error.
    partial: usize,
}

impl LogFile for MemFile {
    fn append(&mut self, bytes: &[u8]) -> io::Result<()> {
        if *self.fail_writes.lock().unwrap() {
            let n = self.partial.min(bytes.len());
            self.bytes.lock().unwrap().extend_from_slice(&bytes[..n]);
            return Err(io::Error::new(io::ErrorKind::StorageFull, "no space left on device"));
        }
        self.bytes.lock().unwrap().extend_from_slice(bytes);
        Ok(())
    }
    fn sync(&mut self) -> io::Result<()> {
        if *self.fail_sync.lock().unwrap() {
            return Err(io::Error::other("I/O error"));
        }
        Ok(())
    }
    fn truncate(&mut self, len: u64) -> io::Result<()> {
        self.bytes.lock().unwrap().truncate(len as usize);
        Ok(())
    }
}

fn clock() -> Arc<ManualClock> {
    Arc::new(ManualClock::at(Timestamp(1_795_950_000)))
}

/// A log like the real one (first record commits to the key), in memory.
fn memory_log(checkpoint_every: u64) -> (AuditLog, MemFile) {
    let file = MemFile::default();
    let signing = SigningKey::generate();
    let key = signing.verifying_key().to_string();
    let log = AuditLog::with_file(Box::new(file.clone()), Box::new(file.clone()), signing, clock())
        .with_checkpoint_every(checkpoint_every);
    log.append(NewEntry::by(Actor::System, Event::DataDirectoryCreated { signing_key: key })).unwrap();
    (log, file)
}

fn sample_entry(i: usize) -> NewEntry {
    match i % 5 {
        0 => NewEntry::by(Actor::Account(format!("user{i}")), Event::SignInSucceeded),
        1 => NewEntry::by(Actor::Account("ada".into()), Event::SignInFailed { reason: SignInFailure::BadCredentials })
            .outcome(Outcome::Denied),
        2 => NewEntry::by(Actor::Account("bo".into()), Event::StatementViewed).on(format!("{i:032x}")),
        3 => NewEntry::by(Actor::Witness, Event::StatementReceived { assisted: false })
            .on(format!("{i:032x}"))
            .on_day(Day::try_from("2026-11-29".to_string()).unwrap()),
        _ => NewEntry::by(
            Actor::Account("cy".into()),
            Event::StateChanged { from: "received".into(), to: "in_review".into() },
        )
        .on(format!("{i:032x}")),
    }
}

/// An honest log of `n` entries ending in a checkpoint, and that checkpoint
/// (what an operator would have saved off the server).
fn honest_log(n: usize, every: u64) -> (Vec<u8>, Checkpoint) {
    let (log, file) = memory_log(every);
    for i in 0..n {
        log.append(sample_entry(i)).unwrap();
    }
    log.checkpoint().unwrap();
    let bytes = file.bytes.lock().unwrap().clone();
    let last = audit::verify_bytes(&bytes, None).unwrap().last_checkpoint.unwrap();
    (bytes, last)
}

fn lines(bytes: &[u8]) -> Vec<Vec<u8>> {
    bytes.split(|b| *b == b'\n').filter(|l| !l.is_empty()).map(<[u8]>::to_vec).collect()
}

fn join(lines: &[Vec<u8>]) -> Vec<u8> {
    let mut out = Vec::new();
    for line in lines {
        out.extend_from_slice(line);
        out.push(b'\n');
    }
    out
}

#[test]
fn an_honest_log_verifies_with_and_without_its_checkpoint() {
    let (bytes, saved) = honest_log(40, 7);
    let summary = audit::verify_bytes(&bytes, None).unwrap();
    assert_eq!(summary.records as usize, lines(&bytes).len());
    assert!(summary.checkpoints >= 5);
    audit::verify_bytes(&bytes, Some(&saved)).unwrap();
}

#[test]
fn witness_entries_carry_the_day_only() {
    let (bytes, _) = honest_log(5, 100);
    let text = String::from_utf8(bytes).unwrap();
    let witness = text.lines().find(|l| l.contains("\"witness\"")).unwrap();
    let record: Record = serde_json::from_str(witness).unwrap();
    assert_eq!(record.time, "2026-11-29");
    for line in text.lines().filter(|l| !l.contains("\"witness\"")) {
        let record: Record = serde_json::from_str(line).unwrap();
        assert!(record.time.ends_with('Z') && record.time.contains('T'), "{}", record.time);
    }
}

/// A way to tamper with a log.
#[derive(Debug, Clone)]
enum Tamper {
    FlipByte { at: usize, mask: u8 },
    DeleteLine(usize),
    SwapLines(usize, usize),
    Truncate(usize),
    SpliceForged(usize),
    RewriteFrom(usize),
}

fn apply(bytes: &[u8], tamper: &Tamper) -> Vec<u8> {
    let mut ls = lines(bytes);
    let n = ls.len();
    match *tamper {
        Tamper::FlipByte { at, mask } => {
            let mut out = bytes.to_vec();
            out[at % bytes.len()] ^= mask;
            return out;
        }
        Tamper::DeleteLine(i) => {
            ls.remove(i % n);
        }
        Tamper::SwapLines(i, j) => {
            let (i, j) = (i % n, j % n);
            let j = if i == j { (j + 1) % n } else { j };
            ls.swap(i, j);
        }
        Tamper::Truncate(at) => return bytes[..at % bytes.len()].to_vec(),
        Tamper::SpliceForged(i) => {
            // A well-formed record, hashed correctly over the record it
            // claims to follow, slipped in among the existing ones. (Adding
            // records after the last one extends the log instead; the next
            // signed checkpoint is what vouches for those, and verify
            // reports how many records no checkpoint covers yet.)
            let i = i % n;
            let prev: Record = serde_json::from_slice(&ls[i.saturating_sub(1)]).unwrap();
            let forged = Record::new(
                i as u64,
                "2026-11-29T12:00:00Z".into(),
                Body::Entry { actor: Actor::System, event: Event::PurgeDone, object: None, outcome: Outcome::Ok },
                &prev.hash,
            );
            ls.insert(i, forged.to_line().into_bytes());
        }
        Tamper::RewriteFrom(i) => {
            // Someone without the signing key changes one entry and
            // recomputes every hash after it.
            let i = 1 + i % (n - 1);
            let mut prev: Record = serde_json::from_slice(&ls[i - 1]).unwrap();
            for (k, line) in ls.iter_mut().enumerate().skip(i) {
                let mut record: Record = serde_json::from_slice(line).unwrap();
                if k == i {
                    record.time = "2001-01-01T00:00:00Z".into();
                }
                let rewritten = Record::new(record.seq, record.time, record.body, &prev.hash);
                *line = rewritten.to_line().into_bytes();
                prev = rewritten;
            }
        }
    }
    join(&ls)
}

fn any_tamper() -> impl Strategy<Value = Tamper> {
    prop_oneof![
        (any::<usize>(), 1u8..=255).prop_map(|(at, mask)| Tamper::FlipByte { at, mask }),
        any::<usize>().prop_map(Tamper::DeleteLine),
        (any::<usize>(), any::<usize>()).prop_map(|(i, j)| Tamper::SwapLines(i, j)),
        any::<usize>().prop_map(Tamper::Truncate),
        any::<usize>().prop_map(Tamper::SpliceForged),
        any::<usize>().prop_map(Tamper::RewriteFrom),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1000, failure_persistence: None, ..ProptestConfig::default() })]

    /// Every tampering is detected when the operator kept the latest
    /// checkpoint; all but tail truncation even without it.
    #[test]
    fn every_tampering_is_detected(n in 3usize..40, every in 2u64..12, tamper in any_tamper()) {
        let (bytes, saved) = honest_log(n, every);
        let tampered = apply(&bytes, &tamper);
        prop_assume!(tampered != bytes);
        prop_assert!(audit::verify_bytes(&tampered, Some(&saved)).is_err(), "missed {tamper:?}");
        let cut_at_a_line_end = matches!(tamper, Tamper::Truncate(_) | Tamper::DeleteLine(_))
            && tampered.ends_with(b"\n") && bytes.starts_with(&tampered);
        if !cut_at_a_line_end {
            prop_assert!(audit::verify_bytes(&tampered, None).is_err(), "missed without checkpoint: {tamper:?}");
        }
    }
}

#[test]
fn a_truncation_below_a_saved_checkpoint_is_detected() {
    let (log, file) = memory_log(1000);
    for i in 0..10 {
        log.append(sample_entry(i)).unwrap();
    }
    log.checkpoint().unwrap();
    let at_checkpoint = file.bytes.lock().unwrap().clone();
    let saved = audit::verify_bytes(&at_checkpoint, None).unwrap().last_checkpoint.unwrap();
    for i in 10..20 {
        log.append(sample_entry(i)).unwrap();
    }
    let full = file.bytes.lock().unwrap().clone();
    // The grown log still extends the saved checkpoint...
    audit::verify_bytes(&full, Some(&saved)).unwrap();
    // ...and cutting it back below that point is caught, at every line end.
    let ends: Vec<usize> = full.iter().enumerate().filter(|(_, b)| **b == b'\n').map(|(i, _)| i + 1).collect();
    for end in ends.into_iter().filter(|e| *e < at_checkpoint.len()) {
        let err = audit::verify_bytes(&full[..end], Some(&saved)).unwrap_err();
        assert!(err.what.contains("truncated or rolled back"), "{err}");
    }
}

#[test]
fn a_saved_checkpoint_from_another_log_is_refused() {
    let (bytes, _) = honest_log(10, 4);
    let (_, foreign) = honest_log(10, 4);
    assert!(audit::verify_bytes(&bytes, Some(&foreign)).is_err());
}

#[test]
fn a_failed_write_fails_the_append_and_leaves_a_valid_log() {
    let (log, file) = memory_log(1000);
    log.append(sample_entry(0)).unwrap();
    let file = MemFile { partial: 17, ..file };
    *file.fail_writes.lock().unwrap() = true;
    let err = log.append(sample_entry(1)).unwrap_err();
    assert!(matches!(err, AuditError::Io(_)), "{err}");
    // The torn bytes were cut back: what is on disk is still a valid chain.
    audit::verify_bytes(&file.bytes.lock().unwrap(), None).unwrap();
    *file.fail_writes.lock().unwrap() = false;
    log.append(sample_entry(2)).unwrap();
    audit::verify_bytes(&file.bytes.lock().unwrap(), None).unwrap();
}

#[test]
fn a_failed_sync_poisons_a_log_that_cannot_be_reopened() {
    let (log, file) = memory_log(1000);
    *file.fail_sync.lock().unwrap() = true;
    assert!(log.append(sample_entry(0)).is_err());
    assert!(!log.is_healthy());
    *file.fail_sync.lock().unwrap() = false;
    assert!(matches!(log.append(sample_entry(1)), Err(AuditError::Poisoned)));
    assert!(matches!(log.checkpoint(), Err(AuditError::Poisoned)));
}

/// A real log file whose syncs can be made to fail (as after a disk error).
struct FlakySync {
    file: std::fs::File,
    fail: Arc<Mutex<bool>>,
}

impl LogFile for FlakySync {
    fn append(&mut self, bytes: &[u8]) -> io::Result<()> {
        io::Write::write_all(&mut self.file, bytes)
    }
    fn sync(&mut self) -> io::Result<()> {
        if *self.fail.lock().unwrap() {
            return Err(io::Error::other("I/O error"));
        }
        self.file.sync_data()
    }
    fn truncate(&mut self, len: u64) -> io::Result<()> {
        self.file.set_len(len)
    }
}

#[test]
fn a_poisoned_log_recovers_by_itself_once_the_disk_is_sound_again() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("log");
    let open = || std::fs::OpenOptions::new().create(true).append(true).open(&path).unwrap();
    let fail = Arc::new(Mutex::new(false));
    let clock = clock();
    let signing = SigningKey::generate();
    let key = signing.verifying_key().to_string();
    let log = AuditLog::with_file_at(
        path.clone(),
        Box::new(FlakySync { file: open(), fail: fail.clone() }),
        Box::new(FlakySync { file: open(), fail: fail.clone() }),
        signing,
        clock.clone(),
    );
    log.append(NewEntry::by(Actor::System, Event::DataDirectoryCreated { signing_key: key })).unwrap();
    log.append(sample_entry(0)).unwrap();
    *fail.lock().unwrap() = true;
    assert!(log.append(sample_entry(1)).is_err());
    assert!(!log.is_healthy(), "a failed sync poisons");
    // The unsynced record reached the file; recovery must cut it.
    assert_eq!(std::fs::read_to_string(&path).unwrap().lines().count(), 3);
    *fail.lock().unwrap() = false;
    log.append(sample_entry(2)).expect("recovered without a restart");
    assert!(log.is_healthy());
    let bytes = std::fs::read(&path).unwrap();
    audit::verify_bytes(&bytes, None).unwrap();
    let text = String::from_utf8(bytes).unwrap();
    assert_eq!(text.lines().count(), 3, "creation, the first and third entries, not the unsynced second");
    assert!(text.contains(r#""account":"bo""#), "the third entry (bo's view) is there");
    assert!(!text.contains(r#""account":"ada""#), "the unsynced second (ada's failure) is not");
}

#[test]
fn a_poisoned_log_whose_file_was_damaged_stays_closed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("log");
    let open = || std::fs::OpenOptions::new().create(true).append(true).open(&path).unwrap();
    let fail = Arc::new(Mutex::new(false));
    let clock = clock();
    let log = AuditLog::with_file_at(
        path.clone(),
        Box::new(FlakySync { file: open(), fail: fail.clone() }),
        Box::new(FlakySync { file: open(), fail: fail.clone() }),
        SigningKey::generate(),
        clock.clone(),
    );
    log.append(sample_entry(0)).unwrap();
    log.append(sample_entry(1)).unwrap();
    *fail.lock().unwrap() = true;
    assert!(log.append(sample_entry(2)).is_err());
    *fail.lock().unwrap() = false;
    // Something cut into what had been synced: the log must not go on.
    let len = std::fs::metadata(&path).unwrap().len();
    open().set_len(len / 2).unwrap();
    assert!(matches!(log.append(sample_entry(3)), Err(AuditError::Poisoned)));
    clock.advance(std::time::Duration::from_secs(60));
    assert!(matches!(log.append(sample_entry(4)), Err(AuditError::Poisoned)));
}

#[test]
fn a_full_disk_fails_appends() {
    // /dev/full answers every write with ENOSPC, like a full file system.
    let full = || -> Box<dyn LogFile> {
        Box::new(std::fs::OpenOptions::new().append(true).open("/dev/full").expect("/dev/full exists on Linux"))
    };
    let log = AuditLog::with_file(full(), full(), SigningKey::generate(), clock());
    let err = log.append(sample_entry(0)).unwrap_err();
    assert!(err.to_string().contains("cannot be written"), "{err}");
}

#[test]
fn concurrent_appends_stay_one_valid_chain_and_verify_reads_while_writing() {
    let site = Site::new();
    let store = testimony::storage::Store::open(&site.data).unwrap();
    let log = Arc::new(AuditLog::open(&store, clock()).unwrap().with_checkpoint_every(50));
    let path = audit::log_path(&site.data);
    let before = audit::verify_file(&path, None).unwrap().records;
    let writers: Vec<_> = (0..4)
        .map(|t| {
            let log = log.clone();
            std::thread::spawn(move || {
                for i in 0..250 {
                    log.append(sample_entry(t * 1000 + i)).unwrap();
                }
            })
        })
        .collect();
    let reader = {
        let path = path.clone();
        std::thread::spawn(move || {
            let mut checks = 0;
            for _ in 0..50 {
                audit::verify_file(&path, None).expect("a log being written verifies");
                checks += 1;
            }
            checks
        })
    };
    for w in writers {
        w.join().unwrap();
    }
    assert_eq!(reader.join().unwrap(), 50);
    let after = audit::verify_file(&path, None).unwrap();
    // 1000 entries, plus a checkpoint after every 50 of them.
    assert!(after.records >= before + 1000 + 20, "{} records", after.records);
    assert!(after.checkpoints >= 20, "{} checkpoints", after.checkpoints);
}

#[test]
fn reopening_continues_the_chain_and_cuts_a_torn_tail() {
    let site = Site::new();
    {
        let store = testimony::storage::Store::open(&site.data).unwrap();
        let log = AuditLog::open(&store, clock()).unwrap();
        log.append(sample_entry(0)).unwrap();
    }
    // A crash in the middle of a write leaves half a line: the beginning
    // of the record due next.
    let path = audit::log_path(&site.data);
    let mut bytes = std::fs::read(&path).unwrap();
    let next = lines(&bytes).len();
    bytes.extend_from_slice(format!("{{\"seq\":{next},\"time\":\"2026-").as_bytes());
    std::fs::write(&path, &bytes).unwrap();
    let store = testimony::storage::Store::open(&site.data).unwrap();
    let log = AuditLog::open(&store, clock()).unwrap();
    log.append(sample_entry(1)).unwrap();
    audit::verify_file(&path, None).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains("\"torn_record_cut\""), "the cut is recorded in the log itself");
}

/// Every way a crash can leave the end of a log (any beginning of the
/// record due, the whole of it without its line end, zeros) is a torn
/// record, named at its line, after every earlier record verified; bytes
/// no writer of this log would have written there are tampering.
#[test]
fn a_torn_last_record_is_told_apart_from_tampering() {
    let (honest, _) = honest_log(12, 5);
    let n = lines(&honest).len() as u64;
    let summary = audit::verify_bytes(&honest, None).unwrap();
    // The record that would have come next, as the writer would write it.
    let next = Record::new(
        n,
        "2026-11-29T12:00:00Z".into(),
        Body::Entry { actor: Actor::System, event: Event::ServerStopped, object: None, outcome: Outcome::Ok },
        &summary.head,
    )
    .to_line();
    let mut tails: Vec<Vec<u8>> = (1..=next.len()).map(|k| next.as_bytes()[..k].to_vec()).collect();
    tails.push(vec![0u8; 300]);
    for tail in &tails {
        let mut bytes = honest.clone();
        bytes.extend_from_slice(tail);
        let err = audit::verify_bytes(&bytes, None).unwrap_err();
        assert!(err.torn, "{} bytes of the next record: {err}", tail.len());
        assert_eq!(err.line, n + 1);
        let shown = audit::VerifyError::from(err).to_string();
        assert!(shown.contains("torn record at line") && shown.contains("not tampering"), "{shown}");
    }
    // Cutting the last record itself is also a torn write of it.
    let cut = &honest[..honest.len() - 40];
    let err = audit::verify_bytes(cut, None).unwrap_err();
    assert!(err.torn && err.line == n, "{err}");

    // Not what a crash leaves: another record's number, a record followed
    // by more, stray bytes; each is tampering, at that line.
    let wrong_seq = next.replacen(&format!("{{\"seq\":{n},"), &format!("{{\"seq\":{},", n + 7), 1);
    for tail in [
        wrong_seq.as_bytes()[..30].to_vec(),
        format!("{next} ").into_bytes(),
        format!("{next}x").into_bytes(),
        b"hello".to_vec(),
        b" ".to_vec(),
    ] {
        let mut bytes = honest.clone();
        bytes.extend_from_slice(&tail);
        let err = audit::verify_bytes(&bytes, None).unwrap_err();
        assert!(!err.torn, "{:?} taken for a torn write", String::from_utf8_lossy(&tail));
        assert_eq!(err.line, n + 1);
    }
    // Tampering earlier in the log is named where it is, torn tail or not.
    let mut bytes = honest.clone();
    let at = bytes.iter().position(|b| *b == b'\n').unwrap() + 12;
    bytes[at] ^= 0x01;
    bytes.extend_from_slice(&next.as_bytes()[..20]);
    let err = audit::verify_bytes(&bytes, None).unwrap_err();
    assert!(!err.torn && err.line == 2, "{err}");
}

#[test]
fn the_cli_verifies_reports_tampering_and_checks_saved_checkpoints() {
    let site = Site::new();
    assert!(site.add_user("bo", "reviewer", true).status.success());
    let out = run(&["audit", "verify", "--data", site.data_arg()]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).starts_with("audit log intact: "), "{}", stdout(&out));

    let out = run(&["audit", "checkpoint", "--data", site.data_arg()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let saved = site.file("checkpoint.txt", &out.stdout);
    let cp = export::from_text(&stdout(&out)).unwrap();
    assert!(cp.size > 0);

    // More activity: the log still extends the saved checkpoint.
    assert!(site.add_user("cy", "investigator", false).status.success());
    let out = run(&["audit", "verify", "--data", site.data_arg(), "--checkpoint", saved.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("extends the saved checkpoint"));
    // The checkpoint can also come on standard input.
    let piped = std::process::Command::new(env!("CARGO_BIN_EXE_testimony"))
        .args(["audit", "verify", "--data", site.data_arg(), "--checkpoint", "-"])
        .stdin(std::fs::File::open(&saved).unwrap())
        .output()
        .unwrap();
    assert!(piped.status.success(), "{}", String::from_utf8_lossy(&piped.stderr));

    // Roll the log back to before the checkpoint: caught only with it.
    let path = audit::log_path(&site.data);
    let full = std::fs::read(&path).unwrap();
    let kept: Vec<Vec<u8>> = lines(&full).into_iter().take(cp.size as usize - 1).collect();
    std::fs::write(&path, join(&kept)).unwrap();
    assert!(run(&["audit", "verify", "--data", site.data_arg()]).status.success());
    let out = run(&["audit", "verify", "--data", site.data_arg(), "--checkpoint", saved.to_str().unwrap()]);
    let line = assert_one_line_failure(&out);
    assert!(line.contains("truncated or rolled back"), "{line}");

    // Change one byte of an early entry.
    let mut bytes = full.clone();
    let at = bytes.iter().position(|b| *b == b'"').unwrap() + 3;
    bytes[at] ^= 0x01;
    std::fs::write(&path, &bytes).unwrap();
    let line = assert_one_line_failure(&run(&["audit", "verify", "--data", site.data_arg()]));
    assert!(line.contains("tampered") && line.contains("line 1"), "{line}");
}

#[tokio::test]
async fn verify_works_while_the_server_runs_and_start_stop_are_logged() {
    let site = Site::new();
    let server = site.serve(&[]);
    let out = run(&["audit", "verify", "--data", site.data_arg()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let (status, _) = server.stop();
    assert!(status.success());
    let text = std::fs::read_to_string(audit::log_path(&site.data)).unwrap();
    let kinds: Vec<String> = text
        .lines()
        .map(|l| serde_json::from_str::<Record>(l).unwrap())
        .filter_map(|r| match r.body {
            Body::Entry { event, .. } => Some(event.name()),
            Body::Checkpoint(_) => None,
        })
        .collect();
    for expected in [
        "data_directory_created",
        "account_created",
        "desk_created",
        "desk_granted",
        "server_started",
        "server_stopped",
    ] {
        assert!(kinds.iter().any(|k| k == expected), "no {expected} in {kinds:?}");
    }
    // A clean stop ends the log with a checkpoint.
    let last: Record = serde_json::from_str(text.lines().last().unwrap()).unwrap();
    assert!(matches!(last.body, Body::Checkpoint(_)));
    let out = run(&["audit", "verify", "--data", site.data_arg()]);
    assert!(out.status.success());
}

#[test]
fn the_log_never_holds_passwords_or_totp_secrets() {
    let site = Site::new();
    let out = site.add_user("bo", "reviewer", true);
    let secret = stdout(&out).lines().find_map(|l| l.strip_prefix("totp-secret: ").map(str::to_string)).unwrap();
    let text = std::fs::read_to_string(audit::log_path(&site.data)).unwrap();
    assert!(!text.contains(PASSWORD));
    assert!(!text.contains(&secret));
}
