//! The account page: second-factor enrolment and personal API tokens.

use super::nav;
use crate::auth::{AnySession, PageForm, Staff, parse_path_id};
use crate::error::{AppError, PageError};
use crate::pages::login::{CodeForm, totp_ok, upgrade_session};
use crate::state::AppState;
use crate::view::{AccountPage, EnrolPage, TokenView, fmt_ts, render};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use concord_domain::ids::TokenId;
use concord_domain::values::NewPassword;
use concord_store::accounts::{self, SessionStage, User};
use concord_store::passwords;
use rand::RngCore;
use serde::Deserialize;

async fn account_page(state: &AppState, staff: &Staff, new_token: Option<String>) -> Result<AccountPage, PageError> {
    account_page_with(state, staff, new_token, None, None).await
}

async fn account_page_with(
    state: &AppState,
    staff: &Staff,
    new_token: Option<String>,
    password_message: Option<String>,
    password_error: Option<String>,
) -> Result<AccountPage, PageError> {
    let u = staff.user();
    let tokens = accounts::list_tokens(&state.store, u.id).await?;
    Ok(AccountPage {
        title: "Account".into(),
        nav: nav(staff, "account"),
        name: u.name.clone(),
        email: u.email.clone(),
        role: u.role.to_string(),
        totp_enabled: u.totp_enabled,
        tokens: tokens
            .into_iter()
            .map(|t| TokenView {
                id: t.id.to_string(),
                label: t.label,
                created: fmt_ts(Some(t.created_at)),
                last_used: fmt_ts(t.last_used_at),
                revoked: t.revoked_at.is_some(),
            })
            .collect(),
        new_token,
        password_message,
        password_error,
    })
}

#[derive(Deserialize)]
pub struct PasswordForm {
    current_password: String,
    new_password: String,
}

/// Changes one's own password after checking the current one; other sessions are signed out.
pub async fn change_password(
    State(state): State<AppState>,
    staff: Staff,
    PageForm(form): PageForm<PasswordForm>,
) -> Result<Response, PageError> {
    let stored = staff.user().password_hash.clone();
    let current = form.current_password;
    let ok = tokio::task::spawn_blocking(move || passwords::verify(&current, Some(&stored)))
        .await
        .map_err(|e| AppError::Internal(e.to_string()))?;
    let fail = |msg: String| async {
        let page = account_page_with(&state, &staff, None, None, Some(msg)).await?;
        Ok::<Response, PageError>((StatusCode::UNPROCESSABLE_ENTITY, render(&page)).into_response())
    };
    if !ok {
        return fail("The current password is not right.".into()).await;
    }
    let new = match NewPassword::parse(&form.new_password) {
        Ok(p) => p,
        Err(e) => return fail(e.to_string()).await,
    };
    let pw = new.expose().to_owned();
    let hash = tokio::task::spawn_blocking(move || passwords::hash(&pw)).await.map_err(|e| AppError::Internal(e.to_string()))??;
    accounts::set_password(&state.store, &staff.ctx, staff.user(), &hash, Some(&staff.session.id_hash)).await?;
    let page = account_page_with(&state, &staff, None, Some("Password changed. Your other sessions were signed out.".into()), None).await?;
    Ok(render(&page))
}

pub async fn account(State(state): State<AppState>, staff: Staff) -> Result<Response, PageError> {
    Ok(render(&account_page(&state, &staff, None).await?))
}

#[derive(Deserialize)]
pub struct TokenForm {
    label: Option<String>,
}

pub async fn create_token(State(state): State<AppState>, staff: Staff, PageForm(form): PageForm<TokenForm>) -> Result<Response, PageError> {
    let (_, secret) = accounts::create_token(&state.store, &staff.ctx, staff.user(), form.label.as_deref().unwrap_or("")).await?;
    Ok(render(&account_page(&state, &staff, Some(secret)).await?))
}

