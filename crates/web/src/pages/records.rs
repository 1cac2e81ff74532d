//! The therapist's pages for issue 4: prompts (with evidence, timing and the conversation
//! guide), the safety plan (and its printable page), session notes, and the timeline; the
//! practice's guide and thresholds for admins; the client's safety plan in the portal.

use crate::api::records::{ResolveJson, resolve_error};
use crate::auth::{Admin, PageForm, Staff, parse_path_id};
use crate::error::{AppError, PageError};
use crate::pages::portal::PortalCaller;
use crate::pages::{nav, non_empty};
use crate::state::AppState;
use crate::view::{Nav, fmt_date, fmt_ts, render};
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use concord_domain::ids::{ClientId, NoteId, PromptId, SessionId};
use concord_domain::policy::RecordAccess;
use concord_domain::prompts::guide::{GuideEntry, Situation};
use concord_domain::prompts::{DataPoint, EvidenceSource, PromptConfig, PromptKind, Urgency};
use concord_domain::records::{
    CRISIS_LINES, CrisisLine, MedicationConversation, NoteKind, NoteStatus, PLAN_SECTIONS, RaisedBy, SafetyPlan, checked_body,
};
use concord_domain::values::Attendance;
use concord_store::notes::{self, NewNote, NoteChanges, NoteRecord, NoteScope};
use concord_store::prompts::{self, PromptRow, StatusFilter};
use concord_store::{clients, guide, safety_plans};
use serde::Deserialize;

async fn client_name(state: &AppState, staff: &Staff, access: &RecordAccess) -> Result<String, PageError> {
    Ok(clients::get_client(&state.store, &staff.ctx, access).await?.name)
}

// ---- prompts --------------------------------------------------------------------------------

pub struct EvidenceView {
    pub what: String,
    pub when: String,
    pub value: String,
}

pub struct TimingView {
    pub sessions: u32,
    pub weeks: i64,
    pub alliance: String,
    pub alliance_class: &'static str,
}

pub struct GuideView {
    pub situation: &'static str,
    pub title: String,
    pub lines: Vec<String>,
}

