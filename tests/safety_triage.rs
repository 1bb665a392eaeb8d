//! Safety triage through real sockets: the reviewers' list shows when each
//! statement's safety screen is due and which are overdue as days pass,
//! and the form's question about a child sets the `minor_involved` flag
//! and high priority on arrival (public form and assisted intake).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::*;
use reqwest::multipart::Form;
use testimony::clock::{Clock, ManualClock, Timestamp};
use testimony::config::IntakeLimits;
use testimony::storage::StatementRecords;

/// 11:00 UTC on 2026-11-29.
const T0: u64 = 1_795_950_000;
const DAY: Duration = Duration::from_secs(86_400);

struct World {
    site: Site,
    server: InProcess,
    clock: Arc<ManualClock>,
    ada: String,
}

async fn world() -> World {
    let site = Site::new();
    let ada = secret_of(&site.init_stdout);
    let clock = Arc::new(ManualClock::at(Timestamp(T0)));
    let server = InProcess::start(&site, clock.clone(), IntakeLimits::default()).await;
    World { site, server, clock, ada }
}

fn form(statement: &str) -> Form {
    Form::new().text("role", "detained_self").text("consent_store", "yes").text("statement", statement.to_string())
}

async fn submit(server: &InProcess, form: Form) {
    let html =
        http().post(format!("{}/submit", server.public)).multipart(form).send().await.unwrap().text().await.unwrap();
    assert!(html.contains("id=\"receipt\""), "the statement is received");
}

/// The id of the statement whose sealed text the index finds for `word`.
async fn id_of(reviewer: &Reviewer, word: &str) -> String {
    let html = reviewer.get(&format!("/?q={word}")).await.text().await.unwrap();
    assert!(html.contains("1 statement ·"), "{word} is found once");
    let at = html.find("<a href=\"/submissions/").unwrap() + 22;
    html[at..at + 32].to_string()
}

/// The day two days after today, as shown.
fn two_days_after(clock: &ManualClock) -> String {
    Timestamp(clock.now().0 + 2 * 86_400).day().to_string()
}

/// The list's row of one statement.
fn row_of<'a>(html: &'a str, id: &str) -> &'a str {
    let at = html.find(&format!("<a href=\"/submissions/{id}\">")).unwrap_or_else(|| panic!("{id} is listed"));
    let start = html[..at].rfind("<tr").unwrap();
    let end = at + html[at..].find("</tr>").unwrap();
    &html[start..end]
}

#[tokio::test]
async fn the_safety_screen_is_due_for_two_days_after_arrival_then_overdue_until_someone_screens_it() {
    let w = world().await;
    let due = format!("Safety screen due <bdi>{}</bdi>", two_days_after(&w.clock));
    submit(&w.server, form("first statement screenwatch")).await;

    let mut ada = Reviewer::sign_in(&w.server, &w.site, "ada", &w.ada, &w.clock).await;
    let id = id_of(&ada, "screenwatch").await;
    for day in 0..=2 {
        if day > 0 {
            w.clock.advance(DAY);
            // A day apart, the session has expired: sign in again.
            ada = Reviewer::sign_in(&w.server, &w.site, "ada", &w.ada, &w.clock).await;
        }
        let list = ada.get("/").await.text().await.unwrap();
        let row = row_of(&list, &id);
        assert!(row.contains(&due), "day {day}: due on the day of receipt + 2: {row}");
        assert!(!row.contains("overdue"), "day {day}: not overdue yet");
        assert!(ada.get("/?screen=overdue").await.text().await.unwrap().contains("0 statements"), "day {day}");
    }

    // Day 3: overdue, in the list, on the statement page, and by filter.
    w.clock.advance(DAY);
    submit(&w.server, form("second statement screenwatch-fresh")).await;
    let ada = Reviewer::sign_in(&w.server, &w.site, "ada", &w.ada, &w.clock).await;
    let fresh = id_of(&ada, "screenwatch-fresh").await;
    let list = ada.get("/").await.text().await.unwrap();
    let row = row_of(&list, &id);
    assert!(row.contains("class=\"screen-overdue\"") && row.contains("Safety screen overdue"), "{row}");
    assert!(!row.contains("Safety screen due"));
    assert!(row_of(&list, &fresh).contains(&format!("Safety screen due <bdi>{}</bdi>", two_days_after(&w.clock))));
    assert!(list.contains("1 statement has not had the safety screen within 48 hours"), "the list says how many");
    let overdue = ada.get("/?screen=overdue").await.text().await.unwrap();
    assert!(overdue.contains("1 statement ·") && overdue.contains(&id) && !overdue.contains(&fresh));
    let pending = ada.get("/?screen=pending").await.text().await.unwrap();
    assert!(pending.contains("2 statements"));
    assert!(pending.find(&id).unwrap() < pending.find(&fresh).unwrap(), "the longest waiting first");
    let page = ada.get(&format!("/submissions/{id}")).await.text().await.unwrap();
    assert!(page.contains("Safety screen overdue"), "the statement page says so too");

    // Being screened, it is still overdue; once past the screen, neither.
    let path = format!("/submissions/{id}/state");
    assert_eq!(ada.post(&path, &[("state", "safety_screen")]).await.status(), 303);
    assert!(row_of(&ada.get("/").await.text().await.unwrap(), &id).contains("Safety screen overdue"));
    assert_eq!(ada.post(&path, &[("state", "needs_translation")]).await.status(), 303);
    let list = ada.get("/").await.text().await.unwrap();
    let row = row_of(&list, &id);
    assert!(!row.contains("Safety screen") && !row.contains("screen-overdue"), "screened: {row}");
    assert!(!list.contains("not had the safety screen"), "nothing overdue is left");
    assert!(ada.get("/?screen=overdue").await.text().await.unwrap().contains("0 statements"));
    let page = ada.get(&format!("/submissions/{id}")).await.text().await.unwrap();
    // (The state menu still names the state "Safety screen"; no badge says it is due.)
    assert!(!page.contains("Safety screen due") && !page.contains("Safety screen overdue"));

    // Time passing does not bring it back.
    w.clock.advance(DAY * 10);
    let ada = Reviewer::sign_in(&w.server, &w.site, "ada", &w.ada, &w.clock).await;
    assert!(!row_of(&ada.get("/").await.text().await.unwrap(), &id).contains("Safety screen"));
    w.server.stop().await;
}