pub async fn revoke_token(State(state): State<AppState>, staff: Staff, Path(id): Path<String>) -> Result<Response, PageError> {
    let id: TokenId = parse_path_id(&id)?;
    accounts::revoke_token(&state.store, &staff.ctx, staff.user(), id).await?;
    Ok(Redirect::to("/account").into_response())
}

fn base32(bytes: &[u8]) -> String {
    totp_rs::Secret::Raw(bytes.to_vec()).to_encoded().to_string()
}

fn enrol_page(user: &User, stage: SessionStage, secret: &[u8], error: Option<String>) -> EnrolPage {
    let encoded = base32(secret);
    let issuer = "Concord";
    EnrolPage {
        title: "Second factor".into(),
        nav: None,
        required: stage == SessionStage::Enrol,
        already_enabled: false,
        otpauth_uri: format!("otpauth://totp/{issuer}:{}?secret={encoded}&issuer={issuer}&algorithm=SHA1&digits=6&period=30", user.email),
        secret: encoded,
        error,
        recovery_codes: None,
    }
}

pub async fn enrol_form(State(state): State<AppState>, s: AnySession) -> Result<Response, PageError> {
    let user = &s.session.user;
    match s.session.stage {
        SessionStage::SecondFactor => return Ok(Redirect::to("/login/second-factor").into_response()),
        SessionStage::Enrol | SessionStage::Full => {}
    }
    if user.totp_enabled {
        let mut page = enrol_page(user, s.session.stage, &[], None);
        page.already_enabled = true;
        return Ok(render(&page));
    }
    // A reload shows the same pending secret, so a code already scanned keeps working.
    if let Some(pending) = accounts::totp_secret(&state.store, user).await? {
        return Ok(render(&enrol_page(user, s.session.stage, &pending, None)));
    }
    let mut secret = [0u8; 20];
    rand::rngs::OsRng.fill_bytes(&mut secret);
    accounts::set_pending_totp(&state.store, &s.ctx, user, &secret).await?;
    Ok(render(&enrol_page(user, s.session.stage, &secret, None)))
}

/// Ten single-use recovery codes, shown once and stored hashed.
fn recovery_codes() -> Vec<String> {
    (0..10)
        .map(|_| {
            let mut b = [0u8; 5];
            rand::rngs::OsRng.fill_bytes(&mut b);
            let s = hex::encode(b);
            format!("{}-{}", s.get(..5).unwrap_or(""), s.get(5..).unwrap_or(""))
        })
        .collect()
}

pub async fn enrol(State(state): State<AppState>, s: AnySession, PageForm(form): PageForm<CodeForm>) -> Result<Response, PageError> {
    let user = &s.session.user;
    if s.session.stage == SessionStage::SecondFactor || user.totp_enabled {
        return Ok(Redirect::to("/account").into_response());
    }
    let Some(secret) = accounts::totp_secret(&state.store, user).await? else {
        return Ok(Redirect::to("/account/second-factor").into_response());
    };
    if !totp_ok(&secret, &form.code, s.ctx.ts()) {
        let page =
            enrol_page(user, s.session.stage, &secret, Some("That code is not valid; check the time on your device and try again.".into()));
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, render(&page)).into_response());
    }
    let codes = recovery_codes();
    let hashes: Vec<String> = codes.iter().map(|c| accounts::secret_hash(&c.replace('-', ""))).collect();
    accounts::enable_totp(&state.store, &s.ctx, user, &hashes).await?;
    let mut page = enrol_page(user, s.session.stage, &[], None);
    page.recovery_codes = Some(codes);
    let body = render(&page);
    if s.session.stage == SessionStage::Enrol {
        // Enrolment completes the sign-in: a fresh full session replaces the partial one.
        let redirect = upgrade_session(&state, &s.ctx, user, SessionStage::Full, Some(&s.session.id_hash)).await?;
        let mut resp = body;
        if let Some(cookie) = redirect.headers().get(axum::http::header::SET_COOKIE) {
            resp.headers_mut().insert(axum::http::header::SET_COOKIE, cookie.clone());
        }
        return Ok(resp);
    }
    Ok(body)
}
