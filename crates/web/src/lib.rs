//! The web application: therapist and admin pages (askama, server-rendered, working without
//! JavaScript; htmx enhances where present), the JSON API under `/api/v1`, authentication,
//! sessions, CSRF and security headers.
//!
//! Security Invariant: handlers reach client data only through `concord_store::clients`, whose
//! functions take a decision from `concord_domain::policy`; a handler cannot forget the check.
//! Every route is listed in `routes::ROUTES`, and the authorization matrix test fails when a
//! route has no entry there.

pub mod api;
pub mod app;
pub mod auth;
pub mod charts;
pub mod dossier;
pub mod error;
pub mod evaluator;
pub mod openapi;
pub mod outcomes;
pub mod pages;
pub mod questionnaire;
pub mod routes;
pub mod security;
pub mod state;
pub mod view;
pub mod view_cache;

pub use app::build_router;
pub use state::{AppConfig, AppState};
