//! The client portal: per-client secret links (hashed, expiring, revocable, optional PIN with
//! database-backed throttling), portal browser sessions, and the few things the portal may
//! read and write, each under a `PortalAccess`.

use super::responses::{NewResponse, ResponseRecord, ResponseSource, instrument_from, open_note, source_from};
use super::schedules::{DueMeasure, client_schedules};
use super::writes::{ResponseEvent, Writer, prepare, sealing_key, submit};
use super::{portal_event, record_event};
use crate::accounts::{self, ThrottlePolicy, parse_id, secret_hash};
use crate::audit::{self, SYSTEM_CHAIN};
use crate::clients::data_key;
use crate::crypto::field_aad;
use crate::{Ctx, Store, StoreError, passwords};
use concord_domain::ids::{ClientId, PortalLinkId, ResponseId, UserId};
use concord_domain::measures::InstrumentId;
use concord_domain::policy::{self, PortalAccess, PortalLinkFacts, PortalRefusal, RecordAccess};
use sqlx::Row;
use sqlx::any::AnyRow;
use time::Duration;

/// The longest a portal link may live.
pub const PORTAL_LINK_MAX_TTL: Duration = Duration::days(180);
/// A portal browser session lasts this long at most (and never past its link's expiry).
pub const PORTAL_SESSION_TTL: Duration = Duration::hours(2);
/// Wrong PINs: 5 within a day lock the link for an hour; while the day lasts, each further
/// wrong PIN locks it again.
pub const PORTAL_PIN_THROTTLE: ThrottlePolicy =
    ThrottlePolicy { max_failures: 5, window: Duration::hours(24), lockout: Duration::hours(1) };
const SECRET_MAX_LEN: usize = 200;

/// Why the portal refused. The public messages are for the client; none reveals another
/// client's data (an unknown link is simply not valid).
#[derive(Debug, thiserror::Error)]
pub enum PortalError {
    #[error("this link is not valid")]
    NotFound,
    #[error("this link has been withdrawn; please ask your therapist for a new one")]
    Revoked,
    #[error("this link has expired; please ask your therapist for a new one")]
    Expired,
    #[error("this link is no longer active")]
    ClientInactive,
    #[error("please enter your PIN")]
    PinRequired,
    #[error("that PIN is not right")]
    WrongPin,
    /// Too many wrong PINs; locked until this Unix time.
    #[error("too many wrong PINs; please try again later")]
    Locked { until: i64 },
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for PortalError {
    fn from(e: sqlx::Error) -> Self {
        PortalError::Store(StoreError::Db(e))
    }
}

impl From<PortalRefusal> for PortalError {
    fn from(r: PortalRefusal) -> Self {
        match r {
            PortalRefusal::Revoked => PortalError::Revoked,
            PortalRefusal::Expired => PortalError::Expired,
            PortalRefusal::ClientInactive => PortalError::ClientInactive,
            PortalRefusal::Pin => PortalError::PinRequired,
        }
    }
}

/// A portal link as the therapist sees it (never the secret or the PIN).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PortalLinkRow {
    pub id: PortalLinkId,
    pub created_by: UserId,
    pub created_at: i64,
    pub expires_at: i64,
    pub revoked_at: Option<i64>,
    pub last_opened_at: Option<i64>,
    pub has_pin: bool,
    /// Locked by wrong PINs until this time.
    pub locked_until: Option<i64>,
}

/// A response as the client sees it in the portal: their scores over time, and their own
/// notes (notes a clinician typed with a paper form are not shown).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PortalResponse {
    pub id: ResponseId,
    pub instrument: InstrumentId,
    pub completed_at: i64,
    pub total: Option<i32>,
    pub band: Option<String>,
    pub source: ResponseSource,
    pub note: Option<String>,
}

fn throttle_key(link: PortalLinkId) -> String {
    format!("portal-pin:{link}")
}

fn pin_is_well_formed(pin: &str) -> bool {
    (4..=12).contains(&pin.len()) && pin.bytes().all(|b| b.is_ascii_digit())
}

// ---- therapist side -----------------------------------------------------------------------

