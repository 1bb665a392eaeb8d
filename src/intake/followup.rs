//! The follow-up page: a witness comes back with their receipt to see the
//! state of their statement in plain words, read replies, answer, add
//! files, and change or withdraw consent. It never shows the statement, so
//! a receipt found on a detained witness's phone reveals as little as
//! possible.
//!
//! Every action re-checks the receipt through the same throttles: a burst
//! of failed receipts for everyone together, then a few a minute, and a
//! limit per receipt. A wrong receipt gets the same answer whether or not
//! the case exists; a mistyped one (the check digit fails) is told so,
//! which reveals nothing.

use askama::Template;
use axum::extract::rejection::FormRejection;
use axum::extract::{Form, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::case::documents::Scope;
use crate::case::receipt::{Parsed, Receipt};
use crate::case::{Added, CaseError, Cases, ConsentChange, FiledFile, WitnessAddition, WitnessCase};
use crate::i18n::Tr;
use crate::state::AppState;
use crate::web::render;

use super::form::FormValues;
use super::schema;
use super::submit;
use super::{WitnessLang, message_page};

/// The key under which all failed receipts count together.
const EVERYONE: &str = "";

/// What a typed receipt led to.
enum Access {
    Open { case: Box<WitnessCase>, receipt: Receipt },
    Mistyped,
    Unknown,
    Throttled(u64),
}

/// Checks a typed receipt through the throttles, then opens its case.
/// Blocking (a flushed store read on first use): called from
/// `spawn_blocking`.
fn authenticate(state: &AppState, typed: &str) -> Result<Access, CaseError> {
    let intake = &state.intake;
    if !intake.receipt_failures.allows(EVERYONE) {
        return Ok(Access::Throttled(intake.receipt_failures.retry_after(EVERYONE)));
    }
    let (receipt, parsed) = Receipt::parse(typed);
    let Some(receipt) = receipt.filter(|_| parsed == Parsed::Receipt) else {
        return Ok(Access::Mistyped);
    };
    let lookup = receipt.lookup(&state.store.receipt_lookup_key()?);
    if !intake.receipt_attempts.take(&lookup) {
        return Ok(Access::Throttled(intake.receipt_attempts.retry_after(&lookup)));
    }
    match state.cases.open_by_receipt(&receipt)? {
        Some(case) => Ok(Access::Open { case: Box::new(case), receipt }),
        None => {
            intake.receipt_failures.take(EVERYONE);
            Ok(Access::Unknown)
        }
    }
}

/// The answer to anything but an opened case.
fn refused(t: Tr, access: &Access, typed: &str) -> Response {
    match access {
        Access::Throttled(seconds) => {
            let minutes = seconds.div_ceil(60).max(1);
            let mut r = message_page(
                t,
                StatusCode::TOO_MANY_REQUESTS,
                "throttled-title",
                t.t1("throttled-text", "minutes", minutes),
                "/followup",
            );
            if let Ok(v) = HeaderValue::from_str(&seconds.to_string()) {
                r.headers_mut().insert(header::RETRY_AFTER, v);
            }
            r
        }
        // What was typed stays in the field, so one group can be corrected.
        Access::Mistyped => form_with(t, StatusCode::UNPROCESSABLE_ENTITY, Some(t.t("receipt-mistyped")), typed),
        _ => form_with(t, StatusCode::NOT_FOUND, Some(t.t("receipt-unknown")), typed),
    }
}

#[derive(Template)]
#[template(path = "followup_form.html")]
struct FollowupForm {
    t: Tr,
    problem: Option<String>,
    /// The receipt as typed, shown again after a mistake (at most 64
    /// characters; wiped when the page is dropped).
    typed: String,
}

impl Drop for FollowupForm {
    fn drop(&mut self) {
        self.typed.zeroize();
    }
}

fn form_with(t: Tr, status: StatusCode, problem: Option<String>, typed: &str) -> Response {
    let typed: String = typed.chars().take(64).collect();
    render::page_with_status(status, &FollowupForm { t, problem, typed })
}

pub async fn form(WitnessLang(t): WitnessLang) -> Response {
    form_with(t, StatusCode::OK, None, "")
}

fn broken(t: Tr) -> Response {
    message_page(t, StatusCode::BAD_REQUEST, "broken-title", t.t("broken-text"), "/followup")
}

fn failed(t: Tr, e: CaseError) -> Response {
    match e {
        // A full disk is the witness's to know about (come back later), not
        // a fault of ours to log.
        CaseError::DiskFull => {
            let limits = crate::config::IntakeLimits::default();
            super::submit::refusal_page(t, super::submit::Refusal::DiskLow, &limits)
        }
        e => {
            tracing::error!(error = %e, "a follow-up action failed");
            message_page(t, StatusCode::INTERNAL_SERVER_ERROR, "failed-title", t.t("failed-text"), "/followup")
        }
    }
}

/// A blocking task that panicked: a failure like any other.
fn crashed(t: Tr, e: tokio::task::JoinError) -> Response {
    failed(t, CaseError::Failed(e.to_string()))
}

#[derive(Deserialize, Zeroize, ZeroizeOnDrop)]
pub struct ReceiptForm {
    #[serde(default)]
    receipt: String,
}

/// One item of the thread, as the witness reads it.
struct ShownItem {
    from_reviewer: bool,
    day: String,
    text: String,
    files: Vec<String>,
}

/// One consent question: field name, label, and options (code, label, chosen).
type ConsentQuestion = (String, String, Vec<(String, String, bool)>);

#[derive(Template)]
#[template(path = "followup.html")]
struct CasePage {
    t: Tr,
    receipt: String,
    state_text: String,
    received: String,
    withdrawn: bool,
    items: Vec<ShownItem>,
    consent: Vec<ConsentQuestion>,
    additions: Vec<WitnessAddition>,
    notice: Option<String>,
    /// A made-up example (`testimony demo`).
    example: bool,
}

impl Drop for CasePage {
    fn drop(&mut self) {
        self.receipt.zeroize();
        for item in &mut self.items {
            item.text.zeroize();
        }
        for file in self.additions.iter_mut().flat_map(|a| a.files.iter_mut()) {
            file.name.zeroize();
        }
    }
}

/// The consent levels a witness can change here: scope/recipient, field.
const CHANGEABLE: [(Scope, &str, &str, &schema::Vocab); 6] = [
    (Scope::Share, "partners", "consent_partners", &schema::PARTNER_LEVEL),
    (Scope::Share, "official_bodies", "consent_official", &schema::PARTNER_LEVEL),
    (Scope::AggregateStatistics, "organization", "consent_aggregate", &schema::YES_NO),
    (Scope::PublicUse, "public", "consent_public", &schema::PUBLIC_USE),
    (Scope::TestifyPublicly, "organization", "testify_publicly", &schema::TESTIFY),
    (Scope::ContactAgain, "organization", "contact_again", &schema::YES_NO),
];

fn case_page(t: Tr, case: &WitnessCase, receipt: &Receipt, notice: Option<String>) -> Response {
    let view = case.view();
    let items = view
        .items
        .into_iter()
        .map(|item| ShownItem { from_reviewer: item.from_reviewer, day: item.day, text: item.text, files: item.files })
        .collect();
    let consent = CHANGEABLE
        .iter()
        .map(|(scope, recipient, field, vocab)| {
            let level = view.consent.level_or_no(*scope, recipient);
            let options = vocab
                .codes
                .iter()
                .map(|code| (code.to_string(), t.t(&format!("v-{}-{code}", vocab.id)), *code == level))
                .collect();
            (field.to_string(), t.t(&format!("f-{field}")), options)
        })
        .collect();
    render::page(&CasePage {
        t,
        receipt: receipt.grouped().to_string(),
        state_text: t.t(&format!("state-{}", view.state.code())),
        received: view.received,
        withdrawn: case.is_withdrawn(),
        items,
        consent,
        additions: case.additions(),
        notice,
        example: view.example,
    })
}

/// Runs `action` on an opened case, on a blocking thread (it reads and
/// writes the store), or answers as `refused` does.
async fn with_case(
    state: &AppState,
    t: Tr,
    typed: zeroize::Zeroizing<String>,
    action: impl FnOnce(&Cases, &mut WitnessCase, &Receipt) -> Response + Send + 'static,
) -> Response {
    let state = state.clone();
    let done = tokio::task::spawn_blocking(move || match authenticate(&state, &typed) {
        Ok(Access::Open { mut case, receipt }) => action(&state.cases, &mut case, &receipt),
        Ok(other) => refused(t, &other, &typed),
        Err(e) => failed(t, e),
    })
    .await;
    done.unwrap_or_else(|e| crashed(t, e))
}

fn typed(receipt: &str) -> zeroize::Zeroizing<String> {
    zeroize::Zeroizing::new(receipt.to_string())
}

pub async fn open(
    State(state): State<AppState>,
    WitnessLang(t): WitnessLang,
    form: Result<Form<ReceiptForm>, FormRejection>,
) -> Response {
    let Ok(Form(form)) = form else { return broken(t) };
    with_case(&state, t, typed(&form.receipt), move |cases, case, receipt| {
        let page = case_page(t, case, receipt, None);
        // Replies are now read: mark them, so reviewers can see it.
        cases.replies_read(case);
        page
    })
    .await
}

#[derive(Deserialize, Zeroize, ZeroizeOnDrop)]
pub struct AnswerForm {
    #[serde(default)]
    receipt: String,
    #[serde(default)]
    message: String,
}

pub async fn answer(
    State(state): State<AppState>,
    WitnessLang(t): WitnessLang,
    form: Result<Form<AnswerForm>, FormRejection>,
) -> Response {
    let Ok(Form(form)) = form else { return broken(t) };
    let text: String =
        unicode_normalization::UnicodeNormalization::nfc(form.message.replace("\r\n", "\n").as_str()).collect();
    with_case(&state, t, typed(&form.receipt), move |cases, case, receipt| {
        if case.is_withdrawn() {
            return case_page(t, case, receipt, None);
        }
        let chars = text.chars().count();
        if text.trim().is_empty() || chars > schema::MEDIUM {
            let why =
                if chars > schema::MEDIUM { t.t1("e-too-long", "max", schema::MEDIUM) } else { t.t("answer-empty") };
            return case_page(t, case, receipt, Some(why));
        }
        match cases.answer(case, text) {
            Ok(()) => case_page(t, case, receipt, Some(t.t("answer-sent"))),
            Err(e) => failed(t, e),
        }
    })
    .await
}

pub async fn add_files(State(state): State<AppState>, WitnessLang(t): WitnessLang, request: Request) -> Response {
    let limits = state.intake.limits.clone();
    let _permit = match submit::admit(&state) {
        Ok(permit) => permit,
        Err(refusal) => return submit::refusal_page(t, refusal, &limits),
    };
    let mut multipart = match submit::open_multipart(&state, request).await {
        Ok(m) => m,
        Err(refusal) => return submit::refusal_page(t, refusal, &limits),
    };
    // The receipt comes first in the form, so the files can be sealed to
    // the case's own desk key as they stream.
    // Read in chunks and given up past 256 bytes (a receipt is 28 digits):
    // never the whole of a field an attacker makes endless.
    let idle = std::time::Duration::from_secs(limits.idle_timeout_secs);
    let typed = match tokio::time::timeout(idle, multipart.next_field()).await {
        Ok(Ok(Some(mut field))) if field.name() == Some("receipt") => {
            let mut bytes = zeroize::Zeroizing::new(Vec::new());
            loop {
                match tokio::time::timeout(idle, field.chunk()).await {
                    Ok(Ok(Some(chunk))) if bytes.len() + chunk.len() < 256 => bytes.extend_from_slice(&chunk),
                    Ok(Ok(None)) => break,
                    _ => return broken(t),
                }
            }
            match String::from_utf8(bytes.to_vec()) {
                Ok(text) => zeroize::Zeroizing::new(text),
                Err(_) => return broken(t),
            }
        }
        _ => return broken(t),
    };
    let opened = {
        let state = state.clone();
        let typed = typed.clone();
        tokio::task::spawn_blocking(move || authenticate(&state, &typed)).await
    };
    let (mut case, receipt) = match opened {
        Ok(Ok(Access::Open { case, receipt })) => (case, receipt),
        Ok(Ok(other)) => return refused(t, &other, &typed),
        Ok(Err(e)) => return failed(t, e),
        Err(e) => return crashed(t, e),
    };
    if case.is_withdrawn() {
        return case_page(t, &case, &receipt, None);
    }
    let recipients = match state.cases.file_recipients(&case) {
        Ok(r) => r,
        Err(e) => return failed(t, e),
    };
    let received = match submit::receive(&state, multipart, &recipients, &_permit, false).await {
        Ok(received) => received,
        Err(cut) => return submit::refusal_page(t, cut.refusal, &limits),
    };
    if received.uploads.is_empty() {
        return case_page(t, &case, &receipt, Some(t.t("files-none")));
    }
    if let Some(problem) = metadata_problem(&received.values) {
        return case_page(t, &case, &receipt, Some(t.t(problem)));
    }
    let cases = state.cases.clone();
    let done = tokio::task::spawn_blocking(move || {
        let added = cases.add_files(&mut case, received.uploads);
        (case, added)
    })
    .await;
    match done {
        Ok((_, Ok(added))) => addition_page(t, &receipt, &added),
        Ok((_, Err(e))) => failed(t, e),
        Err(e) => crashed(t, e),
    }
}

/// One file of an addition as its receipt page shows it.
struct AddedRow {
    index: usize,
    name: String,
    bytes: u64,
    sha256: String,
    /// Whether a copy without hidden information was made, or why not.
    clean: String,
}

#[derive(Template)]
#[template(path = "addition.html")]
struct AdditionPage {
    t: Tr,
    receipt: String,
    day: String,
    sequence: usize,
    files: Vec<AddedRow>,
    proof_text: String,
}

impl Drop for AdditionPage {
    fn drop(&mut self) {
        self.receipt.zeroize();
        for file in &mut self.files {
            file.name.zeroize();
        }
    }
}

/// What became of a file's requested copy without hidden information.
pub(crate) fn clean_copy_text(t: Tr, file: &FiledFile) -> String {
    let id = match (file.cleaned, file.clean_refused.as_deref()) {
        (true, _) => "files-clean-made",
        (false, None) => "files-clean-not-asked",
        (false, Some("not_an_image")) => "files-clean-refused-not-image",
        (false, Some("damaged_image")) => "files-clean-refused-damaged",
        (false, Some("too_big")) => "files-clean-refused-too-big",
        (false, Some(_)) => "files-clean-refused",
    };
    t.t(id)
}

/// The receipt page of files added through the receipt: each file's
/// SHA-256 and the addition's signed proof, to keep and to download.
fn addition_page(t: Tr, receipt: &Receipt, added: &Added) -> Response {
    let files = added
        .files
        .iter()
        .map(|f| AddedRow {
            index: f.index,
            name: f.name.clone(),
            bytes: f.bytes,
            sha256: f.sha256.clone(),
            clean: clean_copy_text(t, f),
        })
        .collect();
    render::page(&AdditionPage {
        t,
        receipt: receipt.digits().to_string(),
        day: added.day.clone(),
        sequence: added.sequence,
        files,
        proof_text: added.proof.to_file_text(),
    })
}

fn metadata_problem(values: &FormValues) -> Option<&'static str> {
    values
        .all(schema::ATTACHMENT_METADATA)
        .iter()
        .any(|c| !schema::METADATA_CHOICE.contains(c))
        .then_some("e-invalid-choice")
}

