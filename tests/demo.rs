//! `testimony demo`, the real binary through real sockets: the banner, the
//! made-up example statements it opens on (marked as examples on every
//! page that shows them, searchable, with audited work behind them), the
//! ports, and a clean stop that deletes the throwaway directory on each of
//! Ctrl-C, SIGTERM and SIGHUP.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::net::TcpListener;
use std::path::PathBuf;
use std::time::Duration;

use common::*;
use reqwest::multipart::Form;
use testimony::clock::Clock;

const ANY_PORTS: [&str; 5] = ["demo", "--listen", "127.0.0.1:0", "--review-listen", "127.0.0.1:0"];
const BADGE: &str = "<span class=\"badge example\">Example</span>";

fn banner(server: &Server) -> String {
    server.stdout_lines.join("\n")
}

fn banner_value(banner: &str, prefix: &str) -> String {
    banner
        .lines()
        .find_map(|l| l.strip_prefix(prefix))
        .unwrap_or_else(|| panic!("no {prefix:?} in {banner}"))
        .to_string()
}

fn scratch_of(banner: &str) -> PathBuf {
    let rest = banner_value(banner, "Throwaway data in ");
    PathBuf::from(rest.split(" (").next().unwrap())
}

/// Signs in as the demo admin with the printed password and TOTP secret.
async fn sign_in(server: &Server) -> Reviewer {
    let banner = banner(server);
    let password = banner_value(&banner, "password: ");
    let code = testimony::auth::totp::TotpSecret::from_base32(&secret_of(&banner))
        .unwrap()
        .code_at("admin", testimony::clock::SystemClock.now().0)
        .unwrap();
    let client = http();
    let r = client
        .post(format!("{}/login", server.review))
        .form(&[("username", "admin"), ("password", password.as_str()), ("totp", code.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), reqwest::StatusCode::SEE_OTHER, "the printed credentials sign in");
    let cookie = r.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_string();
    Reviewer { base: server.review.clone(), cookie, client }
}

/// The statement ids a list page links to.
fn listed(html: &str) -> Vec<String> {
    html.split("<a href=\"/submissions/").skip(1).map(|rest| rest[..32].to_string()).collect()
}

#[tokio::test]
async fn the_demo_prints_credentials_and_cleans_up_on_sigterm_sighup_and_ctrl_c() {
    for signal in ["TERM", "HUP", "INT"] {
        let mut server = Server::start(&ANY_PORTS);
        let client = http();
        for base in [&server.public, &server.review] {
            assert_eq!(client.get(format!("{base}/healthz")).send().await.unwrap().status(), 200);
        }
        let banner = banner(&server);
        assert!(banner.contains("NOTHING HERE IS PROTECTED"), "{banner}");
        for expected in ["username: admin", "password: ", "totp-secret: ", "otpauth://totp/testimony:admin?"] {
            assert!(banner.contains(expected), "the demo banner lacks {expected}: {banner}");
        }
        let scratch = scratch_of(&banner);
        assert!(scratch.join("data").join("FORMAT").is_file());

        server.signal(signal);
        let status = wait_with_timeout(&mut server.child, Duration::from_secs(20));
        std::thread::sleep(Duration::from_millis(50));
        let log = server.log.lock().unwrap().clone();
        assert!(status.success(), "SIG{signal}: exit {status:?}; log: {log}");
        assert!(log.contains("storage flushed"), "SIG{signal}: a clean stop; log: {log}");
        assert!(!scratch.exists(), "SIG{signal}: the throwaway directory {} must be removed", scratch.display());
    }
}

#[tokio::test]
async fn the_demo_opens_on_examples_marked_as_such_on_every_page() {
    let server = Server::start(&ANY_PORTS);
    let banner = banner(&server);
    let receipt = banner_value(&banner, "example receipt: ");
    let reviewer = sign_in(&server).await;

    // The list: five examples, each badged, in the states they were put in.
    let list = reviewer.get("/").await.text().await.unwrap();
    let ids = listed(&list);
    assert_eq!(ids.len(), 5, "five examples: {list}");
    assert_eq!(list.matches(BADGE).count(), 5, "each is badged in the list");
    for shown in ["Safety screen overdue", "Safety screen due", "in_review", "needs_follow_up", "finalized"] {
        assert!(list.contains(shown), "the list shows {shown}");
    }
    for id in &ids {
        assert!(banner.contains(&id[..12]), "the demo printed what it made ({id})");
    }

    // Search in Chinese and in Uyghur (Arabic script) finds one each;
    // filters work on the examples' triage.
    for (query, expected) in [("化验科", 1), ("خەۋەر", 1), ("қытайда", 1), ("no-such-word-anywhere", 0)]
    {
        let page = reviewer.get(&format!("/?q={}", urlencode(query))).await.text().await.unwrap();
        assert_eq!(listed(&page).len(), expected, "search {query}");
    }
    let urgent = reviewer.get("/?priority=urgent").await.text().await.unwrap();
    assert_eq!(listed(&urgent).len(), 1, "one urgent example");
    let mine = reviewer.get("/?mine=yes").await.text().await.unwrap();
    assert_eq!(listed(&mine).len(), 2, "two assigned to the demo admin");
    let labelled = reviewer.get("/?label=region:xinjiang").await.text().await.unwrap();
    assert_eq!(listed(&labelled).len(), 2);
    let overdue = reviewer.get("/?screen=overdue").await.text().await.unwrap();
    assert_eq!(listed(&overdue).len(), 1);

    // Each statement page says it is an example; the finalized one has a
    // photo with a cleaned copy, the one needing follow-up a thread.
    let mut with_files = 0;
    for id in &ids {
        let page = reviewer.get(&format!("/submissions/{id}")).await.text().await.unwrap();
        assert!(page.contains(BADGE) && page.contains("made up by"), "the statement page of {id}");
        if page.contains("class=\"attachment\"") {
            with_files += 1;
            assert!(page.contains("?copy=clean"), "the example photo has a cleaned copy");
        }
    }
    assert_eq!(with_files, 1);
    let filed = reviewer.get("/filed").await.text().await.unwrap();
    assert_eq!(filed.matches(BADGE).count(), 1, "the assisted example, on the page of what the admin filed");

    // The witness's side: the printed receipt opens the example with a
    // reply waiting, marked as an example too.
    let page = http()
        .post(format!("{}/followup", server.public))
        .form(&[("receipt", receipt.as_str())])
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("badge example"), "the follow-up page says it is an example: {page}");
    assert!(page.contains("谢谢您的陈述"), "the reviewer's reply is there");

    // A statement sent through the form is no example.
    let form = Form::new().text("role", "detained_self").text("consent_store", "yes").text("statement", "a real one");
    let sent = http().post(format!("{}/submit", server.public)).multipart(form).send().await.unwrap();
    assert_eq!(sent.status(), 200);
    let mut list = String::new();
    for _ in 0..50 {
        list = reviewer.get("/").await.text().await.unwrap();
        if listed(&list).len() == 6 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(listed(&list).len(), 6);
    assert_eq!(list.matches(BADGE).count(), 5, "only the five examples are badged");

    // The work behind the examples is in the audit log, and the log is intact.
    let data = scratch_of(&banner).join("data");
    let log = std::fs::read_to_string(data.join("audit").join("log")).unwrap();
    for kind in [
        "statement_received",
        "statement_viewed",
        "state_changed",
        "label_changed",
        "assignment_changed",
        "evaluation_changed",
        "note_added",
        "reply_sent",
    ] {
        assert!(log.contains(&format!("\"kind\":\"{kind}\"")), "the audit log has {kind}");
    }
    let audit_page = reviewer.get("/admin/audit").await.text().await.unwrap();
    assert!(audit_page.contains("reply_sent") || audit_page.contains("reply sent"), "the audit page shows the work");
    let verify = run(&["audit", "verify", "--data", data.to_str().unwrap()]);
    assert!(verify.status.success(), "{}", stderr(&verify));

    let (status, _) = server.stop();
    assert!(status.success());
}

#[tokio::test]
async fn a_taken_port_makes_the_demo_use_free_ones_and_say_so() {
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let server = Server::start(&["demo", "--listen", &addr, "--review-listen", "127.0.0.1:0"]);
    assert_ne!(server.public, format!("http://{addr}"));
    assert_eq!(http().get(format!("{}/healthz", server.public)).send().await.unwrap().status(), 200);
    let log = server.log.lock().unwrap().clone();
    assert!(log.contains(&addr) && log.contains("already in use") && log.contains("using free ports"), "{log}");
    let (status, _) = server.stop();
    assert!(status.success());
}

fn urlencode(text: &str) -> String {
    serde_urlencoded::to_string([("", text)]).unwrap()[1..].to_string()
}
