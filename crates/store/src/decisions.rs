//! Shared decision making (issue 5): decision records with their options, criteria and fit
//! ratings, and decision dossiers (immutable PDF snapshots).
//!
//! **Client data** here: everything. Every table carries `practice_id` and `client_id` and is
//! deleted with the client row (`ON DELETE CASCADE`), so erasure removes it.
//!
//! **Encrypted** with the client's data key, associated data
//! `concord/v1/<table>/<column>/<row id>`: the decision itself (`decisions.data_ct`: question,
//! preferred role, status detail, balance grid, the client's voice, the latest SURE), each
//! option (`decision_options.data_ct`), each criterion's name (`decision_criteria.name_ct`)
//! and each dossier's PDF (`dossiers.pdf_ct`). Plain: status and revisit date (for due
//! lists), importance and fit numbers, positions, versions, dates.
//!
//! **Audited** in the same transaction as the write (`decision.create`, `decision.update`,
//! `decision.option.create`, `decision.criterion.create`, `decision.criterion.update`,
//! `decision.rating.set`, `dossier.create`) or queued with the request's reads
//! (`decision.read`, `decision.list`, `dossier.read`, `dossier.list`). The client's own
//! changes through the portal are audited with no actor, `record_kind = "portal"` and detail
//! `link=<id>`: `portal.decision.read`, `portal.decision.update`,
//! `portal.decision.criterion.update`.
//!
//! Security Invariant: a decision or dossier id in a path reaches its record only through
//! [`decision_access`] / [`dossier_access`], which look up the owning client *within the
//! caller's practice* and then ask `policy::decide_record` exactly as a client route does.
//! Another practice's or another care team's record is the same `NotFound` as a missing one.
//!
//! Security Invariant: a dossier is immutable. No function updates or deletes a `dossiers`
//! row (only erasure of the client removes it); [`dossier_pdf`] returns the bytes as stored.

use crate::accounts::parse_id;
use crate::audit;
use crate::clients::{self, data_key};
use crate::crypto::{DataKey, field_aad};
use crate::{Ctx, Store, StoreError, Tx};
use concord_domain::decisions::sure::SureResult;
use concord_domain::decisions::{
    ClientWords, Criterion, CriterionName, DecisionOption, DecisionQuestion, DecisionRecord, DecisionStatus, DecisionalBalance, Fit,
    Importance, Ratings,
};
use concord_domain::ids::{ClientId, CriterionId, DecisionId, DossierId, OptionId, PracticeId};
use concord_domain::policy::{Actor, PortalAccess, RecordAccess};
use concord_domain::values::format_date;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use sqlx::Row;

/// At most this many options, criteria and decisions per decision/client (bounds the page,
/// the comparison and the sensitivity search).
pub const MAX_OPTIONS: usize = 8;
pub const MAX_CRITERIA: usize = 15;
/// Each list of the client's voice holds at most this many entries.
pub const MAX_VOICE_ENTRIES: usize = 30;

/// The client's own voice: who they are and what they want from treatment, what they already
/// do to stay well, concerns and questions for the prescriber. In their words.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientVoice {
    pub statement: Option<ClientWords>,
    #[serde(default)]
    pub goals: Vec<ClientWords>,
    #[serde(default)]
    pub personal_medicine: Vec<ClientWords>,
    #[serde(default)]
    pub concerns: Vec<ClientWords>,
    #[serde(default)]
    pub questions: Vec<ClientWords>,
}

/// The latest SURE test taken for this decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SureEntry {
    pub answers: Vec<bool>,
    pub result: SureResult,
    /// Unix seconds.
    pub at: i64,
}

/// The sealed part of a decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DecisionData {
    pub record: DecisionRecord,
    #[serde(default)]
    pub balance: DecisionalBalance,
    #[serde(default)]
    pub voice: ClientVoice,
    #[serde(default)]
    pub sure: Option<SureEntry>,
}

impl DecisionData {
    pub fn new(question: DecisionQuestion) -> Self {
        Self { record: DecisionRecord::new(question), balance: DecisionalBalance::new(), voice: ClientVoice::default(), sure: None }
    }
}

