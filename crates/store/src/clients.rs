//! Clients, care teams, sessions (appointments) and break-glass grants.
//!
//! Security Invariant: every function here that touches client data takes a decision from
//! `concord_domain::policy`, scopes its SQL by that decision's practice and client, and appends
//! an audit entry in the same transaction. Names, dates of birth and free text are sealed with
//! the client's data key before they reach SQL.

use crate::accounts::parse_id;
use crate::audit;
use crate::crypto::{DataKey, field_aad};
use crate::{Ctx, Store, StoreError, Tx, flag};
use concord_domain::ids::{BreakGlassId, ClientId, PracticeId, SessionId, UserId};
use concord_domain::policy::{
    self, Actor, CareTeamAccess, CaseloadScope, ClientFacts, CreateClientAccess, ErasureAccess, PracticeAdminAccess, RecordAccess,
};
use concord_domain::values::{Attendance, BreakGlassReason, ClientName, DateOfBirth, DurationMinutes, Role, query_tokens};
use sqlx::Row;
use sqlx::any::AnyRow;
use time::{Duration, OffsetDateTime};

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ClientStatus {
    Active,
    Archived,
}

impl ClientStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ClientStatus::Active => "active",
            ClientStatus::Archived => "archived",
        }
    }
    fn parse(s: &str) -> Result<Self, StoreError> {
        match s {
            "active" => Ok(ClientStatus::Active),
            "archived" => Ok(ClientStatus::Archived),
            _ => Err(StoreError::Invalid("corrupt client status".into())),
        }
    }
}

/// One line of a caseload or directory.
#[derive(Debug, Clone)]
pub struct ClientSummary {
    pub id: ClientId,
    pub name: String,
    pub status: ClientStatus,
    pub attended_sessions: i64,
    pub last_session_at: Option<i64>,
    pub next_session_at: Option<i64>,
    /// Bumped by the database on any change to the client's scores or sessions (migration
    /// 0008): pages key what they derive from that data on it.
    pub data_version: i64,
    /// Bumped by the database on any change to the client's schedules, prompts, name or status
    /// (migration 0009): the caseload keys its rows on it and `data_version`.
    pub caseload_version: i64,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct TeamMember {
    pub user_id: UserId,
    pub name: String,
    pub role: Role,
}

/// A client's identity and status, decrypted.
#[derive(Debug, Clone)]
pub struct ClientRecord {
    pub id: ClientId,
    pub name: String,
    pub date_of_birth: Option<String>,
    pub status: ClientStatus,
    pub created_at: i64,
    pub updated_at: i64,
    pub care_team: Vec<TeamMember>,
    /// See [`ClientSummary::data_version`].
    pub data_version: i64,
    /// See [`ClientSummary::caseload_version`].
    pub caseload_version: i64,
    /// Bumped by triggers with any change to the client's portal links (migration 0011): the
    /// record page keeps schedules, links and open prompts keyed on all three versions.
    pub record_version: i64,
}

#[derive(Debug, Clone)]
pub struct SessionRow {
    pub id: SessionId,
    pub starts_at: i64,
    pub duration_minutes: i64,
    pub attendance: Attendance,
}

fn client_event(ctx: &Ctx, actor: &Actor, client_id: ClientId, action: &'static str, record_kind: &'static str) -> audit::AuditEvent {
    let mut ev = ctx.event(Some(actor), &actor.practice_id.to_string(), action, record_kind);
    ev.client_id = Some(client_id.to_string());
    ev.record_id = Some(client_id.to_string());
    ev
}

fn record_event(ctx: &Ctx, access: &RecordAccess, action: &'static str, record_kind: &'static str) -> audit::AuditEvent {
    let mut ev = client_event(ctx, &access.actor(), access.client_id(), action, record_kind);
    ev.detail = format!("basis={}", access.basis().as_str());
    ev
}

/// Loads what the policy needs to decide; reads no client data.
pub async fn client_facts(store: &Store, ctx: &Ctx, actor: &Actor, client_id: ClientId) -> Result<Option<ClientFacts>, StoreError> {
    let r = sqlx::query(
        "SELECT c.practice_id, \
           CASE WHEN EXISTS (SELECT 1 FROM care_team t WHERE t.client_id = c.id AND t.user_id = $2) THEN 1 ELSE 0 END AS on_team, \
           CASE WHEN EXISTS (SELECT 1 FROM break_glass b WHERE b.client_id = c.id AND b.user_id = $2 AND b.expires_at > $3) THEN 1 ELSE 0 END AS glass \
         FROM clients c WHERE c.id = $1 AND c.practice_id = $4",
    )
    .bind(client_id.to_string())
    .bind(actor.user_id.to_string())
    .bind(ctx.ts())
    .bind(actor.practice_id.to_string())
    .fetch_optional(store.reads())
    .await?;
    r.map(|r| {
        Ok(ClientFacts {
            practice_id: parse_id(&r, "practice_id")?,
            client_id,
            on_care_team: r.try_get::<i64, _>("on_team")? != 0,
            break_glass_active: r.try_get::<i64, _>("glass")? != 0,
        })
    })
    .transpose()
}

/// Loads facts and asks the policy for record access; NotFound when the answer is no.
pub async fn record_access(store: &Store, ctx: &Ctx, actor: &Actor, client_id: ClientId) -> Result<RecordAccess, StoreError> {
    let facts = client_facts(store, ctx, actor, client_id).await?;
    policy::decide_record(actor, facts.as_ref()).ok_or(StoreError::NotFound)
}

pub async fn care_team_access(store: &Store, ctx: &Ctx, actor: &Actor, client_id: ClientId) -> Result<CareTeamAccess, StoreError> {
    let facts = client_facts(store, ctx, actor, client_id).await?;
    policy::decide_care_team(actor, facts.as_ref()).ok_or(StoreError::NotFound)
}

pub async fn erasure_access(store: &Store, ctx: &Ctx, actor: &Actor, client_id: ClientId) -> Result<ErasureAccess, StoreError> {
    let facts = client_facts(store, ctx, actor, client_id).await?;
    policy::decide_erasure(actor, facts.as_ref()).ok_or(StoreError::NotFound)
}

pub(crate) async fn data_key<'e, E>(store: &Store, exec: E, practice_id: PracticeId, client_id: &str) -> Result<DataKey, StoreError>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    let r = sqlx::query("SELECT wrapped_key FROM client_keys WHERE client_id = $1 AND practice_id = $2")
        .bind(client_id)
        .bind(practice_id.to_string())
        .fetch_optional(exec)
        .await?
        .ok_or(StoreError::NotFound)?;
    let wrapped: Vec<u8> = r.try_get("wrapped_key")?;
    Ok(store.key().unwrap_data_key(client_id, &wrapped)?)
}

