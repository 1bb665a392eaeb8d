//! The witness's way through the form as issue 14 asked for it: what is
//! needed first, files only after the statement is safe, nothing typed
//! ever lost, and problems that say where they are.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;

use common::*;
use reqwest::multipart::{Form, Part};
use testimony::clock::{ManualClock, Timestamp};
use testimony::config::IntakeLimits;

async fn start(site: &Site, limits: IntakeLimits) -> InProcess {
    InProcess::start(site, Arc::new(ManualClock::at(Timestamp(1_795_950_000))), limits).await
}

/// Text without Fluent's bidi isolation marks around placeables.
fn plain(text: &str) -> String {
    text.replace(['\u{2068}', '\u{2069}'], "")
}

/// Text between `start` and the next `end`.
fn between<'a>(html: &'a str, start: &str, end: &str) -> &'a str {
    let from = html.find(start).unwrap_or_else(|| panic!("no {start}")) + start.len();
    &html[from..from + html[from..].find(end).unwrap()]
}

#[tokio::test]
async fn the_form_puts_what_is_needed_first_and_asks_for_no_file() {
    let site = Site::new();
    let server = start(&site, IntakeLimits::default()).await;
    let html = http().get(format!("{}/submit?lang=en", server.public)).send().await.unwrap().text().await.unwrap();
    // No file is chosen on this page: files go under the receipt, after the
    // statement is safe, so a problem in the form never costs an upload.
    assert!(!html.contains(r#"type="file""#));
    assert!(html.contains("on the next page"));
    // Numbered parts, the three needed ones first and open, the rest closed.
    let summaries: Vec<&str> = html.split("<summary><span class=\"part-number\">").skip(1).collect();
    assert_eq!(summaries.len(), 11);
    for (i, title) in [(0, "1.</span> How you know"), (1, "2.</span> Your statement"), (2, "3.</span> Your consent")] {
        assert!(summaries[i].starts_with(title), "{}", &summaries[i][..40]);
    }
    let open_parts = html.matches(r#"<details class="part" id="part-"#).count();
    assert_eq!(open_parts, 11);
    for id in ["how", "statement", "consent"] {
        assert!(html.contains(&format!(r#"<details class="part" id="part-{id}" open>"#)), "{id} open");
    }
    assert!(html.contains(r#"<details class="part" id="part-what">"#), "what happened closed");
    // Consent to store is required by the browser itself (no JavaScript).
    assert!(between(&html, r#"name="consent_store""#, ">").contains("required"));
    // Each act opens its own details only when wanted.
    let act = between(&html, r#"id="f-act_beating""#, "</details>");
    assert!(act.contains(r#"<details class="act-more">"#) && act.contains("act_beating_basis"));
    server.stop().await;
}

#[tokio::test]
async fn the_error_summary_follows_the_page_links_each_field_and_marks_it() {
    let site = Site::new();
    let server = start(&site, IntakeLimits::default()).await;
    // No role, no consent, nothing substantive, a malformed date.
    let form = Form::new().text("when_edtf", "last spring").text("place1_name", "Ürümchi");
    let response = http().post(format!("{}/submit?lang=en", server.public)).multipart(form).send().await.unwrap();
    assert_eq!(response.status(), 422);
    let html = response.text().await.unwrap();
    assert!(plain(between(&html, "<title>", "</title>")).starts_with("There are 4 problems"), "the title says so");
    let summary = between(&html, r#"<div class="problems" role="alert" id="problems""#, "</ol>");
    let anchors: Vec<&str> = summary.split("<a href=\"#f-").skip(1).map(|a| &a[..a.find('"').unwrap()]).collect();
    assert_eq!(anchors, ["role", "statement", "consent_store", "when_edtf"], "in the order of the page");
    for field in ["statement", "consent_store", "when_edtf"] {
        let input = between(&html, &format!(r#"id="i-{field}""#), ">");
        assert!(input.contains(r#"aria-invalid="true""#), "{field}: {input}");
        assert!(input.contains(&format!(r#"aria-describedby="e-{field}""#)), "{field}: {input}");
        assert!(html.contains(&format!(r#"<p class="problem" id="e-{field}">"#)));
    }
    assert!(
        between(&html, r#"<fieldset class="choices" aria-describedby="e-role""#, "</fieldset>")
            .contains("aria-invalid")
    );
    // The parts holding a problem or an answer are open, so nothing is hidden.
    for id in ["when", "where"] {
        assert!(html.contains(&format!(r#"<details class="part" id="part-{id}" open>"#)), "{id} open");
    }
    assert!(html.contains(r#"value="Ürümchi""#));
    server.stop().await;
}

#[tokio::test]
async fn a_request_too_large_gives_the_form_back_with_everything_typed() {
    let site = Site::new();
    let limits = IntakeLimits { max_submission_bytes: 64 * 1024, ..IntakeLimits::default() };
    let server = start(&site, limits).await;
    // Through the contract's single POST with files: the text comes first,
    // then a file over the limit.
    let form = Form::new()
        .text("role", "detained_self")
        .text("statement", "Первая строка\nsecond line, كېيىنكى قۇر")
        .text("consent_store", "yes")
        .text("act_beating", "yes")
        .part("attachment", Part::bytes(vec![b'x'; 200 * 1024]).file_name("video.mp4"));
    let response = http().post(format!("{}/submit?lang=en", server.public)).multipart(form).send().await.unwrap();
    assert_eq!(response.status(), 413);
    let html = plain(&response.text().await.unwrap());
    assert!(html.contains("Everything you typed is still here"), "the reason, and that nothing is lost: {html}");
    assert!(html.contains("Первая строка\nsecond line, كېيىنكى قۇر"), "the narrative, line break and all");
    assert!(html.contains(r#"name="role" value="detained_self" checked"#));
    assert!(html.contains(r#"name="act_beating" value="yes" checked"#));
    assert!(html.contains(r#"name="consent_store" value="yes" checked"#));
    server.stop().await;
}

#[tokio::test]
async fn the_receipt_page_offers_files_next_with_one_thing_to_keep() {
    let site = Site::new();
    let server = start(&site, IntakeLimits::default()).await;
    let form = Form::new().text("role", "detained_self").text("consent_store", "yes").text("files_next", "yes");
    let response = http().post(format!("{}/submit?lang=en", server.public)).multipart(form).send().await.unwrap();
    assert_eq!(response.status(), 200, "ticking 'files on the next page' is enough to send");
    let html = response.text().await.unwrap();
    let receipt = receipt_in(&html);
    assert!(!html.contains("Reference"), "no second id beside the receipt");
    assert!(html.contains(" bytes") || html.contains(" KB"), "sizes in words");
    let add = between(&html, r#"<form method="post" action="/followup/files?lang=en""#, "</form>");
    assert!(add.contains(&format!(r#"name="receipt" value="{receipt}""#)), "the receipt is filled in");
    assert!(add.contains(r#"type="file" name="attachment" id="attachments" multiple"#));
    assert!(add.contains(r#"value="make_clean_copy" checked"#), "the safer choice is the default");
    assert!(add.contains("two hours for 1 GB"), "an honest hint on time");
    // Two files through that one input, with its one choice.
    let form = Form::new()
        .text("receipt", receipt.clone())
        .text("attachment_metadata", "make_clean_copy")
        .part("attachment", Part::bytes(b"a scanned paper".to_vec()).file_name("paper.pdf"))
        .part("attachment", Part::bytes(b"a second one".to_vec()).file_name("notes.txt"));
    let response =
        http().post(format!("{}/followup/files?lang=en", server.public)).multipart(form).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let page = response.text().await.unwrap();
    assert!(page.contains("paper.pdf") && page.contains("notes.txt"));
    assert_eq!(page.matches("is not a JPEG or PNG photo").count(), 2, "one choice applies to every file of the input");
    server.stop().await;
}

#[tokio::test]
async fn a_mistyped_receipt_stays_in_its_field() {
    let site = Site::new();
    let server = start(&site, IntakeLimits::default()).await;
    // A real receipt with one digit changed: the check digit catches it.
    let real = testimony::intake::receipt::Receipt::generate().digits().to_string();
    let flipped = if real.starts_with('1') { "2" } else { "1" };
    let typed = format!("{flipped}{}", &real[1..]);
    let typed = typed.as_str();
    let response =
        http().post(format!("{}/followup?lang=en", server.public)).form(&[("receipt", typed)]).send().await.unwrap();
    assert_eq!(response.status(), 422);
    let html = response.text().await.unwrap();
    let input = between(&html, r#"<input type="text" name="receipt""#, ">");
    assert!(input.contains(&format!(r#"value="{typed}""#)), "{input}");
    assert!(input.contains(r#"aria-invalid="true""#));
    assert!(between(&html, "<title>", "</title>").starts_with("There is a problem"));
    server.stop().await;
}
