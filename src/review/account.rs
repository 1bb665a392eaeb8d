//! `/account`: one's own recent sign-ins, and changing one's password.
//! A new password means a new personal key, so every desk key the account
//! holds is rewrapped to it, and the TOTP secret resealed, in one
//! transaction: access stays exactly as it was.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::administration::AdminError;
use crate::auth::extract::{CsrfForm, SignedIn};
use crate::auth::policy;
use crate::case::names;
use crate::crypto::{KdfParams, Password, PersonalKeys, Salt};
use crate::i18n::{Message, Tr};
use crate::state::AppState;
use crate::storage::SignIn;
use crate::web::render;

use super::{Nav, admin_error_page, message_page, tr};

#[derive(Template)]
#[template(path = "review/account.html")]
struct AccountPage<'a> {
    t: Tr,
    nav: Option<Nav>,
    name: &'a str,
    role: &'a str,
    sign_ins: Vec<SignIn>,
    notice: Option<String>,
    problem: Option<String>,
}

fn render_page(state: &AppState, nav: Nav, notice: Option<Message>, problem: Option<Message>) -> Response {
    let t = tr();
    let name = nav.account.clone();
    let record = name.parse().ok().and_then(|n| state.store.account(&n).ok().flatten());
    let (role, mut sign_ins) = record.map(|r| (r.role.as_str(), r.sign_ins)).unwrap_or(("", Vec::new()));
    sign_ins.reverse();
    let status = if problem.is_some() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    let (notice, problem) = (notice.map(|m| t.message(&m)), problem.map(|m| t.message(&m)));
    render::page_with_status(status, &AccountPage { t, nav: Some(nav), name: &name, role, sign_ins, notice, problem })
}

pub async fn page(State(state): State<AppState>, SignedIn(session): SignedIn) -> Response {
    render_page(&state, Nav::of(&session), None, None)
}

#[derive(Deserialize, Zeroize, ZeroizeOnDrop)]
pub struct PasswordForm {
    #[serde(default)]
    current: String,
    #[serde(default)]
    new: String,
    #[serde(default)]
    again: String,
}

pub async fn change_password(
    State(state): State<AppState>,
    CsrfForm(session, form): CsrfForm<PasswordForm>,
) -> Response {
    let nav = Nav::of(&session);
    if form.new != form.again {
        return render_page(&state, nav, None, Some(Message::new("account-passwords-differ")));
    }
    let new_password = match policy::check(form.new.clone(), session.account.as_str()) {
        Ok(p) => p,
        Err(why) => return render_page(&state, nav, None, Some(why)),
    };
    let Ok(Some(record)) = state.store.account(&session.account) else {
        return message_page(StatusCode::INTERNAL_SERVER_ERROR, &Message::new("account-record-unreadable"));
    };
    let current = zeroize::Zeroizing::new(form.current.clone());
    let (old_salt, old_kdf) = (record.salt.clone(), record.kdf);
    let new_salt = Salt::generate();
    let salt_for_new = new_salt.clone();
    let derived = state
        .auth
        .pool
        .run(move || {
            let old =
                Password::new(current.to_string()).ok().and_then(|p| PersonalKeys::derive(&p, &old_salt, old_kdf).ok());
            let new = PersonalKeys::derive(&new_password, &salt_for_new, KdfParams::DEFAULT).ok();
            (old, new)
        })
        .await;
    let (Some(old), Some(new)) = (match derived {
        Ok(pair) => pair,
        Err(_) => return message_page(StatusCode::SERVICE_UNAVAILABLE, &Message::new("server-busy")),
    }) else {
        return render_page(&state, nav, None, Some(Message::new("account-current-password-wrong")));
    };
    if !old.verifier.matches(&record.verifier) {
        return render_page(&state, nav, None, Some(Message::new("account-current-password-wrong")));
    }
    let (admin, account, keep) = (state.admin.clone(), session.account.clone(), session.token_hash.clone());
    let stored =
        tokio::task::spawn_blocking(move || admin.change_password(&account, &old, &new, new_salt, &keep)).await;
    match stored {
        Ok(Ok(())) => render_page(&state, nav, Some(Message::new("account-password-changed")), None),
        Ok(Err(AdminError::Refused(why))) => render_page(&state, nav, None, Some(why)),
        Ok(Err(e)) => {
            if matches!(e, AdminError::Failed(_)) {
                tracing::error!(error = %e, "a password change failed");
                return message_page(StatusCode::INTERNAL_SERVER_ERROR, &Message::new("account-password-not-changed"));
            }
            admin_error_page(e)
        }
        Err(_) => message_page(StatusCode::INTERNAL_SERVER_ERROR, &Message::new("account-password-not-changed")),
    }
}
