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
