//! Clinical prompts (issue 4): what the rules engine (`concord_domain::prompts`) raised for a
//! client, their lifecycle, and the practice's thresholds.
//!
//! **When rules run.** A write that can change a rule's outcome (a response, a session)
//! does two things in its own transaction: it opens any safety prompt the new response raises
//! (so a safety concern is never lost, whatever happens next), and it marks the client in
//! `prompt_pending`. The evaluator ([`evaluate_pending`], run by `concord serve` right after
//! such writes, and by `concord prompts sweep`) then reads the client's whole record outside
//! the write lock, runs every rule and opens the prompts whose keys it does not yet hold.
//! The sweep also handles what time alone changes: overdue measures and deferred prompts
//! whose date has come.
//!
//! **No duplicates.** A prompt is identified by its rule's key (see `domain::prompts`), and
//! `prompts_key` is a unique index: concurrent evaluations insert with `ON CONFLICT DO
//! NOTHING`, so at most one wins.
//!
//! **Audited.** `prompt.open` and `prompt.reopen` (by the rules engine: no actor),
//! `prompt.list`, `prompt.resolve`, `prompt.defer`, `prompt_settings.set`, and one
//! `prompts.sweep` entry per sweep on the system chain. The rules engine's own reads of a
//! record are not disclosures to anyone and are not audited one by one.
//!
//! **Encrypted.** The documented words of each transition (note, action, referred to) in
//! `prompt_events.detail_ct`. Evidence and explanations are built from scores and dates only.
//!
//! Security Invariant: a safety prompt is cleared only by staff with a documented action
//! (`domain::prompts::transition` refuses otherwise), and nothing time-based touches an open
//! or resolved prompt: prompts never silently expire.

use crate::accounts::parse_id;
use crate::clients::{data_key, record_access};
use crate::crypto::field_aad;
use crate::{Ctx, Store, StoreError, Tx, audit, placeholder, pow2_chunks, values_list};
use concord_domain::ids::{ClientId, PracticeId, PromptEventId, PromptId, UserId};
use concord_domain::measures::schedule::{Schedule, due};
use concord_domain::measures::score::Score;
use concord_domain::measures::{Flag, InstrumentId};
use concord_domain::policy::{Actor, RecordAccess};
use concord_domain::prompts::{
    Action, CheckIn, ClientRecordFacts, DeferredDecision, Evidence, FeedbackPoint, PromptCandidate, PromptConfig, PromptKind, PromptState,
    Response, ScheduleFact, ScorePoint, SessionFact, TimingContext, Urgency, evaluate, reopen_due, transition,
};
use concord_domain::values::{Attendance, format_date, parse_date};
use serde::{Deserialize, Serialize};
use sqlx::Row;
use sqlx::any::AnyRow;

/// The instrument whose responses are check-ins, and the one whose totals are the alliance.
const CHECKIN: &str = "checkin";
const FEEDBACK: &str = "session_feedback";

/// A stored prompt.
#[derive(Debug, Clone, Serialize)]
pub struct PromptRow {
    pub id: PromptId,
    pub client_id: ClientId,
    pub key: String,
    pub kind: PromptKind,
    pub urgency: Urgency,
    /// `open`, `resolved` or `deferred`.
    pub status: String,
    pub evidence: Evidence,
    pub explanation: String,
    pub timing: Option<TimingContext>,
    /// Whether the rule still fired at the latest evaluation (a prompt stays open until it
    /// is answered, even when its condition has cleared).
    pub condition_holds: bool,
    pub created_at: i64,
    pub evaluated_at: i64,
    pub deferred_until: Option<i64>,
    /// The documented response, once resolved.
    pub response: Option<String>,
    pub resolved_at: Option<i64>,
    pub resolved_by: Option<UserId>,
}

/// The words documented with a transition (sealed in `prompt_events.detail_ct`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventDetail {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub referred_to: Option<String>,
}

/// One transition of a prompt, for the timeline.
#[derive(Debug, Clone, Serialize)]
pub struct PromptEvent {
    pub prompt_id: PromptId,
    pub kind: PromptKind,
    pub event: String,
    pub response: Option<String>,
    pub detail: EventDetail,
    pub at: i64,
    pub actor_id: Option<UserId>,
}

const PROMPT_COLS: &str = "id, client_id, prompt_key, kind, urgency, state, evidence_json, explanation, timing_json, condition_holds, \
     created_at, evaluated_at, deferred_until, response, resolved_at, resolved_by";

fn corrupt(what: &str) -> StoreError {
    StoreError::Invalid(format!("corrupt stored prompt ({what})"))
}

fn prompt_from(r: &AnyRow) -> Result<PromptRow, StoreError> {
    let kind = PromptKind::parse(&r.try_get::<String, _>("kind")?).ok_or_else(|| corrupt("kind"))?;
    let urgency = match r.try_get::<String, _>("urgency")?.as_str() {
        "urgent" => Urgency::Urgent,
        "soon" => Urgency::Soon,
        "routine" => Urgency::Routine,
        _ => return Err(corrupt("urgency")),
    };
    let timing: Option<String> = r.try_get("timing_json")?;
    let resolved_by: Option<String> = r.try_get("resolved_by")?;
    Ok(PromptRow {
        id: parse_id(r, "id")?,
        client_id: parse_id(r, "client_id")?,
        key: r.try_get("prompt_key")?,
        kind,
        urgency,
        status: r.try_get("state")?,
        evidence: serde_json::from_str(&r.try_get::<String, _>("evidence_json")?).map_err(|_| corrupt("evidence"))?,
        explanation: r.try_get("explanation")?,
        timing: timing.map(|t| serde_json::from_str(&t).map_err(|_| corrupt("timing"))).transpose()?,
        condition_holds: r.try_get::<i64, _>("condition_holds")? != 0,
        created_at: r.try_get("created_at")?,
        evaluated_at: r.try_get("evaluated_at")?,
        deferred_until: r.try_get("deferred_until")?,
        response: r.try_get("response")?,
        resolved_at: r.try_get("resolved_at")?,
        resolved_by: resolved_by.map(|u| u.parse().map_err(|_| corrupt("resolved_by"))).transpose()?,
    })
}

fn system_event(ctx: &Ctx, practice_id: PracticeId, client_id: ClientId, action: &'static str, prompt: &str) -> audit::AuditEvent {
    let mut ev = ctx.event(None, &practice_id.to_string(), action, "prompt");
    ev.client_id = Some(client_id.to_string());
    ev.record_id = Some(prompt.to_owned());
    ev
}

