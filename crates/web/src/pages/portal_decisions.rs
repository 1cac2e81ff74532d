//! The client's decision worksheet in the portal (issue 5): their statement and goals, how
//! important each criterion is, the decisional balance grid, questions for the prescriber
//! (with suggestions to pick from) and the SURE test. The therapist sees the same record.
//!
//! Security Invariant: a portal session reaches only its own client's latest decision
//! (`concord_store::decisions::portal_*` scope every query by the session's practice and
//! client); a decision id in the form that is not that decision is refused.

use super::decisions::{QuadrantView, SureItemView, VoiceForm, balance_views, lines, sure_answers, sure_item_views, sure_steps};
use super::portal::PortalCaller;
use crate::api::decisions::score_sure_answers;
use crate::auth::PageForm;
use crate::dossier::SUGGESTED_QUESTIONS;
use crate::error::AppError;
use crate::state::AppState;
use crate::view::render;
use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use concord_domain::decisions::{DecisionId, Importance};
use concord_domain::ids::CriterionId;
use concord_store::StoreError;
use concord_store::decisions::{self as store, Decision};

pub struct WeightView {
    pub id: String,
    pub name: String,
    pub importance: u8,
}

#[derive(Template)]
#[template(path = "portal_decision.html")]
pub struct PortalDecisionPage {
    pub title: String,
    pub signed_in: bool,
    pub decision_id: String,
    pub question: String,
    pub status: String,
    pub statement: String,
    pub goals: String,
    pub personal_medicine: String,
    pub concerns: String,
    pub questions: String,
    pub suggested: Vec<&'static str>,
    pub weights: Vec<WeightView>,
    pub balance: Vec<QuadrantView>,
    pub sure_items: Vec<SureItemView>,
    pub sure_summary: Option<String>,
    pub sure_steps: Vec<(&'static str, &'static str)>,
    pub error: Option<String>,
    pub saved: bool,
}

#[derive(Template)]
#[template(path = "portal_message.html")]
struct NoDecision {
    title: String,
    signed_in: bool,
    heading: String,
    message: String,
    hint: Option<String>,
    alert: bool,
}

fn page(d: &Decision, error: Option<String>, saved: bool) -> PortalDecisionPage {
    let v = &d.data.voice;
    PortalDecisionPage {
        title: "Your decision worksheet".into(),
        signed_in: true,
        decision_id: d.id.to_string(),
        question: d.data.record.question().as_str().to_owned(),
        status: d.data.record.status().describe(),
        statement: v.statement.as_ref().map(|s| s.as_str().to_owned()).unwrap_or_default(),
        goals: lines(&v.goals),
        personal_medicine: lines(&v.personal_medicine),
        concerns: lines(&v.concerns),
        questions: lines(&v.questions),
        suggested: SUGGESTED_QUESTIONS.iter().copied().filter(|q| !v.questions.iter().any(|x| x.as_str() == *q)).collect(),
        weights: d
            .criteria
            .iter()
            .map(|c| WeightView { id: c.id.to_string(), name: c.name.as_str().to_owned(), importance: c.importance.get() })
            .collect(),
        balance: balance_views(d),
        sure_items: sure_item_views(d),
        sure_summary: d.data.sure.as_ref().map(|s| s.result.summary()),
        sure_steps: sure_steps(d),
        error,
        saved,
    }
}

fn failure(e: StoreError) -> Response {
    let status = match e {
        StoreError::NotFound => StatusCode::NOT_FOUND,
        StoreError::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    };
    if status == StatusCode::INTERNAL_SERVER_ERROR {
        tracing::error!(cause = "store", "portal decision failed");
    }
    (status, render(&no_decision("Something went wrong", "Please try again in a moment."))).into_response()
}

fn no_decision(heading: &str, body: &str) -> NoDecision {
    NoDecision {
        title: "Your decision worksheet".into(),
        signed_in: true,
        heading: heading.into(),
        message: body.into(),
        hint: None,
        alert: false,
    }
}

