//! A full disk, on a real (small) file system: the witness is turned away
//! with a clear 503, nothing acknowledged is lost, and once space is freed
//! everything works again without a restart.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::*;
use reqwest::multipart::Form;
use testimony::auth::totp::TotpSecret;
use testimony::clock::{Clock, ManualClock, Timestamp};
use testimony::config::IntakeLimits;
use testimony::storage::StatementRecords;

const T0: u64 = 1_795_950_000;

async fn submit(server: &InProcess, text: &str) -> (reqwest::StatusCode, String) {
    let form =
        Form::new().text("role", "detained_self").text("consent_store", "yes").text("statement", text.to_string());
    let r = http().post(format!("{}/submit?lang=en", server.public)).multipart(form).send().await.unwrap();
    (r.status(), r.text().await.unwrap())
}

async fn sign_in(server: &InProcess, secret: &str, clock: &ManualClock) -> reqwest::StatusCode {
    clock.advance(Duration::from_secs(30));
    let code = TotpSecret::from_base32(secret).unwrap().code_at("ada", clock.now().0).unwrap();
    http()
        .post(format!("{}/login", server.review))
        .form(&[("username", "ada"), ("password", PASSWORD), ("totp", &code)])
        .send()
        .await
        .unwrap()
        .status()
}

#[tokio::test]
async fn after_the_disk_fills_and_space_is_freed_everything_works_again_without_a_restart() {
    let Some(disk) = SmallDisk::mount(64) else { return };
    let site = Site::in_dir(disk.path());
    let secret = secret_of(&site.init_stdout);
    let clock = Arc::new(ManualClock::at(Timestamp(T0)));
    // No intake reserve: only the store's own floor stands between the
    // record database and a full disk, as when something else fills it.
    let limits = IntakeLimits { min_free_disk_bytes: 0, ..IntakeLimits::default() };
    let server = InProcess::start(&site, clock.clone(), limits).await;
    let reviewer = Reviewer::sign_in(&server, &site, "ada", &secret, &clock).await;

    let (status, _) = submit(&server, "the first statement, before the disk filled").await;
    assert_eq!(status, 200);
    let first = server.state.store.submissions().next().unwrap().unwrap().id;

    let filler = disk.fill();
    for i in 0..10 {
        let long = format!("a statement while the disk is full, number {i}: {}", "words ".repeat(700));
        let (status, page) = submit(&server, &long).await;
        assert_eq!(status, 503, "a clear refusal, not a server error");
        assert!(page.contains("lang=\"en\""));
    }
    // The record store itself refuses before its database meets the full
    // disk (which would break it until a restart).
    let today = server.state.clock.today();
    assert!(matches!(server.state.store.count_unknown_sign_in(today), Err(testimony::storage::StorageError::DiskFull)));
    assert_eq!(sign_in(&server, &secret, &clock).await, 503, "nothing can be recorded");
    assert_eq!(reviewer.get("/").await.status(), 200, "a signed-in reviewer still reads the list");

    std::fs::remove_file(&filler).unwrap();
    let (status, _) = submit(&server, "a statement after space was freed").await;
    assert_eq!(status, 200, "submissions work again by themselves");
    assert_eq!(sign_in(&server, &secret, &clock).await, 303, "and sign-ins");
    assert_eq!(reviewer.get(&format!("/submissions/{first}")).await.status(), 200, "and audited reads");
    assert_eq!(server.state.store.submissions().count(), 2, "nothing acknowledged was lost, nothing refused was kept");
    server.stop().await;
}

#[tokio::test]
async fn a_sign_in_that_cannot_be_recorded_is_never_audited_as_succeeded() {
    let Some(disk) = SmallDisk::mount(64) else { return };
    let site = Site::in_dir(disk.path());
    let secret = secret_of(&site.init_stdout);
    let clock = Arc::new(ManualClock::at(Timestamp(T0)));
    let server = InProcess::start(&site, clock.clone(), IntakeLimits::default()).await;
    // Between the audit log's floor (8 MiB) and the records' (16 MiB): the
    // log could take the entry, the account record cannot be written.
    let filler = disk.fill_leaving(12 << 20);
    let log = site.data.join("audit").join("log");
    let before = std::fs::read_to_string(&log).unwrap();
    assert_eq!(sign_in(&server, &secret, &clock).await, 503);
    let after = std::fs::read_to_string(&log).unwrap();
    assert!(!after[before.len()..].contains("sign_in_succeeded"), "{}", &after[before.len()..]);
    std::fs::remove_file(&filler).unwrap();
    assert_eq!(sign_in(&server, &secret, &clock).await, 303);
    assert!(std::fs::read_to_string(&log).unwrap().contains("sign_in_succeeded"));
    server.stop().await;
}
