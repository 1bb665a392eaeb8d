//! The review listener: reviewers, investigators and admins. Nothing here is
//! reachable on the public listener, not even the login page.

use askama::Template;
use axum::Router;
use axum::middleware;
use axum::response::Response;
use axum::routing::get;

use crate::server::AppState;
use crate::web::{self, render};

#[derive(Template)]
#[template(path = "review_home.html")]
struct Home;

async fn home() -> Response {
    render::page(&Home)
}

/// Every route of the review listener.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/", get(home))
        .merge(web::health_routes())
        .merge(web::assets::routes())
        .layer(middleware::from_fn(web::headers::review))
        .with_state(state)
}
