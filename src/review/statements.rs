//! The statements an account can read: those of the desks whose keys its
//! session holds. A statement of any other desk answers 404, and could not
//! be opened anyway: without the desk key there is no plaintext.
//!
//! Every view and download is written to the audit log *before* anything
//! is decrypted; if the log cannot be written the answer is 503 and nothing
//! is released. Files are only ever downloads, never shown in this origin.

use std::io::Read;
use std::sync::Arc;

use askama::Template;
use axum::body::{Body, Bytes};
use std::collections::HashSet;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use crate::audit::{Actor, Event, NewEntry};
use crate::auth::extract::SignedIn;
use crate::auth::session::SessionView;
use crate::crypto::{self, DeskIdentity};
use crate::i18n::{Lang, Tr};
use crate::intake::schema::{ASSISTED, Kind, PARTS};
use crate::search;
use crate::server::AppState;
use crate::storage::{DeskId, SubmissionRecord};

use super::triage;
use crate::web::render;

use super::{Nav, message_page, not_found_page};

const PER_PAGE: usize = 50;

#[derive(serde::Deserialize, Default)]
pub struct ListQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    state: String,
    #[serde(default)]
    priority: String,
    #[serde(default)]
    flag: String,
    #[serde(default)]
    label: String,
    #[serde(default)]
    desk: String,
    #[serde(default)]
    language: String,
    #[serde(default)]
    community: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    files: String,
    #[serde(default)]
    mine: String,
    #[serde(default)]
    page: usize,
}

impl ListQuery {
    /// The query string for another page (or another state) of this list.
    fn link(&self, page: usize, state: Option<&str>) -> String {
        serde_urlencoded::to_string([
            ("q", self.q.as_str()),
            ("state", state.unwrap_or(&self.state)),
            ("priority", &self.priority),
            ("flag", &self.flag),
            ("label", &self.label),
            ("desk", &self.desk),
            ("language", &self.language),
            ("community", &self.community),
            ("role", &self.role),
            ("files", &self.files),
            ("mine", &self.mine),
            ("page", &page.to_string()),
        ])
        .unwrap_or_default()
    }
}

/// One row of the list.
struct Row {
    id: String,
    received: String,
    state: String,
    priority: String,
    flags: String,
    language: String,
    roles: String,
    files: usize,
    channel: &'static str,
    unread: bool,
}

#[derive(Template)]
#[template(path = "review/list.html")]
struct ListPage {
    nav: Option<Nav>,
    rows: Vec<Row>,
    desks: Vec<(String, String)>,
    query: ListQuery,
    matching: usize,
    page: usize,
    pages: usize,
    counts: Vec<(String, usize, String)>,
    building: Option<(usize, usize)>,
    prev: String,
    next: String,
    states: &'static [&'static str],
    priorities: &'static [&'static str],
    flags: &'static [&'static str],
}

