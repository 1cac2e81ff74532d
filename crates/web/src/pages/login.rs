//! Sign-in with password, then the second factor when the account has one; admins without
//! one are sent to enrol before anything else.

use crate::auth::{AnySession, PageForm, ReqCtx, session_cookie};
use crate::error::{AppError, PageError};
use crate::state::AppState;
use crate::view::{LoginPage, SecondFactorPage, render};
use axum::extract::{ConnectInfo, State};
use axum::http::StatusCode;
use axum::http::header::SET_COOKIE;
use axum::response::{IntoResponse, Redirect, Response};
use concord_store::accounts::{self, SessionStage, User};
use concord_store::{Ctx, passwords};
use serde::Deserialize;
use std::net::SocketAddr;

const LOGIN_FAILED: &str = "Email or password is incorrect.";

pub async fn login_form() -> Response {
    render(&LoginPage { title: "Sign in".into(), nav: None, error: None, email: String::new() })
}

#[derive(Deserialize)]
pub struct LoginForm {
    email: String,
    password: String,
}

fn login_error(status: StatusCode, message: String, email: String) -> Response {
    (status, render(&LoginPage { title: "Sign in".into(), nav: None, error: Some(message), email })).into_response()
}

/// Starts a session at the stage the account requires and sends the browser on.
async fn start_session(state: &AppState, ctx: &Ctx, user: &User, previous: Option<&str>) -> Result<Response, PageError> {
    let stage = if user.totp_enabled {
        SessionStage::SecondFactor
    } else if user.role.requires_second_factor() {
        SessionStage::Enrol
    } else {
        SessionStage::Full
    };
    upgrade_session(state, ctx, user, stage, previous).await
}

/// Issues a fresh session id at the given stage (revoking the previous one, so an id seen
/// before sign-in is worthless after it) and redirects to where that stage leads.
pub async fn upgrade_session(
    state: &AppState,
    ctx: &Ctx,
    user: &User,
    stage: SessionStage,
    previous: Option<&str>,
) -> Result<Response, PageError> {
    if let Some(prev) = previous {
        accounts::revoke_session(&state.store, ctx, prev).await?;
    }
    let secret = accounts::create_session(&state.store, ctx, user, stage, state.config.session_absolute).await?;
    let to = match stage {
        SessionStage::SecondFactor => "/login/second-factor",
        SessionStage::Enrol => "/account/second-factor",
        SessionStage::Full => "/caseload",
    };
    let mut resp = Redirect::to(to).into_response();
    resp.headers_mut().insert(SET_COOKIE, session_cookie(state, Some(&secret)));
    Ok(resp)
}

pub async fn login(
    State(state): State<AppState>,
    ReqCtx(ctx): ReqCtx,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    PageForm(form): PageForm<LoginForm>,
) -> Result<Response, PageError> {
    let email = form.email.trim().to_lowercase();
    let email_key = format!("login-email:{email}");
    let ip_key = format!("login-ip:{}", peer.ip());
    for key in [&email_key, &ip_key] {
        if let Some(until) = accounts::throttle_locked_until(&state.store, &ctx, key).await? {
            let minutes = (until - ctx.ts() + 59) / 60;
            return Ok(login_error(
                StatusCode::TOO_MANY_REQUESTS,
                format!("Too many failed attempts. Try again in {minutes} minutes."),
                email,
            ));
        }
    }
    let user = if email.len() <= 254 { accounts::find_user_by_email(&state.store, &email).await? } else { None };
    // The password check runs whether or not the account exists, against a dummy hash when it
    // does not, so the answer and its timing are the same.
    let stored = user.as_ref().filter(|u| !u.disabled).map(|u| u.password_hash.clone());
    let password = form.password;
    let ok = tokio::task::spawn_blocking(move || passwords::verify(&password, stored.as_deref()))
        .await
        .map_err(|e| AppError::Internal(format!("password check: {e}")))?;
    match (ok, user) {
        (true, Some(user)) => {
            accounts::throttle_reset(&state.store, &email_key).await?;
            accounts::record_security_event(&state.store, &ctx, Some(user.practice_id), Some(user.id), "login.password_ok", "").await?;
            start_session(&state, &ctx, &user, None).await
        }
        (_, user) => {
            accounts::throttle_failure(&state.store, &ctx, &email_key, state.config.throttle).await?;
            // Behind a proxy every user shares one address: that key gets ten times the
            // budget, so one person's typos cannot lock the whole practice out.
            let p = state.config.throttle;
            accounts::throttle_failure(&state.store, &ctx, &ip_key, accounts::ThrottlePolicy { max_failures: p.max_failures * 10, ..p })
                .await?;
            let (practice, uid) = user.map_or((None, None), |u| (Some(u.practice_id), Some(u.id)));
            let detail = if uid.is_some() { "wrong password" } else { "unknown account" };
            accounts::record_security_event(&state.store, &ctx, practice, uid, "login.failure", detail).await?;
            Ok(login_error(StatusCode::UNAUTHORIZED, LOGIN_FAILED.into(), email))
        }
    }
}

