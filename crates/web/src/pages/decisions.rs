//! The decision worksheet on the client record (issue 5): the question, the client's preferred
//! role and the status; the options side by side with equal space for pros and cons; the
//! client's criteria, weights and ratings; the weighted fit as a mirror sentence with its
//! sensitivity; the decisional balance grid; SURE; the client's own voice with suggested
//! questions; and the decision dossier (generate, list snapshots, download).
//!
//! Product rule: the worksheet never recommends. The comparison is worded by
//! `concord_domain::decisions` as a reflection of what the client said.

use super::nav;
use crate::api::decisions::{MAX_REVIEW_AGE_MONTHS, parse_status, score_sure_answers};
use crate::auth::{PageForm, Staff, parse_path_id};
use crate::dossier::SUGGESTED_QUESTIONS;
use crate::error::{AppError, PageError};
use crate::state::AppState;
use crate::view::{Nav, fmt_date, render};
use askama::Template;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use concord_domain::decisions::options::balance_check;
use concord_domain::decisions::readiness::{READINESS_INSTRUMENT_ID, readiness_reflections};
use concord_domain::decisions::sure::SureArea;
use concord_domain::decisions::weighing::MIRROR_NOTE;
use concord_domain::decisions::{
    AttributeKind, ClientWords, CriterionName, DecisionOption, DecisionQuestion, Fit, Importance, OptionName, PreferredRole, Quadrant,
    mirror_sentence, sensitivity, sensitivity_sentence, weighted_fit,
};
use concord_domain::ids::{ClientId, CriterionId, DecisionId, DossierId, OptionId};
use concord_domain::values::format_date;
use concord_store::StoreError;
use concord_store::clients;
use concord_store::decisions::{self as store, Decision, DecisionData, MAX_VOICE_ENTRIES};
use concord_store::measures as store_measures;
use time::OffsetDateTime;

pub struct AttributeView {
    pub label: &'static str,
    pub entries: Vec<String>,
}

pub struct OptionView {
    pub id: String,
    pub name: String,
    pub summary: String,
    pub pros: AttributeView,
    pub cons: AttributeView,
    pub other: Vec<AttributeView>,
    pub warnings: Vec<String>,
}

pub struct CriterionRow {
    pub id: String,
    pub name: String,
    pub importance: u8,
    /// (input name, option name, current fit or "").
    pub fits: Vec<(String, String, String)>,
}

pub struct ScoreRow {
    pub name: String,
    pub score: String,
}

pub struct QuadrantView {
    pub key: &'static str,
    pub label: &'static str,
    pub prompt: &'static str,
    pub text: String,
}

pub struct SureItemView {
    pub key: &'static str,
    pub question: &'static str,
    pub yes: bool,
}

pub struct DossierRow {
    pub version: i64,
    pub created: String,
    pub href: String,
}

pub struct WorksheetView {
    pub action: String,
    pub question: String,
    pub roles: Vec<(&'static str, &'static str, bool)>,
    pub status: String,
    pub status_kind: &'static str,
    pub revisit_due: bool,
    pub options: Vec<OptionView>,
    pub option_names: Vec<String>,
    pub criteria: Vec<CriterionRow>,
    pub scores: Vec<ScoreRow>,
    pub mirror: String,
    pub sensitivity: String,
    pub note: &'static str,
    pub balance: Vec<QuadrantView>,
    pub statement: String,
    pub goals: String,
    pub personal_medicine: String,
    pub concerns: String,
    pub questions: String,
    pub suggested: Vec<&'static str>,
    pub sure_items: Vec<SureItemView>,
    pub sure_summary: Option<String>,
    pub sure_steps: Vec<(&'static str, &'static str)>,
}