fn staff_event(ctx: &Ctx, access: &RecordAccess, action: &'static str, record_id: Option<String>) -> audit::AuditEvent {
    let mut ev = ctx.event(Some(&access.actor()), &access.practice_id().to_string(), action, "prompt");
    ev.client_id = Some(access.client_id().to_string());
    ev.record_id = record_id;
    ev.detail = format!("basis={}", access.basis().as_str());
    ev
}

fn detail_aad(event_id: &str) -> String {
    field_aad("prompt_events", "detail_ct", event_id)
}

// ---- settings ---------------------------------------------------------------------------

/// The practice's prompt thresholds (the defaults when it has set none).
pub async fn practice_config<'e, E>(exec: E, practice_id: PracticeId) -> Result<PromptConfig, StoreError>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    let row = sqlx::query("SELECT config_json FROM prompt_settings WHERE practice_id = $1")
        .bind(practice_id.to_string())
        .fetch_optional(exec)
        .await?;
    match row {
        None => Ok(PromptConfig::default()),
        Some(r) => serde_json::from_str(&r.try_get::<String, _>("config_json")?).map_err(|_| corrupt("settings")),
    }
}

/// Sets the practice's thresholds (admins; the caller holds a `PracticeAdminAccess`).
pub async fn set_practice_config(
    store: &Store,
    ctx: &Ctx,
    access: &concord_domain::policy::PracticeAdminAccess,
    config: &PromptConfig,
) -> Result<(), StoreError> {
    config.validate().map_err(|e| StoreError::Invalid(e.to_string()))?;
    let json = serde_json::to_string(config).map_err(|e| StoreError::Invalid(e.to_string()))?;
    let mut tx = store.begin().await?;
    sqlx::query(
        "INSERT INTO prompt_settings (practice_id, config_json, updated_at, updated_by) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (practice_id) DO UPDATE SET config_json = excluded.config_json, updated_at = excluded.updated_at, updated_by = excluded.updated_by",
    )
    .bind(access.practice_id().to_string())
    .bind(&json)
    .bind(ctx.ts())
    .bind(access.actor().user_id.to_string())
    .execute(&mut *tx)
    .await?;
    let ev = ctx.event(Some(&access.actor()), &access.practice_id().to_string(), "prompt_settings.set", "practice");
    audit::append(&mut tx, &ev).await?;
    // New thresholds can change every rule's outcome: evaluate the practice's active clients.
    sqlx::query(
        "INSERT INTO prompt_pending (client_id, practice_id, since) SELECT id, practice_id, $2 FROM clients          WHERE practice_id = $1 AND status = 'active' ON CONFLICT (client_id) DO NOTHING",
    )
    .bind(access.practice_id().to_string())
    .bind(ctx.ts())
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

// ---- raising prompts ----------------------------------------------------------------------

/// Marks the client for evaluation, inside the caller's write transaction.
pub(crate) async fn mark_pending(tx: &mut Tx, ctx: &Ctx, practice_id: PracticeId, client_id: ClientId) -> Result<(), StoreError> {
    mark_pending_many(tx, ctx, &[(practice_id, client_id)]).await
}

/// [`mark_pending`] for many clients in one statement (a batch of new responses).
pub(crate) async fn mark_pending_many(tx: &mut Tx, ctx: &Ctx, clients: &[(PracticeId, ClientId)]) -> Result<(), StoreError> {
    for chunk in pow2_chunks(clients, INSERT_CHUNK) {
        let sql = format!(
            "INSERT INTO prompt_pending (client_id, practice_id, since) VALUES {} ON CONFLICT (client_id) DO NOTHING",
            values_list(tx.engine(), chunk.len(), 3)
        );
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for (p, c) in chunk {
            q = q.bind(c.to_string()).bind(p.to_string()).bind(ctx.ts());
        }
        q.execute(&mut **tx).await?;
    }
    Ok(())
}

/// Called inside the transaction that stores a new response (after [`mark_pending`]): opens the
/// safety prompt it raises, if any, at once rather than at the next evaluation.
pub(crate) async fn safety_after_response(
    tx: &mut Tx,
    ctx: &Ctx,
    practice_id: PracticeId,
    client_id: ClientId,
    score: &Score,
    completed_at: i64,
) -> Result<(), StoreError> {
    if !score.has_flag(Flag::SAFETY) && score.instrument.as_str() != "phq9" {
        return Ok(());
    }
    let config = practice_config(&mut **tx, practice_id).await?;
    let mut facts = ClientRecordFacts { now: ctx.ts().max(completed_at), ..Default::default() };
    if score.instrument.as_str() == CHECKIN {
        facts.check_ins.push(CheckIn::from_score(score, completed_at));
    } else {
        facts.scores.push(ScorePoint::from_score(score, completed_at));
    }
    let safety: Vec<PromptCandidate> = evaluate(&facts, &config).into_iter().filter(|c| c.kind == PromptKind::Safety).collect();
    for c in &safety {
        insert_candidate(tx, ctx, practice_id, client_id, c).await?;
    }
    Ok(())
}

/// Most rows per multi-row INSERT (well under SQLite's and PostgreSQL's bind-parameter limits).
const INSERT_CHUNK: usize = 128;

/// Opens a prompt for each candidate whose key its client does not hold yet, with its
/// `opened` event and `prompt.open` audit entry; returns how many were opened. Multi-row
/// INSERTs: the sweep opens thousands at once.
async fn open_prompts(tx: &mut Tx, ctx: &Ctx, items: &[(PracticeId, ClientId, &PromptCandidate)]) -> Result<u64, StoreError> {
    let mut opened: Vec<(PracticeId, ClientId, PromptId, &PromptCandidate)> = Vec::new();
    for chunk in pow2_chunks(items, INSERT_CHUNK) {
        let sql = format!(
            "INSERT INTO prompts (id, practice_id, client_id, prompt_key, kind, urgency, state, evidence_json, explanation, timing_json, \
               condition_holds, created_at, evaluated_at) VALUES {} ON CONFLICT (practice_id, client_id, prompt_key) DO NOTHING RETURNING id",
            values_list(tx.engine(), chunk.len(), 13)
        );
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        let mut ids = Vec::with_capacity(chunk.len());
        for (p, c, cand) in chunk {
            let id: PromptId = ctx.new_id(PromptId::new_at);
            let evidence = serde_json::to_string(&cand.evidence).map_err(|e| StoreError::Invalid(e.to_string()))?;
            let timing = cand.timing.as_ref().map(serde_json::to_string).transpose().map_err(|e| StoreError::Invalid(e.to_string()))?;
            q = q
                .bind(id.to_string())
                .bind(p.to_string())
                .bind(c.to_string())
                .bind(cand.key.clone())
                .bind(cand.kind.as_str())
                .bind(cand.urgency.as_str())
                .bind("open")
                .bind(evidence)
                .bind(cand.explanation.clone())
                .bind(timing)
                .bind(1_i64)
                .bind(ctx.ts())
                .bind(ctx.ts());
            ids.push(id);
        }
        // Only the rows actually inserted come back: a key already held is left alone.
        let inserted: std::collections::HashSet<String> =
            q.fetch_all(&mut **tx).await?.iter().map(|r| r.try_get::<String, _>("id")).collect::<Result<_, _>>()?;
        for ((p, c, cand), id) in chunk.iter().zip(ids) {
            if inserted.contains(&id.to_string()) {
                opened.push((*p, *c, id, *cand));
            }
        }
    }
    let events: Vec<(PracticeId, ClientId, PromptId, &str)> = opened.iter().map(|(p, c, id, _)| (*p, *c, *id, "opened")).collect();
    insert_system_events(tx, ctx, &events).await?;
    let entries: Vec<audit::AuditEvent> = opened
        .iter()
        .map(|(p, c, id, cand)| {
            let mut ev = system_event(ctx, *p, *c, "prompt.open", &id.to_string());
            ev.detail = format!("kind={} urgency={}", cand.kind.as_str(), cand.urgency.as_str());
            ev
        })
        .collect();
    audit::append_many(tx, entries.iter()).await?;
    Ok(opened.len() as u64)
}

/// Opens a prompt for `c` unless its key is already held; audits an opening.
async fn insert_candidate(
    tx: &mut Tx,
    ctx: &Ctx,
    practice_id: PracticeId,
    client_id: ClientId,
    c: &PromptCandidate,
) -> Result<bool, StoreError> {
    Ok(open_prompts(tx, ctx, &[(practice_id, client_id, c)]).await? == 1)
}

/// The rules engine's transitions (`opened`, `reopened`: no actor, no words), many at once.
async fn insert_system_events(tx: &mut Tx, ctx: &Ctx, events: &[(PracticeId, ClientId, PromptId, &str)]) -> Result<(), StoreError> {
    for chunk in pow2_chunks(events, INSERT_CHUNK) {
        let sql = format!(
            "INSERT INTO prompt_events (id, practice_id, client_id, prompt_id, event, at) VALUES {}",
            values_list(tx.engine(), chunk.len(), 6)
        );
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for (p, c, prompt, event) in chunk {
            let id: PromptEventId = ctx.new_id(PromptEventId::new_at);
            q = q.bind(id.to_string()).bind(p.to_string()).bind(c.to_string()).bind(prompt.to_string()).bind(*event).bind(ctx.ts());
        }
        q.execute(&mut **tx).await?;
    }
    Ok(())
}

/// Everything the rules read about one client, at `now` (no items, no free text: the safety
/// rule reads the stored `safety` flag). Check-ins without a flag are left out: only the
/// safety rule reads check-ins, and only those answered yes (flagged), while daily check-ins
/// are most of a record's rows. The rules' outcome is the same either way (tested).
pub async fn load_facts(tx: &mut Tx, practice_id: PracticeId, client_id: ClientId, now: i64) -> Result<ClientRecordFacts, StoreError> {
    let (p, c) = (practice_id.to_string(), client_id.to_string());
    let rows = sqlx::query(
        "SELECT instrument_id, completed_at, total, band_id, flags_json FROM measure_responses \
         WHERE practice_id = $1 AND client_id = $2 AND completed_at <= $3 AND (instrument_id <> $4 OR flags_json <> '[]')",
    )
    .bind(&p)
    .bind(&c)
    .bind(now)
    .bind(CHECKIN)
    .fetch_all(&mut **tx)
    .await?;
    let mut facts = ClientRecordFacts { now, ..Default::default() };
    for r in &rows {
        let instrument: String = r.try_get("instrument_id")?;
        let at: i64 = r.try_get("completed_at")?;
        let total: Option<i64> = r.try_get("total")?;
        let total = total.map(|t| i32::try_from(t).map_err(|_| corrupt("total"))).transpose()?;
        let flags: Vec<Flag> = serde_json::from_str(&r.try_get::<String, _>("flags_json")?).map_err(|_| corrupt("flags"))?;
        match instrument.as_str() {
            CHECKIN => facts.check_ins.push(CheckIn { completed_at: at, harm_thoughts: flags.iter().any(|f| f.as_str() == Flag::SAFETY) }),
            FEEDBACK => {
                if let Some(total) = total {
                    facts.feedback.push(FeedbackPoint { completed_at: at, total });
                }
            }
            _ => {
                let band_id: Option<String> = r.try_get("band_id")?;
                facts.scores.push(ScorePoint {
                    instrument: InstrumentId::parse(&instrument).map_err(|_| corrupt("instrument"))?,
                    completed_at: at,
                    total,
                    band: band_id.map(|id| concord_domain::measures::score::BandRef { label: id.replace('_', " "), id }),
                    items: Vec::new(),
                    flags,
                })
            }
        }
    }
    let sessions = sqlx::query("SELECT starts_at, attendance FROM client_sessions WHERE practice_id = $1 AND client_id = $2")
        .bind(&p)
        .bind(&c)
        .fetch_all(&mut **tx)
        .await?;
    for r in &sessions {
        let attendance: Attendance = r.try_get::<String, _>("attendance")?.parse().map_err(|_| corrupt("attendance"))?;
        facts.sessions.push(SessionFact { starts_at: r.try_get("starts_at")?, attendance });
    }
    facts.schedules = schedule_facts(tx, practice_id, client_id, &facts.sessions, now).await?;
    let deferred = sqlx::query(
        "SELECT id, revisit_on FROM decisions WHERE practice_id = $1 AND client_id = $2 AND status = 'deferred' AND revisit_on IS NOT NULL",
    )
    .bind(&p)
    .bind(&c)
    .fetch_all(&mut **tx)
    .await?;
    for r in &deferred {
        let day = parse_date(&r.try_get::<String, _>("revisit_on")?).ok_or_else(|| corrupt("revisit_on"))?;
        facts
            .deferred_decisions
            .push(DeferredDecision { decision_id: r.try_get("id")?, revisit_at: day.midnight().assume_utc().unix_timestamp() });
    }
    Ok(facts)
}

/// The client's active schedules with their due state at `now`.
async fn schedule_facts(
    tx: &mut Tx,
    practice_id: PracticeId,
    client_id: ClientId,
    sessions: &[SessionFact],
    now: i64,
) -> Result<Vec<ScheduleFact>, StoreError> {
    let rows = sqlx::query(
        "SELECT s.instrument_id, s.frequency, s.starts_at, \
           (SELECT MAX(r.completed_at) FROM measure_responses r WHERE r.practice_id = s.practice_id AND r.client_id = s.client_id AND r.instrument_id = s.instrument_id) AS last_at \
         FROM measure_schedules s WHERE s.practice_id = $1 AND s.client_id = $2 AND s.ended_at IS NULL",
    )
    .bind(practice_id.to_string())
    .bind(client_id.to_string())
    .fetch_all(&mut **tx)
    .await?;
    let mut attended: Vec<i64> =
        sessions.iter().filter(|s| s.attendance == Attendance::Attended && s.starts_at <= now).map(|s| s.starts_at).collect();
    attended.sort_unstable();
    let next = sessions.iter().filter(|s| s.attendance == Attendance::Scheduled && s.starts_at > now).map(|s| s.starts_at).min();
    let mut out = Vec::new();
    for r in &rows {
        let frequency = concord_domain::measures::schedule::Frequency::parse(&r.try_get::<String, _>("frequency")?)
            .ok_or_else(|| corrupt("frequency"))?;
        let starts_at: i64 = r.try_get("starts_at")?;
        let last: Option<i64> = r.try_get("last_at")?;
        let instrument = InstrumentId::parse(&r.try_get::<String, _>("instrument_id")?).map_err(|_| corrupt("instrument"))?;
        let attended_since: Vec<i64> = attended.iter().copied().filter(|a| *a >= starts_at).collect();
        out.push(ScheduleFact { instrument, frequency, due: due(&Schedule { frequency, starts_at }, &attended_since, next, last, now) });
    }
    Ok(out)
}

/// What one evaluation did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct EvaluationReport {
    pub clients: u64,
    pub opened: u64,
    pub reopened: u64,
}

