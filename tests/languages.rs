//! Every witness page in every language with a catalogue: the right
//! `lang` and `dir`, the draft notice while a translation is unreviewed,
//! and not one English sentence left over.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;

use common::*;
use reqwest::multipart::Form;
use testimony::clock::{ManualClock, Timestamp};
use testimony::config::IntakeLimits;
use testimony::i18n::{Lang, Tr};
use testimony::storage::StatementRecords;

/// The English sentences a translated page must not show: every one-line
/// message of four words or more, without placeables, whose translation
/// differs from it.
fn english_sentences(lang: Lang) -> Vec<String> {
    let english = testimony::i18n::SOURCES[0].1;
    let theirs = Tr::new(lang);
    english
        .lines()
        .filter_map(|line| line.split_once(" = "))
        .filter(|(id, value)| !id.starts_with('#') && !value.contains('{') && value.split_whitespace().count() >= 4)
        .filter(|(id, value)| theirs.t(id.trim()) != *value)
        .map(|(_, value)| value.to_string())
        .collect()
}

fn check(page: &str, lang: Lang, what: &str) {
    let code = lang.code();
    assert!(page.contains(&format!("<html lang=\"{code}\"")), "{code} {what}: lang");
    if lang.is_rtl() {
        assert!(page.contains(&format!("<html lang=\"{code}\" dir=\"rtl\"")), "{code} {what}: dir");
    }
    let t = Tr::new(lang);
    if t.is_draft() {
        assert!(page.contains(&t.t("draft-notice")), "{code} {what}: the draft notice");
    }
    for sentence in english_sentences(lang) {
        assert!(!page.contains(&sentence), "{code} {what}: English left: {sentence}");
    }
}

#[tokio::test]
async fn every_witness_page_speaks_its_language_whole() {
    let site = Site::new();
    let server =
        InProcess::start(&site, Arc::new(ManualClock::at(Timestamp(1_795_950_000))), IntakeLimits::default()).await;
    let base = &server.public;
    for lang in testimony::i18n::available().into_iter().filter(|l| *l != Lang::En) {
        let code = lang.code();
        assert!(english_sentences(lang).len() > 150, "{code}: the check has sentences to look for");
        let get = |path: String| async move { http().get(path).send().await.unwrap().text().await.unwrap() };
        check(&get(format!("{base}/submit?lang={code}")).await, lang, "the form");
        check(&get(format!("{base}/followup?lang={code}")).await, lang, "the follow-up form");
        check(&get(format!("{base}/no-such-page?lang={code}")).await, lang, "404");

        // A form with a problem, then a good one, its receipt and the case.
        let bad = Form::new().text("consent_store", "yes").text("statement", "测试");
        let page = http().post(format!("{base}/submit?lang={code}")).multipart(bad).send().await.unwrap();
        assert_eq!(page.status(), 422);
        check(&page.text().await.unwrap(), lang, "the form with problems");
        let good = Form::new().text("role", "detained_self").text("consent_store", "yes").text("statement", "测试");
        let receipt_page = http()
            .post(format!("{base}/submit?lang={code}"))
            .multipart(good)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        check(&receipt_page, lang, "the receipt");
        let receipt = receipt_in(&receipt_page);
        let case = http()
            .post(format!("{base}/followup?lang={code}"))
            .form(&[("receipt", receipt.as_str())])
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        check(&case, lang, "the case page");
    }
    server.stop().await;
}

/// The system's copy of a face, or None where fonts-noto-core is not
/// installed (CI installs it, and must not skip).
fn system_font(file: &str) -> Option<Vec<u8>> {
    let path = std::path::Path::new(testimony::web::fonts::DEFAULT_DIR).join(file);
    match std::fs::read(&path) {
        Ok(bytes) => Some(bytes),
        Err(_) => {
            assert!(std::env::var_os("CI").is_none(), "CI must have fonts-noto-core installed (.ci/run installs it)");
            eprintln!("skipped: no {} here (apt-get install fonts-noto-core)", path.display());
            None
        }
    }
}

