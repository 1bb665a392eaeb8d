//! Static assets, compiled into the binary: nothing is loaded from another
//! host (such hosts are blocked in the PRC and would learn who reads).
//!
//! `style.css` is the witness side's (both listeners serve it: the
//! assisted-intake form on the review listener is the witness's form);
//! `review.css` is the reviewers' alone, served on the review listener only,
//! so the two can change apart.

use axum::Router;
use axum::http::header;
use axum::routing::get;

const STYLE: &str = include_str!("../../static/style.css");
const REVIEW_STYLE: &str = include_str!("../../static/review.css");

const CSS: [(header::HeaderName, &str); 1] = [(header::CONTENT_TYPE, "text/css; charset=utf-8")];

pub fn routes<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new().route("/static/style.css", get(|| async { (CSS, STYLE) }))
}

/// The review listener's own stylesheet.
pub fn review_routes<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new().route("/static/review.css", get(|| async { (CSS, REVIEW_STYLE) }))
}
