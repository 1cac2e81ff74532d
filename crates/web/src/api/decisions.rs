//! Shared decision making in the API: decisions, their options, criteria, ratings, the
//! weighted comparison, the SURE test, and decision dossiers.
//!
//! A decision or dossier id in the path reaches its record only through
//! `concord_store::decisions::{decision_access, dossier_access}`: the owning client is looked
//! up within the caller's practice, then the same care-team decision as for client routes
//! applies. Anyone else gets the same 404 as for a missing id.
//!
//! Product rule: the comparison is a mirror of what the client said, never a recommendation;
//! the sentences come from `concord_domain::decisions`.

use super::{ApiResult, IdJson, ts};
use crate::auth::{ApiCaller, ApiJson, parse_path_id};
use crate::dossier;
use crate::error::AppError;
use crate::state::AppState;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use concord_domain::decisions::options::{OptionOrigin, balance_check};
use concord_domain::decisions::sure::score_sure;
use concord_domain::decisions::weighing::{MIRROR_NOTE, sensitivities};
use concord_domain::decisions::{
    AttributeEntry, AttributeKind, ClientWords, CriterionName, DecisionOption, DecisionQuestion, DecisionStatus, EntryText, Fit,
    Importance, OptionName, PreferredRole, Quadrant, SourceRef, StatusChange, mirror_sentence, sensitivity_sentence, weighted_fit,
};
use concord_domain::ids::{ClientId, CriterionId, DecisionId, DossierId, OptionId};
use concord_domain::values::{ValueError, format_date};
use concord_store::decisions::{self as store, Decision, DossierMeta, MAX_VOICE_ENTRIES, SureEntry};
use concord_store::{StoreError, clients};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use time::Date;

/// IPDAS: descriptions older than this many months are flagged for review.
pub const MAX_REVIEW_AGE_MONTHS: u32 = 24;

pub(crate) fn parse_date(raw: &str, field: &str) -> Result<Date, AppError> {
    concord_domain::values::parse_date(raw).ok_or_else(|| AppError::Unprocessable(format!("{field} must be a date written YYYY-MM-DD")))
}

fn words_list(raw: Vec<String>, field: &str) -> Result<Vec<ClientWords>, AppError> {
    if raw.len() > MAX_VOICE_ENTRIES {
        return Err(AppError::Unprocessable(format!("{field} may hold at most {MAX_VOICE_ENTRIES} entries")));
    }
    raw.iter().filter(|s| !s.trim().is_empty()).map(|s| ClientWords::parse(s).map_err(|e| field_error(field, e))).collect()
}

fn field_error(field: &str, e: ValueError) -> AppError {
    AppError::Unprocessable(format!("{field}: {e}"))
}

// ---- JSON shapes ----

#[derive(Serialize)]
pub struct EntryJson {
    text: String,
    sources: Vec<String>,
    reviewed_on: Option<String>,
}

#[derive(Serialize)]
pub struct OptionJson {
    id: String,
    name: String,
    /// `offered` (one Concord offers) or `client_added`.
    origin: &'static str,
    offered: Option<&'static str>,
    summary: Option<&'static str>,
    attributes: BTreeMap<&'static str, Vec<EntryJson>>,
    /// IPDAS balance and currency warnings (missing sources, unequal detail, old reviews).
    warnings: Vec<String>,
}

#[derive(Serialize)]
pub struct CriterionJson {
    id: String,
    name: String,
    importance: u8,
}

#[derive(Serialize)]
pub struct RatingJson {
    option_id: String,
    criterion_id: String,
    fit: u8,
}

#[derive(Serialize)]
pub struct NextStepJson {
    area: &'static str,
    label: &'static str,
    next_step: &'static str,
}

#[derive(Serialize)]
pub struct SureJson {
    score: i32,
    conflict: bool,
    missing: Vec<&'static str>,
    next_steps: Vec<NextStepJson>,
    summary: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    answers: Option<Vec<bool>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    at: Option<String>,
}

