//! Static assets, compiled into the binary: nothing is loaded from another
//! host (such hosts are blocked in the PRC and would learn who reads).

use axum::Router;
use axum::http::header;
use axum::routing::get;

const STYLE: &str = include_str!("../../static/style.css");

pub fn routes<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new()
        .route("/static/style.css", get(|| async { ([(header::CONTENT_TYPE, "text/css; charset=utf-8")], STYLE) }))
}
