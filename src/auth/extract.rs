//! The one place where the review listener decides who is asking:
//!
//! - [`SignedIn`]: a live session from the `__Host-testimony_session`
//!   cookie; otherwise a redirect to `/login`. An account whose TOTP was
//!   reset can reach only the enrolment page until it has a new one.
//! - [`Admin`]: a signed-in admin; anyone else gets 404, as if the page did
//!   not exist.
//! - [`CsrfForm`]: a signed-in POST whose `csrf` field matches the
//!   session's token (constant time); otherwise 403 and nothing changes.
//! - [`same_origin_posts`]: refuses a POST whose `Origin` (or `Referer`)
//!   names another site.
//! - [`Statement`]: the statement named by the path's `{id}`, which the
//!   signed-in account may act on, with the key that opens it; otherwise
//!   404, the same for ids that do not exist.
//! - [`DeskMember`], [`DeskSteward`]: the desk named by the path's `{id}`,
//!   for one of its members (who holds its keys), or for those who may
//!   take it away from someone (admins, and reviewers who are members).
//!
//! Handlers take these as arguments and never check sessions, roles or
//! membership themselves.
//! The cookie's value is never logged.

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use serde::de::DeserializeOwned;

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::Path;

use crate::case::{Authorized, Reader};
use crate::crypto::DeskIdentity;
use crate::i18n::Message;
use crate::state::AppState;
use crate::storage::{DeskId, Role};

use super::session::{COOKIE, Lookup, SessionView};

/// The session cookie's value, if the request carries one.
pub fn session_token(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|pair| pair.trim().strip_prefix(COOKIE).and_then(|rest| rest.strip_prefix('=')))
        .map(str::to_string)
}

/// A request from a signed-in account.
pub struct SignedIn(pub SessionView);

/// Paths an account that must enrol a new TOTP secret may still reach.
const ENROLMENT_PATHS: [&str; 2] = ["/enrol-totp", "/logout"];

impl FromRequestParts<AppState> for SignedIn {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let to_login = || Redirect::to("/login").into_response();
        let Some(token) = session_token(&parts.headers) else { return Err(to_login()) };
        match state.auth.sessions.touch(&token) {
            Ok(view) => {
                if view.must_enrol_totp && !ENROLMENT_PATHS.contains(&parts.uri.path()) {
                    return Err(Redirect::to("/enrol-totp").into_response());
                }
                Ok(SignedIn(view))
            }
            Err(Lookup::Expired(account)) => {
                let admin = state.admin.clone();
                let _ = tokio::task::spawn_blocking(move || admin.sessions_expired(vec![account])).await;
                Err(to_login())
            }
            Err(Lookup::Unknown) => Err(to_login()),
        }
    }
}

/// A request from a signed-in admin.
pub struct Admin(pub SessionView);

impl FromRequestParts<AppState> for Admin {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let SignedIn(session) = SignedIn::from_request_parts(parts, state).await?;
        if session.role == Role::Admin { Ok(Admin(session)) } else { Err(crate::review::not_found_page()) }
    }
}

impl SessionView {
    /// The account and the desk keys this session holds, as the case layer
    /// knows a reader.
    pub fn reader(&self) -> Reader {
        Reader::new(self.account.clone(), self.desks.clone())
    }
}

/// The path parameter `name`, if the route has one.
async fn path_param(parts: &mut Parts, state: &AppState, name: &str) -> Option<String> {
    let Path(params) = Path::<HashMap<String, String>>::from_request_parts(parts, state).await.ok()?;
    params.get(name).cloned()
}

/// A statement the signed-in account may act on (the path's `{id}`).
pub struct Statement(pub SessionView, pub Authorized);

impl FromRequestParts<AppState> for Statement {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let SignedIn(session) = SignedIn::from_request_parts(parts, state).await?;
        let id = path_param(parts, state, "id").await.unwrap_or_default();
        match state.cases.authorize(session.reader(), &id) {
            Ok(statement) => Ok(Statement(session, statement)),
            Err(_) => Err(crate::review::not_found_page()),
        }
    }
}

