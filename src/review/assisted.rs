//! Assisted intake: an investigator (or any signed-in account) files a
//! statement on a witness's behalf, with the same form plus the interview's
//! details. The statement is sealed to the default desk like any other, the
//! channel is recorded as assisted, and the witness is given the receipt.
//! Investigators see the list of what they filed, without content unless
//! they are members of the desk.

use askama::Template;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::Response;

use crate::audit::{Actor, Event, NewEntry, Outcome};
use crate::auth::extract::{SignedIn, csrf_refused};
use crate::crypto::random_hex_id;
use crate::i18n::{Lang, Tr};
use crate::intake::form::{self, FormValues, Problems};
use crate::intake::schema;
use crate::intake::submit::{self, FormTarget};
use crate::server::AppState;
use crate::storage::Channel;
use crate::web::render;

use super::{Nav, message_page};

const ACTION: &str = "/assisted";

pub async fn form(State(state): State<AppState>, SignedIn(session): SignedIn) -> Response {
    let t = Tr::new(Lang::En);
    let target = FormTarget { action: ACTION.into(), csrf: Some(&session.csrf), assisted: true };
    submit::form_page_for(
        t,
        StatusCode::OK,
        &FormValues::default(),
        &Problems::default(),
        vec![],
        &state.intake,
        target,
    )
}

pub async fn submit(State(state): State<AppState>, SignedIn(session): SignedIn, request: Request) -> Response {
    let t = Tr::new(Lang::En);
    let limits = state.intake.limits.clone();
    let _permit = match submit::admit(&state) {
        Ok(p) => p,
        Err(refusal) => return submit::refusal_page(t, refusal, &limits),
    };
    let mut multipart = match submit::open_multipart(&state, request).await {
        Ok(m) => m,
        Err(refusal) => return submit::refusal_page(t, refusal, &limits),
    };
    // The token comes first in the form, so nothing is sealed for a
    // forged request.
    let token = match multipart.next_field().await {
        Ok(Some(field)) if field.name() == Some("csrf") => field.text().await.unwrap_or_default(),
        _ => String::new(),
    };
    if !session.csrf_matches(&token) {
        return csrf_refused();
    }
    let target = match submit::desk_target(&state) {
        Ok(target) => target,
        Err(e) => return message_page(StatusCode::INTERNAL_SERVER_ERROR, &format!("No desk to file to: {e}")),
    };
    let received = match submit::receive_fields(&state, multipart, &target.recipients(), schema::find_any).await {
        Ok(r) => r,
        Err(refusal) => return submit::refusal_page(t, refusal, &limits),
    };
    let problems = form::validate(&received.values, received.uploads.len());
    if !problems.is_empty() {
        let target = FormTarget { action: ACTION.into(), csrf: Some(&session.csrf), assisted: true };
        return submit::form_page_for(
            t,
            StatusCode::UNPROCESSABLE_ENTITY,
            &received.values,
            &problems,
            received.file_names,
            &state.intake,
            target,
        );
    }
    let id = random_hex_id();
    let entry = NewEntry::by(Actor::Account(session.account.to_string()), Event::StatementReceived { assisted: true })
        .on(id.as_str());
    if state.audit.append(entry.clone()).is_err() {
        return message_page(StatusCode::SERVICE_UNAVAILABLE, "The audit log cannot be written, so nothing was filed.");
    }
    let (store, search, today, who) =
        (state.store.clone(), state.search.clone(), state.clock.today(), session.account.to_string());
    let stored = tokio::task::spawn_blocking(move || {
        let filing = submit::Filing { id, today, form_language: "en", channel: Channel::Assisted, filed_by: Some(who) };
        let stored = submit::store_submission(&store, target, received, filing);
        if let Ok(done) = &stored {
            search.refresh(&store, &done.id);
        }
        stored
    })
    .await;
    match stored {
        Ok(Ok(done)) => submit::receipt_page(t, &done),
        _ => {
            let _ = state.audit.append(entry.outcome(Outcome::Failed));
            message_page(StatusCode::INTERNAL_SERVER_ERROR, "The statement could not be stored; nothing was kept.")
        }
    }
}

struct Filed {
    id: String,
    received: String,
    state: String,
    readable: bool,
}

#[derive(Template)]
#[template(path = "review/filed.html")]
struct FiledPage {
    nav: Option<Nav>,
    filed: Vec<Filed>,
}

pub async fn filed(State(state): State<AppState>, SignedIn(session): SignedIn) -> Response {
    let me = session.account.to_string();
    let mut filed: Vec<Filed> = state
        .store
        .submissions()
        .filter_map(Result::ok)
        .filter(|r| r.filed_by.as_deref() == Some(me.as_str()))
        .map(|r| Filed {
            readable: session.desk_key(&r.desk, r.key_generation).is_some(),
            id: r.id,
            received: r.received.to_string(),
            state: r.state,
        })
        .collect();
    filed.sort_by(|a, b| b.received.cmp(&a.received));
    render::page(&FiledPage { nav: Some(Nav::of(&session)), filed })
}
