//! The reviewer pages as a documentation team reads them all day, through
//! real sockets: the statement's paragraphs kept (escaped, in a pre-wrap
//! block, each free-text block `dir="auto"`), the list's first lines,
//! human names and badges, the reviewers' own stylesheet, an admin who
//! cannot disable themself, and an audit view whose counts agree with its
//! rows.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;

use common::*;
use reqwest::StatusCode;
use reqwest::multipart::Form;
use testimony::audit::{Actor, Body};
use testimony::clock::{ManualClock, Timestamp};
use testimony::config::IntakeLimits;
use testimony::storage::StatementRecords;

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

fn form(statement: &str) -> Form {
    Form::new().text("role", "detained_self").text("consent_store", "yes").text("statement", statement.to_string())
}

/// Files a statement through the public form and returns its id.
async fn submit(server: &InProcess, form: Form) -> String {
    let before: Vec<String> = server.state.store.submissions().map(|r| r.unwrap().id).collect();
    let html =
        http().post(format!("{}/submit", server.public)).multipart(form).send().await.unwrap().text().await.unwrap();
    assert!(html.contains("id=\"receipt\""), "the statement is received");
    server.state.store.submissions().map(|r| r.unwrap().id).find(|id| !before.contains(id)).unwrap()
}

/// Text as the templates escape it (askama: numeric references).
fn escaped(text: &str) -> String {
    text.replace('&', "&#38;").replace('<', "&#60;").replace('>', "&#62;").replace('"', "&#34;").replace('\'', "&#39;")
}

/// The list's row of one statement.
fn row_of<'a>(html: &'a str, id: &str) -> &'a str {
    let at = html.find(&format!("<a href=\"/submissions/{id}\">")).unwrap_or_else(|| panic!("{id} is listed"));
    let start = html[..at].rfind("<tr").unwrap();
    let end = at + html[at..].find("</tr>").unwrap();
    &html[start..end]
}

/// The declarations of the first rule of `css` whose selector list names
/// `selector`.
fn rule<'a>(css: &'a str, selector: &str) -> &'a str {
    let mut rest = css;
    while let Some(open) = rest.find('{') {
        let close = open + rest[open..].find('}').unwrap();
        let selectors = rest[..open].rsplit(['}', '/']).next().unwrap();
        if selectors.split(',').any(|s| s.trim() == selector) {
            return &rest[open + 1..close];
        }
        rest = &rest[close + 1..];
    }
    panic!("no rule for {selector}")
}

#[tokio::test]
async fn the_statement_page_keeps_the_witnesss_paragraphs_and_line_breaks_escaped_in_a_pre_wrap_block() {
    let w = world().await;
    let narrative = "They took us at night.\nThe bus had no windows.\n\n\
                     Second paragraph: <b>not markup</b> & \"quotes\" 'too'.\n\
                     The camp was called ئۈرۈمچى 看守所 in 2018.";
    let id = submit(&w.server, form(narrative).text("threats_received", "First threat.\nSecond threat.")).await;
    let ada = Reviewer::sign_in(&w.server, &w.site, "ada", &w.ada, &w.clock).await;
    let page = ada.get(&format!("/submissions/{id}")).await.text().await.unwrap();

    let block = format!("<div class=\"narrative witness-text\" dir=\"auto\">{}</div>", escaped(narrative));
    assert!(page.contains(&block), "the narrative, escaped, with its line breaks as sent: {page}");
    assert!(!page.contains("<b>not markup</b>"), "witness text is never markup");
    // Other free text keeps its lines too, in its own direction.
    assert!(page.contains("<dd class=\"witness-text\" dir=\"auto\"><bdi>First threat.\nSecond threat.</bdi></dd>"));

    // The block is pre-wrap in the reviewers' stylesheet, which the page links.
    assert!(page.contains("<link rel=\"stylesheet\" href=\"/static/review.css\">"));
    let css = ada.get("/static/review.css").await.text().await.unwrap();
    assert!(rule(&css, ".witness-text").contains("white-space: pre-wrap"), "{css}");
    w.server.stop().await;
}

