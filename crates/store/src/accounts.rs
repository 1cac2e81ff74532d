//! Practices, staff accounts, login sessions, API tokens, second factors and login throttling.
//! None of this is client data, but every security event is audited.

use crate::audit::{self, SYSTEM_CHAIN};
use crate::crypto::field_aad;
use crate::{Ctx, Store, StoreError};
use concord_domain::ids::{PracticeId, TokenId, UserId};
use concord_domain::policy::{Actor, PracticeAdminAccess};
use concord_domain::values::{Email, PersonName, PracticeName, Role};
use rand::RngCore;
use sha2::{Digest, Sha256};
use sqlx::Row;
use sqlx::any::AnyRow;
use time::Duration;

const KEY_CHECK: &[u8] = b"concord practice key check";

/// SHA-256 of a secret, hex; what we store for session ids, tokens and recovery codes.
pub fn secret_hash(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// A new random secret (256 bits), base64url without padding.
pub fn new_secret() -> String {
    use base64::Engine as _;
    let mut b = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut b);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
}

pub(crate) async fn check_practice_keys(store: &Store) -> Result<(), StoreError> {
    let rows = sqlx::query("SELECT id, key_check FROM practices").fetch_all(store.reads()).await?;
    for r in rows {
        let id: String = r.try_get("id")?;
        let check: Vec<u8> = r.try_get("key_check")?;
        if store.key().open(&check, &field_aad("practices", "key_check", &id)).ok().as_deref() != Some(KEY_CHECK) {
            return Err(StoreError::Config(
                "the practice key does not match this database (wrong key file or CONCORD_PRACTICE_KEY)".into(),
            ));
        }
    }
    Ok(())
}

#[derive(Debug, Clone)]
pub struct Practice {
    pub id: PracticeId,
    pub name: String,
}

pub async fn create_practice(store: &Store, ctx: &Ctx, name: &PracticeName) -> Result<PracticeId, StoreError> {
    let id: PracticeId = ctx.new_id(PracticeId::new_at);
    let check = store.key().seal(KEY_CHECK, &field_aad("practices", "key_check", &id.to_string()))?;
    let mut tx = store.begin().await?;
    sqlx::query("INSERT INTO practices (id, name, key_check, created_at) VALUES ($1, $2, $3, $4)")
        .bind(id.to_string())
        .bind(name.as_str())
        .bind(check)
        .bind(ctx.ts())
        .execute(&mut *tx)
        .await?;
    let mut ev = ctx.event(None, &id.to_string(), "practice.create", "practice");
    ev.record_id = Some(id.to_string());
    audit::append(&mut tx, &ev).await?;
    tx.commit().await?;
    Ok(id)
}

pub async fn list_practices(store: &Store) -> Result<Vec<Practice>, StoreError> {
    let rows = sqlx::query("SELECT id, name FROM practices ORDER BY created_at").fetch_all(store.reads()).await?;
    rows.iter().map(|r| Ok(Practice { id: parse_id(r, "id")?, name: r.try_get("name")? })).collect()
}

pub async fn practice_name(store: &Store, id: PracticeId) -> Result<String, StoreError> {
    let r = sqlx::query("SELECT name FROM practices WHERE id = $1").bind(id.to_string()).fetch_optional(store.reads()).await?;
    r.ok_or(StoreError::NotFound)?.try_get("name").map_err(Into::into)
}

pub(crate) fn parse_id<T: std::str::FromStr>(r: &AnyRow, col: &str) -> Result<T, StoreError> {
    let s: String = r.try_get(col)?;
    s.parse().map_err(|_| StoreError::Invalid(format!("corrupt id in column {col}")))
}

#[derive(Debug, Clone)]
pub struct User {
    pub id: UserId,
    pub practice_id: PracticeId,
    pub email: String,
    pub name: String,
    pub role: Role,
    pub password_hash: String,
    pub totp_enabled: bool,
    pub disabled: bool,
}

impl User {
    pub fn actor(&self) -> Actor {
        Actor { user_id: self.id, practice_id: self.practice_id, role: self.role }
    }
}

/// The user columns, as a literal so that queries stay compile-time strings.
macro_rules! user_cols {
    () => {
        "id, practice_id, email, name, role, password_hash, totp_enabled, disabled"
    };
    (u) => {
        "u.id, u.practice_id, u.email, u.name, u.role, u.password_hash, u.totp_enabled, u.disabled"
    };
}

