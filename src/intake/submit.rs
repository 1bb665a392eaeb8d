//! `GET /submit` draws the form; `POST /submit` receives it as a stream,
//! seals it, and answers with the receipt only once everything is durable.
//!
//! Order of a good submission: every file is sealed into a pending object
//! as it arrives; the fields are validated; the objects are committed
//! (fsync, rename); the statement, identity, consent and manifest are
//! sealed into one record written with its receipt lookup and its deferred
//! audit event in one flushed transaction; then the receipt page is sent.
//! A refused or broken request drops its pending objects, which deletes them.

use std::time::Duration;

use askama::Template;
use axum::extract::{FromRequest, Multipart, Request, State};
use axum::http::{StatusCode, header};
use axum::response::Response;

use crate::case::{Filed, FiledFile, Intake, NewFile, NewStatement};
use crate::crypto::Recipient;
use crate::i18n::Tr;
use crate::state::AppState;
use crate::web::render;
use crate::web::slots::Slot;

use super::form::{self, FormValues, Problems};
use super::schema::{self, PARTS, Part};
use super::upload::FileSink;
use super::view::FormView;
use super::{IntakeState, WitnessLang, message_page};

#[derive(Template)]
#[template(path = "submit.html")]
struct FormPage<'a> {
    t: Tr,
    v: FormView<'a>,
    parts: Vec<&'static Part>,
    action: String,
    csrf: Option<&'a str>,
    choose_again: Vec<String>,
    /// Assisted intake (review side): files go on the form itself, as the
    /// investigator files everything at once.
    assisted: bool,
    /// Why the form is shown again although nothing in it is wrong (a
    /// refusal after the fields were read: too large, busy, disk full).
    notice: Option<String>,
}

fn form_page(
    t: Tr,
    status: StatusCode,
    values: &FormValues,
    problems: &Problems,
    choose_again: Vec<String>,
) -> Response {
    let action = format!("/submit?lang={}", t.html_lang());
    form_page_for(
        t,
        status,
        values,
        problems,
        choose_again,
        FormTarget { action, csrf: None, assisted: false, notice: None },
    )
}

/// Where a drawn form posts to: the public `/submit`, or the review
/// listener's assisted intake (with its CSRF token and extra part).
pub(crate) struct FormTarget<'a> {
    pub action: String,
    pub csrf: Option<&'a str>,
    pub assisted: bool,
    /// Why the form is shown again, when nothing in it is wrong.
    pub notice: Option<String>,
}

pub(crate) fn form_page_for(
    t: Tr,
    status: StatusCode,
    values: &FormValues,
    problems: &Problems,
    choose_again: Vec<String>,
    target: FormTarget<'_>,
) -> Response {
    let mut parts: Vec<&'static Part> = Vec::new();
    if target.assisted {
        parts.push(&schema::ASSISTED);
    }
    parts.extend(PARTS.iter());
    let page = FormPage {
        t,
        v: FormView { t, values, problems },
        parts,
        action: target.action,
        csrf: target.csrf,
        choose_again,
        assisted: target.assisted,
        notice: target.notice,
    };
    render::page_with_status(status, &page)
}

pub async fn form(WitnessLang(t): WitnessLang) -> Response {
    form_page(t, StatusCode::OK, &FormValues::default(), &Problems::default(), vec![])
}

/// Why a request was turned away before it was complete.
pub(crate) enum Refusal {
    TooLarge,
    TooManyFiles,
    Busy,
    DiskLow,
    Slow,
    Broken,
    Failed,
}

