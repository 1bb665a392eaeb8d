//! The witness's and the reviewer's way through the product in a real
//! browser: headless Chromium, JavaScript off, at 390 px (a phone) and
//! 1280 px wide, driven through WebDriver. Every step leaves a screenshot
//! under target/screenshots/ for a person to look at.
//!
//! Needs Debian's `chromium` and `chromium-driver` (.ci/run installs them).
//! Where they are missing the test says it skipped, unless `CI` is set.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use common::*;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;
use testimony::auth::totp::TotpSecret;
use testimony::clock::{Clock, ManualClock, Timestamp};
use testimony::config::IntakeLimits;

const T0: u64 = 1_795_950_000;

/// One browser test at a time: two Chromiums on two cores slow each other
/// until page loads race the checks.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// A chromedriver on a free port, stopped when dropped.
struct Driver {
    child: Child,
    url: String,
}

impl Drop for Driver {
    /// Stops chromedriver and every browser it started: they share its
    /// process group, and a test that failed never closed its browsers.
    fn drop(&mut self) {
        if let Some(group) = rustix::process::Pid::from_raw(self.child.id() as i32) {
            let _ = rustix::process::kill_process_group(group, rustix::process::Signal::KILL);
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn driver() -> Option<Driver> {
    driver_with_fonts(None)
}

/// A chromedriver whose browsers see only the fonts `fontconfig` names.
fn driver_with_fonts(fontconfig: Option<&Path>) -> Option<Driver> {
    let binary =
        ["/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"].into_iter().find(|p| Path::new(p).exists());
    let Some(binary) = binary else {
        assert!(std::env::var_os("CI").is_none(), "CI must have chromium-driver installed (.ci/run installs it)");
        eprintln!("skipped: no chromedriver here (apt-get install chromium chromium-driver)");
        return None;
    };
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut command = Command::new(binary);
    command.arg(format!("--port={port}")).stdout(Stdio::null()).stderr(Stdio::null());
    // Its own process group, which the browsers it starts join.
    std::os::unix::process::CommandExt::process_group(&mut command, 0);
    if let Some(file) = fontconfig {
        command.env("FONTCONFIG_FILE", file);
    }
    let child = command.spawn().unwrap();
    // Dropped (killed and waited for) on every path from here.
    let driver = Driver { child, url: format!("http://127.0.0.1:{port}") };
    // Wait until it listens (counted polls, no clock).
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Some(driver);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("chromedriver did not start");
}

/// A browser as a witness in Tor Browser's safest mode has it: no
/// JavaScript (and so driven by keyboard, see `press`). At 390 px the page
/// is emulated as a phone; the window is tall, so each screenshot holds
/// the whole page.
async fn browser(driver: &Driver, width: u32) -> Client {
    let mut chrome = json!({
        "args": ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--lang=en"],
        "prefs": {
            "profile.managed_default_content_settings.javascript": 2,
            "download.default_directory": downloads(width),
            "download.prompt_for_download": false,
        },
    });
    if width < 500 {
        chrome["mobileEmulation"] = json!({ "deviceMetrics": { "width": width, "height": 3000, "pixelRatio": 1 } });
    } else {
        chrome["args"].as_array_mut().unwrap().push(json!(format!("--window-size={width},3000")));
    }
    let mut caps = serde_json::Map::new();
    caps.insert("browserName".into(), json!("chrome"));
    // With JavaScript off, chromedriver's wait for a "normal" page load
    // after each click runs into its own script timeouts (about 8 s per
    // click); "eager" waits for the document only, which is all a page
    // without scripts has.
    caps.insert("pageLoadStrategy".into(), json!("eager"));
    caps.insert("goog:chromeOptions".into(), chrome);
    // The network log, to see which fonts a page made the browser fetch.
    caps.insert("goog:loggingPrefs".into(), json!({ "performance": "ALL" }));
    let connector = hyper_util::client::legacy::connect::HttpConnector::new();
    ClientBuilder::new(connector).capabilities(caps).connect(&driver.url).await.expect("a browser session")
}

fn screenshots() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target").join("screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Where the browser at `width` saves what it downloads.
fn downloads(width: u32) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("target").join("browser-downloads").join(width.to_string())
}

/// Waits (counted polls) until `dir` holds exactly the files `expected`
/// (in any order, byte for byte); fails with what it holds instead. A
/// download is written in steps, so what it holds is read again until
/// it matches or the time is up.
async fn downloaded(dir: &Path, expected: &[Vec<u8>]) {
    let mut want: Vec<&Vec<u8>> = expected.iter().collect();
    want.sort();
    let mut held = Vec::new();
    for _ in 0..200 {
        let names: Vec<PathBuf> =
            std::fs::read_dir(dir).map(|entries| entries.map(|e| e.unwrap().path()).collect()).unwrap_or_default();
        held = names.iter().filter_map(|p| Some((p.clone(), std::fs::read(p).ok()?))).collect::<Vec<_>>();
        let mut contents: Vec<&Vec<u8>> = held.iter().map(|(_, bytes)| bytes).collect();
        contents.sort();
        if contents == want {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let found: Vec<String> = held.iter().map(|(p, b)| format!("{} ({} bytes)", p.display(), b.len())).collect();
    let sizes: Vec<usize> = expected.iter().map(Vec::len).collect();
    panic!("the downloads never matched the files sent ({sizes:?} bytes): {found:?}");
}

/// The page as `NAME-WIDTH.png`. Taken through the WebDriver endpoint
/// directly: fantoccini 0.22's screenshot call never returned here.
async fn shot(driver: &Driver, client: &Client, name: &str, width: u32) {
    use base64::Engine;
    // No page needs a script (and the CSP forbids any).
    assert!(!client.source().await.unwrap().contains("<script"), "{name} has a script");
    let session = client.session_id().await.unwrap().expect("a session");
    let url = format!("{}/session/{session}/screenshot", driver.url);
    let answer: serde_json::Value = tokio::time::timeout(Duration::from_secs(30), async {
        serde_json::from_slice::<serde_json::Value>(&reqwest::get(&url).await.unwrap().bytes().await.unwrap()).unwrap()
    })
    .await
    .expect("a screenshot within 30 s");
    let png = base64::engine::general_purpose::STANDARD.decode(answer["value"].as_str().unwrap()).unwrap();
    std::fs::write(screenshots().join(format!("{name}-{width}.png")), png).unwrap();
}

/// The page must not scroll sideways.
async fn fits(client: &Client, width: u32, what: &str) {
    // A page still being replaced has no elements for a moment.
    let mut width_of = Vec::new();
    for css in ["html", "body"] {
        let mut found = None;
        for _ in 0..100 {
            if let Ok(element) = client.find(Locator::Css(css)).await
                && let Ok((_, _, w, _)) = element.rectangle().await
            {
                found = Some(w);
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        width_of.push(found.unwrap_or_else(|| panic!("{what}: no {css} element")));
    }
    let (w, body_w) = (width_of[0], width_of[1]);
    assert!(w <= f64::from(width) + 1.0 && body_w <= f64::from(width) + 1.0, "{what} is {w} px wide at {width}");
}

/// Presses `key` on the element (a keyboard user's way: with JavaScript
/// off, chromedriver's mouse clicks wait 30 s each for scripts that never
/// run, while keys act at once). Space ticks a box, Enter submits or
/// follows a link or opens a `<details>`.
async fn press(client: &Client, css: &str, key: &str) {
    client.find(Locator::Css(css)).await.unwrap_or_else(|e| panic!("{css}: {e}")).send_keys(key).await.unwrap();
}

const SPACE: &str = " ";
const ENTER: &str = "\u{E007}";

async fn tick(client: &Client, css: &str) {
    press(client, css, SPACE).await;
}

async fn activate(client: &Client, css: &str) {
    press(client, css, ENTER).await;
}

async fn type_into(client: &Client, css: &str, text: &str) {
    press(client, css, text).await;
}

/// Waits (counted polls) until the page shows `text`; returns the page.
async fn wait_for(client: &Client, text: &str) -> String {
    for _ in 0..200 {
        let page = client.source().await.unwrap();
        if page.contains(text) {
            return page;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the page never showed {text:?}: {}", client.source().await.unwrap());
}

/// Opens a closed `<details>` part.
async fn open_part(client: &Client, id: &str) {
    activate(client, &format!("#part-{id} > summary")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_witness_and_a_reviewer_go_through_it_in_a_browser_without_javascript() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let Some(driver) = driver() else { return };
    let site = Site::new();
    let secret = secret_of(&site.init_stdout);
    let clock = Arc::new(ManualClock::at(Timestamp(T0)));
    let server = InProcess::start(&site, clock.clone(), IntakeLimits::default()).await;
    let first_file = site.file("release-paper.txt", b"release paper, scanned\n");
    let second_file = site.file("recording.ogg", &[7u8; 3000]);

    for width in [390u32, 1280] {
        let _ = std::fs::remove_dir_all(downloads(width));
        std::fs::create_dir_all(downloads(width)).unwrap();
        let witness = browser(&driver, width).await;
        // The form, as a witness first sees it.
        witness.goto(&format!("{}/submit?lang=en", server.public)).await.unwrap();
        fits(&witness, width, "the form").await;
        shot(&driver, &witness, "1-form", width).await;

        // Several parts filled, but the way they know forgotten: the
        // server's own check answers, and everything typed comes back.
        let narrative = format!("They took us at night ({width}).\nIn the morning we were moved.");
        type_into(&witness, "#i-statement", &narrative).await;
        tick(&witness, "#i-consent_store").await;
        open_part(&witness, "when").await;
        type_into(&witness, "#i-when_edtf", "2018~").await;
        open_part(&witness, "what").await;
        tick(&witness, r#"input[name="act_blood_drawn"]"#).await;
        activate(&witness, "form button[type=submit]").await;
        let page = wait_for(&witness, "Please tick at least one way you know").await;
        assert!(page.contains("They took us at night"), "the narrative is kept");
        fits(&witness, width, "the form with problems").await;
        shot(&driver, &witness, "2-form-problem", width).await;

        tick(&witness, r#"input[name="role"][value="detained_self"]"#).await;
        activate(&witness, "form button[type=submit]").await;
        wait_for(&witness, "Your receipt").await;
        let receipt_text = witness.find(Locator::Css("#receipt")).await.unwrap().text().await.unwrap();
        let receipt: String = receipt_text.chars().filter(char::is_ascii_digit).collect();
        assert_eq!(receipt.len(), 28, "{receipt_text}");
        fits(&witness, width, "the receipt").await;
        shot(&driver, &witness, "3-receipt", width).await;

        // Two files through the one input, under the receipt.
        let files = format!("{}\n{}", first_file.display(), second_file.display());
        type_into(&witness, "#attachments", &files).await;
        activate(&witness, "form.add-files button[type=submit]").await;
        let page = wait_for(&witness, "Your files have been received").await;
        assert!(page.contains("release-paper.txt") && page.contains("recording.ogg"), "both files arrived");
        fits(&witness, width, "the files' receipt").await;
        shot(&driver, &witness, "4-files-added", width).await;

        // Back later with the receipt.
        witness.goto(&format!("{}/followup?lang=en", server.public)).await.unwrap();
        type_into(&witness, "#receipt", &receipt).await;
        activate(&witness, "main form button[type=submit]").await;
        wait_for(&witness, "Where your statement stands").await;
        fits(&witness, width, "the follow-up page").await;
        shot(&driver, &witness, "5-followup", width).await;
        witness.close().await.unwrap();

        // A reviewer signs in with a code computed here, and reads it.
        let reviewer = browser(&driver, width).await;
        clock.advance(Duration::from_secs(30));
        let code = TotpSecret::from_base32(&secret).unwrap().code_at("ada", clock.now().0).unwrap();
        reviewer.goto(&format!("{}/login", server.review)).await.unwrap();
        type_into(&reviewer, "#username", "ada").await;
        type_into(&reviewer, "#password", PASSWORD).await;
        type_into(&reviewer, "#totp", &code).await;
        activate(&reviewer, "main form button[type=submit]").await;
        wait_for(&reviewer, "They took us at night").await;
        fits(&reviewer, width, "the list").await;
        shot(&driver, &reviewer, "6-list", width).await;

        // This round's statement (the list holds the last round's too).
        let link = format!(r#"//a[starts-with(@href, "/submissions/")][contains(., "({width})")]"#);
        reviewer.find(Locator::XPath(&link)).await.unwrap().send_keys(ENTER).await.unwrap();
        wait_for(&reviewer, "In the morning we were moved").await;
        fits(&reviewer, width, "the statement").await;
        shot(&driver, &reviewer, "7-statement", width).await;

        // Both files, downloaded as a reviewer does: the witness's bytes.
        // Each row's first link is the file as the witness sent it.
        activate(&reviewer, "table.files tbody tr:nth-child(1) a.attachment").await;
        activate(&reviewer, "table.files tbody tr:nth-child(2) a.attachment").await;
        // (Not the order: the browser may send the two in either.)
        let sent = [std::fs::read(&first_file).unwrap(), std::fs::read(&second_file).unwrap()];
        downloaded(&downloads(width), &sent).await;

        // Into review, by keyboard: typing a state's name picks it.
        press(&reviewer, "#state", "In review").await;
        activate(&reviewer, r#"form[action$="/state"] button[type=submit]"#).await;
        // (The page source shows the attribute, so only the server's answer has it.)
        wait_for(&reviewer, r#"<option value="in_review" selected"#).await;
        shot(&driver, &reviewer, "8-state-set", width).await;

        // A reply to the witness.
        let reply = format!("Thank you for writing to us. Which month was it? ({width})");
        type_into(&reviewer, "#reply", &reply).await;
        activate(&reviewer, r#"form[action$="/reply"] button[type=submit]"#).await;
        wait_for(&reviewer, &reply).await;
        fits(&reviewer, width, "the statement with its reply").await;
        shot(&driver, &reviewer, "9-replied", width).await;

        reviewer.goto(&format!("{}/admin/audit", server.review)).await.unwrap();
        wait_for(&reviewer, "statement_viewed").await;
        fits(&reviewer, width, "the audit view").await;
        shot(&driver, &reviewer, "10-audit", width).await;
        reviewer.close().await.unwrap();

        // The witness comes back with the receipt and reads the reply.
        let witness = browser(&driver, width).await;
        witness.goto(&format!("{}/followup?lang=en", server.public)).await.unwrap();
        type_into(&witness, "#receipt", &receipt).await;
        activate(&witness, "main form button[type=submit]").await;
        let page = wait_for(&witness, &reply).await;
        assert!(page.contains("A reviewer is reading it."), "the state the reviewer set, in the witness's words");
        assert!(!page.contains("They took us at night"), "for their safety the statement itself is never shown");
        fits(&witness, width, "the follow-up page with the reply").await;
        shot(&driver, &witness, "11-reply-read", width).await;
        witness.close().await.unwrap();
    }

    // The witness's part again in Uyghur: right to left, and whole.
    let ug = testimony::i18n::Tr::new(testimony::i18n::Lang::Ug);
    for width in [390u32, 1280] {
        let witness = browser(&driver, width).await;
        witness.goto(&format!("{}/submit?lang=ug", server.public)).await.unwrap();
        let page = wait_for(&witness, &ug.t("submit-title")).await;
        assert!(page.contains(r#"<html lang="ug" dir="rtl">"#));
        fits(&witness, width, "the Uyghur form").await;
        shot(&driver, &witness, "ug-1-form", width).await;
        type_into(&witness, "#i-statement", "ئۇلار بىزنى كېچىسى ئېلىپ كەتتى.\nئەتىگەندە يۆتكەلدۇق.").await;
        tick(&witness, "#i-consent_store").await;
        tick(&witness, r#"input[name="role"][value="witnessed_others"]"#).await;
        activate(&witness, "form button[type=submit]").await;
        wait_for(&witness, &ug.t("receipt-your-receipt")).await;
        fits(&witness, width, "the Uyghur receipt").await;
        shot(&driver, &witness, "ug-2-receipt", width).await;
        let receipt_text = witness.find(Locator::Css("#receipt")).await.unwrap().text().await.unwrap();
        let receipt: String = receipt_text.chars().filter(char::is_ascii_digit).collect();
        witness.goto(&format!("{}/followup?lang=ug", server.public)).await.unwrap();
        type_into(&witness, "#receipt", &receipt).await;
        activate(&witness, "main form button[type=submit]").await;
        wait_for(&witness, &ug.t("followup-state")).await;
        fits(&witness, width, "the Uyghur follow-up page").await;
        shot(&driver, &witness, "ug-3-followup", width).await;
        witness.close().await.unwrap();
    }
    server.stop().await;
}

/// The URLs (with their status) the browser fetched since the last call,
/// from chromedriver's performance log.
async fn fetched(driver: &Driver, client: &Client) -> Vec<(String, u64)> {
    let session = client.session_id().await.unwrap().expect("a session");
    let url = format!("{}/session/{session}/se/log", driver.url);
    let body = json!({ "type": "performance" }).to_string();
    let reply = reqwest::Client::new()
        .post(&url)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let answer: serde_json::Value = serde_json::from_slice(&reply).unwrap();
    let mut seen = Vec::new();
    for entry in answer["value"].as_array().expect("a log") {
        let message: serde_json::Value = serde_json::from_str(entry["message"].as_str().unwrap()).unwrap();
        if message["message"]["method"] == "Network.responseReceived" {
            let response = &message["message"]["params"]["response"];
            seen.push((response["url"].as_str().unwrap().to_string(), response["status"].as_u64().unwrap_or(0)));
        }
    }
    seen
}

/// A fontconfig that knows Liberation alone (Latin, Greek, Cyrillic): a
/// machine with no font for Arabic script or Tibetan. Chromium's own
/// fallback finds nothing else, so whatever these pages show in those
/// scripts comes from the fonts the server served.
fn latin_only_fontconfig(dir: &Path) -> PathBuf {
    let fonts = ["/usr/share/fonts/truetype/liberation", "/usr/share/fonts/truetype/liberation2"]
        .into_iter()
        .filter(|d| Path::new(d).is_dir())
        .map(|d| format!("<dir>{d}</dir>"))
        .collect::<String>();
    let file = dir.join("fonts.conf");
    std::fs::write(
        &file,
        format!(
            "<?xml version=\"1.0\"?>\n<!DOCTYPE fontconfig SYSTEM \"fonts.dtd\">\n<fontconfig>{fonts}<cachedir>{}</cachedir></fontconfig>\n",
            dir.join("cache").display()
        ),
    )
    .unwrap();
    file
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uyghur_and_tibetan_read_on_a_machine_without_their_fonts() {
    let _turn = ONE_AT_A_TIME.lock().await;
    use testimony::i18n::{Lang, Tr};
    let fonts_dir = Path::new(testimony::web::fonts::DEFAULT_DIR);
    if !fonts_dir.join(testimony::web::fonts::FACES[1].file).exists() {
        assert!(std::env::var_os("CI").is_none(), "CI must have fonts-noto-core installed (.ci/run installs it)");
        eprintln!("skipped: no fonts-noto-core here");
        return;
    }
    let scratch = tempfile::tempdir().unwrap();
    let Some(driver) = driver_with_fonts(Some(&latin_only_fontconfig(scratch.path()))) else { return };
    let site = Site::new();
    let server = InProcess::start(&site, Arc::new(ManualClock::at(Timestamp(T0))), IntakeLimits::default()).await;

    let tibetan_statement = "ང་ཚོ་མཚན་མོ་ཁྲིད་སོང་། སྔ་དྲོ་གནས་སྤོ་བྱས།";
    for (lang, face, statement) in [
        (Lang::Ug, "arabic", "ئۇلار بىزنى كېچىسى ئېلىپ كەتتى."),
        (Lang::KkArab, "arabic", "ولار ٴبىزدى تۇندە الىپ كەتتى."),
        (Lang::Bo, "tibetan", tibetan_statement),
    ] {
        let t = Tr::new(lang);
        let code = lang.code();
        for width in [390u32, 1280] {
            let witness = browser(&driver, width).await;
            witness.goto(&format!("{}/submit?lang={code}", server.public)).await.unwrap();
            wait_for(&witness, &t.t("submit-title")).await;
            fits(&witness, width, &format!("the {code} form")).await;
            shot(&driver, &witness, &format!("fonts-{code}-1-form"), width).await;
            let font = format!("{}/static/fonts/{face}.ttf", server.public);
            let seen = fetched(&driver, &witness).await;
            assert!(
                seen.iter().any(|(url, status)| *url == font && *status == 200),
                "{code}: {font} not fetched: {seen:?}"
            );
            let elsewhere = |url: &String| !url.starts_with(&server.public) && !url.starts_with("data:");
            assert!(!seen.iter().any(|(url, _)| elsewhere(url)), "{code}: another host: {seen:?}");

            type_into(&witness, "#i-statement", statement).await;
            tick(&witness, "#i-consent_store").await;
            tick(&witness, r#"input[name="role"][value="witnessed_others"]"#).await;
            activate(&witness, "form button[type=submit]").await;
            wait_for(&witness, &t.t("receipt-your-receipt")).await;
            fits(&witness, width, &format!("the {code} receipt")).await;
            shot(&driver, &witness, &format!("fonts-{code}-2-receipt"), width).await;
            witness.close().await.unwrap();
        }
    }
    server.stop().await;
}
