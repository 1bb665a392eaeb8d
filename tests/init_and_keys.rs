//! The key hierarchy and `init`/`user add`, through the real binary.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::Write;
use std::process::Command;

use common::*;
use testimony::crypto::{self, Password, PersonalKeys, SealingWriter};
use testimony::custody::{self, CustodyError};
use testimony::storage::{AccountName, Holder, Store};

#[test]
fn init_creates_a_private_data_dir_and_a_0600_recovery_key() {
    let site = Site::new();
    assert_eq!(mode_of(&site.data), 0o700);
    assert_eq!(mode_of(&site.recovery_key), 0o600);
    let key = std::fs::read_to_string(&site.recovery_key).unwrap();
    assert!(key.contains("AGE-SECRET-KEY-1"));
    assert!(files_containing(&site.data, b"AGE-SECRET-KEY-1").is_empty());
    assert!(files_containing(&site.data, b"age-secret-key-1").is_empty());
    assert!(files_containing(&site.data, PASSWORD.as_bytes()).is_empty());
    assert!(site.init_stdout.lines().any(|l| l.starts_with("totp-secret: ")));
    assert!(site.init_stdout.contains("otpauth://totp/testimony:ada?secret="));
    // The TOTP secret is sealed, so it is not in the data directory either.
    let secret = site.init_stdout.lines().find_map(|l| l.strip_prefix("totp-secret: ")).unwrap();
    assert!(files_containing(&site.data, secret.as_bytes()).is_empty());
}

#[test]
fn init_refuses_a_non_empty_directory_and_leaves_it_alone() {
    let site = Site::new();
    let before = std::fs::read(site.data.join("FORMAT")).unwrap();
    let other_key = site.root.path().join("other.key");
    let out = init(&site.data, "eve", &site.password_file, &other_key);
    let line = assert_one_line_failure(&out);
    assert!(line.contains("not empty"), "{line}");
    assert!(!other_key.exists());
    assert_eq!(std::fs::read(site.data.join("FORMAT")).unwrap(), before);
}

#[test]
fn init_accepts_an_existing_empty_directory() {
    let root = tempfile::tempdir().unwrap();
    let data = root.path().join("data");
    std::fs::create_dir(&data).unwrap();
    let pw = root.path().join("pw");
    std::fs::write(&pw, PASSWORD).unwrap();
    let key = root.path().join("r.key");
    let out = init(&data, "ada", &pw, &key);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(mode_of(&data), 0o700);
}

#[test]
fn init_bad_input_gets_one_line_and_creates_nothing() {
    let root = tempfile::tempdir().unwrap();
    let data = root.path().join("data");
    let key = root.path().join("r.key");
    let empty = root.path().join("empty");
    std::fs::write(&empty, "\n").unwrap();
    let short = root.path().join("short");
    std::fs::write(&short, "pw-canary\n").unwrap();
    let good = root.path().join("good");
    std::fs::write(&good, PASSWORD).unwrap();
    let missing = root.path().join("missing");
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec!["--password-file", missing.to_str().unwrap(), "--recovery-key-out", key.to_str().unwrap()],
            "cannot read the password file",
        ),
        (vec!["--password-file", empty.to_str().unwrap(), "--recovery-key-out", key.to_str().unwrap()], "empty"),
        (vec!["--password-file", short.to_str().unwrap(), "--recovery-key-out", key.to_str().unwrap()], "too short"),
        (
            vec!["--password-file", good.to_str().unwrap(), "--recovery-key-out", "/nonexistent-dir/r.key"],
            "does not exist",
        ),
    ];
    for (extra, expected) in cases {
        let mut args = vec!["init", "--data", data.to_str().unwrap(), "--admin", "ada"];
        args.extend(extra);
        let line = assert_one_line_failure(&run(&args));
        assert!(line.contains(expected), "{line} should say {expected}");
        assert!(!line.contains("pw-canary"), "the password leaked into: {line}");
        assert!(!data.exists(), "a failed init left {}", data.display());
        assert!(!key.exists());
    }
    // The recovery key must never be written inside the data directory.
    std::fs::create_dir(&data).unwrap();
    let inside = data.join("recovery.key");
    let out = init(&data, "ada", &good, &inside);
    let line = assert_one_line_failure(&out);
    assert!(line.contains("inside the data directory"), "{line}");
    assert!(std::fs::read_dir(&data).unwrap().next().is_none());
}