fn user_from(r: &AnyRow) -> Result<User, StoreError> {
    let role: String = r.try_get("role")?;
    Ok(User {
        id: parse_id(r, "id")?,
        practice_id: parse_id(r, "practice_id")?,
        email: r.try_get("email")?,
        name: r.try_get("name")?,
        role: role.parse().map_err(|_| StoreError::Invalid("corrupt role".into()))?,
        password_hash: r.try_get("password_hash")?,
        totp_enabled: r.try_get::<i64, _>("totp_enabled")? != 0,
        disabled: r.try_get::<i64, _>("disabled")? != 0,
    })
}

pub struct NewUser<'a> {
    pub practice_id: PracticeId,
    pub email: &'a Email,
    pub name: &'a PersonName,
    pub role: Role,
    pub password_hash: String,
}

pub async fn create_user(store: &Store, ctx: &Ctx, by: Option<&Actor>, u: NewUser<'_>) -> Result<UserId, StoreError> {
    let id: UserId = ctx.new_id(UserId::new_at);
    let mut tx = store.begin().await?;
    sqlx::query(
        "INSERT INTO users (id, practice_id, email, name, role, password_hash, totp_enabled, disabled, created_at) VALUES ($1, $2, $3, $4, $5, $6, 0, 0, $7)",
    )
    .bind(id.to_string())
    .bind(u.practice_id.to_string())
    .bind(u.email.as_str())
    .bind(u.name.as_str())
    .bind(u.role.as_str())
    .bind(&u.password_hash)
    .bind(ctx.ts())
    .execute(&mut *tx)
    .await
    .map_err(|e| StoreError::unique_or(e, "an account with this email"))?;
    let mut ev = ctx.event(by, &u.practice_id.to_string(), "user.create", "user");
    ev.record_id = Some(id.to_string());
    ev.detail = format!("role={}", u.role);
    audit::append(&mut tx, &ev).await?;
    tx.commit().await?;
    Ok(id)
}

pub async fn find_user_by_email(store: &Store, email: &str) -> Result<Option<User>, StoreError> {
    let r = sqlx::query(concat!("SELECT ", user_cols!(), " FROM users WHERE email = $1"))
        .bind(email.trim().to_lowercase())
        .fetch_optional(store.reads())
        .await?;
    r.as_ref().map(user_from).transpose()
}

pub async fn get_user(store: &Store, id: UserId) -> Result<Option<User>, StoreError> {
    let r = sqlx::query(concat!("SELECT ", user_cols!(), " FROM users WHERE id = $1"))
        .bind(id.to_string())
        .fetch_optional(store.reads())
        .await?;
    r.as_ref().map(user_from).transpose()
}

pub async fn list_users(store: &Store, practice_id: PracticeId) -> Result<Vec<User>, StoreError> {
    let rows = sqlx::query(concat!("SELECT ", user_cols!(), " FROM users WHERE practice_id = $1 ORDER BY name"))
        .bind(practice_id.to_string())
        .fetch_all(store.reads())
        .await?;
    rows.iter().map(user_from).collect()
}

/// Disables or re-enables a staff account of the admin's practice; disabling revokes every
/// session and makes tokens stop working at once (both check `disabled`).
pub async fn set_user_disabled(
    store: &Store,
    ctx: &Ctx,
    access: &PracticeAdminAccess,
    user_id: UserId,
    disabled: bool,
) -> Result<(), StoreError> {
    if access.actor().user_id == user_id {
        return Err(StoreError::Invalid("you cannot disable your own account".into()));
    }
    let mut tx = store.begin().await?;
    let r = sqlx::query("UPDATE users SET disabled = $1 WHERE id = $2 AND practice_id = $3")
        .bind(i64::from(disabled))
        .bind(user_id.to_string())
        .bind(access.practice_id().to_string())
        .execute(&mut *tx)
        .await?;
    if r.rows_affected() != 1 {
        return Err(StoreError::NotFound);
    }
    if disabled {
        sqlx::query("UPDATE auth_sessions SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL")
            .bind(ctx.ts())
            .bind(user_id.to_string())
            .execute(&mut *tx)
            .await?;
    }
    let mut ev =
        ctx.event(Some(&access.actor()), &access.practice_id().to_string(), if disabled { "user.disable" } else { "user.enable" }, "user");
    ev.record_id = Some(user_id.to_string());
    audit::append(&mut tx, &ev).await?;
    tx.commit().await?;
    Ok(())
}