#[tokio::test]
async fn the_form_asks_about_a_child_and_yes_arrives_flagged_minor_involved_at_high_priority() {
    let w = world().await;
    let page = http().get(format!("{}/submit?lang=en", w.server.public)).send().await.unwrap().text().await.unwrap();
    let safety = &page[page.find("id=\"part-safety\"").expect("the safety part")..];
    assert!(
        safety.contains("Were you under 18 at the time of these events, or is a child among the people you describe?")
    );
    for code in ["yes", "no", "not_sure"] {
        let input = format!("type=\"radio\" name=\"minor_involved\" value=\"{code}\">");
        assert!(safety.contains(&input), "{input}");
    }
    assert!(safety.contains("I am not sure"));
    assert!(!safety.contains("name=\"minor_involved\" value=\"no\" checked"), "nothing chosen beforehand");

    submit(&w.server, form("witness minoryes").text("minor_involved", "yes")).await;
    submit(&w.server, form("witness minorno").text("minor_involved", "no")).await;
    submit(&w.server, form("witness minorunsure").text("minor_involved", "not_sure")).await;
    submit(&w.server, form("witness minorblank")).await;
    // With the answer that means urgent, urgent it stays.
    submit(&w.server, form("witness minoratrisk").text("minor_involved", "yes").text("at_risk", "yes")).await;

    let ada = Reviewer::sign_in(&w.server, &w.site, "ada", &w.ada, &w.clock).await;
    let flagged = ada.get("/?flag=minor_involved").await.text().await.unwrap();
    assert!(flagged.contains("2 statements"), "only the two that answered yes");
    let minor_high = ada.get("/?q=minoryes&flag=minor_involved&priority=high").await.text().await.unwrap();
    assert!(minor_high.contains("1 statement ·"), "yes: the flag and high priority");
    let at_risk = ada.get("/?q=minoratrisk&flag=minor_involved&priority=urgent").await.text().await.unwrap();
    assert!(at_risk.contains("1 statement ·"), "urgent stays urgent");
    for word in ["minorno", "minorunsure", "minorblank"] {
        let normal = ada.get(&format!("/?q={word}&priority=normal")).await.text().await.unwrap();
        assert!(normal.contains("1 statement ·"), "{word}: normal priority");
        let id = id_of(&ada, word).await;
        assert!(!row_of(&ada.get(&format!("/?q={word}")).await.text().await.unwrap(), &id).contains("minor_involved"));
    }
    // The reviewer reads the answer among the safety details.
    let id = id_of(&ada, "minoryes").await;
    let statement = ada.get(&format!("/submissions/{id}")).await.text().await.unwrap();
    assert!(statement.contains("Were you under 18 at the time of these events"));
    // Unanswered stays unanswered: nothing is stored for it.
    let id = id_of(&ada, "minorblank").await;
    let statement = ada.get(&format!("/submissions/{id}")).await.text().await.unwrap();
    assert!(!statement.contains("Were you under 18"));
    w.server.stop().await;
}

#[tokio::test]
async fn assisted_intake_asks_the_same_question_and_sets_the_same_flag() {
    let w = world().await;
    let di = secret_of(&stdout(&w.site.add_user_while_running(&w.server, "di", "investigator")));
    let investigator = Reviewer::sign_in(&w.server, &w.site, "di", &di, &w.clock).await;
    let page = investigator.get("/assisted").await.text().await.unwrap();
    assert!(page.contains("name=\"minor_involved\" value=\"not_sure\""), "the assisted form has the question");
    assert!(page.contains("name=\"interviewer\""), "and its own fields");
    let csrf = investigator.csrf().await;
    let filed = Form::new()
        .text("csrf", csrf)
        .text("interviewer", "di")
        .text("role", "family_or_friend")
        .text("consent_store", "yes")
        .text("statement", "told in person about my daughter")
        .text("minor_involved", "yes");
    let response = investigator
        .client
        .post(format!("{}/assisted", investigator.base))
        .header("Cookie", &investigator.cookie)
        .multipart(filed)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.text().await.unwrap().contains("id=\"receipt\""));
    let record = w.server.state.store.submissions().map(|r| r.unwrap()).find(|r| r.filed_by.is_some()).unwrap();
    let ada = Reviewer::sign_in(&w.server, &w.site, "ada", &w.ada, &w.clock).await;
    let list = ada.get("/?flag=minor_involved&priority=high").await.text().await.unwrap();
    assert!(list.contains("1 statement ·") && list.contains(&record.id));
    w.server.stop().await;
}
