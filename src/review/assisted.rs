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

use crate::auth::extract::{SignedIn, csrf_refused};
use crate::case::{Intake, names};
use crate::i18n::{Lang, Tr};
use crate::intake::form::{self, FormValues, Problems};
use crate::intake::schema;
use crate::intake::submit::{self, FormTarget};
use crate::state::AppState;
use crate::web::render;

use super::{Nav, blocking, tr};

const ACTION: &str = "/assisted";

pub async fn form(SignedIn(session): SignedIn) -> Response {
    let t = Tr::new(Lang::En);
    let target = FormTarget { action: ACTION.into(), csrf: Some(&session.csrf), assisted: true, notice: None };
    submit::form_page_for(t, StatusCode::OK, &FormValues::default(), &Problems::default(), vec![], target)
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
    let target = match state.cases.intake_target() {
        Ok(target) => target,
        Err(e) => return super::case_error_page(e),
    };
    let received = match submit::receive_fields(
        &state,
        multipart,
        &target.recipients(),
        schema::find_any,
        &_permit,
        false,
    )
    .await
    {
        Ok(r) => r,
        Err(cut) => return submit::refusal_page(t, cut.refusal, &limits),
    };
    let problems = form::validate(&received.values, received.uploads.len());
    if !problems.is_empty() {
        let target = FormTarget { action: ACTION.into(), csrf: Some(&session.csrf), assisted: true, notice: None };
        return submit::form_page_for(
            t,
            StatusCode::UNPROCESSABLE_ENTITY,
            &received.values,
            &problems,
            received.file_names,
            target,
        );
    }
    let cases = state.cases.clone();
    let statement = received.into_statement("en", state.clock.today());
    let by = session.account.clone();
    match blocking(move || cases.file(target, statement, Intake::Assisted { by })).await {
        Ok(done) => submit::receipt_page(t, &done),
        Err(response) => response,
    }
}

struct Filed {
    id: String,
    received: String,
    state: String,
    readable: bool,
    example: bool,
}

#[derive(Template)]
#[template(path = "review/filed.html")]
struct FiledPage {
    t: Tr,
    nav: Option<Nav>,
    filed: Vec<Filed>,
}

pub async fn filed(State(state): State<AppState>, SignedIn(session): SignedIn) -> Response {
    let filed = state
        .cases
        .filed_by(&session.reader())
        .into_iter()
        .map(|r| Filed {
            id: r.id,
            received: r.received.to_string(),
            state: r.state.to_string(),
            readable: r.readable,
            example: r.example,
        })
        .collect();
    render::page(&FiledPage { t: tr(), nav: Some(Nav::of(&session)), filed })
}
