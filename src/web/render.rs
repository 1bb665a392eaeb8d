//! Rendering templates into responses. A template that fails to render is
//! a bug; the client sees a fixed message and the cause goes to the log.

use askama::Template;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};

pub fn page<T: Template>(template: &T) -> Response {
    page_with_status(StatusCode::OK, template)
}

pub fn page_with_status<T: Template>(status: StatusCode, template: &T) -> Response {
    match template.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "a page failed to render");
            (StatusCode::INTERNAL_SERVER_ERROR, "Something went wrong.\n").into_response()
        }
    }
}
