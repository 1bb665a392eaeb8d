//! The review listener's doors, through real sockets with the server's
//! clock in the test's hands: sign-in, codes, throttling, sessions, CSRF,
//! and desk membership as cryptography.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;
use std::time::Duration;
use testimony::storage::StatementRecords;

use common::*;
use reqwest::StatusCode;
use reqwest::multipart::Form;
use testimony::auth::totp::TotpSecret;
use testimony::clock::{Clock, ManualClock, Timestamp};
use testimony::config::IntakeLimits;

const T0: u64 = 1_795_950_000;

/// A data directory with an admin (ada, default desk), a member reviewer
/// (bo), a reviewer without the desk (cy) and an investigator (di).
struct Org {
    site: Site,
    secrets: std::collections::HashMap<String, String>,
}

fn secret_from(out: &str) -> String {
    out.lines().find_map(|l| l.strip_prefix("totp-secret: ")).unwrap().to_string()
}

impl Org {
    fn new() -> Org {
        let site = Site::new();
        let mut secrets = std::collections::HashMap::new();
        secrets.insert("ada".to_string(), secret_from(&site.init_stdout));
        for (name, role, member) in [("bo", "reviewer", true), ("cy", "reviewer", false), ("di", "investigator", false)]
        {
            let out = site.add_user(name, role, member);
            assert!(out.status.success(), "{}", stderr(&out));
            secrets.insert(name.to_string(), secret_from(&stdout(&out)));
        }
        Org { site, secrets }
    }

    fn code(&self, name: &str, clock: &ManualClock) -> String {
        TotpSecret::from_base32(&self.secrets[name]).unwrap().code_at(name, clock.now().0).unwrap()
    }
}

struct Browser {
    base: String,
    cookie: Option<String>,
    client: reqwest::Client,
}

impl Browser {
    fn new(base: &str) -> Browser {
        Browser { base: base.to_string(), cookie: None, client: http() }
    }

    async fn login(&mut self, name: &str, password: &str, code: &str) -> reqwest::Response {
        let response = self
            .client
            .post(format!("{}/login", self.base))
            .form(&[("username", name), ("password", password), ("totp", code)])
            .send()
            .await
            .unwrap();
        if let Some(set) = response.headers().get("set-cookie") {
            let value = set.to_str().unwrap().to_string();
            self.cookie = Some(value.split(';').next().unwrap().to_string());
        }
        response
    }

    async fn get(&self, path: &str) -> reqwest::Response {
        let mut request = self.client.get(format!("{}{path}", self.base));
        if let Some(c) = &self.cookie {
            request = request.header("Cookie", c);
        }
        request.send().await.unwrap()
    }

    async fn post(&self, path: &str, fields: &[(&str, &str)]) -> reqwest::Response {
        let mut request = self.client.post(format!("{}{path}", self.base)).form(fields);
        if let Some(c) = &self.cookie {
            request = request.header("Cookie", c);
        }
        request.send().await.unwrap()
    }

    /// The session's CSRF token, read from a page.
    async fn csrf(&self) -> String {
        let html = self.get("/account").await.text().await.unwrap();
        let at = html.find("name=\"csrf\" value=\"").expect("a csrf field") + 19;
        html[at..at + html[at..].find('"').unwrap()].to_string()
    }
}

async fn start(org: &Org) -> (InProcess, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::at(Timestamp(T0)));
    (InProcess::start(&org.site, clock.clone(), IntakeLimits::default()).await, clock)
}

async fn submit_statement(server: &InProcess, text: &str) -> String {
    let before: Vec<String> = server.state.store.submissions().map(|r| r.unwrap().id).collect();
    let form =
        Form::new().text("role", "detained_self").text("consent_store", "yes").text("statement", text.to_string());
    let response = http().post(format!("{}/submit", server.public)).multipart(form).send().await.unwrap();
    assert_eq!(response.status(), 200);
    server.state.store.submissions().map(|r| r.unwrap().id).find(|id| !before.contains(id)).unwrap()
}