fn sure_json(e: &SureEntry, with_answers: bool) -> SureJson {
    SureJson {
        score: e.result.score,
        conflict: e.result.conflict,
        missing: e.result.missing.iter().map(|a| a.as_str()).collect(),
        next_steps: e
            .result
            .next_steps()
            .into_iter()
            .map(|(a, s)| NextStepJson { area: a.as_str(), label: a.label(), next_step: s })
            .collect(),
        summary: e.result.summary(),
        answers: with_answers.then(|| e.answers.clone()),
        at: with_answers.then(|| ts(e.at)),
    }
}

#[derive(Serialize)]
pub struct DecisionJson {
    id: String,
    client_id: String,
    question: String,
    preferred_role: Option<&'static str>,
    /// `deliberating`, `decided` or `deferred`.
    status: &'static str,
    status_text: String,
    decided_what: Option<String>,
    decided_on: Option<String>,
    revisit_on: Option<String>,
    revisit_due: bool,
    options: Vec<OptionJson>,
    criteria: Vec<CriterionJson>,
    ratings: Vec<RatingJson>,
    balance: BTreeMap<&'static str, Vec<String>>,
    statement: Option<String>,
    goals: Vec<String>,
    personal_medicine: Vec<String>,
    concerns: Vec<String>,
    questions: Vec<String>,
    sure: Option<SureJson>,
    created_at: String,
    updated_at: String,
}

fn strings(v: &[ClientWords]) -> Vec<String> {
    v.iter().map(|w| w.as_str().to_owned()).collect()
}

pub(crate) fn option_json(id: OptionId, o: &DecisionOption, today: Date) -> OptionJson {
    let (origin, offered, summary) = match o.origin() {
        OptionOrigin::Offered(k) => ("offered", Some(k.as_str()), Some(k.summary())),
        OptionOrigin::ClientAdded => ("client_added", None, None),
    };
    let attributes = AttributeKind::ALL
        .into_iter()
        .map(|k| {
            let entries = o
                .entries(k)
                .iter()
                .map(|e| EntryJson {
                    text: e.text().as_str().to_owned(),
                    sources: e.sources().iter().map(|s| s.as_str().to_owned()).collect(),
                    reviewed_on: e.reviewed_on().map(format_date),
                })
                .collect();
            (k.as_str(), entries)
        })
        .collect();
    OptionJson {
        id: id.to_string(),
        name: o.name().as_str().to_owned(),
        origin,
        offered,
        summary,
        attributes,
        warnings: balance_check(o, today, MAX_REVIEW_AGE_MONTHS).iter().map(|w| w.message()).collect(),
    }
}

pub(crate) fn decision_json(d: &Decision, today: Date) -> DecisionJson {
    let status = d.data.record.status();
    let (decided_what, decided_on, revisit_on) = match status {
        DecisionStatus::Deliberating => (None, None, None),
        DecisionStatus::Decided { what, on } => (Some(what.as_str().to_owned()), Some(format_date(*on)), None),
        DecisionStatus::Deferred { revisit_on } => (None, None, Some(format_date(*revisit_on))),
    };
    let v = &d.data.voice;
    DecisionJson {
        id: d.id.to_string(),
        client_id: d.client_id.to_string(),
        question: d.data.record.question().as_str().to_owned(),
        preferred_role: d.data.record.preferred_role().map(PreferredRole::as_str),
        status: status.kind().as_str(),
        status_text: status.describe(),
        decided_what,
        decided_on,
        revisit_on,
        revisit_due: d.data.record.revisit_due(today),
        options: d.options.iter().map(|(id, o)| option_json(*id, o, today)).collect(),
        criteria: d
            .criteria
            .iter()
            .map(|c| CriterionJson { id: c.id.to_string(), name: c.name.as_str().to_owned(), importance: c.importance.get() })
            .collect(),
        ratings: d
            .fits
            .iter()
            .map(|(o, c, f)| RatingJson { option_id: o.to_string(), criterion_id: c.to_string(), fit: f.get() })
            .collect(),
        balance: Quadrant::ALL.into_iter().map(|q| (q.as_str(), strings(d.data.balance.entries(q)))).collect(),
        statement: v.statement.as_ref().map(|s| s.as_str().to_owned()),
        goals: strings(&v.goals),
        personal_medicine: strings(&v.personal_medicine),
        concerns: strings(&v.concerns),
        questions: strings(&v.questions),
        sure: d.data.sure.as_ref().map(|s| sure_json(s, true)),
        created_at: ts(d.created_at),
        updated_at: ts(d.updated_at),
    }
}