async fn write_name_index(
    store: &Store,
    tx: &mut Tx,
    practice_id: PracticeId,
    client_id: &str,
    name: &ClientName,
) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM client_name_index WHERE client_id = $1").bind(client_id).execute(&mut **tx).await?;
    for token in name.search_tokens() {
        sqlx::query("INSERT INTO client_name_index (practice_id, client_id, token) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING")
            .bind(practice_id.to_string())
            .bind(client_id)
            .bind(store.key().search_token(&practice_id.to_string(), &token))
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

fn seal_opt(key: &DataKey, value: Option<&str>, aad: &str) -> Result<Option<Vec<u8>>, StoreError> {
    value.map(|v| key.seal_str(v, aad).map_err(Into::into)).transpose()
}

/// Creates a client. A clinician or supervisor who creates one joins the care team.
pub async fn create_client(
    store: &Store,
    ctx: &Ctx,
    access: &CreateClientAccess,
    name: &ClientName,
    date_of_birth: Option<&DateOfBirth>,
) -> Result<ClientId, StoreError> {
    let actor = access.actor();
    let id: ClientId = ctx.new_id(ClientId::new_at);
    let sid = id.to_string();
    let (key, wrapped) = store.key().new_data_key(&sid)?;
    let name_ct = key.seal_str(name.as_str(), &field_aad("clients", "name_ct", &sid))?;
    let dob_ct = seal_opt(&key, date_of_birth.map(DateOfBirth::to_iso).as_deref(), &field_aad("clients", "date_of_birth_ct", &sid))?;
    let mut tx = store.begin().await?;
    sqlx::query(
        "INSERT INTO clients (id, practice_id, status, name_ct, date_of_birth_ct, created_by, created_at, updated_at) VALUES ($1, $2, 'active', $3, $4, $5, $6, $6)",
    )
    .bind(&sid)
    .bind(actor.practice_id.to_string())
    .bind(name_ct)
    .bind(dob_ct)
    .bind(actor.user_id.to_string())
    .bind(ctx.ts())
    .execute(&mut *tx)
    .await?;
    sqlx::query("INSERT INTO client_keys (client_id, practice_id, wrapped_key) VALUES ($1, $2, $3)")
        .bind(&sid)
        .bind(actor.practice_id.to_string())
        .bind(wrapped)
        .execute(&mut *tx)
        .await?;
    write_name_index(store, &mut tx, actor.practice_id, &sid, name).await?;
    let joins = match actor.role {
        Role::Clinician | Role::Supervisor => true,
        Role::Admin => false,
    };
    if joins {
        insert_team_member(&mut tx, ctx, actor.practice_id, &sid, actor.user_id, actor.user_id).await?;
    }
    audit::append(&mut tx, &client_event(ctx, &actor, id, "client.create", "client")).await?;
    tx.commit().await?;
    Ok(id)
}

async fn insert_team_member(
    tx: &mut Tx,
    ctx: &Ctx,
    practice_id: PracticeId,
    client_id: &str,
    user_id: UserId,
    by: UserId,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO care_team (practice_id, client_id, user_id, added_by, added_at) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
    )
    .bind(practice_id.to_string())
    .bind(client_id)
    .bind(user_id.to_string())
    .bind(by.to_string())
    .bind(ctx.ts())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

async fn team_of<'e, E>(exec: E, practice_id: PracticeId, client_id: ClientId) -> Result<Vec<TeamMember>, StoreError>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    let rows = sqlx::query(
        "SELECT u.id AS member_id, u.name AS member_name, u.role AS member_role FROM care_team t JOIN users u ON u.id = t.user_id \
         WHERE t.client_id = $1 AND t.practice_id = $2 ORDER BY u.name",
    )
    .bind(client_id.to_string())
    .bind(practice_id.to_string())
    .fetch_all(exec)
    .await?;
    rows.iter().map(team_member).collect()
}