#[tokio::test]
async fn both_listeners_serve_the_arabic_script_and_tibetan_fonts_themselves() {
    use testimony::web::fonts::FACES;
    let site = Site::new();
    let server =
        InProcess::start(&site, Arc::new(ManualClock::at(Timestamp(1_795_950_000))), IntakeLimits::default()).await;
    for face in FACES {
        let Some(expected) = system_font(face.file) else { return };
        for base in [&server.public, &server.review] {
            let response = http().get(format!("{base}/static/fonts/{}.ttf", face.name)).send().await.unwrap();
            assert_eq!(response.status(), 200, "{base} {}", face.name);
            assert_eq!(response.headers()["content-type"], "font/ttf");
            let csp = response.headers()["content-security-policy"].to_str().unwrap().to_string();
            assert!(csp.contains("font-src 'self'"), "{csp}");
            assert_eq!(response.bytes().await.unwrap().as_ref(), &expected[..], "{}", face.name);
        }
    }
    for path in ["/static/fonts/other.ttf", "/static/fonts/..%2Fstyle.css", "/static/fonts/arabic"] {
        assert_eq!(http().get(format!("{}{path}", server.public)).send().await.unwrap().status(), 404, "{path}");
    }

    // Both stylesheets declare each face with the range of its script, read
    // from this server and nowhere else, and name it in their font stacks.
    for (base, sheet) in [(&server.public, "style.css"), (&server.review, "review.css")] {
        let css = http().get(format!("{base}/static/{sheet}")).send().await.unwrap().text().await.unwrap();
        for face in FACES {
            let url = format!("url(\"/static/fonts/{}.ttf\")", face.name);
            let rule =
                css.split("@font-face").find(|rule| rule.contains(&url)).unwrap_or_else(|| panic!("{sheet}: {url}"));
            assert!(rule.contains("unicode-range: U+"), "{sheet}: {} has no unicode-range", face.name);
        }
        assert_eq!(css.matches("url(").count(), FACES.len(), "{sheet} loads nothing else");
        assert!(css.contains("\"Testimony Arabic\"") && css.contains("\"Testimony Tibetan\""));
    }
    let css = testimony::web::assets::STYLE;
    let tibetan = css.split(":lang(bo) {").nth(1).unwrap();
    assert!(tibetan.split('}').next().unwrap().contains("line-height: 1.9"), "Tibetan needs room for its stacks");
    server.stop().await;
}

#[test]
fn a_server_without_the_fonts_says_how_to_get_them_and_serves_the_pages_anyway() {
    let site = Site::new();
    let empty = tempfile::tempdir().unwrap();
    let config = site.file("testimony.toml", format!("fonts_dir = \"{}\"\n", empty.path().display()).as_bytes());
    let server = site.serve(&["--config", config.to_str().unwrap()]);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let font = http().get(format!("{}/static/fonts/tibetan.ttf", server.public)).send().await.unwrap();
        assert_eq!(font.status(), 404);
        let form = http().get(format!("{}/submit?lang=bo", server.public)).send().await.unwrap();
        assert_eq!(form.status(), 200);
    });
    let (status, log) = server.stop();
    assert!(status.success(), "{log}");
    assert!(log.contains("fonts-noto-core") && log.contains("Tibetan"), "{log}");
}

/// The narrative as the reviewer's statement page shows it.
fn narrative_on(page: &str) -> &str {
    let start = page.find("<div class=\"narrative witness-text\" dir=\"auto\">").expect("a narrative") + 47;
    &page[start..start + page[start..].find("</div>").unwrap()]
}