#[tokio::test]
async fn the_right_password_and_code_sign_in_with_a_strict_cookie() {
    let org = Org::new();
    let (server, clock) = start(&org).await;
    let mut browser = Browser::new(&server.review);
    let response = browser.login("ada", PASSWORD, &org.code("ada", &clock)).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let cookie = response.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(cookie.starts_with("__Host-testimony_session="), "{cookie}");
    for flag in ["Secure", "HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(cookie.contains(flag), "{cookie} lacks {flag}");
    }
    assert!(!cookie.contains("Domain"), "__Host- cookies carry no Domain");
    let token = browser.cookie.clone().unwrap();
    assert!(token.len() > 40);
    let home = browser.get("/").await;
    assert_eq!(home.status(), 200);
    assert_eq!(home.headers()["cache-control"], "no-store");
    assert!(home.headers()["content-security-policy"].to_str().unwrap().starts_with("default-src 'none'"));
    // Nothing of the review side is on the public listener.
    for path in ["/login", "/account", "/admin/accounts", "/desks"] {
        assert_eq!(http().get(format!("{}{path}", server.public)).send().await.unwrap().status(), 404, "{path}");
    }
    server.stop().await;
}

#[tokio::test]
async fn wrong_password_wrong_code_and_unknown_user_fail_alike() {
    let org = Org::new();
    let (server, clock) = start(&org).await;
    let b = Browser::new(&server.review);
    let mut answers = Vec::new();
    for (name, password, code) in [
        ("ada", "not the right password", org.code("ada", &clock)),
        ("ada", PASSWORD, "000000".to_string()),
        ("nobody", PASSWORD, org.code("ada", &clock)),
    ] {
        let mut b = Browser { cookie: None, ..Browser::new(&b.base) };
        let response = b.login(name, password, &code).await;
        assert!(b.cookie.is_none());
        let status = response.status();
        let body = response.text().await.unwrap().replace(name, "NAME");
        answers.push((status, body));
    }
    assert_eq!(answers[0].0, StatusCode::UNAUTHORIZED);
    assert!(answers.iter().all(|a| *a == answers[0]), "the three failures must look the same");
    server.stop().await;
}

#[tokio::test]
async fn a_code_is_refused_the_second_time() {
    let org = Org::new();
    let (server, clock) = start(&org).await;
    let code = org.code("bo", &clock);
    let mut first = Browser::new(&server.review);
    assert_eq!(first.login("bo", PASSWORD, &code).await.status(), StatusCode::SEE_OTHER);
    let mut second = Browser::new(&server.review);
    assert_eq!(second.login("bo", PASSWORD, &code).await.status(), StatusCode::UNAUTHORIZED);
    // Nor an older code, still inside the ±1 step window.
    let older = TotpSecret::from_base32(&org.secrets["bo"]).unwrap().code_at("bo", T0 - 30).unwrap();
    assert_eq!(second.login("bo", PASSWORD, &older).await.status(), StatusCode::UNAUTHORIZED);
    clock.advance(Duration::from_secs(30));
    assert_eq!(second.login("bo", PASSWORD, &org.code("bo", &clock)).await.status(), StatusCode::SEE_OTHER);
    server.stop().await;
}

#[tokio::test]
async fn repeated_failures_are_throttled_and_the_lock_expires() {
    let org = Org::new();
    let (server, clock) = start(&org).await;
    let mut b = Browser::new(&server.review);
    let mut throttled = 0;
    for _ in 0..12 {
        match b.login("bo", "wrong password again", "123456").await.status() {
            StatusCode::UNAUTHORIZED => clock.advance(Duration::from_secs(70)),
            StatusCode::TOO_MANY_REQUESTS => {
                throttled += 1;
                clock.advance(Duration::from_secs(70));
            }
            other => panic!("unexpected {other}"),
        }
    }
    // After ten failures the account is locked for 15 minutes, even with
    // the right password and code.
    let locked = b.login("bo", PASSWORD, &org.code("bo", &clock)).await;
    assert_eq!(locked.status(), StatusCode::TOO_MANY_REQUESTS, "throttled {throttled} times before");
    assert!(locked.headers().contains_key("retry-after"));
    clock.advance(Duration::from_secs(15 * 60));
    assert_eq!(b.login("bo", PASSWORD, &org.code("bo", &clock)).await.status(), StatusCode::SEE_OTHER);
    server.stop().await;
}

