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

use crate::audit::{Actor, Event, NewEntry, Outcome};
use crate::auth::extract::{CsrfForm, SignedIn};
use crate::auth::policy;
use crate::crypto::{self, DeskIdentity, KdfParams, Password, PersonalKeys, Salt};
use crate::custody;
use crate::server::AppState;
use crate::storage::{AccountRecord, Holder, SignIn};
use crate::web::render;

use super::{Nav, message_page};

#[derive(Template)]
#[template(path = "review/account.html")]
struct AccountPage<'a> {
    nav: Option<Nav>,
    name: &'a str,
    role: &'a str,
    sign_ins: Vec<SignIn>,
    notice: Option<&'a str>,
    problem: Option<String>,
}

fn render_page(state: &AppState, nav: Nav, notice: Option<&str>, problem: Option<String>) -> Response {
    let name = nav.account.clone();
    let record = name.parse().ok().and_then(|n| state.store.account(&n).ok().flatten());
    let (role, mut sign_ins) = record.map(|r| (r.role.as_str(), r.sign_ins)).unwrap_or(("", Vec::new()));
    sign_ins.reverse();
    let status = if problem.is_some() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    render::page_with_status(status, &AccountPage { nav: Some(nav), name: &name, role, sign_ins, notice, problem })
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

/// What a password change produced, ready to store.
struct Rewrapped {
    record: AccountRecord,
    wraps: Vec<crate::storage::DeskKeyWrap>,
}

fn rewrap(
    state: &AppState,
    mut record: AccountRecord,
    old: &PersonalKeys,
    new: PersonalKeys,
    salt: Salt,
) -> Result<Rewrapped, String> {
    let recipient = new.identity.recipient();
    let mut wraps = Vec::new();
    for wrap in state.store.wraps_of(&record.name).map_err(|e| e.to_string())? {
        let plain = crypto::open(wrap.sealed.as_bytes(), &old.identity).map_err(|e| e.to_string())?;
        let text = std::str::from_utf8(plain.as_bytes()).map_err(|_| "a desk key is damaged".to_string())?;
        let key = DeskIdentity::from_secret_text(text).map_err(|e| e.to_string())?;
        wraps.push(
            custody::wrap(&key, &wrap.desk, wrap.generation, Holder::Account(record.name.clone()), &recipient)
                .map_err(|e| e.to_string())?,
        );
    }
    if let Some(sealed) = &record.totp {
        let secret = crypto::open(sealed.as_bytes(), &old.identity).map_err(|e| e.to_string())?;
        record.totp = Some(crypto::seal(secret.as_bytes(), &recipient).map_err(|e| e.to_string())?);
    }
    record.salt = salt;
    record.kdf = KdfParams::DEFAULT;
    record.verifier = new.verifier.clone();
    record.recipient = recipient;
    Ok(Rewrapped { record, wraps })
}

pub async fn change_password(
    State(state): State<AppState>,
    CsrfForm(session, form): CsrfForm<PasswordForm>,
) -> Response {
    let nav = Nav::of(&session);
    if form.new != form.again {
        return render_page(&state, nav, None, Some("The two new passwords are not the same.".into()));
    }
    let new_password = match policy::check(form.new.clone(), session.account.as_str()) {
        Ok(p) => p,
        Err(why) => return render_page(&state, nav, None, Some(why)),
    };
    let Ok(Some(record)) = state.store.account(&session.account) else {
        return message_page(StatusCode::INTERNAL_SERVER_ERROR, "Your account record cannot be read.");
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
        Err(_) => return message_page(StatusCode::SERVICE_UNAVAILABLE, "The server is busy. Try again in a minute."),
    }) else {
        return render_page(&state, nav, None, Some("Your current password is not right.".into()));
    };
    if !old.verifier.matches(&record.verifier) {
        return render_page(&state, nav, None, Some("Your current password is not right.".into()));
    }
    let actor = Actor::Account(session.account.to_string());
    if state.audit.append(NewEntry::by(actor.clone(), Event::PasswordChanged).on(session.account.as_str())).is_err() {
        return message_page(
            StatusCode::SERVICE_UNAVAILABLE,
            "The audit log cannot be written, so nothing was changed.",
        );
    }
    let stored = rewrap(&state, record, &old, new, new_salt)
        .and_then(|r| state.store.replace_account_and_wraps(&r.record, &r.wraps).map_err(|e| e.to_string()));
    match stored {
        Ok(()) => render_page(&state, nav, Some("Your password was changed. Your desks are as they were."), None),
        Err(e) => {
            tracing::error!(error = %e, "a password change failed");
            let _ = state.audit.append(
                NewEntry::by(actor, Event::PasswordChanged).on(session.account.as_str()).outcome(Outcome::Failed),
            );
            message_page(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Your password could not be changed; the old one still works.",
            )
        }
    }
}
