//! Accounts (admins only) and desks. Desk membership is cryptographic:
//! granting needs the granter's desk key (from their session) and only the
//! grantee's public recipient; revoking deletes the grantee's wrapped
//! copies, and may start a new key generation for future statements.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::audit::{Actor, Event, NewEntry};
use crate::auth::extract::{Admin, CsrfForm, SignedIn};
use crate::auth::session::SessionView;
use crate::crypto::{hex, random_array};
use crate::custody;
use crate::server::AppState;
use crate::storage::{AccountName, AccountRecord, DeskId, Holder, Invitation, Role};
use crate::web::render;

use super::{Nav, message_page, not_found_page};

/// How long an invitation link works.
const INVITATION_HOURS: u64 = 72;

pub fn token_hash(token: &str) -> String {
    hex(&Sha256::digest(token.as_bytes()))
}

fn actor(session: &SessionView) -> Actor {
    Actor::Account(session.account.to_string())
}

/// Audit first; 503 if the log cannot be written.
fn audited(state: &AppState, entry: NewEntry) -> Result<(), Response> {
    state.audit.append(entry).map_err(|_| {
        message_page(StatusCode::SERVICE_UNAVAILABLE, "The audit log cannot be written, so nothing was changed.")
    })
}

struct AccountRow {
    name: String,
    role: &'static str,
    disabled: bool,
    totp_pending: bool,
    desks: usize,
    created: String,
}

#[derive(Template)]
#[template(path = "review/accounts.html")]
struct AccountsPage {
    nav: Option<Nav>,
    accounts: Vec<AccountRow>,
    invitations: Vec<(String, &'static str)>,
    link: Option<String>,
    notice: Option<String>,
}

fn accounts_page(state: &AppState, session: &SessionView, link: Option<String>, notice: Option<String>) -> Response {
    let accounts = state
        .store
        .accounts()
        .unwrap_or_default()
        .into_iter()
        .map(|a| AccountRow {
            desks: state
                .store
                .wraps_of(&a.name)
                .map(|w| {
                    let mut desks: Vec<_> = w.into_iter().map(|w| w.desk).collect();
                    desks.sort();
                    desks.dedup();
                    desks.len()
                })
                .unwrap_or(0),
            name: a.name.to_string(),
            role: a.role.as_str(),
            disabled: a.disabled,
            totp_pending: a.totp.is_none(),
            created: a.created.to_string(),
        })
        .collect();
    let invitations = state
        .store
        .invitations()
        .unwrap_or_default()
        .into_iter()
        .map(|i| (i.name.to_string(), i.role.as_str()))
        .collect();
    render::page(&AccountsPage { nav: Some(Nav::of(session)), accounts, invitations, link, notice })
}

pub async fn accounts(State(state): State<AppState>, Admin(session): Admin) -> Response {
    accounts_page(&state, &session, None, None)
}

#[derive(Deserialize)]
pub struct InviteForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    role: String,
}

pub async fn invite(State(state): State<AppState>, CsrfForm(session, form): CsrfForm<InviteForm>) -> Response {
    if session.role != Role::Admin {
        return not_found_page();
    }
    let (Ok(name), Ok(role)) = (form.name.trim().parse::<AccountName>(), form.role.parse::<Role>()) else {
        return accounts_page(&state, &session, None, Some("Give a valid name (a-z, 0-9, . _ -) and a role.".into()));
    };
    if matches!(state.store.account(&name), Ok(Some(_))) {
        return accounts_page(&state, &session, None, Some(format!("An account named {name} already exists.")));
    }
    let token = URL_SAFE_NO_PAD.encode(random_array::<32>());
    let invitation = Invitation {
        name: name.clone(),
        role,
        invited_by: session.account.clone(),
        expires: state.clock.now().0 + INVITATION_HOURS * 3600,
    };
    if let Err(r) = audited(
        &state,
        NewEntry::by(actor(&session), Event::AccountInvited { role: role.as_str().into() }).on(name.as_str()),
    ) {
        return r;
    }
    if let Err(e) = state.store.put_invitation(&token_hash(&token), &invitation) {
        tracing::error!(error = %e, "cannot store an invitation");
        return message_page(StatusCode::INTERNAL_SERVER_ERROR, "The invitation could not be stored.");
    }
    let link = format!("/invite/{token}");
    accounts_page(
        &state,
        &session,
        Some(link),
        Some(format!(
            "Invitation for {name} made. Send the link below over a safe channel; it works once, for {INVITATION_HOURS} hours, and is not shown again."
        )),
    )
}

#[derive(Deserialize)]
pub struct Empty {}

fn target(name: &str) -> Option<AccountName> {
    name.parse().ok()
}

