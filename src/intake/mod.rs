//! The public listener: everything a witness ever sees. It never reads the
//! peer address or identifying headers, sets no cookie, and keeps no access
//! log.

use askama::Template;
use axum::Router;
use axum::middleware;
use axum::response::Response;
use axum::routing::get;

use crate::server::AppState;
use crate::web::{self, render};

#[derive(Template)]
#[template(path = "public_home.html")]
struct Home;

async fn home() -> Response {
    render::page(&Home)
}

/// Every route of the public listener.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/", get(home))
        .merge(web::health_routes())
        .merge(web::assets::routes())
        .layer(middleware::from_fn(web::headers::public))
        .with_state(state)
}
