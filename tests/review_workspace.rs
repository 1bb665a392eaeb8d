//! The review workspace through real sockets: reading, downloading,
//! hostile content rendered inert, triage actions with their audit
//! entries, replies the witness can read, and the list's search, filters
//! and pages.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;
use testimony::storage::StatementRecords;

use common::*;
use reqwest::StatusCode;
use reqwest::multipart::{Form, Part};
use testimony::auth::totp::TotpSecret;
use testimony::clock::{Clock, ManualClock, Timestamp};
use testimony::config::IntakeLimits;

const T0: u64 = 1_795_950_000;

struct World {
    site: Site,
    server: InProcess,
    clock: Arc<ManualClock>,
    ada: String,
    cy: String,
}

async fn world() -> World {
    let site = Site::new();
    let ada = secret_of(&site.init_stdout);
    let cy = secret_of(&stdout(&site.add_user("cy", "reviewer", false)));
    let clock = Arc::new(ManualClock::at(Timestamp(T0)));
    let server = InProcess::start(&site, clock.clone(), IntakeLimits::default()).await;
    World { site, server, clock, ada, cy }
}

async fn submit(server: &InProcess, form: Form) -> String {
    let html =
        http().post(format!("{}/submit", server.public)).multipart(form).send().await.unwrap().text().await.unwrap();
    let at = html.find("id=\"receipt\" dir=\"ltr\"><bdi>").expect("a receipt") + 28;
    html[at..at + 34].replace(' ', "")
}

fn newest_id(server: &InProcess) -> String {
    let mut all: Vec<_> = server.state.store.submissions().map(|r| r.unwrap()).collect();
    all.sort_by_key(|r| r.thread.len());
    all.last().unwrap().id.clone()
}

fn base_form(statement: &str) -> Form {
    Form::new().text("role", "detained_self").text("consent_store", "yes").text("statement", statement.to_string())
}

#[tokio::test]
async fn a_member_reads_and_downloads_each_file_byte_identical_with_safe_headers() {
    let w = world().await;
    let files: Vec<(String, Vec<u8>)> = vec![
        ("photo.jpg".into(), (0..70_000u32).map(|i| (i * 7 % 256) as u8).collect()),
        ("<b>page</b>.html".into(), b"<html><script>alert(1)</script></html>".to_vec()),
    ];
    let mut form = base_form("files attached");
    for (name, bytes) in &files {
        form =
            form.part("attachment", Part::bytes(bytes.clone()).file_name(name.clone()).mime_str("text/html").unwrap());
    }
    submit(&w.server, form).await;
    let id = newest_id(&w.server);
    let ada = Reviewer::sign_in(&w.server, &w.site, "ada", &w.ada, &w.clock).await;
    let page = ada.get(&format!("/submissions/{id}")).await.text().await.unwrap();
    assert_eq!(page.matches("class=\"attachment\"").count(), 2);
    for (i, (_, bytes)) in files.iter().enumerate() {
        let response = ada.get(&format!("/submissions/{id}/files/{}", i + 1)).await;
        assert_eq!(response.status(), 200);
        let h = response.headers().clone();
        assert_eq!(h["content-type"], "application/octet-stream");
        assert!(h["content-disposition"].to_str().unwrap().starts_with("attachment; filename=\"statement-"));
        assert!(
            !h["content-disposition"].to_str().unwrap().contains("page"),
            "the witness's file name never reaches a header"
        );
        assert_eq!(h["x-content-type-options"], "nosniff");
        assert!(h["content-security-policy"].to_str().unwrap().contains("sandbox"));
        assert_eq!(&response.bytes().await.unwrap()[..], &bytes[..], "file {} differs", i + 1);
    }
    let log = std::fs::read_to_string(testimony::audit::log_path(&w.site.data)).unwrap();
    assert_eq!(log.matches("\"file_downloaded\"").count(), 2);
    w.server.stop().await;
}

