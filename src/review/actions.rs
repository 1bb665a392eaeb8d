//! Triage actions on one statement. Each is a POST with `csrf` (through
//! `CsrfForm`), open only to members of the statement's desk, written to
//! the audit log before the change is stored (if the log cannot be written,
//! nothing changes), and answered with a redirect back to the statement.
//! Everything a reviewer writes is sealed to the desk and recovery keys;
//! replies also to the witness's receipt key.

use std::collections::BTreeSet;
use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde_json::{Value, json};

use crate::audit::{Actor, Event, NewEntry, Outcome};
use crate::auth::extract::CsrfForm;
use crate::auth::session::SessionView;
use crate::crypto::{self, DeskIdentity, Recipient, seal_to};
use crate::server::AppState;
use crate::storage::{Author, Holder, ModifyError, SubmissionRecord, ThreadItem};

use super::message_page;
use super::statements::readable;
use super::triage::{self, Triage};

/// Longest note, reply or reason, in characters.
const TEXT_MAX: usize = 5_000;

type Pairs = Vec<(String, String)>;

fn first<'a>(pairs: &'a Pairs, name: &str) -> &'a str {
    pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.trim()).unwrap_or("")
}

fn all<'a>(pairs: &'a Pairs, name: &str) -> impl Iterator<Item = &'a str> {
    let name = name.to_string();
    pairs.iter().filter(move |(k, _)| *k == name).map(|(_, v)| v.trim())
}

fn refuse(why: &str) -> Response {
    message_page(StatusCode::UNPROCESSABLE_ENTITY, why)
}

fn back(id: &str) -> Response {
    Redirect::to(&format!("/submissions/{id}")).into_response()
}

/// The triage document of a statement (the default if none yet).
pub fn load_triage(record: &SubmissionRecord, key: &DeskIdentity) -> Triage {
    record
        .triage
        .as_ref()
        .and_then(|sealed| crypto::open(sealed.as_bytes(), key).ok())
        .and_then(|plain| serde_json::from_slice(plain.as_bytes()).ok())
        .unwrap_or_default()
}

/// The desk key (of the statement's generation) and recovery recipients.
fn desk_recipients(state: &AppState, record: &SubmissionRecord) -> Result<Vec<Recipient>, String> {
    let desk = state.store.desk(&record.desk).map_err(|e| e.to_string())?.ok_or("the desk is missing")?;
    let key = desk.keys.iter().find(|k| k.generation == record.key_generation).ok_or("the desk key is missing")?;
    let recovery = state.store.server().map_err(|e| e.to_string())?.recovery_recipient;
    Ok(vec![key.recipient.clone(), recovery])
}

fn seal_triage(state: &AppState, record: &mut SubmissionRecord, t: &Triage) -> Result<(), String> {
    let recipients = desk_recipients(state, record)?;
    let to: Vec<&Recipient> = recipients.iter().collect();
    let bytes = zeroize::Zeroizing::new(serde_json::to_vec(t).map_err(|e| e.to_string())?);
    record.triage = Some(seal_to(&bytes, &to).map_err(|e| e.to_string())?);
    Ok(())
}

/// What one triage action changes. It is applied to the record as it is
/// when stored, not as it was read, so two reviewers working on the same
/// statement never undo each other.
enum Change {
    State { to: String, reason: String, duplicate_of: Option<String> },
    Triage { priority: String, flags: BTreeSet<String>, labels: BTreeSet<String>, assigned_to: Option<String> },
    Evaluation(triage::Evaluation),
    Note(triage::Note),
    Reply(crypto::Sealed),
}

fn apply(
    state: &AppState,
    key: &DeskIdentity,
    change: &Change,
    fresh: &mut SubmissionRecord,
    today: crate::clock::Day,
) -> Result<(), String> {
    if let Change::Reply(message) = change {
        fresh.thread.push(ThreadItem { author: Author::Reviewer, day: today, message: message.clone(), unread: true });
        return Ok(());
    }
    let mut t = load_triage(fresh, key);
    match change {
        Change::State { to, reason, duplicate_of } => {
            fresh.state = to.clone();
            t.state_reason = reason.clone();
            if duplicate_of.is_some() {
                t.duplicate_of = duplicate_of.clone();
            }
        }
        Change::Triage { priority, flags, labels, assigned_to } => {
            t.priority = priority.clone();
            t.flags = flags.clone();
            t.labels = labels.clone();
            t.assigned_to = assigned_to.clone();
        }
        Change::Evaluation(evaluation) => t.evaluation = evaluation.clone(),
        Change::Note(note) => t.notes.push(note.clone()),
        Change::Reply(_) => {}
    }
    seal_triage(state, fresh, &t)
}