pub struct PromptView {
    pub id: String,
    /// Where the prompt's subject lives, relative to the client's record (e.g. the decision).
    pub subject: Option<(String, &'static str)>,
    pub kind: &'static str,
    pub kind_label: &'static str,
    pub urgency: &'static str,
    pub is_safety: bool,
    pub status: String,
    pub explanation: String,
    pub evidence: Vec<EvidenceView>,
    pub thresholds: Vec<String>,
    pub timing: Option<TimingView>,
    pub guide: Vec<GuideView>,
    pub opened: String,
    pub holds: bool,
    pub outcome: String,
}

fn source_label(s: &EvidenceSource) -> String {
    match s {
        EvidenceSource::Total { instrument } => format!("{} total", instrument_name(instrument.as_str())),
        EvidenceSource::Item { instrument, item } => {
            format!("{} item {}", instrument_name(instrument.as_str()), item.trim_start_matches('q'))
        }
        EvidenceSource::Flag { instrument, .. } => format!("{} safety flag", instrument_name(instrument.as_str())),
        EvidenceSource::CheckInHarmThoughts => "Check-in: thoughts of harming yourself".into(),
        EvidenceSource::AttendedSession => "Attended session".into(),
        EvidenceSource::SessionFeedback => "Session feedback".into(),
        EvidenceSource::Schedule { instrument } => format!("{} schedule", instrument_name(instrument.as_str())),
        EvidenceSource::DecisionRevisit { .. } => "Deferred decision".into(),
    }
}

fn instrument_name(id: &str) -> &str {
    match id {
        "phq9" => "PHQ-9",
        "gad7" => "GAD-7",
        "wsas" => "WSAS",
        "phq2" => "PHQ-2",
        "checkin" => "Check-in",
        "session_feedback" => "Session feedback",
        other => other,
    }
}

fn evidence_view(p: &DataPoint) -> EvidenceView {
    let value = match p.source {
        EvidenceSource::CheckInHarmThoughts | EvidenceSource::Flag { .. } => "yes".to_owned(),
        EvidenceSource::Schedule { .. } => format!("{} days overdue", p.value),
        EvidenceSource::DecisionRevisit { .. } => format!("{} days since", p.value),
        _ => p.value.to_string(),
    };
    EvidenceView { what: format!("{} ({})", source_label(&p.source), p.role), when: fmt_date(p.at), value }
}

fn guide_for(kind: PromptKind, guide: &[GuideEntry]) -> Vec<GuideView> {
    let mut out = Vec::new();
    for s in Situation::for_kind(kind) {
        for e in guide.iter().filter(|e| e.situation == *s) {
            out.push(GuideView { situation: s.label(), title: e.title.clone(), lines: e.body.lines().map(str::to_owned).collect() });
        }
    }
    out
}

fn prompt_view(p: &PromptRow, guide: &[GuideEntry]) -> PromptView {
    let timing = p.timing.as_ref().map(|t| {
        let (alliance, alliance_class) = match &t.alliance {
            None => ("no session feedback yet".to_owned(), "muted"),
            Some(a) if !a.baseline_established => (format!("latest {} (not enough ratings for a baseline yet)", a.latest), "muted"),
            Some(a) if a.dropped => (
                format!(
                    "latest {} — below the client's own baseline ({:.1}); consider attending to the relationship first",
                    a.latest,
                    a.baseline.unwrap_or(0.0)
                ),
                "worse",
            ),
            Some(a) => {
                (format!("latest {} — in line with the client's own baseline ({:.1})", a.latest, a.baseline.unwrap_or(0.0)), "better")
            }
        };
        TimingView { sessions: t.attended_sessions, weeks: t.weeks_in_therapy, alliance, alliance_class }
    });
    let outcome = match (p.status.as_str(), &p.response) {
        ("resolved", Some(r)) => format!("Resolved ({}) on {}", r.replace('_', " "), fmt_date(p.resolved_at.unwrap_or(0))),
        ("deferred", _) => format!("Deferred until {}", fmt_date(p.deferred_until.unwrap_or(0))),
        _ => String::new(),
    };
    let subject = (p.kind == PromptKind::DecisionRevisit).then(|| ("/decisions".to_owned(), "Open the decision worksheet"));
    PromptView {
        id: p.id.to_string(),
        subject,
        kind: p.kind.as_str(),
        kind_label: p.kind.label(),
        urgency: p.urgency.as_str(),
        is_safety: p.kind == PromptKind::Safety,
        status: p.status.clone(),
        explanation: p.explanation.clone(),
        evidence: p.evidence.points.iter().map(evidence_view).collect(),
        thresholds: p.evidence.thresholds.iter().map(|t| format!("{} = {} ({})", t.name, t.value, t.source)).collect(),
        timing,
        guide: guide_for(p.kind, guide),
        opened: fmt_ts(Some(p.created_at)),
        holds: p.condition_holds,
        outcome,
    }
}

#[derive(Template)]
#[template(path = "prompts.html")]
pub struct PromptsPage {
    pub title: String,
    pub nav: Option<Nav>,
    pub client_href: String,
    pub client_name: String,
    pub open: Vec<PromptView>,
    pub closed: Vec<PromptView>,
    pub has_safety: bool,
    pub crisis_lines: &'static [CrisisLine],
    pub error: Option<(String, String)>,
    pub today: String,
}

async fn prompts_page(state: &AppState, staff: &Staff, id: ClientId, error: Option<(String, String)>) -> Result<PromptsPage, PageError> {
    let access = clients::record_access(&state.store, &staff.ctx, &staff.actor(), id).await?;
    let name = client_name(state, staff, &access).await?;
    let list = prompts::list_prompts(&state.store, &staff.ctx, &access, StatusFilter::All).await?;
    let guide = guide::practice_guide(&state.store, access.practice_id()).await?;
    let (open, closed): (Vec<&PromptRow>, Vec<&PromptRow>) = list.iter().partition(|p| p.status == "open");
    Ok(PromptsPage {
        title: format!("Prompts — {name}"),
        nav: nav(staff, "caseload"),
        client_href: format!("/clients/{id}"),
        client_name: name,
        has_safety: open.iter().any(|p| p.kind == PromptKind::Safety),
        open: open.into_iter().map(|p| prompt_view(p, &guide)).collect(),
        closed: closed.into_iter().map(|p| prompt_view(p, &guide)).collect(),
        crisis_lines: &CRISIS_LINES,
        error,
        today: concord_domain::values::format_date(staff.ctx.now.date()),
    })
}

pub async fn show_prompts(State(state): State<AppState>, staff: Staff, Path(id): Path<String>) -> Result<Response, PageError> {
    let id: ClientId = parse_path_id(&id)?;
    Ok(render(&prompts_page(&state, &staff, id, None).await?))
}

#[derive(Deserialize)]
pub struct ResolveForm {
    response: String,
    note: Option<String>,
    action: Option<String>,
    referred_to: Option<String>,
    defer_until: Option<String>,
}

pub async fn resolve_prompt(
    State(state): State<AppState>,
    staff: Staff,
    Path((id, prompt_id)): Path<(String, String)>,
    PageForm(form): PageForm<ResolveForm>,
) -> Result<Response, PageError> {
    let id: ClientId = parse_path_id(&id)?;
    let prompt_id: PromptId = parse_path_id(&prompt_id)?;
    let access = clients::record_access(&state.store, &staff.ctx, &staff.actor(), id).await?;
    let body = ResolveJson {
        response: form.response,
        note: non_empty(form.note),
        action: non_empty(form.action),
        referred_to: non_empty(form.referred_to),
        defer_until: non_empty(form.defer_until),
    };
    let result = match body.into_resolution() {
        Ok(r) => prompts::resolve_prompt(&state.store, &staff.ctx, &access, prompt_id, r).await.map_err(resolve_error),
        Err(e) => Err(e),
    };
    match result {
        Ok(_) => Ok(Redirect::to(&format!("/clients/{id}/prompts")).into_response()),
        Err(e @ (AppError::Unprocessable(_) | AppError::Conflict(_))) => {
            let status = e.status();
            let page = prompts_page(&state, &staff, id, Some((prompt_id.to_string(), e.public_message()))).await?;
            Ok((status, render(&page)).into_response())
        }
        Err(e) => Err(e.into()),
    }
}

/// What the client record shows about prompts: the open ones, most urgent first.
#[derive(Debug, Clone)]
pub struct PromptSummary {
    pub safety: usize,
    pub open: usize,
    pub first: Option<String>,
}

/// The summary of a client's open prompts, as [`prompts::list_prompts`] lists them.
pub fn prompt_summary(open: &[PromptRow]) -> PromptSummary {
    PromptSummary {
        safety: open.iter().filter(|p| p.kind == PromptKind::Safety).count(),
        open: open.len(),
        first: open.iter().find(|p| p.urgency != Urgency::Routine).map(|p| p.kind.label().to_owned()),
    }
}

// ---- safety plan -------------------------------------------------------------------------------

pub struct SectionView {
    pub field: &'static str,
    pub heading: &'static str,
    pub hint: &'static str,
    pub entries: Vec<String>,
    pub text: String,
}

fn sections(plan: &SafetyPlan) -> Vec<SectionView> {
    PLAN_SECTIONS
        .iter()
        .map(|s| SectionView {
            field: s.field,
            heading: s.heading,
            hint: s.hint,
            entries: plan.section(s.field).to_vec(),
            text: plan.section(s.field).join("\n"),
        })
        .collect()
}

#[derive(Template)]
#[template(path = "safety_plan.html")]
pub struct SafetyPlanPage {
    pub title: String,
    pub nav: Option<Nav>,
    pub client_href: String,
    pub client_name: String,
    pub version: Option<i64>,
    pub updated: String,
    pub sections: Vec<SectionView>,
    pub versions: Vec<(i64, String)>,
    pub crisis_lines: &'static [CrisisLine],
    pub error: Option<String>,
    pub saved: bool,
}

#[derive(Template)]
#[template(path = "safety_plan_print.html")]
pub struct SafetyPlanPrint {
    pub title: String,
    pub client_name: String,
    pub version: Option<i64>,
    pub updated: String,
    pub sections: Vec<SectionView>,
    pub crisis_lines: &'static [CrisisLine],
}

#[derive(Deserialize)]
pub struct PlanQuery {
    saved: Option<String>,
    version: Option<i64>,
}

pub async fn show_safety_plan(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    Query(q): Query<PlanQuery>,
) -> Result<Response, PageError> {
    let id: ClientId = parse_path_id(&id)?;
    let access = clients::record_access(&state.store, &staff.ctx, &staff.actor(), id).await?;
    Ok(render(&plan_page(&state, &staff, &access, q.version, None, q.saved.is_some()).await?))
}

async fn plan_page(
    state: &AppState,
    staff: &Staff,
    access: &RecordAccess,
    version: Option<i64>,
    draft: Option<(SafetyPlan, String)>,
    saved: bool,
) -> Result<SafetyPlanPage, PageError> {
    let name = client_name(state, staff, access).await?;
    let current = safety_plans::get_plan(&state.store, &staff.ctx, access, version).await?;
    let versions = safety_plans::plan_versions(&state.store, access).await?;
    let (plan, error) = match draft {
        Some((p, e)) => (p, Some(e)),
        None => (current.as_ref().map(|c| c.plan.clone()).unwrap_or_default(), None),
    };
    Ok(SafetyPlanPage {
        title: format!("Safety plan — {name}"),
        nav: nav(staff, "caseload"),
        client_href: format!("/clients/{}", access.client_id()),
        client_name: name,
        version: current.as_ref().map(|c| c.version),
        updated: current.as_ref().map(|c| fmt_ts(Some(c.created_at))).unwrap_or_default(),
        sections: sections(&plan),
        versions: versions.into_iter().map(|(v, at)| (v, fmt_ts(Some(at)))).collect(),
        crisis_lines: &CRISIS_LINES,
        error,
        saved,
    })
}

pub async fn print_safety_plan(State(state): State<AppState>, staff: Staff, Path(id): Path<String>) -> Result<Response, PageError> {
    let id: ClientId = parse_path_id(&id)?;
    let access = clients::record_access(&state.store, &staff.ctx, &staff.actor(), id).await?;
    let name = client_name(&state, &staff, &access).await?;
    let current = safety_plans::get_plan(&state.store, &staff.ctx, &access, None).await?;
    Ok(render(&SafetyPlanPrint {
        title: format!("Safety plan — {name}"),
        client_name: name,
        version: current.as_ref().map(|c| c.version),
        updated: current.as_ref().map(|c| fmt_date(c.created_at)).unwrap_or_default(),
        sections: sections(&current.map(|c| c.plan).unwrap_or_default()),
        crisis_lines: &CRISIS_LINES,
    }))
}

pub async fn save_safety_plan(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    PageForm(form): PageForm<std::collections::HashMap<String, String>>,
) -> Result<Response, PageError> {
    let id: ClientId = parse_path_id(&id)?;
    let access = clients::record_access(&state.store, &staff.ctx, &staff.actor(), id).await?;
    let plan = SafetyPlan::from_lines(|f| form.get(f).cloned());
    match plan.clone().checked() {
        Ok(p) => {
            safety_plans::save_plan(&state.store, &staff.ctx, &access, &p).await?;
            Ok(Redirect::to(&format!("/clients/{id}/safety-plan?saved=1")).into_response())
        }
        Err(e) => {
            let page = plan_page(&state, &staff, &access, None, Some((plan, e.0)), false).await?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, render(&page)).into_response())
        }
    }
}

