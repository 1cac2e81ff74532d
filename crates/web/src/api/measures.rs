//! Measures in the API: responses, outcomes, portal links and instrument definitions.

use super::{ApiResult, IdJson, ts};
use crate::auth::{ApiCaller, ApiJson, parse_path_id};
use crate::error::AppError;
use crate::outcomes::{ClientOutcomes, summarise};
use crate::state::AppState;
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use concord_domain::ids::ClientId;
use concord_domain::measures::Registry;
use concord_domain::measures::outcome::OutcomeConfig;
use concord_domain::measures::score::Answers;
use concord_domain::values::{format_rfc3339, parse_rfc3339};
use concord_store::clients;
use concord_store::measures::{self as store_measures, NewResponse, ResponseRecord, ResponseSource};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// The practice's instruments: shipped plus imported (from memory unless something was
/// imported since the registry was last read: `ctx` knows the version).
pub async fn registry(
    state: &AppState,
    ctx: &concord_store::Ctx,
    practice: concord_domain::ids::PracticeId,
) -> Result<std::sync::Arc<Registry>, AppError> {
    Ok(store_measures::practice_registry(&state.store, ctx, practice).await?)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewResponseJson {
    instrument: String,
    answers: Answers,
    completed_at: String,
    /// Free text to keep with the response (sealed with the client's key).
    note: Option<String>,
    /// `api` (default), `clinician` or `paper`.
    source: Option<String>,
    /// Makes retries safe: the same key and submission returns the stored response.
    idempotency_key: Option<String>,
}

#[derive(Serialize)]
pub struct ResponseJson {
    id: String,
    instrument: String,
    instrument_version: String,
    total: Option<i32>,
    band: Option<String>,
    caseness: Option<bool>,
    flags: Vec<String>,
    completed_at: String,
    source: &'static str,
    answers: Answers,
    #[serde(skip_serializing_if = "Option::is_none")]
    note: Option<String>,
    /// The full score, with the convention and thresholds used.
    score: concord_domain::measures::score::Score,
}

fn response_json(r: ResponseRecord) -> ResponseJson {
    ResponseJson {
        id: r.id.to_string(),
        instrument: r.instrument.as_str().to_owned(),
        instrument_version: r.instrument_version,
        total: r.total,
        band: r.band,
        caseness: r.caseness,
        flags: r.flags.iter().map(|f| f.as_str().to_owned()).collect(),
        completed_at: OffsetDateTime::from_unix_timestamp(r.completed_at).map(format_rfc3339).unwrap_or_default(),
        source: r.source.as_str(),
        answers: r.answers,
        note: r.note,
        score: r.score,
    }
}

pub async fn create_response(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<NewResponseJson>,
) -> ApiResult<Response> {
    let id: ClientId = parse_path_id(&id)?;
    let access = clients::record_access(&state.store, &caller.ctx, &caller.actor(), id).await?;
    let Some(def) = store_measures::practice_instrument(&state.store, &caller.ctx, caller.user.practice_id, body.instrument.trim()).await?
    else {
        let registry = registry(&state, &caller.ctx, caller.user.practice_id).await?;
        let known = registry.ids().map(|i| i.as_str()).collect::<Vec<_>>().join(", ");
        return Err(AppError::Unprocessable(format!("unknown instrument {:?}; known: {known}", body.instrument)).into());
    };
    let completed_at = parse_rfc3339(&body.completed_at, "completed_at")?.unix_timestamp();
    let source = match body.source.as_deref() {
        None | Some("api") => ResponseSource::Api,
        Some("clinician") => ResponseSource::Clinician,
        Some("paper") => ResponseSource::Paper,
        Some(_) => return Err(AppError::Unprocessable("source must be api, clinician or paper".into()).into()),
    };
    let mut new = NewResponse::scored(&def, body.answers, completed_at, source).map_err(|e| AppError::Unprocessable(e.to_string()))?;
    new.note = body.note.filter(|n| !n.trim().is_empty());
    new.idempotency_key = body.idempotency_key;
    let rec = store_measures::record_response(&state.store, &caller.ctx, &access, new).await?;
    let j = response_json(rec);
    Ok((
        StatusCode::CREATED,
        Json(serde_json::json!({"id": j.id, "total": j.total, "band": j.band, "flags": j.flags, "caseness": j.caseness, "score": j.score})),
    )
        .into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResponsesQuery {
    instrument: Option<String>,
}

pub async fn list_responses(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
    query: Result<Query<ResponsesQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Json<Vec<ResponseJson>>> {
    let Query(q) = query.map_err(|e| AppError::BadRequest(e.body_text()))?;
    let id: ClientId = parse_path_id(&id)?;
    let access = clients::record_access(&state.store, &caller.ctx, &caller.actor(), id).await?;
    let list = store_measures::list_responses(&state.store, &caller.ctx, &access, q.instrument.as_deref()).await?;
    Ok(Json(list.into_iter().map(response_json).collect()))
}

pub async fn outcomes(State(state): State<AppState>, caller: ApiCaller, Path(id): Path<String>) -> ApiResult<Json<ClientOutcomes>> {
    let id: ClientId = parse_path_id(&id)?;
    let access = clients::record_access(&state.store, &caller.ctx, &caller.actor(), id).await?;
    let points = store_measures::list_score_points(&state.store, &caller.ctx, &access, None).await?;
    let registry = registry(&state, &caller.ctx, caller.user.practice_id).await?;
    Ok(Json(summarise(&points, &registry, &OutcomeConfig::default())))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct PortalLinkJson {
    /// 1 to 180 days; 30 by default.
    expires_in_days: Option<i64>,
    /// An optional PIN the client must also enter (4 to 12 digits).
    pin: Option<String>,
}

/// Validates a portal PIN: 4 to 12 digits.
pub fn check_pin(pin: Option<&str>) -> Result<Option<String>, AppError> {
    match pin.map(str::trim).filter(|p| !p.is_empty()) {
        None => Ok(None),
        Some(p) if (4..=12).contains(&p.len()) && p.chars().all(|c| c.is_ascii_digit()) => Ok(Some(p.to_owned())),
        Some(_) => Err(AppError::Unprocessable("pin must be 4 to 12 digits".into())),
    }
}

pub async fn create_portal_link(
    State(state): State<AppState>,
    caller: ApiCaller,
    headers: HeaderMap,
    Path(id): Path<String>,
    raw: axum::body::Bytes,
) -> ApiResult<Response> {
    let id: ClientId = parse_path_id(&id)?;
    let access = clients::record_access(&state.store, &caller.ctx, &caller.actor(), id).await?;
    // The body is optional: no body means the defaults.
    let body: PortalLinkJson = if raw.iter().all(u8::is_ascii_whitespace) {
        PortalLinkJson::default()
    } else {
        serde_json::from_slice(&raw).map_err(|e| AppError::Unprocessable(format!("invalid request body: {e}")))?
    };
    let days = body.expires_in_days.unwrap_or(30);
    if !(1..=180).contains(&days) {
        return Err(AppError::Unprocessable("expires_in_days must be between 1 and 180".into()).into());
    }
    let pin = check_pin(body.pin.as_deref())?;
    let expires_at = (caller.ctx.now + time::Duration::days(days)).unix_timestamp();
    let (link_id, secret) = store_measures::create_portal_link(&state.store, &caller.ctx, &access, expires_at, pin.as_deref()).await?;
    let url = format!("{}/portal/{secret}", state.base_url(&headers));
    Ok((
        StatusCode::CREATED,
        Json(serde_json::json!({"id": link_id.to_string(), "url": url, "expires_at": ts(expires_at), "pin_required": pin.is_some()})),
    )
        .into_response())
}

#[derive(Serialize)]
pub struct InstrumentJson {
    id: String,
    name: String,
    short_name: String,
    version: String,
    origin: concord_domain::measures::definition::Origin,
    items: usize,
    scoring: &'static str,
    score_range: Option<(i32, i32)>,
    caseness: Option<i32>,
    reliable_change: Option<u32>,
    loinc: Option<concord_domain::measures::definition::InstrumentLoinc>,
    licence: concord_domain::measures::definition::Licence,
}

pub async fn list_instruments(State(state): State<AppState>, caller: ApiCaller) -> ApiResult<Json<Vec<InstrumentJson>>> {
    let registry = registry(&state, &caller.ctx, caller.user.practice_id).await?;
    Ok(Json(
        registry
            .iter()
            .map(|i| InstrumentJson {
                id: i.id().as_str().to_owned(),
                name: i.name().to_owned(),
                short_name: i.short_name().to_owned(),
                version: i.version().to_owned(),
                origin: i.origin(),
                items: i.items().len(),
                scoring: match i.scoring().method {
                    concord_domain::measures::definition::ScoringMethod::Sum => "sum",
                    concord_domain::measures::definition::ScoringMethod::PerItem => "per_item",
                },
                score_range: i.scoring().range.map(|r| (r.min, r.max)),
                caseness: i.scoring().caseness.as_ref().map(|c| c.value),
                reliable_change: i.scoring().reliable_change.as_ref().map(|r| r.threshold),
                loinc: i.loinc().cloned(),
                licence: i.licence().clone(),
            })
            .collect(),
    ))
}

/// The full definition of one instrument (our JSON format).
pub async fn get_instrument(State(state): State<AppState>, caller: ApiCaller, Path(instrument): Path<String>) -> ApiResult<Response> {
    let registry = registry(&state, &caller.ctx, caller.user.practice_id).await?;
    let def = registry.get(&instrument).ok_or(AppError::NotFound)?;
    Ok(Json(def.def()).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImportJson {
    /// `concord` (our format) or `fhir` (an R4/R4B Questionnaire).
    format: String,
    definition: serde_json::Value,
    /// For FHIR: the id to use (otherwise made from the Questionnaire's name).
    id: Option<String>,
}

/// Imports an instrument definition the practice holds a licence for (admins).
pub async fn import_instrument(
    State(state): State<AppState>,
    caller: ApiCaller,
    ApiJson(body): ApiJson<ImportJson>,
) -> ApiResult<Response> {
    let access = concord_domain::policy::decide_practice_admin(&caller.actor()).ok_or(AppError::NotFound)?;
    let json = body.definition.to_string();
    let imported = match (body.format.as_str(), body.id.as_deref()) {
        ("concord", _) => store_measures::import_definition(&state.store, &caller.ctx, &access, &json).await?,
        ("fhir", Some(id)) => store_measures::import_fhir_definition_as(&state.store, &caller.ctx, &access, &json, id).await?,
        ("fhir", None) => {
            let derived = serde_json::from_str::<serde_json::Value>(&json)
                .ok()
                .and_then(|v| {
                    v.get("name").and_then(|n| n.as_str()).map(|n| n.to_lowercase().replace(|c: char| !c.is_ascii_alphanumeric(), "_"))
                })
                .ok_or_else(|| AppError::Unprocessable("a FHIR Questionnaire needs a name, or give id".into()))?;
            store_measures::import_fhir_definition_as(&state.store, &caller.ctx, &access, &json, &derived).await?
        }
        _ => return Err(AppError::Unprocessable("format must be concord or fhir".into()).into()),
    };
    Ok((StatusCode::CREATED, Json(IdJson::new(imported.instrument.as_str()))).into_response())
}