// ---- handlers ----

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewDecisionJson {
    question: DecisionQuestion,
}

pub async fn create_decision(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<NewDecisionJson>,
) -> ApiResult<Response> {
    let id: ClientId = parse_path_id(&id)?;
    let access = clients::record_access(&state.store, &caller.ctx, &caller.actor(), id).await?;
    let did = store::create_decision(&state.store, &caller.ctx, &access, body.question).await?;
    Ok((StatusCode::CREATED, Json(IdJson::new(did.to_string()))).into_response())
}

pub async fn list_decisions(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
) -> ApiResult<Json<Vec<DecisionJson>>> {
    let id: ClientId = parse_path_id(&id)?;
    let access = clients::record_access(&state.store, &caller.ctx, &caller.actor(), id).await?;
    let list = store::list_decisions(&state.store, &caller.ctx, &access).await?;
    let today = caller.ctx.now.date();
    Ok(Json(list.iter().map(|d| decision_json(d, today)).collect()))
}

pub async fn get_decision(State(state): State<AppState>, caller: ApiCaller, Path(id): Path<String>) -> ApiResult<Json<DecisionJson>> {
    let id: DecisionId = parse_path_id(&id)?;
    let access = store::decision_access(&state.store, &caller.ctx, &caller.actor(), id).await?;
    let d = store::get_decision(&state.store, &caller.ctx, &access, id).await?;
    Ok(Json(decision_json(&d, caller.ctx.now.date())))
}

/// A change of status: `{"status": "decided", "what": "…", "on": "YYYY-MM-DD"}` (on defaults
/// to today), `{"status": "deferred", "revisit_on": "YYYY-MM-DD"}`, `{"status": "deliberating"}`.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct DecisionChangesJson {
    question: Option<DecisionQuestion>,
    #[serde(default, deserialize_with = "super::double_option")]
    preferred_role: Option<Option<String>>,
    status: Option<String>,
    what: Option<String>,
    on: Option<String>,
    revisit_on: Option<String>,
    #[serde(default, deserialize_with = "super::double_option")]
    statement: Option<Option<String>>,
    goals: Option<Vec<String>>,
    personal_medicine: Option<Vec<String>>,
    concerns: Option<Vec<String>>,
    questions: Option<Vec<String>>,
    /// Quadrant name → the entries, in the client's words (replaces that quadrant).
    balance: Option<BTreeMap<String, Vec<String>>>,
}

/// The changes of a PATCH, parsed and checked before anything is written.
pub(crate) struct DecisionChanges {
    question: Option<DecisionQuestion>,
    preferred_role: Option<Option<PreferredRole>>,
    status: Option<StatusChange>,
    statement: Option<Option<ClientWords>>,
    goals: Option<Vec<ClientWords>>,
    personal_medicine: Option<Vec<ClientWords>>,
    concerns: Option<Vec<ClientWords>>,
    questions: Option<Vec<ClientWords>>,
    balance: Vec<(Quadrant, Vec<ClientWords>)>,
}

impl DecisionChanges {
    pub(crate) fn fields(&self) -> String {
        let mut f = Vec::new();
        let checks: [(&str, bool); 9] = [
            ("question", self.question.is_some()),
            ("preferred_role", self.preferred_role.is_some()),
            ("status", self.status.is_some()),
            ("statement", self.statement.is_some()),
            ("goals", self.goals.is_some()),
            ("personal_medicine", self.personal_medicine.is_some()),
            ("concerns", self.concerns.is_some()),
            ("questions", self.questions.is_some()),
            ("balance", !self.balance.is_empty()),
        ];
        for (name, set) in checks {
            if set {
                f.push(name);
            }
        }
        if f.is_empty() { "none".to_owned() } else { f.join(",") }
    }