/// Replaces a user's password hash and revokes their other sessions.
pub async fn set_password(
    store: &Store,
    ctx: &Ctx,
    user: &User,
    password_hash: &str,
    keep_session: Option<&str>,
) -> Result<(), StoreError> {
    let mut tx = store.begin().await?;
    sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2")
        .bind(password_hash)
        .bind(user.id.to_string())
        .execute(&mut *tx)
        .await?;
    sqlx::query("UPDATE auth_sessions SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL AND id_hash <> $3")
        .bind(ctx.ts())
        .bind(user.id.to_string())
        .bind(keep_session.unwrap_or(""))
        .execute(&mut *tx)
        .await?;
    let mut ev = ctx.event(Some(&user.actor()), &user.practice_id.to_string(), "user.password_change", "user");
    ev.record_id = Some(user.id.to_string());
    audit::append(&mut tx, &ev).await?;
    tx.commit().await?;
    Ok(())
}

/// Records a security event (login, failure, logout, second factor, token use) in its own
/// transaction. `practice_id` None goes to the system chain.
pub async fn record_security_event(
    store: &Store,
    ctx: &Ctx,
    practice_id: Option<PracticeId>,
    user_id: Option<UserId>,
    action: &'static str,
    detail: &str,
) -> Result<(), StoreError> {
    let chain = practice_id.map_or_else(|| SYSTEM_CHAIN.to_owned(), |p| p.to_string());
    let mut ev = ctx.event(None, &chain, action, "security");
    ev.actor_id = user_id.map(|u| u.to_string());
    ev.record_id = user_id.map(|u| u.to_string());
    ev.detail = detail.to_owned();
    let mut tx = store.begin().await?;
    audit::append(&mut tx, &ev).await?;
    tx.commit().await?;
    Ok(())
}

// ---- second factor ------------------------------------------------------------------------

/// Stores a (not yet enabled) TOTP secret, sealed with the practice key.
pub async fn set_pending_totp(store: &Store, ctx: &Ctx, user: &User, secret: &[u8]) -> Result<(), StoreError> {
    let ct = store.key().seal(secret, &field_aad("users", "totp_secret_ct", &user.id.to_string()))?;
    let mut tx = store.begin().await?;
    sqlx::query("UPDATE users SET totp_secret_ct = $1 WHERE id = $2 AND totp_enabled = 0")
        .bind(ct)
        .bind(user.id.to_string())
        .execute(&mut *tx)
        .await?;
    let mut ev = ctx.event(Some(&user.actor()), &user.practice_id.to_string(), "totp.start", "user");
    ev.record_id = Some(user.id.to_string());
    audit::append(&mut tx, &ev).await?;
    tx.commit().await?;
    Ok(())
}

pub async fn totp_secret(store: &Store, user: &User) -> Result<Option<Vec<u8>>, StoreError> {
    let r = sqlx::query("SELECT totp_secret_ct FROM users WHERE id = $1").bind(user.id.to_string()).fetch_one(store.reads()).await?;
    let ct: Option<Vec<u8>> = r.try_get("totp_secret_ct")?;
    ct.map(|c| store.key().open(&c, &field_aad("users", "totp_secret_ct", &user.id.to_string())).map_err(Into::into)).transpose()
}

/// Enables the second factor and replaces the recovery codes (given as hashes).
pub async fn enable_totp(store: &Store, ctx: &Ctx, user: &User, recovery_hashes: &[String]) -> Result<(), StoreError> {
    let mut tx = store.begin().await?;
    sqlx::query("UPDATE users SET totp_enabled = 1 WHERE id = $1").bind(user.id.to_string()).execute(&mut *tx).await?;
    sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1").bind(user.id.to_string()).execute(&mut *tx).await?;
    for h in recovery_hashes {
        sqlx::query("INSERT INTO recovery_codes (user_id, code_hash) VALUES ($1, $2)")
            .bind(user.id.to_string())
            .bind(h)
            .execute(&mut *tx)
            .await?;
    }
    let mut ev = ctx.event(Some(&user.actor()), &user.practice_id.to_string(), "totp.enable", "user");
    ev.record_id = Some(user.id.to_string());
    audit::append(&mut tx, &ev).await?;
    tx.commit().await?;
    Ok(())
}