impl std::ops::AddAssign for EvaluationReport {
    fn add_assign(&mut self, o: Self) {
        self.clients += o.clients;
        self.opened += o.opened;
        self.reopened += o.reopened;
    }
}

/// What an evaluation of one client's record calls for, computed outside the write lock and
/// applied later by [`apply_plans`] (whose statements are guarded against what changed since).
struct Plan {
    practice_id: PracticeId,
    client_id: ClientId,
    /// Candidates whose keys the client does not hold.
    open: Vec<PromptCandidate>,
    /// Deferred prompts whose date has come while their condition still holds.
    reopen: Vec<PromptId>,
    /// Open or deferred prompts whose condition changed (id, holds now).
    holds: Vec<(String, bool)>,
}

/// Reads one client's record at `ctx.now` (its own read transaction) and runs every rule.
async fn plan_client(store: &Store, ctx: &Ctx, practice_id: PracticeId, client_id: ClientId) -> Result<Plan, StoreError> {
    let now = ctx.ts();
    let mut read = store.begin_read().await?;
    let config = practice_config(&mut *read, practice_id).await?;
    let facts = load_facts(&mut read, practice_id, client_id, now).await?;
    let held = sqlx::query(
        "SELECT id, prompt_key, kind, state, deferred_until, condition_holds FROM prompts WHERE practice_id = $1 AND client_id = $2",
    )
    .bind(practice_id.to_string())
    .bind(client_id.to_string())
    .fetch_all(&mut *read)
    .await?;
    read.commit().await?;
    let candidates = evaluate(&facts, &config);
    let mut plan = Plan { practice_id, client_id, open: Vec::new(), reopen: Vec::new(), holds: Vec::new() };
    let mut held_keys = std::collections::HashSet::with_capacity(held.len());
    for h in &held {
        let key: String = h.try_get("prompt_key")?;
        let state: String = h.try_get("state")?;
        let holds = candidates.iter().any(|c| c.key == key);
        held_keys.insert(key);
        if state == "resolved" {
            continue;
        }
        let id: String = h.try_get("id")?;
        if state == "deferred" {
            let kind = PromptKind::parse(&h.try_get::<String, _>("kind")?).ok_or_else(|| corrupt("kind"))?;
            let until: Option<i64> = h.try_get("deferred_until")?;
            if reopen_due(&PromptState::Deferred { until: until.unwrap_or(0) }, kind, now, holds).is_open() {
                plan.reopen.push(id.parse().map_err(|_| corrupt("id"))?);
                continue;
            }
        }
        if (h.try_get::<i64, _>("condition_holds")? != 0) != holds {
            plan.holds.push((id, holds));
        }
    }
    plan.open = candidates.into_iter().filter(|c| !held_keys.contains(&c.key)).collect();
    Ok(plan)
}

