//! Builds the router from the route table, with the layers every request passes through.

use crate::routes::{self, ROUTES};
use crate::state::AppState;
use crate::{api, openapi, pages, security};
use axum::Router;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, delete, get, patch, post, put};
use pages::{account, admin, clients, login, measures, records, transcripts};
use std::time::Duration;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::csrf::CsrfLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

/// Adds routes only when the route table lists them, and remembers which were added.
struct Builder {
    router: Router<AppState>,
    added: Vec<(&'static str, &'static str)>,
    problems: Vec<String>,
}

impl Builder {
    fn add(mut self, method: &'static str, path: &'static str, handler: MethodRouter<AppState>) -> Self {
        if routes::find(method, path).is_none() {
            self.problems.push(format!("{method} {path} is served but has no entry in routes::ROUTES"));
        }
        self.added.push((method, path));
        self.router = self.router.route(path, handler);
        self
    }

    /// A route whose table path has a parameter followed by a suffix (`/{id}.pdf`), which the
    /// router cannot match: it is served at `served` (`/{file}`) and the handler checks the
    /// suffix.
    fn add_as(mut self, method: &'static str, path: &'static str, served: &'static str, handler: MethodRouter<AppState>) -> Self {
        if routes::find(method, path).is_none() {
            self.problems.push(format!("{method} {path} is served but has no entry in routes::ROUTES"));
        }
        self.added.push((method, path));
        self.router = self.router.route(served, handler);
        self
    }

    fn finish(mut self) -> Result<Router<AppState>, String> {
        for r in ROUTES {
            if !self.added.contains(&(r.method, r.path)) {
                self.problems.push(format!("{} {} is in routes::ROUTES but not served", r.method, r.path));
            }
        }
        if self.problems.is_empty() { Ok(self.router) } else { Err(self.problems.join("; ")) }
    }
}