/// `GET /portal/decision`.
pub async fn show(State(state): State<AppState>, caller: PortalCaller) -> Response {
    match store::portal_latest_decision(&state.store, &caller.ctx, &caller.access).await {
        Ok(Some(d)) => render(&page(&d, None, false)),
        Ok(None) => render(&no_decision(
            "No decision worksheet yet",
            "Your therapist has not started a decision worksheet with you. You can ask about it at your next session.",
        )),
        Err(e) => failure(e),
    }
}

fn field<'a>(form: &'a [(String, String)], name: &str) -> Option<&'a str> {
    super::decisions::field(form, name)
}

/// The worksheet's voice and grid, and the criteria weights the client changed.
fn parse_save(d: &Decision, form: &[(String, String)]) -> Result<(VoiceForm, Vec<(CriterionId, Importance)>), AppError> {
    let mut weights = Vec::new();
    for c in &d.criteria {
        if let Some(raw) = field(form, &format!("importance_{}", c.id)).map(str::trim).filter(|s| !s.is_empty()) {
            let v: i64 = raw.parse().map_err(|_| AppError::Unprocessable(format!("How important is \"{}\": choose 0 to 10", c.name)))?;
            let imp =
                Importance::new(v).map_err(|_| AppError::Unprocessable(format!("How important is \"{}\": choose 0 to 10", c.name)))?;
            if imp != c.importance {
                weights.push((c.id, imp));
            }
        }
    }
    Ok((VoiceForm::parse(form)?, weights))
}

/// `POST /portal/decision`: `action=save` (statement, goals, weights, balance grid,
/// questions) or `action=sure`.
pub async fn save(State(state): State<AppState>, caller: PortalCaller, PageForm(form): PageForm<Vec<(String, String)>>) -> Response {
    let (store_, ctx, access) = (&state.store, &caller.ctx, &caller.access);
    let d = match store::portal_latest_decision(store_, ctx, access).await {
        Ok(Some(d)) => d,
        Ok(None) => return failure(StoreError::NotFound),
        Err(e) => return failure(e),
    };
    // The form names the decision it was rendered for; a stale or foreign id is refused.
    if let Some(raw) = field(&form, "decision_id")
        && raw.parse::<DecisionId>().ok() != Some(d.id)
    {
        return (
            StatusCode::CONFLICT,
            render(&page(&d, Some("This worksheet changed since you opened it. Please check it and save again.".into()), false)),
        )
            .into_response();
    }
    let again = |msg: String| (StatusCode::UNPROCESSABLE_ENTITY, render(&page(&d, Some(msg), false))).into_response();
    let result = match field(&form, "action").unwrap_or("") {
        "save" => {
            let (voice, weights) = match parse_save(&d, &form) {
                Ok(c) => c,
                Err(e) => return again(e.public_message()),
            };
            for (cid, imp) in &weights {
                if let Err(e) = store::portal_set_importance(store_, ctx, access, d.id, *cid, *imp).await {
                    return failure(e);
                }
            }
            store::portal_update_decision(store_, ctx, access, d.id, "worksheet", move |data| voice.apply(data)).await
        }
        "sure" => {
            let Some(answers) = sure_answers(&form) else {
                return again("Please answer each of the four questions yes or no.".into());
            };
            let entry = match score_sure_answers(&answers, ctx.ts()) {
                Ok(e) => e,
                Err(e) => return again(e.public_message()),
            };
            store::portal_update_decision(store_, ctx, access, d.id, "sure", move |data| {
                data.sure = Some(entry);
                Ok(())
            })
            .await
        }
        _ => return again("Please use the buttons on this page.".into()),
    };
    match result {
        Ok(_) => Redirect::to("/portal/decision#saved").into_response(),
        Err(StoreError::Invalid(m)) => again(m),
        Err(e) => failure(e),
    }
}
