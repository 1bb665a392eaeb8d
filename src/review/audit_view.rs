//! The audit log on the review listener: for admins, the whole log with
//! filters, the chain's state and the latest checkpoint to copy out; for
//! desk members, each statement's own history on its page.
//!
//! Both read the log file as `audit verify` does (it is small next to the
//! statements, and read only on demand). The admin's page reads the file
//! once and verifies, counts and shows those same bytes, checkpoints
//! included as rows of their own: the chain's state, the counts and the
//! rows always describe one log, even while the server appends to it.
//! Long values (statement ids, hashes) are shortened on screen, whole in
//! the `title` and in the filter a click on them applies.

use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;
use serde::Deserialize;

use crate::audit::{self, Actor, Body, Record, export};
use crate::auth::extract::Admin;
use crate::i18n::{Message, Tr};
use crate::state::AppState;
use crate::web::render;

use super::{Nav, tr};

const PER_PAGE: usize = 100;

/// One record as shown: an entry, or a signed checkpoint.
pub struct Shown {
    pub seq: u64,
    pub time: String,
    /// A signed checkpoint rather than an entry.
    pub checkpoint: bool,
    pub actor: String,
    /// The event's kind (`state_changed`), or `checkpoint`.
    pub event: String,
    /// Its details, `key=value` each, in full (for the title).
    pub details: String,
    /// The same with long values (ids, hashes, keys) shortened.
    pub details_short: String,
    pub object: String,
    pub object_short: String,
    /// The query string of the log filtered on this object.
    pub object_query: String,
    pub outcome: String,
}

/// Longer values (32-hex statement ids, hashes, keys) are cut to this many
/// characters on screen; the full value is in the title and the filters.
const SHORT: usize = 8;

/// `value` cut to [`SHORT`] characters and an ellipsis when it is longer
/// than twice that.
pub fn shorten(value: &str) -> String {
    if value.chars().count() > 2 * SHORT {
        let mut short: String = value.chars().take(SHORT).collect();
        short.push('…');
        short
    } else {
        value.to_string()
    }
}

fn details(pairs: &[(String, String)], short: bool) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={}", if short { shorten(v) } else { v.clone() }))
        .collect::<Vec<_>>()
        .join(" ")
}

pub fn shown(record: &Record) -> Shown {
    match &record.body {
        Body::Entry { actor, event, object, outcome } => {
            let pairs: Vec<(String, String)> = serde_json::to_value(event)
                .ok()
                .and_then(|v| v.as_object().cloned())
                .map(|o| {
                    o.into_iter()
                        .filter(|(k, _)| k != "kind")
                        .map(|(k, v)| (k, v.as_str().map(str::to_string).unwrap_or(v.to_string())))
                        .collect()
                })
                .unwrap_or_default();
            let object = object.clone().unwrap_or_default();
            Shown {
                seq: record.seq,
                time: record.time.clone(),
                checkpoint: false,
                actor: match actor {
                    Actor::Account(name) => name.clone(),
                    Actor::Witness => "witness".into(),
                    Actor::System => "system".into(),
                },
                event: event.name(),
                details: details(&pairs, false),
                details_short: details(&pairs, true),
                object_short: shorten(&object),
                object_query: serde_urlencoded::to_string([("object", object.as_str())]).unwrap_or_default(),
                object,
                outcome: serde_json::to_value(outcome)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default(),
            }
        }
        Body::Checkpoint(cp) => {
            // The server signs checkpoints unattended: the system acted.
            let pairs = [("size".to_string(), cp.size.to_string()), ("head".to_string(), cp.head.clone())];
            Shown {
                seq: record.seq,
                time: record.time.clone(),
                checkpoint: true,
                actor: "system".into(),
                event: "checkpoint".into(),
                details: details(&pairs, false),
                details_short: details(&pairs, true),
                object: String::new(),
                object_short: String::new(),
                object_query: String::new(),
                outcome: "signed".into(),
            }
        }
    }
}

/// The entries about one object (a statement's history), oldest first.
pub fn history_of(state: &AppState, object: &str) -> Vec<Shown> {
    audit::read_records(&audit::log_path(state.store.dir()))
        .unwrap_or_default()
        .iter()
        .filter(|r| matches!(&r.body, Body::Entry { object: Some(o), .. } if o == object))
        .map(shown)
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

/// What the log holds, counted from the same bytes the chain was
/// verified on and the rows are made of, so the numbers on the page
/// agree with each other and with the rows.
#[derive(Default)]
struct Counts {
    records: usize,
    entries: usize,
    checkpoints: usize,
}

impl Counts {
    fn of<'a>(shown: impl IntoIterator<Item = &'a Shown>) -> Counts {
        let mut counts = Counts::default();
        for s in shown {
            counts.records += 1;
            if s.checkpoint {
                counts.checkpoints += 1;
            } else {
                counts.entries += 1;
            }
        }
        counts
    }
}