#[derive(Template)]
#[template(path = "portal_safety_plan.html")]
pub struct PortalSafetyPlanPage {
    pub title: String,
    pub signed_in: bool,
    pub version: Option<i64>,
    pub updated: String,
    pub sections: Vec<SectionView>,
    pub crisis_lines: &'static [CrisisLine],
}

pub async fn portal_safety_plan(State(state): State<AppState>, caller: PortalCaller) -> Result<Response, PageError> {
    let current = safety_plans::portal_plan(&state.store, &caller.ctx, &caller.access).await?;
    Ok(render(&PortalSafetyPlanPage {
        title: "My safety plan".into(),
        signed_in: true,
        version: current.as_ref().map(|c| c.version),
        updated: current.as_ref().map(|c| fmt_date(c.created_at)).unwrap_or_default(),
        sections: sections(&current.map(|c| c.plan).unwrap_or_default()),
        crisis_lines: &CRISIS_LINES,
    }))
}

// ---- notes -----------------------------------------------------------------------------------

pub struct NoteView {
    pub id: String,
    pub href: String,
    pub date: String,
    pub kind: &'static str,
    pub status: &'static str,
    pub signed: bool,
    pub body: String,
    pub medication: Option<Vec<(String, String)>>,
    pub addenda: Vec<(String, String)>,
    pub signed_line: String,
}