/// One decision with everything on its worksheet.
#[derive(Debug, Clone)]
pub struct Decision {
    pub id: DecisionId,
    pub client_id: ClientId,
    pub data: DecisionData,
    pub options: Vec<(OptionId, DecisionOption)>,
    pub criteria: Vec<Criterion>,
    pub fits: Vec<(OptionId, CriterionId, Fit)>,
    pub created_at: i64,
    pub updated_at: i64,
}

impl Decision {
    /// The ratings grid as the domain's weighing functions take it.
    pub fn ratings(&self) -> Ratings {
        let mut r = Ratings::new(self.options.iter().map(|(id, _)| *id), self.criteria.iter().map(|c| c.id));
        for (o, c, f) in &self.fits {
            // Rows are constrained to this decision's options and criteria by foreign keys.
            let _ = r.set(*o, *c, *f);
        }
        r
    }

    pub fn option_name(&self, id: &OptionId) -> String {
        self.options.iter().find(|(o, _)| o == id).map(|(_, o)| o.name().as_str().to_owned()).unwrap_or_default()
    }

    pub fn criterion_name(&self, id: &CriterionId) -> String {
        self.criteria.iter().find(|c| c.id == *id).map(|c| c.name.as_str().to_owned()).unwrap_or_default()
    }
}

/// A stored dossier snapshot, without its bytes.
#[derive(Debug, Clone)]
pub struct DossierMeta {
    pub id: DossierId,
    pub client_id: ClientId,
    pub decision_id: Option<DecisionId>,
    pub version: i64,
    pub sha256: String,
    pub created_at: i64,
}

fn event(ctx: &Ctx, access: &RecordAccess, action: &'static str, kind: &'static str, record_id: Option<String>) -> audit::AuditEvent {
    let mut ev = ctx.event(Some(&access.actor()), &access.practice_id().to_string(), action, kind);
    ev.client_id = Some(access.client_id().to_string());
    ev.record_id = record_id;
    ev.detail = format!("basis={}", access.basis().as_str());
    ev
}

fn corrupt(what: &str) -> impl Fn(serde_json::Error) -> StoreError + '_ {
    move |e| StoreError::Invalid(format!("corrupt {what}: {e}"))
}

fn seal_json<T: Serialize>(key: &DataKey, value: &T, table: &str, column: &str, id: &str) -> Result<Vec<u8>, StoreError> {
    let json = serde_json::to_string(value).map_err(|e| StoreError::Invalid(e.to_string()))?;
    Ok(key.seal_str(&json, &field_aad(table, column, id))?)
}

fn open_json<T: for<'de> Deserialize<'de>>(key: &DataKey, ct: &[u8], table: &str, column: &str, id: &str) -> Result<T, StoreError> {
    let json = key.open_str(ct, &field_aad(table, column, id))?;
    serde_json::from_str(&json).map_err(corrupt(table))
}

async fn key_for(store: &Store, tx: &mut Tx, access: &RecordAccess) -> Result<DataKey, StoreError> {
    data_key(store, &mut **tx, access.practice_id(), &access.client_id().to_string()).await
}

/// Who reads or writes a decision: staff under a record-access decision, or the client
/// through a portal session. Both scope every query by practice and client.
#[derive(Clone, Copy)]
enum Who<'a> {
    Staff(&'a RecordAccess),
    Portal(&'a PortalAccess),
}

impl Who<'_> {
    fn practice(&self) -> PracticeId {
        match self {
            Who::Staff(a) => a.practice_id(),
            Who::Portal(p) => p.practice_id(),
        }
    }
    fn client(&self) -> ClientId {
        match self {
            Who::Staff(a) => a.client_id(),
            Who::Portal(p) => p.client_id(),
        }
    }
    fn event(&self, ctx: &Ctx, action: &'static str, record_id: Option<String>) -> audit::AuditEvent {
        match self {
            Who::Staff(a) => event(ctx, a, action, "decision", record_id),
            Who::Portal(p) => {
                let mut ev = ctx.event(None, &p.practice_id().to_string(), action, "portal");
                ev.client_id = Some(p.client_id().to_string());
                ev.record_id = record_id;
                ev.detail = format!("link={}", p.link_id());
                ev
            }
        }
    }
}

