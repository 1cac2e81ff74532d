//! Shared application state and configuration.

use concord_domain::clock::SharedClock;
use concord_store::Store;
use concord_store::accounts::ThrottlePolicy;
use metrics_exporter_prometheus::PrometheusHandle;
use time::Duration;

#[derive(Debug, Clone)]
pub struct AppConfig {
    /// Idle timeout of a login session (default 15 minutes).
    pub session_idle: Duration,
    /// Absolute lifetime of a login session (default 12 hours).
    pub session_absolute: Duration,
    /// Cookies are `Secure` (and `__Host-` prefixed) and HSTS is sent: set when served over
    /// TLS or behind a TLS-terminating proxy (`--public-url https://…`).
    pub secure_cookies: bool,
    pub throttle: ThrottlePolicy,
    /// Largest request body accepted, in bytes.
    pub body_limit: usize,
    /// The address users reach Concord at (for links given to clients); without it, links
    /// use the request's Host header.
    pub public_url: Option<String>,
}

impl Default for AppConfig {
    fn default() -> Self {
        Self {
            session_idle: Duration::minutes(15),
            session_absolute: Duration::hours(12),
            secure_cookies: false,
            throttle: ThrottlePolicy::default(),
            body_limit: 64 * 1024,
            public_url: None,
        }
    }
}

#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub clock: SharedClock,
    pub config: AppConfig,
    pub metrics: Option<PrometheusHandle>,
    /// Runs the prompt rules after writes (started by `build_router`).
    pub evaluator: crate::evaluator::Evaluator,
    /// What pages derive from clients' scores, kept while their data version holds.
    pub views: crate::view_cache::Views,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState").field("store", &self.store).field("config", &self.config).finish_non_exhaustive()
    }
}

impl AppState {
    pub fn cookie_name(&self) -> &'static str {
        if self.config.secure_cookies { "__Host-concord_session" } else { "concord_session" }
    }
}

impl AppState {
    /// The base URL for links handed to clients: the configured public URL, else the Host.
    pub fn base_url(&self, headers: &axum::http::HeaderMap) -> String {
        match &self.config.public_url {
            Some(u) => u.trim_end_matches('/').to_owned(),
            None => {
                let host = headers.get(axum::http::header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("localhost");
                format!("http://{host}")
            }
        }
    }
}
