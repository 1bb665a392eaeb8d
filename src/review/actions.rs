//! Triage actions on one statement. Each is a POST with `csrf` (through
//! `CsrfForm`) on a statement the [`Statement`] extractor authorized; the
//! form is parsed into a typed [`Change`] and handed to the case layer,
//! which checks it, audits it and stores it. The answer is a redirect back
//! to the statement.

use std::collections::BTreeSet;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};

use crate::auth::extract::{CsrfForm, Statement};
use crate::case::triage::{self, Evaluation};
use crate::case::{Change, WorkflowState};
use crate::i18n::Message;
use crate::state::AppState;
use crate::storage::{AccountName, DeskId};

use super::{blocking, message_page};

type Pairs = Vec<(String, String)>;

fn first<'a>(pairs: &'a Pairs, name: &str) -> &'a str {
    pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.trim()).unwrap_or("")
}

fn all<'a>(pairs: &'a Pairs, name: &str) -> impl Iterator<Item = &'a str> {
    let name = name.to_string();
    pairs.iter().filter(move |(k, _)| *k == name).map(|(_, v)| v.trim())
}

fn refuse(why: Message) -> Response {
    message_page(StatusCode::UNPROCESSABLE_ENTITY, &why)
}

fn back(id: &str) -> Response {
    Redirect::to(&format!("/submissions/{id}")).into_response()
}

/// Hands a change to the case layer and answers with the statement.
async fn apply(state: &AppState, statement: crate::case::Authorized, change: Change) -> Response {
    let cases = state.cases.clone();
    let id = statement.id().to_string();
    match blocking(move || cases.change(&statement, change)).await {
        Ok(_) => back(&id),
        Err(response) => response,
    }
}

pub async fn set_state(
    State(state): State<AppState>,
    Statement(_, statement): Statement,
    CsrfForm(_, form): CsrfForm<Pairs>,
) -> Response {
    let Some(to) = WorkflowState::parse(first(&form, "state")) else {
        return refuse(Message::new("case-choose-state"));
    };
    let original = first(&form, "duplicate_of");
    let change = Change::State {
        to,
        reason: first(&form, "reason").to_string(),
        duplicate_of: (!original.is_empty()).then(|| original.to_string()),
    };
    apply(&state, statement, change).await
}

pub async fn set_triage(
    State(state): State<AppState>,
    Statement(_, statement): Statement,
    CsrfForm(_, form): CsrfForm<Pairs>,
) -> Response {
    let assignee = first(&form, "assigned_to");
    let assigned_to = if assignee.is_empty() {
        None
    } else {
        match assignee.parse::<AccountName>() {
            Ok(name) => Some(name),
            Err(_) => return refuse(Message::new("case-assign-members-only")),
        }
    };
    let change = Change::Triage {
        priority: first(&form, "priority").to_string(),
        flags: all(&form, "flag").map(str::to_string).collect::<BTreeSet<_>>(),
        labels: first(&form, "labels").split_whitespace().map(triage::canonical_label).collect(),
        assigned_to,
    };
    apply(&state, statement, change).await
}

fn choice(form: &Pairs, name: &str, allowed: &[&str]) -> Result<Option<String>, Response> {
    match first(form, name) {
        "" => Ok(None),
        v if allowed.contains(&v) => Ok(Some(v.to_string())),
        _ => Err(refuse(Message::new("action-unknown-value").arg("field", name))),
    }
}

pub(super) fn evaluation(form: &Pairs) -> Result<Evaluation, Response> {
    let credibility = match first(form, "credibility") {
        "" => None,
        v => match v.parse::<u8>() {
            Ok(n) => Some(n),
            Err(_) => return Err(refuse(Message::new("case-credibility-range"))),
        },
    };
    Ok(Evaluation {
        source_reliability: choice(form, "source_reliability", &triage::SOURCE_RELIABILITY)?,
        source_reliability_why: first(form, "source_reliability_why").to_string(),
        credibility,
        credibility_why: first(form, "credibility_why").to_string(),
        corroboration: choice(form, "corroboration", &triage::CORROBORATION)?,
        corroborated_by: first(form, "corroborated_by").split_whitespace().map(str::to_string).collect(),
        violation_status: choice(form, "violation_status", &triage::VIOLATION_STATUS)?,
        verification: choice(form, "verification", &triage::VERIFICATION)?,
        publication: choice(form, "publication", &triage::PUBLICATION)?,
        publication_why: first(form, "publication_why").to_string(),
    })
}

pub async fn set_evaluation(
    State(state): State<AppState>,
    Statement(_, statement): Statement,
    CsrfForm(_, form): CsrfForm<Pairs>,
) -> Response {
    match evaluation(&form) {
        Ok(e) => apply(&state, statement, Change::Evaluation(e)).await,
        Err(response) => response,
    }
}

pub async fn add_note(
    State(state): State<AppState>,
    Statement(_, statement): Statement,
    CsrfForm(_, form): CsrfForm<Pairs>,
) -> Response {
    apply(&state, statement, Change::Note(first(&form, "text").to_string())).await
}

pub async fn reply(
    State(state): State<AppState>,
    Statement(_, statement): Statement,
    CsrfForm(_, form): CsrfForm<Pairs>,
) -> Response {
    apply(&state, statement, Change::Reply(first(&form, "text").to_string())).await
}

/// Moves a statement to another desk (the case layer reseals everything).
pub async fn move_desk(
    State(state): State<AppState>,
    Statement(_, statement): Statement,
    CsrfForm(_, form): CsrfForm<Pairs>,
) -> Response {
    let target = DeskId(first(&form, "desk").to_string());
    let cases = state.cases.clone();
    let id = statement.id().to_string();
    match blocking(move || cases.move_to_desk(&statement, &target)).await {
        Ok(_) => back(&id),
        Err(response) => response,
    }
}