/// Spends a recovery code; true when it existed and was unused.
pub async fn use_recovery_code(store: &Store, ctx: &Ctx, user: &User, code: &str) -> Result<bool, StoreError> {
    let normalised: String = code.chars().filter(|c| c.is_ascii_alphanumeric()).collect::<String>().to_lowercase();
    let r = sqlx::query("UPDATE recovery_codes SET used_at = $1 WHERE user_id = $2 AND code_hash = $3 AND used_at IS NULL")
        .bind(ctx.ts())
        .bind(user.id.to_string())
        .bind(secret_hash(&normalised))
        .execute(store.pool())
        .await?;
    Ok(r.rows_affected() == 1)
}

// ---- login sessions -----------------------------------------------------------------------

/// How far a login session has got: waiting for the second factor, obliged to enrol one
/// (admins), or complete.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionStage {
    SecondFactor,
    Enrol,
    Full,
}

impl SessionStage {
    fn as_str(self) -> &'static str {
        match self {
            SessionStage::SecondFactor => "second_factor",
            SessionStage::Enrol => "enrol",
            SessionStage::Full => "full",
        }
    }
    fn parse(s: &str) -> Option<Self> {
        match s {
            "second_factor" => Some(SessionStage::SecondFactor),
            "enrol" => Some(SessionStage::Enrol),
            "full" => Some(SessionStage::Full),
            _ => None,
        }
    }
}

#[derive(Debug, Clone)]
pub struct LoginSession {
    pub id_hash: String,
    pub user: User,
    pub stage: SessionStage,
}

/// Creates a session; returns the secret that goes in the cookie (only its hash is stored).
pub async fn create_session(store: &Store, ctx: &Ctx, user: &User, stage: SessionStage, absolute: Duration) -> Result<String, StoreError> {
    let secret = new_secret();
    sqlx::query(
        "INSERT INTO auth_sessions (id_hash, user_id, practice_id, stage, created_at, last_seen_at, absolute_expires_at) VALUES ($1, $2, $3, $4, $5, $5, $6)",
    )
    .bind(secret_hash(&secret))
    .bind(user.id.to_string())
    .bind(user.practice_id.to_string())
    .bind(stage.as_str())
    .bind(ctx.ts())
    .bind((ctx.now + absolute).unix_timestamp())
    .execute(store.pool())
    .await?;
    Ok(secret)
}

/// Finds a live session (not revoked, within both timeouts, user enabled) and marks it seen.
pub async fn touch_session(store: &Store, ctx: &Ctx, secret: &str, idle: Duration) -> Result<Option<LoginSession>, StoreError> {
    let hash = secret_hash(secret);
    let q = concat!(
        "SELECT s.stage, s.last_seen_at, s.absolute_expires_at, s.revoked_at, ",
        user_cols!(u),
        ", p.definitions_version FROM auth_sessions s JOIN users u ON u.id = s.user_id JOIN practices p ON p.id = u.practice_id \
         WHERE s.id_hash = $1"
    );
    let Some(r) = sqlx::query(q).bind(&hash).fetch_optional(store.reads()).await? else { return Ok(None) };
    let last_seen: i64 = r.try_get("last_seen_at")?;
    let absolute: i64 = r.try_get("absolute_expires_at")?;
    let revoked: Option<i64> = r.try_get("revoked_at")?;
    let user = user_from(&r)?;
    let stage = SessionStage::parse(&r.try_get::<String, _>("stage")?).ok_or_else(|| StoreError::Invalid("corrupt stage".into()))?;
    let now = ctx.ts();
    if revoked.is_some() || user.disabled || now >= absolute || now - last_seen >= idle.whole_seconds() {
        return Ok(None);
    }
    ctx.saw_definitions_version(user.practice_id, r.try_get("definitions_version")?);
    // Write at most once a minute per session: idle timeout precision is a minute. One request
    // of this process writes it (`Store::claim_touch`); the WHERE keeps another process's
    // write from moving it back.
    if now - last_seen >= 60
        && let Some(_writing) = store.claim_touch(format!("session {hash}"))
    {
        let mut tx = store.begin().await?;
        sqlx::query("UPDATE auth_sessions SET last_seen_at = $1 WHERE id_hash = $2 AND last_seen_at < $1")
            .bind(now)
            .bind(&hash)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
    }
    Ok(Some(LoginSession { id_hash: hash, user, stage }))
}

pub async fn set_session_stage(store: &Store, id_hash: &str, stage: SessionStage) -> Result<(), StoreError> {
    sqlx::query("UPDATE auth_sessions SET stage = $1 WHERE id_hash = $2").bind(stage.as_str()).bind(id_hash).execute(store.pool()).await?;
    Ok(())
}