#[derive(Deserialize, Zeroize, ZeroizeOnDrop)]
pub struct ConsentForm {
    #[serde(default)]
    receipt: String,
    #[serde(default)]
    consent_partners: String,
    #[serde(default)]
    consent_official: String,
    #[serde(default)]
    consent_aggregate: String,
    #[serde(default)]
    consent_public: String,
    #[serde(default)]
    testify_publicly: String,
    #[serde(default)]
    contact_again: String,
}

impl ConsentForm {
    fn chosen(&self, field: &str) -> &str {
        match field {
            "consent_partners" => &self.consent_partners,
            "consent_official" => &self.consent_official,
            "consent_aggregate" => &self.consent_aggregate,
            "consent_public" => &self.consent_public,
            "testify_publicly" => &self.testify_publicly,
            _ => &self.contact_again,
        }
    }

    /// The answers given, checked against their vocabularies.
    pub(crate) fn changes(&self) -> Result<Vec<ConsentChange>, ()> {
        let mut changes = Vec::new();
        for (scope, recipient, field, vocab) in CHANGEABLE {
            let chosen = self.chosen(field);
            if chosen.is_empty() {
                continue;
            }
            if !vocab.contains(chosen) {
                return Err(());
            }
            changes.push(ConsentChange { scope, recipient, level: chosen.to_string() });
        }
        Ok(changes)
    }
}