/// A desk (the path's `{id}`) and its keys, for one of its members.
pub struct DeskMember {
    pub session: SessionView,
    pub desk: DeskId,
    pub keys: Vec<(u32, Arc<DeskIdentity>)>,
}

impl FromRequestParts<AppState> for DeskMember {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let SignedIn(session) = SignedIn::from_request_parts(parts, state).await?;
        let desk = DeskId(path_param(parts, state, "id").await.unwrap_or_default());
        // Only a member holds the keys; for anyone else they simply are
        // not in the session.
        match session.desks.get(&desk).cloned() {
            Some(keys) => Ok(DeskMember { session, desk, keys }),
            None => Err(crate::review::not_found_page()),
        }
    }
}

/// Whether an account may take a desk away from its members: admins, and
/// reviewers who are members. An investigator who was given a desk cannot
/// take it away from the reviewers.
pub fn may_revoke(session: &SessionView, desk: &DeskId) -> bool {
    session.role == Role::Admin || (session.role == Role::Reviewer && session.is_member(desk))
}

/// Whether an account may see who belongs to a desk: admins and members.
pub fn sees_members(session: &SessionView, desk: &DeskId) -> bool {
    session.role == Role::Admin || session.is_member(desk)
}

/// A desk (the path's `{id}`) for an account that may revoke its members.
pub struct DeskSteward(pub SessionView, pub DeskId);

impl FromRequestParts<AppState> for DeskSteward {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let SignedIn(session) = SignedIn::from_request_parts(parts, state).await?;
        let desk = DeskId(path_param(parts, state, "id").await.unwrap_or_default());
        if may_revoke(&session, &desk) { Ok(DeskSteward(session, desk)) } else { Err(crate::review::not_found_page()) }
    }
}

/// The largest plain form the review side accepts.
const FORM_LIMIT: usize = 256 * 1024;

/// A signed-in POST with a valid `csrf` field, and its decoded form.
pub struct CsrfForm<T>(pub SessionView, pub T);

impl<T: DeserializeOwned + Send> FromRequest<AppState> for CsrfForm<T> {
    type Rejection = Response;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = request.into_parts();
        let SignedIn(session) = SignedIn::from_request_parts(&mut parts, state).await?;
        let bytes = axum::body::to_bytes(body, FORM_LIMIT)
            .await
            .map_err(|_| crate::review::message_page(StatusCode::PAYLOAD_TOO_LARGE, &Message::new("form-too-large")))?;
        let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(&bytes).unwrap_or_default();
        let given = pairs.iter().find(|(k, _)| k == "csrf").map(|(_, v)| v.as_str()).unwrap_or("");
        if !session.csrf_matches(given) {
            return Err(csrf_refused());
        }
        let value = serde_urlencoded::from_bytes(&bytes)
            .map_err(|_| crate::review::message_page(StatusCode::BAD_REQUEST, &Message::new("form-malformed")))?;
        Ok(CsrfForm(session, value))
    }
}

pub fn csrf_refused() -> Response {
    crate::review::message_page(StatusCode::FORBIDDEN, &Message::new("form-expired"))
}

/// Middleware: a POST that says it comes from another origin is refused.
/// Browsers send `Origin` on every POST; `Referer` is the fallback.
pub async fn same_origin_posts(request: Request, next: Next) -> Response {
    if request.method() == Method::POST {
        let headers = request.headers();
        let host = headers.get(header::HOST).and_then(|v| v.to_str().ok()).unwrap_or("");
        let claimed = headers
            .get(header::ORIGIN)
            .or_else(|| headers.get(header::REFERER))
            .and_then(|v| v.to_str().ok())
            .filter(|v| *v != "null");
        if let Some(claimed) = claimed {
            let claimed_host = claimed.split("://").nth(1).unwrap_or("").split('/').next().unwrap_or("");
            if claimed_host != host {
                return csrf_refused();
            }
        }
    }
    next.run(request).await
}
