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
use serde_json::{Value, json};
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::audit::{Event, witness};
use crate::crypto::{self, Recipient, WitnessIdentity, seal_to};
use crate::i18n::Tr;
use crate::server::AppState;
use crate::storage::{Author, SubmissionRecord, ThreadItem};
use crate::web::render;

use super::form::{CONSENT_TEXT_VERSION, FormValues};
use super::receipt::{Parsed, Receipt};
use super::schema::{self, FILE_SLOTS};
use super::submit::{self, Upload};
use super::{WitnessLang, message_page};

/// The key under which all failed receipts count together.
const EVERYONE: &str = "";

/// What a typed receipt led to.
enum Access {
    Open { record: Box<SubmissionRecord>, key: WitnessIdentity, receipt: Receipt },
    Mistyped,
    Unknown,
    Throttled(u64),
}

fn authenticate(state: &AppState, typed: &str) -> Result<Access, String> {
    let intake = &state.intake;
    if !intake.receipt_failures.allows(EVERYONE) {
        return Ok(Access::Throttled(intake.receipt_failures.retry_after(EVERYONE)));
    }
    let (receipt, parsed) = Receipt::parse(typed);
    let Some(receipt) = receipt.filter(|_| parsed == Parsed::Receipt) else {
        return Ok(Access::Mistyped);
    };
    let lookup = receipt.lookup(&state.store.receipt_lookup_key().map_err(|e| e.to_string())?);
    if !intake.receipt_attempts.take(&lookup) {
        return Ok(Access::Throttled(intake.receipt_attempts.retry_after(&lookup)));
    }
    match state.store.submission_by_receipt(&lookup).map_err(|e| e.to_string())? {
        Some(record) => {
            let key = receipt.witness_identity(&record.witness_salt);
            Ok(Access::Open { record: Box::new(record), key, receipt })
        }
        None => {
            intake.receipt_failures.take(EVERYONE);
            Ok(Access::Unknown)
        }
    }
}

/// The answer to anything but an opened case.
fn refused(t: Tr, access: &Access) -> Response {
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
        Access::Mistyped => form_with(t, StatusCode::UNPROCESSABLE_ENTITY, Some(t.t("receipt-mistyped"))),
        _ => form_with(t, StatusCode::NOT_FOUND, Some(t.t("receipt-unknown"))),
    }
}

#[derive(Template)]
#[template(path = "followup_form.html")]
struct FollowupForm {
    t: Tr,
    problem: Option<String>,
}

fn form_with(t: Tr, status: StatusCode, problem: Option<String>) -> Response {
    render::page_with_status(status, &FollowupForm { t, problem })
}

pub async fn form(WitnessLang(t): WitnessLang) -> Response {
    form_with(t, StatusCode::OK, None)
}

fn broken(t: Tr) -> Response {
    message_page(t, StatusCode::BAD_REQUEST, "broken-title", t.t("broken-text"), "/followup")
}

fn failed(t: Tr, e: impl std::fmt::Display) -> Response {
    tracing::error!(error = %e, "a follow-up action failed");
    message_page(t, StatusCode::INTERNAL_SERVER_ERROR, "failed-title", t.t("failed-text"), "/followup")
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
    file_slots: Vec<usize>,
    notice: Option<String>,
}

impl Drop for CasePage {
    fn drop(&mut self) {
        self.receipt.zeroize();
        for item in &mut self.items {
            item.text.zeroize();
        }
    }
}

fn open_json(sealed: &crypto::Sealed, key: &WitnessIdentity) -> Option<Value> {
    let plain = crypto::open(sealed.as_bytes(), key).ok()?;
    serde_json::from_slice(plain.as_bytes()).ok()
}

/// The consent levels a witness can change here: scope/recipient, field.
const CHANGEABLE: [(&str, &str, &str, &schema::Vocab); 6] = [
    ("share", "partners", "consent_partners", &schema::PARTNER_LEVEL),
    ("share", "official_bodies", "consent_official", &schema::PARTNER_LEVEL),
    ("aggregate_statistics", "organization", "consent_aggregate", &schema::YES_NO),
    ("public_use", "public", "consent_public", &schema::PUBLIC_USE),
    ("testify_publicly", "organization", "testify_publicly", &schema::TESTIFY),
    ("contact_again", "organization", "contact_again", &schema::YES_NO),
];

fn current_consent(record: &SubmissionRecord, key: &WitnessIdentity) -> Vec<Value> {
    record
        .consent
        .last()
        .and_then(|sealed| open_json(sealed, key))
        .and_then(|doc| doc.get("records").and_then(Value::as_array).cloned())
        .unwrap_or_default()
}