#[tokio::test]
async fn hostile_content_in_every_field_and_file_name_renders_inert() {
    let w = world().await;
    let corpus = [
        "<script>alert('x')</script>",
        "<img src=x onerror=alert(1)>",
        "javascript:alert(1)",
        "<svg onload=alert(1)><circle/></svg>",
        "\u{202E}gnp.exe",
        "\"><iframe src=//evil>",
    ];
    let mut form = Form::new().text("role", "other").text("consent_store", "yes");
    let fields: Vec<String> = testimony::intake::schema::PARTS
        .iter()
        .flat_map(|p| &p.groups)
        .flat_map(|g| &g.fields)
        .filter(|f| f.is_free_text() && f.name != "when_edtf" && f.max_chars() >= 100)
        .map(|f| f.name.clone())
        .collect();
    for (i, name) in fields.iter().enumerate() {
        form = form.text(name.clone(), corpus[i % corpus.len()].to_string());
    }
    for (i, evil) in corpus.iter().enumerate() {
        form = form.part(
            "attachment",
            Part::bytes(vec![i as u8; 10]).file_name(evil.to_string()).mime_str("image/svg+xml").unwrap(),
        );
    }
    submit(&w.server, form).await;
    let id = newest_id(&w.server);
    let ada = Reviewer::sign_in(&w.server, &w.site, "ada", &w.ada, &w.clock).await;
    let page = ada.get(&format!("/submissions/{id}")).await.text().await.unwrap();
    for raw in ["<script>alert", "<img src=x", "<svg onload", "<iframe", "onerror=alert(1)>"] {
        assert!(!page.contains(raw), "{raw} reached the page unescaped");
    }
    assert!(page.contains("&lt;script&gt;") || page.contains("&#60;script&#62;") || page.contains("&lt;script"));
    assert!(!page.contains("href=\"javascript:"), "no javascript: link");
    // A right-to-left override is isolated, not allowed to flip the page.
    let at = page.find('\u{202E}').expect("the override is shown, escaped text");
    let before = &page[..at];
    assert!(before.rfind("<bdi>").unwrap() > before.rfind("</bdi>").unwrap_or(0), "the override sits inside <bdi>");
    w.server.stop().await;
}

#[tokio::test]
async fn each_triage_action_changes_the_statement_and_is_audited() {
    let w = world().await;
    submit(&w.server, base_form("triage me")).await;
    let id = newest_id(&w.server);
    let ada = Reviewer::sign_in(&w.server, &w.site, "ada", &w.ada, &w.clock).await;
    let path = format!("/submissions/{id}");
    let ok = |r: reqwest::Response| {
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "an action redirects back");
    };
    ok(ada.post(&format!("{path}/state"), &[("state", "in_review")]).await);
    let r = ada.post(&format!("{path}/state"), &[("state", "on_hold")]).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY, "on_hold needs a reason");
    ok(ada
        .post(
            &format!("{path}/triage"),
            &[
                ("priority", "urgent"),
                ("flag", "risk_to_witness"),
                ("flag", "family_in_prc"),
                ("labels", "act:medical:ultrasound region:xinjiang"),
                ("assigned_to", "ada"),
            ],
        )
        .await);
    let bad = ada.post(&format!("{path}/triage"), &[("priority", "urgent"), ("labels", "nonsense")]).await;
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
    ok(ada
        .post(
            &format!("{path}/evaluation"),
            &[
                ("source_reliability", "unknown"),
                ("credibility", "6"),
                ("corroboration", "uncorroborated"),
                ("violation_status", "possible"),
                ("verification", "reported"),
                ("publication", "internal_only"),
            ],
        )
        .await);
    let wide = ada.post(&format!("{path}/evaluation"), &[("publication", "attributed")]).await;
    assert_eq!(wide.status(), StatusCode::UNPROCESSABLE_ENTITY, "publication wider than consent is refused");
    ok(ada.post(&format!("{path}/notes"), &[("text", "CANARY-NOTE follow up on the bus")]).await);
    ok(ada.post(&format!("{path}/reply"), &[("text", "Thank you. Are you safe?")]).await);

    let record = w.server.state.store.submission(&id).unwrap().unwrap();
    assert_eq!(record.state, "in_review");
    let page = ada.get(&path).await.text().await.unwrap();
    for shown in [
        "urgent",
        "risk_to_witness",
        "act:medical:ultrasound",
        "CANARY-NOTE follow up on the bus",
        "Thank you. Are you safe?",
    ] {
        assert!(page.contains(shown), "{shown} not on the page");
    }
    assert!(testimony::audit::verify_file(&testimony::audit::log_path(&w.site.data), None).is_ok());
    let log = std::fs::read_to_string(testimony::audit::log_path(&w.site.data)).unwrap();
    for event in [
        "state_changed",
        "priority_changed",
        "flag_changed",
        "label_changed",
        "assignment_changed",
        "evaluation_changed",
        "note_added",
        "reply_sent",
        "statement_viewed",
    ] {
        assert!(log.contains(&format!("\"{event}\"")), "{event} was not audited");
    }
    assert!(files_containing(&w.site.data, b"CANARY-NOTE").is_empty(), "notes are sealed");
    assert!(!log.contains("CANARY-NOTE") && !log.contains("act:medical"), "the log holds no reviewer text");
    w.server.stop().await;
}

