//! Backups and restores through the real binary: a restore never removes
//! anything it did not create, never touches a directory a server holds,
//! builds aside and renames into place only when complete and verified;
//! any damaged byte of a backup is refused, naming where it is.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use common::*;

/// Every file below `dir` with its bytes (and every directory, as `None`).
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Option<Vec<u8>>> {
    let mut found = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(path) = stack.pop() {
        if path.is_dir() {
            found.insert(path.clone(), None);
            for entry in std::fs::read_dir(&path).unwrap() {
                stack.push(entry.unwrap().path());
            }
        } else {
            found.insert(path.clone(), Some(std::fs::read(&path).unwrap()));
        }
    }
    found
}

/// Names in `dir` that look like a restore's temporary sibling.
fn restore_leftovers(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".restore-"))
        .collect()
}

fn restore(from: &Path, into: &Path) -> std::process::Output {
    run(&["restore", "--from", from.to_str().unwrap(), "--data", into.to_str().unwrap()])
}

fn verify(backup: &Path) -> std::process::Output {
    run(&["backup", "--verify", backup.to_str().unwrap()])
}

/// A data directory with a statement and two files, and a backup of it
/// taken while the server ran.
async fn site_with_backup() -> (Site, PathBuf) {
    let site = Site::new();
    let server = site.serve(&[]);
    let form = reqwest::multipart::Form::new()
        .text("role", "detained_self")
        .text("consent_store", "yes")
        .text("statement", "a statement to back up")
        .part("attachment", reqwest::multipart::Part::bytes(vec![7u8; 5000]).file_name("a.bin"))
        .part("attachment", reqwest::multipart::Part::bytes(vec![9u8; 700]).file_name("b.bin"));
    let page = http().post(format!("{}/submit", server.public)).multipart(form).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let backup = site.root.path().join("backup.tb");
    let data = site.data_arg().to_string();
    let out_path = backup.clone();
    let out =
        tokio::task::spawn_blocking(move || run(&["backup", "--data", &data, "--out", out_path.to_str().unwrap()]))
            .await
            .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let (status, _) = server.stop();
    assert!(status.success());
    (site, backup)
}

/// One entry of a backup file as the tests see it: where its header and
/// payload start, and what kind it is.
#[derive(Debug)]
struct Entry {
    number: usize,
    header: std::ops::Range<usize>,
    payload: std::ops::Range<usize>,
    kind: String,
}

fn entries(bytes: &[u8]) -> Vec<Entry> {
    let mut at = bytes.iter().position(|b| *b == b'\n').unwrap() + 1;
    let mut found = Vec::new();
    while at < bytes.len() {
        let end = at + bytes[at..].iter().position(|b| *b == b'\n').unwrap();
        let header: serde_json::Value = serde_json::from_slice(&bytes[at..end]).unwrap();
        let kind = header["kind"].as_str().unwrap().to_string();
        let len = header["bytes"].as_u64().unwrap_or(0) as usize;
        let payload = if kind == "end" { end + 1..end + 1 } else { end + 1..end + 1 + len };
        found.push(Entry { number: found.len() + 1, header: at..end, payload: payload.clone(), kind: kind.clone() });
        at = if kind == "end" { end + 1 } else { payload.end + 1 };
    }
    found
}

#[tokio::test]
async fn an_intact_backup_verifies_and_restores_into_a_private_directory() {
    let (site, backup) = site_with_backup().await;
    let out = verify(&backup);
    assert!(out.status.success(), "{}", stderr(&out));
    let said = stdout(&out);
    assert!(said.contains("backup intact") && said.contains("2 objects"), "{said}");

    let restored = site.root.path().join("restored");
    let out = restore(&backup, &restored);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(mode_of(&restored), 0o700);
    assert!(restore_leftovers(site.root.path()).is_empty());
    assert!(run(&["audit", "verify", "--data", restored.to_str().unwrap()]).status.success());
    let objects = |d: &Path| {
        snapshot(&d.join("objects"))
            .into_iter()
            .filter_map(|(p, b)| Some((p.strip_prefix(d).unwrap().to_path_buf(), b?)))
            .collect::<BTreeMap<_, _>>()
    };
    assert_eq!(objects(&restored), objects(&site.data), "every sealed object, byte for byte");
    assert_eq!(objects(&site.data).len(), 2);

    // An existing empty directory is replaced by the restored one.
    let empty = site.root.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let out = restore(&backup, &empty);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(testimony::storage::Store::open(&empty).is_ok());
}

