//! Durability: what was flushed survives `kill -9`, and what was half
//! written is cleaned up at the next open.
//!
//! The writer must be a separate process to be killed, so this test binary
//! runs itself again: `crash_writer_child` is the child's entry point and is
//! `#[ignore]`d so that it only runs when the parent asks for it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};

use common::*;
use testimony::auth::accounts;
use testimony::clock::Day;
use testimony::crypto::{KdfParams, Password, SealingWriter};
use testimony::storage::{Holder, Role, Store};

const CHILD_ENV: &str = "TESTIMONY_CRASH_CHILD_DATA";
const ACCOUNTS: usize = 25;

/// Cheap key derivation: this test is about durability, not argon2.
const FAST: KdfParams = KdfParams { memory_kib: 64, passes: 1, lanes: 1 };

#[test]
#[ignore = "entry point of the child process that crash tests kill"]
fn crash_writer_child() {
    let data = std::env::var(CHILD_ENV).expect("run by records_flushed_before_kill_9_survive");
    let store = Store::open(data.as_ref()).unwrap();
    let password = Password::new(PASSWORD.into()).unwrap();
    let day: Day = "2026-01-01".to_string().try_into().unwrap();
    for i in 0..ACCOUNTS {
        let account =
            accounts::prepare(format!("user{i}").parse().unwrap(), Role::Reviewer, &password, FAST, day).unwrap();
        store.insert_account(&account.record, &[]).unwrap(); // flushes
        println!("committed {i}");
    }
    // Start a large object and never finish it: the parent kills us mid-write.
    let server = store.server().unwrap();
    let mut writer = SealingWriter::new(store.objects().create().unwrap(), &[&server.recovery_recipient]).unwrap();
    let chunk = vec![0x5au8; 1 << 20];
    for _ in 0..8 {
        writer.write_all(&chunk).unwrap();
    }
    writer.flush().unwrap();
    println!("writing object");
    loop {
        writer.write_all(&chunk).unwrap();
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

#[test]
fn records_flushed_before_kill_9_survive_and_partial_objects_are_removed() {
    let site = Site::new();
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "crash_writer_child", "--ignored", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, &site.data)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut committed = 0;
    for line in BufReader::new(child.stdout.take().unwrap()).lines() {
        let line = line.unwrap();
        // libtest prints "test crash_writer_child ... " before our first line.
        if line.contains("committed ") {
            committed += 1;
        }
        if line.ends_with("writing object") {
            break;
        }
    }
    assert_eq!(committed, ACCOUNTS, "the child did not get to the object write");
    let partial = site.data.join("objects").join(".partial");
    assert_eq!(std::fs::read_dir(&partial).unwrap().count(), 1, "the half-written object is on disk before the kill");

    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();

    let store = Store::open(&site.data).expect("the data directory reopens after kill -9");
    for i in 0..ACCOUNTS {
        let name = format!("user{i}").parse().unwrap();
        assert!(store.account(&name).unwrap().is_some(), "user{i} was flushed but is gone");
    }
    assert_eq!(std::fs::read_dir(&partial).unwrap().count(), 0, "the partial object was not cleaned up at open");
    let shards = std::fs::read_dir(site.data.join("objects")).unwrap().count();
    assert_eq!(shards, 1, "only .partial/ may exist: no object was committed");
}

#[test]
fn an_object_dropped_before_commit_leaves_nothing() {
    let site = Site::new();
    let store = Store::open(&site.data).unwrap();
    let server = store.server().unwrap();
    let mut writer = SealingWriter::new(store.objects().create().unwrap(), &[&server.recovery_recipient]).unwrap();
    writer.write_all(&[1u8; 100_000]).unwrap();
    drop(writer); // an aborted upload
    assert_eq!(std::fs::read_dir(site.data.join("objects").join(".partial")).unwrap().count(), 0);
}

// --- the audit log's last line, torn by a crash ------------------------------

fn log_lines(bytes: &[u8]) -> usize {
    bytes.iter().filter(|b| **b == b'\n').count()
}

#[test]
fn a_torn_last_audit_record_is_named_by_verify_and_cut_and_recorded_at_the_next_start() {
    use testimony::audit::{self, Actor, Body, Event, Outcome, Record};
    let site = Site::new();
    assert!(site.add_user("bo", "reviewer", true).status.success());
    let path = audit::log_path(&site.data);
    let whole = std::fs::read(&path).unwrap();
    let n = log_lines(&whole);
    let head = audit::verify_bytes(&whole, None).unwrap().head;
    let verify = || run(&["audit", "verify", "--data", site.data_arg()]);

    // Two ways a crash leaves the end of the log: the last record's write
    // cut short, and half of a record that was being appended.
    let next = Record::new(
        n as u64,
        "2026-11-29T12:00:00Z".into(),
        Body::Entry { actor: Actor::System, event: Event::ServerStarted, object: None, outcome: Outcome::Ok },
        &head,
    )
    .to_line();
    let cut_short = whole[..whole.len() - 57].to_vec();
    let mut half_appended = whole.clone();
    half_appended.extend_from_slice(&next.as_bytes()[..next.len() / 2]);
    for (torn, line) in [(cut_short, n), (half_appended, n + 1)] {
        std::fs::write(&path, &torn).unwrap();
        let intact = torn.iter().rposition(|b| *b == b'\n').unwrap() + 1;
        let said = assert_one_line_failure(&verify());
        assert!(
            said.contains(&format!("ends in a torn record at line {line}: {} bytes", torn.len() - intact))
                && said.contains("not tampering")
                && !said.contains("tampered with"),
            "{said}"
        );

        // The server starts, says what it cut, and writes it down.
        let server = site.serve(&[]);
        let (status, stderr_log) = server.stop();
        assert!(status.success(), "{stderr_log}");
        assert!(stderr_log.contains("torn record"), "{stderr_log}");
        let after = std::fs::read(&path).unwrap();
        assert_eq!(&after[..intact], &torn[..intact], "every record before the torn one is kept, byte for byte");
        let first_new: Record = serde_json::from_slice(after[intact..].split(|b| *b == b'\n').next().unwrap()).unwrap();
        let sha = testimony::crypto::hex(&<sha2::Sha256 as sha2::Digest>::digest(&torn[intact..]));
        match first_new.body {
            Body::Entry { actor: Actor::System, event: Event::TornRecordCut { line: l, bytes, sha256 }, .. } => {
                assert_eq!((l, bytes, sha256), (line as u64, (torn.len() - intact) as u64, sha));
            }
            other => panic!("the first record after the cut is {other:?}"),
        }
        let out = verify();
        assert!(out.status.success(), "{}", stderr(&out));
    }

    // Bytes no crash leaves there are not cut: verify calls them tampering
    // and the server refuses to start, leaving the log as it is.
    let mut bytes = std::fs::read(&path).unwrap();
    let lines = log_lines(&bytes);
    bytes.extend_from_slice(b"{\"seq\":1,\"time\":\"2001-01-01T00:00:00Z\"");
    std::fs::write(&path, &bytes).unwrap();
    let said = assert_one_line_failure(&verify());
    assert!(said.contains(&format!("tampered with at line {}", lines + 1)), "{said}");
    let out = run(&["serve", "--data", site.data_arg(), "--listen", "127.0.0.1:0", "--review-listen", "127.0.0.1:0"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains(&format!("line {}", lines + 1)), "{}", stderr(&out));
    assert_eq!(std::fs::read(&path).unwrap(), bytes, "a damaged log is left for someone to look at");
}

// --- backup and restore, killed half way --------------------------------------

/// Adds a large sealed object to a stopped data directory, so that a
/// backup or a restore of it takes long enough to be killed half way.
fn add_large_object(site: &Site, mebibytes: usize) {
    let store = Store::open(&site.data).unwrap();
    let server = store.server().unwrap();
    let mut writer = SealingWriter::new(store.objects().create().unwrap(), &[&server.recovery_recipient]).unwrap();
    let chunk: Vec<u8> = (0..1 << 20).map(|i: u32| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
    for _ in 0..mebibytes {
        writer.write_all(&chunk).unwrap();
    }
    store.objects().commit(writer.finish().unwrap()).unwrap();
}

fn size_of(path: &std::path::Path) -> u64 {
    std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)
}

/// Total size of the files below `dir`.
fn bytes_below(dir: &std::path::Path) -> u64 {
    let mut total = 0;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(path) = stack.pop() {
        match std::fs::symlink_metadata(&path) {
            Ok(m) if m.is_dir() => {
                for entry in std::fs::read_dir(&path).into_iter().flatten().flatten() {
                    stack.push(entry.path());
                }
            }
            Ok(m) => total += m.len(),
            Err(_) => {}
        }
    }
    total
}

/// Starts `testimony ARGS`, waits until `progress()` reaches `at`, kills it
/// (SIGKILL) and returns how far it had got. Panics if it finished first.
fn kill_when(args: &[&str], progress: impl Fn() -> u64, at: u64) -> u64 {
    let mut child = bin().args(args).stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::piped()).spawn().unwrap();
    loop {
        let now = progress();
        if now >= at {
            child.kill().unwrap();
            child.wait().unwrap();
            return now;
        }
        if let Some(status) = child.try_wait().unwrap() {
            let said = std::io::read_to_string(child.stderr.take().unwrap()).unwrap();
            panic!("{args:?} ended ({status}) before it was killed, at {now} of {at} bytes: {said}");
        }
        std::thread::sleep(std::time::Duration::from_micros(200));
    }
}

/// Names in `dir` other than `known`.
fn new_names(dir: &std::path::Path, known: &[&str]) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| !known.contains(&n.as_str()))
        .collect()
}

