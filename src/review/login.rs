//! `GET/POST /login` and `POST /logout`.

use askama::Template;
use axum::extract::rejection::FormRejection;
use axum::extract::{Form, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::auth::extract::CsrfForm;
use crate::auth::login::{SignInOutcome, sign_in};
use crate::auth::session::COOKIE;
use crate::i18n::{Message, Tr};
use crate::state::AppState;
use crate::web::render;

use super::{Nav, tr};

#[derive(Template)]
#[template(path = "review/login.html")]
struct LoginPage<'a> {
    t: Tr,
    nav: Option<Nav>,
    problem: Option<String>,
    username: &'a str,
}

fn page(status: StatusCode, problem: Option<Message>, username: &str) -> Response {
    let t = tr();
    let problem = problem.map(|m| t.message(&m));
    render::page_with_status(status, &LoginPage { t, nav: None, problem, username })
}

pub async fn form() -> Response {
    page(StatusCode::OK, None, "")
}

#[derive(Deserialize, Zeroize, ZeroizeOnDrop)]
pub struct LoginForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    totp: String,
}

pub async fn submit(State(state): State<AppState>, form: Result<Form<LoginForm>, FormRejection>) -> Response {
    let Ok(Form(form)) = form else {
        return page(StatusCode::BAD_REQUEST, Some(Message::new("login-incomplete")), "");
    };
    let username: String = form.username.chars().take(64).collect();
    // On a task of its own: a client that goes away mid-attempt must not
    // cancel it halfway (the login queue's counts, the throttle's verdict
    // and the audit entry all finish as they would have).
    let attempt = {
        let (state, name, password, code) =
            (state.clone(), username.clone(), form.password.clone(), form.totp.chars().take(16).collect::<String>());
        tokio::spawn(async move { sign_in(&state, &name, password, &code).await })
    };
    let outcome = attempt.await.unwrap_or(SignInOutcome::Unavailable);
    match outcome {
        SignInOutcome::SignedIn(token) => {
            let mut response = Redirect::to("/").into_response();
            // __Host-: Secure, Path=/, no Domain. Strict: never sent on a
            // request started by another site.
            let cookie = format!("{COOKIE}={}; Secure; HttpOnly; SameSite=Strict; Path=/", token.as_str());
            if let Ok(value) = HeaderValue::from_str(&cookie) {
                response.headers_mut().insert(header::SET_COOKIE, value);
            }
            response
        }
        // One message for an unknown name, a wrong password and a wrong code.
        SignInOutcome::Refused => page(StatusCode::UNAUTHORIZED, Some(Message::new("login-refused")), &username),
        SignInOutcome::Throttled(seconds) => {
            let message = Message::new("login-throttled").arg("minutes", seconds.div_ceil(60).max(1));
            let mut r = page(StatusCode::TOO_MANY_REQUESTS, Some(message), &username);
            if let Ok(v) = HeaderValue::from_str(&seconds.to_string()) {
                r.headers_mut().insert(header::RETRY_AFTER, v);
            }
            r
        }
        SignInOutcome::Unavailable => {
            page(StatusCode::SERVICE_UNAVAILABLE, Some(Message::new("login-unavailable")), &username)
        }
    }
}

#[derive(Deserialize)]
pub struct Empty {}

pub async fn logout(State(state): State<AppState>, CsrfForm(session, _): CsrfForm<Empty>) -> Response {
    let admin = state.admin.clone();
    let _ = tokio::task::spawn_blocking(move || admin.sign_out(&session.token_hash)).await;
    let mut response = Redirect::to("/login").into_response();
    let expired = format!("{COOKIE}=; Secure; HttpOnly; SameSite=Strict; Path=/; Max-Age=0");
    if let Ok(value) = HeaderValue::from_str(&expired) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    response
}