#[tokio::test]
async fn posts_without_the_right_csrf_change_nothing() {
    let org = Org::new();
    let (server, clock) = start(&org).await;
    let mut b = Browser::new(&server.review);
    b.login("ada", PASSWORD, &org.code("ada", &clock)).await;
    let desks_before = server.state.store.desks().unwrap().len();
    for fields in [vec![("name", "Tibet desk")], vec![("name", "Tibet desk"), ("csrf", "forged")]] {
        let response = b.post("/desks", &fields).await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN);
    }
    assert_eq!(server.state.store.desks().unwrap().len(), desks_before);
    // Logging out without the token does not log out either.
    assert_eq!(b.post("/logout", &[]).await.status(), StatusCode::FORBIDDEN);
    assert_eq!(b.get("/").await.status(), 200);
    // With it, the desk is made.
    let csrf = b.csrf().await;
    assert_eq!(b.post("/desks", &[("name", "Tibet desk"), ("csrf", &csrf)]).await.status(), 200);
    assert_eq!(server.state.store.desks().unwrap().len(), desks_before + 1);
    // A POST claiming another origin is refused even with the token.
    let response = http()
        .post(format!("{}/desks", server.review))
        .header("Cookie", b.cookie.clone().unwrap())
        .header("Origin", "http://evil.example")
        .form(&[("name", "Evil desk"), ("csrf", &csrf)])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    server.stop().await;
}

#[tokio::test]
async fn the_cookie_dies_at_logout_and_after_idle_time() {
    let org = Org::new();
    let (server, clock) = start(&org).await;
    let mut b = Browser::new(&server.review);
    b.login("ada", PASSWORD, &org.code("ada", &clock)).await;
    let csrf = b.csrf().await;
    let response = b.post("/logout", &[("csrf", &csrf)]).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(b.get("/").await.status(), StatusCode::SEE_OTHER, "the old cookie no longer works");
    assert_eq!(b.get("/").await.headers()["location"], "/login");

    clock.advance(Duration::from_secs(60));
    b.login("ada", PASSWORD, &org.code("ada", &clock)).await;
    assert_eq!(b.get("/").await.status(), 200);
    clock.advance(Duration::from_secs(14 * 60));
    assert_eq!(b.get("/").await.status(), 200, "used within the idle time");
    clock.advance(Duration::from_secs(15 * 60 + 1));
    assert_eq!(b.get("/").await.status(), StatusCode::SEE_OTHER, "idle for 15 minutes");
    server.stop().await;
    let log = std::fs::read_to_string(testimony::audit::log_path(&org.site.data)).unwrap();
    for event in ["sign_in_succeeded", "signed_out", "session_expired"] {
        assert!(log.contains(event), "{event} not audited");
    }
    assert!(!log.contains(PASSWORD));
}

#[tokio::test]
async fn only_desk_members_can_read_and_grant_and_revoke_decide_it() {
    let org = Org::new();
    let (server, clock) = start(&org).await;
    let id = submit_statement(&server, "CANARY-WHAT-I-SAW").await;
    let path = format!("/submissions/{id}");

    let mut bo = Browser::new(&server.review);
    bo.login("bo", PASSWORD, &org.code("bo", &clock)).await;
    let page = bo.get(&path).await;
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("CANARY-WHAT-I-SAW"));
    assert!(bo.get("/").await.text().await.unwrap().contains(&format!("href=\"{path}\"")));

    for name in ["cy", "di"] {
        let mut outsider = Browser::new(&server.review);
        outsider.login(name, PASSWORD, &org.code(name, &clock)).await;
        let page = outsider.get(&path).await;
        assert_eq!(page.status(), 404, "{name} is not a desk member");
        assert!(!page.text().await.unwrap().contains("CANARY"));
        assert_eq!(outsider.get(&format!("{path}/files/1")).await.status(), 404);
    }

    // bo grants the desk to cy, who can read at the next sign-in, and even
    // in the session already open.
    let desk = server.state.store.server().unwrap().default_desk;
    let csrf = bo.csrf().await;
    let r = bo.post(&format!("/desks/{}/grant", desk.0), &[("account", "cy"), ("csrf", &csrf)]).await;
    assert_eq!(r.status(), 200);
    let mut cy = Browser::new(&server.review);
    clock.advance(Duration::from_secs(30));
    cy.login("cy", PASSWORD, &org.code("cy", &clock)).await;
    assert_eq!(cy.get(&path).await.status(), 200);

    // Revoking ends it at once, and with rotation new statements are sealed
    // to a key cy never had.
    let r =
        bo.post(&format!("/desks/{}/revoke", desk.0), &[("account", "cy"), ("rotate", "yes"), ("csrf", &csrf)]).await;
    assert_eq!(r.status(), 200);
    assert_eq!(cy.get(&path).await.status(), 404);
    let newer = submit_statement(&server, "second").await;
    let record = server.state.store.submission(&newer).unwrap().unwrap();
    assert_eq!(record.key_generation, 1, "the desk key was rotated");
    assert_eq!(bo.get(&format!("/submissions/{newer}")).await.status(), 200, "remaining members read new statements");
    clock.advance(Duration::from_secs(30));
    let mut cy_again = Browser::new(&server.review);
    cy_again.login("cy", PASSWORD, &org.code("cy", &clock)).await;
    assert_eq!(cy_again.get(&path).await.status(), 404);
    server.stop().await;
}