/// Audit first, then apply the change to the current record; if storing
/// fails, the entries are followed by the same entries marked failed.
async fn commit(
    state: &AppState,
    original: &SubmissionRecord,
    key: Arc<DeskIdentity>,
    entries: Vec<NewEntry>,
    change: Change,
) -> Response {
    let id = original.id.clone();
    if entries.is_empty() {
        return back(&id);
    }
    let (desk, generation) = (original.desk.clone(), original.key_generation);
    let state = state.clone();
    let record_id = id.clone();
    let done = tokio::task::spawn_blocking(move || {
        state.audit.append_all(entries.clone()).map_err(|_| "audit".to_string())?;
        let today = state.clock.today();
        let stored = state.store.modify_submission(&record_id, &[], |fresh| {
            if fresh.desk != desk || fresh.key_generation != generation {
                return Err("The statement was moved to another desk meanwhile; nothing was changed.".into());
            }
            if fresh.state == "withdrawn" {
                return Err("The witness withdrew this statement meanwhile; nothing was changed.".into());
            }
            apply(&state, &key, &change, fresh, today)
        });
        match stored {
            Ok(_) => {
                state.search.refresh(&state.store, &record_id);
                Ok(())
            }
            Err(e) => {
                let failed = entries.into_iter().map(|e| e.outcome(Outcome::Failed)).collect();
                let _ = state.audit.append_all(failed);
                Err(match e {
                    ModifyError::Refused(why) => why,
                    ModifyError::Storage(_) => "The change could not be stored.".into(),
                })
            }
        }
    })
    .await;
    match done {
        Ok(Ok(())) => back(&id),
        Ok(Err(why)) if why == "audit" => {
            message_page(StatusCode::SERVICE_UNAVAILABLE, "The audit log cannot be written, so nothing was changed.")
        }
        Ok(Err(why)) => message_page(StatusCode::CONFLICT, &why),
        Err(_) => message_page(StatusCode::INTERNAL_SERVER_ERROR, "The change could not be stored."),
    }
}

fn entry(session: &SessionView, event: Event, id: &str) -> NewEntry {
    NewEntry::by(Actor::Account(session.account.to_string()), event).on(id)
}

fn open_record(
    state: &AppState,
    session: &SessionView,
    id: &str,
) -> Result<(SubmissionRecord, Arc<DeskIdentity>), Response> {
    let (record, key) = readable(state, session, id)?;
    if record.state == "withdrawn" {
        return Err(refuse("The witness withdrew this statement; it can no longer be changed."));
    }
    Ok((record, key))
}

pub async fn set_state(
    State(state): State<AppState>,
    Path(id): Path<String>,
    CsrfForm(session, form): CsrfForm<Pairs>,
) -> Response {
    let (record, key) = match open_record(&state, &session, &id) {
        Ok(found) => found,
        Err(r) => return r,
    };
    let to = first(&form, "state");
    if !triage::STATES.contains(&to) || to == "withdrawn" {
        return refuse("Choose one of the workflow states. (Withdrawal is the witness's to make.)");
    }
    let mut t = load_triage(&record, &key);
    let reason = first(&form, "reason");
    if triage::NEEDS_REASON.contains(&to) && reason.is_empty() {
        return refuse("This state needs a short reason.");
    }
    if reason.chars().count() > TEXT_MAX {
        return refuse("The reason is too long.");
    }
    if to == "duplicate" {
        let original = first(&form, "duplicate_of");
        if original == record.id || readable(&state, &session, original).is_err() {
            return refuse("A duplicate must point to another statement you can read (its id).");
        }
        t.duplicate_of = Some(original.to_string());
    }
    let event = Event::StateChanged { from: record.state.clone(), to: to.to_string() };
    let change = Change::State { to: to.to_string(), reason: reason.to_string(), duplicate_of: t.duplicate_of.clone() };
    commit(&state, &record, key, vec![entry(&session, event, &id)], change).await
}