/// The owner of a record named in a path, looked up within the caller's practice only.
async fn owner_of(store: &Store, table: &'static str, actor: &Actor, id: &str) -> Result<ClientId, StoreError> {
    let sql = match table {
        "decisions" => "SELECT client_id FROM decisions WHERE id = $1 AND practice_id = $2",
        _ => "SELECT client_id FROM dossiers WHERE id = $1 AND practice_id = $2",
    };
    let row =
        sqlx::query(sql).bind(id).bind(actor.practice_id.to_string()).fetch_optional(store.reads()).await?.ok_or(StoreError::NotFound)?;
    parse_id(&row, "client_id")
}

/// Access to the decision `id`: its owning client (in the caller's practice), then the same
/// care-team decision as for the client's record.
pub async fn decision_access(store: &Store, ctx: &Ctx, actor: &Actor, id: DecisionId) -> Result<RecordAccess, StoreError> {
    let client = owner_of(store, "decisions", actor, &id.to_string()).await?;
    clients::record_access(store, ctx, actor, client).await
}

/// Access to the dossier `id`, as [`decision_access`].
pub async fn dossier_access(store: &Store, ctx: &Ctx, actor: &Actor, id: DossierId) -> Result<RecordAccess, StoreError> {
    let client = owner_of(store, "dossiers", actor, &id.to_string()).await?;
    clients::record_access(store, ctx, actor, client).await
}

fn revisit_on(status: &DecisionStatus) -> Option<String> {
    match status {
        DecisionStatus::Deferred { revisit_on } => Some(format_date(*revisit_on)),
        DecisionStatus::Deliberating | DecisionStatus::Decided { .. } => None,
    }
}

