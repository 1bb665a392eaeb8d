//! The public listener: everything a witness ever sees. It never reads the
//! peer address, `User-Agent` or forwarding headers, sets no cookie, and
//! logs nothing per request. Handlers get the language through
//! [`WitnessLang`], which reads `?lang=` and `Accept-Language` and nothing
//! else.
//!
//! - `clean`: a photo's cleaned copy, from an allowlist of what shows it;
//! - `schema`: the form as data; `form`: submitted values and validation;
//! - `submit`: `GET/POST /submit` and the receipt page;
//! - `upload`: one file sealed as it streams;
//! - `followup`: `GET/POST /followup` and what a witness can do there.
//!
//! Handlers parse and render; filing and everything a witness does later
//! is the case layer's (`crate::case`).

pub mod clean;
pub mod followup;
pub mod form;
pub mod part_heads;
pub mod schema;
pub mod submit;
pub mod upload;
mod view;

use std::sync::Arc;
use std::time::Duration;

use askama::Template;
use axum::Router;
use axum::extract::{DefaultBodyLimit, FromRequestParts};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::clock::Clock;
use crate::config::IntakeLimits;
use crate::i18n::{self, Tr};
use crate::state::AppState;

/// The receipt and the evidence manifest belong to the case layer; these
/// names stay for the command line and the tests.
pub use crate::case::{manifest, receipt};
use crate::web::throttle::Throttle;
use crate::web::{self, render};

/// The largest body of a plain (non-upload) form: an answer of 5,000
/// characters in any script, with room to spare.
const FORM_BODY_LIMIT: usize = 128 * 1024;

/// The public listener's own state: limits and throttles.
pub struct IntakeState {
    pub limits: IntakeLimits,
    /// One permit per submission being received.
    /// Uploads in progress; when all are taken the slowest gives way.
    pub upload_slots: Arc<crate::web::slots::Slots>,
    /// Failed receipt attempts, all receipts together.
    pub receipt_failures: Throttle,
    /// Attempts per receipt (keyed by its lookup hash).
    pub receipt_attempts: Throttle,
}

impl IntakeState {
    pub fn new(limits: IntakeLimits, clock: Arc<dyn Clock>) -> IntakeState {
        IntakeState {
            upload_slots: crate::web::slots::Slots::new(
                limits.max_concurrent_uploads,
                std::time::Duration::from_secs(limits.slow_grace_secs),
                limits.min_body_bytes_per_sec,
            ),
            limits,
            // A burst of 20 failed receipts, then one every 15 s (four a minute).
            receipt_failures: Throttle::new(20, Duration::from_secs(15), clock.clone()),
            // Any one receipt: 10 tries, then one a minute.
            receipt_attempts: Throttle::new(10, Duration::from_secs(60), clock),
        }
    }
}

/// The witness's language: `?lang=` first, then `Accept-Language`.
#[derive(Clone, Copy)]
pub struct WitnessLang(pub Tr);

impl<S: Send + Sync> FromRequestParts<S> for WitnessLang {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let explicit = parts.uri.query().and_then(|q| {
            q.split('&').find_map(|pair| pair.strip_prefix("lang=")).map(|v| v.replace("%2D", "-").replace("%2d", "-"))
        });
        let accept = parts.headers.get(axum::http::header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok());
        Ok(WitnessLang(Tr::new(i18n::negotiate(explicit.as_deref(), accept))))
    }
}

#[derive(Template)]
#[template(path = "public_home.html")]
struct Home {
    t: Tr,
}

async fn home(WitnessLang(t): WitnessLang) -> Response {
    render::page(&Home { t })
}

#[derive(Template)]
#[template(path = "public_message.html")]
pub struct MessagePage {
    pub t: Tr,
    pub title: String,
    pub message: String,
    pub back: &'static str,
}

/// A translated page with one message (errors, "busy", limits).
pub fn message_page(t: Tr, status: StatusCode, title_id: &str, message: String, back: &'static str) -> Response {
    render::page_with_status(status, &MessagePage { t, title: t.t(title_id), message, back })
}

async fn not_found(WitnessLang(t): WitnessLang) -> Response {
    message_page(t, StatusCode::NOT_FOUND, "notfound-title", t.t("notfound-text"), "/")
}

/// A follow-up action's address opened as a page (a language link on its
/// answer, a reload, a bookmark): the follow-up form in the same language,
/// never a bare 405.
async fn back_to_followup(WitnessLang(t): WitnessLang) -> Response {
    axum::response::Redirect::to(&format!("/followup?lang={}", t.html_lang())).into_response()
}

/// Every route of the public listener.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/", get(home))
        .route("/submit", get(submit::form).post(submit::submit).layer(DefaultBodyLimit::disable()))
        .route("/followup", get(followup::form).post(followup::open))
        .route("/followup/answer", get(back_to_followup).post(followup::answer))
        .route("/followup/files", get(back_to_followup).post(followup::add_files).layer(DefaultBodyLimit::disable()))
        .route("/followup/consent", get(back_to_followup).post(followup::change_consent))
        .route("/followup/withdraw", get(back_to_followup).post(followup::withdraw))
        .route("/followup/manifest", get(back_to_followup).post(followup::manifest))
        .merge(web::health_routes())
        .merge(web::assets::routes())
        .fallback(not_found)
        // Plain forms are small; the two upload routes above replace this
        // with the product's own streaming limits (see `submit`).
        .layer(DefaultBodyLimit::max(FORM_BODY_LIMIT))
        .layer(middleware::from_fn(web::headers::public))
        .with_state(state)
}