#[tokio::test]
async fn without_the_desk_key_there_is_no_plaintext_at_all() {
    // Below the handlers: even code that skipped every check could not
    // open a statement without a wrapped desk key.
    let org = Org::new();
    let (server, _) = start(&org).await;
    let id = submit_statement(&server, "CANARY-SEALED").await;
    let store = &server.state.store;
    let record = store.submission(&id).unwrap().unwrap();
    let cy = store.account(&"cy".parse().unwrap()).unwrap().unwrap();
    let keys = testimony::crypto::PersonalKeys::derive(
        &testimony::crypto::Password::new(PASSWORD.into()).unwrap(),
        &cy.salt,
        cy.kdf,
    )
    .unwrap();
    let holder = testimony::storage::Holder::Account(cy.name.clone());
    assert!(testimony::custody::unwrap(store, &record.desk, record.key_generation, &holder, &keys.identity).is_err());
    assert!(testimony::crypto::open(record.statement.unwrap().as_bytes(), &keys.identity).is_err());
    server.stop().await;
}

#[tokio::test]
async fn a_password_change_keeps_access() {
    let org = Org::new();
    let (server, clock) = start(&org).await;
    let id = submit_statement(&server, "still readable").await;
    let mut bo = Browser::new(&server.review);
    bo.login("bo", PASSWORD, &org.code("bo", &clock)).await;
    let csrf = bo.csrf().await;
    let weak = bo
        .post(
            "/account/password",
            &[("current", PASSWORD), ("new", "password1234"), ("again", "password1234"), ("csrf", &csrf)],
        )
        .await;
    assert_eq!(weak.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let new_password = "a wholly different passphrase";
    let changed = bo
        .post(
            "/account/password",
            &[("current", PASSWORD), ("new", new_password), ("again", new_password), ("csrf", &csrf)],
        )
        .await;
    assert_eq!(changed.status(), 200);
    assert!(changed.text().await.unwrap().contains("Your password was changed"));
    clock.advance(Duration::from_secs(30));
    let mut old = Browser::new(&server.review);
    assert_eq!(old.login("bo", PASSWORD, &org.code("bo", &clock)).await.status(), StatusCode::UNAUTHORIZED);
    clock.advance(Duration::from_secs(30));
    let mut fresh = Browser::new(&server.review);
    assert_eq!(fresh.login("bo", new_password, &org.code("bo", &clock)).await.status(), StatusCode::SEE_OTHER);
    assert_eq!(fresh.get(&format!("/submissions/{id}")).await.status(), 200);
    server.stop().await;
}

#[tokio::test]
async fn the_login_pool_bounds_concurrency_under_50_parallel_attempts() {
    let org = Org::new();
    let (server, _) = start(&org).await;
    let mut attempts = Vec::new();
    for i in 0..50 {
        let base = server.review.clone();
        attempts.push(tokio::spawn(async move {
            let mut b = Browser::new(&base);
            b.login(&format!("flood{i}"), "some password guess", "123456").await.status()
        }));
    }
    let mut statuses = Vec::new();
    for a in attempts {
        statuses.push(a.await.unwrap());
    }
    let pool = &server.state.auth.pool;
    assert!(pool.peak() <= pool.workers(), "peak {} derivations with {} workers", pool.peak(), pool.workers());
    // Names that are not accounts never see the queue's state: past its
    // spare half they are refused like a wrong password, not with a 503
    // that would tell them apart from real accounts.
    assert!(statuses.iter().all(|s| *s == StatusCode::UNAUTHORIZED), "{statuses:?}");
    server.stop().await;
}

#[tokio::test]
async fn twelve_simultaneous_wrong_passwords_meet_the_backoff() {
    let org = Org::new();
    let (server, _) = start(&org).await;
    let mut attempts = Vec::new();
    for _ in 0..12 {
        let base = server.review.clone();
        attempts.push(tokio::spawn(async move {
            Browser::new(&base).login("bo", "a wrong guess", "123456").await.status()
        }));
    }
    let mut statuses = Vec::new();
    for a in attempts {
        statuses.push(a.await.unwrap());
    }
    let checked = statuses.iter().filter(|s| **s == StatusCode::UNAUTHORIZED).count();
    let throttled = statuses.iter().filter(|s| **s == StatusCode::TOO_MANY_REQUESTS).count();
    assert_eq!(checked, testimony::auth::throttle::FREE_FAILURES as usize, "{statuses:?}");
    assert_eq!(throttled, 12 - checked, "{statuses:?}");
    server.stop().await;
}

#[tokio::test]
async fn a_flood_of_made_up_names_does_not_lock_out_the_right_credentials() {
    let org = Org::new();
    let (server, clock) = start(&org).await;
    // A small shared budget for names that are not accounts, and no refill
    // while the test runs (its clock stands still).
    server.state.auth.throttle.limit_unknown_names(5, Duration::from_secs(3600));
    let b = Browser::new(&server.review);
    let mut answers = Vec::new();
    for i in 0..12 {
        let mut b = Browser { cookie: None, ..Browser::new(&b.base) };
        let response = b.login(&format!("made-up-{i}"), "a guess", "123456").await;
        answers.push((response.status(), response.text().await.unwrap().replace(&format!("made-up-{i}"), "NAME")));
    }
    assert!(answers.iter().all(|a| a.0 == StatusCode::UNAUTHORIZED), "unknown names are refused, not throttled");
    // The right password and code still get in, for every real account.
    for name in ["ada", "bo"] {
        let mut reviewer = Browser::new(&server.review);
        let response = reviewer.login(name, PASSWORD, &org.code(name, &clock)).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "{name} signs in during the flood");
    }
    // A wrong password on a real account looks exactly like a made-up name
    // refused without a derivation.
    let mut wrong = Browser::new(&server.review);
    let response = wrong.login("cy", "a guess", "123456").await;
    let known = (response.status(), response.text().await.unwrap().replace("cy", "NAME"));
    assert_eq!(known, answers[11]);
    let today = server.state.clock.today();
    assert_eq!(server.state.store.unknown_sign_ins(today).unwrap(), 12, "counted for the admins");
    server.stop().await;
}