#[derive(Template)]
#[template(path = "decisions.html")]
pub struct DecisionsPage {
    pub title: String,
    pub nav: Option<Nav>,
    pub client_name: String,
    pub client_href: String,
    pub start_action: String,
    pub dossier_action: String,
    pub worksheet: Option<WorksheetView>,
    pub dossiers: Vec<DossierRow>,
    /// The latest readiness rulers: (ruler, value 0–10, reflective follow-up), and their date.
    pub readiness: Vec<(&'static str, u8, String)>,
    pub readiness_date: String,
}

/// Entries one per line, as the worksheet's text areas hold them.
pub(crate) fn lines(v: &[ClientWords]) -> String {
    v.iter().map(|w| w.as_str()).collect::<Vec<_>>().join("\n")
}

/// The balance grid's four quadrants with their entries (therapist and portal pages).
pub(crate) fn balance_views(d: &Decision) -> Vec<QuadrantView> {
    Quadrant::ALL
        .into_iter()
        .map(|q| QuadrantView { key: q.as_str(), label: q.label(), prompt: q.prompt(), text: lines(d.data.balance.entries(q)) })
        .collect()
}

/// The four SURE questions with the latest answers.
pub(crate) fn sure_item_views(d: &Decision) -> Vec<SureItemView> {
    SURE_QUESTIONS
        .iter()
        .map(|(a, q)| SureItemView {
            key: a.as_str(),
            question: q,
            yes: d.data.sure.as_ref().is_some_and(|s| !s.result.missing.contains(a)),
        })
        .collect()
}

/// The Ottawa guide's next step for each area the latest SURE found missing.
pub(crate) fn sure_steps(d: &Decision) -> Vec<(&'static str, &'static str)> {
    d.data.sure.as_ref().map(|s| s.result.next_steps().into_iter().map(|(a, t)| (a.label(), t)).collect()).unwrap_or_default()
}

const SURE_QUESTIONS: [(SureArea, &str); 4] = [
    (SureArea::Certainty, "Do you feel SURE about the best choice for you?"),
    (SureArea::Knowledge, "Do you know the benefits and risks of each option?"),
    (SureArea::ValuesClarity, "Are you clear about which benefits and risks matter most to you?"),
    (SureArea::Support, "Do you have enough support and advice to make a choice?"),
];

pub(crate) fn worksheet(d: &Decision, client: ClientId, today: time::Date) -> WorksheetView {
    let ratings = d.ratings();
    let fits = weighted_fit(&d.criteria, &ratings);
    let name = |o: &OptionId| d.option_name(o);
    let cname = |c: &CriterionId| d.criterion_name(c);
    let record = &d.data.record;
    let voice = &d.data.voice;
    let options = d
        .options
        .iter()
        .map(|(id, o)| {
            let attr = |k: AttributeKind| AttributeView {
                label: k.label(),
                entries: o.entries(k).iter().map(|e| e.text().as_str().to_owned()).collect(),
            };
            OptionView {
                id: id.to_string(),
                name: o.name().as_str().to_owned(),
                summary: match o.origin() {
                    concord_domain::decisions::OptionOrigin::Offered(k) => k.summary().to_owned(),
                    concord_domain::decisions::OptionOrigin::ClientAdded => "An option the client added.".to_owned(),
                },
                pros: attr(AttributeKind::Benefits),
                cons: attr(AttributeKind::Harms),
                other: [AttributeKind::LivingWithIt, AttributeKind::TimeToEffect, AttributeKind::PracticalConsiderations]
                    .into_iter()
                    .map(attr)
                    .collect(),
                warnings: balance_check(o, today, MAX_REVIEW_AGE_MONTHS).iter().map(|w| w.message()).collect(),
            }
        })
        .collect();
    WorksheetView {
        action: format!("/clients/{client}/decisions/{}", d.id),
        question: record.question().as_str().to_owned(),
        roles: PreferredRole::ALL.into_iter().map(|r| (r.as_str(), r.label(), record.preferred_role() == Some(r))).collect(),
        status: record.status().describe(),
        status_kind: record.status().kind().as_str(),
        revisit_due: record.revisit_due(today),
        options,
        option_names: d.options.iter().map(|(_, o)| o.name().as_str().to_owned()).collect(),
        criteria: d
            .criteria
            .iter()
            .map(|c| CriterionRow {
                id: c.id.to_string(),
                name: c.name.as_str().to_owned(),
                importance: c.importance.get(),
                fits: d
                    .options
                    .iter()
                    .map(|(o, opt)| {
                        (
                            format!("fit_{o}_{}", c.id),
                            opt.name().as_str().to_owned(),
                            ratings.get(*o, c.id).map(|f| f.get().to_string()).unwrap_or_default(),
                        )
                    })
                    .collect(),
            })
            .collect(),
        scores: fits.iter().map(|f| ScoreRow { name: name(&f.option), score: format!("{:.0}", f.score) }).collect(),
        mirror: if d.criteria.is_empty() {
            "Add what matters to the client to see how each option fits.".to_owned()
        } else {
            mirror_sentence(&fits, name)
        },
        sensitivity: if d.criteria.is_empty() {
            String::new()
        } else {
            sensitivity_sentence(sensitivity(&d.criteria, &ratings).as_ref(), cname, name)
        },
        note: MIRROR_NOTE,
        balance: balance_views(d),
        statement: voice.statement.as_ref().map(|s| s.as_str().to_owned()).unwrap_or_default(),
        goals: lines(&voice.goals),
        personal_medicine: lines(&voice.personal_medicine),
        concerns: lines(&voice.concerns),
        questions: lines(&voice.questions),
        suggested: SUGGESTED_QUESTIONS.iter().copied().filter(|q| !voice.questions.iter().any(|v| v.as_str() == *q)).collect(),
        sure_items: sure_item_views(d),
        sure_summary: d.data.sure.as_ref().map(|s| s.result.summary()),
        sure_steps: sure_steps(d),
    }
}

pub async fn show(State(state): State<AppState>, staff: Staff, Path(id): Path<String>) -> Result<Response, PageError> {
    let id: ClientId = parse_path_id(&id)?;
    let (access, rec) = clients::open_record(&state.store, &staff.ctx, &staff.actor(), id).await?;
    let decisions = store::list_decisions(&state.store, &staff.ctx, &access).await?;
    let dossiers = store::list_dossiers(&state.store, &staff.ctx, &access).await?;
    let today = staff.ctx.now.date();
    let rulers = store_measures::list_responses(&state.store, &staff.ctx, &access, Some(READINESS_INSTRUMENT_ID)).await?;
    let latest = rulers.last();
    let readiness = latest
        .and_then(|r| readiness_reflections(&r.score).ok())
        .unwrap_or_default()
        .into_iter()
        .map(|r| (r.ruler.label(), r.value, r.text))
        .collect();
    Ok(render(&DecisionsPage {
        readiness,
        readiness_date: latest.map(|r| fmt_date(r.completed_at)).unwrap_or_default(),
        title: format!("Decision worksheet — {}", rec.name),
        nav: nav(&staff, "caseload"),
        client_name: rec.name,
        client_href: format!("/clients/{id}"),
        start_action: format!("/clients/{id}/decisions"),
        dossier_action: format!("/clients/{id}/dossiers"),
        worksheet: decisions.first().map(|d| worksheet(d, id, today)),
        dossiers: dossiers
            .iter()
            .map(|m| DossierRow {
                version: m.version,
                created: OffsetDateTime::from_unix_timestamp(m.created_at).map(|t| format_date(t.date())).unwrap_or_default(),
                href: format!("/clients/{id}/dossiers/{}", m.id),
            })
            .collect(),
    })
    .into_response())
}

#[derive(serde::Deserialize)]
pub struct StartForm {
    question: String,
}

pub async fn start(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    PageForm(form): PageForm<StartForm>,
) -> Result<Response, PageError> {
    let id: ClientId = parse_path_id(&id)?;
    let access = clients::record_access(&state.store, &staff.ctx, &staff.actor(), id).await?;
    let question = DecisionQuestion::parse(&form.question).map_err(AppError::from)?;
    store::create_decision(&state.store, &staff.ctx, &access, question).await?;
    Ok(Redirect::to(&format!("/clients/{id}/decisions")).into_response())
}

pub(crate) fn field<'a>(form: &'a [(String, String)], name: &str) -> Option<&'a str> {
    form.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