pub async fn revoke_session(store: &Store, ctx: &Ctx, id_hash: &str) -> Result<(), StoreError> {
    sqlx::query("UPDATE auth_sessions SET revoked_at = $1 WHERE id_hash = $2 AND revoked_at IS NULL")
        .bind(ctx.ts())
        .bind(id_hash)
        .execute(store.pool())
        .await?;
    Ok(())
}

/// Revokes every session of a user (password change, account disabled, admin action).
pub async fn revoke_user_sessions(store: &Store, ctx: &Ctx, user_id: UserId) -> Result<u64, StoreError> {
    let r = sqlx::query("UPDATE auth_sessions SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL")
        .bind(ctx.ts())
        .bind(user_id.to_string())
        .execute(store.pool())
        .await?;
    Ok(r.rows_affected())
}

// ---- API tokens ---------------------------------------------------------------------------

pub const TOKEN_PREFIX: &str = "concord_";

#[derive(Debug, Clone)]
pub struct TokenInfo {
    pub id: TokenId,
    pub label: String,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

/// Creates a personal API token; returns its id and the secret (shown once, stored hashed).
pub async fn create_token(store: &Store, ctx: &Ctx, user: &User, label: &str) -> Result<(TokenId, String), StoreError> {
    let id: TokenId = ctx.new_id(TokenId::new_at);
    let secret = format!("{TOKEN_PREFIX}{}", new_secret());
    let label: String = label.trim().chars().filter(|c| !c.is_control()).take(100).collect();
    let mut tx = store.begin().await?;
    sqlx::query("INSERT INTO api_tokens (id, practice_id, user_id, token_hash, label, created_at) VALUES ($1, $2, $3, $4, $5, $6)")
        .bind(id.to_string())
        .bind(user.practice_id.to_string())
        .bind(user.id.to_string())
        .bind(secret_hash(&secret))
        .bind(if label.is_empty() { "personal token".to_owned() } else { label })
        .bind(ctx.ts())
        .execute(&mut *tx)
        .await?;
    let mut ev = ctx.event(Some(&user.actor()), &user.practice_id.to_string(), "token.create", "api_token");
    ev.record_id = Some(id.to_string());
    audit::append(&mut tx, &ev).await?;
    tx.commit().await?;
    Ok((id, secret))
}

/// Resolves a bearer token to its (enabled) user. Every use is audited (`token.use`), in one
/// transaction with the token's last-used time.
pub async fn authenticate_token(store: &Store, ctx: &Ctx, secret: &str) -> Result<Option<(User, TokenId)>, StoreError> {
    if !secret.starts_with(TOKEN_PREFIX) || secret.len() > 200 {
        return Ok(None);
    }
    let q = concat!(
        "SELECT t.id AS token_id, t.last_used_at, t.revoked_at, ",
        user_cols!(u),
        ", p.definitions_version FROM api_tokens t JOIN users u ON u.id = t.user_id JOIN practices p ON p.id = u.practice_id \
         WHERE t.token_hash = $1"
    );
    let Some(r) = sqlx::query(q).bind(secret_hash(secret)).fetch_optional(store.reads()).await? else { return Ok(None) };
    let revoked: Option<i64> = r.try_get("revoked_at")?;
    let user = user_from(&r)?;
    let token_id: TokenId = parse_id(&r, "token_id")?;
    if revoked.is_some() || user.disabled {
        // A known token that no longer works is a security event; unknown tokens are not
        // audited, so guessing cannot flood the chain.
        let why = if revoked.is_some() { "revoked" } else { "account disabled" };
        record_security_event(store, ctx, Some(user.practice_id), Some(user.id), "token.refused", &format!("token={token_id} {why}"))
            .await?;
        return Ok(None);
    }
    ctx.saw_definitions_version(user.practice_id, r.try_get("definitions_version")?);
    // Last use is kept to the minute, like a session's last activity: at most one write a
    // minute per token.
    let last_used: Option<i64> = r.try_get("last_used_at")?;
    if last_used.is_none_or(|t| ctx.ts() - t >= 60)
        && let Some(_writing) = store.claim_touch(format!("token {token_id}"))
    {
        let mut tx = store.begin().await?;
        sqlx::query("UPDATE api_tokens SET last_used_at = $1 WHERE id = $2 AND (last_used_at IS NULL OR last_used_at < $1)")
            .bind(ctx.ts())
            .bind(token_id.to_string())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
    }
    // Every use is audited. With a request's queue (the web layer) the entry commits with the
    // request's write, or with its reads before the response leaves; else at once.
    let mut ev = ctx.event(Some(&user.actor()), &user.practice_id.to_string(), "token.use", "api_token");
    ev.record_id = Some(token_id.to_string());
    store.audit_read(ctx, ev).await?;
    Ok(Some((user, token_id)))
}

pub async fn list_tokens(store: &Store, user_id: UserId) -> Result<Vec<TokenInfo>, StoreError> {
    let rows =
        sqlx::query("SELECT id, label, created_at, last_used_at, revoked_at FROM api_tokens WHERE user_id = $1 ORDER BY created_at DESC")
            .bind(user_id.to_string())
            .fetch_all(store.reads())
            .await?;
    rows.iter()
        .map(|r| {
            Ok(TokenInfo {
                id: parse_id(r, "id")?,
                label: r.try_get("label")?,
                created_at: r.try_get("created_at")?,
                last_used_at: r.try_get("last_used_at")?,
                revoked_at: r.try_get("revoked_at")?,
            })
        })
        .collect()
}

/// Revokes one of the user's own tokens. Someone else's token is NotFound.
pub async fn revoke_token(store: &Store, ctx: &Ctx, user: &User, id: TokenId) -> Result<(), StoreError> {
    let mut tx = store.begin().await?;
    let r = sqlx::query("UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND user_id = $3 AND revoked_at IS NULL")
        .bind(ctx.ts())
        .bind(id.to_string())
        .bind(user.id.to_string())
        .execute(&mut *tx)
        .await?;
    if r.rows_affected() != 1 {
        return Err(StoreError::NotFound);
    }
    let mut ev = ctx.event(Some(&user.actor()), &user.practice_id.to_string(), "token.revoke", "api_token");
    ev.record_id = Some(id.to_string());
    audit::append(&mut tx, &ev).await?;
    tx.commit().await?;
    Ok(())
}

// ---- login throttling ---------------------------------------------------------------------

/// Throttling policy: `max_failures` within `window` locks the key for `lockout`.
#[derive(Debug, Clone, Copy)]
pub struct ThrottlePolicy {
    pub max_failures: i64,
    pub window: Duration,
    pub lockout: Duration,
}

impl Default for ThrottlePolicy {
    fn default() -> Self {
        Self { max_failures: 5, window: Duration::minutes(15), lockout: Duration::minutes(15) }
    }
}

/// When the key is locked, the time it unlocks.
pub async fn throttle_locked_until(store: &Store, ctx: &Ctx, key: &str) -> Result<Option<i64>, StoreError> {
    let r = sqlx::query("SELECT locked_until FROM login_throttle WHERE key_hash = $1")
        .bind(secret_hash(key))
        .fetch_optional(store.reads())
        .await?;
    let until: Option<i64> = r.map(|r| r.try_get("locked_until")).transpose()?;
    Ok(until.filter(|u| *u > ctx.ts()))
}

/// Counts a failure; kept in the database so that a restart does not reset it.
pub async fn throttle_failure(store: &Store, ctx: &Ctx, key: &str, p: ThrottlePolicy) -> Result<(), StoreError> {
    let now = ctx.ts();
    let mut tx = store.begin().await?;
    let row = sqlx::query("SELECT failures, window_start FROM login_throttle WHERE key_hash = $1")
        .bind(secret_hash(key))
        .fetch_optional(&mut *tx)
        .await?;
    let (failures, start) = match row {
        Some(r) => {
            let f: i64 = r.try_get("failures")?;
            let s: i64 = r.try_get("window_start")?;
            if now - s > p.window.whole_seconds() { (1, now) } else { (f + 1, s) }
        }
        None => (1, now),
    };
    let locked_until = if failures >= p.max_failures { now + p.lockout.whole_seconds() } else { 0 };
    sqlx::query(
        "INSERT INTO login_throttle (key_hash, failures, window_start, locked_until) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (key_hash) DO UPDATE SET failures = $2, window_start = $3, locked_until = $4",
    )
    .bind(secret_hash(key))
    .bind(failures)
    .bind(start)
    .bind(locked_until)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

pub async fn throttle_reset(store: &Store, key: &str) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM login_throttle WHERE key_hash = $1").bind(secret_hash(key)).execute(store.pool()).await?;
    Ok(())
}
