//! `serve` checks the data directory before it opens it, and refuses,
//! naming the fix, what would put statements at risk or out of order.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::os::unix::fs::PermissionsExt;
use std::sync::Arc;

use common::*;
use testimony::audit::{AuditError, AuditLog};
use testimony::clock::{ManualClock, Timestamp};
use testimony::commands::self_check::before_serving;
use testimony::crypto::Password;
use testimony::storage::Store;

fn serve_once(site: &Site) -> std::process::Output {
    run(&["serve", "--data", site.data_arg(), "--listen", "127.0.0.1:0", "--review-listen", "127.0.0.1:0"])
}

#[test]
fn a_file_others_can_read_is_refused_with_the_fix() {
    let site = Site::new();
    let format = site.data.join("FORMAT");
    std::fs::set_permissions(&format, std::fs::Permissions::from_mode(0o644)).unwrap();
    let line = assert_one_line_failure(&serve_once(&site));
    assert!(line.contains("FORMAT") && line.contains(&format!("chmod -R go-rwx {}", site.data_arg())), "{line}");

    // Fixed as it says, the server starts.
    std::fs::set_permissions(&format, std::fs::Permissions::from_mode(0o600)).unwrap();
    let server = site.serve(&[]);
    let (status, _) = server.stop();
    assert!(status.success());
}

#[test]
fn a_data_directory_others_can_enter_is_refused() {
    let site = Site::new();
    std::fs::set_permissions(&site.data, std::fs::Permissions::from_mode(0o755)).unwrap();
    let line = assert_one_line_failure(&serve_once(&site));
    assert!(line.contains("other users") && line.contains("go-rwx"), "{line}");
}

#[test]
fn the_recovery_key_inside_the_data_directory_is_refused_and_never_printed() {
    let site = Site::new();
    let inside = site.data.join("recovery-copy.txt");
    std::fs::copy(&site.recovery_key, &inside).unwrap();
    std::fs::set_permissions(&inside, std::fs::Permissions::from_mode(0o600)).unwrap();
    let out = serve_once(&site);
    let line = assert_one_line_failure(&out);
    assert!(line.contains("recovery-copy.txt") && line.contains("offline"), "{line}");
    let secret = std::fs::read_to_string(&site.recovery_key).unwrap();
    let secret = secret.lines().find(|l| l.starts_with("AGE-SECRET-KEY-")).unwrap();
    assert!(!stderr(&out).contains(secret) && !stdout(&out).contains(secret), "the key is never printed");
}

#[test]
fn both_problems_are_reported_at_once() {
    let site = Site::new();
    std::fs::copy(&site.recovery_key, site.data.join("k")).unwrap();
    std::fs::set_permissions(site.data.join("k"), std::fs::Permissions::from_mode(0o644)).unwrap();
    let line = assert_one_line_failure(&serve_once(&site));
    assert!(line.contains("(1)") && line.contains("(2)"), "{line}");
}

#[test]
fn a_newer_format_is_refused_with_the_fix() {
    let site = Site::new();
    std::fs::write(site.data.join("FORMAT"), "testimony data format 99\n").unwrap();
    let line = assert_one_line_failure(&serve_once(&site));
    assert!(line.contains("format 99") && line.contains("upgrade testimony"), "{line}");
}

#[test]
fn a_clock_behind_the_last_audit_record_is_refused_and_nothing_is_changed() {
    const T0: u64 = 1_795_950_000;
    let root = tempfile::tempdir().unwrap();
    let data = root.path().join("data");
    let password = Password::new(PASSWORD.into()).unwrap();
    testimony::commands::initialize(
        &data,
        &"ada".parse().unwrap(),
        &password,
        &root.path().join("recovery.key"),
        Arc::new(ManualClock::at(Timestamp(T0))),
    )
    .unwrap();
    // (`testimony init` makes everything private through its umask; this
    // test process has the usual one.)
    assert!(std::process::Command::new("chmod").args(["-R", "go-rwx"]).arg(&data).status().unwrap().success());
    let log_file = testimony::audit::log_path(&data);
    let before = std::fs::read(&log_file).unwrap();

    let refused = before_serving(&data, Timestamp(T0 - 3600)).unwrap_err();
    assert!(
        refused.contains("before the audit log's last record") && refused.contains("set the clock right"),
        "{refused}"
    );
    assert_eq!(std::fs::read(&log_file).unwrap(), before, "nothing written");
    assert!(matches!(testimony::audit::check_clock(&data, Timestamp(T0 - 3600)), Err(AuditError::ClockBehind { .. })));

    // A minute behind (an NTP step at a restart) is within the slack, and
    // the server opens its log.
    before_serving(&data, Timestamp(T0 - 60)).unwrap();
    let store = Store::open(&data).unwrap();
    AuditLog::open(&store, Arc::new(ManualClock::at(Timestamp(T0 - 60)))).unwrap();
}