/// A care-team member from a row's `member_id`, `member_name` and `member_role`.
fn team_member(r: &AnyRow) -> Result<TeamMember, StoreError> {
    let role: String = r.try_get("member_role")?;
    Ok(TeamMember {
        user_id: parse_id(r, "member_id")?,
        name: r.try_get("member_name")?,
        role: role.parse().map_err(|_| StoreError::Invalid("corrupt role".into()))?,
    })
}

/// A client's row, data key and care team in one statement: one row per team member (ordered
/// by name), or one row with no member. `glass` says whether `$3` holds an unexpired emergency
/// grant at `$4`. Reading the care team with the row spares a round trip on every record page.
const CLIENT_WITH_TEAM: &str = "SELECT c.status, c.name_ct, c.date_of_birth_ct, c.created_at, c.updated_at, c.data_version, c.caseload_version, c.record_version, k.wrapped_key, \
       CASE WHEN EXISTS (SELECT 1 FROM break_glass b WHERE b.client_id = c.id AND b.user_id = $3 AND b.expires_at > $4) THEN 1 ELSE 0 END AS glass, \
       u.id AS member_id, u.name AS member_name, u.role AS member_role \
     FROM clients c JOIN client_keys k ON k.client_id = c.id AND k.practice_id = c.practice_id \
     LEFT JOIN care_team t ON t.client_id = c.id AND t.practice_id = c.practice_id \
     LEFT JOIN users u ON u.id = t.user_id \
     WHERE c.id = $1 AND c.practice_id = $2 ORDER BY u.name";

/// A client as stored, not yet opened: the policy's facts for `user`, and the sealed fields.
struct StoredClient {
    facts: ClientFacts,
    row: AnyRow,
    care_team: Vec<TeamMember>,
}

async fn fetch_client<'e, E>(
    exec: E,
    practice_id: PracticeId,
    client_id: ClientId,
    user: UserId,
    now: i64,
) -> Result<Option<StoredClient>, StoreError>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    let rows = sqlx::query(CLIENT_WITH_TEAM)
        .bind(client_id.to_string())
        .bind(practice_id.to_string())
        .bind(user.to_string())
        .bind(now)
        .fetch_all(exec)
        .await?;
    let mut care_team = Vec::with_capacity(rows.len());
    for r in &rows {
        // The one row of a client without a team has no member.
        if r.try_get::<Option<String>, _>("member_id")?.is_some() {
            care_team.push(team_member(r)?);
        }
    }
    let Some(row) = rows.into_iter().next() else { return Ok(None) };
    let facts = ClientFacts {
        practice_id,
        client_id,
        on_care_team: care_team.iter().any(|m| m.user_id == user),
        break_glass_active: row.try_get::<i64, _>("glass")? != 0,
    };
    Ok(Some(StoredClient { facts, row, care_team }))
}

/// Opens a stored client's sealed fields with its data key.
fn open_client(store: &Store, stored: StoredClient) -> Result<ClientRecord, StoreError> {
    let (client_id, r) = (stored.facts.client_id, &stored.row);
    let sid = client_id.to_string();
    let key = store.key().unwrap_data_key(&sid, &r.try_get::<Vec<u8>, _>("wrapped_key")?)?;
    let name_ct: Vec<u8> = r.try_get("name_ct")?;
    let dob_ct: Option<Vec<u8>> = r.try_get("date_of_birth_ct")?;
    Ok(ClientRecord {
        id: client_id,
        name: key.open_str(&name_ct, &field_aad("clients", "name_ct", &sid))?,
        date_of_birth: dob_ct.map(|c| key.open_str(&c, &field_aad("clients", "date_of_birth_ct", &sid))).transpose()?,
        status: ClientStatus::parse(&r.try_get::<String, _>("status")?)?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
        data_version: r.try_get("data_version")?,
        caseload_version: r.try_get("caseload_version")?,
        record_version: r.try_get("record_version")?,
        care_team: stored.care_team,
    })
}

async fn read_client(
    store: &Store,
    ctx: &Ctx,
    conn: &mut sqlx::AnyConnection,
    practice_id: PracticeId,
    client_id: ClientId,
    user: UserId,
) -> Result<ClientRecord, StoreError> {
    let stored = fetch_client(&mut *conn, practice_id, client_id, user, ctx.ts()).await?.ok_or(StoreError::NotFound)?;
    open_client(store, stored)
}

/// Reads a client's identity and care team (audited), in one statement on a reader connection.
pub async fn get_client(store: &Store, ctx: &Ctx, access: &RecordAccess) -> Result<ClientRecord, StoreError> {
    let mut conn = store.reads().acquire().await?;
    let rec = read_client(store, ctx, &mut conn, access.practice_id(), access.client_id(), access.actor().user_id).await?;
    conn.release();
    store.audit_read(ctx, record_event(ctx, access, "client.read", "client")).await?;
    Ok(rec)
}

