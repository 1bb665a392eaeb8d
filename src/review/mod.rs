//! The review listener: reviewers, investigators and admins. Nothing here is
//! reachable on the public listener, not even the login page. Who may do
//! what is decided by the extractors of `auth::extract`, and which
//! statements an account can read by the desk keys its session holds.
//!
//! - `login`: sign-in and sign-out;
//! - `statements`: the list, a statement, its files;
//! - `triage`, `actions`: what reviewers decide, and the POSTs that do it;
//! - `account`: one's own password and recent sign-ins;
//! - `admin`: accounts, invitations, desks;
//! - `audit_view`: the log for admins, a statement's history for members;
//! - `enrol`: accepting an invitation, enrolling a new TOTP secret;
//! - `exports`: partner case bundles and aggregate statistics;
//! - `assisted`: filing a statement on a witness's behalf.
//!
//! Handlers parse, call the case layer (`crate::case`) or the
//! administration (`crate::administration`) on a blocking thread, and
//! render. Who may act is decided by the extractors; audit entries and the
//! reviewers' index are the layers' business, never a handler's.
//!
//! Every word on these pages comes from the reviewer catalogue
//! (`locales/review/en.ftl`) through [`tr`]: each page has a `t` for its
//! template, and refusals from the layers below arrive as [`Message`]s.

mod account;
mod actions;
mod admin;
mod assisted;
mod audit_view;
mod enrol;
mod exports;
mod login;
mod statements;

/// The triage vocabulary lives with the case layer.
pub use crate::case::triage;

use askama::Template;
use axum::Router;
use axum::http::StatusCode;
use axum::middleware;
use axum::response::Response;
use axum::routing::{MethodRouter, get, post};

use crate::administration::AdminError;
use crate::auth::extract::same_origin_posts;
use crate::auth::session::SessionView;
use crate::case::CaseError;
use crate::i18n::{Lang, Message, Tr};
use crate::state::AppState;
use crate::storage::Role;
use crate::web::{self, render};

/// The reviewer pages' messages. English: the review side's catalogue is
/// not translated yet; when it is, the language is chosen here.
pub fn tr() -> Tr {
    Tr::review(Lang::En)
}

/// What the page frame shows of the signed-in account.
pub struct Nav {
    pub account: String,
    pub is_admin: bool,
    pub csrf: String,
}

impl Nav {
    pub fn of(session: &SessionView) -> Nav {
        Nav { account: session.account.to_string(), is_admin: session.role == Role::Admin, csrf: session.csrf.clone() }
    }
}

#[derive(Template)]
#[template(path = "review/message.html")]
struct MessagePage {
    t: Tr,
    nav: Option<Nav>,
    message: String,
}

/// A page with one sentence (errors, refusals).
pub fn message_page(status: StatusCode, message: &Message) -> Response {
    let t = tr();
    render::page_with_status(status, &MessagePage { t, nav: None, message: t.message(message) })
}

pub fn not_found_page() -> Response {
    message_page(StatusCode::NOT_FOUND, &Message::new("not-found"))
}

/// The one mapping from a case outcome to a page. Failures are logged
/// here; the reader sees a fixed sentence.
pub fn case_error_page(e: CaseError) -> Response {
    match e {
        CaseError::NotFound => not_found_page(),
        CaseError::Refused(why) => message_page(StatusCode::UNPROCESSABLE_ENTITY, &why),
        CaseError::OutsideConsent(why) => message_page(StatusCode::FORBIDDEN, &why),
        CaseError::Conflict(why) => message_page(StatusCode::CONFLICT, &why),
        CaseError::AuditUnavailable => {
            message_page(StatusCode::SERVICE_UNAVAILABLE, &Message::new("error-audit-unavailable"))
        }
        CaseError::DiskFull => message_page(StatusCode::SERVICE_UNAVAILABLE, &Message::new("error-disk-full")),
        CaseError::Failed(detail) => {
            tracing::error!(error = %detail, "a case operation failed");
            message_page(StatusCode::INTERNAL_SERVER_ERROR, &Message::new("error-failed-nothing-changed"))
        }
    }
}

/// The same for administrative changes.
pub fn admin_error_page(e: AdminError) -> Response {
    match e {
        AdminError::NotFound => not_found_page(),
        AdminError::Refused(why) => message_page(StatusCode::UNPROCESSABLE_ENTITY, &why),
        AdminError::AuditUnavailable => {
            message_page(StatusCode::SERVICE_UNAVAILABLE, &Message::new("error-admin-audit-unavailable"))
        }
        AdminError::DiskFull => message_page(StatusCode::SERVICE_UNAVAILABLE, &Message::new("error-admin-disk-full")),
        AdminError::Failed(detail) => {
            tracing::error!(error = %detail, "an administrative change failed");
            message_page(StatusCode::INTERNAL_SERVER_ERROR, &Message::new("error-failed-nothing-changed"))
        }
    }
}

/// Runs blocking work (fsync, age) off the async executor; its error
/// becomes the page `page` makes of it.
async fn off_executor<T: Send + 'static, E: Send + 'static>(
    work: impl FnOnce() -> Result<T, E> + Send + 'static,
    page: impl FnOnce(E) -> Response,
) -> Result<T, Response> {
    match tokio::task::spawn_blocking(work).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(e)) => Err(page(e)),
        Err(_) => Err(message_page(StatusCode::INTERNAL_SERVER_ERROR, &Message::new("error-failed"))),
    }
}