fn level_of(records: &[Value], scope: &str, recipient: &str) -> String {
    records
        .iter()
        .find(|r| r["scope"] == scope && r["recipient"] == recipient && r["revoked_at"].is_null())
        .and_then(|r| r["level"].as_str())
        .unwrap_or("no")
        .to_string()
}

fn case_page(
    t: Tr,
    record: &SubmissionRecord,
    key: &WitnessIdentity,
    receipt: &Receipt,
    notice: Option<String>,
) -> Response {
    let items = record
        .thread
        .iter()
        .filter_map(|item| {
            let doc = open_json(&item.message, key)?;
            Some(ShownItem {
                from_reviewer: item.author == Author::Reviewer,
                day: item.day.to_string(),
                text: doc["text"].as_str().unwrap_or("").to_string(),
                files: doc["files"]
                    .as_array()
                    .map(|fs| fs.iter().filter_map(|f| f["name"].as_str().map(str::to_string)).collect())
                    .unwrap_or_default(),
            })
        })
        .collect();
    let records = current_consent(record, key);
    let consent = CHANGEABLE
        .iter()
        .map(|(scope, recipient, field, vocab)| {
            let level = level_of(&records, scope, recipient);
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
        state_text: t.t(&format!("state-{}", record.state)),
        received: record.received.to_string(),
        withdrawn: record.state == "withdrawn",
        items,
        consent,
        file_slots: (0..FILE_SLOTS).collect(),
        notice,
    })
}

/// Runs `action` on an opened case, or answers as `refused` does.
async fn with_case(
    state: &AppState,
    t: Tr,
    typed: &str,
    action: impl FnOnce(Box<SubmissionRecord>, WitnessIdentity, Receipt) -> Response,
) -> Response {
    match authenticate(state, typed) {
        Ok(Access::Open { record, key, receipt }) => action(record, key, receipt),
        Ok(other) => refused(t, &other),
        Err(e) => failed(t, e),
    }
}

