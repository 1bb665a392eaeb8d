//! The case layer: unit-tested without HTTP on an in-memory clock, and
//! through real sockets for what only the whole server shows: reviewers
//! already signed in see what is filed afterwards, by every path; every
//! content route fails closed when the audit log cannot be written; and a
//! desk's index built while statements change ends with their newest
//! versions.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::*;
use reqwest::StatusCode;
use reqwest::multipart::{Form, Part};
use serde_json::{Map, json};
use testimony::audit::AuditLog;
use testimony::case::documents::{ConsentRecord, Scope};
use testimony::case::{CaseError, Cases, Change, Intake, NewStatement, Reader, WorkflowState};
use testimony::clock::{ManualClock, Timestamp};
use testimony::config::IntakeLimits;
use testimony::storage::{Holder, StatementRecords, Store};

const T0: u64 = 1_795_950_000;

// --- the case layer on its own ----------------------------------------------

struct Desk {
    _site: Site,
    cases: Cases,
    store: Arc<Store>,
    reader: Reader,
    clock: Arc<ManualClock>,
}

fn desk() -> Desk {
    let site = Site::new();
    let clock = Arc::new(ManualClock::at(Timestamp(T0)));
    let store = Store::open(&site.data).unwrap();
    let audit = AuditLog::open(&store, clock.clone()).unwrap();
    let recovery = testimony::crypto::read_identity_file(&site.recovery_key).unwrap();
    let desk = store.server().unwrap().default_desk;
    let key = testimony::custody::unwrap(&store, &desk, 0, &Holder::Recovery, &recovery).unwrap();
    let reader = Reader::new("ada".parse().unwrap(), [(desk, vec![(0, Arc::new(key))])].into());
    let store = Arc::new(store);
    let cases = Cases::new(store.clone(), Arc::new(audit), clock.clone());
    Desk { _site: site, cases, store, reader, clock }
}

fn consent(partners: &str) -> Vec<ConsentRecord> {
    let record = |scope, recipient: &str, level: &str| ConsentRecord {
        scope,
        recipient: recipient.into(),
        level: level.into(),
        granted_at: "2026-11-29".into(),
        text_version: "consent-en-2026-11".into(),
        revoked_at: None,
    };
    vec![record(Scope::StoreAndReview, "organization", "yes"), record(Scope::Share, "partners", partners)]
}

fn file(d: &Desk, text: &str, partners: &str) -> String {
    let mut fields = Map::new();
    fields.insert("role".into(), json!(["detained_self"]));
    fields.insert("statement".into(), json!(text));
    let statement = NewStatement {
        fields,
        identity_fields: Map::new(),
        consent: consent(partners),
        files: vec![],
        form_language: "en",
    };
    let target = d.cases.intake_target().unwrap();
    d.cases.file(target, statement, Intake::Web).unwrap().id
}

fn audit_log(d: &Desk) -> String {
    std::fs::read_to_string(testimony::audit::log_path(d.store.dir())).unwrap()
}

#[test]
fn a_statement_is_opened_only_with_its_desk_key_and_viewed_only_after_its_audit_entry() {
    let d = desk();
    let id = file(&d, "CANARY-VIEW", "no");
    let stranger = Reader::new("eve".parse().unwrap(), Default::default());
    assert!(matches!(d.cases.authorize(stranger, &id), Err(CaseError::NotFound)));
    assert!(matches!(d.cases.authorize(d.reader.clone(), "not-an-id"), Err(CaseError::NotFound)));
    let statement = d.cases.authorize(d.reader.clone(), &id).unwrap();
    let permit = d.cases.permit_view(&statement).unwrap();
    assert!(audit_log(&d).contains("\"statement_viewed\""), "the entry is in the log before the content");
    let view = d.cases.view(&statement, &permit).unwrap();
    assert_eq!(view.statement.unwrap().text("statement"), "CANARY-VIEW");

    // A permit for one statement does not open another.
    let other = file(&d, "second", "no");
    let other = d.cases.authorize(d.reader.clone(), &other).unwrap();
    assert!(d.cases.view(&other, &permit).is_err());
}

