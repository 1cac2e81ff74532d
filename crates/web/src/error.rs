//! One application error type. Each variant carries the message the user sees; internal
//! causes are logged (without client data) and never shown.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use concord_store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("{0}")]
    BadRequest(String),
    #[error("authentication required")]
    Unauthenticated,
    /// Absent or not the caller's: deliberately one answer.
    #[error("not found")]
    NotFound,
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Unprocessable(String),
    #[error("{0}")]
    TooManyRequests(String),
    #[error("request body too large")]
    TooLarge,
    #[error("service unavailable")]
    Unavailable,
    #[error("internal error")]
    Internal(String),
}

impl AppError {
    pub fn status(&self) -> StatusCode {
        match self {
            AppError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AppError::Unauthenticated => StatusCode::UNAUTHORIZED,
            AppError::NotFound => StatusCode::NOT_FOUND,
            AppError::Conflict(_) => StatusCode::CONFLICT,
            AppError::Unprocessable(_) => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::TooManyRequests(_) => StatusCode::TOO_MANY_REQUESTS,
            AppError::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The message shown to the caller.
    pub fn public_message(&self) -> String {
        match self {
            AppError::Internal(_) => "internal error".to_owned(),
            other => other.to_string(),
        }
    }

    fn log(&self) {
        if let AppError::Internal(cause) = self {
            tracing::error!(cause = %cause, "request failed");
        }
    }
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => AppError::NotFound,
            StoreError::Conflict(m) => AppError::Conflict(m),
            StoreError::Invalid(m) => AppError::Unprocessable(m),
            StoreError::NotAssigned => AppError::Conflict(StoreError::NotAssigned.to_string()),
            StoreError::Unavailable(_) => AppError::Unavailable,
            // sqlx errors may quote a failing query's parameters, so they are logged by
            // kind only, never shown.
            StoreError::Db(err) => AppError::Internal(format!("database: {}", db_kind(&err))),
            StoreError::Crypto(err) => AppError::Internal(format!("crypto: {err}")),
            StoreError::Config(m) => AppError::Internal(format!("config: {m}")),
        }
    }
}

fn db_kind(e: &sqlx::Error) -> String {
    match e {
        sqlx::Error::Database(d) => format!("database error code {:?}", d.code()),
        sqlx::Error::PoolTimedOut => "pool timed out".into(),
        sqlx::Error::Io(_) => "io".into(),
        other => format!("{:?}", std::mem::discriminant(other)),
    }
}

impl From<concord_domain::values::ValueError> for AppError {
    fn from(e: concord_domain::values::ValueError) -> Self {
        AppError::Unprocessable(e.to_string())
    }
}

impl From<askama::Error> for AppError {
    fn from(e: askama::Error) -> Self {
        AppError::Internal(format!("template: {e}"))
    }
}

/// JSON errors for the API: `{"error": "..."}`.
#[derive(Debug)]
pub struct ApiError(pub AppError);

impl<E: Into<AppError>> From<E> for ApiError {
    fn from(e: E) -> Self {
        ApiError(e.into())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        self.0.log();
        let status = self.0.status();
        let mut resp = (status, axum::Json(serde_json::json!({ "error": self.0.public_message() }))).into_response();
        if status == StatusCode::UNAUTHORIZED {
            resp.headers_mut().insert(axum::http::header::WWW_AUTHENTICATE, axum::http::HeaderValue::from_static("Bearer"));
        }
        resp
    }
}

/// HTML errors for pages: a small page with the message.
#[derive(Debug)]
pub struct PageError(pub AppError);

impl<E: Into<AppError>> From<E> for PageError {
    fn from(e: E) -> Self {
        PageError(e.into())
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        self.0.log();
        let status = self.0.status();
        let message = match &self.0 {
            AppError::NotFound => "This page or record does not exist, or it is not yours to open.".to_owned(),
            other => other.public_message(),
        };
        let page = crate::view::ErrorPage {
            title: status.canonical_reason().unwrap_or("Error").to_owned(),
            nav: None,
            message,
            emergency_link: None,
        };
        (status, crate::view::render(&page)).into_response()
    }
}