/// Creates a portal link for the client; returns its id and the secret for the URL (shown
/// once: only its SHA-256 is stored). `expires_at` must be in the future and at most
/// [`PORTAL_LINK_MAX_TTL`] away; a PIN is 4 to 12 digits (stored as an Argon2id hash).
pub async fn create_portal_link(
    store: &Store,
    ctx: &Ctx,
    access: &RecordAccess,
    expires_at: i64,
    pin: Option<&str>,
) -> Result<(PortalLinkId, String), StoreError> {
    if expires_at <= ctx.ts() {
        return Err(StoreError::Invalid("the link's expiry must be in the future".into()));
    }
    if expires_at > (ctx.now + PORTAL_LINK_MAX_TTL).unix_timestamp() {
        return Err(StoreError::Invalid(format!("a link may last at most {} days", PORTAL_LINK_MAX_TTL.whole_days())));
    }
    let pin_hash = match pin {
        Some(p) if !pin_is_well_formed(p) => return Err(StoreError::Invalid("a PIN is 4 to 12 digits".into())),
        Some(p) => {
            let p = p.to_owned();
            Some(
                tokio::task::spawn_blocking(move || passwords::hash(&p))
                    .await
                    .map_err(|e| StoreError::Unavailable(format!("PIN hashing failed: {e}")))??,
            )
        }
        None => None,
    };
    let id: PortalLinkId = ctx.new_id(PortalLinkId::new_at);
    let secret = accounts::new_secret();
    let mut tx = store.begin().await?;
    super::responses::require_active_client(&mut tx, access.practice_id(), access.client_id(), "giving them a portal link").await?;
    sqlx::query(
        "INSERT INTO portal_links (id, practice_id, client_id, secret_hash, pin_hash, created_by, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(id.to_string())
    .bind(access.practice_id().to_string())
    .bind(access.client_id().to_string())
    .bind(secret_hash(&secret))
    .bind(pin_hash.as_deref())
    .bind(access.actor().user_id.to_string())
    .bind(ctx.ts())
    .bind(expires_at)
    .execute(&mut *tx)
    .await?;
    let mut ev = record_event(ctx, access, "portal_link.create", "portal_link");
    ev.record_id = Some(id.to_string());
    ev.detail = format!("basis={} pin={} expires_at={expires_at}", access.basis().as_str(), pin.is_some());
    audit::append(&mut tx, &ev).await?;
    tx.commit().await?;
    Ok((id, secret))
}

/// Revokes one of the client's links at once (its portal sessions end too). NotFound when it
/// is not a live link of this client.
pub async fn revoke_portal_link(store: &Store, ctx: &Ctx, access: &RecordAccess, link_id: PortalLinkId) -> Result<(), StoreError> {
    let mut tx = store.begin().await?;
    let r = sqlx::query(
        "UPDATE portal_links SET revoked_at = $1, revoked_by = $2 WHERE id = $3 AND practice_id = $4 AND client_id = $5 AND revoked_at IS NULL",
    )
    .bind(ctx.ts())
    .bind(access.actor().user_id.to_string())
    .bind(link_id.to_string())
    .bind(access.practice_id().to_string())
    .bind(access.client_id().to_string())
    .execute(&mut *tx)
    .await?;
    if r.rows_affected() != 1 {
        return Err(StoreError::NotFound);
    }
    sqlx::query("DELETE FROM portal_sessions WHERE link_id = $1 AND practice_id = $2")
        .bind(link_id.to_string())
        .bind(access.practice_id().to_string())
        .execute(&mut *tx)
        .await?;
    let mut ev = record_event(ctx, access, "portal_link.revoke", "portal_link");
    ev.record_id = Some(link_id.to_string());
    audit::append(&mut tx, &ev).await?;
    tx.commit().await?;
    Ok(())
}

/// The client's portal links, newest first.
pub async fn list_portal_links(store: &Store, ctx: &Ctx, access: &RecordAccess) -> Result<Vec<PortalLinkRow>, StoreError> {
    let rows = sqlx::query(
        "SELECT id, created_by, created_at, expires_at, revoked_at, last_opened_at, \
           CASE WHEN pin_hash IS NULL THEN 0 ELSE 1 END AS has_pin \
         FROM portal_links WHERE practice_id = $1 AND client_id = $2 ORDER BY created_at DESC, id DESC",
    )
    .bind(access.practice_id().to_string())
    .bind(access.client_id().to_string())
    .fetch_all(store.reads())
    .await?;
    store.audit_read(ctx, link_list_event(ctx, access, rows.len(), "")).await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in &rows {
        let id: PortalLinkId = parse_id(r, "id")?;
        let has_pin = r.try_get::<i64, _>("has_pin")? != 0;
        let locked_until = if has_pin { accounts::throttle_locked_until(store, ctx, &throttle_key(id)).await? } else { None };
        out.push(PortalLinkRow {
            id,
            created_by: parse_id(r, "created_by")?,
            created_at: r.try_get("created_at")?,
            expires_at: r.try_get("expires_at")?,
            revoked_at: r.try_get("revoked_at")?,
            last_opened_at: r.try_get("last_opened_at")?,
            has_pin,
            locked_until,
        });
    }
    Ok(out)
}

/// Audits a read of a client's portal links that a page served from memory (detail `cached`).
pub async fn audit_cached_portal_links(store: &Store, ctx: &Ctx, access: &RecordAccess, count: usize) -> Result<(), StoreError> {
    store.audit_read(ctx, link_list_event(ctx, access, count, " cached")).await
}

fn link_list_event(ctx: &Ctx, access: &RecordAccess, count: usize, suffix: &str) -> audit::AuditEvent {
    let mut ev = record_event(ctx, access, "portal_link.list", "portal_link");
    ev.detail = format!("basis={} count={count}{suffix}", access.basis().as_str());
    ev
}

// ---- opening the portal -------------------------------------------------------------------

/// The link facts for the policy, and the PIN hash.
fn facts_from(r: &AnyRow) -> Result<(PortalLinkFacts, Option<String>), StoreError> {
    let pin_hash: Option<String> = r.try_get("pin_hash")?;
    let facts = PortalLinkFacts {
        practice_id: parse_id(r, "practice_id")?,
        client_id: parse_id(r, "client_id")?,
        link_id: parse_id(r, "id")?,
        expires_at: r.try_get("expires_at")?,
        revoked: r.try_get::<Option<i64>, _>("revoked_at")?.is_some(),
        pin_required: pin_hash.is_some(),
        client_active: r.try_get::<String, _>("status")? == "active",
    };
    Ok((facts, pin_hash))
}

/// An audit entry about a link, in its own transaction (security events).
async fn audit_link(store: &Store, ctx: &Ctx, facts: &PortalLinkFacts, action: &'static str, extra: &str) -> Result<(), StoreError> {
    let mut ev = ctx.event(None, &facts.practice_id.to_string(), action, "portal");
    ev.client_id = Some(facts.client_id.to_string());
    ev.record_id = Some(facts.link_id.to_string());
    ev.detail = if extra.is_empty() { format!("link={}", facts.link_id) } else { format!("link={} {extra}", facts.link_id) };
    let mut tx = store.begin().await?;
    audit::append(&mut tx, &ev).await?;
    tx.commit().await?;
    Ok(())
}

/// Opens the portal with a link's secret (and PIN, when the link has one). Every outcome
/// for a real link is audited on its practice's chain: `portal.open`, or `portal.refused`
/// (revoked, expired, archived client), `portal.pin_needed`, `portal.pin_failed`,
/// `portal.locked`; an unknown secret is audited on the system chain. Wrong PINs count
/// towards [`PORTAL_PIN_THROTTLE`] in the database (a restart does not reset them); while the
/// link is locked the PIN is not even checked.
pub async fn open_portal(store: &Store, ctx: &Ctx, secret: &str, pin: Option<&str>) -> Result<PortalAccess, PortalError> {
    let row = if secret.is_empty() || secret.len() > SECRET_MAX_LEN {
        None
    } else {
        sqlx::query(
            "SELECT l.id, l.practice_id, l.client_id, l.expires_at, l.revoked_at, l.pin_hash, c.status \
             FROM portal_links l JOIN clients c ON c.id = l.client_id AND c.practice_id = l.practice_id WHERE l.secret_hash = $1",
        )
        .bind(secret_hash(secret))
        .fetch_optional(store.reads())
        .await?
    };
    let Some(row) = row else {
        let ev = ctx.event(None, SYSTEM_CHAIN, "portal.unknown_link", "portal");
        let mut tx = store.begin().await?;
        audit::append(&mut tx, &ev).await?;
        tx.commit().await?;
        return Err(PortalError::NotFound);
    };
    let (facts, pin_hash) = facts_from(&row)?;
    let now = ctx.ts();
    // Everything but the PIN first: no PIN is checked for a dead link.
    if let Err(refusal) = policy::check_portal(&facts, now, true) {
        audit_link(store, ctx, &facts, "portal.refused", &format!("reason={}", refusal.as_str())).await?;
        return Err(refusal.into());
    }
    let pin_ok = match (&pin_hash, pin) {
        (None, _) => true,
        (Some(_), None) => {
            audit_link(store, ctx, &facts, "portal.pin_needed", "").await?;
            return Err(PortalError::PinRequired);
        }
        (Some(stored), Some(given)) => {
            let key = throttle_key(facts.link_id);
            if let Some(until) = accounts::throttle_locked_until(store, ctx, &key).await? {
                audit_link(store, ctx, &facts, "portal.locked", "").await?;
                return Err(PortalError::Locked { until });
            }
            let (stored, given) = (stored.clone(), given.to_owned());
            let ok = tokio::task::spawn_blocking(move || passwords::verify(&given, Some(&stored)))
                .await
                .map_err(|e| StoreError::Unavailable(format!("PIN check failed: {e}")))?;
            if ok {
                accounts::throttle_reset(store, &key).await?;
            } else {
                accounts::throttle_failure(store, ctx, &key, PORTAL_PIN_THROTTLE).await?;
                audit_link(store, ctx, &facts, "portal.pin_failed", "").await?;
                if let Some(until) = accounts::throttle_locked_until(store, ctx, &key).await? {
                    audit_link(store, ctx, &facts, "portal.locked", "").await?;
                    return Err(PortalError::Locked { until });
                }
                return Err(PortalError::WrongPin);
            }
            ok
        }
    };
    let access = policy::check_portal(&facts, now, pin_ok)?;
    let mut tx = store.begin().await?;
    sqlx::query("UPDATE portal_links SET last_opened_at = $1 WHERE id = $2 AND practice_id = $3")
        .bind(now)
        .bind(access.link_id().to_string())
        .bind(access.practice_id().to_string())
        .execute(&mut *tx)
        .await?;
    audit::append(&mut tx, &portal_event(ctx, &access, "portal.open")).await?;
    tx.commit().await?;
    Ok(access)
}

/// Starts a portal browser session after [`open_portal`] (so the PIN is asked once, not on
/// every request); returns the session secret for a cookie (stored hashed) and its expiry:
/// [`PORTAL_SESSION_TTL`] from now, never past the link's expiry.
pub async fn create_portal_session(store: &Store, ctx: &Ctx, access: &PortalAccess) -> Result<(String, i64), StoreError> {
    let link = sqlx::query("SELECT expires_at FROM portal_links WHERE id = $1 AND practice_id = $2 AND client_id = $3")
        .bind(access.link_id().to_string())
        .bind(access.practice_id().to_string())
        .bind(access.client_id().to_string())
        .fetch_optional(store.reads())
        .await?
        .ok_or(StoreError::NotFound)?;
    let link_expires: i64 = link.try_get("expires_at")?;
    let expires_at = (ctx.now + PORTAL_SESSION_TTL).unix_timestamp().min(link_expires);
    let secret = accounts::new_secret();
    sqlx::query(
        "INSERT INTO portal_sessions (id_hash, link_id, practice_id, client_id, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(secret_hash(&secret))
    .bind(access.link_id().to_string())
    .bind(access.practice_id().to_string())
    .bind(access.client_id().to_string())
    .bind(ctx.ts())
    .bind(expires_at)
    .execute(store.pool())
    .await?;
    Ok((secret, expires_at))
}

/// The portal access of a live portal session. The link is checked again (revocation,
/// expiry and archiving take effect at once); the PIN was checked when the session started.
/// Reads no client data and writes nothing: the portal function called next audits.
pub async fn resume_portal(store: &Store, ctx: &Ctx, session_secret: &str) -> Result<PortalAccess, PortalError> {
    if session_secret.is_empty() || session_secret.len() > SECRET_MAX_LEN {
        return Err(PortalError::NotFound);
    }
    let row = sqlx::query(
        "SELECT s.expires_at AS session_expires_at, l.id, l.practice_id, l.client_id, l.expires_at, l.revoked_at, l.pin_hash, c.status, \
           p.definitions_version \
         FROM portal_sessions s JOIN portal_links l ON l.id = s.link_id AND l.practice_id = s.practice_id \
           JOIN clients c ON c.id = l.client_id AND c.practice_id = l.practice_id JOIN practices p ON p.id = l.practice_id \
         WHERE s.id_hash = $1",
    )
    .bind(secret_hash(session_secret))
    .fetch_optional(store.reads())
    .await?
    .ok_or(PortalError::NotFound)?;
    if row.try_get::<i64, _>("session_expires_at")? <= ctx.ts() {
        return Err(PortalError::NotFound);
    }
    let (facts, _) = facts_from(&row)?;
    let access = policy::check_portal(&facts, ctx.ts(), true)?;
    ctx.saw_definitions_version(access.practice_id(), row.try_get("definitions_version")?);
    Ok(access)
}

/// Ends a portal browser session (sign out). Unknown sessions are ignored.
pub async fn end_portal_session(store: &Store, session_secret: &str) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM portal_sessions WHERE id_hash = $1").bind(secret_hash(session_secret)).execute(store.pool()).await?;
    Ok(())
}

// ---- what the portal may do ---------------------------------------------------------------

/// Records a response the client completed in the portal, dated now (the client cannot
/// backdate) with source `portal`. Only instruments the client is currently asked to complete
/// (an active schedule) are accepted. The same idempotency key returns the first response.
pub async fn portal_record_response(
    store: &Store,
    ctx: &Ctx,
    access: &PortalAccess,
    mut input: NewResponse,
) -> Result<ResponseRecord, StoreError> {
    input.completed_at = ctx.ts();
    input.source = ResponseSource::Portal;
    let key = sealing_key(store, access.practice_id(), access.client_id(), &input).await?;
    let prepared = prepare(ctx, access.practice_id(), access.client_id(), input, Writer::Portal(access.link_id()), key.as_ref())?;
    let (c, access) = (ctx.clone(), *access);
    let event: ResponseEvent = Box::new(move |record, replay| {
        let mut ev = portal_event(&c, &access, "portal.response.create");
        ev.detail = format!(
            "link={} response={} instrument={}{}",
            access.link_id(),
            record.id,
            record.instrument,
            if replay { " replay" } else { "" }
        );
        ev
    });
    submit(store, ctx, prepared, key, event).await
}

/// The client's own responses, oldest first: scores, bands, dates, and their own notes.
pub async fn portal_list_responses(store: &Store, ctx: &Ctx, access: &PortalAccess) -> Result<Vec<PortalResponse>, StoreError> {
    let client = access.client_id().to_string();
    let mut tx = store.begin_read().await?;
    let key = data_key(store, &mut *tx, access.practice_id(), &client).await?;
    let rows = sqlx::query(
        "SELECT id, instrument_id, completed_at, total, band_id, source, CASE WHEN source = 'portal' THEN note_ct ELSE NULL END AS note_ct \
         FROM measure_responses WHERE practice_id = $1 AND client_id = $2 ORDER BY completed_at, id",
    )
    .bind(access.practice_id().to_string())
    .bind(&client)
    .fetch_all(&mut *tx)
    .await?;
    let out = rows
        .iter()
        .map(|r| {
            let id: ResponseId = parse_id(r, "id")?;
            let total: Option<i64> = r.try_get("total")?;
            Ok(PortalResponse {
                id,
                instrument: instrument_from(r, "instrument_id")?,
                completed_at: r.try_get("completed_at")?,
                total: total
                    .map(|t| i32::try_from(t).map_err(|_| StoreError::Invalid("corrupt stored response (total)".into())))
                    .transpose()?,
                band: r.try_get("band_id")?,
                source: source_from(r)?,
                note: open_note(&key, r, &id.to_string())?,
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    let mut ev = portal_event(ctx, access, "portal.response.list");
    ev.detail = format!("link={} count={}", access.link_id(), out.len());
    tx.commit().await?;
    store.audit_read(ctx, ev).await?;
    Ok(out)
}

/// What the client is asked to complete, with when each is due at `ctx.now`, soonest first
/// (the portal shows those with `due.is_due` as "to do now").
pub async fn portal_due(store: &Store, ctx: &Ctx, access: &PortalAccess) -> Result<Vec<DueMeasure>, StoreError> {
    let mut conn = store.reads().acquire().await?;
    let mut out: Vec<DueMeasure> = client_schedules(&mut conn, ctx, access.practice_id(), access.client_id())
        .await?
        .into_iter()
        .map(|s| DueMeasure { instrument: s.instrument, frequency: s.frequency, last_response_at: s.last_response_at, due: s.due })
        .collect();
    conn.release();
    out.sort_by(|a, b| (a.due.due_at.is_none(), a.due.due_at, &a.instrument).cmp(&(b.due.due_at.is_none(), b.due.due_at, &b.instrument)));
    store.audit_read(ctx, portal_event(ctx, access, "portal.due")).await?;
    Ok(out)
}

/// The client's first name (the first word of their name), to greet them.
pub async fn portal_client_first_name(store: &Store, ctx: &Ctx, access: &PortalAccess) -> Result<String, StoreError> {
    let client: ClientId = access.client_id();
    let sid = client.to_string();
    let mut tx = store.begin_read().await?;
    let r = sqlx::query("SELECT name_ct FROM clients WHERE id = $1 AND practice_id = $2")
        .bind(&sid)
        .bind(access.practice_id().to_string())
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(StoreError::NotFound)?;
    let key = data_key(store, &mut *tx, access.practice_id(), &sid).await?;
    let name = key.open_str(&r.try_get::<Vec<u8>, _>("name_ct")?, &field_aad("clients", "name_ct", &sid))?;
    tx.commit().await?;
    store.audit_read(ctx, portal_event(ctx, access, "portal.name")).await?;
    Ok(name.split_whitespace().next().unwrap_or_default().to_owned())
}
