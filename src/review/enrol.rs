//! Joining and re-joining: an invitee sets a password and confirms a TOTP
//! code before the account exists; an account whose authenticator was
//! reset confirms a new one before it can do anything else. The secret
//! shown is kept only in memory until the code confirms it.

use askama::Template;
use axum::extract::rejection::FormRejection;
use axum::extract::{Form, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::administration::token_hash;
use crate::auth::accounts::{self, Enrolment};
use crate::auth::extract::{CsrfForm, SignedIn};
use crate::auth::policy;
use crate::auth::totp::TotpSecret;
use crate::crypto::KdfParams;
use crate::i18n::{Message, Tr};
use crate::state::AppState;
use crate::storage::Invitation;
use crate::web::render;

use super::{Nav, blocking_admin, message_page, not_found_page, tr};

/// How long a shown secret waits for its first code.
const ENROLMENT_MINUTES: u64 = 15;

#[derive(Template)]
#[template(path = "review/invitation.html")]
struct InvitationPage<'a> {
    t: Tr,
    nav: Option<Nav>,
    name: &'a str,
    problem: Option<String>,
}

#[derive(Template)]
#[template(path = "review/enrol.html")]
struct EnrolPage<'a> {
    t: Tr,
    nav: Option<Nav>,
    name: &'a str,
    secret: &'a str,
    uri: &'a str,
    qr_svg: &'a str,
    action: &'a str,
    csrf: Option<&'a str>,
    problem: Option<String>,
}

/// An SVG QR code of the otpauth URI. The SVG is made by the `qrcode`
/// crate from a URI of our own making (base32 and a checked account name),
/// so it is inserted as markup; nothing a witness or reviewer typed is in it.
fn qr_svg(uri: &str) -> String {
    qrcode::QrCode::new(uri.as_bytes())
        .map(|code| code.render::<qrcode::render::svg::Color>().min_dimensions(200, 200).build())
        .unwrap_or_default()
}

fn live_invitation(state: &AppState, token: &str) -> Option<Invitation> {
    let invitation = state.store.invitation(&token_hash(token)).ok().flatten()?;
    (state.clock.now().0 < invitation.expires).then_some(invitation)
}

pub async fn invitation(State(state): State<AppState>, Path(token): Path<String>) -> Response {
    match live_invitation(&state, &token) {
        Some(inv) => render::page(&InvitationPage { t: tr(), nav: None, name: inv.name.as_str(), problem: None }),
        None => message_page(StatusCode::NOT_FOUND, &Message::new("invitation-gone")),
    }
}

#[derive(Deserialize, Zeroize, ZeroizeOnDrop)]
pub struct NewPassword {
    #[serde(default)]
    password: String,
    #[serde(default)]
    again: String,
}

fn enrol_page(name: &str, totp: &TotpSecret, action: &str, csrf: Option<&str>, problem: Option<Message>) -> Response {
    let (Ok(secret), Ok(uri)) = (totp.base32(name), totp.otpauth_uri(name)) else {
        return message_page(StatusCode::INTERNAL_SERVER_ERROR, &Message::new("enrol-secret-unshowable"));
    };
    let status = if problem.is_some() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    let svg = qr_svg(&uri);
    let t = tr();
    let problem = problem.map(|m| t.message(&m));
    render::page_with_status(
        status,
        &EnrolPage { t, nav: None, name, secret: &secret, uri: &uri, qr_svg: &svg, action, csrf, problem },
    )
}

pub async fn accept(
    State(state): State<AppState>,
    Path(token): Path<String>,
    form: Result<Form<NewPassword>, FormRejection>,
) -> Response {
    let Some(inv) = live_invitation(&state, &token) else { return not_found_page() };
    let Ok(Form(form)) = form else { return not_found_page() };
    let problem = |p: Message| {
        let t = tr();
        render::page_with_status(
            StatusCode::UNPROCESSABLE_ENTITY,
            &InvitationPage { t, nav: None, name: inv.name.as_str(), problem: Some(t.message(&p)) },
        )
    };
    if form.password != form.again {
        return problem(Message::new("invitation-passwords-differ"));
    }
    let password = match policy::check(form.password.clone(), inv.name.as_str()) {
        Ok(p) => p,
        Err(why) => return problem(why),
    };
    let (name, role, today) = (inv.name.clone(), inv.role, state.clock.today());
    let prepared =
        state.auth.pool.run(move || accounts::prepare(name, role, &password, KdfParams::DEFAULT, today)).await;
    let account = match prepared {
        Ok(Ok(account)) => account,
        _ => return message_page(StatusCode::SERVICE_UNAVAILABLE, &Message::new("server-busy")),
    };
    let response = enrol_page(inv.name.as_str(), &account.totp, &format!("/invite/{token}/confirm"), None, None);
    let totp = TotpSecret::from_bytes(account.totp.as_bytes());
    let expires = state.clock.now().0 + ENROLMENT_MINUTES * 60;
    state
        .auth
        .enrolments
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .insert(token_hash(&token), Enrolment { account: Some(Box::new(account)), totp, expires });
    response
}