pub async fn list(
    State(state): State<AppState>,
    SignedIn(session): SignedIn,
    Query(mut query): Query<ListQuery>,
) -> Response {
    query.page = query.page.min(1_000_000);
    let desks: HashSet<DeskId> = session.desks.keys().cloned().collect();
    // A desk granted while signed in may not be indexed yet.
    state.search.ensure(&state.store, &session.desks);
    // A small desk is decrypted in moments: wait a little for it rather
    // than show a half-empty list; a large one shows its progress instead.
    let mut progress = state.search.progress(&desks);
    for _ in 0..20 {
        if progress.done >= progress.total {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        progress = state.search.progress(&desks);
    }
    let q = search::Query {
        text: query.q.chars().take(200).collect(),
        state: query.state.clone(),
        priority: query.priority.clone(),
        flag: query.flag.clone(),
        label: query.label.trim().to_lowercase(),
        desk: query.desk.clone(),
        language: query.language.clone(),
        community: query.community.clone(),
        role: query.role.clone(),
        has_files: query.files == "yes",
        assigned_to: (query.mine == "yes").then(|| session.account.to_string()),
    };
    let index = state.search.clone();
    let page_no = query.page;
    let found = tokio::task::spawn_blocking(move || index.search(&desks, &q, page_no, PER_PAGE)).await;
    let Ok(found) = found else { return message_page(StatusCode::INTERNAL_SERVER_ERROR, "Something went wrong.") };
    let pages = found.matching.div_ceil(PER_PAGE).max(1);
    let rows = found
        .entries
        .into_iter()
        .map(|e| Row {
            id: e.id,
            received: e.received.to_string(),
            state: e.state,
            priority: e.priority,
            flags: e.flags.join(", "),
            language: e.language,
            roles: e.roles.join(", "),
            files: e.files,
            channel: match e.channel {
                crate::storage::Channel::Web => "web",
                crate::storage::Channel::Assisted => "assisted",
            },
            unread: e.unread,
        })
        .collect();
    let counts = found.counts.into_iter().map(|(s, n)| (query.link(0, Some(&s)), n, s)).collect();
    let desk_names = state
        .store
        .desks()
        .unwrap_or_default()
        .into_iter()
        .filter(|d| session.desks.contains_key(&d.id))
        .map(|d| (d.id.0, d.name))
        .collect();
    let building = (progress.done < progress.total).then_some((progress.done, progress.total));
    render::page(&ListPage {
        nav: Some(Nav::of(&session)),
        rows,
        desks: desk_names,
        prev: query.link(query.page.saturating_sub(1), None),
        next: query.link(query.page + 1, None),
        matching: found.matching,
        page: query.page,
        pages,
        counts,
        building,
        query,
        states: &triage::STATES,
        priorities: &triage::PRIORITIES,
        flags: &triage::FLAGS,
    })
}

/// The record and the desk key to open it, or 404 for anyone who is not a
/// member of its desk (and for ids that do not exist: the same answer).
pub fn readable(
    state: &AppState,
    session: &SessionView,
    id: &str,
) -> Result<(SubmissionRecord, Arc<DeskIdentity>), Response> {
    let valid = id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit());
    if !valid {
        return Err(not_found_page());
    }
    let record = match state.store.submission(id) {
        Ok(Some(record)) => record,
        Ok(None) => return Err(not_found_page()),
        Err(e) => {
            tracing::error!(error = %e, "cannot read a submission");
            return Err(message_page(StatusCode::INTERNAL_SERVER_ERROR, "Something went wrong."));
        }
    };
    match session.desk_key(&record.desk, record.key_generation) {
        Some(key) => Ok((record, key)),
        None => Err(not_found_page()),
    }
}

/// Writes an audit entry before content is released; 503 if it cannot.
async fn audit_first(state: &AppState, entry: NewEntry) -> Result<(), Response> {
    let audit = state.audit.clone();
    match tokio::task::spawn_blocking(move || audit.append(entry)).await {
        Ok(Ok(())) => Ok(()),
        _ => Err(message_page(
            StatusCode::SERVICE_UNAVAILABLE,
            "The audit log cannot be written, so nothing can be shown. Tell an administrator.",
        )),
    }
}

/// A labelled value of the statement, for display.
struct Item {
    label: String,
    value: String,
}

struct Section {
    title: String,
    items: Vec<Item>,
}

struct FileRow {
    index: usize,
    name: String,
    declared_type: String,
    bytes: u64,
    sha256: String,
    metadata_choice: String,
    has_clean_copy: bool,
    warn_metadata: bool,
}

struct ConsentRow {
    scope: String,
    recipient: String,
    level: String,
    granted_at: String,
    revoked_at: String,
}

struct ThreadRow {
    from_reviewer: bool,
    day: String,
    text: String,
    unread: bool,
}

#[derive(Template)]
#[template(path = "review/statement.html")]
struct StatementPage {
    nav: Option<Nav>,
    id: String,
    received: String,
    state: String,
    narrative: String,
    sections: Vec<Section>,
    files: Vec<FileRow>,
    consent: Vec<ConsentRow>,
    thread: Vec<ThreadRow>,
    withdrawn: bool,
    history: Vec<super::audit_view::Shown>,
    triage: triage::Triage,
    labels: String,
    corroborated_by: String,
    members: Vec<String>,
    csrf: String,
    widest_publication: &'static str,
    partners: Vec<(String, String)>,
    other_desks: Vec<(String, String)>,
    states: &'static [&'static str],
    priorities: &'static [&'static str],
    flags: &'static [&'static str],
    reliability: &'static [&'static str],
    corroboration: &'static [&'static str],
    violation: &'static [&'static str],
    verification: &'static [&'static str],
    publication: &'static [&'static str],
}

fn open_json(sealed: &crypto::Sealed, key: &DeskIdentity) -> Option<Value> {
    let plain = crypto::open(sealed.as_bytes(), key).ok()?;
    serde_json::from_slice(plain.as_bytes()).ok()
}