pub async fn change_consent(
    State(state): State<AppState>,
    WitnessLang(t): WitnessLang,
    form: Result<Form<ConsentForm>, FormRejection>,
) -> Response {
    let Ok(Form(form)) = form else { return broken(t) };
    let changes = form.changes();
    with_case(&state, t, typed(&form.receipt), move |cases, case, receipt| {
        if case.is_withdrawn() {
            return case_page(t, case, receipt, None);
        }
        let Ok(changes) = changes else {
            return case_page(t, case, receipt, Some(t.t("e-invalid-choice")));
        };
        match cases.change_consent(case, &changes) {
            Ok(true) => case_page(t, case, receipt, Some(t.t("consent-saved"))),
            Ok(false) => case_page(t, case, receipt, Some(t.t("consent-unchanged"))),
            Err(e) => failed(t, e),
        }
    })
    .await
}

#[derive(Deserialize, Zeroize, ZeroizeOnDrop)]
pub struct WithdrawForm {
    #[serde(default)]
    receipt: String,
    #[serde(default)]
    confirm: String,
}

pub async fn withdraw(
    State(state): State<AppState>,
    WitnessLang(t): WitnessLang,
    form: Result<Form<WithdrawForm>, FormRejection>,
) -> Response {
    let Ok(Form(form)) = form else { return broken(t) };
    let confirmed = form.confirm == "yes";
    with_case(&state, t, typed(&form.receipt), move |cases, case, receipt| {
        if case.is_withdrawn() {
            return case_page(t, case, receipt, None);
        }
        if !confirmed {
            return case_page(t, case, receipt, Some(t.t("withdraw-confirm-needed")));
        }
        match cases.withdraw(case) {
            Ok(()) => case_page(t, case, receipt, Some(t.t("withdrawn-done"))),
            Err(e) => failed(t, e),
        }
    })
    .await
}