/// Brings the planned clients' prompts up to date in the caller's transaction: opens new
/// keys, reopens deferred prompts whose date has come, records whether each open or deferred
/// prompt's condition still holds, and clears the clients' pending marks (those made before
/// `now`: a write since then marks the client again).
async fn apply_plans(tx: &mut Tx, ctx: &Ctx, plans: &[Plan]) -> Result<EvaluationReport, StoreError> {
    let now = ctx.ts();
    let mut report = EvaluationReport { clients: plans.len() as u64, ..Default::default() };
    let opening: Vec<(PracticeId, ClientId, &PromptCandidate)> =
        plans.iter().flat_map(|p| p.open.iter().map(|c| (p.practice_id, p.client_id, c))).collect();
    report.opened = open_prompts(tx, ctx, &opening).await?;
    let mut reopened = Vec::new();
    let mut entries = Vec::new();
    for plan in plans {
        for id in &plan.reopen {
            let done = sqlx::query(
                "UPDATE prompts SET state = 'open', deferred_until = NULL, condition_holds = 1, evaluated_at = $1 WHERE id = $2 AND state = 'deferred'",
            )
            .bind(now)
            .bind(id.to_string())
            .execute(&mut **tx)
            .await?
            .rows_affected()
                == 1;
            if done {
                reopened.push((plan.practice_id, plan.client_id, *id, "reopened"));
                entries.push(system_event(ctx, plan.practice_id, plan.client_id, "prompt.reopen", &id.to_string()));
            }
        }
        for (id, holds) in &plan.holds {
            sqlx::query("UPDATE prompts SET condition_holds = $1, evaluated_at = $2 WHERE id = $3 AND state <> 'resolved'")
                .bind(i64::from(*holds))
                .bind(now)
                .bind(id)
                .execute(&mut **tx)
                .await?;
        }
    }
    report.reopened = reopened.len() as u64;
    insert_system_events(tx, ctx, &reopened).await?;
    audit::append_many(tx, entries.iter()).await?;
    for chunk in pow2_chunks(plans, INSERT_CHUNK) {
        // `(…)` of one row: the IN list; the mark's time binds last.
        let sql = format!(
            "DELETE FROM prompt_pending WHERE client_id IN {} AND since <= {}",
            values_list(tx.engine(), 1, chunk.len()),
            placeholder(tx.engine(), chunk.len() + 1)
        );
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for plan in chunk {
            q = q.bind(plan.client_id.to_string());
        }
        q.bind(now).execute(&mut **tx).await?;
    }
    Ok(report)
}

