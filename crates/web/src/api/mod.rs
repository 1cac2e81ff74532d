//! The JSON API under `/api/v1`, authenticated by personal tokens. Another practice's or
//! another care team's client answers 404, exactly like a missing one.

pub mod decisions;
pub mod measures;
pub mod records;

use crate::auth::{ApiCaller, ApiJson, parse_path_id};
use crate::error::{ApiError, AppError};
use crate::state::AppState;
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use concord_domain::ids::{ClientId, UserId};
use concord_domain::policy;
use concord_domain::values::{Attendance, ClientName, DateOfBirth, DurationMinutes, format_rfc3339, parse_rfc3339};
use concord_store::clients::{self, ClientChanges, ClientRecord, ClientStatus, TeamMember};
use serde::{Deserialize, Deserializer, Serialize};
use time::OffsetDateTime;

pub(crate) type ApiResult<T> = Result<T, ApiError>;

pub(crate) fn ts(t: i64) -> String {
    OffsetDateTime::from_unix_timestamp(t).map(format_rfc3339).unwrap_or_default()
}

#[derive(Serialize)]
pub struct MeJson {
    id: String,
    name: String,
    email: String,
    role: String,
    practice_id: String,
}

pub async fn me(caller: ApiCaller) -> Json<MeJson> {
    let u = caller.user;
    Json(MeJson { id: u.id.to_string(), name: u.name, email: u.email, role: u.role.to_string(), practice_id: u.practice_id.to_string() })
}

#[derive(Serialize)]
pub struct ClientSummaryJson {
    id: String,
    name: String,
    status: ClientStatus,
    attended_sessions: i64,
    last_session_at: Option<String>,
    next_session_at: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    q: Option<String>,
    include_archived: Option<bool>,
}

