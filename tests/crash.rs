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
