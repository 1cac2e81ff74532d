//! Prompts, session notes, safety plans and the timeline in the API (issue 4).
//!
//! Prompts and notes named by their own id (`/api/v1/prompts/{id}`, `/api/v1/notes/{id}`)
//! are resolved to their client first, then the same care-team decision applies: another
//! practice's or another team's prompt answers 404, like a missing one.

use super::{ApiResult, IdJson, ts};
use crate::auth::{ApiCaller, ApiJson, parse_path_id};
use crate::error::AppError;
use crate::state::AppState;
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use concord_domain::ids::{ClientId, NoteId, PromptId, SessionId};
use concord_domain::prompts::{Action, Evidence, Response as PromptResponse, SafetyAction, TimingContext};
use concord_domain::records::{CRISIS_LINES, CrisisLine, MedicationConversation, NoteKind, SafetyPlan, checked_body};
use concord_store::notes::{self, NewNote, NoteChanges, NoteRecord, NoteScope, TimelineItem};
use concord_store::prompts::{self, PromptRow, Resolution, ResolveError, StatusFilter};
use concord_store::{clients, safety_plans};
use serde::{Deserialize, Serialize};

// ---- prompts --------------------------------------------------------------------------------

#[derive(Serialize)]
pub struct PromptJson {
    id: String,
    client_id: String,
    kind: &'static str,
    urgency: &'static str,
    status: String,
    key: String,
    explanation: String,
    evidence: Evidence,
    #[serde(skip_serializing_if = "Option::is_none")]
    timing: Option<TimingContext>,
    condition_holds: bool,
    created_at: String,
    deferred_until: Option<String>,
    response: Option<String>,
    resolved_at: Option<String>,
    resolved_by: Option<String>,
}