/// The form's fields with values, in form order, with English labels.
fn sections(fields: &serde_json::Map<String, Value>) -> Vec<Section> {
    let t = Tr::new(Lang::En);
    let mut out = Vec::new();
    for part in std::iter::once(&*ASSISTED).chain(PARTS.iter()) {
        let mut items = Vec::new();
        for group in &part.groups {
            for field in &group.fields {
                if field.name == "statement" {
                    continue;
                }
                let Some(value) = fields.get(&field.name) else { continue };
                let text = match (&field.kind, value) {
                    (Kind::Multi { vocab }, Value::Array(codes)) => codes
                        .iter()
                        .filter_map(Value::as_str)
                        .map(|c| t.t(&format!("v-{}-{c}", vocab.id)))
                        .collect::<Vec<_>>()
                        .join("; "),
                    (Kind::Choice { vocab, .. }, Value::String(code)) => t.t(&format!("v-{}-{code}", vocab.id)),
                    (Kind::Check, _) => "yes".into(),
                    (_, Value::String(s)) => s.clone(),
                    (_, other) => other.to_string(),
                };
                let label = match field.slot {
                    Some(n) => format!("{} ({n})", t.t(&format!("f-{}", field.base))),
                    None => t.t(&format!("f-{}", field.base)),
                };
                items.push(Item { label, value: text });
            }
        }
        if !items.is_empty() {
            out.push(Section { title: t.t(&format!("part-{}", part.id)), items });
        }
    }
    out
}

pub async fn show(State(state): State<AppState>, SignedIn(session): SignedIn, Path(id): Path<String>) -> Response {
    let (record, key) = match readable(&state, &session, &id) {
        Ok(found) => found,
        Err(response) => return response,
    };
    let entry =
        NewEntry::by(Actor::Account(session.account.to_string()), Event::StatementViewed).on(record.id.as_str());
    if let Err(response) = audit_first(&state, entry).await {
        return response;
    }
    let statement = record.statement.as_ref().and_then(|s| open_json(s, &key)).unwrap_or(Value::Null);
    let identity = record.identity.as_ref().and_then(|s| open_json(s, &key)).unwrap_or(Value::Null);
    let mut fields = statement["fields"].as_object().cloned().unwrap_or_default();
    if let Some(identity_fields) = identity["fields"].as_object() {
        fields.extend(identity_fields.clone());
    }
    let narrative = fields.get("statement").and_then(Value::as_str).unwrap_or("").to_string();
    let files = statement["files"]
        .as_array()
        .map(|files| {
            files
                .iter()
                .map(|f| {
                    let declared = f["declared_type"].as_str().unwrap_or("").to_string();
                    FileRow {
                        index: f["index"].as_u64().unwrap_or(0) as usize,
                        name: f["name"].as_str().unwrap_or("").to_string(),
                        warn_metadata: f["metadata_choice"] == "keep_original"
                            && (declared.starts_with("image/")
                                || declared.starts_with("audio/")
                                || declared.starts_with("video/")
                                || declared == "application/pdf"),
                        declared_type: declared,
                        bytes: f["bytes"].as_u64().unwrap_or(0),
                        sha256: f["sha256"].as_str().unwrap_or("").to_string(),
                        metadata_choice: f["metadata_choice"].as_str().unwrap_or("").to_string(),
                        has_clean_copy: !f["cleaned_copy"].is_null(),
                    }
                })
                .collect()
        })
        .unwrap_or_default();
    let consent = record
        .consent
        .last()
        .and_then(|s| open_json(s, &key))
        .and_then(|doc| doc["records"].as_array().cloned())
        .unwrap_or_default()
        .iter()
        .map(|r| ConsentRow {
            scope: r["scope"].as_str().unwrap_or("").into(),
            recipient: r["recipient"].as_str().unwrap_or("").into(),
            level: r["level"].as_str().unwrap_or("").into(),
            granted_at: r["granted_at"].as_str().unwrap_or("").into(),
            revoked_at: r["revoked_at"].as_str().unwrap_or("").into(),
        })
        .collect();
    let thread = record
        .thread
        .iter()
        .filter_map(|item| {
            let doc = open_json(&item.message, &key)?;
            let mut text = doc["text"].as_str().unwrap_or("").to_string();
            if let Some(files) = doc["files"].as_array() {
                let names: Vec<&str> = files.iter().filter_map(|f| f["name"].as_str()).collect();
                text = format!("{text}[files added: {}]", names.join(", "));
            }
            Some(ThreadRow {
                from_reviewer: item.author == crate::storage::Author::Reviewer,
                day: item.day.to_string(),
                text,
                unread: item.unread,
            })
        })
        .collect();
    let history = super::audit_view::history_of(&state, &record.id);
    let record_desk = record.desk.clone();
    let triage = super::actions::load_triage(&record, &key);
    let consent_records = super::actions::latest_consent(&record, &key);
    let widest_publication = triage::PUBLICATION[triage::widest_publication_allowed(&consent_records)];
    let members = state
        .store
        .desk_holders(&record.desk, record.key_generation)
        .unwrap_or_default()
        .into_iter()
        .filter_map(|h| match h {
            crate::storage::Holder::Account(n) => Some(n.to_string()),
            crate::storage::Holder::Recovery => None,
        })
        .collect();
    // The witness's new messages have now been seen by a reviewer.
    if record.thread.iter().any(|i| i.unread && i.author == crate::storage::Author::Witness) {
        let seen = state.store.modify_submission(&record.id, &[], |fresh| {
            for item in fresh.thread.iter_mut().filter(|i| i.author == crate::storage::Author::Witness) {
                item.unread = false;
            }
            Ok(())
        });
        if seen.is_ok() {
            state.search.refresh(&state.store, &record.id);
        }
    }
    render::page(&StatementPage {
        nav: Some(Nav::of(&session)),
        history,
        labels: triage.labels.iter().cloned().collect::<Vec<_>>().join(" "),
        corroborated_by: triage.evaluation.corroborated_by.join(" "),
        triage,
        members,
        csrf: session.csrf.clone(),
        widest_publication,
        partners: state.store.partners().unwrap_or_default().into_iter().map(|p| (p.id, p.name)).collect(),
        other_desks: state
            .store
            .desks()
            .unwrap_or_default()
            .into_iter()
            .filter(|d| session.desks.contains_key(&d.id) && d.id != record_desk)
            .map(|d| (d.id.0, d.name))
            .collect(),
        states: &triage::STATES,
        priorities: &triage::PRIORITIES,
        flags: &triage::FLAGS,
        reliability: &triage::SOURCE_RELIABILITY,
        corroboration: &triage::CORROBORATION,
        violation: &triage::VIOLATION_STATUS,
        verification: &triage::VERIFICATION,
        publication: &triage::PUBLICATION,
        withdrawn: record.state == "withdrawn",
        id: record.id,
        received: record.received.to_string(),
        state: record.state,
        narrative,
        sections: sections(&fields),
        files,
        consent,
        thread,
    })
}