/// A refusal's status, title message id and text.
fn refusal_parts(t: Tr, refusal: &Refusal, limits: &crate::config::IntakeLimits) -> (StatusCode, &'static str, String) {
    match refusal {
        Refusal::TooLarge => (
            StatusCode::PAYLOAD_TOO_LARGE,
            "toolarge-title",
            t.t1("toolarge-text", "max", super::view::human_size(t, limits.max_submission_bytes)),
        ),
        Refusal::TooManyFiles => {
            (StatusCode::PAYLOAD_TOO_LARGE, "toolarge-title", t.t1("toomanyfiles-text", "max", limits.max_files))
        }
        Refusal::Busy => (StatusCode::SERVICE_UNAVAILABLE, "busy-title", t.t("busy-text")),
        Refusal::DiskLow => (StatusCode::SERVICE_UNAVAILABLE, "busy-title", t.t("disklow-text")),
        Refusal::Slow => (StatusCode::REQUEST_TIMEOUT, "slow-title", t.t("slow-text")),
        Refusal::Broken => (StatusCode::BAD_REQUEST, "broken-title", t.t("broken-text")),
        Refusal::Failed => (StatusCode::INTERNAL_SERVER_ERROR, "failed-title", t.t("failed-text")),
    }
}

pub(crate) fn refusal_page(t: Tr, refusal: Refusal, limits: &crate::config::IntakeLimits) -> Response {
    let (status, title, message) = refusal_parts(t, &refusal, limits);
    close_if_unread(message_page(t, status, title, message, "/submit"))
}

/// The form again, with everything the witness typed before the request
/// was cut, and why at the top: a refusal never loses their words.
fn refused_form(t: Tr, cut: Cut, state: &IntakeState) -> Response {
    if cut.values.is_empty() {
        return refusal_page(t, cut.refusal, &state.limits);
    }
    let (status, _, message) = refusal_parts(t, &cut.refusal, &state.limits);
    let action = format!("/submit?lang={}", t.html_lang());
    let notice = Some(format!("{message} {}", t.t("notice-kept-typed")));
    let target = FormTarget { action, csrf: None, assisted: false, notice };
    let page = form_page_for(t, status, &cut.values, &Problems::default(), cut.file_names, target);
    close_if_unread(page)
}

/// A response sent before the request body was read to its end tells the
/// client to stop sending.
fn close_if_unread(mut response: Response) -> Response {
    let status = response.status();
    if matches!(
        status,
        StatusCode::PAYLOAD_TOO_LARGE
            | StatusCode::BAD_REQUEST
            | StatusCode::REQUEST_TIMEOUT
            | StatusCode::SERVICE_UNAVAILABLE
    ) {
        response.headers_mut().insert(header::CONNECTION, header::HeaderValue::from_static("close"));
    }
    response
}

/// A body that could not be read: too slow, or broken.
fn body_refusal(e: &axum::extract::multipart::MultipartError) -> Refusal {
    let mut cause: Option<&dyn std::error::Error> = Some(e);
    while let Some(error) = cause {
        if error.to_string().contains(crate::web::min_rate::TOO_SLOW) {
            return Refusal::Slow;
        }
        cause = error.source();
    }
    Refusal::Broken
}

/// How many bytes of a request pass between two checks of the free space.
const SPACE_CHECK_EVERY: u64 = 8 << 20;

/// A body cut short: why, and what had been read of it by then.
pub(crate) struct Cut {
    pub refusal: Refusal,
    pub values: FormValues,
    pub file_names: Vec<String>,
}

impl From<Refusal> for Cut {
    fn from(refusal: Refusal) -> Cut {
        Cut { refusal, values: FormValues::default(), file_names: Vec::new() }
    }
}

/// Everything a multipart body carried.
pub(crate) struct Received {
    pub values: FormValues,
    pub uploads: Vec<NewFile>,
    /// Names of files whose slots were filled, for "choose these again".
    pub file_names: Vec<String>,
}

/// Checks that a new upload may start: a slot (free, or taken from the
/// slowest upload) and enough disk.
pub(crate) fn admit(state: &AppState) -> Result<Slot, Refusal> {
    let permit = state.intake.upload_slots.claim().ok_or(Refusal::Busy)?;
    let free = state.store.free_space().map_err(|_| Refusal::Failed)?;
    if free < state.intake.limits.min_free_disk_bytes {
        return Err(Refusal::DiskLow);
    }
    Ok(permit)
}