/// The whole application. Fails (rather than serving) when the router and the route table
/// disagree, so every served route has an authorization-matrix entry.
pub fn build_router(state: AppState) -> Result<Router, String> {
    state.evaluator.start(state.store.clone(), state.clock.clone());
    let b = Builder { router: Router::new(), added: Vec::new(), problems: Vec::new() }
        .add("GET", "/healthz", get(healthz))
        .add("GET", "/metrics", get(metrics_text))
        .add("GET", "/api/openapi.json", get(openapi::document))
        .add("GET", "/static/{file}", get(static_file))
        .add("GET", "/login", get(login::login_form))
        .add("POST", "/login", post(login::login))
        .add("GET", "/login/second-factor", get(login::second_factor_form))
        .add("POST", "/login/second-factor", post(login::second_factor))
        .add("POST", "/logout", post(login::logout))
        .add("GET", "/", get(clients::home))
        .add("GET", "/caseload", get(clients::caseload))
        .add("GET", "/clients/new", get(clients::new_client_form))
        .add("POST", "/clients", post(clients::create_client))
        .add("GET", "/clients/{id}", get(clients::show_client))
        .add("GET", "/clients/{id}/edit", get(clients::edit_client_form))
        .add("POST", "/clients/{id}/edit", post(clients::edit_client))
        .add("POST", "/clients/{id}/archive", post(clients::archive_client))
        .add("POST", "/clients/{id}/restore", post(clients::restore_client))
        .add("POST", "/clients/{id}/sessions", post(clients::add_session))
        .add("GET", "/clients/{id}/measures/new", get(measures::paper_form))
        .add("POST", "/clients/{id}/measures/new", post(measures::save_paper_form))
        .add("POST", "/clients/{id}/schedules", post(measures::set_schedule))
        .add("POST", "/clients/{id}/schedules/{schedule_id}/remove", post(measures::remove_schedule))
        .add("POST", "/clients/{id}/portal-links", post(measures::create_portal_link))
        .add("POST", "/clients/{id}/portal-links/{link_id}/revoke", post(measures::revoke_portal_link))
        .add("GET", "/clients/{id}/transcripts", get(transcripts::trends))
        .add("GET", "/clients/{id}/sessions/{session_id}/transcript", get(transcripts::show))
        .add(
            "POST",
            "/clients/{id}/sessions/{session_id}/transcript",
            post(transcripts::upload).layer(DefaultBodyLimit::max(transcripts::UPLOAD_LIMIT)),
        )
        .add("POST", "/clients/{id}/sessions/{session_id}/transcript/discard-text", post(transcripts::discard_text))
        .add("GET", "/clients/{id}/prompts", get(records::show_prompts))
        .add("POST", "/clients/{id}/prompts/{prompt_id}/resolve", post(records::resolve_prompt))
        .add("GET", "/clients/{id}/safety-plan", get(records::show_safety_plan))
        .add("POST", "/clients/{id}/safety-plan", post(records::save_safety_plan))
        .add("GET", "/clients/{id}/safety-plan/print", get(records::print_safety_plan))
        .add("GET", "/clients/{id}/notes", get(records::show_notes))
        .add("POST", "/clients/{id}/notes", post(records::create_note))
        .add("GET", "/clients/{id}/notes/{note_id}", get(records::show_note))
        .add("POST", "/clients/{id}/notes/{note_id}/edit", post(records::edit_note))
        .add("POST", "/clients/{id}/notes/{note_id}/sign", post(records::sign_note))
        .add("POST", "/clients/{id}/notes/{note_id}/addenda", post(records::add_addendum))
        .add("GET", "/clients/{id}/timeline", get(records::show_timeline))
        .add("GET", "/clients/{id}/break-glass", get(clients::break_glass_form))
        .add("POST", "/clients/{id}/break-glass", post(clients::break_glass))
        .add("GET", "/account", get(account::account))
        .add("POST", "/account/password", post(account::change_password))
        .add("POST", "/account/tokens", post(account::create_token))
        .add("POST", "/account/tokens/{token_id}/revoke", post(account::revoke_token))
        .add("GET", "/account/second-factor", get(account::enrol_form))
        .add("POST", "/account/second-factor", post(account::enrol))
        .add("GET", "/admin", get(admin::admin_home))
        .add("GET", "/admin/users", get(admin::users))
        .add("POST", "/admin/users", post(admin::add_user))
        .add("POST", "/admin/users/{user_id}/disable", post(admin::disable_user))
        .add("POST", "/admin/users/{user_id}/enable", post(admin::enable_user))
        .add("GET", "/admin/clients", get(admin::clients_directory))
        .add("GET", "/admin/clients/{id}/care-team", get(admin::care_team))
        .add("POST", "/admin/clients/{id}/care-team", post(admin::add_member))
        .add("POST", "/admin/clients/{id}/care-team/{user_id}/remove", post(admin::remove_member))
        .add("POST", "/admin/clients/{id}/erase", post(admin::erase))
        .add("GET", "/admin/instruments", get(admin::instruments))
        .add("POST", "/admin/instruments", post(admin::import_instrument).layer(DefaultBodyLimit::max(1024 * 1024)))
        .add("GET", "/admin/guide", get(records::admin_guide))
        .add("POST", "/admin/guide", post(records::save_guide_entry))
        .add("POST", "/admin/guide/thresholds", post(records::save_thresholds))
        .add("GET", "/admin/audit", get(admin::audit_log))
        .add("GET", "/admin/break-glass", get(admin::break_glass_review))
        .add("GET", "/api/v1/me", get(api::me))
        .add("GET", "/api/v1/clients", get(api::list_clients))
        .add("POST", "/api/v1/clients", post(api::create_client))
        .add("GET", "/api/v1/clients/{id}", get(api::get_client))
        .add("PATCH", "/api/v1/clients/{id}", patch(api::patch_client))
        .add("GET", "/api/v1/clients/{id}/sessions", get(api::list_sessions))
        .add("POST", "/api/v1/clients/{id}/sessions", post(api::create_session))
        .add(
            "POST",
            "/api/v1/clients/{id}/sessions/{session_id}/transcript",
            post(api::create_transcript).layer(DefaultBodyLimit::max(transcripts::UPLOAD_LIMIT * 2)),
        )
        .add("GET", "/api/v1/clients/{id}/sessions/{session_id}/transcript", get(api::get_transcript))
        .add("POST", "/api/v1/clients/{id}/responses", post(api::measures::create_response))
        .add("GET", "/api/v1/clients/{id}/responses", get(api::measures::list_responses))
        .add("GET", "/api/v1/clients/{id}/outcomes", get(api::measures::outcomes))
        .add("POST", "/api/v1/clients/{id}/portal-link", post(api::measures::create_portal_link))
        .add("GET", "/api/v1/instruments", get(api::measures::list_instruments))
        .add("GET", "/api/v1/instruments/{instrument}", get(api::measures::get_instrument))
        .add("POST", "/api/v1/instruments", post(api::measures::import_instrument).layer(DefaultBodyLimit::max(1024 * 1024)))
        .add("GET", "/api/v1/clients/{id}/care-team", get(api::get_care_team))
        .add("POST", "/api/v1/clients/{id}/care-team", post(api::add_care_team_member))
        .add("DELETE", "/api/v1/clients/{id}/care-team/{user_id}", delete(api::remove_care_team_member))
        .add("GET", "/api/v1/clients/{id}/prompts", get(api::records::list_prompts))
        .add("POST", "/api/v1/prompts/{id}/resolve", post(api::records::resolve_prompt))
        .add("GET", "/api/v1/clients/{id}/safety-plan", get(api::records::get_safety_plan))
        .add("PUT", "/api/v1/clients/{id}/safety-plan", put(api::records::put_safety_plan))
        .add("GET", "/api/v1/clients/{id}/notes", get(api::records::list_notes))
        .add("POST", "/api/v1/clients/{id}/notes", post(api::records::create_note))
        .add("GET", "/api/v1/notes/{id}", get(api::records::get_note))
        .add("PATCH", "/api/v1/notes/{id}", patch(api::records::patch_note))
        .add("POST", "/api/v1/notes/{id}/sign", post(api::records::sign_note))
        .add("POST", "/api/v1/notes/{id}/addenda", post(api::records::add_addendum))
        .add("GET", "/api/v1/clients/{id}/timeline", get(api::records::timeline))
        .add("GET", "/library", get(pages::library::show))
        .add("POST", "/library", post(pages::library::create))
        .add("POST", "/library/{entry_id}", post(pages::library::update))
        .add("GET", "/clients/{id}/decisions", get(pages::decisions::show))
        .add("POST", "/clients/{id}/decisions", post(pages::decisions::start))
        .add("POST", "/clients/{id}/decisions/{decision_id}", post(pages::decisions::update))
        .add("POST", "/clients/{id}/dossiers", post(pages::decisions::generate_dossier))
        .add("GET", "/clients/{id}/dossiers/{dossier_id}", get(pages::decisions::dossier_pdf))
        .add("GET", "/clients/{id}/dossier/print", get(pages::decisions::dossier_print))
        .add("POST", "/api/v1/clients/{id}/decisions", post(api::decisions::create_decision))
        .add("GET", "/api/v1/clients/{id}/decisions", get(api::decisions::list_decisions))
        .add("GET", "/api/v1/decisions/{id}", get(api::decisions::get_decision))
        .add("PATCH", "/api/v1/decisions/{id}", patch(api::decisions::patch_decision))
        .add("POST", "/api/v1/decisions/{id}/options", post(api::decisions::create_option))
        .add("POST", "/api/v1/decisions/{id}/criteria", post(api::decisions::create_criterion))
        .add("PATCH", "/api/v1/decisions/{id}/criteria/{criterion_id}", patch(api::decisions::patch_criterion))
        .add("PUT", "/api/v1/decisions/{id}/ratings", put(api::decisions::put_rating))
        .add("GET", "/api/v1/decisions/{id}/comparison", get(api::decisions::get_comparison))
        .add("POST", "/api/v1/decisions/{id}/sure", post(api::decisions::post_sure))
        .add("POST", "/api/v1/clients/{id}/dossiers", post(api::decisions::create_dossier))
        .add("GET", "/api/v1/clients/{id}/dossiers", get(api::decisions::list_dossiers))
        .add_as("GET", "/api/v1/dossiers/{id}.pdf", "/api/v1/dossiers/{file}", get(api::decisions::get_dossier_pdf))
        .add("GET", "/portal/{secret}", get(pages::portal::open_link))
        .add("POST", "/portal/{secret}", post(pages::portal::open_link_with_pin))
        .add("GET", "/portal", get(pages::portal::home))
        .add("GET", "/portal/forms/{instrument}", get(pages::portal::form))
        .add("POST", "/portal/forms/{instrument}", post(pages::portal::submit))
        .add("GET", "/portal/safety-plan", get(records::portal_safety_plan))
        .add("GET", "/portal/decision", get(pages::portal_decisions::show))
        .add("POST", "/portal/decision", post(pages::portal_decisions::save))
        .add("POST", "/portal/logout", post(pages::portal::logout));
    let router = b.finish()?;
    let body_limit = state.config.body_limit;
    Ok(router
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(state.clone(), crate::evaluator::poke_after_writes))
        .layer(middleware::from_fn(security::track_metrics))
        .layer(middleware::from_fn_with_state(state.clone(), security::security_headers))
        .layer(CsrfLayer::new())
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, Duration::from_secs(30)))
        .layer(TraceLayer::new_for_http().make_span_with(|req: &axum::http::Request<_>| {
            // Log the route template, never the concrete path or query (ids, search terms).
            let route = req.extensions().get::<axum::extract::MatchedPath>().map_or("unmatched", |m| m.as_str()).to_owned();
            let id = req.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or("-").to_owned();
            tracing::info_span!("request", method = %req.method(), route = %route, request_id = %id)
        }))
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
        .layer(CatchPanicLayer::custom(|_| (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response()))
        // Outermost, so a request's queued audit entries (its reads, its API token use) are
        // committed even when the handler timed out or panicked.
        .layer(middleware::from_fn_with_state(state.clone(), security::audit_reads))
        .with_state(state))
}

