//! Security headers on every response, and a request id on every request.

use crate::state::AppState;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// Scripts and styles only from our own origin; no framing, no plugins, forms post home.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

pub async fn security_headers(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let is_static = req.uri().path().starts_with("/static/");
    let mut resp = next.run(req).await;
    let h = resp.headers_mut();
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CONTENT_SECURITY_POLICY));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    h.insert("permissions-policy", HeaderValue::from_static("camera=(), microphone=(), geolocation=(), payment=()"));
    h.insert("cross-origin-opener-policy", HeaderValue::from_static("same-origin"));
    h.insert("cross-origin-resource-policy", HeaderValue::from_static("same-origin"));
    if !is_static {
        // Client data must not linger in shared or browser caches.
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    if state.config.secure_cookies {
        h.insert(header::STRICT_TRANSPORT_SECURITY, HeaderValue::from_static("max-age=63072000; includeSubDomains"));
    }
    resp
}

/// Counts requests by route template and status class (never by concrete path: ids would leak).
pub async fn track_metrics(req: Request, next: Next) -> Response {
    let route = req.extensions().get::<axum::extract::MatchedPath>().map_or_else(|| "unmatched".to_owned(), |m| m.as_str().to_owned());
    let method = req.method().to_string();
    let resp = next.run(req).await;
    let status = format!("{}xx", resp.status().as_u16() / 100);
    metrics::counter!("concord_http_requests_total", "method" => method, "route" => route, "status" => status).increment(1);
    resp
}

/// Gives each request an audit queue for its reads and commits it in one transaction after the
/// handler, before the response leaves. Security Invariant: if that commit fails, the client
/// gets a 500 instead of the data that could not be audited.
pub async fn audit_reads(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let queue = concord_store::AuditQueue::default();
    req.extensions_mut().insert(queue.clone());
    let resp = next.run(req).await;
    match state.store.flush_audit_queue(&queue).await {
        Ok(()) => resp,
        Err(e) => {
            tracing::error!(error = %crate::error::AppError::from(e), "could not commit the audit entries of a read");
            (axum::http::StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response()
        }
    }
}