fn medication_rows(m: &MedicationConversation) -> Vec<(String, String)> {
    let mut rows = Vec::new();
    if let Some(r) = m.raised_by {
        rows.push(("Raised by".to_owned(), r.label().to_owned()));
    }
    for (label, v) in [("Client's hopes", &m.hopes), ("Client's concerns", &m.concerns), ("Information given", &m.information_given)] {
        if let Some(v) = v {
            rows.push((label.to_owned(), v.clone()));
        }
    }
    if m.referral_offered {
        rows.push(("Referral offered".to_owned(), m.referred_to.clone().unwrap_or_else(|| "yes (recipient not recorded)".into())));
    }
    for (label, v) in [("Client's response", &m.client_response), ("Plan", &m.plan)] {
        if let Some(v) = v {
            rows.push((label.to_owned(), v.clone()));
        }
    }
    if let Some(d) = m.follow_up_date {
        rows.push(("Follow-up".to_owned(), concord_domain::values::format_date(d)));
    }
    rows
}

fn note_view(client: ClientId, n: &NoteRecord) -> NoteView {
    NoteView {
        id: n.id.to_string(),
        href: format!("/clients/{client}/notes/{}", n.id),
        date: fmt_ts(Some(n.note_date)),
        kind: match n.kind {
            NoteKind::Progress => "Progress note",
            NoteKind::Process => "Process note (private)",
        },
        status: n.status.as_str(),
        signed: n.status == NoteStatus::Signed,
        body: n.body.clone(),
        medication: n.medication_conversation.as_ref().map(medication_rows),
        addenda: n.addenda.iter().map(|a| (fmt_ts(Some(a.created_at)), a.body.clone())).collect(),
        signed_line: n.signed_at.map(|t| format!("Signed {}", fmt_ts(Some(t)))).unwrap_or_default(),
    }
}