#[tokio::test]
async fn the_list_shows_each_statements_first_line_with_human_names_and_badges() {
    let w = world().await;
    let plain = submit(&w.server, form("\n   Taken from the market at night.  \nMore that stays on its page.")).await;
    let long_line = format!("{}TAIL-NOT-SHOWN", "word ".repeat(30));
    let long = submit(&w.server, form(&long_line)).await;
    let sensitive = submit(&w.server, form("What the guards did to her.\nMore.")).await;
    let ada = Reviewer::sign_in(&w.server, &w.site, "ada", &w.ada, &w.clock).await;
    let r = ada
        .post(
            &format!("/submissions/{plain}/triage"),
            &[("priority", "urgent"), ("flag", "family_in_prc"), ("flag", "risk_to_witness")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    ada.post(&format!("/submissions/{long}/triage"), &[("priority", "high")]).await;
    ada.post(&format!("/submissions/{sensitive}/triage"), &[("priority", "normal"), ("flag", "sexual_violence")]).await;

    let list = ada.get("/").await.text().await.unwrap();
    let row = row_of(&list, &plain);
    assert!(
        row.contains("<span class=\"first-line\" dir=\"auto\">Taken from the market at night.</span>"),
        "the first line, trimmed: {row}"
    );
    assert!(!row.contains("More that stays"), "only the first line");
    assert!(row.contains("Detained (self)") && !row.contains("detained_self"), "the role by its name: {row}");
    assert!(row.contains("<span class=\"badge state state-received\">Received</span>"), "{row}");
    assert!(row.contains("<span class=\"badge priority-urgent\">Urgent</span>"), "{row}");
    assert!(
        row.contains("<span class=\"badge flag\">Family in the PRC</span>")
            && row.contains("<span class=\"badge flag\">Risk to witness</span>"),
        "{row}"
    );
    assert!(!row.contains("family_in_prc") && !row.contains("risk_to_witness"), "no codes: {row}");
    assert!(row.contains("<span class=\"badge screen-due\">Safety screen due"), "the screen badge stays");
    assert!(row.contains(&format!("<code class=\"id\" title=\"{plain}\">{}</code>", &plain[..8])), "short id");
    assert!(row.contains("<td class=\"date\" data-label=\"Received\">"), "a date that does not wrap");

    let row = row_of(&list, &long);
    assert!(row.contains("<span class=\"badge priority-high\">High</span>"));
    assert!(!row.contains("TAIL-NOT-SHOWN"), "a long first line is cut");
    let shown = row.split("<span class=\"first-line\" dir=\"auto\">").nth(1).unwrap().split("</span>").next().unwrap();
    assert!(shown.ends_with('…') && shown.chars().count() <= 81, "{shown}");

    let row = row_of(&list, &sensitive);
    assert!(
        row.contains("<details class=\"content-warning\"><summary>Content warning: sexual violence"),
        "its first line waits behind a content warning: {row}"
    );

    // Menus and counts by name too; the codes stay in the query.
    assert!(list.contains("<option value=\"detained_self\">Detained (self)</option>"));
    assert!(list.contains("<option value=\"needs_follow_up\">Needs follow-up</option>"));
    assert!(list.contains(">Received: 3</a>"), "counts per state by name");
    // One statement is "1 statement" (the count has a plural form).
    assert!(ada.get("/?role=detained_self&priority=urgent").await.text().await.unwrap().contains("<p>1 statement ·"));
    w.server.stop().await;
}

#[tokio::test]
async fn review_css_is_served_as_css_on_the_review_listener_and_linked_from_its_pages() {
    let w = world().await;
    let response = http().get(format!("{}/static/review.css", w.server.review)).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "text/css; charset=utf-8");
    assert_eq!(response.headers()["x-content-type-options"], "nosniff");
    let css = response.text().await.unwrap();
    // Nothing loads from anywhere but this server's own two fonts.
    let urls: Vec<&str> =
        css.match_indices("url(").map(|(at, _)| &css[at..at + css[at..].find(')').unwrap()]).collect();
    assert_eq!(urls, ["url(\"/static/fonts/arabic.ttf\"", "url(\"/static/fonts/tibetan.ttf\""]);
    assert!(!css.contains("@import"));
    assert!(rule(&css, "table.list").contains("width: 100%"));
    // Linked from every review page, signed in or not; the witness's
    // stylesheet is the witness side's.
    let login = http().get(format!("{}/login", w.server.review)).send().await.unwrap().text().await.unwrap();
    assert!(login.contains("<link rel=\"stylesheet\" href=\"/static/review.css\">"));
    assert!(!login.contains("/static/style.css"));
    let ada = Reviewer::sign_in(&w.server, &w.site, "ada", &w.ada, &w.clock).await;
    for path in ["/", "/desks", "/filed", "/account", "/admin/accounts", "/admin/audit", "/partners"] {
        let page = ada.get(path).await.text().await.unwrap();
        assert!(page.contains("href=\"/static/review.css\""), "{path}");
    }
    let public = http().get(format!("{}/static/review.css", w.server.public)).send().await.unwrap();
    assert_eq!(public.status(), 404, "the public listener does not serve it");
    w.server.stop().await;
}

#[tokio::test]
async fn an_admin_has_no_disable_button_on_their_own_row_and_the_server_refuses_it() {
    let w = world().await;
    let ada = Reviewer::sign_in(&w.server, &w.site, "ada", &w.ada, &w.clock).await;
    let page = ada.get("/admin/accounts").await.text().await.unwrap();
    assert!(!page.contains("action=\"/admin/accounts/ada/disable\""), "no Disable on one's own row: {page}");
    assert!(page.contains("action=\"/admin/accounts/cy/disable\""), "others can be disabled");
    assert!(page.contains("<td data-label=\"Role\">Administrator</td>"), "roles by name");

    let refused = ada.post("/admin/accounts/ada/disable", &[]).await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.text().await.unwrap().contains("You cannot disable your own account."));
    let record = w.server.state.store.account(&"ada".parse().unwrap()).unwrap().unwrap();
    assert!(!record.disabled, "still enabled");
    assert_eq!(ada.get("/").await.status(), 200, "and still signed in");
    let log = std::fs::read_to_string(testimony::audit::log_path(&w.site.data)).unwrap();
    assert!(!log.contains("account_disabled"), "nothing was disabled");

    // Disabling someone else still works.
    let cy = Reviewer::sign_in(&w.server, &w.site, "cy", &w.cy, &w.clock).await;
    assert_eq!(ada.post("/admin/accounts/cy/disable", &[]).await.status(), 200);
    assert_eq!(cy.get("/").await.status(), StatusCode::SEE_OTHER, "cy is signed out");
    w.server.stop().await;
}