#[derive(Deserialize, Zeroize, ZeroizeOnDrop)]
pub struct ManifestForm {
    #[serde(default)]
    receipt: String,
    /// Which addition's proof (1, 2, …); empty: the original manifest.
    #[serde(default)]
    addition: String,
}

/// Downloads the signed evidence manifest of the statement, or with
/// `addition=N` the signed proof of the Nth addition of files.
pub async fn manifest(
    State(state): State<AppState>,
    WitnessLang(t): WitnessLang,
    form: Result<Form<ManifestForm>, FormRejection>,
) -> Response {
    let Ok(Form(form)) = form else { return broken(t) };
    let addition = match form.addition.trim() {
        "" => None,
        n => Some(n.parse::<usize>().ok()),
    };
    with_case(&state, t, typed(&form.receipt), move |_, case, receipt| {
        let short = &case.id()[..12];
        let (plain, name) = match addition {
            None => (case.manifest(), format!("testimony-manifest-{short}.json")),
            Some(n) => (
                n.and_then(|n| case.addition(n)),
                format!("testimony-manifest-{short}-addition-{}.json", n.unwrap_or_default()),
            ),
        };
        let Some(plain) = plain else {
            let why =
                if addition.is_none() || case.is_withdrawn() { "manifest-gone" } else { "manifest-addition-missing" };
            return case_page(t, case, receipt, Some(t.t(why)));
        };
        let disposition = format!("attachment; filename=\"{name}\"");
        let mut response = plain.as_bytes().to_vec().into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
        if let Ok(v) = HeaderValue::from_str(&disposition) {
            headers.insert(header::CONTENT_DISPOSITION, v);
        }
        response
    })
    .await
}
