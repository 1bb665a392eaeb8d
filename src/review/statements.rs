//! The statements an account can read: those of the desks whose keys its
//! session holds (the [`Statement`] extractor; any other answers 404, and
//! could not be opened anyway: without the desk key there is no plaintext).
//!
//! Every view and download is written to the audit log *before* anything
//! is decrypted (the case layer releases content only against an audit
//! permit); if the log cannot be written the answer is 503 and nothing is
//! released. Files are only ever downloads, never shown in this origin.

use std::collections::HashSet;
use std::io::Read;

use askama::Template;
use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use crate::auth::extract::{SignedIn, Statement};
use crate::case::StatementView;
use crate::case::{names, triage};
use crate::i18n::{Lang, Message, Tr};
use crate::intake::schema::{ASSISTED, COMMUNITIES, Kind, PARTS, ROLES};
use crate::search;
use crate::state::AppState;
use crate::storage::DeskId;
use crate::web::render;

use super::{Nav, blocking, message_page, tr};

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
    /// `pending` or `overdue`: see [`search::Query::screen`].
    #[serde(default)]
    screen: String,
    #[serde(default)]
    page: usize,
}

impl ListQuery {
    /// The query string for another page (or another state) of this list.
    fn link(&self, page: usize, state: Option<&str>) -> String {
        self.link_with(page, state.unwrap_or(&self.state), &self.screen)
    }

    /// The query string for the statements of this list, in any state,
    /// whose safety screen is overdue.
    fn overdue_link(&self) -> String {
        self.link_with(0, "", "overdue")
    }

    fn link_with(&self, page: usize, state: &str, screen: &str) -> String {
        serde_urlencoded::to_string([
            ("q", self.q.as_str()),
            ("state", state),
            ("priority", &self.priority),
            ("flag", &self.flag),
            ("label", &self.label),
            ("desk", &self.desk),
            ("language", &self.language),
            ("community", &self.community),
            ("role", &self.role),
            ("files", &self.files),
            ("mine", &self.mine),
            ("screen", screen),
            ("page", &page.to_string()),
        ])
        .unwrap_or_default()
    }
}

/// One row of the list.
struct Row {
    id: String,
    /// The id's first characters, for the eye (the full id is its title).
    short_id: String,
    /// The narrative's first line, short (see `search::first_line`);
    /// empty when there is no written narrative.
    first_line: String,
    /// Flagged as describing sexual violence: the first line waits behind
    /// a content warning.
    content_warning: bool,
    received: String,
    state: &'static str,
    priority: String,
    flags: Vec<String>,
    language: String,
    roles: Vec<String>,
    files: usize,
    channel: &'static str,
    unread: bool,
    /// Waiting for its safety screen: the day it is due by, and whether
    /// that day has passed.
    screen: Option<(String, bool)>,
    /// A made-up example (`testimony demo`), badged as such.
    example: bool,
}

/// How many characters of a statement id the list shows. Ids are random,
/// so eight hex digits tell a desk's statements apart at a glance; the
/// full id is in the link and its title.
pub const SHORT_ID: usize = 8;

pub fn short_id(id: &str) -> String {
    id.chars().take(SHORT_ID).collect()
}