    /// Applies the changes to a decision's data (the status through the domain's state machine).
    pub(crate) fn apply(self, data: &mut store::DecisionData, today: Date) -> Result<(), StoreError> {
        if let Some(q) = self.question {
            data.record.set_question(q);
        }
        if let Some(r) = self.preferred_role {
            data.record.set_preferred_role(r);
        }
        if let Some(change) = self.status {
            data.record.apply(change, today).map_err(|e| StoreError::Invalid(e.to_string()))?;
        }
        if let Some(s) = self.statement {
            data.voice.statement = s;
        }
        if let Some(v) = self.goals {
            data.voice.goals = v;
        }
        if let Some(v) = self.personal_medicine {
            data.voice.personal_medicine = v;
        }
        if let Some(v) = self.concerns {
            data.voice.concerns = v;
        }
        if let Some(v) = self.questions {
            data.voice.questions = v;
        }
        for (q, entries) in self.balance {
            while data.balance.remove(q, 0).is_some() {}
            for e in entries {
                data.balance.add(q, e).map_err(|e| StoreError::Invalid(e.to_string()))?;
            }
        }
        Ok(())
    }
}

pub(crate) fn parse_status(
    status: &str,
    what: Option<&str>,
    on: Option<&str>,
    revisit_on: Option<&str>,
    today: Date,
) -> Result<StatusChange, AppError> {
    match status {
        "decided" => {
            let what = what
                .filter(|w| !w.trim().is_empty())
                .ok_or_else(|| AppError::Unprocessable("a decision needs what was decided (what)".into()))?;
            let what = ClientWords::parse(what).map_err(|e| field_error("what", e))?;
            let on = match on.filter(|o| !o.trim().is_empty()) {
                Some(o) => parse_date(o, "on")?,
                None => today,
            };
            Ok(StatusChange::Decide { what, on })
        }
        "deferred" => {
            let raw = revisit_on
                .filter(|r| !r.trim().is_empty())
                .ok_or_else(|| AppError::Unprocessable("a deferred decision needs a revisit_on date".into()))?;
            Ok(StatusChange::Defer { revisit_on: parse_date(raw, "revisit_on")? })
        }
        "deliberating" => Ok(StatusChange::Reopen),
        _ => Err(AppError::Unprocessable("status must be deliberating, decided or deferred".into())),
    }
}

pub(crate) fn parse_balance(raw: BTreeMap<String, Vec<String>>) -> Result<Vec<(Quadrant, Vec<ClientWords>)>, AppError> {
    raw.into_iter()
        .map(|(k, v)| -> Result<(Quadrant, Vec<ClientWords>), AppError> {
            let q: Quadrant = k.parse()?;
            Ok((q, words_list(v, q.as_str())?))
        })
        .collect()
}

fn parse_changes(body: DecisionChangesJson, today: Date) -> Result<DecisionChanges, AppError> {
    let preferred_role = match body.preferred_role {
        None => None,
        Some(None) => Some(None),
        Some(Some(r)) => Some(Some(r.parse::<PreferredRole>()?)),
    };
    let status = match body.status.as_deref() {
        Some(s) => Some(parse_status(s, body.what.as_deref(), body.on.as_deref(), body.revisit_on.as_deref(), today)?),
        None if body.what.is_some() || body.on.is_some() || body.revisit_on.is_some() => {
            return Err(AppError::Unprocessable("what, on and revisit_on go with a status".into()));
        }
        None => None,
    };
    let statement = match body.statement {
        None => None,
        Some(None) => Some(None),
        Some(Some(s)) if s.trim().is_empty() => Some(None),
        Some(Some(s)) => Some(Some(ClientWords::parse(&s).map_err(|e| field_error("statement", e))?)),
    };
    Ok(DecisionChanges {
        question: body.question,
        preferred_role,
        status,
        statement,
        goals: body.goals.map(|v| words_list(v, "goals")).transpose()?,
        personal_medicine: body.personal_medicine.map(|v| words_list(v, "personal_medicine")).transpose()?,
        concerns: body.concerns.map(|v| words_list(v, "concerns")).transpose()?,
        questions: body.questions.map(|v| words_list(v, "questions")).transpose()?,
        balance: body.balance.map(parse_balance).transpose()?.unwrap_or_default(),
    })
}