pub struct NoteFormValues {
    pub body: String,
    pub kind: String,
    pub session_id: String,
    pub raised_by: String,
    pub hopes: String,
    pub concerns: String,
    pub information_given: String,
    pub referral_offered: bool,
    pub referred_to: String,
    pub client_response: String,
    pub plan: String,
    pub follow_up_date: String,
}

impl NoteFormValues {
    fn empty() -> Self {
        Self {
            body: String::new(),
            kind: "progress".into(),
            session_id: String::new(),
            raised_by: String::new(),
            hopes: String::new(),
            concerns: String::new(),
            information_given: String::new(),
            referral_offered: false,
            referred_to: String::new(),
            client_response: String::new(),
            plan: String::new(),
            follow_up_date: String::new(),
        }
    }
    fn from_note(n: &NoteRecord) -> Self {
        let m = n.medication_conversation.clone().unwrap_or_default();
        Self {
            body: n.body.clone(),
            kind: n.kind.as_str().into(),
            session_id: n.session_id.map(|s| s.to_string()).unwrap_or_default(),
            raised_by: m.raised_by.map(|r| r.as_str().to_owned()).unwrap_or_default(),
            hopes: m.hopes.unwrap_or_default(),
            concerns: m.concerns.unwrap_or_default(),
            information_given: m.information_given.unwrap_or_default(),
            referral_offered: m.referral_offered,
            referred_to: m.referred_to.unwrap_or_default(),
            client_response: m.client_response.unwrap_or_default(),
            plan: m.plan.unwrap_or_default(),
            follow_up_date: m.follow_up_date.map(concord_domain::values::format_date).unwrap_or_default(),
        }
    }
}

#[derive(Template)]
#[template(path = "notes.html")]
pub struct NotesPage {
    pub title: String,
    pub nav: Option<Nav>,
    pub client_href: String,
    pub client_name: String,
    pub progress: Vec<NoteView>,
    pub process: Vec<NoteView>,
    pub sessions: Vec<(String, String)>,
    pub raised_by: Vec<(&'static str, &'static str)>,
    pub form: NoteFormValues,
    pub error: Option<String>,
}

#[derive(Template)]
#[template(path = "note.html")]
pub struct NotePage {
    pub title: String,
    pub nav: Option<Nav>,
    pub client_href: String,
    pub client_name: String,
    pub note: NoteView,
    pub sessions: Vec<(String, String)>,
    pub raised_by: Vec<(&'static str, &'static str)>,
    pub form: NoteFormValues,
    pub error: Option<String>,
}

#[derive(Deserialize)]
pub struct NoteForm {
    body: String,
    kind: Option<String>,
    session_id: Option<String>,
    raised_by: Option<String>,
    hopes: Option<String>,
    concerns: Option<String>,
    information_given: Option<String>,
    referral_offered: Option<String>,
    referred_to: Option<String>,
    client_response: Option<String>,
    plan: Option<String>,
    follow_up_date: Option<String>,
}

impl NoteForm {
    fn values(&self) -> NoteFormValues {
        let s = |v: &Option<String>| v.clone().unwrap_or_default();
        NoteFormValues {
            body: self.body.clone(),
            kind: self.kind.clone().unwrap_or_else(|| "progress".into()),
            session_id: s(&self.session_id),
            raised_by: s(&self.raised_by),
            hopes: s(&self.hopes),
            concerns: s(&self.concerns),
            information_given: s(&self.information_given),
            referral_offered: self.referral_offered.is_some(),
            referred_to: s(&self.referred_to),
            client_response: s(&self.client_response),
            plan: s(&self.plan),
            follow_up_date: s(&self.follow_up_date),
        }
    }

    /// The medication conversation, when any part of it is filled in.
    fn medication(&self) -> Result<Option<MedicationConversation>, AppError> {
        let raised_by = match non_empty(self.raised_by.clone()) {
            None => None,
            Some(r) => Some(RaisedBy::parse(&r).ok_or_else(|| AppError::Unprocessable("choose who raised medication".into()))?),
        };
        let follow_up_date = match non_empty(self.follow_up_date.clone()) {
            None => None,
            Some(d) => Some(
                concord_domain::values::parse_date(&d)
                    .ok_or_else(|| AppError::Unprocessable("the follow-up date must be YYYY-MM-DD".into()))?,
            ),
        };
        let m = MedicationConversation {
            raised_by,
            hopes: non_empty(self.hopes.clone()),
            concerns: non_empty(self.concerns.clone()),
            information_given: non_empty(self.information_given.clone()),
            referral_offered: self.referral_offered.is_some(),
            referred_to: non_empty(self.referred_to.clone()),
            client_response: non_empty(self.client_response.clone()),
            plan: non_empty(self.plan.clone()),
            follow_up_date,
        };
        if m == MedicationConversation::default() {
            return Ok(None);
        }
        m.checked().map(Some).map_err(|e| AppError::Unprocessable(e.0))
    }
}