#[derive(Template)]
#[template(path = "review/list.html")]
struct ListPage {
    t: Tr,
    nav: Option<Nav>,
    rows: Vec<Row>,
    desks: Vec<(String, String)>,
    query: ListQuery,
    matching: usize,
    page: usize,
    pages: usize,
    counts: Vec<(String, usize, String)>,
    /// Overdue safety screens among the statements the other filters
    /// match, and the link that lists them.
    screen_overdue: usize,
    screen_overdue_link: String,
    building: Option<(usize, usize)>,
    prev: String,
    next: String,
    states: &'static [&'static str],
    priorities: &'static [&'static str],
    flags: &'static [&'static str],
    roles: &'static [&'static str],
    communities: &'static [&'static str],
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
    let today = state.clock.today();
    let q = search::Query {
        text: query.q.chars().take(200).collect(),
        state: query.state.clone(),
        priority: query.priority.clone(),
        flag: query.flag.clone(),
        label: triage::canonical_label(query.label.trim()),
        desk: query.desk.clone(),
        language: query.language.clone(),
        community: query.community.clone(),
        role: query.role.clone(),
        has_files: query.files == "yes",
        assigned_to: (query.mine == "yes").then(|| session.account.to_string()),
        screen: query.screen.clone(),
        // Due and overdue are judged now, at every showing, so the list is
        // right however much time has passed since a statement arrived.
        today: Some(today),
    };
    let index = state.search.clone();
    let page_no = query.page;
    let found = tokio::task::spawn_blocking(move || index.search(&desks, &q, page_no, PER_PAGE)).await;
    let Ok(found) = found else {
        return message_page(StatusCode::INTERNAL_SERVER_ERROR, &Message::new("error-failed"));
    };
    let pages = found.matching.div_ceil(PER_PAGE).max(1);
    let rows = found
        .entries
        .into_iter()
        .map(|e| Row {
            short_id: short_id(&e.id),
            id: e.id,
            content_warning: e.flags.iter().any(|f| &**f == "sexual_violence"),
            first_line: e.first_line,
            received: e.received.to_string(),
            state: e.state.code(),
            priority: e.priority.to_string(),
            flags: names::in_table_order(e.flags.iter().map(|f| f.to_string()).collect(), &names::FLAGS),
            language: e.language.to_string(),
            roles: e.roles.iter().map(|r| r.to_string()).collect(),
            files: e.files,
            channel: match e.channel {
                crate::storage::Channel::Web => "web",
                crate::storage::Channel::Assisted => "assisted",
            },
            unread: e.unread,
            example: e.example,
            screen: e.state.safety_screen_due(e.received, today).map(|due| (due.by.to_string(), due.overdue)),
        })
        .collect();
    // In the workflow's order, as the state menu lists them.
    let mut counts: Vec<(String, usize, String)> =
        found.counts.into_iter().map(|(s, n)| (query.link(0, Some(&s)), n, s)).collect();
    counts.sort_by_key(|(_, _, s)| triage::STATES.iter().position(|code| code == s));
    let desk_names = state.cases.desks_of(&session.reader()).into_iter().map(|(id, name)| (id.0, name)).collect();
    let building = (progress.done < progress.total).then_some((progress.done, progress.total));
    render::page(&ListPage {
        t: tr(),
        nav: Some(Nav::of(&session)),
        rows,
        desks: desk_names,
        prev: query.link(query.page.saturating_sub(1), None),
        next: query.link(query.page + 1, None),
        matching: found.matching,
        page: query.page,
        pages,
        counts,
        screen_overdue: found.screen_overdue,
        screen_overdue_link: query.overdue_link(),
        building,
        query,
        states: &triage::STATES,
        priorities: &triage::PRIORITIES,
        flags: &triage::FLAGS,
        roles: ROLES.codes,
        communities: COMMUNITIES.codes,
    })
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
    /// "with the statement", or which addition through the receipt and its day.
    received_with: String,
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
    t: Tr,
    nav: Option<Nav>,
    id: String,
    short_id: String,
    received: String,
    state: String,
    /// As in the list: the day the safety screen is due, and whether past.
    screen: Option<(String, bool)>,
    /// A made-up example (`testimony demo`), badged as such.
    example: bool,
    narrative: String,
    sections: Vec<Section>,
    files: Vec<FileRow>,
    consent: Vec<ConsentRow>,
    thread: Vec<ThreadRow>,
    withdrawn: bool,
    history: Vec<super::audit_view::Shown>,
    triage: triage::Triage,
    /// The triage's flags, weightiest first.
    flags_set: Vec<String>,
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