/// [`record_access`] and then [`get_client`], in one statement: the client's row comes with the
/// facts the policy decides on, and is opened only once it says yes. NotFound when it says no.
pub async fn open_record(store: &Store, ctx: &Ctx, actor: &Actor, client_id: ClientId) -> Result<(RecordAccess, ClientRecord), StoreError> {
    let stored = fetch_client(store.reads(), actor.practice_id, client_id, actor.user_id, ctx.ts()).await?;
    let access = policy::decide_record(actor, stored.as_ref().map(|s| &s.facts)).ok_or(StoreError::NotFound)?;
    let rec = open_client(store, stored.ok_or(StoreError::NotFound)?)?;
    store.audit_read(ctx, record_event(ctx, &access, "client.read", "client")).await?;
    Ok((access, rec))
}

/// A change to a client's identity; `None` leaves a field as it is.
#[derive(Debug, Default)]
pub struct ClientChanges<'a> {
    pub name: Option<&'a ClientName>,
    /// `Some(None)` clears the date of birth.
    pub date_of_birth: Option<Option<&'a DateOfBirth>>,
    pub status: Option<ClientStatus>,
}

pub async fn update_client(store: &Store, ctx: &Ctx, access: &RecordAccess, ch: ClientChanges<'_>) -> Result<ClientRecord, StoreError> {
    let practice_id = access.practice_id();
    let sid = access.client_id().to_string();
    let mut tx = store.begin().await?;
    let key = data_key(store, &mut *tx, practice_id, &sid).await?;
    let mut fields: Vec<&str> = Vec::new();
    if let Some(name) = ch.name {
        let ct = key.seal_str(name.as_str(), &field_aad("clients", "name_ct", &sid))?;
        sqlx::query("UPDATE clients SET name_ct = $1 WHERE id = $2 AND practice_id = $3")
            .bind(ct)
            .bind(&sid)
            .bind(practice_id.to_string())
            .execute(&mut *tx)
            .await?;
        write_name_index(store, &mut tx, practice_id, &sid, name).await?;
        fields.push("name");
    }
    if let Some(dob) = ch.date_of_birth {
        let ct = seal_opt(&key, dob.map(DateOfBirth::to_iso).as_deref(), &field_aad("clients", "date_of_birth_ct", &sid))?;
        sqlx::query("UPDATE clients SET date_of_birth_ct = $1 WHERE id = $2 AND practice_id = $3")
            .bind(ct)
            .bind(&sid)
            .bind(practice_id.to_string())
            .execute(&mut *tx)
            .await?;
        fields.push("date_of_birth");
    }
    if let Some(status) = ch.status {
        sqlx::query("UPDATE clients SET status = $1 WHERE id = $2 AND practice_id = $3")
            .bind(status.as_str())
            .bind(&sid)
            .bind(practice_id.to_string())
            .execute(&mut *tx)
            .await?;
        fields.push("status");
    }
    sqlx::query("UPDATE clients SET updated_at = $1, caseload_version = caseload_version + 1 WHERE id = $2 AND practice_id = $3")
        .bind(ctx.ts())
        .bind(&sid)
        .bind(practice_id.to_string())
        .execute(&mut *tx)
        .await?;
    let mut ev = record_event(ctx, access, "client.update", "client");
    ev.detail = format!("{} fields={}", ev.detail, fields.join(","));
    audit::append(&mut tx, &ev).await?;
    let rec = read_client(store, ctx, &mut tx, practice_id, access.client_id(), access.actor().user_id).await?;
    tx.commit().await?;
    Ok(rec)
}

/// Lists the clients a scope may see, optionally filtered by a name query (every query word
/// must match the start of a word of the name) and status (audited as one list entry).
pub async fn list_clients(
    store: &Store,
    ctx: &Ctx,
    scope: &CaseloadScope,
    query: Option<&str>,
    include_archived: bool,
) -> Result<Vec<ClientSummary>, StoreError> {
    let listing = Listing::new(store, scope, query, include_archived);
    let now = format!("${}", listing.next_placeholder());
    let sql = format!(
        "SELECT c.id, c.status, c.name_ct, k.wrapped_key, c.data_version, c.caseload_version, \
           (SELECT COUNT(*) FROM client_sessions s WHERE s.practice_id = c.practice_id AND s.client_id = c.id AND s.attendance = 'attended') AS attended, \
           (SELECT MAX(s.starts_at) FROM client_sessions s WHERE s.practice_id = c.practice_id AND s.client_id = c.id AND s.starts_at <= {now}) AS last_at, \
           (SELECT MIN(s.starts_at) FROM client_sessions s WHERE s.practice_id = c.practice_id AND s.client_id = c.id AND s.starts_at > {now}) AS next_at \
         FROM clients c JOIN client_keys k ON k.client_id = c.id {}",
        listing.filter()
    );
    // Audited: the only dynamic parts are numbered placeholders and a count.
    let rows = listing.bind(sqlx::query(sqlx::AssertSqlSafe(sql))).bind(ctx.ts()).fetch_all(store.reads()).await?;
    let mut out = rows.iter().map(|r| summary_from(store, r)).collect::<Result<Vec<_>, _>>()?;
    out.sort_by_key(|c| c.name.to_lowercase());
    store.audit_read(ctx, listing.event(ctx, out.len())).await?;
    Ok(out)
}