/// Refuses a body whose declared length is over the limit, before reading
/// any of it; otherwise opens it as multipart.
pub(crate) async fn open_multipart(state: &AppState, request: Request) -> Result<Multipart, Refusal> {
    if declared_too_large(state, &request) {
        return Err(Refusal::TooLarge);
    }
    open_multipart_anyway(request).await
}

/// Whether the request says up front that it is over the size limit.
pub(crate) fn declared_too_large(state: &AppState, request: &Request) -> bool {
    let limit = state.intake.limits.max_submission_bytes;
    request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        .is_some_and(|declared| declared > limit)
}

/// Opens the body as multipart whatever its declared size (the reader
/// then stops at the first file of a body declared too large, keeping the
/// text typed before it).
pub(crate) async fn open_multipart_anyway(request: Request) -> Result<Multipart, Refusal> {
    // The parser holds a part's headers whole: they get a hard limit here.
    let boundary = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(super::part_heads::boundary_of)
        .ok_or(Refusal::Broken)?;
    let request = request.map(|body| super::part_heads::guard(body, &boundary));
    Multipart::from_request(request, &()).await.map_err(|_| Refusal::Broken)
}

/// The most parts one request may have (the form sends a few hundred).
pub const MAX_PARTS: usize = 1000;

/// A text field may run this far past what its longest legal value takes
/// (the excess is read and dropped, and the value flagged as too long);
/// beyond, the request is refused. No browser sends more.
pub const TEXT_FIELD_SLACK: usize = 1 << 20;

/// How many bytes of a text field named `name` are kept (at most four
/// bytes per allowed character, so no legal value is ever cut), and whether
/// the field is kept at all (unknown names are read and dropped).
pub(crate) fn text_field_cap(find: fn(&str) -> Option<&'static schema::Field>, name: &str) -> (usize, bool) {
    let cap = find(name).map(|f| f.max_chars() * 4 + 8).unwrap_or(256);
    (cap, find(name).is_some() || name == schema::ATTACHMENT_METADATA)
}

/// Reads a multipart body as a stream: text fields into `values` (bounded),
/// files through [`FileSink`] (bounded in count and total size).
pub(crate) async fn receive(
    state: &AppState,
    multipart: Multipart,
    recipients: &[Recipient],
    slot: &Slot,
    files_refused: bool,
) -> Result<Received, Cut> {
    receive_fields(state, multipart, recipients, schema::find, slot, files_refused).await
}

/// As [`receive`], with the field lookup given: the public form's fields,
/// or those and the assisted-intake ones.
pub(crate) async fn receive_fields(
    state: &AppState,
    multipart: Multipart,
    recipients: &[Recipient],
    find: fn(&str) -> Option<&'static schema::Field>,
    upload: &Slot,
    files_refused: bool,
) -> Result<Received, Cut> {
    let mut received = Received { values: FormValues::default(), uploads: Vec::new(), file_names: Vec::new() };
    match receive_into(state, multipart, recipients, find, upload, files_refused, &mut received).await {
        Ok(()) => Ok(received),
        Err(refusal) => Err(Cut { refusal, values: received.values, file_names: received.file_names }),
    }
}

