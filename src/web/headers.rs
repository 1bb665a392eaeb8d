//! The security headers, set in one place for every response of both
//! listeners. Handlers cannot forget them and cannot weaken them: the layer
//! overwrites whatever a handler set.
//!
//! - CSP: nothing loads but our own stylesheet, images and fonts; no script at all
//!   (the product works without JavaScript); forms post only to us; no
//!   framing; no `<base>` tricks.
//! - No referrer ever leaves (an onion address or a case id in a URL must
//!   not travel to another site).
//! - `no-store`: a shared or seized device keeps no copy of a page.

use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;

const CSP: &str = "default-src 'none'; style-src 'self'; img-src 'self'; font-src 'self'; form-action 'self'; \
                   frame-ancestors 'none'; base-uri 'none'";

const PERMISSIONS_POLICY: &str = "accelerometer=(), camera=(), geolocation=(), gyroscope=(), \
                                  magnetometer=(), microphone=(), payment=(), usb=(), \
                                  interest-cohort=(), browsing-topics=()";

fn fixed_headers() -> [(HeaderName, &'static str); 9] {
    [
        (header::CONTENT_SECURITY_POLICY, CSP),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::CACHE_CONTROL, "no-store"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (HeaderName::from_static("permissions-policy"), PERMISSIONS_POLICY),
        (HeaderName::from_static("cross-origin-opener-policy"), "same-origin"),
        (HeaderName::from_static("cross-origin-resource-policy"), "same-origin"),
        (HeaderName::from_static("x-robots-tag"), "noindex, nofollow"),
    ]
}

/// Middleware for the public (witness) listener. Also removes any
/// `Set-Cookie`: the public side never sets a cookie, whatever a handler does.
pub async fn public(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    apply(&mut response);
    response.headers_mut().remove(header::SET_COOKIE);
    response
}

/// Middleware for the review listener.
pub async fn review(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    apply(&mut response);
    response
}

/// A download (`Content-Disposition: attachment`) also gets a sandboxing
/// CSP: should a browser ever render it, it runs in an opaque origin with
/// nothing allowed.
const DOWNLOAD_CSP: &str = "default-src 'none'; sandbox; frame-ancestors 'none'; form-action 'none'; base-uri 'none'";

fn apply(response: &mut Response) {
    let is_download = response
        .headers()
        .get(header::CONTENT_DISPOSITION)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim_start().starts_with("attachment"));
    let headers = response.headers_mut();
    for (name, value) in fixed_headers() {
        headers.insert(name, HeaderValue::from_static(value));
    }
    if is_download {
        headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(DOWNLOAD_CSP));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csp_forbids_script_and_foreign_hosts() {
        assert!(CSP.starts_with("default-src 'none'"));
        assert!(!CSP.contains("script-src"));
        assert!(!CSP.contains("http"));
        assert!(!CSP.contains("unsafe"));
    }
}