/// The account an admin action is about: 404 for non-admins and for names
/// that do not exist.
fn admin_target(state: &AppState, session: &SessionView, name: &str) -> Result<(AccountName, AccountRecord), Response> {
    if session.role != Role::Admin {
        return Err(not_found_page());
    }
    let name = target(name).ok_or_else(not_found_page)?;
    match state.store.account(&name) {
        Ok(Some(record)) => Ok((name, record)),
        _ => Err(not_found_page()),
    }
}

pub async fn disable(
    State(state): State<AppState>,
    Path(name): Path<String>,
    CsrfForm(session, _): CsrfForm<Empty>,
) -> Response {
    let (name, mut record) = match admin_target(&state, &session, &name) {
        Ok(found) => found,
        Err(response) => return response,
    };
    if name == session.account {
        return accounts_page(&state, &session, None, Some("You cannot disable your own account.".into()));
    }
    record.disabled = !record.disabled;
    let event = if record.disabled { Event::AccountDisabled } else { Event::AccountEnabled };
    if let Err(r) = audited(&state, NewEntry::by(actor(&session), event).on(name.as_str())) {
        return r;
    }
    if state.store.update_account(&record).is_err() {
        return message_page(StatusCode::INTERNAL_SERVER_ERROR, "The account could not be changed.");
    }
    if record.disabled {
        state.auth.sessions.end_all_of(&name);
    }
    let what = if record.disabled { "disabled and signed out everywhere" } else { "enabled again" };
    accounts_page(&state, &session, None, Some(format!("{name} is {what}.")))
}

pub async fn reset_totp(
    State(state): State<AppState>,
    Path(name): Path<String>,
    CsrfForm(session, _): CsrfForm<Empty>,
) -> Response {
    let (name, mut record) = match admin_target(&state, &session, &name) {
        Ok(found) => found,
        Err(response) => return response,
    };
    if let Err(r) = audited(&state, NewEntry::by(actor(&session), Event::TotpReset).on(name.as_str())) {
        return r;
    }
    record.totp = None;
    record.totp_last_step = None;
    if state.store.update_account(&record).is_err() {
        return message_page(StatusCode::INTERNAL_SERVER_ERROR, "The account could not be changed.");
    }
    state.auth.sessions.end_all_of(&name);
    accounts_page(&state, &session, None, Some(format!("{name} will set up a new authenticator at the next sign-in.")))
}

struct DeskRow {
    id: String,
    name: String,
    generations: usize,
    members: Vec<String>,
    is_member: bool,
}

#[derive(Template)]
#[template(path = "review/desks.html")]
struct DesksPage {
    nav: Option<Nav>,
    desks: Vec<DeskRow>,
    accounts: Vec<String>,
    is_admin: bool,
    notice: Option<String>,
}

fn desks_page(state: &AppState, session: &SessionView, notice: Option<String>) -> Response {
    let desks = state
        .store
        .desks()
        .unwrap_or_default()
        .into_iter()
        .map(|d| {
            let current = d.current_key().map(|k| k.generation).unwrap_or(0);
            let members = state
                .store
                .desk_holders(&d.id, current)
                .unwrap_or_default()
                .into_iter()
                .filter_map(|h| match h {
                    Holder::Account(n) => Some(n.to_string()),
                    Holder::Recovery => None,
                })
                .collect();
            DeskRow {
                is_member: session.is_member(&d.id),
                id: d.id.0,
                name: d.name,
                generations: d.keys.len(),
                members,
            }
        })
        // Who belongs to which desk is for admins and the desk's own members.
        .filter(|row: &DeskRow| session.role == Role::Admin || row.is_member)
        .collect();
    let accounts = state
        .store
        .accounts()
        .unwrap_or_default()
        .into_iter()
        .filter(|a| !a.disabled)
        .map(|a| a.name.to_string())
        .collect();
    render::page(&DesksPage {
        nav: Some(Nav::of(session)),
        desks,
        accounts,
        is_admin: session.role == Role::Admin,
        notice,
    })
}

pub async fn desks(State(state): State<AppState>, SignedIn(session): SignedIn) -> Response {
    desks_page(&state, &session, None)
}

#[derive(Deserialize)]
pub struct NewDesk {
    #[serde(default)]
    name: String,
}