/// Runs every rule for one client at `ctx.now` and brings their prompts up to date (see
/// [`apply_plans`]). Reads outside the write lock.
pub async fn evaluate_client(
    store: &Store,
    ctx: &Ctx,
    practice_id: PracticeId,
    client_id: ClientId,
) -> Result<EvaluationReport, StoreError> {
    let plan = plan_client(store, ctx, practice_id, client_id).await?;
    apply_batch(store, ctx, std::slice::from_ref(&plan)).await
}

/// Evaluates the clients' whole records: several reads at a time on separate connections,
/// and the resulting writes [`EVALUATION_BATCH`] clients per transaction (one commit, and so
/// one fsync on SQLite, per batch rather than per client).
async fn evaluate_clients(store: &Store, ctx: &Ctx, clients: Vec<(PracticeId, ClientId)>) -> Result<EvaluationReport, StoreError> {
    let mut report = EvaluationReport::default();
    let mut todo = clients.into_iter();
    let mut running = tokio::task::JoinSet::new();
    let mut ready: Vec<Plan> = Vec::new();
    loop {
        while running.len() < SWEEP_CONCURRENCY {
            let Some((p, c)) = todo.next() else { break };
            let (store, ctx) = (store.clone(), ctx.clone());
            running.spawn(async move { plan_client(&store, &ctx, p, c).await });
        }
        let Some(done) = running.join_next().await else { break };
        ready.push(done.map_err(|e| StoreError::Unavailable(format!("evaluation stopped: {e}")))??);
        if ready.len() >= EVALUATION_BATCH {
            report += apply_batch(store, ctx, &ready).await?;
            ready.clear();
        }
    }
    if !ready.is_empty() {
        report += apply_batch(store, ctx, &ready).await?;
    }
    Ok(report)
}

async fn apply_batch(store: &Store, ctx: &Ctx, plans: &[Plan]) -> Result<EvaluationReport, StoreError> {
    let mut tx = store.begin().await?;
    let report = apply_plans(&mut tx, ctx, plans).await?;
    tx.commit().await?;
    Ok(report)
}

/// Evaluates up to `limit` clients marked pending (oldest mark first).
pub async fn evaluate_pending(store: &Store, ctx: &Ctx, limit: i64) -> Result<EvaluationReport, StoreError> {
    let rows = sqlx::query("SELECT client_id, practice_id FROM prompt_pending ORDER BY since LIMIT $1")
        .bind(limit)
        .fetch_all(store.reads())
        .await?;
    let clients =
        rows.iter().map(|r| Ok((parse_id(r, "practice_id")?, parse_id(r, "client_id")?))).collect::<Result<Vec<_>, StoreError>>()?;
    evaluate_clients(store, ctx, clients).await
}

/// What a sweep did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct SweepReport {
    /// Active clients looked at for time-based rules.
    pub clients_checked: u64,
    /// Clients the sweep acted on: whole records (pending, deferral due) and clients with a
    /// newly overdue measure.
    pub clients_evaluated: u64,
    pub opened: u64,
    pub reopened: u64,
}