pub(crate) fn prompt_json(p: PromptRow) -> PromptJson {
    PromptJson {
        id: p.id.to_string(),
        client_id: p.client_id.to_string(),
        kind: p.kind.as_str(),
        urgency: p.urgency.as_str(),
        status: p.status,
        key: p.key,
        explanation: p.explanation,
        evidence: p.evidence,
        timing: p.timing,
        condition_holds: p.condition_holds,
        created_at: ts(p.created_at),
        deferred_until: p.deferred_until.map(ts),
        response: p.response,
        resolved_at: p.resolved_at.map(ts),
        resolved_by: p.resolved_by.map(|u| u.to_string()),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PromptsQuery {
    status: Option<String>,
}

pub async fn list_prompts(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
    query: Result<Query<PromptsQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Json<Vec<PromptJson>>> {
    let Query(q) = query.map_err(|e| AppError::BadRequest(e.body_text()))?;
    let filter = match q.status.as_deref() {
        None => StatusFilter::All,
        Some(s) => {
            StatusFilter::parse(s).ok_or_else(|| AppError::Unprocessable("status must be open, deferred, resolved or all".into()))?
        }
    };
    let id: ClientId = parse_path_id(&id)?;
    let access = clients::record_access(&state.store, &caller.ctx, &caller.actor(), id).await?;
    let list = prompts::list_prompts(&state.store, &caller.ctx, &access, filter).await?;
    Ok(Json(list.into_iter().map(prompt_json).collect()))
}

/// The API's resolve body (a flat form of `domain::prompts::Action`).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResolveJson {
    pub response: String,
    #[serde(default)]
    pub note: Option<String>,
    #[serde(default)]
    pub action: Option<String>,
    #[serde(default)]
    pub referred_to: Option<String>,
    #[serde(default)]
    pub defer_until: Option<String>,
}

impl ResolveJson {
    /// The domain action (which checks what each response needs) and the extra note to keep.
    pub fn into_resolution(self) -> Result<Resolution, AppError> {
        let note_or_empty = || self.note.clone().unwrap_or_default();
        let (response, extra_note) = match self.response.as_str() {
            "discussed" => (PromptResponse::Discussed { note: note_or_empty() }, None),
            "referral_offered" => {
                (PromptResponse::ReferralOffered { to: self.referred_to.clone().filter(|t| !t.trim().is_empty()) }, self.note.clone())
            }
            "client_declined" => (PromptResponse::ClientDeclined { reasons_in_their_words: note_or_empty() }, None),
            "not_appropriate" => (PromptResponse::NotAppropriate { why: note_or_empty() }, None),
            "deferred" => {
                let raw = self
                    .defer_until
                    .as_deref()
                    .ok_or_else(|| AppError::Unprocessable("defer_until (YYYY-MM-DD) is required when the response is deferred".into()))?;
                let date = concord_domain::values::parse_date(raw)
                    .ok_or_else(|| AppError::Unprocessable("defer_until must be a date, YYYY-MM-DD".into()))?;
                (PromptResponse::DeferredUntil { date: date.midnight().assume_utc().unix_timestamp() }, self.note.clone())
            }
            other => {
                return Err(AppError::Unprocessable(format!(
                    "response must be discussed, referral_offered, client_declined, deferred or not_appropriate (got {other:?})"
                )));
            }
        };
        if self.defer_until.is_some() && self.response != "deferred" {
            return Err(AppError::Unprocessable("defer_until is only for the response deferred".into()));
        }
        let safety_action = self.action.map(|a| SafetyAction { what_was_done: a });
        Ok(Resolution { action: Action { response, safety_action }, note: extra_note })
    }
}

pub(crate) fn resolve_error(e: ResolveError) -> AppError {
    match e {
        ResolveError::Lifecycle(concord_domain::prompts::LifecycleError::AlreadyResolved) => {
            AppError::Conflict("this prompt is already resolved".into())
        }
        ResolveError::Lifecycle(l) => AppError::Unprocessable(l.to_string()),
        ResolveError::Store(s) => s.into(),
    }
}

pub async fn resolve_prompt(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<ResolveJson>,
) -> ApiResult<Json<PromptJson>> {
    let id: PromptId = parse_path_id(&id)?;
    let access = prompts::prompt_access(&state.store, &caller.ctx, &caller.actor(), id).await?;
    let resolution = body.into_resolution()?;
    let row = prompts::resolve_prompt(&state.store, &caller.ctx, &access, id, resolution).await.map_err(resolve_error)?;
    Ok(Json(prompt_json(row)))
}

// ---- safety plans ----------------------------------------------------------------------------

#[derive(Serialize)]
pub struct SafetyPlanJson {
    /// `null` when the client has no plan yet.
    version: Option<i64>,
    created_at: Option<String>,
    created_by: Option<String>,
    #[serde(flatten)]
    plan: SafetyPlan,
    crisis_lines: &'static [CrisisLine],
}

fn plan_json(p: Option<safety_plans::SafetyPlanVersion>) -> SafetyPlanJson {
    match p {
        Some(p) => SafetyPlanJson {
            version: Some(p.version),
            created_at: Some(ts(p.created_at)),
            created_by: Some(p.created_by.to_string()),
            plan: p.plan,
            crisis_lines: &CRISIS_LINES,
        },
        None => {
            SafetyPlanJson { version: None, created_at: None, created_by: None, plan: SafetyPlan::default(), crisis_lines: &CRISIS_LINES }
        }
    }
}

pub async fn get_safety_plan(State(state): State<AppState>, caller: ApiCaller, Path(id): Path<String>) -> ApiResult<Json<SafetyPlanJson>> {
    let id: ClientId = parse_path_id(&id)?;
    let access = clients::record_access(&state.store, &caller.ctx, &caller.actor(), id).await?;
    Ok(Json(plan_json(safety_plans::get_plan(&state.store, &caller.ctx, &access, None).await?)))
}

pub async fn put_safety_plan(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
    ApiJson(plan): ApiJson<SafetyPlan>,
) -> ApiResult<Json<SafetyPlanJson>> {
    let id: ClientId = parse_path_id(&id)?;
    let access = clients::record_access(&state.store, &caller.ctx, &caller.actor(), id).await?;
    let plan = plan.checked().map_err(|e| AppError::Unprocessable(e.0))?;
    Ok(Json(plan_json(Some(safety_plans::save_plan(&state.store, &caller.ctx, &access, &plan).await?))))
}

// ---- notes -----------------------------------------------------------------------------------

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewNoteJson {
    #[serde(default)]
    session_id: Option<String>,
    body: String,
    #[serde(default)]
    medication_conversation: Option<MedicationConversation>,
    /// `progress` (default) or `process` (psychotherapy notes, kept apart).
    #[serde(default)]
    kind: Option<String>,
}

pub async fn create_note(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<NewNoteJson>,
) -> ApiResult<Response> {
    let id: ClientId = parse_path_id(&id)?;
    let access = clients::record_access(&state.store, &caller.ctx, &caller.actor(), id).await?;
    let kind = match body.kind.as_deref() {
        None => NoteKind::Progress,
        Some(k) => NoteKind::parse(k).ok_or_else(|| AppError::Unprocessable("kind must be progress or process".into()))?,
    };
    let session_id = body
        .session_id
        .as_deref()
        .map(|s| s.parse::<SessionId>().map_err(|_| AppError::Unprocessable("session_id is not a session id".into())))
        .transpose()?;
    let new = NewNote {
        session_id,
        kind,
        body: checked_body(&body.body, "body").map_err(|e| AppError::Unprocessable(e.0))?,
        medication_conversation: body.medication_conversation.map(|m| m.checked().map_err(|e| AppError::Unprocessable(e.0))).transpose()?,
    };
    if kind == NoteKind::Process && new.medication_conversation.is_some() {
        return Err(AppError::Unprocessable(
            "a medication conversation belongs in a progress note (the record), not a process note".into(),
        )
        .into());
    }
    let note = notes::create_note(&state.store, &caller.ctx, &access, new).await?;
    Ok((StatusCode::CREATED, Json(IdJson::new(note.to_string()))).into_response())
}

#[derive(Serialize)]
pub struct AddendumJson {
    id: String,
    body: String,
    created_at: String,
    created_by: String,
}

#[derive(Serialize)]
pub struct NoteJson {
    id: String,
    client_id: String,
    session_id: Option<String>,
    kind: &'static str,
    status: &'static str,
    body: String,
    medication_conversation: Option<MedicationConversation>,
    note_date: String,
    created_at: String,
    created_by: String,
    updated_at: String,
    signed_at: Option<String>,
    signed_by: Option<String>,
    addenda: Vec<AddendumJson>,
}

fn note_json(n: NoteRecord) -> NoteJson {
    NoteJson {
        id: n.id.to_string(),
        client_id: n.client_id.to_string(),
        session_id: n.session_id.map(|s| s.to_string()),
        kind: n.kind.as_str(),
        status: n.status.as_str(),
        body: n.body,
        medication_conversation: n.medication_conversation,
        note_date: ts(n.note_date),
        created_at: ts(n.created_at),
        created_by: n.created_by.to_string(),
        updated_at: ts(n.updated_at),
        signed_at: n.signed_at.map(ts),
        signed_by: n.signed_by.map(|u| u.to_string()),
        addenda: n
            .addenda
            .into_iter()
            .map(|a| AddendumJson {
                id: a.id.to_string(),
                body: a.body,
                created_at: ts(a.created_at),
                created_by: a.created_by.to_string(),
            })
            .collect(),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NotesQuery {
    /// `progress` (default: the record), `process` or `all`.
    kind: Option<String>,
}

pub async fn list_notes(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
    query: Result<Query<NotesQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Json<Vec<NoteJson>>> {
    let Query(q) = query.map_err(|e| AppError::BadRequest(e.body_text()))?;
    let id: ClientId = parse_path_id(&id)?;
    let access = clients::record_access(&state.store, &caller.ctx, &caller.actor(), id).await?;
    let (scope, only) = match q.kind.as_deref() {
        None | Some("progress") => (NoteScope::RecordOnly, None),
        Some("process") => (NoteScope::WithProcessNotes, Some(NoteKind::Process)),
        Some("all") => (NoteScope::WithProcessNotes, None),
        Some(_) => return Err(AppError::Unprocessable("kind must be progress, process or all".into()).into()),
    };
    let list = notes::list_notes(&state.store, &caller.ctx, &access, scope).await?;
    Ok(Json(list.into_iter().filter(|n| only.is_none_or(|k| n.kind == k)).map(note_json).collect()))
}

pub async fn get_note(State(state): State<AppState>, caller: ApiCaller, Path(id): Path<String>) -> ApiResult<Json<NoteJson>> {
    let id: NoteId = parse_path_id(&id)?;
    let access = notes::note_access(&state.store, &caller.ctx, &caller.actor(), id).await?;
    Ok(Json(note_json(notes::get_note(&state.store, &caller.ctx, &access, id).await?)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PatchNoteJson {
    #[serde(default)]
    body: Option<String>,
    /// Absent: unchanged; `null`: removed; an object: replaced.
    #[serde(default)]
    medication_conversation: Option<serde_json::Value>,
}

pub async fn patch_note(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<PatchNoteJson>,
) -> ApiResult<Json<NoteJson>> {
    let id: NoteId = parse_path_id(&id)?;
    let access = notes::note_access(&state.store, &caller.ctx, &caller.actor(), id).await?;
    let medication_conversation = match body.medication_conversation {
        None => None,
        Some(serde_json::Value::Null) => Some(None),
        Some(v) => {
            let m: MedicationConversation =
                serde_json::from_value(v).map_err(|e| AppError::Unprocessable(format!("medication_conversation: {e}")))?;
            Some(Some(m.checked().map_err(|e| AppError::Unprocessable(e.0))?))
        }
    };
    let changes = NoteChanges {
        body: body.body.map(|b| checked_body(&b, "body").map_err(|e| AppError::Unprocessable(e.0))).transpose()?,
        medication_conversation,
    };
    if changes.body.is_none() && changes.medication_conversation.is_none() {
        return Err(AppError::Unprocessable("nothing to change: send body and/or medication_conversation".into()).into());
    }
    Ok(Json(note_json(notes::update_note(&state.store, &caller.ctx, &access, id, changes).await?)))
}

pub async fn sign_note(State(state): State<AppState>, caller: ApiCaller, Path(id): Path<String>) -> ApiResult<Json<NoteJson>> {
    let id: NoteId = parse_path_id(&id)?;
    let access = notes::note_access(&state.store, &caller.ctx, &caller.actor(), id).await?;
    Ok(Json(note_json(notes::sign_note(&state.store, &caller.ctx, &access, id).await?)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AddendumBody {
    body: String,
}

pub async fn add_addendum(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<AddendumBody>,
) -> ApiResult<Response> {
    let id: NoteId = parse_path_id(&id)?;
    let access = notes::note_access(&state.store, &caller.ctx, &caller.actor(), id).await?;
    let text = checked_body(&body.body, "body").map_err(|e| AppError::Unprocessable(e.0))?;
    let aid = notes::add_addendum(&state.store, &caller.ctx, &access, id, &text).await?;
    Ok((StatusCode::CREATED, Json(IdJson::new(aid.to_string()))).into_response())
}

// ---- timeline ----------------------------------------------------------------------------------

#[derive(Serialize)]
pub struct TimelineJson {
    at: String,
    #[serde(flatten)]
    item: TimelineItem,
}

pub async fn timeline(State(state): State<AppState>, caller: ApiCaller, Path(id): Path<String>) -> ApiResult<Json<Vec<TimelineJson>>> {
    let id: ClientId = parse_path_id(&id)?;
    let access = clients::record_access(&state.store, &caller.ctx, &caller.actor(), id).await?;
    let items = notes::timeline(&state.store, &caller.ctx, &access).await?;
    Ok(Json(items.into_iter().map(|i| TimelineJson { at: ts(i.at), item: i }).collect()))
}