/// Where a client's caseload row stands: the versions the database bumps with any change to
/// what the row shows (scores and sessions; schedules, prompts, name and status).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientStamp {
    pub id: ClientId,
    pub data_version: i64,
    pub caseload_version: i64,
}

/// The clients [`list_clients`] would list, with their versions only: no names, no counts, so
/// one cheap query. A caller that serves the rows from memory because every stamp still matches
/// audits that read with [`audit_cached_caseload`]; this listing alone reveals no client data.
///
/// The stamps come back aggregated into one row (`id data_version caseload_version`, comma
/// separated; `string_agg` on both engines): the caseload asks for them on every page, and a
/// result of a hundred rows cost a hundred hand-offs between SQLite's worker thread and the
/// request (sqlx sends rows one at a time through a bounded channel) and a hundred row
/// conversions, most of a cached caseload's cost (bench/README.md, eleventh session).
pub async fn client_stamps(
    store: &Store,
    scope: &CaseloadScope,
    query: Option<&str>,
    include_archived: bool,
) -> Result<Vec<ClientStamp>, StoreError> {
    let listing = Listing::new(store, scope, query, include_archived);
    let sql = format!(
        "SELECT string_agg(c.id || ' ' || c.data_version || ' ' || c.caseload_version, ',') AS stamps FROM clients c {}",
        listing.filter()
    );
    // Audited: the only dynamic parts are numbered placeholders and a count.
    let row = listing.bind(sqlx::query(sqlx::AssertSqlSafe(sql))).fetch_one(store.reads()).await?;
    let stamps: Option<String> = row.try_get("stamps")?;
    stamps.as_deref().map_or(Ok(Vec::new()), parse_stamps)
}

/// `id data_version caseload_version` triples, comma separated, as [`client_stamps`] reads them.
fn parse_stamps(s: &str) -> Result<Vec<ClientStamp>, StoreError> {
    let corrupt = || StoreError::Invalid("corrupt client stamp in the caseload listing".into());
    s.split(',')
        .map(|triple| {
            let mut parts = triple.split(' ');
            let (Some(id), Some(data), Some(caseload), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
                return Err(corrupt());
            };
            Ok(ClientStamp {
                id: id.parse().map_err(|_| corrupt())?,
                data_version: data.parse().map_err(|_| corrupt())?,
                caseload_version: caseload.parse().map_err(|_| corrupt())?,
            })
        })
        .collect()
}

/// What a caseload served from memory showed, for its audit entries.
#[derive(Debug, Clone, Copy)]
pub struct CachedCaseload {
    pub listed: usize,
    pub searched: bool,
    pub overdue: usize,
    pub prompts: usize,
}

/// Audits a caseload the page served from its in-memory rows (`web::view_cache`) after
/// [`client_stamps`] showed nothing had changed: the same entries as the reads it stands for
/// (client list, overdue list, prompts), each marked `cached`. Scores have their own entry
/// (`measures::audit_cached_caseload_scores`).
pub async fn audit_cached_caseload(store: &Store, ctx: &Ctx, scope: &CaseloadScope, seen: CachedCaseload) -> Result<(), StoreError> {
    let practice = scope.practice_id().to_string();
    let actor = scope.actor();
    let entry = |action: &'static str, kind: &'static str, detail: String| {
        let mut ev = ctx.event(Some(&actor), &practice, action, kind);
        ev.detail = format!("{detail} cached");
        ev
    };
    for ev in [
        entry(listing_action(scope), "client_list", format!("count={} search={}", seen.listed, seen.searched)),
        entry("measures.overdue_list", "client_list", format!("count={} whole_practice={}", seen.overdue, scope.whole_practice())),
        entry("prompt.caseload_list", "client_list", format!("count={}", seen.prompts)),
    ] {
        store.audit_read(ctx, ev).await?;
    }
    Ok(())
}

fn listing_action(scope: &CaseloadScope) -> &'static str {
    if scope.whole_practice() { "directory.list" } else { "caseload.list" }
}

/// The clients a caseload scope lists: its filter (practice, care team unless the whole
/// practice, status, name-search tokens) as SQL and the values it binds, in order.
struct Listing<'a> {
    scope: &'a CaseloadScope,
    practice: String,
    user: String,
    include_archived: bool,
    tokens: Vec<String>,
}

impl<'a> Listing<'a> {
    fn new(store: &Store, scope: &'a CaseloadScope, query: Option<&str>, include_archived: bool) -> Self {
        let practice = scope.practice_id().to_string();
        let tokens = query.map(query_tokens).unwrap_or_default().iter().map(|t| store.key().search_token(&practice, t)).collect();
        Listing { scope, user: scope.actor().user_id.to_string(), practice, include_archived, tokens }
    }

    /// `WHERE …` over `clients c`: $1 practice, $2 user, $3 whole practice, $4 archived too,
    /// then one placeholder per search token. Values are always bound, never spliced.
    fn filter(&self) -> String {
        let mut sql = String::from(
            "WHERE c.practice_id = $1 AND ($3 = 1 OR EXISTS (SELECT 1 FROM care_team t WHERE t.client_id = c.id AND t.user_id = $2)) \
               AND ($4 = 1 OR c.status = 'active')",
        );
        if !self.tokens.is_empty() {
            let list: Vec<String> = (0..self.tokens.len()).map(|i| format!("${}", 5 + i)).collect();
            sql.push_str(&format!(
                " AND c.id IN (SELECT n.client_id FROM client_name_index n WHERE n.practice_id = $1 AND n.token IN ({}) GROUP BY n.client_id HAVING COUNT(DISTINCT n.token) = {})",
                list.join(", "),
                self.tokens.len()
            ));
        }
        sql
    }