async fn insert_option(
    tx: &mut Tx,
    ctx: &Ctx,
    key: &DataKey,
    access: &RecordAccess,
    decision: DecisionId,
    position: i64,
    option: &DecisionOption,
) -> Result<OptionId, StoreError> {
    let id: OptionId = ctx.new_id(OptionId::new_at);
    let ct = seal_json(key, option, "decision_options", "data_ct", &id.to_string())?;
    sqlx::query(
        "INSERT INTO decision_options (id, practice_id, client_id, decision_id, position, data_ct, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(id.to_string())
    .bind(access.practice_id().to_string())
    .bind(access.client_id().to_string())
    .bind(decision.to_string())
    .bind(position)
    .bind(ct)
    .bind(ctx.ts())
    .execute(&mut **tx)
    .await?;
    Ok(id)
}

/// Starts a decision in the client's words, with the options Concord offers by default.
pub async fn create_decision(
    store: &Store,
    ctx: &Ctx,
    access: &RecordAccess,
    question: DecisionQuestion,
) -> Result<DecisionId, StoreError> {
    let mut tx = store.begin().await?;
    let key = key_for(store, &mut tx, access).await?;
    let id: DecisionId = ctx.new_id(DecisionId::new_at);
    let data = DecisionData::new(question);
    let ct = seal_json(&key, &data, "decisions", "data_ct", &id.to_string())?;
    sqlx::query(
        "INSERT INTO decisions (id, practice_id, client_id, status, revisit_on, data_ct, created_by, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, NULL, $5, $6, $7, $7)",
    )
    .bind(id.to_string())
    .bind(access.practice_id().to_string())
    .bind(access.client_id().to_string())
    .bind(data.record.status().kind().as_str())
    .bind(ct)
    .bind(access.actor().user_id.to_string())
    .bind(ctx.ts())
    .execute(&mut *tx)
    .await?;
    for (i, option) in concord_domain::decisions::options::default_options().iter().enumerate() {
        insert_option(&mut tx, ctx, &key, access, id, i64::try_from(i).unwrap_or(0), option).await?;
    }
    audit::append(&mut tx, &event(ctx, access, "decision.create", "decision", Some(id.to_string()))).await?;
    tx.commit().await?;
    Ok(id)
}

async fn load(store: &Store, tx: &mut Tx, who: Who<'_>, id: DecisionId) -> Result<Decision, StoreError> {
    let pid = who.practice().to_string();
    let cid = who.client().to_string();
    let row =
        sqlx::query("SELECT id, data_ct, created_at, updated_at FROM decisions WHERE id = $1 AND client_id = $2 AND practice_id = $3")
            .bind(id.to_string())
            .bind(&cid)
            .bind(&pid)
            .fetch_optional(&mut **tx)
            .await?
            .ok_or(StoreError::NotFound)?;
    let key = data_key(store, &mut **tx, who.practice(), &cid).await?;
    let ct: Vec<u8> = row.try_get("data_ct")?;
    let data: DecisionData = open_json(&key, &ct, "decisions", "data_ct", &id.to_string())?;
    let rows = sqlx::query("SELECT id, data_ct FROM decision_options WHERE decision_id = $1 AND practice_id = $2 ORDER BY position, id")
        .bind(id.to_string())
        .bind(&pid)
        .fetch_all(&mut **tx)
        .await?;
    let mut options = Vec::with_capacity(rows.len());
    for r in &rows {
        let oid: OptionId = parse_id(r, "id")?;
        let ct: Vec<u8> = r.try_get("data_ct")?;
        options.push((oid, open_json::<DecisionOption>(&key, &ct, "decision_options", "data_ct", &oid.to_string())?));
    }
    let rows = sqlx::query(
        "SELECT id, name_ct, importance FROM decision_criteria WHERE decision_id = $1 AND practice_id = $2 ORDER BY position, id",
    )
    .bind(id.to_string())
    .bind(&pid)
    .fetch_all(&mut **tx)
    .await?;
    let mut criteria = Vec::with_capacity(rows.len());
    for r in &rows {
        let cid: CriterionId = parse_id(r, "id")?;
        let ct: Vec<u8> = r.try_get("name_ct")?;
        let name = key.open_str(&ct, &field_aad("decision_criteria", "name_ct", &cid.to_string()))?;
        let importance: i64 = r.try_get("importance")?;
        criteria.push(Criterion {
            id: cid,
            name: CriterionName::parse(&name).map_err(|e| StoreError::Invalid(e.to_string()))?,
            importance: Importance::new(importance).map_err(|e| StoreError::Invalid(e.to_string()))?,
        });
    }
    let rows = sqlx::query("SELECT option_id, criterion_id, fit FROM decision_ratings WHERE decision_id = $1 AND practice_id = $2")
        .bind(id.to_string())
        .bind(&pid)
        .fetch_all(&mut **tx)
        .await?;
    let mut fits = Vec::with_capacity(rows.len());
    for r in &rows {
        let fit: i64 = r.try_get("fit")?;
        fits.push((
            parse_id(r, "option_id")?,
            parse_id(r, "criterion_id")?,
            Fit::new(fit).map_err(|e| StoreError::Invalid(e.to_string()))?,
        ));
    }
    Ok(Decision {
        id,
        client_id: who.client(),
        data,
        options,
        criteria,
        fits,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

/// One decision with its options, criteria and ratings (audited).
pub async fn get_decision(store: &Store, ctx: &Ctx, access: &RecordAccess, id: DecisionId) -> Result<Decision, StoreError> {
    let mut tx = store.begin_read().await?;
    let d = load(store, &mut tx, Who::Staff(access), id).await?;
    tx.commit().await?;
    store.audit_read(ctx, event(ctx, access, "decision.read", "decision", Some(id.to_string()))).await?;
    Ok(d)
}

/// Every decision of the client, newest first (audited once).
pub async fn list_decisions(store: &Store, ctx: &Ctx, access: &RecordAccess) -> Result<Vec<Decision>, StoreError> {
    let mut tx = store.begin_read().await?;
    let rows = sqlx::query("SELECT id FROM decisions WHERE client_id = $1 AND practice_id = $2 ORDER BY created_at DESC, id DESC")
        .bind(access.client_id().to_string())
        .bind(access.practice_id().to_string())
        .fetch_all(&mut *tx)
        .await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in &rows {
        let id: DecisionId = parse_id(r, "id")?;
        out.push(load(store, &mut tx, Who::Staff(access), id).await?);
    }
    tx.commit().await?;
    store.audit_read(ctx, event(ctx, access, "decision.list", "decision", None)).await?;
    Ok(out)
}

/// Changes the sealed part of a decision in one transaction: `change` gets the current data
/// and may refuse with a `StoreError::Invalid` (a 422). `what` names the change in the audit.
pub async fn update_decision<F>(
    store: &Store,
    ctx: &Ctx,
    access: &RecordAccess,
    id: DecisionId,
    what: &str,
    change: F,
) -> Result<Decision, StoreError>
where
    F: FnOnce(&mut DecisionData) -> Result<(), StoreError>,
{
    update(store, ctx, Who::Staff(access), id, what, change, "decision.update").await
}

async fn update<F>(
    store: &Store,
    ctx: &Ctx,
    who: Who<'_>,
    id: DecisionId,
    what: &str,
    change: F,
    action: &'static str,
) -> Result<Decision, StoreError>
where
    F: FnOnce(&mut DecisionData) -> Result<(), StoreError>,
{
    let mut tx = store.begin().await?;
    let mut d = load(store, &mut tx, who, id).await?;
    let before = (d.data.record.status().kind(), revisit_on(d.data.record.status()));
    change(&mut d.data)?;
    if before != (d.data.record.status().kind(), revisit_on(d.data.record.status())) {
        // A deferral (or its end) changes the decision-revisit rule's outcome.
        crate::prompts::mark_pending(&mut tx, ctx, who.practice(), who.client()).await?;
    }
    let key = data_key(store, &mut *tx, who.practice(), &who.client().to_string()).await?;
    let ct = seal_json(&key, &d.data, "decisions", "data_ct", &id.to_string())?;
    sqlx::query("UPDATE decisions SET data_ct = $1, status = $2, revisit_on = $3, updated_at = $4 WHERE id = $5 AND client_id = $6 AND practice_id = $7")
        .bind(ct)
        .bind(d.data.record.status().kind().as_str())
        .bind(revisit_on(d.data.record.status()))
        .bind(ctx.ts())
        .bind(id.to_string())
        .bind(who.client().to_string())
        .bind(who.practice().to_string())
        .execute(&mut *tx)
        .await?;
    let mut ev = who.event(ctx, action, Some(id.to_string()));
    ev.detail = format!("{} fields={what} status={}", ev.detail, d.data.record.status().kind());
    audit::append(&mut tx, &ev).await?;
    tx.commit().await?;
    d.updated_at = ctx.ts();
    Ok(d)
}

/// The client's latest decision, for their portal worksheet (audited as `portal.decision.read`).
pub async fn portal_latest_decision(store: &Store, ctx: &Ctx, portal: &PortalAccess) -> Result<Option<Decision>, StoreError> {
    let who = Who::Portal(portal);
    let mut tx = store.begin_read().await?;
    let row = sqlx::query("SELECT id FROM decisions WHERE client_id = $1 AND practice_id = $2 ORDER BY created_at DESC, id DESC LIMIT 1")
        .bind(who.client().to_string())
        .bind(who.practice().to_string())
        .fetch_optional(&mut *tx)
        .await?;
    let Some(r) = row else {
        tx.commit().await?;
        return Ok(None);
    };
    let id: DecisionId = parse_id(&r, "id")?;
    let d = load(store, &mut tx, who, id).await?;
    tx.commit().await?;
    store.audit_read(ctx, who.event(ctx, "portal.decision.read", Some(id.to_string()))).await?;
    Ok(Some(d))
}

/// The client changes their own worksheet through the portal (audited as
/// `portal.decision.update`). Only this client's decisions are reachable.
pub async fn portal_update_decision<F>(
    store: &Store,
    ctx: &Ctx,
    portal: &PortalAccess,
    id: DecisionId,
    what: &str,
    change: F,
) -> Result<Decision, StoreError>
where
    F: FnOnce(&mut DecisionData) -> Result<(), StoreError>,
{
    update(store, ctx, Who::Portal(portal), id, what, change, "portal.decision.update").await
}

/// The client sets the importance of one of their criteria through the portal.
pub async fn portal_set_importance(
    store: &Store,
    ctx: &Ctx,
    portal: &PortalAccess,
    id: DecisionId,
    criterion: CriterionId,
    importance: Importance,
) -> Result<(), StoreError> {
    let who = Who::Portal(portal);
    let mut tx = store.begin().await?;
    let r = sqlx::query(
        "UPDATE decision_criteria SET importance = $1 WHERE id = $2 AND decision_id = $3 AND client_id = $4 AND practice_id = $5",
    )
    .bind(i64::from(importance.get()))
    .bind(criterion.to_string())
    .bind(id.to_string())
    .bind(who.client().to_string())
    .bind(who.practice().to_string())
    .execute(&mut *tx)
    .await?;
    if r.rows_affected() != 1 {
        return Err(StoreError::NotFound);
    }
    let mut ev = who.event(ctx, "portal.decision.criterion.update", Some(id.to_string()));
    ev.detail = format!("{} criterion={criterion} importance={importance}", ev.detail);
    audit::append(&mut tx, &ev).await?;
    tx.commit().await?;
    Ok(())
}

async fn count(tx: &mut Tx, table: &'static str, id: DecisionId) -> Result<i64, StoreError> {
    let sql = match table {
        "decision_options" => "SELECT COUNT(*) AS n, COALESCE(MAX(position), -1) AS p FROM decision_options WHERE decision_id = $1",
        _ => "SELECT COUNT(*) AS n, COALESCE(MAX(position), -1) AS p FROM decision_criteria WHERE decision_id = $1",
    };
    let r = sqlx::query(sql).bind(id.to_string()).fetch_one(&mut **tx).await?;
    let n: i64 = r.try_get("n")?;
    let p: i64 = r.try_get("p")?;
    Ok(n.max(p.saturating_add(1)))
}

async fn check_decision(tx: &mut Tx, access: &RecordAccess, id: DecisionId) -> Result<(), StoreError> {
    sqlx::query("SELECT 1 AS one FROM decisions WHERE id = $1 AND client_id = $2 AND practice_id = $3")
        .bind(id.to_string())
        .bind(access.client_id().to_string())
        .bind(access.practice_id().to_string())
        .fetch_optional(&mut **tx)
        .await?
        .map(|_| ())
        .ok_or(StoreError::NotFound)
}

async fn touch(tx: &mut Tx, ctx: &Ctx, id: DecisionId) -> Result<(), StoreError> {
    sqlx::query("UPDATE decisions SET updated_at = $1 WHERE id = $2").bind(ctx.ts()).bind(id.to_string()).execute(&mut **tx).await?;
    Ok(())
}

/// Adds an option (the client's own, or one Concord offers) to the decision.
pub async fn add_option(
    store: &Store,
    ctx: &Ctx,
    access: &RecordAccess,
    id: DecisionId,
    option: &DecisionOption,
) -> Result<OptionId, StoreError> {
    let mut tx = store.begin().await?;
    check_decision(&mut tx, access, id).await?;
    let position = count(&mut tx, "decision_options", id).await?;
    if usize::try_from(position).unwrap_or(usize::MAX) >= MAX_OPTIONS {
        return Err(StoreError::Invalid(format!("a decision may have at most {MAX_OPTIONS} options")));
    }
    let key = key_for(store, &mut tx, access).await?;
    let oid = insert_option(&mut tx, ctx, &key, access, id, position, option).await?;
    touch(&mut tx, ctx, id).await?;
    let mut ev = event(ctx, access, "decision.option.create", "decision", Some(id.to_string()));
    ev.detail = format!("{} option={oid}", ev.detail);
    audit::append(&mut tx, &ev).await?;
    tx.commit().await?;
    Ok(oid)
}

/// Adds a criterion the client names, with its importance.
pub async fn add_criterion(
    store: &Store,
    ctx: &Ctx,
    access: &RecordAccess,
    id: DecisionId,
    name: &CriterionName,
    importance: Importance,
) -> Result<CriterionId, StoreError> {
    let mut tx = store.begin().await?;
    check_decision(&mut tx, access, id).await?;
    let position = count(&mut tx, "decision_criteria", id).await?;
    if usize::try_from(position).unwrap_or(usize::MAX) >= MAX_CRITERIA {
        return Err(StoreError::Invalid(format!("a decision may have at most {MAX_CRITERIA} criteria")));
    }
    let key = key_for(store, &mut tx, access).await?;
    let cid: CriterionId = ctx.new_id(CriterionId::new_at);
    let ct = key.seal_str(name.as_str(), &field_aad("decision_criteria", "name_ct", &cid.to_string()))?;
    sqlx::query(
        "INSERT INTO decision_criteria (id, practice_id, client_id, decision_id, position, name_ct, importance, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(cid.to_string())
    .bind(access.practice_id().to_string())
    .bind(access.client_id().to_string())
    .bind(id.to_string())
    .bind(position)
    .bind(ct)
    .bind(i64::from(importance.get()))
    .bind(ctx.ts())
    .execute(&mut *tx)
    .await?;
    touch(&mut tx, ctx, id).await?;
    let mut ev = event(ctx, access, "decision.criterion.create", "decision", Some(id.to_string()));
    ev.detail = format!("{} criterion={cid} importance={importance}", ev.detail);
    audit::append(&mut tx, &ev).await?;
    tx.commit().await?;
    Ok(cid)
}

/// Changes how important a criterion is. A criterion of another decision is not found.
pub async fn set_importance(
    store: &Store,
    ctx: &Ctx,
    access: &RecordAccess,
    id: DecisionId,
    criterion: CriterionId,
    importance: Importance,
) -> Result<(), StoreError> {
    let mut tx = store.begin().await?;
    check_decision(&mut tx, access, id).await?;
    let r = sqlx::query("UPDATE decision_criteria SET importance = $1 WHERE id = $2 AND decision_id = $3 AND practice_id = $4")
        .bind(i64::from(importance.get()))
        .bind(criterion.to_string())
        .bind(id.to_string())
        .bind(access.practice_id().to_string())
        .execute(&mut *tx)
        .await?;
    if r.rows_affected() != 1 {
        return Err(StoreError::NotFound);
    }
    touch(&mut tx, ctx, id).await?;
    let mut ev = event(ctx, access, "decision.criterion.update", "decision", Some(id.to_string()));
    ev.detail = format!("{} criterion={criterion} importance={importance}", ev.detail);
    audit::append(&mut tx, &ev).await?;
    tx.commit().await?;
    Ok(())
}

/// Sets how well an option fits a criterion. Both must belong to this decision: otherwise a
/// `StoreError::Invalid` naming which one (the ids are the caller's own input).
pub async fn set_rating(
    store: &Store,
    ctx: &Ctx,
    access: &RecordAccess,
    id: DecisionId,
    option: OptionId,
    criterion: CriterionId,
    fit: Fit,
) -> Result<(), StoreError> {
    let mut tx = store.begin().await?;
    check_decision(&mut tx, access, id).await?;
    let pid = access.practice_id().to_string();
    let has_option = sqlx::query("SELECT 1 AS one FROM decision_options WHERE id = $1 AND decision_id = $2 AND practice_id = $3")
        .bind(option.to_string())
        .bind(id.to_string())
        .bind(&pid)
        .fetch_optional(&mut *tx)
        .await?
        .is_some();
    if !has_option {
        return Err(StoreError::Invalid(format!("option {option} is not one of this decision's options")));
    }
    let has_criterion = sqlx::query("SELECT 1 AS one FROM decision_criteria WHERE id = $1 AND decision_id = $2 AND practice_id = $3")
        .bind(criterion.to_string())
        .bind(id.to_string())
        .bind(&pid)
        .fetch_optional(&mut *tx)
        .await?
        .is_some();
    if !has_criterion {
        return Err(StoreError::Invalid(format!("criterion {criterion} is not one of this decision's criteria")));
    }
    sqlx::query(
        "INSERT INTO decision_ratings (practice_id, client_id, decision_id, option_id, criterion_id, fit, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) \
         ON CONFLICT (option_id, criterion_id) DO UPDATE SET fit = excluded.fit, updated_at = excluded.updated_at",
    )
    .bind(&pid)
    .bind(access.client_id().to_string())
    .bind(id.to_string())
    .bind(option.to_string())
    .bind(criterion.to_string())
    .bind(i64::from(fit.get()))
    .bind(ctx.ts())
    .execute(&mut *tx)
    .await?;
    touch(&mut tx, ctx, id).await?;
    let mut ev = event(ctx, access, "decision.rating.set", "decision", Some(id.to_string()));
    ev.detail = format!("{} option={option} criterion={criterion} fit={fit}", ev.detail);
    audit::append(&mut tx, &ev).await?;
    tx.commit().await?;
    Ok(())
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Stores a generated dossier as version `version` (the caller rendered it with that number;
/// a concurrent dossier of the same version is a conflict). The PDF is sealed and never
/// changed afterwards.
pub async fn create_dossier(
    store: &Store,
    ctx: &Ctx,
    access: &RecordAccess,
    decision: Option<DecisionId>,
    version: i64,
    pdf: &[u8],
) -> Result<DossierMeta, StoreError> {
    let mut tx = store.begin().await?;
    let key = key_for(store, &mut tx, access).await?;
    let id: DossierId = ctx.new_id(DossierId::new_at);
    let ct = key.seal_bytes(pdf, &field_aad("dossiers", "pdf_ct", &id.to_string()))?;
    let sha = sha256_hex(pdf);
    sqlx::query(
        "INSERT INTO dossiers (id, practice_id, client_id, decision_id, version, sha256, pdf_ct, created_by, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(id.to_string())
    .bind(access.practice_id().to_string())
    .bind(access.client_id().to_string())
    .bind(decision.map(|d| d.to_string()))
    .bind(version)
    .bind(&sha)
    .bind(ct)
    .bind(access.actor().user_id.to_string())
    .bind(ctx.ts())
    .execute(&mut *tx)
    .await
    .map_err(|e| StoreError::unique_or(e, "a dossier with this version"))?;
    let mut ev = event(ctx, access, "dossier.create", "dossier", Some(id.to_string()));
    ev.detail = format!("{} version={version} sha256={sha}", ev.detail);
    audit::append(&mut tx, &ev).await?;
    tx.commit().await?;
    Ok(DossierMeta { id, client_id: access.client_id(), decision_id: decision, version, sha256: sha, created_at: ctx.ts() })
}

fn meta_from(r: &sqlx::any::AnyRow) -> Result<DossierMeta, StoreError> {
    let decision: Option<String> = r.try_get("decision_id")?;
    Ok(DossierMeta {
        id: parse_id(r, "id")?,
        client_id: parse_id(r, "client_id")?,
        decision_id: decision.and_then(|d| d.parse().ok()),
        version: r.try_get("version")?,
        sha256: r.try_get("sha256")?,
        created_at: r.try_get("created_at")?,
    })
}

/// The client's dossiers, newest version first (audited).
pub async fn list_dossiers(store: &Store, ctx: &Ctx, access: &RecordAccess) -> Result<Vec<DossierMeta>, StoreError> {
    let rows = sqlx::query(
        "SELECT id, client_id, decision_id, version, sha256, created_at FROM dossiers WHERE client_id = $1 AND practice_id = $2 ORDER BY version DESC",
    )
    .bind(access.client_id().to_string())
    .bind(access.practice_id().to_string())
    .fetch_all(store.reads())
    .await?;
    let out = rows.iter().map(meta_from).collect::<Result<Vec<_>, _>>()?;
    store.audit_read(ctx, event(ctx, access, "dossier.list", "dossier", None)).await?;
    Ok(out)
}

/// One dossier's PDF, exactly as stored (audited). The bytes are checked against the hash
/// recorded when it was made.
pub async fn dossier_pdf(store: &Store, ctx: &Ctx, access: &RecordAccess, id: DossierId) -> Result<(DossierMeta, Vec<u8>), StoreError> {
    let mut tx = store.begin_read().await?;
    let r = sqlx::query(
        "SELECT id, client_id, decision_id, version, sha256, created_at, pdf_ct FROM dossiers WHERE id = $1 AND client_id = $2 AND practice_id = $3",
    )
    .bind(id.to_string())
    .bind(access.client_id().to_string())
    .bind(access.practice_id().to_string())
    .fetch_optional(&mut *tx)
    .await?
    .ok_or(StoreError::NotFound)?;
    let meta = meta_from(&r)?;
    let ct: Vec<u8> = r.try_get("pdf_ct")?;
    let key = key_for(store, &mut tx, access).await?;
    let pdf = key.open_bytes(&ct, &field_aad("dossiers", "pdf_ct", &id.to_string()))?;
    tx.commit().await?;
    if sha256_hex(&pdf) != meta.sha256 {
        return Err(StoreError::Invalid("the stored dossier does not match its recorded hash".into()));
    }
    let mut ev = event(ctx, access, "dossier.read", "dossier", Some(id.to_string()));
    ev.detail = format!("{} version={}", ev.detail, meta.version);
    store.audit_read(ctx, ev).await?;
    Ok((meta, pdf))
}