fn account_keys(store: &Store, name: &str) -> PersonalKeys {
    let record = store.account(&name.parse::<AccountName>().unwrap()).unwrap().unwrap();
    PersonalKeys::derive(&Password::new(PASSWORD.into()).unwrap(), &record.salt, record.kdf).unwrap()
}

#[test]
fn a_sealed_object_opens_with_stock_age_and_desk_members_only() {
    let site = Site::new();
    assert!(site.add_user("bo", "reviewer", true).status.success());
    assert!(site.add_user("cy", "reviewer", false).status.success());

    let store = Store::open(&site.data).unwrap();
    let server = store.server().unwrap();
    let desk = store.desk(&server.default_desk).unwrap().unwrap();
    let generation = desk.current_key().unwrap().generation;
    let desk_recipient = desk.current_key().unwrap().recipient.clone();

    // Seal an object to the desk and the recovery key, as intake will.
    let mut writer =
        SealingWriter::new(store.objects().create().unwrap(), &[&desk_recipient, &server.recovery_recipient]).unwrap();
    writer.write_all(b"CANARY-STATEMENT what I saw in the camp").unwrap();
    let id = store.objects().commit(writer.finish().unwrap()).unwrap();
    let object_path = site.data.join("objects").join(&id.0[..2]).join(format!("{}.age", id.0));
    assert!(object_path.is_file());
    assert!(files_containing(&site.data, b"CANARY-STATEMENT").is_empty());

    // The stock age tool opens it with the recovery key.
    let out = Command::new("age")
        .args(["-d", "-i", site.recovery_key.to_str().unwrap(), object_path.to_str().unwrap()])
        .output()
        .expect("the stock `age` tool must be installed (.ci/run installs it)");
    assert!(out.status.success(), "age -d failed: {}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(out.stdout, b"CANARY-STATEMENT what I saw in the camp");

    let sealed = std::fs::read(&object_path).unwrap();
    // Members (the admin from init, bo granted with the recovery key) open it
    // through their password-derived keys.
    for member in ["ada", "bo"] {
        let keys = account_keys(&store, member);
        let holder = Holder::Account(member.parse().unwrap());
        let desk_key = custody::unwrap(&store, &desk.id, generation, &holder, &keys.identity).unwrap();
        assert_eq!(crypto::open(&sealed, &desk_key).unwrap().as_bytes(), b"CANARY-STATEMENT what I saw in the camp");
    }
    // A non-member has no wrapped desk key, and their own key opens nothing.
    let cy = account_keys(&store, "cy");
    let holder = Holder::Account("cy".parse().unwrap());
    assert!(matches!(
        custody::unwrap(&store, &desk.id, generation, &holder, &cy.identity),
        Err(CustodyError::NotAHolder)
    ));
    assert!(crypto::open(&sealed, &cy.identity).is_err());
    // Nor does a member's wrap open with someone else's key.
    let bo_holder = Holder::Account("bo".parse().unwrap());
    assert!(matches!(
        custody::unwrap(&store, &desk.id, generation, &bo_holder, &cy.identity),
        Err(CustodyError::WrongKey)
    ));
    // A wrong password derives a key that opens nothing.
    let record = store.account(&"bo".parse().unwrap()).unwrap().unwrap();
    let wrong =
        PersonalKeys::derive(&Password::new("not the right password".into()).unwrap(), &record.salt, record.kdf)
            .unwrap();
    assert!(!wrong.verifier.matches(&record.verifier));
    assert!(custody::unwrap(&store, &desk.id, generation, &bo_holder, &wrong.identity).is_err());
}

#[test]
fn the_wrapped_desk_key_opens_with_stock_age_too() {
    // The recovery wrap is a standard age file: custodians can recover a
    // desk key with nothing but `age` and the recovery key.
    let site = Site::new();
    let store = Store::open(&site.data).unwrap();
    let server = store.server().unwrap();
    let wrap = store.desk_key_wrap(&server.default_desk, 0, &Holder::Recovery).unwrap().unwrap();
    let wrap_file = site.file("desk.age", wrap.as_bytes());
    let out = Command::new("age")
        .args(["-d", "-i", site.recovery_key.to_str().unwrap(), wrap_file.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let desk_key = testimony::crypto::DeskIdentity::from_secret_text(&text).unwrap();
    let desk = store.desk(&server.default_desk).unwrap().unwrap();
    assert_eq!(desk_key.recipient(), desk.current_key().unwrap().recipient);
}

#[test]
fn user_add_with_a_wrong_recovery_key_fails_and_stores_nothing() {
    let site = Site::new();
    let other = Site::new();
    let out = run(&[
        "user",
        "add",
        "--data",
        site.data_arg(),
        "--name",
        "bo",
        "--role",
        "reviewer",
        "--password-file",
        site.password_file.to_str().unwrap(),
        "--recovery-key",
        other.recovery_key.to_str().unwrap(),
    ]);
    let line = assert_one_line_failure(&out);
    assert!(line.contains("not this data directory's recovery key"), "{line}");
    let garbage = site.file("garbage.key", b"# nothing\nnot a key\n");
    let out = run(&[
        "user",
        "add",
        "--data",
        site.data_arg(),
        "--name",
        "bo",
        "--role",
        "reviewer",
        "--password-file",
        site.password_file.to_str().unwrap(),
        "--recovery-key",
        garbage.to_str().unwrap(),
    ]);
    let line = assert_one_line_failure(&out);
    assert!(line.contains("does not hold an age identity"), "{line}");
    let store = Store::open(&site.data).unwrap();
    assert!(store.account(&"bo".parse().unwrap()).unwrap().is_none());
}

#[test]
fn user_add_prints_a_totp_secret_and_refuses_duplicates_and_bad_roles() {
    let site = Site::new();
    let out = site.add_user("bo", "investigator", false);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).lines().any(|l| l.starts_with("totp-secret: ") && l.len() > 30));
    let line = assert_one_line_failure(&site.add_user("bo", "reviewer", false));
    assert!(line.contains("already exists"), "{line}");
    let out = site.add_user("cy", "emperor", false);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("admin, reviewer, investigator"));
    let out = site.add_user("Bad Name", "reviewer", false);
    assert!(!out.status.success());
}