/// Refusals of made-up names past their budget wait as long as a
/// derivation typically takes. Passwords too short to be checked must not
/// teach the pool that a derivation is quick: a flood of them once brought
/// that wait to nothing, while a real account still took a derivation, so
/// a name's answer time told whether it was an account.
#[tokio::test]
#[allow(clippy::disallowed_methods)] // a lower bound on a wait, measured
async fn short_passwords_never_make_a_made_up_names_refusal_quick() {
    let org = Org::new();
    let (server, _clock) = start(&org).await;
    server.state.auth.throttle.limit_unknown_names(40, Duration::from_secs(3600));
    let typical = server.state.auth.pool.typical_derivation();
    for i in 0..40 {
        let mut b = Browser::new(&server.review);
        let response = b.login(&format!("made-up-{i}"), "short", "123456").await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    }
    assert_eq!(server.state.auth.pool.typical_derivation(), typical, "no derivation ran, so none was timed");
    // The budget is spent: a guess long enough to be checked, under a
    // made-up name, is refused without a derivation after a whole one.
    let mut b = Browser::new(&server.review);
    let started = std::time::Instant::now();
    let response = b.login("made-up-last", "a wrong guess that is long enough", "123456").await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert!(started.elapsed() >= typical, "refused after {:?}, a derivation takes {typical:?}", started.elapsed());
    server.stop().await;
}

