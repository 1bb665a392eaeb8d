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
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use crate::audit::{Actor, Event, NewEntry};
use crate::auth::extract::SignedIn;
use crate::auth::session::SessionView;
use crate::crypto::{self, DeskIdentity};
use crate::i18n::{Lang, Tr};
use crate::intake::schema::{Kind, PARTS};
use crate::server::AppState;
use crate::storage::SubmissionRecord;
use crate::web::render;

use super::{Nav, message_page, not_found_page};

/// One row of the list.
struct Row {
    id: String,
    received: String,
    state: String,
    files: usize,
    channel: &'static str,
}

#[derive(Template)]
#[template(path = "review/list.html")]
struct ListPage {
    nav: Option<Nav>,
    rows: Vec<Row>,
    desks: usize,
}

pub async fn list(State(state): State<AppState>, SignedIn(session): SignedIn) -> Response {
    let mut rows: Vec<(crate::clock::Day, Row)> = Vec::new();
    for record in state.store.submissions() {
        let Ok(record) = record else { continue };
        if session.desk_key(&record.desk, record.key_generation).is_none() {
            continue;
        }
        rows.push((
            record.received,
            Row {
                files: record.files.len(),
                channel: match record.channel {
                    crate::storage::Channel::Web => "web",
                    crate::storage::Channel::Assisted => "assisted",
                },
                id: record.id,
                received: record.received.to_string(),
                state: record.state,
            },
        ));
    }
    rows.sort_by_key(|row| std::cmp::Reverse(row.0));
    let rows = rows.into_iter().take(50).map(|(_, r)| r).collect();
    render::page(&ListPage { nav: Some(Nav::of(&session)), rows, desks: session.desks.len() })
}

/// The record and the desk key to open it, or 404 for anyone who is not a
/// member of its desk (and for ids that do not exist: the same answer).
fn readable(
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
}

fn open_json(sealed: &crypto::Sealed, key: &DeskIdentity) -> Option<Value> {
    let plain = crypto::open(sealed.as_bytes(), key).ok()?;
    serde_json::from_slice(plain.as_bytes()).ok()
}

/// The form's fields with values, in form order, with English labels.
fn sections(fields: &serde_json::Map<String, Value>) -> Vec<Section> {
    let t = Tr::new(Lang::En);
    let mut out = Vec::new();
    for part in PARTS.iter() {
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
    render::page(&StatementPage {
        nav: Some(Nav::of(&session)),
        history,
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