fn words_lines(raw: &str, what: &str) -> Result<Vec<ClientWords>, AppError> {
    let v: Vec<&str> = raw.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
    if v.len() > MAX_VOICE_ENTRIES {
        return Err(AppError::Unprocessable(format!("{what} may hold at most {MAX_VOICE_ENTRIES} entries")));
    }
    v.into_iter().map(|l| ClientWords::parse(l).map_err(|e| AppError::Unprocessable(format!("{what}: {e}")))).collect()
}

/// The client's voice and the balance grid from a worksheet form; the therapist's and the
/// portal's forms share the field names (one line per entry).
pub(crate) struct VoiceForm {
    statement: Option<ClientWords>,
    goals: Vec<ClientWords>,
    personal_medicine: Vec<ClientWords>,
    concerns: Vec<ClientWords>,
    questions: Vec<ClientWords>,
    balance: Vec<(Quadrant, Vec<ClientWords>)>,
}

impl VoiceForm {
    pub(crate) fn parse(form: &[(String, String)]) -> Result<Self, AppError> {
        let statement = field(form, "statement").map(str::trim).filter(|s| !s.is_empty()).map(ClientWords::parse).transpose()?;
        let mut questions = words_lines(field(form, "questions").unwrap_or(""), "Questions")?;
        for (k, v) in form {
            if k == "suggested" && !questions.iter().any(|q| q.as_str() == v) {
                questions.push(ClientWords::parse(v)?);
            }
        }
        let mut balance = Vec::new();
        for q in Quadrant::ALL {
            balance.push((q, words_lines(field(form, q.as_str()).unwrap_or(""), q.label())?));
        }
        Ok(Self {
            statement,
            goals: words_lines(field(form, "goals").unwrap_or(""), "Goals")?,
            personal_medicine: words_lines(field(form, "personal_medicine").unwrap_or(""), "What you already do to stay well")?,
            concerns: words_lines(field(form, "concerns").unwrap_or(""), "Concerns")?,
            questions,
            balance,
        })
    }