/// The form's fields with values, in form order, with English labels: the
/// witness catalogue's questions and answers (`review` says "yes" and
/// numbers a question asked more than once).
fn sections(review: &Tr, fields: &serde_json::Map<String, Value>) -> Vec<Section> {
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
                    (Kind::Check, _) => review.t("statement-field-checked"),
                    (_, Value::String(s)) => s.clone(),
                    (_, other) => other.to_string(),
                };
                let label = match field.slot {
                    Some(n) => review.t2("statement-field-slot", "label", t.t(&format!("f-{}", field.base)), "slot", n),
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

pub async fn show(State(state): State<AppState>, Statement(session, statement): Statement) -> Response {
    let t = tr();
    let cases = state.cases.clone();
    let (statement, view) = match blocking(move || {
        let permit = cases.permit_view(&statement)?;
        let view = cases.view(&statement, &permit)?;
        Ok((statement, view))
    })
    .await
    {
        Ok(found) => found,
        Err(response) => return response,
    };
    let record = statement.record();
    let StatementView {
        statement: doc,
        identity,
        consent,
        files,
        additions,
        thread,
        triage,
        members,
        widest_publication,
    } = view;
    let mut fields = doc.as_ref().map(|d| d.fields.clone()).unwrap_or_default();
    if let Some(identity) = &identity {
        fields.extend(identity.fields.clone());
    }
    let narrative = fields.get("statement").and_then(Value::as_str).unwrap_or("").to_string();
    let with_statement = doc.as_ref().map_or(0, |d| d.files.len());
    let added: std::collections::HashMap<usize, String> = additions
        .iter()
        .flat_map(|a| {
            let a = &a.addition;
            a.files.iter().map(move |f| {
                let from =
                    Message::new("statement-file-from-addition").arg("sequence", a.sequence).arg("day", &a.received);
                (f.index, t.message(&from))
            })
        })
        .collect();
    let files = files
        .into_iter()
        .map(|f| {
            let declared = f.declared_type.clone();
            let received_with = match added.get(&f.index) {
                Some(addition) => addition.clone(),
                None if f.index <= with_statement => t.t("statement-file-with-statement"),
                None => t.t("statement-file-added-later"),
            };
            FileRow {
                received_with,
                index: f.index,
                name: f.name,
                warn_metadata: f.metadata_choice == "keep_original"
                    && (declared.starts_with("image/")
                        || declared.starts_with("audio/")
                        || declared.starts_with("video/")
                        || declared == "application/pdf"),
                declared_type: declared,
                bytes: f.bytes,
                sha256: f.sha256,
                metadata_choice: f.metadata_choice,
                has_clean_copy: f.cleaned_copy.is_some(),
            }
        })
        .collect();
    let consent = consent
        .records
        .iter()
        .map(|r| ConsentRow {
            scope: serde_json::to_value(r.scope).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default(),
            recipient: r.recipient.clone(),
            level: r.level.clone(),
            granted_at: r.granted_at.clone(),
            revoked_at: r.revoked_at.clone().unwrap_or_default(),
        })
        .collect();
    let thread = thread
        .into_iter()
        .map(|item| {
            let mut text = item.text;
            if !item.files.is_empty() {
                text.push_str(&t.t1("statement-thread-files-added", "files", item.files.join(", ")));
            }
            ThreadRow { from_reviewer: item.from_reviewer, day: item.day, text, unread: item.unread }
        })
        .collect();
    let history = super::audit_view::history_of(&state, &record.id);
    render::page(&StatementPage {
        t,
        nav: Some(Nav::of(&session)),
        history,
        labels: triage.labels.iter().cloned().collect::<Vec<_>>().join(" "),
        flags_set: names::in_table_order(triage.flags.iter().cloned().collect(), &names::FLAGS),
        corroborated_by: triage.evaluation.corroborated_by.join(" "),
        triage,
        members,
        csrf: session.csrf.clone(),
        widest_publication,
        partners: state.store.partners().unwrap_or_default().into_iter().map(|p| (p.id, p.name)).collect(),
        other_desks: state
            .cases
            .desks_of(statement.reader())
            .into_iter()
            .filter(|(id, _)| *id != record.desk)
            .map(|(id, name)| (id.0, name))
            .collect(),
        states: &triage::STATES,
        priorities: &triage::PRIORITIES,
        flags: &triage::FLAGS,
        reliability: &triage::SOURCE_RELIABILITY,
        corroboration: &triage::CORROBORATION,
        violation: &triage::VIOLATION_STATUS,
        verification: &triage::VERIFICATION,
        publication: &triage::PUBLICATION,
        withdrawn: record.state.is_final(),
        example: record.example,
        short_id: short_id(&record.id),
        id: record.id.clone(),
        received: record.received.to_string(),
        state: record.state.to_string(),
        screen: record
            .state
            .safety_screen_due(record.received, state.clock.today())
            .map(|due| (due.by.to_string(), due.overdue)),
        narrative,
        sections: sections(&t, &fields),
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
    Statement(_, statement): Statement,
    Path((_, index)): Path<(String, usize)>,
    query: axum::extract::Query<DownloadQuery>,
) -> Response {
    let clean = query.copy.as_deref() == Some("clean");
    let cases = state.cases.clone();
    let id = statement.id().to_string();
    let opened = blocking(move || {
        let permit = cases.permit_download(&statement, index, clean)?;
        cases.download(&statement, index, clean, &permit)
    })
    .await;
    let download = match opened {
        Ok(d) => d,
        Err(response) => return response,
    };
    // Decrypt on a blocking thread, a chunk at a time, into the response.
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(4);
    let mut reader = download.reader;
    tokio::task::spawn_blocking(move || {
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
    let name = format!("attachment; filename=\"statement-{}-file-{}.bin\"", &id[..12], download.label);
    if let Ok(v) = HeaderValue::from_str(&name) {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    if let Some(len) = download.len {
        headers.insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    }
    response
}