    /// The number of the first placeholder after the filter's.
    fn next_placeholder(&self) -> usize {
        5 + self.tokens.len()
    }

    fn bind<'q>(
        &'q self,
        q: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments>,
    ) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments> {
        let mut q = q.bind(&self.practice).bind(&self.user).bind(flag(self.scope.whole_practice())).bind(flag(self.include_archived));
        for t in &self.tokens {
            q = q.bind(t);
        }
        q
    }

    fn event(&self, ctx: &Ctx, count: usize) -> audit::AuditEvent {
        let mut ev = ctx.event(Some(&self.scope.actor()), &self.practice, listing_action(self.scope), "client_list");
        ev.detail = format!("count={count} search={}", !self.tokens.is_empty());
        ev
    }
}

fn summary_from(store: &Store, r: &AnyRow) -> Result<ClientSummary, StoreError> {
    let id: ClientId = parse_id(r, "id")?;
    let sid = id.to_string();
    let wrapped: Vec<u8> = r.try_get("wrapped_key")?;
    let key = store.key().unwrap_data_key(&sid, &wrapped)?;
    let name_ct: Vec<u8> = r.try_get("name_ct")?;
    Ok(ClientSummary {
        id,
        name: key.open_str(&name_ct, &field_aad("clients", "name_ct", &sid))?,
        status: ClientStatus::parse(&r.try_get::<String, _>("status")?)?,
        attended_sessions: r.try_get("attended")?,
        last_session_at: r.try_get("last_at")?,
        next_session_at: r.try_get("next_at")?,
        data_version: r.try_get("data_version")?,
        caseload_version: r.try_get("caseload_version")?,
    })
}

// ---- care team ----------------------------------------------------------------------------

pub async fn care_team(store: &Store, ctx: &Ctx, access: &RecordAccess) -> Result<Vec<TeamMember>, StoreError> {
    let mut tx = store.begin_read().await?;
    let team = team_of(&mut *tx, access.practice_id(), access.client_id()).await?;
    tx.commit().await?;
    store.audit_read(ctx, record_event(ctx, access, "care_team.read", "care_team")).await?;
    Ok(team)
}

/// The admin's view for managing a care team: the client's name and team.
pub async fn care_team_admin_view(store: &Store, ctx: &Ctx, access: &CareTeamAccess) -> Result<(String, Vec<TeamMember>), StoreError> {
    let mut tx = store.begin_read().await?;
    let rec = read_client(store, ctx, &mut tx, access.practice_id(), access.client_id(), access.actor().user_id).await?;
    tx.commit().await?;
    store.audit_read(ctx, client_event(ctx, &access.actor(), access.client_id(), "care_team.read", "care_team")).await?;
    Ok((rec.name, rec.care_team))
}

/// Adds a staff member of the same practice to the care team (idempotent).
pub async fn add_to_care_team(store: &Store, ctx: &Ctx, access: &CareTeamAccess, user_id: UserId) -> Result<(), StoreError> {
    let mut tx = store.begin().await?;
    let member = sqlx::query("SELECT 1 AS one FROM users WHERE id = $1 AND practice_id = $2 AND disabled = 0")
        .bind(user_id.to_string())
        .bind(access.practice_id().to_string())
        .fetch_optional(&mut *tx)
        .await?;
    if member.is_none() {
        return Err(StoreError::Invalid("no such staff member in this practice".into()));
    }
    insert_team_member(&mut tx, ctx, access.practice_id(), &access.client_id().to_string(), user_id, access.actor().user_id).await?;
    let mut ev = client_event(ctx, &access.actor(), access.client_id(), "care_team.add", "care_team");
    ev.detail = format!("user={user_id}");
    audit::append(&mut tx, &ev).await?;
    tx.commit().await?;
    Ok(())
}

pub async fn remove_from_care_team(store: &Store, ctx: &Ctx, access: &CareTeamAccess, user_id: UserId) -> Result<(), StoreError> {
    let mut tx = store.begin().await?;
    let r = sqlx::query("DELETE FROM care_team WHERE client_id = $1 AND user_id = $2 AND practice_id = $3")
        .bind(access.client_id().to_string())
        .bind(user_id.to_string())
        .bind(access.practice_id().to_string())
        .execute(&mut *tx)
        .await?;
    if r.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    let mut ev = client_event(ctx, &access.actor(), access.client_id(), "care_team.remove", "care_team");
    ev.detail = format!("user={user_id}");
    audit::append(&mut tx, &ev).await?;
    tx.commit().await?;
    Ok(())
}

// ---- sessions (appointments) --------------------------------------------------------------