pub async fn second_factor_form(s: AnySession) -> Response {
    match s.session.stage {
        SessionStage::SecondFactor => render(&SecondFactorPage { title: "Second factor".into(), nav: None, error: None }),
        SessionStage::Enrol => Redirect::to("/account/second-factor").into_response(),
        SessionStage::Full => Redirect::to("/caseload").into_response(),
    }
}

#[derive(Deserialize)]
pub struct CodeForm {
    pub code: String,
}

/// Checks a six-digit TOTP code against a secret at the injected clock's time (±1 step).
pub fn totp_ok(secret: &[u8], code: &str, now_unix: i64) -> bool {
    let code = code.trim().replace(' ', "");
    if code.len() != 6 || !code.chars().all(|c| c.is_ascii_digit()) {
        return false;
    }
    match totp_rs::TOTP::new(totp_rs::Algorithm::SHA1, 6, 1, 30, secret.to_vec()) {
        Ok(t) => t.check(&code, u64::try_from(now_unix).unwrap_or(0)),
        Err(_) => false,
    }
}

pub async fn second_factor(
    State(state): State<AppState>,
    s: AnySession,
    PageForm(form): PageForm<CodeForm>,
) -> Result<Response, PageError> {
    let ctx = &s.ctx;
    let user = &s.session.user;
    if s.session.stage != SessionStage::SecondFactor {
        return Ok(Redirect::to("/caseload").into_response());
    }
    let key = format!("second-factor:{}", user.id);
    if accounts::throttle_locked_until(&state.store, ctx, &key).await?.is_some() {
        return Ok((
            StatusCode::TOO_MANY_REQUESTS,
            render(&SecondFactorPage {
                title: "Second factor".into(),
                nav: None,
                error: Some("Too many wrong codes. Try again later.".into()),
            }),
        )
            .into_response());
    }
    let secret = accounts::totp_secret(&state.store, user).await?;
    let ok_totp = secret.is_some_and(|sec| totp_ok(&sec, &form.code, ctx.ts()));
    let ok = ok_totp || accounts::use_recovery_code(&state.store, ctx, user, &form.code).await?;
    if !ok {
        accounts::throttle_failure(&state.store, ctx, &key, state.config.throttle).await?;
        accounts::record_security_event(&state.store, ctx, Some(user.practice_id), Some(user.id), "login.second_factor_failure", "")
            .await?;
        return Ok((
            StatusCode::UNAUTHORIZED,
            render(&SecondFactorPage { title: "Second factor".into(), nav: None, error: Some("That code is not valid.".into()) }),
        )
            .into_response());
    }
    accounts::throttle_reset(&state.store, &key).await?;
    let how = if ok_totp { "totp" } else { "recovery_code" };
    accounts::record_security_event(&state.store, ctx, Some(user.practice_id), Some(user.id), "login.success", how).await?;
    upgrade_session(&state, ctx, user, SessionStage::Full, Some(&s.session.id_hash)).await
}

pub async fn logout(State(state): State<AppState>, s: AnySession) -> Result<Response, PageError> {
    accounts::revoke_session(&state.store, &s.ctx, &s.session.id_hash).await?;
    let u = &s.session.user;
    accounts::record_security_event(&state.store, &s.ctx, Some(u.practice_id), Some(u.id), "logout", "").await?;
    let mut resp = Redirect::to("/login").into_response();
    resp.headers_mut().insert(SET_COOKIE, session_cookie(&state, None));
    Ok(resp)
}