#[test]
fn state_changes_follow_the_workflow_table_and_are_audited_first() {
    let d = desk();
    let id = file(&d, "text", "no");
    let statement = d.cases.authorize(d.reader.clone(), &id).unwrap();
    let to = |to, reason: &str| Change::State { to, reason: reason.into(), duplicate_of: None };
    assert!(matches!(d.cases.change(&statement, to(WorkflowState::OnHold, "")), Err(CaseError::Refused(_))));
    assert!(matches!(d.cases.change(&statement, to(WorkflowState::Withdrawn, "x")), Err(CaseError::Refused(_))));
    // Referring means passing on, and this witness did not consent to it.
    assert!(matches!(d.cases.change(&statement, to(WorkflowState::Referred, "")), Err(CaseError::OutsideConsent(_))));
    d.clock.advance(Duration::from_secs(60));
    assert!(d.cases.change(&statement, to(WorkflowState::OnHold, "legal advice pending")).unwrap());
    let record = d.store.submission(&id).unwrap().unwrap();
    assert_eq!(record.state, WorkflowState::OnHold);
    assert_eq!(record.version, 2, "filed at 1, one change since");
    let log = audit_log(&d);
    let entry = log.lines().find(|l| l.contains("\"state_changed\"")).expect("the change is audited");
    assert!(entry.contains("\"from\":\"received\"") && entry.contains("\"to\":\"on_hold\""), "{entry}");

    let shared = file(&d, "text", "anonymised");
    let shared = d.cases.authorize(d.reader.clone(), &shared).unwrap();
    assert!(d.cases.change(&shared, to(WorkflowState::Referred, "")).unwrap());
}

#[test]
fn two_reviewers_changing_one_statement_at_once_both_land() {
    let d = desk();
    let id = file(&d, "text", "no");
    std::thread::scope(|scope| {
        for who in 0..2 {
            let (cases, reader, id) = (&d.cases, d.reader.clone(), id.clone());
            scope.spawn(move || {
                for i in 0..5 {
                    let statement = cases.authorize(reader.clone(), &id).unwrap();
                    cases.change(&statement, Change::Note(format!("note {who}-{i}"))).unwrap();
                }
            });
        }
    });
    let statement = d.cases.authorize(d.reader.clone(), &id).unwrap();
    let permit = d.cases.permit_view(&statement).unwrap();
    let notes = d.cases.view(&statement, &permit).unwrap().triage.notes;
    assert_eq!(notes.len(), 10, "no note was lost to another");
    assert_eq!(d.store.submission(&id).unwrap().unwrap().version, 11);
}

#[test]
fn nothing_changes_a_withdrawn_statement() {
    let d = desk();
    let mut fields = Map::new();
    fields.insert("statement".into(), json!("CANARY-WITHDRAW"));
    let statement = NewStatement {
        fields,
        identity_fields: Map::new(),
        consent: consent("no"),
        files: vec![],
        form_language: "en",
    };
    let filed = d.cases.file(d.cases.intake_target().unwrap(), statement, Intake::Web).unwrap();
    let before = d.cases.authorize(d.reader.clone(), &filed.id).unwrap();
    let mut case = d.cases.open_by_receipt(&filed.receipt).unwrap().unwrap();
    d.cases.withdraw(&mut case).unwrap();
    // A reviewer who opened it before the withdrawal cannot undo it.
    let late = d.cases.change(&before, Change::Note("too late".into()));
    assert!(matches!(late, Err(CaseError::Conflict(_))), "{late:?}");
    let record = d.store.submission(&filed.id).unwrap().unwrap();
    assert_eq!(record.state, WorkflowState::Withdrawn);
    assert!(record.statement.is_none() && record.triage.is_none());
}

// --- through the server ------------------------------------------------------

