//! What both listeners share: security headers, static assets, the health
//! check, and page rendering. Only templates produce HTML.

pub mod assets;
pub mod connections;
pub mod fonts;
pub mod headers;
pub mod min_rate;
pub mod render;
pub mod slots;
pub mod throttle;

use axum::Router;
use axum::http::StatusCode;
use axum::routing::get;

/// `GET /healthz`: 200 while the process serves. Says nothing else.
pub fn health_routes<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new().route("/healthz", get(|| async { (StatusCode::OK, "ok\n") }))
}
