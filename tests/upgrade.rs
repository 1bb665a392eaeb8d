//! A data directory left by the last build that wrote format 1
//! (tests/fixtures/format-1) is upgraded when it is opened: a backup
//! first, then the records, then FORMAT; nothing is lost, the witness's
//! receipt still works, and the backup restores the directory as it was.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;
use testimony::crypto;
use testimony::storage::{StatementRecords, Store};

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests").join("fixtures").join("format-1")
}

/// The fixture's data directory, unpacked into `root/data`.
fn unpack(root: &Path) -> PathBuf {
    let status =
        Command::new("tar").arg("-xzf").arg(fixture().join("data.tar.gz")).arg("-C").arg(root).status().unwrap();
    assert!(status.success());
    private_again(&root.join("data"));
    root.join("data")
}

fn format_of(data: &Path) -> String {
    std::fs::read_to_string(data.join("FORMAT")).unwrap().trim().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_format_1_directory_is_upgraded_with_a_backup_first_and_loses_nothing() {
    let root = tempfile::tempdir().unwrap();
    let data = unpack(root.path());
    assert_eq!(format_of(&data), "testimony data format 1");

    // The server opens it, upgrades it and says so, then serves it.
    let server = Server::serving(&data, &[]);
    // The witness's receipt from before the upgrade still opens their page.
    let receipt = std::fs::read_to_string(fixture().join("receipt.txt")).unwrap();
    let page = http()
        .post(format!("{}/followup", server.public))
        .form(&[("receipt", receipt.trim())])
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("Where your statement stands"), "{page}");
    let (status, log) = server.stop();
    assert!(status.success(), "{log}");
    assert!(
        log.contains("upgraded the data directory's format") && log.contains("from=1") && log.contains("to=2"),
        "{log}"
    );
    assert_eq!(format_of(&data), "testimony data format 2");

    // Everything is there: the statement and its file open with the
    // recovery key, and the record has its state's day.
    let recovery = crypto::read_identity_file(&fixture().join("recovery.key")).unwrap();
    let backups: Vec<PathBuf> =
        std::fs::read_dir(data.join("upgrade-backups")).unwrap().map(|e| e.unwrap().path()).collect();
    {
        let store = Store::open(&data).unwrap();
        let records: Vec<_> = store.submissions().map(Result::unwrap).collect();
        assert_eq!(records.len(), 1);
        let record = &records[0];
        assert!(record.state_since.is_some(), "the upgrade gave it a day");
        let statement = crypto::open(record.statement.as_ref().unwrap().as_bytes(), &recovery).unwrap();
        assert!(String::from_utf8_lossy(statement.as_bytes()).contains("Format one fixture"));
        let mut sealed = Vec::new();
        std::io::Read::read_to_end(&mut store.objects().read(&record.files[0].object).unwrap(), &mut sealed).unwrap();
        assert_eq!(crypto::open(&sealed, &recovery).unwrap().as_bytes(), b"release paper, scanned\n");
    }
    assert!(run(&["audit", "verify", "--data", data.to_str().unwrap()]).status.success());

    // One backup, taken before anything changed, and opening again does
    // not upgrade again.
    assert_eq!(backups.len(), 1, "{backups:?}");
    assert!(backups[0].file_name().unwrap().to_str().unwrap().starts_with("format-1-"));
    drop(Store::open(&data).unwrap());
    assert_eq!(std::fs::read_dir(data.join("upgrade-backups")).unwrap().count(), 1);

    // The backup is a standard one: it restores the directory as it was
    // (restored by this build, so its records get their day too).
    let restored = root.path().join("restored");
    let out = run(&["restore", "--from", backups[0].to_str().unwrap(), "--data", restored.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let store = Store::open(&restored).unwrap();
    let record = store.submissions().next().unwrap().unwrap();
    assert!(record.state_since.is_some());
    let statement = crypto::open(record.statement.as_ref().unwrap().as_bytes(), &recovery).unwrap();
    assert!(String::from_utf8_lossy(statement.as_bytes()).contains("Format one fixture"));
}

#[test]
fn a_newer_format_than_this_build_knows_is_refused_and_left_alone() {
    let root = tempfile::tempdir().unwrap();
    let data = unpack(root.path());
    std::fs::write(data.join("FORMAT"), "testimony data format 3\n").unwrap();
    let out = run(&["backup", "--data", data.to_str().unwrap(), "--out", root.path().join("b").to_str().unwrap()]);
    let line = assert_one_line_failure(&out);
    assert!(line.contains("format 3") && line.contains("upgrade testimony"), "{line}");
    assert!(!data.join("upgrade-backups").exists());
}

/// A crash after the records changed but before FORMAT was rewritten:
/// FORMAT still says 1, so the next open runs the upgrade again, which
/// keeps the backup it took and finds nothing left to change.
#[test]
fn an_upgrade_cut_short_before_its_last_step_is_finished_by_the_next_open() {
    let root = tempfile::tempdir().unwrap();
    let data = unpack(root.path());
    drop(Store::open(&data).unwrap());
    let backup = std::fs::read_dir(data.join("upgrade-backups")).unwrap().next().unwrap().unwrap().path();
    let taken = std::fs::read(&backup).unwrap();
    // As the crash left it.
    std::fs::write(data.join("FORMAT"), "testimony data format 1\n").unwrap();
    let store = Store::open(&data).unwrap();
    assert_eq!(format_of(&data), "testimony data format 2");
    assert_eq!(std::fs::read(&backup).unwrap(), taken, "the first backup, untouched");
    assert_eq!(std::fs::read_dir(data.join("upgrade-backups")).unwrap().count(), 1);
    assert!(store.submissions().all(|r| r.unwrap().state_since.is_some()));
}
