//! Accounts (admins only) and desks. Desk membership is cryptographic:
//! granting needs the granter's desk key (from their session) and only the
//! grantee's public recipient; revoking deletes the grantee's wrapped
//! copies, and may start a new key generation for future statements.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;

use crate::administration::{AdminError, INVITATION_HOURS};
use crate::auth::extract::{Admin, CsrfForm, DeskMember, DeskSteward, SignedIn, sees_members};
use crate::auth::session::SessionView;
use crate::case::names;
use crate::i18n::{Markup, Message, Tr};
use crate::state::AppState;
use crate::storage::{AccountName, Role};
use crate::web::render;

use super::{Nav, admin_error_page, blocking_admin, blocking_admin_or, not_found_page, tr};

struct AccountRow {
    name: String,
    /// The signed-in admin's own account: it cannot be disabled from here
    /// (the administration refuses it too), so no button offers it.
    is_self: bool,
    role: &'static str,
    disabled: bool,
    totp_pending: bool,
    desks: usize,
    created: String,
}

#[derive(Template)]
#[template(path = "review/accounts.html")]
struct AccountsPage {
    t: Tr,
    nav: Option<Nav>,
    accounts: Vec<AccountRow>,
    invitations: Vec<(String, &'static str)>,
    link: Option<String>,
    notice: Option<String>,
    /// Failed sign-ins today under names that are not accounts.
    unknown_today: u64,
}

fn accounts_page(state: &AppState, session: &SessionView, link: Option<String>, notice: Option<Message>) -> Response {
    accounts_page_with_status(StatusCode::OK, state, session, link, notice)
}

fn accounts_page_with_status(
    status: StatusCode,
    state: &AppState,
    session: &SessionView,
    link: Option<String>,
    notice: Option<Message>,
) -> Response {
    let t = tr();
    let notice = notice.map(|m| t.message(&m));
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
            is_self: a.name == session.account,
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
    let unknown_today = state.store.unknown_sign_ins(state.clock.today()).unwrap_or(0);
    render::page_with_status(
        status,
        &AccountsPage { t, nav: Some(Nav::of(session)), accounts, invitations, link, notice, unknown_today },
    )
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

pub async fn invite(
    State(state): State<AppState>,
    Admin(_): Admin,
    CsrfForm(session, form): CsrfForm<InviteForm>,
) -> Response {
    let (Ok(name), Ok(role)) = (form.name.trim().parse::<AccountName>(), form.role.parse::<Role>()) else {
        return accounts_page(&state, &session, None, Some(Message::new("accounts-invite-invalid")));
    };
    let (admin, me, invitee) = (state.admin.clone(), session.account.clone(), name.clone());
    let notice = |why| accounts_page(&state, &session, None, Some(why));
    match blocking_admin_or(move || admin.invite(&me, invitee, role), notice).await {
        Ok(token) => accounts_page(
            &state,
            &session,
            Some(format!("/invite/{token}")),
            Some(Message::new("accounts-invited").arg("name", &name).arg("hours", INVITATION_HOURS)),
        ),
        Err(response) => response,
    }
}

#[derive(Deserialize)]
pub struct Empty {}

/// The account an admin action is about (404 for names that cannot exist).
fn target(name: &str) -> Result<AccountName, Response> {
    name.parse().map_err(|_| not_found_page())
}

pub async fn disable(
    State(state): State<AppState>,
    Path(name): Path<String>,
    Admin(_): Admin,
    CsrfForm(session, _): CsrfForm<Empty>,
) -> Response {
    let name = match target(&name) {
        Ok(n) => n,
        Err(r) => return r,
    };
    let (admin, me, who) = (state.admin.clone(), session.account.clone(), name.clone());
    // Refused (one's own account): the page again, saying why, as a 422.
    let notice = |why| accounts_page_with_status(StatusCode::UNPROCESSABLE_ENTITY, &state, &session, None, Some(why));
    match blocking_admin_or(move || admin.toggle_disabled(&me, &who), notice).await {
        Ok(disabled) => {
            let id = if disabled { "accounts-now-disabled" } else { "accounts-now-enabled" };
            accounts_page(&state, &session, None, Some(Message::new(id).arg("name", &name)))
        }
        Err(response) => response,
    }
}

pub async fn reset_totp(
    State(state): State<AppState>,
    Path(name): Path<String>,
    Admin(_): Admin,
    CsrfForm(session, _): CsrfForm<Empty>,
) -> Response {
    let name = match target(&name) {
        Ok(n) => n,
        Err(r) => return r,
    };
    let (admin, me, who) = (state.admin.clone(), session.account.clone(), name.clone());
    match blocking_admin(move || admin.reset_totp(&me, &who)).await {
        Ok(()) => accounts_page(&state, &session, None, Some(Message::new("accounts-totp-reset").arg("name", &name))),
        Err(response) => response,
    }
}

struct DeskRow {
    id: String,
    name: String,
    generations: usize,
    members: Vec<String>,
    is_member: bool,
    sees_members: bool,
}

#[derive(Template)]
#[template(path = "review/desks.html")]
struct DesksPage {
    t: Tr,
    nav: Option<Nav>,
    desks: Vec<DeskRow>,
    accounts: Vec<String>,
    is_admin: bool,
    /// HTML: a new desk's name is isolated in it (`desks-created-html`).
    notice: Option<Markup>,
}

fn desks_page(state: &AppState, session: &SessionView, notice: Option<Message>) -> Response {
    let t = tr();
    let desks = state
        .store
        .desks()
        .unwrap_or_default()
        .into_iter()
        .map(|d| {
            let current = d.current_key().map(|k| k.generation).unwrap_or(0);
            let members =
                state.store.desk_members(&d.id, current).unwrap_or_default().iter().map(ToString::to_string).collect();
            DeskRow {
                sees_members: sees_members(session, &d.id),
                is_member: session.is_member(&d.id),
                id: d.id.0,
                name: d.name,
                generations: d.keys.len(),
                members,
            }
        })
        // Who belongs to which desk is for admins and the desk's own members.
        .filter(|row: &DeskRow| row.sees_members)
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
        t,
        nav: Some(Nav::of(session)),
        desks,
        accounts,
        is_admin: session.role == Role::Admin,
        notice: notice.map(|m| t.markup(&m)),
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

pub async fn create_desk(
    State(state): State<AppState>,
    Admin(_): Admin,
    CsrfForm(session, form): CsrfForm<NewDesk>,
) -> Response {
    let name: String = form.name.trim().chars().take(100).collect();
    if name.is_empty() {
        return desks_page(&state, &session, Some(Message::new("desks-name-missing")));
    }
    let (admin, me, desk_name) = (state.admin.clone(), session.account.clone(), name.clone());
    match blocking_admin(move || admin.create_desk(&me, &desk_name)).await {
        Ok(_) => desks_page(&state, &session, Some(Message::new("desks-created-html").arg("name", &name))),
        Err(response) => response,
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
    member: DeskMember,
    CsrfForm(session, form): CsrfForm<MemberForm>,
) -> Response {
    let Ok(grantee) = form.account.trim().parse::<AccountName>() else {
        return desks_page(&state, &session, Some(Message::new("desks-choose-account")));
    };
    let (admin, me, who) = (state.admin.clone(), session.account.clone(), grantee.clone());
    let DeskMember { desk, keys, .. } = member;
    let notice = |why| desks_page(&state, &session, Some(why));
    match blocking_admin_or(move || admin.grant(&me, &desk, &keys, &who), notice).await {
        Ok(()) => desks_page(&state, &session, Some(Message::new("desks-granted").arg("name", &grantee))),
        Err(response) => response,
    }
}

pub async fn revoke(
    State(state): State<AppState>,
    DeskSteward(_, desk): DeskSteward,
    CsrfForm(session, form): CsrfForm<MemberForm>,
) -> Response {
    let Ok(member) = form.account.trim().parse::<AccountName>() else {
        return desks_page(&state, &session, Some(Message::new("desks-choose-account")));
    };
    let rotate = form.rotate == "yes";
    let (admin, me, who) = (state.admin.clone(), session.account.clone(), member.clone());
    match tokio::task::spawn_blocking(move || admin.revoke(&me, &desk, &who, rotate)).await {
        Ok(Ok(rotated)) => {
            let id = match (rotated, rotate) {
                (true, _) => "desks-revoked-rotated",
                (false, true) => "desks-revoked-not-rotated",
                (false, false) => "desks-revoked",
            };
            desks_page(&state, &session, Some(Message::new(id).arg("name", &member)))
        }
        Ok(Err(AdminError::AuditUnavailable)) if rotate => {
            // The revocation itself may have been made before the log
            // failed: say so on the page, with the rotation not done.
            desks_page(&state, &session, Some(Message::new("desks-revoke-incomplete").arg("name", &member)))
        }
        Ok(Err(AdminError::Refused(why))) => desks_page(&state, &session, Some(why)),
        Ok(Err(e)) => admin_error_page(e),
        Err(_) => admin_error_page(AdminError::Failed("the task failed".into())),
    }
}