fn raised_by_options() -> Vec<(&'static str, &'static str)> {
    RaisedBy::ALL.iter().map(|r| (r.as_str(), r.label())).collect()
}

async fn session_options(state: &AppState, staff: &Staff, access: &RecordAccess) -> Result<Vec<(String, String)>, PageError> {
    let sessions = clients::list_sessions(&state.store, &staff.ctx, access).await?;
    let mut out: Vec<(i64, String, String)> = sessions
        .iter()
        .filter(|s| s.attendance == Attendance::Attended)
        .map(|s| (s.starts_at, s.id.to_string(), fmt_ts(Some(s.starts_at))))
        .collect();
    out.sort_by_key(|s| std::cmp::Reverse(s.0));
    Ok(out.into_iter().take(30).map(|(_, id, when)| (id, when)).collect())
}

async fn notes_page(
    state: &AppState,
    staff: &Staff,
    access: &RecordAccess,
    form: NoteFormValues,
    error: Option<String>,
) -> Result<NotesPage, PageError> {
    let name = client_name(state, staff, access).await?;
    let list = notes::list_notes(&state.store, &staff.ctx, access, NoteScope::WithProcessNotes).await?;
    let id = access.client_id();
    let (progress, process): (Vec<&NoteRecord>, Vec<&NoteRecord>) = list.iter().partition(|n| n.kind == NoteKind::Progress);
    Ok(NotesPage {
        title: format!("Notes — {name}"),
        nav: nav(staff, "caseload"),
        client_href: format!("/clients/{id}"),
        client_name: name,
        progress: progress.into_iter().map(|n| note_view(id, n)).collect(),
        process: process.into_iter().map(|n| note_view(id, n)).collect(),
        sessions: session_options(state, staff, access).await?,
        raised_by: raised_by_options(),
        form,
        error,
    })
}

pub async fn show_notes(State(state): State<AppState>, staff: Staff, Path(id): Path<String>) -> Result<Response, PageError> {
    let id: ClientId = parse_path_id(&id)?;
    let access = clients::record_access(&state.store, &staff.ctx, &staff.actor(), id).await?;
    Ok(render(&notes_page(&state, &staff, &access, NoteFormValues::empty(), None).await?))
}

pub async fn create_note(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    PageForm(form): PageForm<NoteForm>,
) -> Result<Response, PageError> {
    let id: ClientId = parse_path_id(&id)?;
    let access = clients::record_access(&state.store, &staff.ctx, &staff.actor(), id).await?;
    let parsed = (|| -> Result<NewNote, AppError> {
        let kind = NoteKind::parse(form.kind.as_deref().unwrap_or("progress"))
            .ok_or_else(|| AppError::Unprocessable("choose a kind of note".into()))?;
        let session_id = match non_empty(form.session_id.clone()) {
            None => None,
            Some(s) => Some(s.parse::<SessionId>().map_err(|_| AppError::Unprocessable("choose one of the client's sessions".into()))?),
        };
        let medication_conversation = form.medication()?;
        if kind == NoteKind::Process && medication_conversation.is_some() {
            return Err(AppError::Unprocessable(
                "a medication conversation belongs in a progress note (the record), not a process note".into(),
            ));
        }
        Ok(NewNote {
            session_id,
            kind,
            body: checked_body(&form.body, "The note").map_err(|e| AppError::Unprocessable(e.0))?,
            medication_conversation,
        })
    })();
    let result = match parsed {
        Ok(n) => notes::create_note(&state.store, &staff.ctx, &access, n).await.map_err(AppError::from),
        Err(e) => Err(e),
    };
    match result {
        Ok(note) => Ok(Redirect::to(&format!("/clients/{id}/notes/{note}")).into_response()),
        Err(AppError::Unprocessable(m)) => {
            let page = notes_page(&state, &staff, &access, form.values(), Some(m)).await?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, render(&page)).into_response())
        }
        Err(e) => Err(e.into()),
    }
}

async fn note_page(
    state: &AppState,
    staff: &Staff,
    access: &RecordAccess,
    note_id: NoteId,
    form: Option<NoteFormValues>,
    error: Option<String>,
) -> Result<NotePage, PageError> {
    let name = client_name(state, staff, access).await?;
    let note = notes::get_note(&state.store, &staff.ctx, access, note_id).await?;
    let id = access.client_id();
    Ok(NotePage {
        title: format!("Note — {name}"),
        nav: nav(staff, "caseload"),
        client_href: format!("/clients/{id}"),
        client_name: name,
        form: form.unwrap_or_else(|| NoteFormValues::from_note(&note)),
        note: note_view(id, &note),
        sessions: session_options(state, staff, access).await?,
        raised_by: raised_by_options(),
        error,
    })
}