/// (form language, statement): each in NFC, with what scripts make hard
/// (Tibetan stacks, a zero-width non-joiner, a character outside the
/// Basic Multilingual Plane, lines).
const STATEMENTS: [(&str, &str); 7] = [
    ("ug", "ئۇلار بىزنى كېچىسى ئېلىپ كەتتى.\nئۈرۈمچىدىكى لاگېردا ئۈچ يىل تۇردۇم؛ دوختۇر\u{200C}خانىغا ئاپارمىدى."),
    ("en", "Men Ürümchidiki lagérda üch yil turdum. (Written in Uyghur Latin letters.)"),
    ("zh-Hant", "他們在夜裡把我們帶走。\n我在烏魯木齊的醫院見到了張先生（𠮷）。"),
    ("zh-Hans", "他们把我们带到医院，后来又送到看守所。"),
    ("kk-Arab", "ولار ٴبىزدى تۇندە الىپ كەتتى.\nاۋرۋحاناعا اپاردى، ٴبىراق ەم جوق."),
    ("kk-Cyrl", "Бізді аурухана арқылы лагерьге апарды."),
    ("bo", "ང་ཚོ་མཚན་མོ་ཁྲིད་སོང་།\nལྷ་སའི་བཙོན་ཁང་དུ་ལོ་གསུམ་བསྡད། སྨན་ཁང་དུ་མ་ཁྲིད།"),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn statements_in_every_script_come_back_byte_identical_and_are_found_from_the_others() {
    let site = Site::new();
    let secret = secret_of(&site.init_stdout);
    let clock = Arc::new(ManualClock::at(Timestamp(1_795_950_000)));
    let server = InProcess::start(&site, clock.clone(), IntakeLimits::default()).await;
    for (lang, statement) in STATEMENTS {
        let form = Form::new().text("role", "detained_self").text("consent_store", "yes").text("statement", statement);
        let response =
            http().post(format!("{}/submit?lang={lang}", server.public)).multipart(form).send().await.unwrap();
        assert_eq!(response.status(), 200, "{lang}");
    }
    let ada = Reviewer::sign_in(&server, &site, "ada", &secret, &clock).await;

    // Each statement's page shows it byte for byte.
    let list = ada.get("/").await.text().await.unwrap();
    assert!(list.contains("7 statements"), "{list}");
    let ids: Vec<String> = server.state.store.submissions().map(|r| r.unwrap().id).collect();
    let mut shown = Vec::new();
    for id in &ids {
        let page = ada.get(&format!("/submissions/{id}")).await.text().await.unwrap();
        shown.push((id.clone(), narrative_on(&page).to_string()));
    }
    for (lang, statement) in STATEMENTS {
        assert!(shown.iter().any(|(_, text)| text.as_bytes() == statement.as_bytes()), "{lang} is not shown as sent");
    }

    // Search finds each from the other script, both ways; `q` is what a
    // reviewer types, `langs` the statements it must find (and no others).
    let cases: [(&str, &[&str]); 12] = [
        ("lagér", &["ug", "en"]),
        ("لاگېر", &["ug", "en"]),
        ("Ürümchi", &["ug", "en"]),
        ("醫院", &["zh-Hant", "zh-Hans"]),
        ("医院", &["zh-Hant", "zh-Hans"]),
        ("乌鲁木齐", &["zh-Hant"]),
        ("看守所", &["zh-Hans"]),
        ("аурухана", &["kk-Arab", "kk-Cyrl"]),
        ("اۋرۋحانا", &["kk-Arab", "kk-Cyrl"]),
        ("апарды", &["kk-Arab", "kk-Cyrl"]),
        ("ལྷ་ས", &["bo"]),
        ("تېلېفون", &[]),
    ];
    for (q, langs) in cases {
        let page = ada.client.get(format!("{}/", ada.base)).query(&[("q", q)]).header("Cookie", &ada.cookie);
        let page = page.send().await.unwrap().text().await.unwrap();
        let count = match langs.len() {
            1 => "1 statement ·".to_string(),
            n => format!("{n} statements ·"),
        };
        assert!(page.contains(&count), "{q}: {page}");
        for (lang, statement) in STATEMENTS {
            let first = statement.lines().next().unwrap();
            let first: String = first.chars().take(testimony::search::FIRST_LINE_CHARS).collect();
            assert_eq!(page.contains(first.trim_end()), langs.contains(&lang), "{q} and the {lang} statement");
        }
    }

    // And `export` writes each byte for byte, while the server runs.
    let out = site.root.path().join("export");
    let done = run(&[
        "export",
        "--data",
        site.data_arg(),
        "--recovery-key",
        site.recovery_key.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(done.status.success(), "{}", stderr(&done));
    let mut exported = Vec::new();
    for case in std::fs::read_dir(&out).unwrap() {
        let doc: serde_json::Value =
            serde_json::from_slice(&std::fs::read(case.unwrap().path().join("statement.json")).unwrap()).unwrap();
        exported.push(doc["statement"]["fields"]["statement"].as_str().unwrap().to_string());
    }
    for (lang, statement) in STATEMENTS {
        assert!(exported.iter().any(|text| text.as_bytes() == statement.as_bytes()), "{lang} is not exported as sent");
    }
    server.stop().await;
}

/// Posts a plain form as a browser that asks for English would.
async fn post_form(url: String, fields: &[(&str, &str)]) -> reqwest::Response {
    http().post(url).header("accept-language", "en").form(fields).send().await.unwrap()
}

/// The `action` of every form on a page.
fn actions(page: &str) -> Vec<&str> {
    page.match_indices("<form method=\"post\" action=\"")
        .map(|(at, m)| {
            let rest = &page[at + m.len()..];
            &rest[..rest.find('"').unwrap()]
        })
        .collect()
}

#[tokio::test]
async fn the_language_chosen_survives_every_post_and_a_receipt_survives_changing_it() {
    let site = Site::new();
    let server =
        InProcess::start(&site, Arc::new(ManualClock::at(Timestamp(1_795_950_000))), IntakeLimits::default()).await;
    let base = &server.public;
    // A browser that asks for English, and a witness who chose Uyghur.
    let form = Form::new().text("role", "detained_self").text("consent_store", "yes").text("statement", "بىز");
    let receipt_page = http()
        .post(format!("{base}/submit?lang=ug"))
        .header("accept-language", "en")
        .multipart(form)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(receipt_page.contains("<html lang=\"ug\" dir=\"rtl\">"));
    let receipt = receipt_in(&receipt_page);
    let main = |page: &str| page[page.find("<main>").unwrap()..].to_string();
    for action in actions(&main(&receipt_page)) {
        assert!(action.ends_with("lang=ug"), "{action}");
    }
    // The menu on the receipt page posts the receipt: the case opens in the
    // other language, and still shows the receipt to write down.
    let switch = "action=\"/followup?lang=zh-Hant\"><input type=\"hidden\" name=\"receipt\" value=\"";
    assert!(receipt_page.contains(switch), "the menu carries the receipt");
    let case = post_form(format!("{base}/followup?lang=zh-Hant"), &[("receipt", receipt.as_str())]).await;
    assert_eq!(case.status(), 200);
    let case = case.text().await.unwrap();
    assert!(case.contains("<html lang=\"zh-Hant\""));
    let digits: String = case.chars().filter(char::is_ascii_digit).collect();
    assert!(digits.contains(&receipt), "the case page shows the receipt");

    // Every form on the case page posts in the language chosen, and each
    // answer page keeps it.
    let case_ug =
        post_form(format!("{base}/followup?lang=ug"), &[("receipt", receipt.as_str())]).await.text().await.unwrap();
    let case_ug = main(&case_ug);
    let found = actions(&case_ug);
    assert!(found.len() >= 4, "{found:?}");
    for action in found {
        assert!(action.ends_with("lang=ug"), "{action}");
    }
    let fields = [("receipt", receipt.as_str()), ("message", "ياخشى")];
    let answered = post_form(format!("{base}/followup/answer?lang=ug"), &fields).await.text().await.unwrap();
    assert!(answered.contains("<html lang=\"ug\" dir=\"rtl\">"));
    let wrong = post_form(format!("{base}/followup?lang=ug"), &[("receipt", "1234")]).await;
    assert!(wrong.text().await.unwrap().contains("<html lang=\"ug\" dir=\"rtl\">"), "a refusal keeps it too");

    // A follow-up action's address opened as a page (a language link on
    // its answer) leads back to the follow-up form in that language.
    let no_redirects = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    for path in ["answer", "files", "consent", "withdraw", "manifest"] {
        let r = no_redirects.get(format!("{base}/followup/{path}?lang=bo")).send().await.unwrap();
        assert_eq!(r.status(), 303, "{path}");
        assert_eq!(r.headers()["location"], "/followup?lang=bo");
    }
    server.stop().await;
}