pub async fn set_triage(
    State(state): State<AppState>,
    Path(id): Path<String>,
    CsrfForm(session, form): CsrfForm<Pairs>,
) -> Response {
    let (record, key) = match open_record(&state, &session, &id) {
        Ok(found) => found,
        Err(r) => return r,
    };
    let before = load_triage(&record, &key);
    let mut t = before.clone();
    let priority = first(&form, "priority");
    if !triage::PRIORITIES.contains(&priority) {
        return refuse("Choose a priority.");
    }
    t.priority = priority.to_string();
    let flags: BTreeSet<String> = all(&form, "flag").map(str::to_string).collect();
    if flags.iter().any(|f| !triage::FLAGS.contains(&f.as_str())) {
        return refuse("Unknown safety flag.");
    }
    t.flags = flags;
    let labels: BTreeSet<String> = first(&form, "labels").split_whitespace().map(str::to_lowercase).collect();
    if let Some(bad) = labels.iter().find(|l| !triage::valid_label(l)) {
        return refuse(&format!(
            "Labels are namespaced, like act:medical:ultrasound or region:xinjiang; {bad:?} is not."
        ));
    }
    t.labels = labels;
    let assignee = first(&form, "assigned_to");
    t.assigned_to = if assignee.is_empty() {
        None
    } else {
        let members = state.store.desk_holders(&record.desk, record.key_generation).unwrap_or_default();
        if !members.iter().any(|h| matches!(h, Holder::Account(n) if n.as_str() == assignee)) {
            return refuse("Statements can only be assigned to members of their desk.");
        }
        Some(assignee.to_string())
    };
    let mut entries = Vec::new();
    if t.priority != before.priority {
        entries.push(entry(&session, Event::PriorityChanged, &id));
    }
    if t.flags != before.flags {
        entries.push(entry(&session, Event::FlagChanged, &id));
    }
    if t.labels != before.labels {
        entries.push(entry(&session, Event::LabelChanged, &id));
    }
    if t.assigned_to != before.assigned_to {
        entries.push(entry(&session, Event::AssignmentChanged, &id));
    }
    let change = Change::Triage { priority: t.priority, flags: t.flags, labels: t.labels, assigned_to: t.assigned_to };
    commit(&state, &record, key, entries, change).await
}

fn choice(form: &Pairs, name: &str, allowed: &[&str]) -> Result<Option<String>, Response> {
    match first(form, name) {
        "" => Ok(None),
        v if allowed.contains(&v) => Ok(Some(v.to_string())),
        _ => Err(refuse(&format!("Unknown value for {name}."))),
    }
}

fn short_text(form: &Pairs, name: &str) -> Result<String, Response> {
    let v = first(form, name);
    if v.chars().count() > TEXT_MAX { Err(refuse("A justification is too long.")) } else { Ok(v.to_string()) }
}

pub async fn set_evaluation(
    State(state): State<AppState>,
    Path(id): Path<String>,
    CsrfForm(session, form): CsrfForm<Pairs>,
) -> Response {
    let (record, key) = match open_record(&state, &session, &id) {
        Ok(found) => found,
        Err(r) => return r,
    };
    let t = load_triage(&record, &key);
    let evaluation = (|| -> Result<triage::Evaluation, Response> {
        let credibility = match first(&form, "credibility") {
            "" => None,
            v => match v.parse::<u8>() {
                Ok(n) if (1..=6).contains(&n) => Some(n),
                _ => return Err(refuse("Credibility is 1 (confirmed by other sources) to 6 (cannot be judged).")),
            },
        };
        let corroborated_by: Vec<String> =
            first(&form, "corroborated_by").split_whitespace().map(str::to_string).collect();
        for other in &corroborated_by {
            if other == &record.id || readable(&state, &session, other).is_err() {
                return Err(refuse("Corroboration links must be ids of other statements you can read."));
            }
        }
        Ok(triage::Evaluation {
            source_reliability: choice(&form, "source_reliability", &triage::SOURCE_RELIABILITY)?,
            source_reliability_why: short_text(&form, "source_reliability_why")?,
            credibility,
            credibility_why: short_text(&form, "credibility_why")?,
            corroboration: choice(&form, "corroboration", &triage::CORROBORATION)?,
            corroborated_by,
            violation_status: choice(&form, "violation_status", &triage::VIOLATION_STATUS)?,
            verification: choice(&form, "verification", &triage::VERIFICATION)?,
            publication: choice(&form, "publication", &triage::PUBLICATION)?,
            publication_why: short_text(&form, "publication_why")?,
        })
    })();
    let evaluation = match evaluation {
        Ok(e) => e,
        Err(r) => return r,
    };
    if let Some(publication) = &evaluation.publication {
        let consent = latest_consent(&record, &key);
        let widest = triage::widest_publication_allowed(&consent);
        let wanted = triage::PUBLICATION.iter().position(|p| p == publication).unwrap_or(0);
        if wanted > widest {
            return refuse(&format!(
                "The witness's consent allows publication up to \u{201c}{}\u{201d}; \u{201c}{publication}\u{201d} is wider.",
                triage::PUBLICATION[widest]
            ));
        }
    }
    if evaluation == t.evaluation {
        return back(&id);
    }
    let change = Change::Evaluation(evaluation);
    commit(&state, &record, key, vec![entry(&session, Event::EvaluationChanged, &id)], change).await
}