#[tokio::test]
async fn a_wrong_password_and_a_made_up_name_do_the_same_disk_work() {
    let org = Org::new();
    let (server, _) = start(&org).await;
    let log = server.state.store.dir().join("audit").join("log");
    let lines = || std::fs::read_to_string(&log).unwrap().lines().count();
    // Once a page is served, the server's start is in the log.
    assert_eq!(Browser::new(&server.review).get("/login").await.status(), 200);
    let mut cost = Vec::new();
    for name in ["bo", "nobody"] {
        let (syncs, records) = (server.state.store.syncs(), lines());
        let status = Browser::new(&server.review).login(name, "a guess", "123456").await.status();
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        cost.push((server.state.store.syncs() - syncs, lines() - records));
    }
    assert_eq!(cost[0], cost[1], "(record syncs, audit records) for a real and a made-up name");
    assert_eq!(cost[0], (1, 1));
    server.stop().await;
}

#[tokio::test]
async fn sign_in_history_is_kept_to_the_minute() {
    let org = Org::new();
    let (server, clock) = start(&org).await;
    clock.advance(Duration::from_secs(37));
    Browser::new(&server.review).login("bo", "a guess", "123456").await;
    let mut b = Browser::new(&server.review);
    assert_eq!(b.login("bo", PASSWORD, &org.code("bo", &clock)).await.status(), StatusCode::SEE_OTHER);
    let record = server.state.store.account(&"bo".parse().unwrap()).unwrap().unwrap();
    let expected = clock.now().to_minute();
    assert_eq!(record.sign_ins.len(), 2);
    for s in &record.sign_ins {
        assert_eq!(s.time, expected, "no seconds kept");
    }
    let page = b.get("/account").await.text().await.unwrap();
    assert!(page.contains(&expected));
    server.stop().await;
}