#[derive(Deserialize, Zeroize, ZeroizeOnDrop)]
pub struct Code {
    #[serde(default)]
    totp: String,
}

pub async fn confirm_invitation(
    State(state): State<AppState>,
    Path(token): Path<String>,
    form: Result<Form<Code>, FormRejection>,
) -> Response {
    let Some(inv) = live_invitation(&state, &token) else { return not_found_page() };
    let Ok(Form(form)) = form else { return not_found_page() };
    let key = token_hash(&token);
    let now = state.clock.now().0;
    // The lock is held only here, never across the await below.
    let confirmed = {
        let mut enrolments = state.auth.enrolments.lock().unwrap_or_else(|p| p.into_inner());
        enrolments.retain(|_, e| e.expires > now);
        let Some(enrolment) = enrolments.get(&key) else {
            return message_page(StatusCode::NOT_FOUND, &Message::new("invitation-step-expired"));
        };
        let Some(step) = enrolment.totp.verify(inv.name.as_str(), &form.totp, now, None) else {
            let action = format!("/invite/{token}/confirm");
            let wrong = Some(Message::new("enrol-code-wrong"));
            return enrol_page(inv.name.as_str(), &enrolment.totp, &action, None, wrong);
        };
        enrolments.remove(&key).and_then(|e| e.account).map(|account| {
            let mut record = account.record.clone();
            record.totp_last_step = Some(step);
            record
        })
    };
    let Some(record) = confirmed else { return not_found_page() };
    let (admin, token) = (state.admin.clone(), token.clone());
    if let Err(response) = blocking_admin(move || admin.activate(&token, record)).await {
        return response;
    }
    message_page(StatusCode::OK, &Message::new("invitation-ready"))
}

pub async fn totp_form(State(state): State<AppState>, SignedIn(session): SignedIn) -> Response {
    if !session.must_enrol_totp {
        return Redirect::to("/").into_response();
    }
    let now = state.clock.now().0;
    let mut enrolments = state.auth.enrolments.lock().unwrap_or_else(|p| p.into_inner());
    enrolments.retain(|_, e| e.expires > now);
    let enrolment = enrolments.entry(session.token_hash.clone()).or_insert_with(|| Enrolment {
        account: None,
        totp: TotpSecret::generate(),
        expires: now + ENROLMENT_MINUTES * 60,
    });
    enrol_page(session.account.as_str(), &enrolment.totp, "/enrol-totp", Some(&session.csrf), None)
}

pub async fn totp_confirm(State(state): State<AppState>, CsrfForm(session, form): CsrfForm<Code>) -> Response {
    if !session.must_enrol_totp {
        return Redirect::to("/").into_response();
    }
    let now = state.clock.now().0;
    let secret = {
        let enrolments = state.auth.enrolments.lock().unwrap_or_else(|p| p.into_inner());
        match enrolments.get(&session.token_hash) {
            Some(e) => TotpSecret::from_bytes(e.totp.as_bytes()),
            None => return Redirect::to("/enrol-totp").into_response(),
        }
    };
    let Some(step) = secret.verify(session.account.as_str(), &form.totp, now, None) else {
        return enrol_page(
            session.account.as_str(),
            &secret,
            "/enrol-totp",
            Some(&session.csrf),
            Some(Message::new("enrol-code-wrong")),
        );
    };
    let (admin, account, token_hash) = (state.admin.clone(), session.account.clone(), session.token_hash.clone());
    let bytes = zeroize::Zeroizing::new(secret.as_bytes().to_vec());
    if let Err(response) = blocking_admin(move || admin.enrol_totp(&account, &bytes, step, &token_hash)).await {
        return response;
    }
    state.auth.enrolments.lock().unwrap_or_else(|p| p.into_inner()).remove(&session.token_hash);
    Redirect::to("/").into_response()
}