    /// Replaces the voice and the grid with what the form holds.
    pub(crate) fn apply(self, data: &mut DecisionData) -> Result<(), StoreError> {
        data.voice.statement = self.statement;
        data.voice.goals = self.goals;
        data.voice.personal_medicine = self.personal_medicine;
        data.voice.concerns = self.concerns;
        data.voice.questions = self.questions;
        for (q, entries) in self.balance {
            while data.balance.remove(q, 0).is_some() {}
            for e in entries {
                data.balance.add(q, e).map_err(|e| StoreError::Invalid(e.to_string()))?;
            }
        }
        Ok(())
    }
}

/// The four SURE answers from a form (`yes`/`no` per area), or `None` when one is missing.
pub(crate) fn sure_answers(form: &[(String, String)]) -> Option<Vec<bool>> {
    SURE_QUESTIONS
        .iter()
        .map(|(a, _)| match field(form, a.as_str()) {
            Some("yes") => Some(true),
            Some("no") => Some(false),
            _ => None,
        })
        .collect()
}

/// The worksheet's forms, told apart by their `action` field: `save` (role, the client's
/// voice, balance grid, weights and ratings), `status`, `add_option`, `add_criterion`, `sure`.
pub async fn update(
    State(state): State<AppState>,
    staff: Staff,
    Path((id, decision)): Path<(String, String)>,
    PageForm(form): PageForm<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let id: ClientId = parse_path_id(&id)?;
    let decision: DecisionId = parse_path_id(&decision)?;
    let access = clients::record_access(&state.store, &staff.ctx, &staff.actor(), id).await?;
    let ctx = &staff.ctx;
    let today = ctx.now.date();
    let back = format!("/clients/{id}/decisions");
    match field(&form, "action").unwrap_or("") {
        "save" => {
            // Weights and ratings first (each checked against this decision by the store).
            let d = store::get_decision(&state.store, ctx, &access, decision).await?;
            for c in &d.criteria {
                if let Some(raw) = field(&form, &format!("importance_{}", c.id)).map(str::trim).filter(|s| !s.is_empty()) {
                    let v: i64 =
                        raw.parse().map_err(|_| AppError::Unprocessable("importance must be a whole number from 0 to 10".into()))?;
                    let imp = Importance::new(v)?;
                    if imp != c.importance {
                        store::set_importance(&state.store, ctx, &access, decision, c.id, imp).await?;
                    }
                }
                for (o, _) in &d.options {
                    if let Some(raw) = field(&form, &format!("fit_{o}_{}", c.id)).map(str::trim).filter(|s| !s.is_empty()) {
                        let v: i64 = raw.parse().map_err(|_| AppError::Unprocessable("fit must be a whole number from 0 to 10".into()))?;
                        let fit = Fit::new(v)?;
                        if ratings_differ(&d, *o, c.id, fit) {
                            store::set_rating(&state.store, ctx, &access, decision, *o, c.id, fit).await?;
                        }
                    }
                }
            }
            let role = match field(&form, "preferred_role").map(str::trim).filter(|s| !s.is_empty()) {
                Some(r) => Some(r.parse::<PreferredRole>()?),
                None => None,
            };
            let question = field(&form, "question").map(DecisionQuestion::parse).transpose()?;
            let voice = VoiceForm::parse(&form)?;
            store::update_decision(&state.store, ctx, &access, decision, "worksheet", move |data| {
                if let Some(q) = question {
                    data.record.set_question(q);
                }
                data.record.set_preferred_role(role);
                voice.apply(data)
            })
            .await?;
        }
        "status" => {
            let change = parse_status(
                field(&form, "status").unwrap_or(""),
                field(&form, "what"),
                field(&form, "on"),
                field(&form, "revisit_on"),
                today,
            )?;
            store::update_decision(&state.store, ctx, &access, decision, "status", move |data| {
                data.record.apply(change, today).map_err(|e| concord_store::StoreError::Invalid(e.to_string()))
            })
            .await?;
        }
        "add_option" => {
            let name = OptionName::parse(field(&form, "name").unwrap_or(""))?;
            store::add_option(&state.store, ctx, &access, decision, &DecisionOption::client_added(name)).await?;
        }
        "add_criterion" => {
            let name = CriterionName::parse(field(&form, "name").unwrap_or(""))?;
            let raw = field(&form, "importance").unwrap_or("").trim();
            let v: i64 = raw.parse().map_err(|_| AppError::Unprocessable("importance must be a whole number from 0 to 10".into()))?;
            store::add_criterion(&state.store, ctx, &access, decision, &name, Importance::new(v)?).await?;
        }
        "sure" => {
            let answers =
                sure_answers(&form).ok_or_else(|| AppError::Unprocessable("answer each of the four SURE questions yes or no".into()))?;
            let entry = score_sure_answers(&answers, ctx.ts())?;
            store::update_decision(&state.store, ctx, &access, decision, "sure", move |data| {
                data.sure = Some(entry);
                Ok(())
            })
            .await?;
        }
        _ => return Err(AppError::BadRequest("unknown worksheet action".into()).into()),
    }
    Ok(Redirect::to(&back).into_response())
}