/// The sweep for time-based rules (`concord prompts sweep`), idempotent: evaluates every
/// client marked pending, every client with a deferred prompt whose date has come and every
/// client with a deferred decision whose revisit day has come (their whole record), and opens
/// the overdue-measure prompts that time alone has made due. Running it twice opens nothing
/// the second time.
///
/// Why overdue clients need no full evaluation: every write that can change a rule's outcome
/// marks its client pending (responses, sessions, schedules, thresholds, decisions), so for a
/// client not pending, the only rules whose outcome moves with the clock are the overdue rule
/// (its due dates), which the schedule pass below computes, and the revisit day of a deferred
/// decision, found by the query above it. (A session or score dated in the future
/// counts from its date; it is picked up by the next evaluation of that client.)
pub async fn sweep(store: &Store, ctx: &Ctx) -> Result<SweepReport, StoreError> {
    let now = ctx.ts();
    let mut todo: std::collections::BTreeSet<(String, String)> = std::collections::BTreeSet::new();
    for r in sqlx::query("SELECT practice_id, client_id FROM prompt_pending").fetch_all(store.reads()).await? {
        todo.insert((r.try_get("practice_id")?, r.try_get("client_id")?));
    }
    for r in sqlx::query("SELECT DISTINCT practice_id, client_id FROM prompts WHERE state = 'deferred' AND deferred_until <= $1")
        .bind(now)
        .fetch_all(store.reads())
        .await?
    {
        todo.insert((r.try_get("practice_id")?, r.try_get("client_id")?));
    }
    // Deferred decisions whose revisit day has come and whose prompt is not held yet.
    let today = time::OffsetDateTime::from_unix_timestamp(now).map(|t| format_date(t.date())).map_err(|_| corrupt("now"))?;
    for r in sqlx::query(
        "SELECT d.practice_id, d.client_id FROM decisions d JOIN clients c ON c.id = d.client_id AND c.practice_id = d.practice_id \
         WHERE d.status = 'deferred' AND d.revisit_on <= $1 AND c.status = 'active' AND NOT EXISTS (SELECT 1 FROM prompts p \
           WHERE p.practice_id = d.practice_id AND p.client_id = d.client_id AND p.prompt_key = 'decision_revisit:' || d.id || ':' || d.revisit_on)",
    )
    .bind(&today)
    .fetch_all(store.reads())
    .await?
    {
        todo.insert((r.try_get("practice_id")?, r.try_get("client_id")?));
    }
    let (checked, overdue) = overdue_clients(store, now).await?;
    let mut report = SweepReport { clients_checked: checked, ..Default::default() };

    // Overdue measures of clients whose record has not changed: open the overdue prompts
    // directly, many clients per transaction.
    let config = PromptConfig::default();
    let mut batch: Vec<(PracticeId, ClientId, PromptCandidate)> = Vec::new();
    let mut clients = overdue.into_iter().filter(|(pc, _)| !todo.contains(pc)).peekable();
    while clients.peek().is_some() {
        for ((p, c), schedules) in clients.by_ref().take(SWEEP_BATCH) {
            let (practice, client): (PracticeId, ClientId) =
                (p.parse().map_err(|_| corrupt("practice"))?, c.parse().map_err(|_| corrupt("client"))?);
            let facts = ClientRecordFacts { now, schedules, ..Default::default() };
            batch.extend(
                evaluate(&facts, &config).into_iter().filter(|k| k.kind == PromptKind::OverdueMeasure).map(|k| (practice, client, k)),
            );
            report.clients_evaluated += 1;
        }
        let items: Vec<(PracticeId, ClientId, &PromptCandidate)> = batch.iter().map(|(p, c, k)| (*p, *c, k)).collect();
        let mut tx = store.begin().await?;
        report.opened += open_prompts(&mut tx, ctx, &items).await?;
        tx.commit().await?;
        batch.clear();
    }

    // Whole records: pending clients and deferrals come due.
    let todo = todo
        .iter()
        .map(|(p, c)| Ok((p.parse().map_err(|_| corrupt("practice"))?, c.parse().map_err(|_| corrupt("client"))?)))
        .collect::<Result<Vec<(PracticeId, ClientId)>, StoreError>>()?;
    let e = evaluate_clients(store, ctx, todo).await?;
    report.clients_evaluated += e.clients;
    report.opened += e.opened;
    report.reopened += e.reopened;
    let mut tx = store.begin().await?;
    let mut ev = ctx.event(None, audit::SYSTEM_CHAIN, "prompts.sweep", "prompt");
    ev.detail = format!(
        "checked={} evaluated={} opened={} reopened={}",
        report.clients_checked, report.clients_evaluated, report.opened, report.reopened
    );
    audit::append(&mut tx, &ev).await?;
    tx.commit().await?;
    Ok(report)
}

/// How many clients' records are read at once (a few per core of a small server).
const SWEEP_CONCURRENCY: usize = 4;
/// How many overdue-only clients the sweep handles per write transaction.
const SWEEP_BATCH: usize = 500;
/// How many evaluated clients' writes go in one transaction.
const EVALUATION_BATCH: usize = 100;

/// Active clients with an active schedule (the count), and, per client with an overdue
/// measure whose overdue prompt is not held yet, the overdue schedules. One pass over
/// schedules (index seeks for the latest response) and one over the overdue keys already
/// held, plus sessions only for every-session schedules.
async fn overdue_clients(
    store: &Store,
    now: i64,
) -> Result<(u64, std::collections::BTreeMap<(String, String), Vec<ScheduleFact>>), StoreError> {
    let mut tx = store.begin_read().await?;
    let rows = sqlx::query(
        "SELECT s.practice_id, s.client_id, s.instrument_id, s.frequency, s.starts_at, \
           (SELECT MAX(r.completed_at) FROM measure_responses r WHERE r.practice_id = s.practice_id AND r.client_id = s.client_id AND r.instrument_id = s.instrument_id) AS last_at \
         FROM measure_schedules s JOIN clients c ON c.id = s.client_id AND c.practice_id = s.practice_id \
         WHERE s.ended_at IS NULL AND c.status = 'active' ORDER BY s.practice_id, s.client_id",
    )
    .fetch_all(&mut *tx)
    .await?;
    // Overdue keys are few per client (one per lapse), so all of them fit in memory.
    let mut held = std::collections::HashSet::new();
    for r in sqlx::query("SELECT practice_id, client_id, prompt_key FROM prompts WHERE kind = $1")
        .bind(PromptKind::OverdueMeasure.as_str())
        .fetch_all(&mut *tx)
        .await?
    {
        held.insert((r.try_get::<String, _>("practice_id")?, r.try_get::<String, _>("client_id")?, r.try_get::<String, _>("prompt_key")?));
    }
    let mut clients = std::collections::BTreeSet::new();
    let mut out: std::collections::BTreeMap<(String, String), Vec<ScheduleFact>> = std::collections::BTreeMap::new();
    for r in &rows {
        let p: String = r.try_get("practice_id")?;
        let c: String = r.try_get("client_id")?;
        clients.insert(c.clone());
        let frequency = concord_domain::measures::schedule::Frequency::parse(&r.try_get::<String, _>("frequency")?)
            .ok_or_else(|| corrupt("frequency"))?;
        let starts_at: i64 = r.try_get("starts_at")?;
        let last: Option<i64> = r.try_get("last_at")?;
        let (attended, next) = if frequency == concord_domain::measures::schedule::Frequency::EverySession {
            let srows = sqlx::query(
                "SELECT starts_at, attendance FROM client_sessions WHERE practice_id = $1 AND client_id = $2 AND starts_at >= $3",
            )
            .bind(&p)
            .bind(&c)
            .bind(starts_at)
            .fetch_all(&mut *tx)
            .await?;
            let mut attended = Vec::new();
            let mut next: Option<i64> = None;
            for s in &srows {
                let at: i64 = s.try_get("starts_at")?;
                match s.try_get::<String, _>("attendance")?.as_str() {
                    "attended" if at <= now => attended.push(at),
                    "scheduled" if at > now => next = Some(next.map_or(at, |n| n.min(at))),
                    _ => {}
                }
            }
            attended.sort_unstable();
            (attended, next)
        } else {
            (Vec::new(), None)
        };
        let d = due(&Schedule { frequency, starts_at }, &attended, next, last, now);
        if let (true, Some(since)) = (d.overdue, d.overdue_from) {
            let instrument: String = r.try_get("instrument_id")?;
            let key = format!("overdue_measure:{instrument}:{}", d.due_at.unwrap_or(since));
            if !held.contains(&(p.clone(), c.clone(), key)) {
                let instrument = InstrumentId::parse(&instrument).map_err(|_| corrupt("instrument"))?;
                out.entry((p, c)).or_default().push(ScheduleFact { instrument, frequency, due: d });
            }
        }
    }
    tx.commit().await?;
    Ok((clients.len() as u64, out))
}