#[test]
fn a_backup_killed_half_way_leaves_nothing_that_passes_for_a_backup_and_the_next_one_works() {
    let site = Site::new();
    add_large_object(&site, 24);
    let known = ["data", "password", "recovery.key"];
    let dir = site.root.path();
    // A whole backup first, to learn how large one is.
    let whole = dir.join("whole.tb");
    let out = run(&["backup", "--data", site.data_arg(), "--out", whole.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let size = size_of(&whole);
    std::fs::remove_file(&whole).unwrap();

    let target = dir.join("nightly.tb");
    let partial = || {
        let name = new_names(dir, &known).into_iter().find(|n| n.ends_with(".partial"));
        name.map(|n| dir.join(n))
    };
    // Killed before anything was written, early, half way and near the end.
    for at in [0, 4096, size / 2, size - size / 16] {
        let args = ["backup", "--data", site.data_arg(), "--out", target.to_str().unwrap()];
        let got = kill_when(&args, || partial().map_or(0, |p| size_of(&p)), at);
        assert!(!target.exists(), "killed at {got} of {size} bytes, yet there is a file at the output path");
        let left = new_names(dir, &known);
        assert!(
            left.iter().all(|n| n.starts_with("nightly.") && n.ends_with(".partial")),
            "only a file named as a partial may be left: {left:?}"
        );
        if let Some(partial) = partial().filter(|p| size_of(p) < size) {
            let out = run(&["backup", "--verify", partial.to_str().unwrap()]);
            assert!(!out.status.success(), "a partial of {got} bytes passed for a backup: {}", stdout(&out));
        }
    }
    // The next backup takes over what the killed one left, and is whole.
    let out = run(&["backup", "--data", site.data_arg(), "--out", target.to_str().unwrap()]);
    assert!(out.status.success(), "after a killed backup: {}", stderr(&out));
    assert!(run(&["backup", "--verify", target.to_str().unwrap()]).status.success());
    assert_eq!(new_names(dir, &known), ["nightly.tb"]);
    assert_eq!(mode_of(&target), 0o600);
}

#[test]
fn a_restore_killed_half_way_is_never_served_and_the_next_restore_works() {
    let site = Site::new();
    add_large_object(&site, 24);
    let dir = site.root.path();
    let backup = dir.join("b.tb");
    let out = run(&["backup", "--data", site.data_arg(), "--out", backup.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let size = size_of(&backup);
    let known = ["data", "password", "recovery.key", "b.tb"];
    let target = dir.join("restored");
    let restore_args = ["restore", "--from", backup.to_str().unwrap(), "--data", target.to_str().unwrap()];
    let siblings = || {
        let names = new_names(dir, &known).into_iter().filter(|n| n.starts_with(".restored.restore-"));
        names.map(|n| dir.join(n)).collect::<Vec<_>>()
    };
    let half_made = || siblings().iter().map(|s| bytes_below(s)).max().unwrap_or(0);
    let serve = |data: &std::path::Path| {
        run(&["serve", "--data", data.to_str().unwrap(), "--listen", "127.0.0.1:0", "--review-listen", "127.0.0.1:0"])
    };

    for at in [1, size / 3, size - size / 8] {
        let got = kill_when(&restore_args, half_made, at);
        assert!(!target.exists(), "killed at {got} of {size} bytes, yet {} exists", target.display());
        // Nothing half-made is served: not at the target, not the sibling.
        let said = assert_one_line_failure(&serve(&target));
        assert!(said.contains("is not a testimony data directory"), "{said}");
        let half_made = siblings();
        assert!(!half_made.is_empty(), "the half-made restore is beside the target");
        for half in half_made {
            let said = assert_one_line_failure(&serve(&half));
            assert!(said.contains("is not a testimony data directory") && said.contains("`restore`"), "{said}");
            assert!(!half.join("FORMAT").exists());
        }
    }
    // An empty directory as the target, killed too: it stays empty.
    std::fs::create_dir(&target).unwrap();
    kill_when(&restore_args, half_made, size / 2);
    assert_eq!(std::fs::read_dir(&target).unwrap().count(), 0);

    // The next restore works, and clears what the killed ones left.
    let out = run(&restore_args);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(new_names(dir, &known), ["restored"], "what interrupted restores left is gone");
    assert!(run(&["audit", "verify", "--data", target.to_str().unwrap()]).status.success());
    let server = site_serving(&target);
    let (status, _) = server.stop();
    assert!(status.success());
}

fn site_serving(data: &std::path::Path) -> Server {
    Server::serving(data, &[])
}

// --- reviewer actions, killed half way ---------------------------------------

const REVIEWER_CHILD_ENV: &str = "TESTIMONY_REVIEWER_CHILD";
const T0: u64 = 1_795_950_000;

fn next_random(x: u64) -> u64 {
    // xorshift64*: reproducible from the seed the parent prints.
    let mut x = x.max(1);
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    x.wrapping_mul(0x2545_f491_4f6c_dd1d)
}

/// A reviewer (ada, holding both desks' keys) who keeps working until
/// killed: moves statements between the desks (every sealed part and file
/// sealed anew, old copies removed), changes their state and replies to
/// their witnesses, at random.
#[test]
#[ignore = "entry point of the child process that reviewer_actions_killed_at_random_points_are_all_or_nothing kills"]
fn reviewer_child() {
    use testimony::case::{Cases, Change, Reader, WorkflowState};
    use testimony::storage::StatementRecords;
    let vars = std::env::var(REVIEWER_CHILD_ENV).expect("run by reviewer_actions_killed_at_random_points…");
    let mut vars = vars.split('\n');
    let (data, recovery, seed) = (vars.next().unwrap(), vars.next().unwrap(), vars.next().unwrap());
    let mut random: u64 = seed.parse().unwrap();
    let store = Store::open(data.as_ref()).unwrap();
    let clock = std::sync::Arc::new(testimony::clock::ManualClock::at(testimony::clock::Timestamp(T0)));
    let audit = testimony::audit::AuditLog::open(&store, clock.clone()).unwrap();
    let recovery = testimony::crypto::read_identity_file(recovery.as_ref()).unwrap();
    let mut desks = testimony::case::DeskKeys::new();
    for desk in store.desks().unwrap() {
        let key = testimony::custody::unwrap(&store, &desk.id, 0, &Holder::Recovery, &recovery).unwrap();
        desks.insert(desk.id.clone(), vec![(0, std::sync::Arc::new(key))]);
    }
    let desk_ids: Vec<_> = desks.keys().cloned().collect();
    let reader = Reader::new("ada".parse().unwrap(), desks);
    let store = std::sync::Arc::new(store);
    let cases = Cases::new(store.clone(), std::sync::Arc::new(audit), clock.clone());
    let ids: Vec<String> = store.submissions().map(|r| r.unwrap().id).collect();
    let states = [WorkflowState::SafetyScreen, WorkflowState::InReview, WorkflowState::NeedsTranslation];
    println!("ready");
    for n in 0.. {
        random = next_random(random);
        let statement = cases.authorize(reader.clone(), &ids[random as usize % ids.len()]).unwrap();
        clock.advance(std::time::Duration::from_secs(1));
        match (random >> 20) % 4 {
            0 | 1 => {
                let other = desk_ids.iter().find(|d| **d != statement.record().desk).unwrap();
                assert!(cases.move_to_desk(&statement, other).unwrap());
            }
            2 => {
                let to = *states.iter().find(|s| **s != statement.record().state).unwrap();
                let change = Change::State { to, reason: format!("reason {n}"), duplicate_of: None };
                assert!(cases.change(&statement, change).unwrap());
            }
            _ => assert!(cases.change(&statement, Change::Reply(format!("reply {n}"))).unwrap()),
        }
    }
}

/// What the log says reviewers did to one statement and what its record
/// holds must agree: the log's entries (an entry marked `failed` undoing
/// the `ok` one before it) replayed give the record's state, desk, replies
/// and version; every part of the record opens with the key of the desk it
/// names; and the objects on disk are exactly those the records name.
fn assert_all_or_nothing(site: &Site, note: &str) -> usize {
    use testimony::audit::{Actor, Body, Event, Outcome};
    use testimony::storage::{Author, StatementRecords};
    let out = run(&["audit", "verify", "--data", site.data_arg()]);
    assert!(out.status.success(), "{note}: {}", stderr(&out));
    let store = Store::open(&site.data).unwrap();
    assert!(store.changes_begun().unwrap().is_empty(), "{note}: a begun change was left unfinished");
    let log = testimony::audit::read_records(&testimony::audit::log_path(&site.data)).unwrap();
    let recovery = testimony::crypto::read_identity_file(&site.recovery_key).unwrap();
    let default_desk = store.server().unwrap().default_desk;
    let (mut named, mut undone) = (std::collections::BTreeSet::new(), 0);
    for record in store.submissions() {
        let record = record.unwrap();
        let mut applied: Vec<Event> = Vec::new();
        for entry in &log {
            let Body::Entry { actor: Actor::Account(_), event, object: Some(id), outcome } = &entry.body else {
                continue;
            };
            if *id != record.id
                || !matches!(event, Event::StateChanged { .. } | Event::ReplySent | Event::MovedToDesk { .. })
            {
                continue;
            }
            match outcome {
                Outcome::Ok => applied.push(event.clone()),
                _ => {
                    let at = applied.iter().rposition(|e| e == event);
                    applied.remove(at.unwrap_or_else(|| panic!("{note}: {event:?} failed that never began")));
                    undone += 1;
                }
            }
        }
        let state = applied.iter().rev().find_map(|e| match e {
            Event::StateChanged { to, .. } => Some(to.clone()),
            _ => None,
        });
        let desk = applied.iter().rev().find_map(|e| match e {
            Event::MovedToDesk { desk } => Some(desk.clone()),
            _ => None,
        });
        let replies = applied.iter().filter(|e| **e == Event::ReplySent).count();
        let what = format!("{note}, statement {}", record.id);
        assert_eq!(record.state.to_string(), state.unwrap_or("received".into()), "{what}: state");
        assert_eq!(record.desk.0, desk.unwrap_or(default_desk.0.clone()), "{what}: desk");
        assert_eq!(record.thread.iter().filter(|i| i.author == Author::Reviewer).count(), replies, "{what}: replies");
        assert_eq!(record.version, 1 + applied.len() as u64, "{what}: version");

        let key = testimony::custody::unwrap(&store, &record.desk, record.key_generation, &Holder::Recovery, &recovery)
            .unwrap();
        let open = |sealed: &testimony::crypto::Sealed| -> serde_json::Value {
            testimony::case::documents::open(sealed, &key).unwrap_or_else(|e| panic!("{what}: {e}"))
        };
        let statement = open(record.statement.as_ref().unwrap());
        if let Some(triage) = &record.triage {
            open(triage);
        }
        for item in &record.thread {
            open(&item.message);
        }
        let mut sent: Vec<String> =
            statement["files"].as_array().unwrap().iter().map(|f| f["sha256"].as_str().unwrap().to_string()).collect();
        let mut found = Vec::new();
        for file in &record.files {
            let mut plain = testimony::crypto::open_stream(store.objects().read(&file.object).unwrap(), &key).unwrap();
            let mut hash = <sha2::Sha256 as sha2::Digest>::new();
            std::io::copy(&mut plain, &mut hash).unwrap();
            found.push(testimony::crypto::hex(&sha2::Digest::finalize(hash)));
            named.insert(file.object.0.clone());
            named.extend(file.cleaned.iter().map(|c| c.0.clone()));
        }
        sent.sort();
        found.sort();
        assert_eq!(found, sent, "{what}: the files, byte for byte");
    }
    let on_disk: std::collections::BTreeSet<String> =
        store.objects().list().unwrap().into_iter().map(|o| o.0).collect();
    assert_eq!(on_disk, named, "{note}: the objects on disk are exactly those the records name");
    assert_eq!(std::fs::read_dir(site.data.join("objects").join(".partial")).unwrap().count(), 0);
    undone
}

#[test]
fn reviewer_actions_killed_at_random_points_are_all_or_nothing() {
    const ROUNDS: u64 = 12;
    let site = Site::new();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let clock = std::sync::Arc::new(testimony::clock::ManualClock::at(testimony::clock::Timestamp(T0)));
    let restart = || {
        // Reopened as the server opens it (and repairs what it must).
        runtime.block_on(async {
            let limits = testimony::config::IntakeLimits::default();
            InProcess::start(&site, clock.clone(), limits).await.stop().await;
        })
    };
    runtime.block_on(async {
        let server = InProcess::start(&site, clock.clone(), testimony::config::IntakeLimits::default()).await;
        for s in 0..3u8 {
            let file = |f: u8| {
                let bytes: Vec<u8> = (0..256 * 1024u32).map(|i| (i % 251) as u8 ^ s ^ (f << 4)).collect();
                reqwest::multipart::Part::bytes(bytes).file_name(format!("{s}-{f}.bin"))
            };
            let form = reqwest::multipart::Form::new()
                .text("role", "detained_self")
                .text("consent_store", "yes")
                .text("statement", format!("statement {s}"))
                .part("attachment", file(1))
                .part("attachment", file(2));
            let page = http().post(format!("{}/submit", server.public)).multipart(form).send().await.unwrap();
            assert_eq!(page.status(), 200);
        }
        server.state.admin.create_desk(&"ada".parse().unwrap(), "Second desk").unwrap();
        server.stop().await;
    });
    assert_all_or_nothing(&site, "before any kill");

    let seed = u64::from_le_bytes(testimony::crypto::random_array::<8>());
    let mut random = seed;
    let mut undone = 0;
    for round in 0..ROUNDS {
        random = next_random(random);
        let after = std::time::Duration::from_millis(10 + random % 300);
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "reviewer_child", "--ignored", "--nocapture", "--test-threads=1"])
            .env(REVIEWER_CHILD_ENV, format!("{}\n{}\n{random}", site.data_arg(), site.recovery_key.display()))
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        assert!(lines.any(|l| l.unwrap().ends_with("ready")), "the child did not start");
        std::thread::sleep(after);
        assert!(child.try_wait().unwrap().is_none(), "the child stopped by itself");
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        restart();
        let note = format!("seed {seed}, round {round}, killed after {after:?}");
        undone = assert_all_or_nothing(&site, &note);
    }
    eprintln!("{ROUNDS} kills (seed {seed}); the log holds {undone} changes marked failed after a kill");
}
