//! Retention: statements in final states are deleted whole once their
//! rule's days have passed, each with its tombstone in the audit log, and
//! nothing else is: not a statement on hold, not one still being read, not
//! one whose rule has not run out. Run the way the server does (the daily
//! sweep's own function) and by hand (`testimony purge`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::*;
use testimony::clock::{Clock, ManualClock, Timestamp};
use testimony::config::IntakeLimits;
use testimony::retention::Retention;
use testimony::storage::StatementRecords;

const T0: u64 = 1_795_950_000;
const DAY: Duration = Duration::from_secs(86_400);

/// Files a statement (with a file) through the public form; returns its
/// receipt.
async fn submit(server: &InProcess, text: &str) -> String {
    let form = reqwest::multipart::Form::new()
        .text("role", "detained_self")
        .text("consent_store", "yes")
        .text("statement", text.to_string())
        .part("attachment", reqwest::multipart::Part::bytes(format!("file of {text}").into_bytes()).file_name("a.txt"));
    let html =
        http().post(format!("{}/submit", server.public)).multipart(form).send().await.unwrap().text().await.unwrap();
    receipt_in(&html)
}

/// The id of the statement whose narrative is `text`, read as a reviewer.
async fn id_of(reviewer: &Reviewer, text: &str) -> String {
    let list = reviewer.get(&format!("/?q={}", text.replace(' ', "+"))).await.text().await.unwrap();
    let at = list.find("href=\"/submissions/").expect("listed") + 19;
    list[at..at + 32].to_string()
}

