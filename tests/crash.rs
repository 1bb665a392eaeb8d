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
use testimony::storage::{Role, Store};

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
    Server::start(&[
        "serve",
        "--data",
        data.to_str().unwrap(),
        "--listen",
        "127.0.0.1:0",
        "--review-listen",
        "127.0.0.1:0",
    ])
}