#[derive(serde::Deserialize)]
pub struct DownloadQuery {
    #[serde(default)]
    copy: Option<String>,
}

pub async fn download(
    State(state): State<AppState>,
    SignedIn(session): SignedIn,
    Path((id, index)): Path<(String, usize)>,
    query: axum::extract::Query<DownloadQuery>,
) -> Response {
    let (record, key) = match readable(&state, &session, &id) {
        Ok(found) => found,
        Err(response) => return response,
    };
    let Some(file) = index.checked_sub(1).and_then(|i| record.files.get(i)) else {
        return not_found_page();
    };
    let clean = query.copy.as_deref() == Some("clean");
    let object = match (clean, &file.cleaned) {
        (false, _) => file.object.clone(),
        (true, Some(cleaned)) => cleaned.clone(),
        (true, None) => return not_found_page(),
    };
    let label = if clean { format!("{index}-clean") } else { index.to_string() };
    let entry =
        NewEntry::by(Actor::Account(session.account.to_string()), Event::FileDownloaded { file: label.clone() })
            .on(record.id.as_str());
    if let Err(response) = audit_first(&state, entry).await {
        return response;
    }
    let sealed = match state.store.objects().read(&object) {
        Ok(reader) => reader,
        Err(_) => return not_found_page(),
    };
    // Decrypt on a blocking thread, a chunk at a time, into the response.
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(4);
    tokio::task::spawn_blocking(move || {
        let mut reader = match crypto::open_stream(sealed, key.as_ref()) {
            Ok(r) => r,
            Err(e) => {
                let _ = tx.blocking_send(Err(std::io::Error::other(e.to_string())));
                return;
            }
        };
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            match reader.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => {
                    if tx.blocking_send(Ok(Bytes::copy_from_slice(&buf[..n]))).is_err() {
                        break;
                    }
                }
                Err(e) => {
                    let _ = tx.blocking_send(Err(e));
                    break;
                }
            }
        }
    });
    let stream = futures_util::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|item| (item, rx)) });
    let mut response = Body::from_stream(stream).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/octet-stream"));
    // The file name is ours, not the witness's: nothing they chose reaches
    // a header, and the browser can only save it.
    let name = format!("attachment; filename=\"statement-{}-file-{label}.bin\"", &record.id[..12]);
    if let Ok(v) = HeaderValue::from_str(&name) {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    if !clean {
        // The plaintext size of an original is on record; a cleaned copy's
        // is inside the sealed statement, so it goes chunked.
        headers.insert(header::CONTENT_LENGTH, HeaderValue::from(file.bytes));
    }
    response
}