pub async fn show_note(
    State(state): State<AppState>,
    staff: Staff,
    Path((id, note_id)): Path<(String, String)>,
) -> Result<Response, PageError> {
    let id: ClientId = parse_path_id(&id)?;
    let note_id: NoteId = parse_path_id(&note_id)?;
    let access = clients::record_access(&state.store, &staff.ctx, &staff.actor(), id).await?;
    Ok(render(&note_page(&state, &staff, &access, note_id, None, None).await?))
}

pub async fn edit_note(
    State(state): State<AppState>,
    staff: Staff,
    Path((id, note_id)): Path<(String, String)>,
    PageForm(form): PageForm<NoteForm>,
) -> Result<Response, PageError> {
    let id: ClientId = parse_path_id(&id)?;
    let note_id: NoteId = parse_path_id(&note_id)?;
    let access = clients::record_access(&state.store, &staff.ctx, &staff.actor(), id).await?;
    let changes = (|| -> Result<NoteChanges, AppError> {
        Ok(NoteChanges {
            body: Some(checked_body(&form.body, "The note").map_err(|e| AppError::Unprocessable(e.0))?),
            medication_conversation: Some(form.medication()?),
        })
    })();
    let result = match changes {
        Ok(c) => notes::update_note(&state.store, &staff.ctx, &access, note_id, c).await.map(|_| ()).map_err(AppError::from),
        Err(e) => Err(e),
    };
    match result {
        Ok(()) => Ok(Redirect::to(&format!("/clients/{id}/notes/{note_id}")).into_response()),
        Err(e @ (AppError::Unprocessable(_) | AppError::Conflict(_))) => {
            let status = e.status();
            let page = note_page(&state, &staff, &access, note_id, Some(form.values()), Some(e.public_message())).await?;
            Ok((status, render(&page)).into_response())
        }
        Err(e) => Err(e.into()),
    }
}

