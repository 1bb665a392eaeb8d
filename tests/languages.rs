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