pub async fn list_clients(
    State(state): State<AppState>,
    caller: ApiCaller,
    query: Result<Query<ListQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Json<Vec<ClientSummaryJson>>> {
    let Query(q) = query.map_err(|e| AppError::BadRequest(e.body_text()))?;
    let scope = policy::caseload_scope(&caller.actor());
    let list = clients::list_clients(&state.store, &caller.ctx, &scope, q.q.as_deref(), q.include_archived.unwrap_or(false)).await?;
    Ok(Json(
        list.into_iter()
            .map(|c| ClientSummaryJson {
                id: c.id.to_string(),
                name: c.name,
                status: c.status,
                attended_sessions: c.attended_sessions,
                last_session_at: c.last_session_at.map(ts),
                next_session_at: c.next_session_at.map(ts),
            })
            .collect(),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewClientJson {
    name: String,
    date_of_birth: Option<String>,
}

#[derive(Serialize)]
pub struct IdJson {
    id: String,
}

impl IdJson {
    pub fn new(id: impl Into<String>) -> Self {
        Self { id: id.into() }
    }
}

pub async fn create_client(State(state): State<AppState>, caller: ApiCaller, ApiJson(body): ApiJson<NewClientJson>) -> ApiResult<Response> {
    let name = ClientName::parse(&body.name)?;
    let dob = body.date_of_birth.as_deref().map(|d| DateOfBirth::parse(d, caller.ctx.now.date())).transpose()?;
    let access = policy::decide_create_client(&caller.actor()).ok_or(AppError::NotFound)?;
    let id = clients::create_client(&state.store, &caller.ctx, &access, &name, dob.as_ref()).await?;
    Ok((StatusCode::CREATED, Json(IdJson { id: id.to_string() })).into_response())
}

#[derive(Serialize)]
pub struct TeamMemberJson {
    user_id: String,
    name: String,
    role: String,
}

fn team_json(team: Vec<TeamMember>) -> Vec<TeamMemberJson> {
    team.into_iter().map(|m| TeamMemberJson { user_id: m.user_id.to_string(), name: m.name, role: m.role.to_string() }).collect()
}

#[derive(Serialize)]
pub struct ClientJson {
    id: String,
    name: String,
    date_of_birth: Option<String>,
    status: ClientStatus,
    created_at: String,
    updated_at: String,
    care_team: Vec<TeamMemberJson>,
}

fn client_json(rec: ClientRecord) -> ClientJson {
    ClientJson {
        id: rec.id.to_string(),
        name: rec.name,
        date_of_birth: rec.date_of_birth,
        status: rec.status,
        created_at: ts(rec.created_at),
        updated_at: ts(rec.updated_at),
        care_team: team_json(rec.care_team),
    }
}

pub async fn get_client(State(state): State<AppState>, caller: ApiCaller, Path(id): Path<String>) -> ApiResult<Json<ClientJson>> {
    let id: ClientId = parse_path_id(&id)?;
    Ok(Json(client_json(clients::open_record(&state.store, &caller.ctx, &caller.actor(), id).await?.1)))
}

/// Distinguishes an absent field (`None`) from an explicit `null` (`Some(None)`).
fn double_option<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PatchClientJson {
    name: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    date_of_birth: Option<Option<String>>,
    status: Option<String>,
}

pub async fn patch_client(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<PatchClientJson>,
) -> ApiResult<Json<ClientJson>> {
    let id: ClientId = parse_path_id(&id)?;
    let access = clients::record_access(&state.store, &caller.ctx, &caller.actor(), id).await?;
    let name = body.name.as_deref().map(ClientName::parse).transpose()?;
    let dob = match &body.date_of_birth {
        None => None,
        Some(None) => Some(None),
        Some(Some(d)) => Some(Some(DateOfBirth::parse(d, caller.ctx.now.date())?)),
    };
    let status = match body.status.as_deref() {
        None => None,
        Some("active") => Some(ClientStatus::Active),
        Some("archived") => Some(ClientStatus::Archived),
        Some(_) => return Err(AppError::Unprocessable("status must be active or archived".into()).into()),
    };
    if name.is_none() && dob.is_none() && status.is_none() {
        return Err(AppError::Unprocessable("nothing to change: give name, date_of_birth or status".into()).into());
    }
    let changes = ClientChanges { name: name.as_ref(), date_of_birth: dob.as_ref().map(Option::as_ref), status };
    Ok(Json(client_json(clients::update_client(&state.store, &caller.ctx, &access, changes).await?)))
}

#[derive(Serialize)]
pub struct SessionJson {
    id: String,
    starts_at: String,
    duration_minutes: i64,
    attendance: Attendance,
}

pub async fn list_sessions(State(state): State<AppState>, caller: ApiCaller, Path(id): Path<String>) -> ApiResult<Json<Vec<SessionJson>>> {
    let id: ClientId = parse_path_id(&id)?;
    let access = clients::record_access(&state.store, &caller.ctx, &caller.actor(), id).await?;
    let rows = clients::list_sessions(&state.store, &caller.ctx, &access).await?;
    Ok(Json(
        rows.into_iter()
            .map(|s| SessionJson {
                id: s.id.to_string(),
                starts_at: ts(s.starts_at),
                duration_minutes: s.duration_minutes,
                attendance: s.attendance,
            })
            .collect(),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewSessionJson {
    starts_at: String,
    duration_minutes: i64,
    attendance: String,
}

pub async fn create_session(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<NewSessionJson>,
) -> ApiResult<Response> {
    let id: ClientId = parse_path_id(&id)?;
    let access = clients::record_access(&state.store, &caller.ctx, &caller.actor(), id).await?;
    let starts_at = parse_rfc3339(&body.starts_at, "starts_at")?;
    let duration = DurationMinutes::new(body.duration_minutes)?;
    let attendance: Attendance = body.attendance.parse()?;
    let sid = clients::add_session(&state.store, &caller.ctx, &access, starts_at, duration, attendance).await?;
    Ok((StatusCode::CREATED, Json(IdJson { id: sid.to_string() })).into_response())
}

pub async fn get_care_team(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
) -> ApiResult<Json<Vec<TeamMemberJson>>> {
    let id: ClientId = parse_path_id(&id)?;
    // Care-team members see the team; admins see it through their care-team decision.
    let team = match clients::record_access(&state.store, &caller.ctx, &caller.actor(), id).await {
        Ok(access) => clients::care_team(&state.store, &caller.ctx, &access).await?,
        Err(concord_store::StoreError::NotFound) => {
            let access = clients::care_team_access(&state.store, &caller.ctx, &caller.actor(), id).await?;
            clients::care_team_admin_view(&state.store, &caller.ctx, &access).await?.1
        }
        Err(e) => return Err(e.into()),
    };
    Ok(Json(team_json(team)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AddMemberJson {
    user_id: String,
}

pub async fn add_care_team_member(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<AddMemberJson>,
) -> ApiResult<Response> {
    let id: ClientId = parse_path_id(&id)?;
    let access = clients::care_team_access(&state.store, &caller.ctx, &caller.actor(), id).await?;
    let user_id: UserId = body.user_id.parse().map_err(|_| AppError::Unprocessable("user_id is not a valid user id".into()))?;
    clients::add_to_care_team(&state.store, &caller.ctx, &access, user_id).await?;
    let team = clients::care_team_admin_view(&state.store, &caller.ctx, &access).await?.1;
    Ok((StatusCode::CREATED, Json(team_json(team))).into_response())
}

pub async fn remove_care_team_member(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path((id, user_id)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    let id: ClientId = parse_path_id(&id)?;
    let user_id: UserId = parse_path_id(&user_id)?;
    let access = clients::care_team_access(&state.store, &caller.ctx, &caller.actor(), id).await?;
    clients::remove_from_care_team(&state.store, &caller.ctx, &access, user_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewTranscriptJson {
    text: String,
    format: Option<String>,
    /// Keep the transcript's text (encrypted) after coding; false keeps only codes and metrics.
    keep_text: Option<bool>,
}

#[derive(Serialize)]
pub struct TranscriptJson {
    id: String,
    session_id: String,
    uploaded_at: String,
    model_version: String,
    text_kept: bool,
    #[serde(flatten)]
    coded: concord_mi::CodedTranscript,
}

fn transcript_json(rec: &concord_store::transcripts::TranscriptRecord) -> Result<TranscriptJson, AppError> {
    Ok(TranscriptJson {
        id: rec.id.to_string(),
        session_id: rec.session_id.to_string(),
        uploaded_at: ts(rec.uploaded_at),
        model_version: rec.model_version.clone(),
        text_kept: rec.texts.is_some(),
        coded: crate::pages::transcripts::merge_texts(rec)?,
    })
}

pub async fn create_transcript(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path((id, session_id)): Path<(String, String)>,
    ApiJson(body): ApiJson<NewTranscriptJson>,
) -> ApiResult<Response> {
    use crate::pages::transcripts::{Upload, code_upload, split_texts};
    let id: ClientId = parse_path_id(&id)?;
    let session_id: concord_domain::ids::SessionId = parse_path_id(&session_id)?;
    let access = clients::record_access(&state.store, &caller.ctx, &caller.actor(), id).await?;
    let format = match body.format.as_deref() {
        None => concord_mi::parse::Format::Auto,
        Some(f) => f.parse().map_err(|_| AppError::Unprocessable("format must be auto, text, vtt, srt or csv".into()))?,
    };
    let (coded, version, source_format) = code_upload(Upload { bytes: body.text.into_bytes(), format, file_name: None }).await?;
    let (codes_json, texts) = split_texts(&coded)?;
    let new = concord_store::transcripts::NewTranscript {
        session_id,
        source_format,
        model_version: version,
        utterance_count: i64::try_from(texts.len()).unwrap_or(i64::MAX),
        codes_json,
        texts: &texts,
    };
    concord_store::transcripts::save_transcript(&state.store, &caller.ctx, &access, new).await?;
    if body.keep_text == Some(false) {
        concord_store::transcripts::discard_text(&state.store, &caller.ctx, &access, session_id).await?;
    }
    let rec =
        concord_store::transcripts::get_transcript(&state.store, &caller.ctx, &access, session_id).await?.ok_or(AppError::NotFound)?;
    Ok((StatusCode::CREATED, Json(transcript_json(&rec)?)).into_response())
}

pub async fn get_transcript(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path((id, session_id)): Path<(String, String)>,
) -> ApiResult<Json<TranscriptJson>> {
    let id: ClientId = parse_path_id(&id)?;
    let session_id: concord_domain::ids::SessionId = parse_path_id(&session_id)?;
    let access = clients::record_access(&state.store, &caller.ctx, &caller.actor(), id).await?;
    let rec =
        concord_store::transcripts::get_transcript(&state.store, &caller.ctx, &access, session_id).await?.ok_or(AppError::NotFound)?;
    Ok(Json(transcript_json(&rec)?))
}