// ---- reading and resolving ------------------------------------------------------------------

/// Which prompts to list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusFilter {
    All,
    Open,
    Deferred,
    Resolved,
}

impl StatusFilter {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "all" => Some(StatusFilter::All),
            "open" => Some(StatusFilter::Open),
            "deferred" => Some(StatusFilter::Deferred),
            "resolved" => Some(StatusFilter::Resolved),
            _ => None,
        }
    }

    /// The state it keeps, `None` for all.
    fn state(self) -> Option<&'static str> {
        match self {
            StatusFilter::All => None,
            StatusFilter::Open => Some("open"),
            StatusFilter::Deferred => Some("deferred"),
            StatusFilter::Resolved => Some("resolved"),
        }
    }
}

/// The client's prompts, most urgent and newest first (audited).
pub async fn list_prompts(store: &Store, ctx: &Ctx, access: &RecordAccess, filter: StatusFilter) -> Result<Vec<PromptRow>, StoreError> {
    let state = filter.state();
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {PROMPT_COLS} FROM prompts WHERE practice_id = $1 AND client_id = $2 AND ($3 IS NULL OR state = $3) ORDER BY created_at DESC, id DESC"
    )))
    .bind(access.practice_id().to_string())
    .bind(access.client_id().to_string())
    .bind(state)
    .fetch_all(store.reads())
    .await?;
    let mut out = rows.iter().map(prompt_from).collect::<Result<Vec<_>, _>>()?;
    out.sort_by_key(|p| (p.status != "open", p.urgency));
    store.audit_read(ctx, list_event(ctx, access, state, out.len(), "")).await?;
    Ok(out)
}

/// Audits a read of a client's prompts that a page served from memory (detail `cached`).
pub async fn audit_cached_prompts(
    store: &Store,
    ctx: &Ctx,
    access: &RecordAccess,
    filter: StatusFilter,
    count: usize,
) -> Result<(), StoreError> {
    store.audit_read(ctx, list_event(ctx, access, filter.state(), count, " cached")).await
}

fn list_event(ctx: &Ctx, access: &RecordAccess, state: Option<&str>, count: usize, suffix: &str) -> audit::AuditEvent {
    let mut ev = staff_event(ctx, access, "prompt.list", None);
    ev.detail = format!("{} status={} count={count}{suffix}", ev.detail, state.unwrap_or("all"));
    ev
}

/// Resolves the prompt's owner and asks the policy for record access (NotFound for a prompt
/// of another practice or outside the caller's care team, exactly as for a missing id).
pub async fn prompt_access(store: &Store, ctx: &Ctx, actor: &Actor, prompt_id: PromptId) -> Result<RecordAccess, StoreError> {
    let row = sqlx::query("SELECT client_id FROM prompts WHERE id = $1 AND practice_id = $2")
        .bind(prompt_id.to_string())
        .bind(actor.practice_id.to_string())
        .fetch_optional(store.reads())
        .await?
        .ok_or(StoreError::NotFound)?;
    record_access(store, ctx, actor, parse_id(&row, "client_id")?).await
}

/// A resolve or defer request, as documented by staff.
#[derive(Debug, Clone)]
pub struct Resolution {
    pub action: Action,
    /// A note to keep with the transition (any response; the words of a `discussed` or
    /// `not_appropriate` are in the response itself).
    pub note: Option<String>,
}