pub async fn open(
    State(state): State<AppState>,
    WitnessLang(t): WitnessLang,
    form: Result<Form<ReceiptForm>, FormRejection>,
) -> Response {
    let Ok(Form(form)) = form else { return broken(t) };
    let store = state.store.clone();
    with_case(&state, t, &form.receipt, |record, key, receipt| {
        let page = case_page(t, &record, &key, &receipt, None);
        // Replies are now read: mark them, so reviewers can see it.
        if record.thread.iter().any(|i| i.author == Author::Reviewer && i.unread) {
            let marked = store.modify_submission(&record.id, &[], |fresh| {
                for item in fresh.thread.iter_mut().filter(|i| i.author == Author::Reviewer) {
                    item.unread = false;
                }
                Ok(())
            });
            if let Err(e) = marked {
                tracing::error!(error = %e, "could not mark replies read");
            }
        }
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

/// The recipients of thread items: the case's desk key, recovery, witness.
fn thread_recipients(state: &AppState, record: &SubmissionRecord) -> Result<Vec<Recipient>, String> {
    let desk = state.store.desk(&record.desk).map_err(|e| e.to_string())?.ok_or("the case's desk is missing")?;
    let key =
        desk.keys.iter().find(|k| k.generation == record.key_generation).ok_or("the case's desk key is missing")?;
    let recovery = state.store.server().map_err(|e| e.to_string())?.recovery_recipient;
    Ok(vec![key.recipient.clone(), recovery, record.witness_recipient.clone()])
}

/// Adds a witness's message (and any files it brought) to the current
/// record, refusing if the statement was withdrawn meanwhile.
fn add_to_thread(
    state: &AppState,
    record: &mut SubmissionRecord,
    doc: &Value,
    event: Event,
    files: Vec<crate::storage::FileRecord>,
) -> Result<(), String> {
    let today = state.clock.today();
    let event = witness::deferred(today, event, &record.id);
    let updated = state
        .store
        .modify_submission(&record.id, &[event], |fresh| {
            if fresh.state == "withdrawn" {
                return Err("the statement was withdrawn".into());
            }
            let recipients = thread_recipients(state, fresh)?;
            let to: Vec<&Recipient> = recipients.iter().collect();
            let message = seal_to(doc.to_string().as_bytes(), &to).map_err(|e| e.to_string())?;
            fresh.thread.push(ThreadItem { author: Author::Witness, day: today, message, unread: true });
            fresh.files.extend(files.iter().cloned());
            Ok(())
        })
        .map_err(|e| e.to_string())?;
    *record = updated;
    state.search.refresh(&state.store, &record.id);
    Ok(())
}

pub async fn answer(
    State(state): State<AppState>,
    WitnessLang(t): WitnessLang,
    form: Result<Form<AnswerForm>, FormRejection>,
) -> Response {
    let Ok(Form(form)) = form else { return broken(t) };
    let text: String =
        unicode_normalization::UnicodeNormalization::nfc(form.message.replace("\r\n", "\n").as_str()).collect();
    with_case(&state, t, &form.receipt, |mut record, key, receipt| {
        if record.state == "withdrawn" {
            return case_page(t, &record, &key, &receipt, None);
        }
        let chars = text.chars().count();
        if text.trim().is_empty() || chars > schema::MEDIUM {
            let why =
                if chars > schema::MEDIUM { t.t1("e-too-long", "max", schema::MEDIUM) } else { t.t("answer-empty") };
            return case_page(t, &record, &key, &receipt, Some(why));
        }
        match add_to_thread(
            &state,
            &mut record,
            &json!({ "kind": "answer", "text": text }),
            Event::WitnessFollowUp,
            vec![],
        ) {
            Ok(()) => case_page(t, &record, &key, &receipt, Some(t.t("answer-sent"))),
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
    let typed = match multipart.next_field().await {
        Ok(Some(field)) if field.name() == Some("receipt") => match field.text().await {
            Ok(text) if text.len() < 256 => zeroize::Zeroizing::new(text),
            _ => return broken(t),
        },
        _ => return broken(t),
    };
    let (mut record, key, receipt) = match authenticate(&state, &typed) {
        Ok(Access::Open { record, key, receipt }) => (record, key, receipt),
        Ok(other) => return refused(t, &other),
        Err(e) => return failed(t, e),
    };
    if record.state == "withdrawn" {
        return case_page(t, &record, &key, &receipt, None);
    }
    let recipients = match thread_recipients(&state, &record) {
        // Files are sealed to the desk and recovery only, like the originals.
        Ok(r) => r[..2].to_vec(),
        Err(e) => return failed(t, e),
    };
    let received = match submit::receive(&state, multipart, &recipients).await {
        Ok(received) => received,
        Err(refusal) => return submit::refusal_page(t, refusal, &limits),
    };
    if received.uploads.is_empty() {
        return case_page(t, &record, &key, &receipt, Some(t.t("files-none")));
    }
    if let Some(problem) = metadata_problem(&received.values) {
        return case_page(t, &record, &key, &receipt, Some(t.t(problem)));
    }
    let store = state.store.clone();
    let today = state.clock.today();
    let first = record.files.len() + 1;
    let uploads: Vec<Upload> = received.uploads;
    let committed =
        match tokio::task::spawn_blocking(move || submit::commit_uploads(&store, uploads, today, first)).await {
            Ok(Ok(c)) => c,
            Ok(Err(e)) => return failed(t, e),
            Err(e) => return failed(t, e),
        };
    let doc = json!({ "kind": "files", "text": "", "files": committed.docs });
    let objects: Vec<_> =
        committed.records.iter().flat_map(|f| std::iter::once(f.object.clone()).chain(f.cleaned.clone())).collect();
    match add_to_thread(&state, &mut record, &doc, Event::WitnessFollowUp, committed.records) {
        Ok(()) => case_page(t, &record, &key, &receipt, Some(t.t("files-added"))),
        Err(e) => {
            // Not recorded (withdrawn meanwhile, or a failure): the files
            // must not stay behind.
            for object in objects {
                let _ = state.store.objects().remove(&object);
            }
            failed(t, e)
        }
    }
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
}

/// The next consent record: changed scopes are revoked and granted anew
/// (never rewritten), so the history of what was agreed stays visible.
fn next_consent(records: &[Value], changes: &[(&str, &str, String)], today: &str) -> Vec<Value> {
    let mut next: Vec<Value> = records.to_vec();
    for (scope, recipient, level) in changes {
        let current = level_of(records, scope, recipient);
        if current == *level {
            continue;
        }
        for r in next.iter_mut() {
            if r["scope"] == *scope && r["recipient"] == *recipient && r["revoked_at"].is_null() {
                r["revoked_at"] = json!(today);
            }
        }
        next.push(json!({
            "scope": scope, "recipient": recipient, "level": level,
            "granted_at": today, "text_version": CONSENT_TEXT_VERSION, "revoked_at": null,
        }));
    }
    next
}

fn seal_consent(state: &AppState, record: &mut SubmissionRecord, records: Vec<Value>) -> Result<(), String> {
    let recipients = thread_recipients(state, record)?;
    let to: Vec<&Recipient> = recipients.iter().collect();
    let doc = json!({ "format": "testimony-consent-v1", "records": records });
    record.consent.push(seal_to(doc.to_string().as_bytes(), &to).map_err(|e| e.to_string())?);
    Ok(())
}

pub async fn change_consent(
    State(state): State<AppState>,
    WitnessLang(t): WitnessLang,
    form: Result<Form<ConsentForm>, FormRejection>,
) -> Response {
    let Ok(Form(form)) = form else { return broken(t) };
    with_case(&state, t, &form.receipt, |mut record, key, receipt| {
        if record.state == "withdrawn" {
            return case_page(t, &record, &key, &receipt, None);
        }
        let mut changes = Vec::new();
        for (scope, recipient, field, vocab) in CHANGEABLE {
            let chosen = form.chosen(field);
            if chosen.is_empty() {
                continue;
            }
            if !vocab.contains(chosen) {
                return case_page(t, &record, &key, &receipt, Some(t.t("e-invalid-choice")));
            }
            changes.push((scope, recipient, chosen.to_string()));
        }
        let today = state.clock.today();
        let records = current_consent(&record, &key);
        if next_consent(&records, &changes, &today.to_string()).len() == records.len() {
            return case_page(t, &record, &key, &receipt, Some(t.t("consent-unchanged")));
        }
        let event = witness::deferred(today, Event::ConsentChanged, &record.id);
        // Applied to the current record: the consent as it is now.
        let updated = state.store.modify_submission(&record.id, &[event], |fresh| {
            if fresh.state == "withdrawn" {
                return Err("the statement was withdrawn".into());
            }
            let next = next_consent(&current_consent(fresh, &key), &changes, &today.to_string());
            seal_consent(&state, fresh, next)
        });
        match updated {
            Ok(fresh) => {
                *record = fresh;
                case_page(t, &record, &key, &receipt, Some(t.t("consent-saved")))
            }
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
    with_case(&state, t, &form.receipt, |mut record, key, receipt| {
        if record.state == "withdrawn" {
            return case_page(t, &record, &key, &receipt, None);
        }
        if form.confirm != "yes" {
            return case_page(t, &record, &key, &receipt, Some(t.t("withdraw-confirm-needed")));
        }
        let today = state.clock.today();
        let events = [
            witness::deferred(today, Event::ConsentWithdrawn, &record.id),
            // The purge itself is recorded too, by day, like the withdrawal.
            witness::deferred(today, Event::PurgeDone, &record.id),
        ];
        // Purge the current record: everything the witness sent or said
        // goes; it keeps only its id, day, state and the consent history.
        let mut objects = Vec::new();
        let purged = state.store.modify_submission(&record.id, &events, |fresh| {
            let revoked: Vec<Value> = current_consent(fresh, &key)
                .into_iter()
                .map(|mut r| {
                    if r["revoked_at"].is_null() {
                        r["revoked_at"] = json!(today.to_string());
                    }
                    r
                })
                .collect();
            seal_consent(&state, fresh, revoked)?;
            objects =
                fresh.files.iter().flat_map(|f| std::iter::once(f.object.clone()).chain(f.cleaned.clone())).collect();
            fresh.statement = None;
            fresh.identity = None;
            fresh.manifest = None;
            fresh.triage = None;
            fresh.files.clear();
            fresh.thread.clear();
            fresh.state = "withdrawn".into();
            Ok(())
        });
        match purged {
            Ok(fresh) => *record = fresh,
            Err(e) => return failed(t, e),
        }
        for object in objects {
            if let Err(e) = state.store.objects().remove(&object) {
                tracing::error!(error = %e, "could not remove a withdrawn file");
            }
        }
        state.search.refresh(&state.store, &record.id);
        case_page(t, &record, &key, &receipt, Some(t.t("withdrawn-done")))
    })
    .await
}

pub async fn manifest(
    State(state): State<AppState>,
    WitnessLang(t): WitnessLang,
    form: Result<Form<ReceiptForm>, FormRejection>,
) -> Response {
    let Ok(Form(form)) = form else { return broken(t) };
    with_case(&state, t, &form.receipt, |record, key, receipt| {
        let Some(sealed) = record.manifest.as_ref() else {
            return case_page(t, &record, &key, &receipt, Some(t.t("manifest-gone")));
        };
        match crypto::open(sealed.as_bytes(), &key) {
            Ok(plain) => {
                let name = format!("attachment; filename=\"testimony-manifest-{}.json\"", &record.id[..12]);
                let mut response = plain.as_bytes().to_vec().into_response();
                let headers = response.headers_mut();
                headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
                if let Ok(v) = HeaderValue::from_str(&name) {
                    headers.insert(header::CONTENT_DISPOSITION, v);
                }
                response
            }
            Err(e) => failed(t, e),
        }
    })
    .await
}