async fn not_found(uri: axum::http::Uri) -> Response {
    if uri.path().starts_with("/api/") {
        crate::error::ApiError(crate::error::AppError::NotFound).into_response()
    } else {
        crate::error::PageError(crate::error::AppError::NotFound).into_response()
    }
}

async fn healthz(State(state): State<AppState>) -> Response {
    match state.store.ping().await {
        Ok(()) => axum::Json(serde_json::json!({"status": "ok", "database": state.store.engine().as_str()})).into_response(),
        Err(_) => (StatusCode::SERVICE_UNAVAILABLE, axum::Json(serde_json::json!({"status": "unavailable"}))).into_response(),
    }
}

async fn metrics_text(State(state): State<AppState>) -> Response {
    match &state.metrics {
        Some(h) => ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], h.render()).into_response(),
        None => ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], String::new()).into_response(),
    }
}

const APP_CSS: &str = include_str!("../static/app.css");
const HTMX_JS: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/htmx.min.js"));

async fn static_file(Path(file): Path<String>) -> Response {
    let (body, mime): (&[u8], &str) = match file.as_str() {
        "app.css" => (APP_CSS.as_bytes(), "text/css; charset=utf-8"),
        "htmx.min.js" => (HTMX_JS, "text/javascript; charset=utf-8"),
        _ => return not_found(axum::http::Uri::from_static("/static")).await,
    };
    let mut resp = body.into_response();
    resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(mime));
    resp.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=3600"));
    resp
}