/// The number in the element with this id.
fn count(html: &str, id: &str) -> usize {
    let at = html.find(&format!("id=\"{id}\">")).unwrap_or_else(|| panic!("no {id}")) + id.len() + 6;
    html[at..at + html[at..].find('<').unwrap()].parse().unwrap()
}

#[tokio::test]
async fn the_audit_views_counts_equal_its_rows_of_each_kind() {
    let w = world().await;
    let id = submit(&w.server, form("for the audit view")).await;
    let ada = Reviewer::sign_in(&w.server, &w.site, "ada", &w.ada, &w.clock).await;
    ada.get(&format!("/submissions/{id}")).await;
    w.server.state.audit.checkpoint().unwrap();
    ada.post(&format!("/submissions/{id}/state"), &[("state", "in_review")]).await;
    ada.get(&format!("/submissions/{id}")).await;
    w.server.state.audit.checkpoint().unwrap();
    ada.get(&format!("/submissions/{id}")).await;

    let page = ada.get("/admin/audit").await.text().await.unwrap();
    let records = testimony::audit::read_records(&testimony::audit::log_path(&w.site.data)).unwrap();
    let checkpoints = records.iter().filter(|r| matches!(r.body, Body::Checkpoint(_))).count();
    assert!(checkpoints >= 2);
    let entry_rows = page.matches("<tr class=\"entry\">").count();
    let checkpoint_rows = page.matches("<tr class=\"checkpoint\">").count();
    assert_eq!(count(&page, "count-records"), records.len(), "every record of the log");
    assert_eq!(count(&page, "count-checkpoints"), checkpoints);
    assert_eq!(count(&page, "count-entries"), records.len() - checkpoints);
    assert_eq!(entry_rows, count(&page, "count-entries"), "a row for each entry");
    assert_eq!(checkpoint_rows, count(&page, "count-checkpoints"), "a row for each checkpoint");
    assert_eq!(count(&page, "count-matching"), entry_rows + checkpoint_rows);
    assert_eq!(count(&page, "count-matching-entries"), entry_rows);
    assert_eq!(count(&page, "count-matching-checkpoints"), checkpoint_rows);
    assert!(page.contains("Chain: intact"));

    // Filtered, the counts are those of the rows shown.
    let by_ada = records
        .iter()
        .filter(|r| matches!(&r.body, Body::Entry { actor: Actor::Account(a), .. } if a == "ada"))
        .count();
    let filtered = ada.get("/admin/audit?actor=ada").await.text().await.unwrap();
    assert_eq!(count(&filtered, "count-matching"), by_ada);
    assert_eq!(filtered.matches("<tr class=\"entry\">").count(), by_ada);
    assert_eq!(count(&filtered, "count-matching-checkpoints"), 0);
    let only_checkpoints = ada.get("/admin/audit?event=checkpoint").await.text().await.unwrap();
    assert_eq!(count(&only_checkpoints, "count-matching"), checkpoints);
    assert_eq!(only_checkpoints.matches("<tr class=\"checkpoint\">").count(), checkpoints);
    assert_eq!(only_checkpoints.matches("<tr class=\"entry\">").count(), 0);

    // Long ids are shortened on screen, whole on hover and in the filter.
    let object = format!("<a href=\"/admin/audit?object={id}\" title=\"{id}\"><code>{}…</code></a>", &id[..8]);
    assert!(page.contains(&object), "{page}");
    w.server.stop().await;
}
