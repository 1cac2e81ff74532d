//! Request extractors, one per kind of caller: `ReqCtx` (request id and time), `ApiCaller`
//! (bearer token), `Staff` (a fully signed-in session), `Admin` (a signed-in practice admin)
//! and `PartialSession` (signed in with a password, second factor still to come).

use crate::error::{ApiError, AppError, PageError};
use crate::state::AppState;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};
use concord_domain::policy::{self, Actor, PracticeAdminAccess};
use concord_store::Ctx;
use concord_store::accounts::{self, LoginSession, SessionStage, User};

/// The request's id and the injected clock's time.
#[derive(Debug, Clone)]
pub struct ReqCtx(pub Ctx);

impl FromRequestParts<AppState> for ReqCtx {
    type Rejection = std::convert::Infallible;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let id = parts.headers.get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or("-").chars().take(64).collect::<String>();
        let now = state.clock.now();
        Ok(ReqCtx(match parts.extensions.get::<concord_store::AuditQueue>() {
            Some(queue) => Ctx::with_queue(id, now, queue.clone()),
            None => Ctx::new(id, now),
        }))
    }
}

/// A script authenticated with `Authorization: Bearer <personal token>`.
#[derive(Debug, Clone)]
pub struct ApiCaller {
    pub user: User,
    pub ctx: Ctx,
}

impl ApiCaller {
    pub fn actor(&self) -> Actor {
        self.user.actor()
    }
}

impl FromRequestParts<AppState> for ApiCaller {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let Ok(ReqCtx(ctx)) = ReqCtx::from_request_parts(parts, state).await;
        let token = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim)
            .ok_or(ApiError(AppError::Unauthenticated))?;
        let (user, _token_id) =
            accounts::authenticate_token(&state.store, &ctx, token).await?.ok_or(ApiError(AppError::Unauthenticated))?;
        Ok(ApiCaller { user, ctx })
    }
}

/// Reads one cookie's value from the request headers.
pub fn cookie_value(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}

/// The `Set-Cookie` value for a session secret (or for clearing it).
pub fn session_cookie(state: &AppState, secret: Option<&str>) -> HeaderValue {
    let secure = if state.config.secure_cookies { "; Secure" } else { "" };
    let v = match secret {
        Some(s) => format!("{}={s}; Path=/; HttpOnly; SameSite=Lax{secure}", state.cookie_name()),
        None => format!("{}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0{secure}", state.cookie_name()),
    };
    HeaderValue::from_str(&v).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// Why a page request could not proceed as a signed-in user: where to send the browser.
#[derive(Debug)]
pub enum PageAuthRejection {
    Login,
    SecondFactor,
    Enrol,
    Error(PageError),
}

impl IntoResponse for PageAuthRejection {
    fn into_response(self) -> Response {
        match self {
            PageAuthRejection::Login => Redirect::to("/login").into_response(),
            PageAuthRejection::SecondFactor => Redirect::to("/login/second-factor").into_response(),
            PageAuthRejection::Enrol => Redirect::to("/account/second-factor").into_response(),
            PageAuthRejection::Error(e) => e.into_response(),
        }
    }
}

async fn load_session(parts: &Parts, state: &AppState) -> Result<(Option<LoginSession>, Ctx), PageAuthRejection> {
    let Ok(ReqCtx(ctx)) = ReqCtx::from_request_parts(&mut parts.clone(), state).await;
    let Some(secret) = cookie_value(&parts.headers, state.cookie_name()) else { return Ok((None, ctx)) };
    let s = accounts::touch_session(&state.store, &ctx, &secret, state.config.session_idle)
        .await
        .map_err(|e| PageAuthRejection::Error(PageError(e.into())))?;
    Ok((s, ctx))
}

/// A staff member signed in with every factor their role requires.
#[derive(Debug, Clone)]
pub struct Staff {
    pub session: LoginSession,
    pub ctx: Ctx,
}

impl Staff {
    pub fn user(&self) -> &User {
        &self.session.user
    }
    pub fn actor(&self) -> Actor {
        self.session.user.actor()
    }
}

impl FromRequestParts<AppState> for Staff {
    type Rejection = PageAuthRejection;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let (session, ctx) = load_session(parts, state).await?;
        let session = session.ok_or(PageAuthRejection::Login)?;
        match session.stage {
            SessionStage::Full => Ok(Staff { session, ctx }),
            SessionStage::SecondFactor => Err(PageAuthRejection::SecondFactor),
            SessionStage::Enrol => Err(PageAuthRejection::Enrol),
        }
    }
}

/// A signed-in practice admin. Anyone else gets the same 404 as a missing page.
#[derive(Debug, Clone)]
pub struct Admin {
    pub staff: Staff,
    pub access: PracticeAdminAccess,
}

impl FromRequestParts<AppState> for Admin {
    type Rejection = PageAuthRejection;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let staff = Staff::from_request_parts(parts, state).await?;
        let access = policy::decide_practice_admin(&staff.actor()).ok_or(PageAuthRejection::Error(PageError(AppError::NotFound)))?;
        Ok(Admin { staff, access })
    }
}

/// A session past the password but not yet complete (second factor due, or enrolment due),
/// or a complete one (for enrolment pages reached from the account page).
#[derive(Debug, Clone)]
pub struct AnySession {
    pub session: LoginSession,
    pub ctx: Ctx,
}

impl FromRequestParts<AppState> for AnySession {
    type Rejection = PageAuthRejection;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let (session, ctx) = load_session(parts, state).await?;
        Ok(AnySession { session: session.ok_or(PageAuthRejection::Login)?, ctx })
    }
}

/// JSON body for the API whose rejections are clear 4xx JSON errors.
#[derive(Debug)]
pub struct ApiJson<T>(pub T);

impl<T: serde::de::DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;
    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(ApiJson(v)),
            Err(rejection) => {
                use axum::extract::rejection::JsonRejection;
                let status = rejection.status();
                let msg = match &rejection {
                    JsonRejection::JsonDataError(e) => format!(
                        "invalid request body: {}",
                        e.body_text().trim_start_matches("Failed to deserialize the JSON body into the target type: ")
                    ),
                    JsonRejection::JsonSyntaxError(_) => "request body is not valid JSON".to_owned(),
                    JsonRejection::MissingJsonContentType(_) => "expected Content-Type: application/json".to_owned(),
                    _ => rejection.body_text(),
                };
                Err(ApiError(match status.as_u16() {
                    413 => AppError::TooLarge,
                    415 => AppError::BadRequest(msg),
                    422 => AppError::Unprocessable(msg),
                    _ => AppError::BadRequest(msg),
                }))
            }
        }
    }
}

/// Form body for pages whose rejections are clear 4xx pages.
#[derive(Debug)]
pub struct PageForm<T>(pub T);

impl<T: serde::de::DeserializeOwned, S: Send + Sync> FromRequest<S> for PageForm<T> {
    type Rejection = PageError;
    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Form::<T>::from_request(req, state).await {
            Ok(axum::Form(v)) => Ok(PageForm(v)),
            Err(rejection) => Err(PageError(if rejection.status().as_u16() == 413 {
                AppError::TooLarge
            } else {
                AppError::BadRequest(format!("the form could not be read: {}", rejection.body_text()))
            })),
        }
    }
}

/// A typed id from the path; a malformed one is the same 404 as a missing record.
pub fn parse_path_id<T: std::str::FromStr>(raw: &str) -> Result<T, AppError> {
    raw.parse().map_err(|_| AppError::NotFound)
}