#[tokio::test]
async fn restore_onto_a_non_empty_directory_is_refused_and_touches_nothing() {
    let (site, backup) = site_with_backup().await;
    let target = site.root.path().join("precious");
    std::fs::create_dir_all(target.join("sub")).unwrap();
    std::fs::write(target.join("notes.txt"), b"someone's only copy").unwrap();
    std::fs::write(target.join("sub").join("photo.jpg"), vec![1u8; 3000]).unwrap();
    let before = snapshot(&target);
    let line = assert_one_line_failure(&restore(&backup, &target));
    assert!(line.contains("not empty"), "{line}");
    assert_eq!(snapshot(&target), before, "every file is still there, unchanged");
    assert!(restore_leftovers(site.root.path()).is_empty());

    // Nor is a live data directory, stopped or not, ever emptied.
    let before = snapshot(&site.data);
    let line = assert_one_line_failure(&restore(&backup, &site.data));
    assert!(line.contains("not empty"), "{line}");
    assert_eq!(snapshot(&site.data), before);
}

#[tokio::test]
async fn restore_onto_a_directory_a_running_server_holds_is_refused_and_the_server_keeps_working() {
    let (site, backup) = site_with_backup().await;
    let server = site.serve(&[]);
    let data = site.data.clone();
    let from = backup.clone();
    let out = tokio::task::spawn_blocking(move || restore(&from, &data)).await.unwrap();
    let line = assert_one_line_failure(&out);
    assert!(line.contains("server"), "{line}");
    assert!(site.data.join("FORMAT").exists() && testimony::audit::exists(&site.data));
    assert!(restore_leftovers(site.root.path()).is_empty());

    // The server still serves and still takes statements.
    let client = http();
    assert_eq!(client.get(format!("{}/healthz", server.public)).send().await.unwrap().status(), 200);
    let form = reqwest::multipart::Form::new()
        .text("role", "detained_self")
        .text("consent_store", "yes")
        .text("statement", "after the refused restore");
    let page = client.post(format!("{}/submit", server.public)).multipart(form).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("id=\"receipt\""));
    let (status, _) = server.stop();
    assert!(status.success());
    assert!(run(&["audit", "verify", "--data", site.data_arg()]).status.success());
    let store = testimony::storage::Store::open(&site.data).unwrap();
    let mut statements = 0;
    store
        .for_each_record(|tree, _, _| {
            statements += usize::from(tree == "submissions");
            Ok(())
        })
        .unwrap();
    assert_eq!(statements, 2, "the statement taken after the refused restore is there");
}