pub async fn create_desk(State(state): State<AppState>, CsrfForm(session, form): CsrfForm<NewDesk>) -> Response {
    if session.role != Role::Admin {
        return not_found_page();
    }
    let name: String = form.name.trim().chars().take(100).collect();
    if name.is_empty() {
        return desks_page(&state, &session, Some("Give the desk a name.".into()));
    }
    // Audit first: the desk and its first member's key exist only once
    // their entries are in the log.
    let id = DeskId(crate::crypto::random_hex_id());
    let entries = vec![
        NewEntry::by(actor(&session), Event::DeskCreated).on(id.0.as_str()),
        NewEntry::by(actor(&session), Event::DeskGranted { account: session.account.to_string() }).on(id.0.as_str()),
    ];
    if state.audit.append_all(entries).is_err() {
        return message_page(
            StatusCode::SERVICE_UNAVAILABLE,
            "The audit log cannot be written, so nothing was changed.",
        );
    }
    match custody::create_desk(&state.store, id, &name, &session.account, state.clock.today()) {
        Ok((desk, key)) => {
            let key = std::sync::Arc::new(key);
            state.auth.sessions.add_desk_key(&session.account, &desk.id, 0, key.clone());
            state.search.ensure(&state.store, &std::collections::HashMap::from([(desk.id.clone(), vec![(0, key)])]));
            desks_page(
                &state,
                &session,
                Some(format!("Desk \u{201c}{name}\u{201d} created; you are its first member.")),
            )
        }
        Err(e) => {
            tracing::error!(error = %e, "cannot create a desk");
            message_page(StatusCode::INTERNAL_SERVER_ERROR, "The desk could not be created.")
        }
    }
}

#[derive(Deserialize)]
pub struct MemberForm {
    #[serde(default)]
    account: String,
    #[serde(default)]
    rotate: String,
}

pub async fn grant(
    State(state): State<AppState>,
    Path(id): Path<String>,
    CsrfForm(session, form): CsrfForm<MemberForm>,
) -> Response {
    let desk = DeskId(id);
    // Only a member holds the keys to grant; for anyone else the desk's
    // keys simply are not in the session.
    let Some(keys) = session.desks.get(&desk).cloned() else { return not_found_page() };
    let Some(grantee) = target(form.account.trim()) else {
        return desks_page(&state, &session, Some("Choose an account.".into()));
    };
    if !matches!(state.store.account(&grantee), Ok(Some(_))) {
        return desks_page(&state, &session, Some("There is no such account.".into()));
    }
    if let Err(r) = audited(
        &state,
        NewEntry::by(actor(&session), Event::DeskGranted { account: grantee.to_string() }).on(desk.0.as_str()),
    ) {
        return r;
    }
    if let Err(e) = custody::grant(&state.store, &desk, &keys, &grantee) {
        tracing::error!(error = %e, "a grant failed");
        return message_page(StatusCode::INTERNAL_SERVER_ERROR, "The desk could not be granted.");
    }
    for (generation, key) in keys {
        state.auth.sessions.add_desk_key(&grantee, &desk, generation, key);
    }
    desks_page(&state, &session, Some(format!("{grantee} can now read this desk's statements.")))
}

pub async fn revoke(
    State(state): State<AppState>,
    Path(id): Path<String>,
    CsrfForm(session, form): CsrfForm<MemberForm>,
) -> Response {
    let desk = DeskId(id);
    // Admins, and reviewers who are members; an investigator who was given
    // a desk cannot take it away from the reviewers.
    let may = session.role == Role::Admin || (session.role == Role::Reviewer && session.is_member(&desk));
    if !may {
        return not_found_page();
    }
    if !matches!(state.store.desk(&desk), Ok(Some(_))) {
        return not_found_page();
    }
    let Some(member) = target(form.account.trim()) else {
        return desks_page(&state, &session, Some("Choose an account.".into()));
    };
    if let Err(r) = audited(
        &state,
        NewEntry::by(actor(&session), Event::DeskRevoked { account: member.to_string() }).on(desk.0.as_str()),
    ) {
        return r;
    }
    if let Err(e) = custody::revoke(&state.store, &desk, &member) {
        tracing::error!(error = %e, "a revocation failed");
        return message_page(StatusCode::INTERNAL_SERVER_ERROR, "The desk could not be revoked.");
    }
    state.auth.sessions.forget_desk(&member, &desk);
    let mut notice = format!("{member} can no longer open this desk's keys.");
    let next_generation =
        state.store.desk(&desk).ok().flatten().and_then(|d| d.current_key().map(|k| k.generation + 1));
    let rotation_audited = form.rotate == "yes"
        && next_generation.is_some_and(|generation| {
            audited(&state, NewEntry::by(actor(&session), Event::DeskKeyRotated { generation }).on(desk.0.as_str()))
                .is_ok()
        });
    if form.rotate == "yes" && !rotation_audited {
        notice.push_str(" The key was not rotated: the audit log cannot be written.");
    }
    if rotation_audited {
        match custody::rotate(&state.store, &desk, state.clock.today()) {
            Ok((generation, key, members)) => {
                let key = std::sync::Arc::new(key);
                for m in members {
                    state.auth.sessions.add_desk_key(&m, &desk, generation, key.clone());
                }
                state
                    .search
                    .ensure(&state.store, &std::collections::HashMap::from([(desk.clone(), vec![(generation, key)])]));
                notice.push_str(" New statements will be sealed to a new key they never had.");
            }
            Err(e) => {
                tracing::error!(error = %e, "a rotation failed");
                notice.push_str(" The key could not be rotated; try again.");
            }
        }
    }
    desks_page(&state, &session, Some(notice))
}
