//! Exports from the review listener, each audited by the case layer
//! before anything is released:
//!
//! - a case bundle for a registered partner: one age file sealed to the
//!   partner's recipient (layout in `case::release`). It is refused when
//!   the witness's consent does not cover sharing with partners at the
//!   level asked for, and the refusal says why;
//! - aggregate statistics: CSV of S0 fields only, of the statements whose
//!   witnesses consented to statistics.

use std::io::Write;

use askama::Template;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::auth::extract::{Admin, CsrfForm, SignedIn, Statement};
use crate::crypto::Recipient;
use crate::i18n::{Markup, Message, Tr};
use crate::state::AppState;
use crate::storage::Partner;
use crate::web::render;

use super::{Nav, blocking, blocking_admin, message_page, tr};

type Pairs = Vec<(String, String)>;

fn first<'a>(pairs: &'a Pairs, name: &str) -> &'a str {
    pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.trim()).unwrap_or("")
}

#[derive(Template)]
#[template(path = "review/partners.html")]
struct PartnersPage {
    t: Tr,
    nav: Option<Nav>,
    partners: Vec<Partner>,
    /// HTML: the partner's name is isolated in it (`partners-added-html`).
    notice: Option<Markup>,
}

pub async fn partners(State(state): State<AppState>, Admin(session): Admin) -> Response {
    render::page(&PartnersPage {
        t: tr(),
        nav: Some(Nav::of(&session)),
        partners: state.store.partners().unwrap_or_default(),
        notice: None,
    })
}

pub async fn add_partner(
    State(state): State<AppState>,
    Admin(_): Admin,
    CsrfForm(session, form): CsrfForm<Pairs>,
) -> Response {
    let name: String = first(&form, "name").chars().take(200).collect();
    let Ok(recipient) = first(&form, "recipient").parse::<Recipient>() else {
        return message_page(StatusCode::UNPROCESSABLE_ENTITY, &Message::new("partners-key-invalid"));
    };
    if name.is_empty() {
        return message_page(StatusCode::UNPROCESSABLE_ENTITY, &Message::new("partners-name-missing"));
    }
    let (admin, account) = (state.admin.clone(), session.account.clone());
    let partner = match blocking_admin(move || admin.add_partner(&account, name, recipient)).await {
        Ok(p) => p,
        Err(response) => return response,
    };
    let t = tr();
    let notice = Some(t.markup(Message::new("partners-added-html").arg("name", &partner.name)));
    render::page(&PartnersPage {
        t,
        nav: Some(Nav::of(&session)),
        partners: state.store.partners().unwrap_or_default(),
        notice,
    })
}

/// Sends what a blocking writer writes as the response body.
struct ChannelWriter(tokio::sync::mpsc::Sender<Result<Bytes, std::io::Error>>);

impl Write for ChannelWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .blocking_send(Ok(Bytes::copy_from_slice(buf)))
            .map_err(|_| std::io::Error::other("the download was cancelled"))?;
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

pub async fn case_bundle(
    State(state): State<AppState>,
    Statement(_, statement): Statement,
    CsrfForm(_, form): CsrfForm<Pairs>,
) -> Response {
    let (partner, level) = (first(&form, "partner").to_string(), first(&form, "level").to_string());
    let cases = state.cases.clone();
    let prepared = blocking(move || {
        let plan = cases.plan_bundle(&statement, &partner, &level)?;
        let permit = cases.permit_bundle(&statement, &plan)?;
        Ok((statement, plan, permit))
    })
    .await;
    let (statement, plan, permit) = match prepared {
        Ok(p) => p,
        Err(response) => return response,
    };
    let name = format!("attachment; filename=\"case-{}-{}.age\"", &statement.id()[..12], &plan.partner_id()[..8]);
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(4);
    let cases = state.cases.clone();
    tokio::task::spawn_blocking(move || {
        if let Err(e) = cases.write_bundle(&statement, &plan, &permit, ChannelWriter(tx.clone())) {
            tracing::error!(error = %e, "a case bundle could not be written");
            let _ = tx.blocking_send(Err(std::io::Error::other("the bundle could not be written")));
        }
    });
    let stream = futures_util::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|item| (item, rx)) });
    let mut response = Body::from_stream(stream).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/octet-stream"));
    if let Ok(v) = HeaderValue::from_str(&name) {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    response
}

pub async fn aggregate(State(state): State<AppState>, SignedIn(session): SignedIn) -> Response {
    let cases = state.cases.clone();
    let reader = session.reader();
    let csv = match blocking(move || {
        let permit = cases.permit_aggregate(&reader)?;
        cases.aggregate_csv(&reader, &permit)
    })
    .await
    {
        Ok(csv) => csv,
        Err(response) => return response,
    };
    let mut response = csv.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/csv; charset=utf-8"));
    headers.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_static("attachment; filename=\"testimony-aggregate.csv\""),
    );
    response
}