pub async fn patch_decision(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<DecisionChangesJson>,
) -> ApiResult<Json<DecisionJson>> {
    let id: DecisionId = parse_path_id(&id)?;
    let access = store::decision_access(&state.store, &caller.ctx, &caller.actor(), id).await?;
    let today = caller.ctx.now.date();
    let changes = parse_changes(body, today)?;
    let fields = changes.fields();
    let d = store::update_decision(&state.store, &caller.ctx, &access, id, &fields, |data| changes.apply(data, today)).await?;
    Ok(Json(decision_json(&d, today)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EntryInJson {
    text: EntryText,
    #[serde(default)]
    sources: Vec<SourceRef>,
    reviewed_on: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewOptionJson {
    name: OptionName,
    #[serde(default)]
    benefits: Vec<EntryInJson>,
    #[serde(default)]
    harms: Vec<EntryInJson>,
    #[serde(default)]
    living_with_it: Vec<EntryInJson>,
    #[serde(default)]
    time_to_effect: Vec<EntryInJson>,
    #[serde(default)]
    practical_considerations: Vec<EntryInJson>,
}

pub async fn create_option(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<NewOptionJson>,
) -> ApiResult<Response> {
    let id: DecisionId = parse_path_id(&id)?;
    let access = store::decision_access(&state.store, &caller.ctx, &caller.actor(), id).await?;
    let mut option = DecisionOption::client_added(body.name);
    for (kind, entries) in [
        (AttributeKind::Benefits, body.benefits),
        (AttributeKind::Harms, body.harms),
        (AttributeKind::LivingWithIt, body.living_with_it),
        (AttributeKind::TimeToEffect, body.time_to_effect),
        (AttributeKind::PracticalConsiderations, body.practical_considerations),
    ] {
        for e in entries {
            let reviewed_on = e.reviewed_on.as_deref().map(|r| parse_date(r, "reviewed_on")).transpose()?;
            option.add_entry(kind, AttributeEntry::new(e.text, e.sources, reviewed_on)?)?;
        }
    }
    let oid = store::add_option(&state.store, &caller.ctx, &access, id, &option).await?;
    Ok((StatusCode::CREATED, Json(IdJson::new(oid.to_string()))).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewCriterionJson {
    name: CriterionName,
    importance: Importance,
}

pub async fn create_criterion(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<NewCriterionJson>,
) -> ApiResult<Response> {
    let id: DecisionId = parse_path_id(&id)?;
    let access = store::decision_access(&state.store, &caller.ctx, &caller.actor(), id).await?;
    let cid = store::add_criterion(&state.store, &caller.ctx, &access, id, &body.name, body.importance).await?;
    Ok((StatusCode::CREATED, Json(IdJson::new(cid.to_string()))).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CriterionChangeJson {
    importance: Importance,
}

pub async fn patch_criterion(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path((id, criterion)): Path<(String, String)>,
    ApiJson(body): ApiJson<CriterionChangeJson>,
) -> ApiResult<Json<CriterionJson>> {
    let id: DecisionId = parse_path_id(&id)?;
    let criterion: CriterionId = parse_path_id(&criterion)?;
    let access = store::decision_access(&state.store, &caller.ctx, &caller.actor(), id).await?;
    store::set_importance(&state.store, &caller.ctx, &access, id, criterion, body.importance).await?;
    let d = store::get_decision(&state.store, &caller.ctx, &access, id).await?;
    let c = d.criteria.iter().find(|c| c.id == criterion).ok_or(AppError::NotFound)?;
    Ok(Json(CriterionJson { id: c.id.to_string(), name: c.name.as_str().to_owned(), importance: c.importance.get() }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RatingInJson {
    option_id: String,
    criterion_id: String,
    fit: Fit,
}

pub async fn put_rating(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<RatingInJson>,
) -> ApiResult<Json<RatingJson>> {
    let id: DecisionId = parse_path_id(&id)?;
    let access = store::decision_access(&state.store, &caller.ctx, &caller.actor(), id).await?;
    let option: OptionId = body.option_id.parse().map_err(|_| AppError::Unprocessable("option_id is not an option id".into()))?;
    let criterion: CriterionId =
        body.criterion_id.parse().map_err(|_| AppError::Unprocessable("criterion_id is not a criterion id".into()))?;
    store::set_rating(&state.store, &caller.ctx, &access, id, option, criterion, body.fit).await?;
    Ok(Json(RatingJson { option_id: option.to_string(), criterion_id: criterion.to_string(), fit: body.fit.get() }))
}

#[derive(Serialize)]
pub struct ComparedOptionJson {
    id: String,
    name: String,
    /// Weighted fit, 0 to 100.
    score: f64,
    points: u64,
    max_points: u64,
    rank: usize,
    tied: bool,
    unrated_criteria: Vec<String>,
}

#[derive(Serialize)]
pub struct SensitivityJson {
    criterion_id: String,
    criterion: String,
    direction: &'static str,
    from: u8,
    to: u8,
    change: u8,
    best_before: Vec<String>,
    best_after: Vec<String>,
    sentence: String,
}

#[derive(Serialize)]
pub struct ComparisonJson {
    /// Best weighted fit first.
    options: Vec<ComparedOptionJson>,
    /// For each criterion, the smallest change of its importance that changes which option
    /// fits best; the smallest change first.
    sensitivity: Vec<SensitivityJson>,
    mirror: String,
    sensitivity_sentence: String,
    note: &'static str,
}

pub(crate) fn comparison(d: &Decision) -> ComparisonJson {
    let ratings = d.ratings();
    let fits = weighted_fit(&d.criteria, &ratings);
    let mut sens = sensitivities(&d.criteria, &ratings);
    sens.sort_by_key(|s| s.change);
    let name = |o: &OptionId| d.option_name(o);
    let cname = |c: &CriterionId| d.criterion_name(c);
    ComparisonJson {
        options: fits
            .iter()
            .map(|f| ComparedOptionJson {
                id: f.option.to_string(),
                name: name(&f.option),
                score: (f.score * 10.0).round() / 10.0,
                points: f.points,
                max_points: f.max_points,
                rank: f.rank,
                tied: f.tied,
                unrated_criteria: f.unrated.iter().map(|c| c.to_string()).collect(),
            })
            .collect(),
        sensitivity: sens
            .iter()
            .map(|s| SensitivityJson {
                criterion_id: s.criterion.to_string(),
                criterion: cname(&s.criterion),
                direction: match s.direction {
                    concord_domain::decisions::Direction::Increase => "increase",
                    concord_domain::decisions::Direction::Decrease => "decrease",
                },
                from: s.from.get(),
                to: s.to.get(),
                change: s.change,
                best_before: s.best_before.iter().map(|o| o.to_string()).collect(),
                best_after: s.best_after.iter().map(|o| o.to_string()).collect(),
                sentence: sensitivity_sentence(Some(s), cname, name),
            })
            .collect(),
        mirror: mirror_sentence(&fits, name),
        sensitivity_sentence: sensitivity_sentence(sens.first(), cname, name),
        note: MIRROR_NOTE,
    }
}

pub async fn get_comparison(State(state): State<AppState>, caller: ApiCaller, Path(id): Path<String>) -> ApiResult<Json<ComparisonJson>> {
    let id: DecisionId = parse_path_id(&id)?;
    let access = store::decision_access(&state.store, &caller.ctx, &caller.actor(), id).await?;
    let d = store::get_decision(&state.store, &caller.ctx, &access, id).await?;
    Ok(Json(comparison(&d)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SureInJson {
    answers: Vec<bool>,
}

/// Scores a SURE test (4 yes/no answers, in item order) with the shipped `sure` instrument.
pub fn score_sure_answers(answers: &[bool], at: i64) -> Result<SureEntry, AppError> {
    let registry = concord_domain::measures::Registry::shipped().map_err(|e| AppError::Internal(format!("instruments: {e}")))?;
    let instrument =
        registry.get(concord_domain::decisions::sure::SURE_INSTRUMENT_ID).ok_or_else(|| AppError::Internal("no sure instrument".into()))?;
    let result =
        score_sure(instrument, answers).map_err(|e| AppError::Unprocessable(format!("the SURE test takes 4 yes/no answers: {e}")))?;
    Ok(SureEntry { answers: answers.to_vec(), result, at })
}

pub async fn post_sure(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<SureInJson>,
) -> ApiResult<Json<SureJson>> {
    let id: DecisionId = parse_path_id(&id)?;
    let access = store::decision_access(&state.store, &caller.ctx, &caller.actor(), id).await?;
    let entry = score_sure_answers(&body.answers, caller.ctx.ts())?;
    let out = sure_json(&entry, false);
    store::update_decision(&state.store, &caller.ctx, &access, id, "sure", move |data| {
        data.sure = Some(entry);
        Ok(())
    })
    .await?;
    Ok(Json(out))
}

#[derive(Serialize)]
pub struct DossierJson {
    id: String,
    version: i64,
    created_at: String,
    sha256: String,
    decision_id: Option<String>,
    pdf: String,
}

fn dossier_json(m: &DossierMeta) -> DossierJson {
    DossierJson {
        id: m.id.to_string(),
        version: m.version,
        created_at: ts(m.created_at),
        sha256: m.sha256.clone(),
        decision_id: m.decision_id.map(|d| d.to_string()),
        pdf: format!("/api/v1/dossiers/{}.pdf", m.id),
    }
}

pub async fn create_dossier(State(state): State<AppState>, caller: ApiCaller, Path(id): Path<String>) -> ApiResult<Response> {
    let id: ClientId = parse_path_id(&id)?;
    let access = clients::record_access(&state.store, &caller.ctx, &caller.actor(), id).await?;
    let meta = dossier::generate(&state.store, &caller.ctx, &access).await?;
    Ok((StatusCode::CREATED, Json(dossier_json(&meta))).into_response())
}

pub async fn list_dossiers(State(state): State<AppState>, caller: ApiCaller, Path(id): Path<String>) -> ApiResult<Json<Vec<DossierJson>>> {
    let id: ClientId = parse_path_id(&id)?;
    let access = clients::record_access(&state.store, &caller.ctx, &caller.actor(), id).await?;
    let list = store::list_dossiers(&state.store, &caller.ctx, &access).await?;
    Ok(Json(list.iter().map(dossier_json).collect()))
}

/// A PDF response that is never cached by shared caches and downloads with a plain name.
pub(crate) fn pdf_response(meta: &DossierMeta, pdf: Vec<u8>) -> Response {
    let mut resp = pdf.into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/pdf"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-store"));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"decision-dossier-v{}.pdf\"", meta.version)) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    resp
}

/// `GET /api/v1/dossiers/{id}.pdf` (served at `/api/v1/dossiers/{file}`: the router cannot
/// match a parameter followed by a suffix, so the handler takes the `.pdf` off).
pub async fn get_dossier_pdf(State(state): State<AppState>, caller: ApiCaller, Path(file): Path<String>) -> ApiResult<Response> {
    let id: DossierId = parse_path_id(file.strip_suffix(".pdf").ok_or(AppError::NotFound)?)?;
    let access = store::dossier_access(&state.store, &caller.ctx, &caller.actor(), id).await?;
    let (meta, pdf) = store::dossier_pdf(&state.store, &caller.ctx, &access, id).await?;
    Ok(pdf_response(&meta, pdf))
}