/// Why a resolution was refused: a lifecycle rule (422) or the store.
#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    #[error(transparent)]
    Lifecycle(#[from] concord_domain::prompts::LifecycleError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Applies a documented response to a prompt (audited with the transition). Only staff hold a
/// `RecordAccess`, so the actor is staff.
pub async fn resolve_prompt(
    store: &Store,
    ctx: &Ctx,
    access: &RecordAccess,
    prompt_id: PromptId,
    r: Resolution,
) -> Result<PromptRow, ResolveError> {
    let mut tx = store.begin().await.map_err(ResolveError::Store)?;
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {PROMPT_COLS} FROM prompts WHERE id = $1 AND practice_id = $2 AND client_id = $3"
    )))
    .bind(prompt_id.to_string())
    .bind(access.practice_id().to_string())
    .bind(access.client_id().to_string())
    .fetch_optional(&mut *tx)
    .await
    .map_err(StoreError::from)?
    .ok_or(StoreError::NotFound)?;
    let current = prompt_from(&row)?;
    let state = match current.status.as_str() {
        "open" => PromptState::Open,
        "deferred" => PromptState::Deferred { until: current.deferred_until.unwrap_or(0) },
        _ => {
            return Err(concord_domain::prompts::LifecycleError::AlreadyResolved.into());
        }
    };
    let next = transition(&state, current.kind, &r.action, true, ctx.ts())?;
    let note = r.note.as_deref().map(str::trim).filter(|n| !n.is_empty()).map(str::to_owned);
    if note.as_ref().is_some_and(|n| n.chars().count() > concord_domain::prompts::MAX_TEXT_CHARS) {
        return Err(StoreError::Invalid(format!("note must be at most {} characters", concord_domain::prompts::MAX_TEXT_CHARS)).into());
    }
    let actor = access.actor().user_id;
    let (event, response, detail, audit_action) = match &next {
        PromptState::Deferred { until } => {
            sqlx::query("UPDATE prompts SET state = 'deferred', deferred_until = $1 WHERE id = $2")
                .bind(until)
                .bind(prompt_id.to_string())
                .execute(&mut *tx)
                .await
                .map_err(StoreError::from)?;
            ("deferred", None, EventDetail { note, ..Default::default() }, "prompt.defer")
        }
        PromptState::Resolved { response, safety_action } => {
            let (resp_note, referred_to) = match response {
                Response::Discussed { note } => (Some(note.clone()), None),
                Response::ReferralOffered { to } => (None, to.clone()),
                Response::ClientDeclined { reasons_in_their_words } => (Some(reasons_in_their_words.clone()), None),
                Response::NotAppropriate { why } => (Some(why.clone()), None),
                Response::DeferredUntil { .. } => (None, None),
            };
            sqlx::query("UPDATE prompts SET state = 'resolved', response = $1, resolved_at = $2, resolved_by = $3, deferred_until = NULL WHERE id = $4")
                .bind(response.as_str())
                .bind(ctx.ts())
                .bind(actor.to_string())
                .bind(prompt_id.to_string())
                .execute(&mut *tx)
                .await
                .map_err(StoreError::from)?;
            let detail =
                EventDetail { note: resp_note.or(note), action: safety_action.as_ref().map(|a| a.what_was_done.clone()), referred_to };
            ("resolved", Some(response.as_str()), detail, "prompt.resolve")
        }
        PromptState::Open => return Err(StoreError::Invalid("nothing to change".into()).into()),
    };
    let key = data_key(store, &mut *tx, access.practice_id(), &access.client_id().to_string()).await?;
    let event_id: PromptEventId = ctx.new_id(PromptEventId::new_at);
    let json = serde_json::to_string(&detail).map_err(|e| StoreError::Invalid(e.to_string()))?;
    let ct = key.seal_str(&json, &detail_aad(&event_id.to_string())).map_err(StoreError::from)?;
    sqlx::query(
        "INSERT INTO prompt_events (id, practice_id, client_id, prompt_id, event, response, detail_ct, at, actor_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(event_id.to_string())
    .bind(access.practice_id().to_string())
    .bind(access.client_id().to_string())
    .bind(prompt_id.to_string())
    .bind(event)
    .bind(response)
    .bind(ct)
    .bind(ctx.ts())
    .bind(actor.to_string())
    .execute(&mut *tx)
    .await
    .map_err(StoreError::from)?;
    let mut ev = staff_event(ctx, access, audit_action, Some(prompt_id.to_string()));
    ev.detail = format!("{} kind={} response={}", ev.detail, current.kind.as_str(), response.unwrap_or("deferred"));
    audit::append(&mut tx, &ev).await?;
    let row = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {PROMPT_COLS} FROM prompts WHERE id = $1")))
        .bind(prompt_id.to_string())
        .fetch_one(&mut *tx)
        .await
        .map_err(StoreError::from)?;
    let out = prompt_from(&row)?;
    tx.commit().await.map_err(StoreError::from)?;
    Ok(out)
}

/// Every transition of the client's prompts with its documented words, oldest first (for the
/// timeline; audited by the caller's timeline read).
pub(crate) async fn prompt_events(store: &Store, access: &RecordAccess) -> Result<Vec<PromptEvent>, StoreError> {
    let mut tx = store.begin_read().await?;
    let rows = sqlx::query(
        "SELECT e.id, e.prompt_id, p.kind, e.event, e.response, e.detail_ct, e.at, e.actor_id FROM prompt_events e \
         JOIN prompts p ON p.id = e.prompt_id WHERE e.practice_id = $1 AND e.client_id = $2 ORDER BY e.at, e.id",
    )
    .bind(access.practice_id().to_string())
    .bind(access.client_id().to_string())
    .fetch_all(&mut *tx)
    .await?;
    let key =
        if rows.is_empty() { None } else { Some(data_key(store, &mut *tx, access.practice_id(), &access.client_id().to_string()).await?) };
    let mut out = Vec::with_capacity(rows.len());
    for r in &rows {
        let id: String = r.try_get("id")?;
        let ct: Option<Vec<u8>> = r.try_get("detail_ct")?;
        let detail = match (ct, &key) {
            (Some(ct), Some(k)) => serde_json::from_str(&k.open_str(&ct, &detail_aad(&id))?).map_err(|_| corrupt("event detail"))?,
            _ => EventDetail::default(),
        };
        let actor: Option<String> = r.try_get("actor_id")?;
        out.push(PromptEvent {
            prompt_id: parse_id(r, "prompt_id")?,
            kind: PromptKind::parse(&r.try_get::<String, _>("kind")?).ok_or_else(|| corrupt("kind"))?,
            event: r.try_get("event")?,
            response: r.try_get("response")?,
            detail,
            at: r.try_get("at")?,
            actor_id: actor.map(|a| a.parse().map_err(|_| corrupt("actor"))).transpose()?,
        });
    }
    tx.commit().await?;
    Ok(out)
}

/// The kinds of open prompts that want attention (urgent or soon, not routine) per client
/// across a caseload scope: each distinct (client, kind, urgency) once, for the caseload's
/// attention list (kinds only, no text). Audited as one entry.
pub async fn open_prompts_for_caseload(
    store: &Store,
    ctx: &Ctx,
    scope: &concord_domain::policy::CaseloadScope,
) -> Result<Vec<(ClientId, PromptKind, Urgency)>, StoreError> {
    let practice = scope.practice_id().to_string();
    // DISTINCT in SQL: a client can hold many open prompts of one kind (one per flagged response).
    let rows = sqlx::query(
        "SELECT DISTINCT p.client_id, p.kind, p.urgency FROM prompts p JOIN clients c ON c.id = p.client_id AND c.practice_id = p.practice_id \
         WHERE p.practice_id = $1 AND p.state = 'open' AND p.urgency <> 'routine' AND c.status = 'active' \
           AND ($3 = 1 OR EXISTS (SELECT 1 FROM care_team t WHERE t.client_id = p.client_id AND t.user_id = $2))",
    )
    .bind(&practice)
    .bind(scope.actor().user_id.to_string())
    .bind(crate::flag(scope.whole_practice()))
    .fetch_all(store.reads())
    .await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in &rows {
        let kind = PromptKind::parse(&r.try_get::<String, _>("kind")?).ok_or_else(|| corrupt("kind"))?;
        let urgency = match r.try_get::<String, _>("urgency")?.as_str() {
            "urgent" => Urgency::Urgent,
            "soon" => Urgency::Soon,
            _ => Urgency::Routine,
        };
        out.push((parse_id(r, "client_id")?, kind, urgency));
    }
    let mut ev = ctx.event(Some(&scope.actor()), &practice, "prompt.caseload_list", "client_list");
    ev.detail = format!("count={}", out.len());
    store.audit_read(ctx, ev).await?;
    Ok(out)
}