pub fn latest_consent(record: &SubmissionRecord, key: &DeskIdentity) -> Vec<Value> {
    record
        .consent
        .last()
        .and_then(|s| crypto::open(s.as_bytes(), key).ok())
        .and_then(|p| serde_json::from_slice::<Value>(p.as_bytes()).ok())
        .and_then(|doc| doc["records"].as_array().cloned())
        .unwrap_or_default()
}

fn text_field(form: &Pairs) -> Result<String, Response> {
    let text: String =
        unicode_normalization::UnicodeNormalization::nfc(first(form, "text").replace("\r\n", "\n").as_str()).collect();
    if text.trim().is_empty() {
        return Err(refuse("Write something first."));
    }
    if text.chars().count() > TEXT_MAX {
        return Err(refuse("That is too long (5,000 characters at most)."));
    }
    Ok(text)
}

/// The statement and the `text` field of a note or a reply.
fn open_with_text(
    state: &AppState,
    session: &SessionView,
    id: &str,
    form: &Pairs,
) -> Result<(SubmissionRecord, Arc<DeskIdentity>, String), Response> {
    let (record, key) = open_record(state, session, id)?;
    Ok((record, key, text_field(form)?))
}

pub async fn add_note(
    State(state): State<AppState>,
    Path(id): Path<String>,
    CsrfForm(session, form): CsrfForm<Pairs>,
) -> Response {
    let (record, key, text) = match open_with_text(&state, &session, &id, &form) {
        Ok(found) => found,
        Err(r) => return r,
    };
    let note = triage::Note { author: session.account.to_string(), day: state.clock.today().to_string(), text };
    commit(&state, &record, key, vec![entry(&session, Event::NoteAdded, &id)], Change::Note(note)).await
}

pub async fn reply(
    State(state): State<AppState>,
    Path(id): Path<String>,
    CsrfForm(session, form): CsrfForm<Pairs>,
) -> Response {
    let (record, key, text) = match open_with_text(&state, &session, &id, &form) {
        Ok(found) => found,
        Err(r) => return r,
    };
    let mut recipients = match desk_recipients(&state, &record) {
        Ok(r) => r,
        Err(e) => {
            return message_page(StatusCode::INTERNAL_SERVER_ERROR, &format!("The reply could not be sealed: {e}"));
        }
    };
    recipients.push(record.witness_recipient.clone());
    let to: Vec<&Recipient> = recipients.iter().collect();
    let doc = json!({ "kind": "reply", "text": text });
    let Ok(message) = seal_to(doc.to_string().as_bytes(), &to) else {
        return message_page(StatusCode::INTERNAL_SERVER_ERROR, "The reply could not be sealed.");
    };
    commit(&state, &record, key, vec![entry(&session, Event::ReplySent, &id)], Change::Reply(message)).await
}

/// Re-seals one sealed value from the old desk key to new recipients.
fn reseal(sealed: &crypto::Sealed, old: &DeskIdentity, to: &[&Recipient]) -> Result<crypto::Sealed, String> {
    let plain = crypto::open(sealed.as_bytes(), old).map_err(|e| e.to_string())?;
    seal_to(plain.as_bytes(), to).map_err(|e| e.to_string())
}

