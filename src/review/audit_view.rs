//! The audit log on the review listener: for admins, the whole log with
//! filters, the chain's state and the latest checkpoint to copy out; for
//! desk members, each statement's own history on its page.
//!
//! Both read the log file as `audit verify` does (it is small next to the
//! statements, and read only on demand).

use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;
use serde::Deserialize;

use crate::audit::{self, Actor, Body, Record, export};
use crate::auth::extract::Admin;
use crate::state::AppState;
use crate::web::render;

use super::Nav;

const PER_PAGE: usize = 100;

/// One entry as shown.
pub struct Shown {
    pub seq: u64,
    pub time: String,
    pub actor: String,
    pub event: String,
    pub object: String,
    pub outcome: String,
}

pub fn shown(record: &Record) -> Option<Shown> {
    let Body::Entry { actor, event, object, outcome } = &record.body else { return None };
    let details = serde_json::to_value(event)
        .ok()
        .and_then(|v| v.as_object().cloned())
        .map(|o| {
            o.into_iter()
                .filter(|(k, _)| k != "kind")
                .map(|(k, v)| format!("{k}={}", v.as_str().map(str::to_string).unwrap_or(v.to_string())))
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_default();
    Some(Shown {
        seq: record.seq,
        time: record.time.clone(),
        actor: match actor {
            Actor::Account(name) => name.clone(),
            Actor::Witness => "witness".into(),
            Actor::System => "system".into(),
        },
        event: if details.is_empty() { event.name() } else { format!("{} ({details})", event.name()) },
        object: object.clone().unwrap_or_default(),
        outcome: serde_json::to_value(outcome).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default(),
    })
}

/// The entries about one object (a statement's history), oldest first.
pub fn history_of(state: &AppState, object: &str) -> Vec<Shown> {
    audit::read_records(&audit::log_path(state.store.dir()))
        .unwrap_or_default()
        .iter()
        .filter(|r| matches!(&r.body, Body::Entry { object: Some(o), .. } if o == object))
        .filter_map(shown)
        .collect()
}

#[derive(Deserialize, Default)]
pub struct Filters {
    #[serde(default)]
    actor: String,
    #[serde(default)]
    event: String,
    #[serde(default)]
    object: String,
    #[serde(default)]
    day: String,
    #[serde(default)]
    page: usize,
}

#[derive(Template)]
#[template(path = "review/audit.html")]
struct AuditPage {
    nav: Option<Nav>,
    chain: String,
    intact: bool,
    checkpoint: String,
    entries: Vec<Shown>,
    filters: Filters,
    page: usize,
    pages: usize,
    total: usize,
    query_prev: String,
    query_next: String,
}

fn query(f: &Filters, page: usize) -> String {
    serde_urlencoded::to_string([
        ("actor", f.actor.as_str()),
        ("event", f.event.as_str()),
        ("object", f.object.as_str()),
        ("day", f.day.as_str()),
        ("page", page.to_string().as_str()),
    ])
    .unwrap_or_default()
}

pub async fn page(State(state): State<AppState>, Admin(session): Admin, Query(filters): Query<Filters>) -> Response {
    let path = audit::log_path(state.store.dir());
    let (chain, intact, checkpoint) = match audit::verify_file(&path, None) {
        Ok(summary) => (
            format!("intact: {} records, {} signed checkpoints", summary.records, summary.checkpoints),
            true,
            summary.last_checkpoint.map(|cp| export::to_text(&cp)).unwrap_or_default(),
        ),
        Err(e) => (format!("NOT INTACT: {e}"), false, String::new()),
    };
    let records = audit::read_records(&path).unwrap_or_default();
    let mut matching: Vec<Shown> = records
        .iter()
        .rev()
        .filter_map(shown)
        .filter(|s| filters.actor.is_empty() || s.actor == filters.actor.trim())
        .filter(|s| filters.event.is_empty() || s.event.starts_with(filters.event.trim()))
        .filter(|s| filters.object.is_empty() || s.object == filters.object.trim())
        .filter(|s| filters.day.is_empty() || s.time.starts_with(filters.day.trim()))
        .collect();
    let total = matching.len();
    let pages = total.div_ceil(PER_PAGE).max(1);
    let page = filters.page.min(pages - 1).min(1_000_000);
    let entries: Vec<Shown> = matching.drain(..).skip(page * PER_PAGE).take(PER_PAGE).collect();
    let query_prev = query(&filters, page.saturating_sub(1));
    let query_next = query(&filters, page + 1);
    render::page(&AuditPage {
        nav: Some(Nav::of(&session)),
        chain,
        intact,
        checkpoint,
        entries,
        filters,
        page,
        pages,
        total,
        query_prev,
        query_next,
    })
}