#[tokio::test]
async fn a_reply_reaches_the_witness_through_the_receipt_and_no_one_else() {
    let w = world().await;
    let receipt = submit(&w.server, base_form("waiting for an answer")).await;
    let id = newest_id(&w.server);
    let ada = Reviewer::sign_in(&w.server, &w.site, "ada", &w.ada, &w.clock).await;
    ada.post(&format!("/submissions/{id}/reply"), &[("text", "CANARY-REPLY we would like to talk")]).await;
    let followup = http()
        .post(format!("{}/followup", w.server.public))
        .form(&[("receipt", receipt.as_str())])
        .send()
        .await
        .unwrap();
    let html = followup.text().await.unwrap();
    assert!(html.contains("CANARY-REPLY we would like to talk"), "the witness reads the reply");
    assert!(!html.contains("waiting for an answer"), "but never the statement");
    // The witness answers; reviewers see it marked new.
    http()
        .post(format!("{}/followup/answer", w.server.public))
        .form(&[("receipt", receipt.as_str()), ("message", "CANARY-ANSWER yes, call me")])
        .send()
        .await
        .unwrap();
    let list = ada.get("/").await.text().await.unwrap();
    assert!(list.contains("<strong>new</strong>"), "a new witness message is marked in the list");
    assert!(ada.get(&format!("/submissions/{id}")).await.text().await.unwrap().contains("CANARY-ANSWER yes, call me"));
    // A non-member cannot read it, through the page or the key.
    let cy = Reviewer::sign_in(&w.server, &w.site, "cy", &w.cy, &w.clock).await;
    assert_eq!(cy.get(&format!("/submissions/{id}")).await.status(), 404);
    let record = w.server.state.store.submission(&id).unwrap().unwrap();
    let account = w.server.state.store.account(&"cy".parse().unwrap()).unwrap().unwrap();
    let keys = testimony::crypto::PersonalKeys::derive(
        &testimony::crypto::Password::new(PASSWORD.into()).unwrap(),
        &account.salt,
        account.kdf,
    )
    .unwrap();
    for item in &record.thread {
        assert!(testimony::crypto::open(item.message.as_bytes(), &keys.identity).is_err());
    }
    assert!(files_containing(&w.site.data, b"CANARY-REPLY").is_empty());
    w.server.stop().await;
}

#[tokio::test]
async fn pagination_filters_and_search_return_the_right_sets() {
    let w = world().await;
    for i in 0..57 {
        let text = if i % 10 == 0 {
            format!("statement {i} ئۇيغۇر ئاپتونوم رايونى Ürümqi")
        } else {
            format!("statement {i} about the camp")
        };
        let form = base_form(&text).text("community", if i % 3 == 0 { "uyghur" } else { "tibetan" });
        submit(&w.server, form).await;
    }
    let ada = Reviewer::sign_in(&w.server, &w.site, "ada", &w.ada, &w.clock).await;
    let count_rows = |html: &str| html.matches("<a href=\"/submissions/").count();
    let first = ada.get("/").await.text().await.unwrap();
    assert!(first.contains("57 statements"), "all 57 counted");
    assert_eq!(count_rows(&first), 50, "50 per page");
    assert_eq!(count_rows(&ada.get("/?page=1").await.text().await.unwrap()), 7);
    let uyghur = ada.get("/?community=uyghur").await.text().await.unwrap();
    assert!(uyghur.contains("19 statements"), "communities filter");
    // Search is case-insensitive where the script has case, and exact
    // for Uyghur letters.
    assert!(ada.get("/?q=%C3%BCR%C3%BCMQI").await.text().await.unwrap().contains("6 statements"));
    assert!(ada.get(&format!("/?q={}", "ئاپتونوم")).await.text().await.unwrap().contains("6 statements"));
    // Triage a few and filter on it.
    let ids: Vec<String> = w.server.state.store.submissions().take(4).map(|r| r.unwrap().id).collect();
    for id in &ids {
        ada.post(&format!("/submissions/{id}/triage"), &[("priority", "high"), ("flag", "minor_involved")]).await;
        ada.post(&format!("/submissions/{id}/state"), &[("state", "safety_screen")]).await;
    }
    assert!(ada.get("/?priority=high").await.text().await.unwrap().contains("4 statements"));
    assert!(ada.get("/?flag=minor_involved&state=safety_screen").await.text().await.unwrap().contains("4 statements"));
    let counts = ada.get("/").await.text().await.unwrap();
    assert!(counts.contains("Received: 53") && counts.contains("Safety screen: 4"), "counts per state, by name");
    w.server.stop().await;
}