fn ratings_differ(d: &Decision, o: OptionId, c: CriterionId, fit: Fit) -> bool {
    !d.fits.iter().any(|(a, b, f)| *a == o && *b == c && *f == fit)
}

pub async fn generate_dossier(State(state): State<AppState>, staff: Staff, Path(id): Path<String>) -> Result<Response, PageError> {
    let id: ClientId = parse_path_id(&id)?;
    let access = clients::record_access(&state.store, &staff.ctx, &staff.actor(), id).await?;
    crate::dossier::generate(&state.store, &staff.ctx, &access).await?;
    Ok(Redirect::to(&format!("/clients/{id}/decisions#dossiers")).into_response())
}

pub async fn dossier_pdf(
    State(state): State<AppState>,
    staff: Staff,
    Path((id, dossier)): Path<(String, String)>,
) -> Result<Response, PageError> {
    let id: ClientId = parse_path_id(&id)?;
    let dossier: DossierId = parse_path_id(&dossier)?;
    let access = clients::record_access(&state.store, &staff.ctx, &staff.actor(), id).await?;
    let (meta, pdf) = store::dossier_pdf(&state.store, &staff.ctx, &access, dossier).await?;
    Ok(crate::api::decisions::pdf_response(&meta, pdf))
}

#[derive(Template)]
#[template(path = "dossier_print.html")]
pub struct DossierPrint {
    pub title: String,
    pub d: concord_documents::dossier::DossierInput,
    /// (heading, entries, what to say when empty), in the dossier's order.
    pub lists: Vec<(&'static str, Vec<String>, &'static str)>,
}

/// The dossier as a printable page, built from the record as it is now (audited reads). The
/// PDF snapshots stay the fixed copies to share.
pub async fn dossier_print(State(state): State<AppState>, staff: Staff, Path(id): Path<String>) -> Result<Response, PageError> {
    let id: ClientId = parse_path_id(&id)?;
    let access = clients::record_access(&state.store, &staff.ctx, &staff.actor(), id).await?;
    let mut d = crate::dossier::input(&state.store, &staff.ctx, &access, 0).await?;
    let lists = vec![
        ("What I want treatment to help with", std::mem::take(&mut d.goals), "No goals written yet."),
        ("My personal medicine (what I already do to stay well)", std::mem::take(&mut d.personal_medicine), "Nothing written yet."),
        ("My concerns", std::mem::take(&mut d.concerns), "No concerns written yet."),
        ("Questions I would like to ask", std::mem::take(&mut d.questions), "No questions written yet."),
    ];
    Ok(render(&DossierPrint { title: d.title.clone(), d, lists }).into_response())
}