#[test]
fn a_future_format_is_refused_with_a_clear_message() {
    let site = Site::new();
    std::fs::write(site.data.join("FORMAT"), "testimony data format 999\n").unwrap();
    let line = assert_one_line_failure(&site.add_user("bo", "reviewer", false));
    assert!(line.contains("newer testimony") && line.contains("999"), "{line}");
    let out = Command::new(env!("CARGO_BIN_EXE_testimony"))
        .args(["serve", "--data", site.data_arg(), "--listen", "127.0.0.1:0", "--review-listen", "127.0.0.1:0"])
        .output()
        .unwrap();
    let line = assert_one_line_failure(&out);
    assert!(line.contains("upgrade testimony"), "{line}");
}

#[test]
fn foreign_and_damaged_directories_are_refused() {
    let root = tempfile::tempdir().unwrap();
    let foreign = root.path().join("photos");
    std::fs::create_dir(&foreign).unwrap();
    std::fs::write(foreign.join("cat.jpg"), b"meow").unwrap();
    let pw = root.path().join("pw");
    std::fs::write(&pw, PASSWORD).unwrap();
    let out = run(&[
        "user",
        "add",
        "--data",
        foreign.to_str().unwrap(),
        "--name",
        "bo",
        "--role",
        "reviewer",
        "--password-file",
        pw.to_str().unwrap(),
    ]);
    let line = assert_one_line_failure(&out);
    assert!(line.contains("not a testimony data directory"), "{line}");
    assert_eq!(std::fs::read_dir(&foreign).unwrap().count(), 1, "nothing may be added to a foreign directory");

    let site = Site::new();
    std::fs::write(site.data.join("FORMAT"), "hello\n").unwrap();
    let line = assert_one_line_failure(&site.add_user("bo", "reviewer", false));
    assert!(line.contains("damaged"), "{line}");

    let site = Site::new();
    std::fs::remove_dir_all(site.data.join("db")).unwrap();
    let line = assert_one_line_failure(&site.add_user("bo", "reviewer", false));
    assert!(line.contains("damaged"), "{line}");
}

#[test]
fn weak_passwords_are_refused_from_the_command_line_too() {
    let root = tempfile::tempdir().unwrap();
    let weak = root.path().join("weak");
    std::fs::write(&weak, "password1234\n").unwrap();
    let data = root.path().join("data");
    let key = root.path().join("r.key");
    let out = init(&data, "ada", &weak, &key);
    let line = assert_one_line_failure(&out);
    assert!(line.contains("too easy to guess"), "{line}");
    assert!(!line.contains("password1234"));
    assert!(!data.exists());
}