#[tokio::test]
async fn any_flipped_byte_is_refused_naming_where_it_is() {
    let (site, backup) = site_with_backup().await;
    let bytes = std::fs::read(&backup).unwrap();
    let all = entries(&bytes);
    for kind in ["record", "object", "audit", "end"] {
        assert!(all.iter().any(|e| e.kind == kind), "the backup has a {kind} entry");
    }
    // In every kind of entry: the header's start, middle and end, its
    // newline, and the payload's first, middle and last byte and newline.
    let mut positions: Vec<(usize, &Entry)> = Vec::new();
    let records: Vec<&Entry> = all.iter().filter(|e| e.kind == "record").collect();
    let chosen = [records[0], records[records.len() / 2], *records.last().unwrap()]
        .into_iter()
        .chain(all.iter().filter(|e| e.kind != "record"));
    for entry in chosen {
        let h = &entry.header;
        positions.extend([h.start, h.start + (h.end - h.start) / 2, h.end - 2, h.end].map(|p| (p, entry)));
        let p = &entry.payload;
        if !p.is_empty() {
            positions.extend([p.start, p.start + p.len() / 2, p.end - 1, p.end].map(|at| (at, entry)));
        }
    }
    let target = site.root.path().join("restored");
    for (at, entry) in positions {
        let mut damaged = bytes.clone();
        damaged[at] ^= 0x01;
        let file = site.file("damaged.tb", &damaged);
        let expect = format!("entry {}", entry.number);
        let line = assert_one_line_failure(&restore(&file, &target));
        assert!(
            line.contains(&expect) && line.contains("byte offset"),
            "byte {at} in {} entry {}: {line}",
            entry.kind,
            entry.number
        );
        assert!(!target.exists(), "a failed restore leaves no target directory");
        assert!(restore_leftovers(site.root.path()).is_empty(), "and no temporary directory");
        let out = verify(&file);
        let line = assert_one_line_failure(&out);
        assert!(line.contains(&expect), "verify, byte {at}: {line}");
    }
    // The first line too.
    let mut damaged = bytes.clone();
    damaged[3] ^= 0x01;
    let file = site.file("damaged.tb", &damaged);
    assert_one_line_failure(&restore(&file, &target));
    assert_one_line_failure(&verify(&file));
    assert!(!target.exists());
}

#[tokio::test]
async fn a_truncated_backup_is_refused_and_leaves_nothing() {
    let (site, backup) = site_with_backup().await;
    let bytes = std::fs::read(&backup).unwrap();
    let target = site.root.path().join("restored");
    let empty = site.root.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    for keep in [10, bytes.len() / 3, bytes.len() / 2, bytes.len() - 30, bytes.len() - 1] {
        let file = site.file("cut.tb", &bytes[..keep]);
        let line = assert_one_line_failure(&restore(&file, &target));
        assert!(line.contains("damaged") || line.contains("cut short"), "cut at {keep}: {line}");
        assert!(!target.exists());
        // An empty directory given as the target is left as it was.
        assert_one_line_failure(&restore(&file, &empty));
        assert!(empty.is_dir() && std::fs::read_dir(&empty).unwrap().next().is_none());
        assert!(restore_leftovers(site.root.path()).is_empty());
        assert!(!verify(&file).status.success());
    }
    // Bytes after the end are refused too.
    let mut longer = bytes.clone();
    longer.extend_from_slice(b"{\"kind\":\"end\"}\n");
    let file = site.file("longer.tb", &longer);
    assert_one_line_failure(&restore(&file, &target));
    assert!(!verify(&file).status.success());
}

#[tokio::test]
async fn a_backup_of_a_tampered_audit_log_fails_its_chain_check() {
    let site = Site::new();
    let path = testimony::audit::log_path(&site.data);
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, text.replacen("account_created", "account_creatEd", 1)).unwrap();
    let backup = site.root.path().join("b.tb");
    assert!(run(&["backup", "--data", site.data_arg(), "--out", backup.to_str().unwrap()]).status.success());
    let line = assert_one_line_failure(&verify(&backup));
    assert!(line.contains("audit"), "{line}");
    let target = site.root.path().join("restored");
    let line = assert_one_line_failure(&restore(&backup, &target));
    assert!(line.contains("audit"), "{line}");
    assert!(!target.exists());
    assert!(restore_leftovers(site.root.path()).is_empty());
}

#[test]
fn a_version_1_backup_is_refused_with_a_clear_message() {
    let site = Site::new();
    let old = site.file("old.tb", b"testimony-backup 1\n{\"kind\":\"end\",\"records\":0,\"objects\":0}\n");
    let target = site.root.path().join("restored");
    let line = assert_one_line_failure(&restore(&old, &target));
    assert!(line.contains("version 1"), "{line}");
    assert!(!target.exists());
    let line = assert_one_line_failure(&verify(&old));
    assert!(line.contains("version 1"), "{line}");
    let line = assert_one_line_failure(&verify(&site.file("x.tb", b"hello\n")));
    assert!(line.contains("not a testimony backup"), "{line}");
}