#[tokio::test]
async fn an_invitation_becomes_an_account_only_after_a_confirmed_code() {
    let org = Org::new();
    let (server, clock) = start(&org).await;
    let mut ada = Browser::new(&server.review);
    ada.login("ada", PASSWORD, &org.code("ada", &clock)).await;
    let csrf = ada.csrf().await;
    let page = ada
        .post("/admin/invite", &[("name", "eve"), ("role", "reviewer"), ("csrf", &csrf)])
        .await
        .text()
        .await
        .unwrap();
    let link = page.split("<code>").nth(1).unwrap().split("</code>").next().unwrap().to_string();
    assert!(link.starts_with("/invite/"));
    let invitee = Browser::new(&server.review);
    let form = invitee
        .post(&link, &[("password", "violet harbour lantern"), ("again", "violet harbour lantern")])
        .await
        .text()
        .await
        .unwrap();
    let secret = form.split("class=\"totp-secret\">").nth(1).unwrap().split('<').next().unwrap().to_string();
    assert!(server.state.store.account(&"eve".parse().unwrap()).unwrap().is_none(), "no account before the code");
    let wrong = invitee.post(&format!("{link}/confirm"), &[("totp", "000000")]).await;
    assert_eq!(wrong.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let code = TotpSecret::from_base32(&secret).unwrap().code_at("eve", clock.now().0).unwrap();
    let done = invitee.post(&format!("{link}/confirm"), &[("totp", &code)]).await;
    assert_eq!(done.status(), 200);
    assert!(server.state.store.account(&"eve".parse().unwrap()).unwrap().is_some());
    // The link works once.
    assert_eq!(invitee.get(&link).await.status(), 404);
    clock.advance(Duration::from_secs(30));
    let mut eve = Browser::new(&server.review);
    let code = TotpSecret::from_base32(&secret).unwrap().code_at("eve", clock.now().0).unwrap();
    assert_eq!(eve.login("eve", "violet harbour lantern", &code).await.status(), StatusCode::SEE_OTHER);
    server.stop().await;
}

#[tokio::test]
async fn non_admins_cannot_see_admin_pages_and_disabled_accounts_cannot_sign_in() {
    let org = Org::new();
    let (server, clock) = start(&org).await;
    let mut bo = Browser::new(&server.review);
    bo.login("bo", PASSWORD, &org.code("bo", &clock)).await;
    assert_eq!(bo.get("/admin/accounts").await.status(), 404);
    let csrf = bo.csrf().await;
    assert_eq!(bo.post("/admin/accounts/cy/disable", &[("csrf", &csrf)]).await.status(), 404);

    let mut ada = Browser::new(&server.review);
    ada.login("ada", PASSWORD, &org.code("ada", &clock)).await;
    let csrf = ada.csrf().await;
    assert_eq!(ada.post("/admin/accounts/bo/disable", &[("csrf", &csrf)]).await.status(), 200);
    assert_eq!(bo.get("/").await.status(), StatusCode::SEE_OTHER, "a disabled account's sessions end");
    clock.advance(Duration::from_secs(30));
    assert_eq!(bo.login("bo", PASSWORD, &org.code("bo", &clock)).await.status(), StatusCode::UNAUTHORIZED);
    server.stop().await;
}

async fn fail_closed_with(failure: std::fs::File) {
    let org = Org::new();
    let clock = Arc::new(ManualClock::at(Timestamp(T0)));
    let (state, switch) = state_with_switchable_log(&org.site, clock.clone());
    let server = InProcess::start_with(state).await;
    let form = Form::new()
        .text("role", "detained_self")
        .text("consent_store", "yes")
        .text("statement", "CANARY-FAIL-CLOSED")
        .part("attachment", reqwest::multipart::Part::bytes(b"CANARY-FILE".to_vec()).file_name("a.txt"));
    http().post(format!("{}/submit", server.public)).multipart(form).send().await.unwrap();
    let id = server.state.store.submissions().next().unwrap().unwrap().id;
    let mut bo = Browser::new(&server.review);
    bo.login("bo", PASSWORD, &org.code("bo", &clock)).await;
    assert_eq!(bo.get(&format!("/submissions/{id}")).await.status(), 200, "readable while the log works");

    switch.fail_with(failure);
    for path in [format!("/submissions/{id}"), format!("/submissions/{id}/files/1")] {
        let response = bo.get(&path).await;
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE, "{path}");
        let body = response.text().await.unwrap();
        assert!(!body.contains("CANARY"), "{path} released content without its audit entry");
    }
    // Nor can anyone sign in without the entry.
    clock.advance(Duration::from_secs(30));
    let mut ada = Browser::new(&server.review);
    assert_eq!(ada.login("ada", PASSWORD, &org.code("ada", &clock)).await.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(ada.cookie.is_none());
    // Witnesses can still submit: their events wait in storage.
    let form = Form::new().text("role", "other").text("consent_store", "yes").text("statement", "x");
    assert_eq!(http().post(format!("{}/submit", server.public)).multipart(form).send().await.unwrap().status(), 200);
}

#[tokio::test]
async fn a_full_audit_disk_makes_content_routes_answer_503_with_no_content() {
    fail_closed_with(std::fs::OpenOptions::new().append(true).open("/dev/full").unwrap()).await;
}

#[tokio::test]
async fn a_read_only_audit_log_makes_content_routes_answer_503_with_no_content() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("read-only");
    std::fs::write(&path, b"").unwrap();
    fail_closed_with(std::fs::File::open(&path).unwrap()).await;
}

#[tokio::test]
async fn admins_read_the_audit_log_and_members_see_a_statements_history() {
    let org = Org::new();
    let (server, clock) = start(&org).await;
    let id = submit_statement(&server, "history").await;
    let mut bo = Browser::new(&server.review);
    bo.login("bo", PASSWORD, &org.code("bo", &clock)).await;
    bo.get(&format!("/submissions/{id}")).await;
    let page = bo.get(&format!("/submissions/{id}")).await.text().await.unwrap();
    assert!(page.contains("statement_viewed"), "the statement's own history is on its page");
    assert_eq!(bo.get("/admin/audit").await.status(), 404, "only admins read the whole log");

    let mut ada = Browser::new(&server.review);
    ada.login("ada", PASSWORD, &org.code("ada", &clock)).await;
    let all = ada.get("/admin/audit").await.text().await.unwrap();
    assert!(all.contains("Chain: intact"), "the chain's state is shown");
    assert!(all.contains("testimony-audit-v1 checkpoint"), "the latest checkpoint is there to copy");
    assert!(all.contains("sign_in_succeeded"));
    let filtered = ada.get("/admin/audit?actor=bo&event=statement_viewed").await.text().await.unwrap();
    assert_eq!(filtered.matches("<td>statement_viewed</td>").count(), 2, "{filtered}");
    assert!(!filtered.contains("sign_in_succeeded"));
    server.stop().await;
}