async fn listed(reviewer: &Reviewer, query: &str, id: &str) -> bool {
    // Twenty looks, 50 ms apart: within a second.
    for _ in 0..20 {
        if reviewer.get(&format!("/?{query}")).await.text().await.unwrap().contains(&format!("/submissions/{id}")) {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

fn receipt_of(html: &str) -> String {
    let at = html.find("id=\"receipt\" dir=\"ltr\"><bdi>").expect("a receipt") + 28;
    html[at..at + 34].replace(' ', "")
}

fn newest(server: &InProcess, except: &[String]) -> String {
    server.state.store.submissions().map(|r| r.unwrap().id).find(|id| !except.contains(id)).unwrap()
}

#[tokio::test]
async fn a_signed_in_reviewer_sees_what_is_filed_afterwards_by_every_path() {
    let site = Site::new();
    let ada_secret = secret_of(&site.init_stdout);
    let clock = Arc::new(ManualClock::at(Timestamp(T0)));
    let server = InProcess::start(&site, clock.clone(), IntakeLimits::default()).await;
    let di_secret = secret_of(&stdout(&site.add_user_while_running(&server, "di", "investigator")));
    // Signed in first, with the desk's index built (empty).
    let ada = Reviewer::sign_in(&server, &site, "ada", &ada_secret, &clock).await;
    assert!(ada.get("/").await.text().await.unwrap().contains("No statements match"));

    // The public form.
    let form = Form::new().text("role", "detained_self").text("consent_store", "yes").text("statement", "by web");
    let html =
        http().post(format!("{}/submit", server.public)).multipart(form).send().await.unwrap().text().await.unwrap();
    let receipt = receipt_of(&html);
    let web = newest(&server, &[]);
    assert!(listed(&ada, "", &web).await, "a web statement appears within a second");

    // Assisted intake by an investigator.
    let di = Reviewer::sign_in(&server, &site, "di", &di_secret, &clock).await;
    let form = Form::new()
        .text("csrf", di.csrf().await)
        .text("role", "family_or_friend")
        .text("consent_store", "yes")
        .text("statement", "by interview");
    let r = di.client.post(format!("{}/assisted", di.base)).header("Cookie", &di.cookie).multipart(form).send().await;
    assert_eq!(r.unwrap().status(), 200);
    let assisted = newest(&server, std::slice::from_ref(&web));
    assert!(listed(&ada, "", &assisted).await, "an assisted statement appears within a second");

    // Files added later through the receipt.
    assert!(!listed(&ada, "files=yes", &web).await, "no files yet");
    let form = Form::new()
        .text("receipt", receipt)
        .part("attachment", Part::bytes(b"later evidence".to_vec()).file_name("later.txt"));
    let r = http().post(format!("{}/followup/files", server.public)).multipart(form).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(listed(&ada, "files=yes", &web).await, "files added through the receipt show within a second");
    server.stop().await;
}

#[tokio::test]
async fn every_content_route_answers_503_and_releases_nothing_when_the_audit_log_fails() {
    let site = Site::new();
    let ada_secret = secret_of(&site.init_stdout);
    let clock = Arc::new(ManualClock::at(Timestamp(T0)));
    let (state, switch) = state_with_switchable_log(&site, clock.clone());
    let server = InProcess::start_with(state).await;
    let form = Form::new()
        .text("role", "detained_self")
        .text("consent_store", "yes")
        .text("consent_partners", "anonymised")
        .text("consent_aggregate", "yes")
        .text("statement", "CANARY-ROUTE")
        .part("attachment", Part::bytes(b"CANARY-FILE".to_vec()).file_name("a.txt"));
    http().post(format!("{}/submit", server.public)).multipart(form).send().await.unwrap();
    let id = newest(&server, &[]);
    let ada = Reviewer::sign_in(&server, &site, "ada", &ada_secret, &clock).await;
    ada.post("/desks", &[("name", "Second desk")]).await;
    let other_desk =
        server.state.store.desks().unwrap().into_iter().find(|d| d.name == "Second desk").unwrap().id.0.clone();
    let partner_key = testimony::crypto::DeskIdentity::generate();
    ada.post("/partners", &[("name", "Partner"), ("recipient", &partner_key.recipient().to_string())]).await;
    let partner = server.state.store.partners().unwrap().remove(0).id;
    let csrf = ada.csrf().await;
    let version = server.state.store.submission(&id).unwrap().unwrap().version;

    switch.fail();
    for (method, template) in testimony::review::CONTENT_ROUTES {
        let path = template.replace("{id}", &id).replace("{index}", "1");
        let fields: Vec<(&str, &str)> = match template.rsplit('/').next().unwrap() {
            "state" => vec![("state", "in_review")],
            "triage" => vec![("priority", "high")],
            "evaluation" => vec![("credibility", "2")],
            "notes" | "reply" => vec![("text", "a valid text")],
            "move" => vec![("desk", other_desk.as_str())],
            "export" => vec![("partner", partner.as_str()), ("level", "anonymised")],
            _ => vec![],
        };
        let request = match method {
            "GET" => ada.client.get(format!("{}{path}", ada.base)),
            _ => {
                let mut form = fields.clone();
                form.push(("csrf", &csrf));
                ada.client.post(format!("{}{path}", ada.base)).form(&form)
            }
        };
        let response = request.header("Cookie", &ada.cookie).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE, "{method} {template}");
        let body = response.text().await.unwrap();
        assert!(!body.contains("CANARY"), "{method} {template} released content without its audit entry");
    }
    let record = server.state.store.submission(&id).unwrap().unwrap();
    assert_eq!(record.version, version, "nothing was changed without its audit entry");
    assert_eq!(record.desk, server.state.store.server().unwrap().default_desk);
}

#[tokio::test]
async fn an_index_built_while_statements_change_ends_with_their_newest_versions() {
    let site = Site::new();
    let ada_secret = secret_of(&site.init_stdout);
    let clock = Arc::new(ManualClock::at(Timestamp(T0)));
    let server = InProcess::start(&site, clock.clone(), IntakeLimits::default()).await;
    let mut ids = Vec::new();
    for i in 0..40 {
        let form = Form::new().text("role", "other").text("consent_store", "yes").text("statement", format!("s{i}"));
        http().post(format!("{}/submit", server.public)).multipart(form).send().await.unwrap();
    }
    for record in server.state.store.submissions() {
        ids.push(record.unwrap().id);
    }
    // A writer keeps changing every statement while ada signs in and her
    // desk's index is built from the records as they were read.
    let store = server.state.store.clone();
    let writer_ids = ids.clone();
    let writer = std::thread::spawn(move || {
        for round in 0..5 {
            for id in &writer_ids {
                store
                    .modify_submission(id, &[], &mut |r| {
                        // The last round (4) leaves every statement in peer review.
                        r.state = if round % 2 == 0 { WorkflowState::PeerReview } else { WorkflowState::InReview };
                        Ok(())
                    })
                    .unwrap();
            }
        }
    });
    let ada = Reviewer::sign_in(&server, &site, "ada", &ada_secret, &clock).await;
    writer.join().unwrap();
    // Let the build finish, then compare the index with the store.
    for _ in 0..500 {
        let desks = [server.state.store.server().unwrap().default_desk].into();
        let p = server.state.search.progress(&desks);
        if p.done >= p.total {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let html = ada.get("/?state=peer_review").await.text().await.unwrap();
    assert!(html.contains("<p>40 statements"), "every statement is listed in its newest state");
    let html = ada.get("/?state=in_review").await.text().await.unwrap();
    assert!(html.contains("<p>0 statements"), "no older copy replaced a newer one");
    server.stop().await;
}

// --- accounts ------------------------------------------------------------------

#[test]
fn account_changes_made_at_once_never_undo_each_other() {
    let d = desk();
    let ada: testimony::storage::AccountName = "ada".parse().unwrap();
    // Failed sign-ins record themselves while an admin disables the
    // account and resets its TOTP: neither may be undone.
    std::thread::scope(|scope| {
        for _ in 0..4 {
            let (store, ada) = (&d.store, &ada);
            scope.spawn(move || {
                for i in 0..10 {
                    store
                        .modify_account(ada, |r| {
                            r.sign_ins.push(testimony::storage::SignIn { time: format!("t{i}"), succeeded: false });
                            Ok(())
                        })
                        .unwrap();
                }
            });
        }
        scope.spawn(|| {
            d.store
                .modify_account(&ada, |r| {
                    r.disabled = true;
                    Ok(())
                })
                .unwrap();
            d.store
                .modify_account(&ada, |r| {
                    r.totp = None;
                    Ok(())
                })
                .unwrap();
        });
    });
    let record = d.store.account(&ada).unwrap().unwrap();
    assert!(record.disabled, "the disable stands");
    assert!(record.totp.is_none(), "the TOTP reset stands");
    assert_eq!(record.sign_ins.len(), 40, "every failure was recorded");
}

#[tokio::test]
async fn a_password_change_signs_out_the_accounts_other_sessions() {
    let site = Site::new();
    let secret = secret_of(&site.init_stdout);
    let clock = Arc::new(ManualClock::at(Timestamp(T0)));
    let server = InProcess::start(&site, clock.clone(), IntakeLimits::default()).await;
    let laptop = Reviewer::sign_in(&server, &site, "ada", &secret, &clock).await;
    let phone = Reviewer::sign_in(&server, &site, "ada", &secret, &clock).await;
    let new_password = "a wholly different passphrase";
    let changed = laptop
        .post("/account/password", &[("current", PASSWORD), ("new", new_password), ("again", new_password)])
        .await;
    assert_eq!(changed.status(), 200);
    assert_eq!(laptop.get("/account").await.status(), 200, "the session that changed it stays");
    let stale = phone.get("/account").await;
    assert_eq!(stale.status(), StatusCode::SEE_OTHER);
    assert_eq!(stale.headers()["location"], "/login", "the other session was signed out");
    server.stop().await;
}

#[test]
fn labels_in_the_witnesses_own_scripts_are_accepted_and_markup_is_not() {
    let d = desk();
    let id = file(&d, "text", "no");
    let statement = d.cases.authorize(d.reader.clone(), &id).unwrap();
    let triage = |labels: &[&str]| Change::Triage {
        priority: "high".into(),
        flags: Default::default(),
        labels: labels.iter().map(|l| testimony::case::triage::canonical_label(l)).collect(),
        assigned_to: None,
    };
    assert!(d.cases.change(&statement, triage(&["facility:看守所", "region:ئۈرۈمچى", "community:Қазақ"])).unwrap());
    let statement = d.cases.authorize(d.reader.clone(), &id).unwrap();
    let permit = d.cases.permit_view(&statement).unwrap();
    let labels = d.cases.view(&statement, &permit).unwrap().triage.labels;
    assert!(labels.contains("community:қазақ") && labels.contains("facility:看守所"), "{labels:?}");
    assert!(matches!(d.cases.change(&statement, triage(&["act:<b>"])), Err(CaseError::Refused(_))));
}