#[derive(Template)]
#[template(path = "review/audit.html")]
struct AuditPage {
    t: Tr,
    nav: Option<Nav>,
    /// `None` when intact, or what is wrong.
    broken: Option<Message>,
    /// Records after the last checkpoint (known when intact).
    unsigned_tail: Option<u64>,
    checkpoint: String,
    entries: Vec<Shown>,
    filters: Filters,
    filtered: bool,
    page: usize,
    pages: usize,
    /// The whole log.
    log: Counts,
    /// The records the filters match (every page of them).
    matching: Counts,
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

/// What is wrong with the log. Where it was tampered with, and how a read
/// failed, are the audit layer's own words (`audit verify` prints them).
fn why_broken(e: audit::VerifyError) -> Message {
    match e {
        audit::VerifyError::Read(path, kind) => Message::new("audit-unreadable").arg("path", path).arg("error", kind),
        audit::VerifyError::Tampered(at) => Message::new("audit-tampered").arg("where", at),
        audit::VerifyError::Torn(at) => Message::new("audit-torn").arg("where", at),
    }
}

/// The log's bytes, read once: verified, counted and shown.
struct Read {
    broken: Option<Message>,
    unsigned_tail: Option<u64>,
    checkpoint: String,
    all: Vec<Shown>,
}

fn read_log(path: &std::path::Path) -> Read {
    let bytes = match audit::read_settled(path) {
        Ok(bytes) => bytes,
        Err(e) => {
            return Read { broken: Some(why_broken(e)), unsigned_tail: None, checkpoint: String::new(), all: vec![] };
        }
    };
    let (broken, unsigned_tail, checkpoint) = match audit::verify_bytes(&bytes, None) {
        Ok(summary) => (
            None,
            Some(summary.unsigned_tail),
            summary.last_checkpoint.map(|cp| export::to_text(&cp)).unwrap_or_default(),
        ),
        Err(e) => (Some(why_broken(e.into())), None, String::new()),
    };
    // Newest first.
    let all = audit::parse_records(&bytes).iter().rev().map(shown).collect();
    Read { broken, unsigned_tail, checkpoint, all }
}

pub async fn page(State(state): State<AppState>, Admin(session): Admin, Query(filters): Query<Filters>) -> Response {
    let path = audit::log_path(state.store.dir());
    let Ok(read) = tokio::task::spawn_blocking(move || read_log(&path)).await else {
        return super::message_page(axum::http::StatusCode::INTERNAL_SERVER_ERROR, &Message::new("error-failed"));
    };
    let Read { broken, unsigned_tail, checkpoint, all } = read;
    let log = Counts::of(&all);
    let (actor, event, object, day) =
        (filters.actor.trim(), filters.event.trim(), filters.object.trim(), filters.day.trim());
    let mut matching: Vec<Shown> = all
        .into_iter()
        .filter(|s| actor.is_empty() || s.actor == actor)
        .filter(|s| event.is_empty() || s.event.starts_with(event))
        .filter(|s| object.is_empty() || s.object == object)
        .filter(|s| day.is_empty() || s.time.starts_with(day))
        .collect();
    let filtered = !(actor.is_empty() && event.is_empty() && object.is_empty() && day.is_empty());
    let counts = Counts::of(&matching);
    let pages = counts.records.div_ceil(PER_PAGE).max(1);
    let page = filters.page.min(pages - 1);
    let entries: Vec<Shown> = matching.drain(..).skip(page * PER_PAGE).take(PER_PAGE).collect();
    let query_prev = query(&filters, page.saturating_sub(1));
    let query_next = query(&filters, page + 1);
    render::page(&AuditPage {
        t: tr(),
        nav: Some(Nav::of(&session)),
        broken,
        unsigned_tail,
        checkpoint,
        entries,
        filters,
        filtered,
        page,
        pages,
        log,
        matching: counts,
        query_prev,
        query_next,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_values_are_shortened_and_short_ones_kept() {
        assert_eq!(shorten(&"a".repeat(32)), format!("{}…", "a".repeat(8)));
        assert_eq!(shorten("ada"), "ada");
        assert_eq!(shorten("0123456789abcdef"), "0123456789abcdef", "16 characters fit");
    }
}