#[tokio::test]
async fn partner_bundles_follow_consent_and_open_only_with_the_partners_key() {
    let w = world().await;
    // One witness agreed to sharing anonymised; one did not answer.
    let file = b"CANARY-BUNDLE-FILE bytes".to_vec();
    let agreed = base_form("shared statement")
        .text("consent_partners", "anonymised")
        .text("contact_handle", "@CANARY-IDENTITY")
        .part("attachment", Part::bytes(file.clone()).file_name("CANARY-FILENAME.pdf"));
    submit(&w.server, agreed).await;
    let shared = newest_id(&w.server);
    submit(&w.server, base_form("private statement")).await;
    let private = w.server.state.store.submissions().map(|r| r.unwrap().id).find(|id| *id != shared).unwrap();

    let ada = Reviewer::sign_in(&w.server, &w.site, "ada", &w.ada, &w.clock).await;
    let partner_key = testimony::crypto::DeskIdentity::generate();
    let r = ada
        .post("/partners", &[("name", "Tribunal secretariat"), ("recipient", &partner_key.recipient().to_string())])
        .await;
    assert_eq!(r.status(), 200);
    let partner = w.server.state.store.partners().unwrap().remove(0).id;

    let refused =
        ada.post(&format!("/submissions/{private}/export"), &[("partner", &partner), ("level", "anonymised")]).await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert!(refused.text().await.unwrap().contains("did not consent to sharing with partners"));
    let too_wide =
        ada.post(&format!("/submissions/{shared}/export"), &[("partner", &partner), ("level", "with_identity")]).await;
    assert_eq!(too_wide.status(), StatusCode::FORBIDDEN);
    assert!(too_wide.text().await.unwrap().contains("only anonymised"));

    let bundle =
        ada.post(&format!("/submissions/{shared}/export"), &[("partner", &partner), ("level", "anonymised")]).await;
    assert_eq!(bundle.status(), 200);
    let sealed = bundle.bytes().await.unwrap().to_vec();
    assert!(!sealed.windows(6).any(|x| x == b"CANARY"), "the bundle is ciphertext");
    // The partner opens it with the stock age tool; nobody else can.
    let key_file = w.site.file(
        "partner.key",
        format!("{}\n", secrecy::ExposeSecret::expose_secret(&partner_key.to_secret_text())).as_bytes(),
    );
    let bundle_file = w.site.file("case.age", &sealed);
    let out = std::process::Command::new("age")
        .args(["-d", "-i", key_file.to_str().unwrap(), bundle_file.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let plain = out.stdout;
    let newline = plain.iter().position(|b| *b == b'\n').unwrap();
    let header: serde_json::Value = serde_json::from_slice(&plain[..newline]).unwrap();
    assert_eq!(header["statement"]["fields"]["statement"], "shared statement");
    assert!(header["identity"].is_null(), "an anonymised bundle carries no identity details");
    assert!(
        !String::from_utf8_lossy(&plain).contains("CANARY-FILENAME")
            && !String::from_utf8_lossy(&plain).contains("CANARY-IDENTITY")
    );
    assert!(header["audit_excerpt"].as_array().unwrap().iter().any(|e| e.to_string().contains("export_made")));
    assert_eq!(&plain[newline + 1..], &file[..], "the file follows the header");
    let recovery = testimony::crypto::read_identity_file(&w.site.recovery_key).unwrap();
    assert!(testimony::crypto::open(&sealed, &recovery).is_err(), "sealed to the partner only");

    // Statistics: only the statements whose witnesses agreed.
    let csv_without = ada.get("/exports/aggregate.csv").await.text().await.unwrap();
    assert_eq!(csv_without.lines().count(), 1, "no one agreed to statistics yet: {csv_without}");
    submit(
        &w.server,
        base_form("counted")
            .text("consent_aggregate", "yes")
            .text("act_ultrasound", "yes")
            .text("place1_region", "east_turkistan"),
    )
    .await;
    let csv = ada.get("/exports/aggregate.csv").await.text().await.unwrap();
    assert_eq!(csv.lines().count(), 2, "{csv}");
    assert!(
        csv.contains("ultrasound") && csv.contains("east_turkistan") && !csv.contains("counted"),
        "S0 codes only: {csv}"
    );
    let log = std::fs::read_to_string(testimony::audit::log_path(&w.site.data)).unwrap();
    assert!(log.contains("export_refused") && log.contains("export_made") && log.contains("settings_changed"));
    w.server.stop().await;
}

#[tokio::test]
async fn an_investigator_files_for_a_witness_who_keeps_the_receipt() {
    let w = world().await;
    let di = secret_of(&stdout(&w.site.add_user_while_running(&w.server, "di", "investigator")));
    let investigator = Reviewer::sign_in(&w.server, &w.site, "di", &di, &w.clock).await;
    let form_page = investigator.get("/assisted").await.text().await.unwrap();
    assert!(form_page.contains("name=\"interviewer\"") && form_page.contains("name=\"csrf\""));
    let csrf = investigator.csrf().await;
    let form = Form::new()
        .text("csrf", csrf)
        .text("interviewer", "di")
        .text("interpreter", "CANARY-INTERPRETER")
        .text("support_person", "yes")
        .text("role", "family_or_friend")
        .text("consent_store", "yes")
        .text("statement", "told in person");
    let response = investigator
        .client
        .post(format!("{}/assisted", investigator.base))
        .header("Cookie", &investigator.cookie)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let html = response.text().await.unwrap();
    assert!(html.contains("id=\"receipt\""), "the witness gets the receipt to keep");
    let record = w.server.state.store.submissions().map(|r| r.unwrap()).find(|r| r.filed_by.is_some()).unwrap();
    assert_eq!(record.channel, testimony::storage::Channel::Assisted);
    // The investigator is not a desk member: the filing is listed, the
    // content is not readable.
    let filed = investigator.get("/filed").await.text().await.unwrap();
    assert!(filed.contains(&record.id) && !filed.contains(&format!("href=\"/submissions/{}\"", record.id)));
    assert_eq!(investigator.get(&format!("/submissions/{}", record.id)).await.status(), 404);
    let ada = Reviewer::sign_in(&w.server, &w.site, "ada", &w.ada, &w.clock).await;
    let page = ada.get(&format!("/submissions/{}", record.id)).await.text().await.unwrap();
    assert!(page.contains("CANARY-INTERPRETER") && page.contains("told in person"));
    // Without the token nothing is filed.
    let before = w.server.state.store.submissions().count();
    let forged = Form::new().text("role", "other").text("consent_store", "yes").text("statement", "x");
    let r = investigator
        .client
        .post(format!("{}/assisted", investigator.base))
        .header("Cookie", &investigator.cookie)
        .multipart(forged)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert_eq!(w.server.state.store.submissions().count(), before);
    // The public form never takes the investigator's fields.
    let public = base_form("from the public form").text("interviewer", "CANARY-SNEAKY");
    submit(&w.server, public).await;
    assert!(files_containing(&w.site.data, b"CANARY").is_empty());
    let log = std::fs::read_to_string(testimony::audit::log_path(&w.site.data)).unwrap();
    assert!(log.contains("\"assisted\":true"));
    w.server.stop().await;
}

#[tokio::test]
async fn moving_a_statement_reseals_it_to_the_new_desk_only() {
    let w = world().await;
    let file = (0..20_000u32).map(|i| (i % 199) as u8).collect::<Vec<u8>>();
    submit(&w.server, base_form("to be moved").part("attachment", Part::bytes(file.clone()).file_name("a.bin"))).await;
    let id = newest_id(&w.server);
    let ada = Reviewer::sign_in(&w.server, &w.site, "ada", &w.ada, &w.clock).await;
    let default_desk = w.server.state.store.server().unwrap().default_desk;
    ada.post(&format!("/desks/{}/grant", default_desk.0), &[("account", "cy")]).await;
    ada.post("/desks", &[("name", "Tibet desk")]).await;
    let tibet = w.server.state.store.desks().unwrap().into_iter().find(|d| d.name == "Tibet desk").unwrap().id;
    let old = w.server.state.store.submission(&id).unwrap().unwrap();

    let r = ada.post(&format!("/submissions/{id}/move"), &[("desk", &tibet.0)]).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let moved = w.server.state.store.submission(&id).unwrap().unwrap();
    assert_eq!(moved.desk, tibet);
    assert_ne!(moved.files[0].object, old.files[0].object, "the file was sealed anew");
    let old_path =
        w.site.data.join("objects").join(&old.files[0].object.0[..2]).join(format!("{}.age", old.files[0].object.0));
    assert!(!old_path.exists(), "the copy sealed to the old desk is gone");
    // The old desk's key opens nothing of it any more.
    let recovery = testimony::crypto::read_identity_file(&w.site.recovery_key).unwrap();
    let old_desk_key = testimony::custody::unwrap(
        &w.server.state.store,
        &default_desk,
        0,
        &testimony::storage::Holder::Recovery,
        &recovery,
    )
    .unwrap();
    assert!(testimony::crypto::open(moved.statement.as_ref().unwrap().as_bytes(), &old_desk_key).is_err());
    // The mover reads it and its file; a member of the old desk only does not.
    assert_eq!(ada.get(&format!("/submissions/{id}")).await.status(), 200);
    assert_eq!(&ada.get(&format!("/submissions/{id}/files/1")).await.bytes().await.unwrap()[..], &file[..]);
    let cy = Reviewer::sign_in(&w.server, &w.site, "cy", &w.cy, &w.clock).await;
    assert_eq!(cy.get(&format!("/submissions/{id}")).await.status(), 404);
    assert!(std::fs::read_to_string(testimony::audit::log_path(&w.site.data)).unwrap().contains("moved_to_desk"));
    w.server.stop().await;
}

/// Signs in and returns the browser, or the response if it was refused.
async fn login_raw(base: &str, name: &str, password: &str, code: &str) -> reqwest::Response {
    http()
        .post(format!("{base}/login"))
        .form(&[("username", name), ("password", password), ("totp", code)])
        .send()
        .await
        .unwrap()
}

fn cookie_of(r: &reqwest::Response) -> String {
    r.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_event_kind_is_emitted_by_the_action_that_should_emit_it() {
    let w = world().await;
    let base = w.server.review.clone();
    // Witness side: two statements, a follow-up, a consent change, a withdrawal.
    let file = b"evidence".to_vec();
    let receipt = submit(
        &w.server,
        base_form("first")
            .text("consent_partners", "anonymised")
            .text("consent_aggregate", "yes")
            .part("attachment", Part::bytes(file).file_name("e.bin")),
    )
    .await;
    let id = newest_id(&w.server);
    let doomed_receipt = submit(&w.server, base_form("second")).await;
    let client = http();
    client
        .post(format!("{}/followup/answer", w.server.public))
        .form(&[("receipt", receipt.as_str()), ("message", "more")])
        .send()
        .await
        .unwrap();
    client
        .post(format!("{}/followup/consent", w.server.public))
        .form(&[("receipt", receipt.as_str()), ("contact_again", "yes")])
        .send()
        .await
        .unwrap();
    client
        .post(format!("{}/followup/withdraw", w.server.public))
        .form(&[("receipt", doomed_receipt.as_str()), ("confirm", "yes")])
        .send()
        .await
        .unwrap();

    // Sign-ins.
    assert_eq!(login_raw(&base, "ada", "wrong password here", "000000").await.status(), StatusCode::UNAUTHORIZED);
    let ada = Reviewer::sign_in(&w.server, &w.site, "ada", &w.ada, &w.clock).await;

    // Reading, downloading, triage, replies.
    let path = format!("/submissions/{id}");
    ada.get(&path).await;
    ada.get(&format!("{path}/files/1")).await.bytes().await.unwrap();
    ada.post(&format!("{path}/state"), &[("state", "in_review")]).await;
    ada.post(
        &format!("{path}/triage"),
        &[("priority", "high"), ("flag", "minor_involved"), ("labels", "year:2018"), ("assigned_to", "ada")],
    )
    .await;
    ada.post(&format!("{path}/evaluation"), &[("verification", "reported")]).await;
    ada.post(&format!("{path}/notes"), &[("text", "a note")]).await;
    ada.post(&format!("{path}/reply"), &[("text", "a reply")]).await;

    // Partners and exports.
    let partner_key = testimony::crypto::DeskIdentity::generate();
    ada.post("/partners", &[("name", "Partner"), ("recipient", &partner_key.recipient().to_string())]).await;
    let partner = w.server.state.store.partners().unwrap().remove(0).id;
    ada.post(&format!("{path}/export"), &[("partner", &partner), ("level", "with_identity")]).await;
    ada.post(&format!("{path}/export"), &[("partner", &partner), ("level", "anonymised")]).await.bytes().await.unwrap();
    ada.get("/exports/aggregate.csv").await.text().await.unwrap();

    // Desks: create, grant, revoke with rotation, move.
    ada.post("/desks", &[("name", "Second desk")]).await;
    let second = w.server.state.store.desks().unwrap().into_iter().find(|d| d.name == "Second desk").unwrap().id;
    ada.post(&format!("/desks/{}/grant", second.0), &[("account", "cy")]).await;
    ada.post(&format!("/desks/{}/revoke", second.0), &[("account", "cy"), ("rotate", "yes")]).await;
    ada.post(&format!("{path}/move"), &[("desk", &second.0)]).await;

    // Accounts: invite and activate, disable and enable, reset and re-enrol,
    // change a password.
    let page = ada.post("/admin/invite", &[("name", "eve"), ("role", "investigator")]).await.text().await.unwrap();
    let link = page.split("<code>").nth(1).unwrap().split("</code>").next().unwrap().to_string();
    let form = client
        .post(format!("{base}{link}"))
        .form(&[("password", "amber meadow violin"), ("again", "amber meadow violin")])
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let eve_secret = form.split("class=\"totp-secret\">").nth(1).unwrap().split('<').next().unwrap().to_string();
    let code = TotpSecret::from_base32(&eve_secret).unwrap().code_at("eve", w.clock.now().0).unwrap();
    client.post(format!("{base}{link}/confirm")).form(&[("totp", code.as_str())]).send().await.unwrap();
    ada.post("/admin/accounts/cy/disable", &[]).await;
    ada.post("/admin/accounts/cy/disable", &[]).await;
    ada.post("/admin/accounts/eve/reset-totp", &[]).await;
    let eve = login_raw(&base, "eve", "amber meadow violin", "").await;
    assert_eq!(eve.status(), StatusCode::SEE_OTHER);
    let eve_cookie = cookie_of(&eve);
    let enrol = client
        .get(format!("{base}/enrol-totp"))
        .header("Cookie", &eve_cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let secret = enrol.split("class=\"totp-secret\">").nth(1).unwrap().split('<').next().unwrap().to_string();
    let csrf = enrol.split("name=\"csrf\" value=\"").nth(1).unwrap().split('"').next().unwrap().to_string();
    let code = TotpSecret::from_base32(&secret).unwrap().code_at("eve", w.clock.now().0).unwrap();
    client
        .post(format!("{base}/enrol-totp"))
        .header("Cookie", &eve_cookie)
        .form(&[("totp", code.as_str()), ("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    ada.post(
        "/account/password",
        &[("current", PASSWORD), ("new", "a brand new passphrase"), ("again", "a brand new passphrase")],
    )
    .await;

    // A backup and an offline export through the running server's socket.
    // (The commands run on a blocking thread: the server they talk to runs
    // on this test's own runtime.)
    let data = w.site.data_arg().to_string();
    let backup = w.site.root.path().join("b.tb").to_str().unwrap().to_string();
    let key = w.site.recovery_key.to_str().unwrap().to_string();
    let out = w.site.root.path().join("export").to_str().unwrap().to_string();
    let (b, e) = tokio::task::spawn_blocking(move || {
        (
            run(&["backup", "--data", &data, "--out", &backup]),
            run(&["export", "--data", &data, "--recovery-key", &key, "--out", &out]),
        )
    })
    .await
    .unwrap();
    assert!(b.status.success(), "{}", stderr(&b));
    assert!(e.status.success(), "{}", stderr(&e));

    // Sign-out, and a session that runs out.
    let csrf = ada.csrf().await;
    client
        .post(format!("{base}/logout"))
        .header("Cookie", &ada.cookie)
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    let cy = Reviewer::sign_in(&w.server, &w.site, "cy", &w.cy, &w.clock).await;
    w.clock.advance(Duration::from_secs(16 * 60));
    cy.get("/").await;

    // Retention: the withdrawn statement's stub goes once its rule's day
    // has passed.
    let mut state = w.server.state.clone();
    state.retention =
        std::sync::Arc::new(testimony::retention::Retention::new([("withdrawn".to_string(), 1)]).unwrap());
    w.clock.advance(Duration::from_secs(2 * 86_400));
    assert_eq!(state.purge_if_a_new_day().unwrap(), 1, "the withdrawn stub");

    // The witness events of the day join the log after it; then stop.
    w.clock.advance(Duration::from_secs(86_400));
    w.server.state.release_witness_events().unwrap();
    w.server.stop().await;

    let records = testimony::audit::read_records(&testimony::audit::log_path(&w.site.data)).unwrap();
    let emitted: std::collections::HashSet<String> = records
        .iter()
        .filter_map(|r| match &r.body {
            testimony::audit::Body::Entry { event, .. } => Some(event.name()),
            _ => None,
        })
        .collect();
    // What only recovery after a crash writes is checked by tests/faults.rs.
    let missing: Vec<&str> = testimony::audit::KINDS
        .iter()
        .copied()
        .filter(|k| !emitted.contains(*k) && !testimony::audit::AFTER_A_CRASH.contains(k))
        .collect();
    assert!(missing.is_empty(), "never emitted: {missing:?}");
    assert!(testimony::audit::verify_file(&testimony::audit::log_path(&w.site.data), None).is_ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_changes_never_undo_each_other_or_a_withdrawal() {
    let w = world().await;
    let receipt = submit(&w.server, base_form("many hands")).await;
    let id = newest_id(&w.server);
    let ada = Arc::new(Reviewer::sign_in(&w.server, &w.site, "ada", &w.ada, &w.clock).await);
    let csrf = ada.csrf().await;
    let mut posts = Vec::new();
    for i in 0..10 {
        let (ada, csrf, id) = (ada.clone(), csrf.clone(), id.clone());
        posts.push(tokio::spawn(async move {
            let text = format!("note {i}");
            ada.client
                .post(format!("{}/submissions/{id}/notes", ada.base))
                .header("Cookie", &ada.cookie)
                .form(&[("text", text.as_str()), ("csrf", csrf.as_str())])
                .send()
                .await
                .unwrap()
                .status()
        }));
    }
    for p in posts {
        assert_eq!(p.await.unwrap(), StatusCode::SEE_OTHER);
    }
    let page = ada.get(&format!("/submissions/{id}")).await.text().await.unwrap();
    for i in 0..10 {
        assert!(page.contains(&format!("note {i}")), "note {i} was lost");
    }
    // The witness withdraws; a reviewer acting on the old page changes nothing.
    http()
        .post(format!("{}/followup/withdraw", w.server.public))
        .form(&[("receipt", receipt.as_str()), ("confirm", "yes")])
        .send()
        .await
        .unwrap();
    let late = ada.post(&format!("/submissions/{id}/notes"), &[("text", "too late")]).await;
    assert_ne!(late.status(), StatusCode::SEE_OTHER);
    let record = w.server.state.store.submission(&id).unwrap().unwrap();
    assert_eq!(record.state, "withdrawn");
    assert!(record.statement.is_none() && record.triage.is_none(), "the purge stands");
    w.server.stop().await;
}

/// A fresh index of the server's default desk, opened with the recovery
/// key (as a member's session would with theirs), once it is complete.
async fn fresh_index(w: &World) -> (Arc<testimony::search::SearchIndex>, HashSet<testimony::storage::DeskId>) {
    let store = w.server.state.store.clone();
    let server = store.server().unwrap();
    let recovery = testimony::crypto::read_identity_file(&w.site.recovery_key).unwrap();
    let key =
        testimony::custody::unwrap(&store, &server.default_desk, 0, &testimony::storage::Holder::Recovery, &recovery)
            .unwrap();
    let index = Arc::new(testimony::search::SearchIndex::default());
    let desks = std::collections::HashMap::from([(server.default_desk.clone(), vec![(0u32, Arc::new(key))])]);
    let visible: HashSet<_> = desks.keys().cloned().collect();
    index.ensure(&store, &desks);
    for _ in 0..400 {
        let p = index.progress(&visible);
        // The last batch lands just after the counter: wait for it too.
        let listed = index.search(&visible, &testimony::search::Query::default(), 0, 1).matching;
        if p.total != usize::MAX && p.total > 1 && p.done >= p.total && listed >= p.total {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    (index, visible)
}

/// The list as a reviewer sees it: every entry's id, state and first line.
fn listing(index: &testimony::search::SearchIndex, visible: &HashSet<testimony::storage::DeskId>) -> Vec<String> {
    let page = index.search(visible, &testimony::search::Query::default(), 0, 1000);
    page.entries.iter().map(|e| format!("{} {:?} {} {}", e.id, e.state, e.version, e.first_line)).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sealed_index_snapshot_holds_no_plaintext_and_with_later_changes_equals_a_full_rebuild() {
    let w = world().await;
    for i in 0..6 {
        submit(&w.server, base_form(&format!("CANARY-SNAPSHOT statement {i}"))).await;
    }
    // A reviewer signs in: the desk is indexed and its snapshot written.
    let ada = Reviewer::sign_in(&w.server, &w.site, "ada", &w.ada, &w.clock).await;
    let desk = w.server.state.store.server().unwrap().default_desk;
    let snapshot = w.site.data.join("index").join(format!("{}.sealed", desk.0));
    for _ in 0..400 {
        if snapshot.exists() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(snapshot.exists(), "a snapshot was written after the first unlock");
    assert_eq!(mode_of(&snapshot) & 0o077, 0, "private to the server");
    assert!(files_containing(&w.site.data, b"CANARY-SNAPSHOT").is_empty(), "no plaintext anywhere, unlocked");

    // Changes after the snapshot: a state, a priority, a new statement.
    let ids: Vec<String> = w.server.state.store.submissions().map(|r| r.unwrap().id).collect();
    ada.post(&format!("/submissions/{}/state", ids[0]), &[("state", "safety_screen")]).await;
    ada.post(&format!("/submissions/{}/triage", ids[1]), &[("priority", "high")]).await;
    submit(&w.server, base_form("CANARY-SNAPSHOT statement 6, after the snapshot")).await;

    // An unlock from the snapshot decrypts only what changed since...
    let (from_snapshot, visible) = fresh_index(&w).await;
    assert_eq!(from_snapshot.decrypted_in_builds(), 3, "two changed, one new");
    // ...and lists exactly what a full rebuild does.
    std::fs::remove_file(&snapshot).unwrap();
    let (rebuilt, _) = fresh_index(&w).await;
    assert_eq!(rebuilt.decrypted_in_builds(), 7);
    let (a, b) = (listing(&from_snapshot, &visible), listing(&rebuilt, &visible));
    assert_eq!(a.len(), 7);
    assert_eq!(a, b);
    let search = testimony::search::Query { text: "after the snapshot".into(), ..Default::default() };
    assert_eq!(from_snapshot.search(&visible, &search, 0, 10).matching, 1);
    assert_eq!(rebuilt.search(&visible, &search, 0, 10).matching, 1);
    assert!(files_containing(&w.site.data, b"CANARY-SNAPSHOT").is_empty(), "none after the rewrite either");

    // A damaged snapshot is ignored, never trusted: a full rebuild again.
    for _ in 0..400 {
        if snapshot.exists() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let mut bytes = std::fs::read(&snapshot).unwrap();
    let at = bytes.len() / 2;
    bytes[at] ^= 0x40;
    std::fs::write(&snapshot, bytes).unwrap();
    let (after_damage, _) = fresh_index(&w).await;
    assert_eq!(after_damage.decrypted_in_builds(), 7);
    assert_eq!(listing(&after_damage, &visible), b);
    w.server.stop().await;
}