async fn receive_into(
    state: &AppState,
    mut multipart: Multipart,
    recipients: &[Recipient],
    find: fn(&str) -> Option<&'static schema::Field>,
    upload: &Slot,
    // The body was declared over the limit: read the text, refuse at the
    // first file (so the witness gets their words back, not an empty form).
    files_refused: bool,
    received: &mut Received,
) -> Result<(), Refusal> {
    let limits = &state.intake.limits;
    let idle = Duration::from_secs(limits.idle_timeout_secs);
    let mut total: u64 = 0;
    let mut slot = 0usize;

    // Each read: cut when idle too long, when the body falls below the
    // minimum rate (see `web::min_rate`), or when this upload's slot was
    // given to a newcomer because this was the slowest.
    macro_rules! within {
        ($future:expr) => {
            tokio::select! {
                _ = upload.evicted.notified() => return Err(Refusal::Busy),
                read = tokio::time::timeout(idle, $future) => match read {
                    Err(_) => return Err(Refusal::Slow),
                    Ok(Err(e)) => return Err(body_refusal(&e)),
                    Ok(Ok(value)) => value,
                },
            }
        };
    }
    // A submission already arriving may use up to half the disk reserve,
    // so one that started just above it can finish; below that it is
    // turned away (503) and its sealed parts deleted, and reviewers keep
    // the rest. Checked every few MiB: statvfs is cheap, not free.
    let stop_below = (limits.min_free_disk_bytes / 2).max(crate::storage::WRITE_FLOOR);
    let mut next_space_check: u64 = 0;
    let store = state.store.clone();
    let mut count = move |n: usize, total: &mut u64| -> Result<(), Refusal> {
        *total += n as u64;
        upload.moved(n as u64);
        if *total > limits.max_submission_bytes {
            return Err(Refusal::TooLarge);
        }
        if *total >= next_space_check {
            next_space_check = *total + SPACE_CHECK_EVERY;
            if store.free_space().map_err(|_| Refusal::Failed)? < stop_below {
                return Err(Refusal::DiskLow);
            }
        }
        Ok(())
    };
    let sealing_failed = |e: String| {
        if state.store.free_space().is_ok_and(|free| free < stop_below) {
            return Refusal::DiskLow;
        }
        tracing::error!(error = %e, "sealing an upload failed");
        Refusal::Failed
    };

    let mut parts = 0usize;
    while let Some(mut field) = within!(multipart.next_field()) {
        parts += 1;
        if parts > MAX_PARTS {
            return Err(Refusal::Broken);
        }
        let name = field.name().unwrap_or("").to_string();
        if name == "attachment" {
            let this_slot = slot;
            slot += 1;
            let file_name: String = field.file_name().unwrap_or("").chars().take(255).collect();
            let declared_type: String = field.content_type().unwrap_or("").chars().take(100).collect();
            let first = within!(field.chunk());
            if first.as_ref().is_none_or(|c| c.is_empty()) && file_name.is_empty() {
                continue; // an empty slot
            }
            if files_refused {
                return Err(Refusal::TooLarge);
            }
            if received.uploads.len() >= limits.max_files {
                return Err(Refusal::TooManyFiles);
            }
            let choice = received.values.metadata_choice(this_slot).to_string();
            let sink = FileSink::start(state.store.clone(), recipients.to_vec(), choice == "make_clean_copy");
            if let Some(chunk) = first {
                count(chunk.len(), &mut total)?;
                sink.send(chunk).await.map_err(sealing_failed)?;
            }
            while let Some(chunk) = within!(field.chunk()) {
                count(chunk.len(), &mut total)?;
                sink.send(chunk).await.map_err(sealing_failed)?;
            }
            let sealed = sink.finish().await.map_err(sealing_failed)?;
            received.file_names.push(file_name.clone());
            received.uploads.push(NewFile {
                slot: this_slot,
                name: file_name,
                declared_type,
                metadata_choice: choice,
                sealed,
            });
        } else {
            // A text field: at most four bytes per allowed character, so no
            // legal value is ever cut; anything longer is cut there and
            // flagged as too long by validation.
            let (cap, keep) = text_field_cap(find, &name);
            let mut bytes = zeroize::Zeroizing::new(Vec::new());
            let mut sent = 0usize;
            while let Some(chunk) = within!(field.chunk()) {
                count(chunk.len(), &mut total)?;
                sent += chunk.len();
                if sent > cap + TEXT_FIELD_SLACK {
                    return Err(Refusal::Broken);
                }
                let room = cap.saturating_sub(bytes.len());
                bytes.extend_from_slice(&chunk[..chunk.len().min(room)]);
            }
            if keep {
                let text = String::from_utf8_lossy(&bytes);
                received.values.push(&name, &text);
            }
        }
    }
    Ok(())
}