pub async fn sign_note(
    State(state): State<AppState>,
    staff: Staff,
    Path((id, note_id)): Path<(String, String)>,
) -> Result<Response, PageError> {
    let id: ClientId = parse_path_id(&id)?;
    let note_id: NoteId = parse_path_id(&note_id)?;
    let access = clients::record_access(&state.store, &staff.ctx, &staff.actor(), id).await?;
    match notes::sign_note(&state.store, &staff.ctx, &access, note_id).await {
        Ok(_) => Ok(Redirect::to(&format!("/clients/{id}/notes/{note_id}")).into_response()),
        Err(concord_store::StoreError::Conflict(m)) => {
            let page = note_page(&state, &staff, &access, note_id, None, Some(m)).await?;
            Ok((StatusCode::CONFLICT, render(&page)).into_response())
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize)]
pub struct AddendumForm {
    body: String,
}

pub async fn add_addendum(
    State(state): State<AppState>,
    staff: Staff,
    Path((id, note_id)): Path<(String, String)>,
    PageForm(form): PageForm<AddendumForm>,
) -> Result<Response, PageError> {
    let id: ClientId = parse_path_id(&id)?;
    let note_id: NoteId = parse_path_id(&note_id)?;
    let access = clients::record_access(&state.store, &staff.ctx, &staff.actor(), id).await?;
    let result = match checked_body(&form.body, "The addendum") {
        Ok(b) => notes::add_addendum(&state.store, &staff.ctx, &access, note_id, &b).await.map(|_| ()).map_err(AppError::from),
        Err(e) => Err(AppError::Unprocessable(e.0)),
    };
    match result {
        Ok(()) => Ok(Redirect::to(&format!("/clients/{id}/notes/{note_id}")).into_response()),
        Err(e @ (AppError::Unprocessable(_) | AppError::Conflict(_))) => {
            let status = e.status();
            let page = note_page(&state, &staff, &access, note_id, None, Some(e.public_message())).await?;
            Ok((status, render(&page)).into_response())
        }
        Err(e) => Err(e.into()),
    }
}

// ---- timeline ----------------------------------------------------------------------------------

pub struct TimelineView {
    pub when: String,
    pub kind: String,
    pub summary: String,
    pub detail: Vec<String>,
    pub href: Option<String>,
}

#[derive(Template)]
#[template(path = "timeline.html")]
pub struct TimelinePage {
    pub title: String,
    pub nav: Option<Nav>,
    pub client_href: String,
    pub client_name: String,
    pub items: Vec<TimelineView>,
}

pub async fn show_timeline(State(state): State<AppState>, staff: Staff, Path(id): Path<String>) -> Result<Response, PageError> {
    let id: ClientId = parse_path_id(&id)?;
    let access = clients::record_access(&state.store, &staff.ctx, &staff.actor(), id).await?;
    let name = client_name(&state, &staff, &access).await?;
    let items = notes::timeline(&state.store, &staff.ctx, &access).await?;
    Ok(render(&TimelinePage {
        title: format!("Timeline — {name}"),
        nav: nav(&staff, "caseload"),
        client_href: format!("/clients/{id}"),
        client_name: name,
        items: items
            .into_iter()
            .map(|i| TimelineView {
                when: fmt_ts(Some(i.at)),
                kind: i.kind.replace('_', "-"),
                summary: i.summary,
                detail: i.detail.map(|d| d.lines().map(str::to_owned).collect()).unwrap_or_default(),
                href: i
                    .note_id
                    .map(|n| format!("/clients/{id}/notes/{n}"))
                    .or_else(|| i.prompt_id.map(|_| format!("/clients/{id}/prompts"))),
            })
            .collect(),
    }))
}

// ---- the practice's guide and thresholds (admins) -----------------------------------------------

#[derive(Template)]
#[template(path = "admin_guide.html")]
pub struct AdminGuidePage {
    pub title: String,
    pub nav: Option<Nav>,
    pub entries: Vec<(String, &'static str, &'static str, String, String, bool)>,
    pub situations: Vec<(&'static str, &'static str)>,
    pub config: PromptConfig,
    pub error: Option<String>,
    pub saved: bool,
}

#[derive(Deserialize)]
pub struct SavedQuery {
    saved: Option<String>,
}

async fn guide_page(state: &AppState, admin: &Admin, error: Option<String>, saved: bool) -> Result<AdminGuidePage, PageError> {
    let entries = guide::practice_guide(&state.store, admin.access.practice_id()).await?;
    let config = prompts::practice_config(state.store.pool(), admin.access.practice_id()).await?;
    Ok(AdminGuidePage {
        title: "Prompts and conversation guide".into(),
        nav: nav(&admin.staff, "admin"),
        entries: entries.into_iter().map(|e| (e.key, e.situation.as_str(), e.situation.label(), e.title, e.body, e.shipped)).collect(),
        situations: Situation::ALL.iter().map(|s| (s.as_str(), s.label())).collect(),
        config,
        error,
        saved,
    })
}

pub async fn admin_guide(State(state): State<AppState>, admin: Admin, Query(q): Query<SavedQuery>) -> Result<Response, PageError> {
    Ok(render(&guide_page(&state, &admin, None, q.saved.is_some()).await?))
}

#[derive(Deserialize)]
pub struct GuideForm {
    key: Option<String>,
    situation: String,
    title: String,
    body: String,
    hide: Option<String>,
}

pub async fn save_guide_entry(
    State(state): State<AppState>,
    admin: Admin,
    PageForm(form): PageForm<GuideForm>,
) -> Result<Response, PageError> {
    let result = match Situation::parse(&form.situation) {
        None => Err(AppError::Unprocessable("choose a situation".into())),
        Some(situation) => {
            let edit =
                guide::GuideEdit { key: form.key.as_deref(), situation, title: &form.title, body: &form.body, hidden: form.hide.is_some() };
            guide::save_entry(&state.store, &admin.staff.ctx, &admin.access, edit).await.map(|_| ()).map_err(AppError::from)
        }
    };
    match result {
        Ok(()) => Ok(Redirect::to("/admin/guide?saved=1").into_response()),
        Err(AppError::Unprocessable(m)) => {
            Ok((StatusCode::UNPROCESSABLE_ENTITY, render(&guide_page(&state, &admin, Some(m), false).await?)).into_response())
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize)]
pub struct ThresholdsForm {
    min_attended_sessions: u32,
    min_weeks: u32,
    impairment_above: i32,
    impairment_consecutive: u32,
    alliance_min_baseline: u32,
    alliance_drop_percent: u32,
    deterioration_from_previous: Option<String>,
}

pub async fn save_thresholds(
    State(state): State<AppState>,
    admin: Admin,
    PageForm(form): PageForm<ThresholdsForm>,
) -> Result<Response, PageError> {
    let mut config = prompts::practice_config(state.store.pool(), admin.access.practice_id()).await?;
    config.min_attended_sessions = form.min_attended_sessions;
    config.min_weeks = form.min_weeks;
    config.impairment_above = form.impairment_above;
    config.impairment_consecutive = form.impairment_consecutive;
    config.alliance_min_baseline = form.alliance_min_baseline;
    config.alliance_drop_percent = form.alliance_drop_percent;
    config.deterioration_from_previous = form.deterioration_from_previous.is_some();
    match prompts::set_practice_config(&state.store, &admin.staff.ctx, &admin.access, &config).await {
        Ok(()) => Ok(Redirect::to("/admin/guide?saved=1").into_response()),
        Err(concord_store::StoreError::Invalid(m)) => {
            Ok((StatusCode::UNPROCESSABLE_ENTITY, render(&guide_page(&state, &admin, Some(m), false).await?)).into_response())
        }
        Err(e) => Err(e.into()),
    }
}