/// Case work off the executor.
pub async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, CaseError> + Send + 'static,
) -> Result<T, Response> {
    off_executor(work, case_error_page).await
}

/// Administrative work off the executor.
pub async fn blocking_admin<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, AdminError> + Send + 'static,
) -> Result<T, Response> {
    off_executor(work, admin_error_page).await
}

/// Administrative work off the executor whose refusal is shown by
/// `refused` (as a notice on the page the form came from).
pub async fn blocking_admin_or<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, AdminError> + Send + 'static,
    refused: impl FnOnce(Message) -> Response,
) -> Result<T, Response> {
    off_executor(work, |e| match e {
        AdminError::Refused(why) => refused(why),
        other => admin_error_page(other),
    })
    .await
}

async fn not_found() -> Response {
    not_found_page()
}

/// Every route that reads, releases or changes statement content, with its
/// method. The router is built from this list, so a content route cannot
/// exist outside it; a test calls each one with a failing audit log and
/// expects 503 and no content (DESIGN.md, promise 6).
pub const CONTENT_ROUTES: [(&str, &str); 10] = [
    ("GET", "/submissions/{id}"),
    ("GET", "/submissions/{id}/files/{index}"),
    ("POST", "/submissions/{id}/state"),
    ("POST", "/submissions/{id}/triage"),
    ("POST", "/submissions/{id}/evaluation"),
    ("POST", "/submissions/{id}/notes"),
    ("POST", "/submissions/{id}/reply"),
    ("POST", "/submissions/{id}/move"),
    ("POST", "/submissions/{id}/export"),
    ("GET", "/exports/aggregate.csv"),
];

/// The handler of each of [`CONTENT_ROUTES`], in the same order.
fn content_handlers() -> [MethodRouter<AppState>; 10] {
    [
        get(statements::show),
        get(statements::download),
        post(actions::set_state),
        post(actions::set_triage),
        post(actions::set_evaluation),
        post(actions::add_note),
        post(actions::reply),
        post(actions::move_desk),
        post(exports::case_bundle),
        get(exports::aggregate),
    ]
}

/// Every route of the review listener.
pub fn router(state: AppState) -> Router {
    let mut router = Router::new();
    for ((_, path), handler) in CONTENT_ROUTES.iter().zip(content_handlers()) {
        router = router.route(path, handler);
    }
    router
        .route("/", get(statements::list))
        .route("/login", get(login::form).post(login::submit))
        .route("/logout", post(login::logout))
        .route("/partners", get(exports::partners).post(exports::add_partner))
        .route(
            "/assisted",
            get(assisted::form).post(assisted::submit).layer(axum::extract::DefaultBodyLimit::disable()),
        )
        .route("/filed", get(assisted::filed))
        .route("/account", get(account::page))
        .route("/account/password", post(account::change_password))
        .route("/admin/accounts", get(admin::accounts))
        .route("/admin/audit", get(audit_view::page))
        .route("/admin/invite", post(admin::invite))
        .route("/admin/accounts/{name}/disable", post(admin::disable))
        .route("/admin/accounts/{name}/reset-totp", post(admin::reset_totp))
        .route("/desks", get(admin::desks).post(admin::create_desk))
        .route("/desks/{id}/grant", post(admin::grant))
        .route("/desks/{id}/revoke", post(admin::revoke))
        .route("/invite/{token}", get(enrol::invitation).post(enrol::accept))
        .route("/invite/{token}/confirm", post(enrol::confirm_invitation))
        .route("/enrol-totp", get(enrol::totp_form).post(enrol::totp_confirm))
        .merge(web::health_routes())
        .merge(web::assets::routes())
        .merge(web::assets::review_routes())
        .fallback(not_found)
        .layer(middleware::from_fn(same_origin_posts))
        .layer(middleware::from_fn(web::headers::review))
        .with_state(state)
}

/// The review side's decoding of untrusted bytes, for `crate::fuzzing`:
/// the sign-in form through axum's `Form` (the one form anyone who reaches
/// the listener can send), a signed-in form as `CsrfForm` decodes it with
/// the triage parsing handlers do on it, and the list's and the audit
/// page's queries through axum's `Query`.
#[doc(hidden)]
pub(crate) async fn decode_for_fuzzing(body: &[u8]) {
    use axum::extract::{FromRequest, Query};

    let request = axum::http::Request::post("/login")
        .header(axum::http::header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(axum::body::Body::from(body.to_vec()));
    if let Ok(request) = request {
        let _ = axum::Form::<login::LoginForm>::from_request(request, &()).await;
    }
    let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(body).unwrap_or_default();
    let _ = actions::evaluation(&pairs);
    for (name, value) in &pairs {
        match name.as_str() {
            "state" => drop(crate::case::WorkflowState::parse(value.trim())),
            "assigned_to" => drop(value.trim().parse::<crate::storage::AccountName>()),
            "labels" => drop(value.split_whitespace().map(triage::canonical_label).collect::<Vec<_>>()),
            _ => {}
        }
    }
    if let Ok(uri) = format!("/?{}", String::from_utf8_lossy(body)).parse::<axum::http::Uri>() {
        let _ = Query::<statements::ListQuery>::try_from_uri(&uri);
        let _ = Query::<audit_view::Filters>::try_from_uri(&uri);
    }
}