/// Moves a statement to another desk: everything sealed to the old desk is
/// sealed anew to the new one (files included), then the old copies go.
/// The mover must be a member of both desks.
pub async fn move_desk(
    State(state): State<AppState>,
    Path(id): Path<String>,
    CsrfForm(session, form): CsrfForm<Pairs>,
) -> Response {
    let (mut record, old_key) = match open_record(&state, &session, &id) {
        Ok(found) => found,
        Err(r) => return r,
    };
    let target_id = crate::storage::DeskId(first(&form, "desk").to_string());
    if target_id == record.desk {
        return back(&id);
    }
    let Ok(Some(target)) = state.store.desk(&target_id) else { return refuse("Choose a desk.") };
    let Some(current) = target.current_key() else { return refuse("That desk has no key.") };
    if session.desk_key(&target_id, current.generation).is_none() {
        return refuse("You can only move a statement to a desk you are a member of.");
    }
    let generation = current.generation;
    let new_recipient = current.recipient.clone();
    let entry = entry(&session, Event::MovedToDesk { desk: target_id.0.clone() }, &id);
    if state.audit.append(entry.clone()).is_err() {
        return message_page(StatusCode::SERVICE_UNAVAILABLE, "The audit log cannot be written, so nothing was moved.");
    }
    let old_desk = record.desk.clone();
    let work_state = state.clone();
    let moved =
        tokio::task::spawn_blocking(move || -> Result<(SubmissionRecord, Vec<crate::storage::ObjectId>), String> {
            let state = work_state;
            // What the record was when the move began: it is replaced only if
            // nobody changed it meanwhile (else the move is undone below).
            let original = serde_json::to_vec(&record).map_err(|e| e.to_string())?;
            let recovery = state.store.server().map_err(|e| e.to_string())?.recovery_recipient;
            let desk_only = [&new_recipient, &recovery];
            let with_witness = [&new_recipient, &recovery, &record.witness_recipient];
            let old = old_key.as_ref();
            record.statement = record.statement.as_ref().map(|s| reseal(s, old, &desk_only)).transpose()?;
            record.identity = record.identity.as_ref().map(|s| reseal(s, old, &desk_only)).transpose()?;
            record.triage = record.triage.as_ref().map(|s| reseal(s, old, &desk_only)).transpose()?;
            record.manifest = record.manifest.as_ref().map(|s| reseal(s, old, &with_witness)).transpose()?;
            record.consent = record.consent.iter().map(|s| reseal(s, old, &with_witness)).collect::<Result<_, _>>()?;
            for item in &mut record.thread {
                item.message = reseal(&item.message, old, &with_witness)?;
            }
            let mut retired = Vec::new();
            for file in &mut record.files {
                let mut objects = vec![&mut file.object];
                if let Some(cleaned) = file.cleaned.as_mut() {
                    objects.push(cleaned);
                }
                for object in objects {
                    let sealed = state.store.objects().read(object).map_err(|e| e.to_string())?;
                    let mut plain = crypto::open_stream(sealed, old).map_err(|e| e.to_string())?;
                    let pending = state.store.objects().create().map_err(|e| e.to_string())?;
                    let mut writer = crypto::SealingWriter::new(pending, &desk_only).map_err(|e| e.to_string())?;
                    std::io::copy(&mut plain, &mut writer).map_err(|e| e.to_string())?;
                    let fresh = state
                        .store
                        .objects()
                        .commit(writer.finish().map_err(|e| e.to_string())?)
                        .map_err(|e| e.to_string())?;
                    retired.push(std::mem::replace(object, fresh));
                }
            }
            record.desk = target_id;
            record.key_generation = generation;
            let moved = record.clone();
            let stored = state.store.modify_submission(&record.id, &[], |fresh| {
                if serde_json::to_vec(fresh).map_err(|e| e.to_string())? != original {
                    return Err("the statement changed while it was being moved; try again".into());
                }
                *fresh = moved.clone();
                Ok(())
            });
            if let Err(e) = stored {
                // Drop the new copies; the old ones are still in use.
                for file in &record.files {
                    let _ = state.store.objects().remove(&file.object);
                    if let Some(c) = &file.cleaned {
                        let _ = state.store.objects().remove(c);
                    }
                }
                return Err(e.to_string());
            }
            Ok((record, retired))
        })
        .await;
    match moved {
        Ok(Ok((record, retired))) => {
            for object in retired {
                if let Err(e) = state.store.objects().remove(&object) {
                    tracing::error!(error = %e, "could not remove a file sealed to the old desk");
                }
            }
            state.search.forget(&old_desk, &record.id);
            state.search.refresh(&state.store, &record.id);
            back(&id)
        }
        _ => {
            let _ = state.audit.append(entry.outcome(Outcome::Failed));
            message_page(StatusCode::INTERNAL_SERVER_ERROR, "The statement could not be moved; it stays where it was.")
        }
    }
}
