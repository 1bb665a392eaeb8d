//! Static assets, compiled into the binary: nothing is loaded from another
//! host (such hosts are blocked in the PRC and would learn who reads).
//!
//! `style.css` is the witness side's (both listeners serve it: the
//! assisted-intake form on the review listener is the witness's form);
//! `review.css` is the reviewers' alone, served on the review listener only,
//! so the two can change apart. Both begin with `fonts.css`, the faces of
//! [`super::fonts`], which both listeners serve under `/static/fonts/`.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::state::AppState;

/// The `@font-face` rules, first in both stylesheets.
pub const FONT_FACES: &str = include_str!("../../static/fonts.css");
pub const STYLE: &str = concat!(include_str!("../../static/fonts.css"), include_str!("../../static/style.css"));
pub const REVIEW_STYLE: &str = concat!(include_str!("../../static/fonts.css"), include_str!("../../static/review.css"));

const CSS: [(header::HeaderName, &str); 1] = [(header::CONTENT_TYPE, "text/css; charset=utf-8")];

pub fn routes() -> Router<AppState> {
    Router::new().route("/static/style.css", get(|| async { (CSS, STYLE) })).route("/static/fonts/{file}", get(font))
}

/// The review listener's own stylesheet.
pub fn review_routes() -> Router<AppState> {
    Router::new().route("/static/review.css", get(|| async { (CSS, REVIEW_STYLE) }))
}

/// A font found at start, or 404 (the browser then falls back to the
/// system's fonts).
async fn font(State(state): State<AppState>, Path(file): Path<String>) -> Response {
    match state.fonts.get(&file) {
        Some(bytes) => ([(header::CONTENT_TYPE, "font/ttf")], bytes).into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}