async fn followup_finds(server: &InProcess, receipt: &str) -> bool {
    let page = http().post(format!("{}/followup", server.public)).form(&[("receipt", receipt)]).send().await.unwrap();
    page.text().await.unwrap().contains("Where your statement stands")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_daily_purge_deletes_what_is_due_and_only_that_with_tombstones() {
    let site = Site::new();
    let secret = secret_of(&site.init_stdout);
    let clock = Arc::new(ManualClock::at(Timestamp(T0)));
    let mut server = InProcess::start(&site, clock.clone(), IntakeLimits::default()).await;
    server.state.retention = Arc::new(Retention::new([("out_of_scope".into(), 30), ("closed".into(), 60)]).unwrap());

    let texts = ["Not about us at all", "Held while we check", "Closed after referral", "Still being read"];
    let mut receipts = Vec::new();
    for text in texts {
        receipts.push(submit(&server, text).await);
    }
    let reviewer = Reviewer::sign_in(&server, &site, "ada", &secret, &clock).await;
    let mut ids = Vec::new();
    for text in texts {
        ids.push(id_of(&reviewer, text).await);
    }
    for (id, state) in [(&ids[0], "out_of_scope"), (&ids[1], "on_hold"), (&ids[2], "closed")] {
        let r = reviewer
            .post(&format!("/submissions/{id}/state"), &[("state", state), ("reason", "decided at the weekly triage")])
            .await;
        assert!(r.status().is_success() || r.status().is_redirection(), "{state}: {}", r.status());
    }
    let files_before = object_files(&site.data).len();
    // The unlock wrote the desk's sealed index snapshot (on its own thread).
    let snapshot_count = || std::fs::read_dir(site.data.join("index")).map(|d| d.count()).unwrap_or(0);
    for _ in 0..100 {
        if snapshot_count() == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(snapshot_count(), 1, "a snapshot to discard");

    // Day 29: nothing is due yet.
    clock.advance(29 * DAY);
    assert_eq!(server.state.purge_if_a_new_day().unwrap(), 0);
    // Day 31: the out-of-scope statement goes; once a day only.
    clock.advance(2 * DAY);
    let today = clock.today();
    let due = testimony::retention::due(&server.state.store, &server.state.retention, today).unwrap();
    assert_eq!(due.iter().map(|d| d.id.as_str()).collect::<Vec<_>>(), [ids[0].as_str()], "the dry run names it");
    assert_eq!(server.state.purge_if_a_new_day().unwrap(), 1);
    assert_eq!(server.state.purge_if_a_new_day().unwrap(), 0, "not twice on one day");

    // Gone whole: record, receipt, file; the others are untouched.
    assert!(server.state.store.submission(&ids[0]).unwrap().is_none());
    assert!(!followup_finds(&server, &receipts[0]).await, "its receipt finds nothing");
    for (i, receipt) in receipts.iter().enumerate().skip(1) {
        assert!(followup_finds(&server, receipt).await, "statement {i} survives");
    }
    let files_after = object_files(&site.data).len();
    assert_eq!(files_before - files_after, 1, "its file is deleted");
    // No sealed index snapshot still holds its words (the next one is
    // written without them).
    assert_eq!(snapshot_count(), 0, "the desk's snapshot was discarded");
    // The reviewers' list no longer shows it (the index follows). A month
    // on, the reviewer signs in again.
    let reviewer = Reviewer::sign_in(&server, &site, "ada", &secret, &clock).await;
    let list = reviewer.get("/").await.text().await.unwrap();
    assert!(!list.contains(&ids[0]) && list.contains(&ids[1]) && list.contains(&ids[3]));

    // The tombstone: id, day, state and rule, no content.
    let log = std::fs::read_to_string(testimony::audit::log_path(&site.data)).unwrap();
    let tombstone = log.lines().find(|l| l.contains("retention_purged")).expect("a tombstone");
    assert!(tombstone.contains(&ids[0]) && tombstone.contains("out_of_scope") && tombstone.contains("\"days\":30"));
    assert!(tombstone.contains(&format!("\"time\":\"{today}\"")), "by day: {tombstone}");
    assert!(!log.contains("Not about us"), "never content");

    // A statement changed after it was judged due (a reviewer reopened
    // it) is not deleted: only the version judged is.
    let current = server.state.store.submission(&ids[3]).unwrap().unwrap().version;
    assert!(matches!(
        server.state.store.delete_submission(&ids[3], current + 1),
        Err(testimony::storage::StorageError::Changed)
    ));
    assert!(server.state.store.submission(&ids[3]).unwrap().is_some());

    // Years later the closed one goes too; the one on hold and the one
    // still being read never do.
    clock.advance(3000 * DAY);
    assert_eq!(server.state.purge_if_a_new_day().unwrap(), 1);
    assert!(server.state.store.submission(&ids[2]).unwrap().is_none());
    assert!(server.state.store.submission(&ids[1]).unwrap().is_some(), "on hold: never deleted by a rule");
    assert!(server.state.store.submission(&ids[3]).unwrap().is_some(), "still received: no rule");
    server.stop().await;
    assert!(run(&["audit", "verify", "--data", site.data_arg()]).status.success());
}

#[test]
fn purge_by_hand_lists_with_dry_run_and_refuses_rules_for_states_never_deleted() {
    let site = Site::new();
    let config = site.file("rules.toml", b"[retention]\nclosed = 30\n");
    // Nothing in final states yet: a dry run lists nothing.
    let out = run(&["purge", "--data", site.data_arg(), "--config", config.to_str().unwrap(), "--dry-run"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("0 statement(s) due; nothing was changed"), "{}", stdout(&out));
    // A rule for a state that is never deleted is refused, naming it.
    let bad = site.file("bad.toml", b"[retention]\non_hold = 30\n");
    let line = assert_one_line_failure(&run(&[
        "purge",
        "--data",
        site.data_arg(),
        "--config",
        bad.to_str().unwrap(),
        "--apply",
    ]));
    assert!(line.contains("on_hold") && line.contains("never deleted"), "{line}");
    // One of --dry-run and --apply is required.
    assert!(!run(&["purge", "--data", site.data_arg(), "--config", config.to_str().unwrap()]).status.success());
    // While the server runs, it says the server does it.
    let server = site.serve(&[]);
    let line = assert_one_line_failure(&run(&[
        "purge",
        "--data",
        site.data_arg(),
        "--config",
        config.to_str().unwrap(),
        "--apply",
    ]));
    assert!(line.contains("the server is running"), "{line}");
    drop(server);
}