impl Received {
    /// The statement as the case layer files it.
    pub(crate) fn into_statement(self, form_language: &'static str, today: crate::clock::Day) -> NewStatement {
        let (fields, identity_fields) = form::documents(&self.values);
        let consent = form::consent_records(&self.values, today);
        NewStatement { fields, identity_fields, consent, files: self.uploads, form_language }
    }
}

pub async fn submit(State(state): State<AppState>, WitnessLang(t): WitnessLang, request: Request) -> Response {
    let _permit = match admit(&state) {
        Ok(permit) => permit,
        Err(refusal) => return refusal_page(t, refusal, &state.intake.limits),
    };
    let target = match state.cases.intake_target() {
        Ok(target) => target,
        Err(e) => {
            tracing::error!(error = %e, "cannot find the default desk");
            return refusal_page(t, Refusal::Failed, &state.intake.limits);
        }
    };
    let too_large = declared_too_large(&state, &request);
    let multipart = match open_multipart_anyway(request).await {
        Ok(multipart) => multipart,
        Err(refusal) => return refusal_page(t, refusal, &state.intake.limits),
    };
    let received = match receive(&state, multipart, &target.recipients(), &_permit, too_large).await {
        Ok(received) => received,
        Err(cut) => return refused_form(t, cut, &state.intake),
    };
    let problems = form::validate(&received.values, received.uploads.len());
    if !problems.is_empty() {
        // The files were sealed but are dropped here (deleted); the witness
        // is told which ones to choose again.
        return form_page(t, StatusCode::UNPROCESSABLE_ENTITY, &received.values, &problems, received.file_names);
    }
    let cases = state.cases.clone();
    let statement = received.into_statement(t.lang.code(), state.clock.today());
    let filed = tokio::task::spawn_blocking(move || cases.file(target, statement, Intake::Web)).await;
    match filed {
        Ok(Ok(done)) => receipt_page(t, &done),
        Ok(Err(crate::case::CaseError::DiskFull)) => refusal_page(t, Refusal::DiskLow, &state.intake.limits),
        Ok(Err(e)) => {
            tracing::error!(error = %e, "storing a submission failed");
            refusal_page(t, Refusal::Failed, &state.intake.limits)
        }
        Err(_) => refusal_page(t, Refusal::Failed, &state.intake.limits),
    }
}

#[derive(Template)]
#[template(path = "receipt.html")]
struct ReceiptPage<'a> {
    t: Tr,
    receipt: &'a str,
    receipt_digits: &'a str,
    day: &'a str,
    manifest_text: &'a str,
    statement_bytes: u64,
    statement_sha256: &'a str,
    files: &'a [FiledFile],
}

impl ReceiptPage<'_> {
    fn size(&self, bytes: &u64) -> String {
        super::view::human_size(self.t, *bytes)
    }

    fn clean(&self, file: &FiledFile) -> String {
        super::followup::clean_copy_text(self.t, file)
    }
}

pub(crate) fn receipt_page(t: Tr, done: &Filed) -> Response {
    let grouped = done.receipt.grouped();
    let manifest_text = done.manifest.to_file_text();
    render::page(&ReceiptPage {
        t,
        receipt: &grouped,
        receipt_digits: done.receipt.digits(),
        day: &done.day,
        manifest_text: &manifest_text,
        statement_bytes: done.manifest.manifest.statement.bytes,
        statement_sha256: &done.manifest.manifest.statement.sha256,
        files: &done.files,
    })
}
