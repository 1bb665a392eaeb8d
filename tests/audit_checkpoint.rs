//! `audit checkpoint` signs the log's current head, not the last checkpoint
//! it happens to hold: through the running server, or directly when none
//! runs. A checkpoint that lagged the head would let a rollback of the
//! newest entries pass `audit verify --checkpoint`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;

use common::*;
use testimony::audit::{self, Body, Record, export};

fn records(data: &Path) -> Vec<String> {
    std::fs::read_to_string(audit::log_path(data)).unwrap().lines().map(str::to_string).collect()
}

fn keep_first(data: &Path, n: usize) {
    let kept: String = records(data).into_iter().take(n).map(|l| l + "\n").collect();
    std::fs::write(audit::log_path(data), kept).unwrap();
}

#[test]
fn a_checkpoint_taken_while_serving_covers_the_head_and_catches_a_rollback() {
    let site = Site::new();
    let server = site.serve(&[]);
    // Entries after the last periodic checkpoint: backups through the
    // control socket are audited by the server.
    for i in 0..3 {
        let out = site.root.path().join(format!("b{i}.tb"));
        let done = run(&["backup", "--data", site.data_arg(), "--out", out.to_str().unwrap()]);
        assert!(done.status.success(), "{}", stderr(&done));
    }
    let before = records(&site.data).len() as u64;

    let out = run(&["audit", "checkpoint", "--data", site.data_arg()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let cp = export::from_text(&stdout(&out)).unwrap();
    assert_eq!(cp.size, before, "the checkpoint covers every record the log had");
    // The server appended it to its log, where verify will look for it.
    let last: Record = serde_json::from_str(records(&site.data).last().unwrap()).unwrap();
    assert_eq!(last.body, Body::Checkpoint(cp.clone()));
    let saved = site.file("checkpoint.txt", &out.stdout);
    let verify = |data: &str| run(&["audit", "verify", "--data", data, "--checkpoint", saved.to_str().unwrap()]);
    assert!(verify(site.data_arg()).status.success());

    let (status, _) = server.stop();
    assert!(status.success());
    assert!(verify(site.data_arg()).status.success(), "a grown log still extends it");

    // Roll back the newest two backups' entries: the chain alone stays
    // valid, the saved checkpoint catches it.
    keep_first(&site.data, cp.size as usize - 2);
    assert!(run(&["audit", "verify", "--data", site.data_arg()]).status.success());
    let line = assert_one_line_failure(&verify(site.data_arg()));
    assert!(line.contains("truncated or rolled back"), "{line}");
}

#[test]
fn a_checkpoint_taken_offline_covers_the_head_too() {
    let site = Site::new();
    assert!(site.add_user("bo", "reviewer", true).status.success());
    let out = run(&["backup", "--data", site.data_arg(), "--out", site.root.path().join("b.tb").to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let before = records(&site.data).len() as u64;
    let out = run(&["audit", "checkpoint", "--data", site.data_arg()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let cp = export::from_text(&stdout(&out)).unwrap();
    assert_eq!(cp.size, before);
    let saved = site.file("checkpoint.txt", &out.stdout);
    keep_first(&site.data, cp.size as usize - 1);
    let out = run(&["audit", "verify", "--data", site.data_arg(), "--checkpoint", saved.to_str().unwrap()]);
    let line = assert_one_line_failure(&out);
    assert!(line.contains("truncated or rolled back"), "{line}");
}

#[test]
fn a_checkpoint_of_a_damaged_log_is_refused() {
    let site = Site::new();
    let path = audit::log_path(&site.data);
    let mut bytes = std::fs::read(&path).unwrap();
    let at = bytes.iter().position(|b| *b == b'"').unwrap() + 3;
    bytes[at] ^= 0x01;
    std::fs::write(&path, &bytes).unwrap();
    let before = std::fs::read(&path).unwrap();
    let line = assert_one_line_failure(&run(&["audit", "checkpoint", "--data", site.data_arg()]));
    assert!(line.contains("tampered"), "{line}");
    assert_eq!(std::fs::read(&path).unwrap(), before, "nothing is signed over a damaged log");
}

#[test]
fn checkpoints_asked_for_amid_concurrent_appends_each_describe_their_place() {
    use std::sync::Arc;
    use testimony::audit::{Actor, AuditLog, Event, NewEntry};
    let site = Site::new();
    let store = testimony::storage::Store::open(&site.data).unwrap();
    let clock = Arc::new(testimony::clock::ManualClock::at(testimony::clock::Timestamp(1_800_000_000)));
    let log = Arc::new(AuditLog::open(&store, clock).unwrap().with_checkpoint_every(7));
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let log = log.clone();
            std::thread::spawn(move || {
                let mut signed = Vec::new();
                for i in 0..40 {
                    log.append(NewEntry::by(Actor::System, Event::BackupTaken)).unwrap();
                    if (i + t) % 5 == 0 {
                        signed.push(log.checkpoint_now().unwrap());
                    }
                }
                signed
            })
        })
        .collect();
    let signed: Vec<_> = threads.into_iter().flat_map(|t| t.join().unwrap()).collect();
    assert!(signed.len() >= 30);
    for cp in &signed {
        audit::verify_file(&audit::log_path(&site.data), Some(cp)).unwrap();
    }
}
