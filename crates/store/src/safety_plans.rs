//! Safety plans, versioned: saving a plan adds a version; every version stays readable.
//! The client sees the current one in the portal. Encrypted under the client's data key
//! (`concord/v1/safety_plans/body_ct/<id>`). Audited: `safety_plan.save`, `safety_plan.read`,
//! and `portal.safety_plan` for the portal.

use crate::accounts::parse_id;
use crate::clients::data_key;
use crate::crypto::field_aad;
use crate::{Ctx, Store, StoreError, audit};
use concord_domain::ids::{PracticeId, SafetyPlanId, UserId};
use concord_domain::policy::{PortalAccess, RecordAccess};
use concord_domain::records::SafetyPlan;
use serde::Serialize;
use sqlx::Row;

#[derive(Debug, Clone, Serialize)]
pub struct SafetyPlanVersion {
    pub id: SafetyPlanId,
    pub version: i64,
    pub plan: SafetyPlan,
    pub created_at: i64,
    pub created_by: UserId,
}

fn aad(id: &str) -> String {
    field_aad("safety_plans", "body_ct", id)
}

fn event(ctx: &Ctx, access: &RecordAccess, action: &'static str) -> audit::AuditEvent {
    let mut ev = ctx.event(Some(&access.actor()), &access.practice_id().to_string(), action, "safety_plan");
    ev.client_id = Some(access.client_id().to_string());
    ev.record_id = Some(access.client_id().to_string());
    ev.detail = format!("basis={}", access.basis().as_str());
    ev
}

/// Saves a checked plan as the next version.
pub async fn save_plan(store: &Store, ctx: &Ctx, access: &RecordAccess, plan: &SafetyPlan) -> Result<SafetyPlanVersion, StoreError> {
    let mut tx = store.begin().await?;
    let next: i64 = sqlx::query("SELECT COALESCE(MAX(version), 0) + 1 AS next FROM safety_plans WHERE practice_id = $1 AND client_id = $2")
        .bind(access.practice_id().to_string())
        .bind(access.client_id().to_string())
        .fetch_one(&mut *tx)
        .await?
        .try_get("next")?;
    let id: SafetyPlanId = ctx.new_id(SafetyPlanId::new_at);
    let key = data_key(store, &mut *tx, access.practice_id(), &access.client_id().to_string()).await?;
    let json = serde_json::to_string(plan).map_err(|e| StoreError::Invalid(e.to_string()))?;
    let ct = key.seal_str(&json, &aad(&id.to_string()))?;
    sqlx::query("INSERT INTO safety_plans (id, practice_id, client_id, version, body_ct, created_at, created_by) VALUES ($1, $2, $3, $4, $5, $6, $7)")
        .bind(id.to_string())
        .bind(access.practice_id().to_string())
        .bind(access.client_id().to_string())
        .bind(next)
        .bind(ct)
        .bind(ctx.ts())
        .bind(access.actor().user_id.to_string())
        .execute(&mut *tx)
        .await
        .map_err(|e| StoreError::unique_or(e, "this version of the safety plan"))?;
    let mut ev = event(ctx, access, "safety_plan.save");
    ev.detail = format!("{} version={next}", ev.detail);
    audit::append(&mut tx, &ev).await?;
    tx.commit().await?;
    Ok(SafetyPlanVersion { id, version: next, plan: plan.clone(), created_at: ctx.ts(), created_by: access.actor().user_id })
}

async fn read(
    store: &Store,
    practice_id: PracticeId,
    client_id: &str,
    version: Option<i64>,
) -> Result<Option<SafetyPlanVersion>, StoreError> {
    let mut tx = store.begin_read().await?;
    let row = sqlx::query(
        "SELECT id, version, body_ct, created_at, created_by FROM safety_plans WHERE practice_id = $1 AND client_id = $2 \
           AND ($3 IS NULL OR version = $3) ORDER BY version DESC LIMIT 1",
    )
    .bind(practice_id.to_string())
    .bind(client_id)
    .bind(version)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(r) = row else {
        tx.commit().await?;
        return Ok(None);
    };
    let key = data_key(store, &mut *tx, practice_id, client_id).await?;
    let id: String = r.try_get("id")?;
    let ct: Vec<u8> = r.try_get("body_ct")?;
    let plan: SafetyPlan =
        serde_json::from_str(&key.open_str(&ct, &aad(&id))?).map_err(|_| StoreError::Invalid("corrupt stored safety plan".into()))?;
    tx.commit().await?;
    Ok(Some(SafetyPlanVersion {
        id: id.parse().map_err(|_| StoreError::Invalid("corrupt safety plan id".into()))?,
        version: r.try_get("version")?,
        plan,
        created_at: r.try_get("created_at")?,
        created_by: parse_id(&r, "created_by")?,
    }))
}

/// The current plan (or one version), audited; `None` when the client has none.
pub async fn get_plan(
    store: &Store,
    ctx: &Ctx,
    access: &RecordAccess,
    version: Option<i64>,
) -> Result<Option<SafetyPlanVersion>, StoreError> {
    let out = read(store, access.practice_id(), &access.client_id().to_string(), version).await?;
    let mut ev = event(ctx, access, "safety_plan.read");
    ev.detail = format!("{} version={}", ev.detail, out.as_ref().map_or(0, |p| p.version));
    store.audit_read(ctx, ev).await?;
    Ok(out)
}

/// The version numbers and dates of the client's plans, newest first (no content).
pub async fn plan_versions(store: &Store, access: &RecordAccess) -> Result<Vec<(i64, i64)>, StoreError> {
    let rows = sqlx::query("SELECT version, created_at FROM safety_plans WHERE practice_id = $1 AND client_id = $2 ORDER BY version DESC")
        .bind(access.practice_id().to_string())
        .bind(access.client_id().to_string())
        .fetch_all(store.reads())
        .await?;
    rows.iter().map(|r| Ok((r.try_get("version")?, r.try_get("created_at")?))).collect()
}

/// The client's current plan, for their portal (audited under the link).
pub async fn portal_plan(store: &Store, ctx: &Ctx, access: &PortalAccess) -> Result<Option<SafetyPlanVersion>, StoreError> {
    let out = read(store, access.practice_id(), &access.client_id().to_string(), None).await?;
    let mut ev = ctx.event(None, &access.practice_id().to_string(), "portal.safety_plan", "portal");
    ev.client_id = Some(access.client_id().to_string());
    ev.record_id = Some(access.link_id().to_string());
    ev.detail = format!("link={} version={}", access.link_id(), out.as_ref().map_or(0, |p| p.version));
    store.audit_read(ctx, ev).await?;
    Ok(out)
}