pub async fn add_session(
    store: &Store,
    ctx: &Ctx,
    access: &RecordAccess,
    starts_at: OffsetDateTime,
    duration: DurationMinutes,
    attendance: Attendance,
) -> Result<SessionId, StoreError> {
    let ids = add_sessions(store, ctx, access, &[NewSession { starts_at, duration, attendance }]).await?;
    ids.into_iter().next().ok_or(StoreError::NotFound)
}

#[derive(Debug, Clone, Copy)]
pub struct NewSession {
    pub starts_at: OffsetDateTime,
    pub duration: DurationMinutes,
    pub attendance: Attendance,
}

/// Records sessions in one transaction, one audit entry each. An archived client takes no
/// new sessions until restored.
pub async fn add_sessions(store: &Store, ctx: &Ctx, access: &RecordAccess, sessions: &[NewSession]) -> Result<Vec<SessionId>, StoreError> {
    let mut tx = store.begin().await?;
    let status = sqlx::query("SELECT status FROM clients WHERE id = $1 AND practice_id = $2")
        .bind(access.client_id().to_string())
        .bind(access.practice_id().to_string())
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(StoreError::NotFound)?;
    if ClientStatus::parse(&status.try_get::<String, _>("status")?)? == ClientStatus::Archived {
        return Err(StoreError::Conflict("this client is archived; restore them before recording sessions".into()));
    }
    let mut ids = Vec::with_capacity(sessions.len());
    for s in sessions {
        let id: SessionId = ctx.new_id(SessionId::new_at);
        sqlx::query(
            "INSERT INTO client_sessions (id, practice_id, client_id, starts_at, duration_minutes, attendance, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(id.to_string())
        .bind(access.practice_id().to_string())
        .bind(access.client_id().to_string())
        .bind(s.starts_at.unix_timestamp())
        .bind(i64::from(s.duration.get()))
        .bind(s.attendance.as_str())
        .bind(access.actor().user_id.to_string())
        .bind(ctx.ts())
        .execute(&mut *tx)
        .await?;
        let mut ev = record_event(ctx, access, "session.create", "session");
        ev.record_id = Some(id.to_string());
        audit::append(&mut tx, &ev).await?;
        ids.push(id);
    }
    if !sessions.is_empty() {
        crate::prompts::mark_pending(&mut tx, ctx, access.practice_id(), access.client_id()).await?;
    }
    tx.commit().await?;
    Ok(ids)
}

pub async fn list_sessions(store: &Store, ctx: &Ctx, access: &RecordAccess) -> Result<Vec<SessionRow>, StoreError> {
    let rows = sqlx::query(
        "SELECT id, starts_at, duration_minutes, attendance FROM client_sessions WHERE client_id = $1 AND practice_id = $2 ORDER BY starts_at DESC",
    )
    .bind(access.client_id().to_string())
    .bind(access.practice_id().to_string())
    .fetch_all(store.reads())
    .await?;
    let out = rows
        .iter()
        .map(|r| {
            let a: String = r.try_get("attendance")?;
            Ok(SessionRow {
                id: parse_id(r, "id")?,
                starts_at: r.try_get("starts_at")?,
                duration_minutes: r.try_get("duration_minutes")?,
                attendance: a.parse().map_err(|_| StoreError::Invalid("corrupt attendance".into()))?,
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    store.audit_read(ctx, record_event(ctx, access, "session.list", "session")).await?;
    Ok(out)
}

/// Audits a read of a client's `count` sessions served from a view kept in memory (the record
/// page's), which [`list_sessions`] read earlier: every read of client data is logged.
pub async fn audit_cached_sessions(store: &Store, ctx: &Ctx, access: &RecordAccess, count: usize) -> Result<(), StoreError> {
    let mut ev = record_event(ctx, access, "session.list", "session");
    ev.detail = format!("basis={} count={count} cached", access.basis().as_str());
    store.audit_read(ctx, ev).await
}

// ---- break-glass --------------------------------------------------------------------------

pub const BREAK_GLASS_MAX: Duration = Duration::hours(4);

/// Grants time-limited emergency access to a client outside the actor's care team.
pub async fn grant_break_glass(
    store: &Store,
    ctx: &Ctx,
    actor: &Actor,
    client_id: ClientId,
    reason: &BreakGlassReason,
    ttl: Duration,
) -> Result<BreakGlassId, StoreError> {
    let facts = client_facts(store, ctx, actor, client_id).await?;
    if !policy::may_request_break_glass(actor, facts.as_ref()) {
        return Err(StoreError::NotFound);
    }
    let ttl = if ttl > BREAK_GLASS_MAX || ttl <= Duration::ZERO { BREAK_GLASS_MAX } else { ttl };
    let id: BreakGlassId = ctx.new_id(BreakGlassId::new_at);
    let mut tx = store.begin().await?;
    let key = data_key(store, &mut *tx, actor.practice_id, &client_id.to_string()).await?;
    let reason_ct = key.seal_str(reason.as_str(), &field_aad("break_glass", "reason_ct", &id.to_string()))?;
    sqlx::query("INSERT INTO break_glass (id, practice_id, client_id, user_id, reason_ct, granted_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7)")
        .bind(id.to_string())
        .bind(actor.practice_id.to_string())
        .bind(client_id.to_string())
        .bind(actor.user_id.to_string())
        .bind(reason_ct)
        .bind(ctx.ts())
        .bind((ctx.now + ttl).unix_timestamp())
        .execute(&mut *tx)
        .await?;
    let mut ev = client_event(ctx, actor, client_id, "break_glass.grant", "break_glass");
    ev.record_id = Some(id.to_string());
    ev.detail = format!("minutes={}", ttl.whole_minutes());
    audit::append(&mut tx, &ev).await?;
    tx.commit().await?;
    Ok(id)
}

#[derive(Debug, Clone)]
pub struct BreakGlassRow {
    pub id: BreakGlassId,
    pub client_id: ClientId,
    pub client_name: String,
    pub user_name: String,
    pub reason: String,
    pub granted_at: i64,
    pub expires_at: i64,
}

/// How many break-glass grants of the practice are active now (reads no client data).
pub async fn count_active_break_glass(store: &Store, ctx: &Ctx, access: &PracticeAdminAccess) -> Result<i64, StoreError> {
    let r = sqlx::query("SELECT COUNT(*) AS n FROM break_glass WHERE practice_id = $1 AND expires_at > $2")
        .bind(access.practice_id().to_string())
        .bind(ctx.ts())
        .fetch_one(store.reads())
        .await?;
    Ok(r.try_get("n")?)
}

/// Every break-glass grant of the practice, newest first, for admin review (audited).
pub async fn list_break_glass(store: &Store, ctx: &Ctx, access: &PracticeAdminAccess) -> Result<Vec<BreakGlassRow>, StoreError> {
    let practice = access.practice_id().to_string();
    let rows = sqlx::query(
        "SELECT b.id, b.client_id, b.reason_ct, b.granted_at, b.expires_at, u.name AS user_name, c.name_ct, k.wrapped_key \
         FROM break_glass b JOIN users u ON u.id = b.user_id JOIN clients c ON c.id = b.client_id JOIN client_keys k ON k.client_id = b.client_id \
         WHERE b.practice_id = $1 ORDER BY b.granted_at DESC LIMIT 500",
    )
    .bind(&practice)
    .fetch_all(store.reads())
    .await?;
    let out = rows
        .iter()
        .map(|r| {
            let id: BreakGlassId = parse_id(r, "id")?;
            let client_id: ClientId = parse_id(r, "client_id")?;
            let cid = client_id.to_string();
            let key = store.key().unwrap_data_key(&cid, &r.try_get::<Vec<u8>, _>("wrapped_key")?)?;
            Ok(BreakGlassRow {
                id,
                client_id,
                client_name: key.open_str(&r.try_get::<Vec<u8>, _>("name_ct")?, &field_aad("clients", "name_ct", &cid))?,
                user_name: r.try_get("user_name")?,
                reason: key.open_str(&r.try_get::<Vec<u8>, _>("reason_ct")?, &field_aad("break_glass", "reason_ct", &id.to_string()))?,
                granted_at: r.try_get("granted_at")?,
                expires_at: r.try_get("expires_at")?,
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    let mut ev = ctx.event(Some(&access.actor()), &practice, "break_glass.review", "break_glass");
    ev.detail = format!("count={}", out.len());
    store.audit_read(ctx, ev).await?;
    Ok(out)
}

// ---- erasure ------------------------------------------------------------------------------

/// Erases a client: their data key and every row that describes them. The audit chain keeps
/// the opaque id of what happened, never the content.
pub async fn erase_client(store: &Store, ctx: &Ctx, access: &ErasureAccess) -> Result<(), StoreError> {
    let sid = access.client_id().to_string();
    let practice = access.practice_id().to_string();
    let mut tx = store.begin().await?;
    for table in ["client_keys", "client_name_index", "care_team", "transcripts", "client_sessions", "break_glass"] {
        // Table names come from this fixed list, never from input.
        sqlx::query(sqlx::AssertSqlSafe(format!("DELETE FROM {table} WHERE client_id = $1 AND practice_id = $2")))
            .bind(&sid)
            .bind(&practice)
            .execute(&mut *tx)
            .await?;
    }
    let r = sqlx::query("DELETE FROM clients WHERE id = $1 AND practice_id = $2").bind(&sid).bind(&practice).execute(&mut *tx).await?;
    if r.rows_affected() != 1 {
        return Err(StoreError::NotFound);
    }
    audit::append(&mut tx, &client_event(ctx, &access.actor(), access.client_id(), "client.erase", "client")).await?;
    tx.commit().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::parse_stamps;

    #[test]
    fn stamps_parse_every_triple_and_refuse_anything_else() {
        let (a, b) = ("018c0afb-b73c-7d7f-ad27-8f1ed79efa04", "018c0afb-b73c-70e9-a335-39feadb9c963");
        let stamps = parse_stamps(&format!("{a} 3 7,{b} 12 0")).unwrap();
        let got: Vec<_> = stamps.iter().map(|s| (s.id.to_string(), s.data_version, s.caseload_version)).collect();
        assert_eq!(got, vec![(a.to_owned(), 3, 7), (b.to_owned(), 12, 0)]);
        for bad in ["", "x 1 2", &format!("{a} 1"), &format!("{a} 1 2 3"), &format!("{a} one 2"), &format!("{a} 1 2,")] {
            assert!(parse_stamps(bad).is_err(), "{bad:?}");
        }
    }
}
