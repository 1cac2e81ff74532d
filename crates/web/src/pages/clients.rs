//! Caseload, client record, client forms, sessions and break-glass pages.

use super::{nav, non_empty};
use crate::auth::{PageForm, Staff, parse_path_id};
use crate::error::{AppError, PageError};
use crate::state::AppState;
use crate::view::{
    BreakGlassPage, CaseloadPage, CaseloadRow, ClientFormPage, ClientPage, ErrorPage, SessionView, fmt_date, fmt_ts, render,
};
use crate::view_cache::{self, CaseloadMeasures, Stamp};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use concord_domain::ids::ClientId;
use concord_domain::policy::{self, AccessBasis};
use concord_domain::values::{Attendance, BreakGlassReason, ClientName, DateOfBirth, DurationMinutes, format_date};
use concord_store::accounts;
use concord_store::clients::{self, ClientChanges, ClientStatus, ClientSummary};
use serde::Deserialize;
use std::collections::HashMap;
use std::sync::Arc;
use time::{Date, PrimitiveDateTime, Time};

pub async fn home(_staff: Staff) -> Redirect {
    Redirect::to("/caseload")
}

#[derive(Deserialize, Default)]
pub struct CaseloadQuery {
    q: Option<String>,
    archived: Option<String>,
}

pub fn caseload_rows(list: &[ClientSummary], href: impl Fn(&ClientSummary) -> String) -> Vec<CaseloadRow> {
    list.iter()
        .map(|c| CaseloadRow {
            scores: None,
            overdue: Vec::new(),
            href: href(c),
            name: c.name.clone(),
            attended: c.attended_sessions,
            last: fmt_ts(c.last_session_at),
            next: fmt_ts(c.next_session_at),
            archived: c.status == ClientStatus::Archived,
        })
        .collect()
}

pub async fn caseload(State(state): State<AppState>, staff: Staff, Query(q): Query<CaseloadQuery>) -> Result<Response, PageError> {
    let query = non_empty(q.q).unwrap_or_default();
    let include_archived = q.archived.is_some();
    let scope = policy::caseload_scope(&staff.actor());
    // Admins see the directory (names only) but reach records only through a care team.
    let list = clients::list_clients(&state.store, &staff.ctx, &scope, Some(&query), include_archived).await?;
    let mut rows = caseload_rows(&list, |c| {
        if scope.whole_practice() { format!("/admin/clients/{}/care-team", c.id) } else { format!("/clients/{}", c.id) }
    });
    let overdue = if scope.whole_practice() { Vec::new() } else { add_measures(&state, &staff, &scope, &list, &mut rows).await? };
    let attention = if scope.whole_practice() { Vec::new() } else { needs_attention(&state, &staff, &scope, &list).await? };
    Ok(render(&CaseloadPage {
        overdue,
        attention,
        title: "Caseload".into(),
        nav: nav(&staff, "caseload"),
        whole_practice: scope.whole_practice(),
        query,
        include_archived,
        clients: rows,
    }))
}

/// Open prompts on the caseload that want attention today (safety) or soon, most urgent first:
/// (client name, link to the prompts, what, urgency). Overdue-measure prompts are left to the
/// overdue list.
async fn needs_attention(
    state: &AppState,
    staff: &Staff,
    scope: &policy::CaseloadScope,
    list: &[ClientSummary],
) -> Result<Vec<(String, String, &'static str, &'static str)>, PageError> {
    let mut open = concord_store::prompts::open_prompts_for_caseload(&state.store, &staff.ctx, scope).await?;
    open.sort_by_key(|(c, k, u)| (*u, *k, *c));
    Ok(open
        .into_iter()
        .filter_map(|(id, kind, urgency)| {
            let c = list.iter().find(|c| c.id == id)?;
            Some((c.name.clone(), format!("/clients/{id}/prompts"), kind.label(), urgency.as_str()))
        })
        .collect())
}

/// Fills the measures and overdue columns of a caseload, and returns the overdue list:
/// (client name, link, measure, overdue since).
async fn add_measures(
    state: &AppState,
    staff: &Staff,
    scope: &policy::CaseloadScope,
    list: &[ClientSummary],
    rows: &mut [CaseloadRow],
) -> Result<Vec<(String, String, String, String)>, PageError> {
    let registry = crate::api::measures::registry(state, scope.practice_id()).await?;
    let registry_stamp = view_cache::fingerprint(&registry);
    // The ids come from `list`, which the scope decided; each view is served only while the
    // client's data version (read with the list, so before any scores) still matches.
    let keys: Vec<_> = list.iter().map(|c| ((c.id, 0), Stamp { data_version: c.data_version, registry: registry_stamp })).collect();
    let mut views = state.views.caseload.get_many(&keys);
    if views.iter().all(Option::is_some) {
        let count = views.iter().flatten().map(|v| v.points).sum();
        concord_store::measures::audit_cached_caseload_scores(&state.store, &staff.ctx, scope, count).await?;
    } else {
        let points = concord_store::measures::caseload_score_points(&state.store, &staff.ctx, scope).await?;
        let config = concord_domain::measures::outcome::OutcomeConfig::default();
        // One pass over the caseload's points, not one per client.
        let mut by_client: HashMap<ClientId, Vec<concord_store::measures::ScorePoint>> = HashMap::new();
        for (id, p) in points {
            by_client.entry(id).or_default().push(p);
        }
        for ((client, slot), (key, stamp)) in list.iter().zip(views.iter_mut()).zip(&keys) {
            if slot.is_none() {
                let view = Arc::new(caseload_measures(client.id, &by_client.remove(&client.id).unwrap_or_default(), &registry, &config));
                state.views.caseload.put(*key, *stamp, Arc::clone(&view));
                *slot = Some(view);
            }
        }
    }
    let overdue = concord_store::measures::overdue_for_caseload(&state.store, &staff.ctx, scope).await?;
    let name_of = |id: &str| registry.get(id).map_or_else(|| id.to_owned(), |d| d.short_name().to_owned());
    for ((row, client), view) in rows.iter_mut().zip(list).zip(views) {
        row.scores = view;
        row.overdue = overdue.iter().filter(|o| o.client_id == client.id).map(|o| name_of(o.instrument.as_str())).collect();
    }
    Ok(overdue
        .iter()
        .filter_map(|o| {
            let c = list.iter().find(|c| c.id == o.client_id)?;
            Some((c.name.clone(), format!("/clients/{}#measures", c.id), name_of(o.instrument.as_str()), fmt_ts(Some(o.overdue_from))))
        })
        .collect())
}

/// One client's caseload measures cell, from their summary points.
fn caseload_measures(
    id: ClientId,
    points: &[concord_store::measures::ScorePoint],
    registry: &concord_domain::measures::Registry,
    config: &concord_domain::measures::outcome::OutcomeConfig,
) -> CaseloadMeasures {
    let outcomes = crate::outcomes::summarise(points, registry, config);
    let mut view = CaseloadMeasures { points: points.len(), ..Default::default() };
    for m in outcomes.measures.iter().filter(|m| m.latest_total.is_some() && ["phq9", "gad7", "wsas"].contains(&m.instrument.as_str())) {
        let (change, class) = crate::pages::measures::change_text(m);
        let band = m.latest_band_label.as_ref().map(|b| format!(" ({})", b.to_lowercase())).unwrap_or_default();
        let latest = format!("{} {}{band}", m.name, m.latest_total.unwrap_or_default());
        view.measures.push((if change.is_empty() || change == "first score" { latest } else { format!("{latest}; {change}") }, class));
    }
    if let Some(m) = outcomes.measures.iter().find(|m| m.instrument == "phq9" && m.points.len() > 1) {
        let values: Vec<f64> = m.points.iter().map(|(_, v)| f64::from(*v)).collect();
        view.sparkline =
            Some(concord_documents::sparkline(&format!("spark-{id}"), &values, (0.0, 27.0), 96.0, 24.0, "PHQ-9 over time").into());
    }
    view
}

#[derive(Deserialize)]
pub struct ClientForm {
    name: String,
    date_of_birth: Option<String>,
}

fn form_page(
    staff: &Staff,
    title: &str,
    action: String,
    cancel: String,
    name: String,
    dob: String,
    error: Option<String>,
) -> ClientFormPage {
    ClientFormPage { title: title.into(), nav: nav(staff, "caseload"), action, cancel, name, date_of_birth: dob, error }
}

pub async fn new_client_form(staff: Staff) -> Response {
    render(&form_page(&staff, "New client", "/clients".into(), "/caseload".into(), String::new(), String::new(), None))
}

/// Parses the client form; on error, the message to show with the form again.
fn parse_client_form(form: &ClientForm, today: Date) -> Result<(ClientName, Option<DateOfBirth>), String> {
    let name = ClientName::parse(&form.name).map_err(|e| e.to_string())?;
    let dob = non_empty(form.date_of_birth.clone()).map(|d| DateOfBirth::parse(&d, today)).transpose().map_err(|e| e.to_string())?;
    Ok((name, dob))
}

pub async fn create_client(
    State(state): State<AppState>,
    staff: Staff,
    PageForm(form): PageForm<ClientForm>,
) -> Result<Response, PageError> {
    let (name, dob) = match parse_client_form(&form, staff.ctx.now.date()) {
        Ok(v) => v,
        Err(msg) => {
            let page = form_page(
                &staff,
                "New client",
                "/clients".into(),
                "/caseload".into(),
                form.name,
                form.date_of_birth.unwrap_or_default(),
                Some(msg),
            );
            return Ok((StatusCode::UNPROCESSABLE_ENTITY, render(&page)).into_response());
        }
    };
    let access = policy::decide_create_client(&staff.actor()).ok_or(AppError::NotFound)?;
    let id = clients::create_client(&state.store, &staff.ctx, &access, &name, dob.as_ref()).await?;
    let to = if access.actor().role == concord_domain::values::Role::Admin {
        format!("/admin/clients/{id}/care-team")
    } else {
        format!("/clients/{id}")
    };
    Ok(Redirect::to(&to).into_response())
}

/// How many sessions the record page lists unless asked for all (`?sessions=all`).
pub const SESSIONS_SHOWN: usize = 20;

/// How much of a long record the page shows.
#[derive(Debug, Clone, Copy, Default, Deserialize)]
pub struct RecordView {
    /// Every session, not only the latest [`SESSIONS_SHOWN`].
    #[serde(default, deserialize_with = "all_flag")]
    pub sessions: bool,
    /// Every score in the charts and their tables, not a summary of long series.
    #[serde(default, deserialize_with = "all_flag")]
    pub scores: bool,
}

fn all_flag<'de, D: serde::Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    Ok(Option::<String>::deserialize(d)?.is_some_and(|v| v == "all"))
}

pub async fn client_page(
    state: &AppState,
    staff: &Staff,
    id: ClientId,
    error: Option<String>,
    new_portal_url: Option<String>,
) -> Result<ClientPage, PageError> {
    client_page_view(state, staff, id, error, new_portal_url, RecordView::default()).await
}

pub async fn client_page_view(
    state: &AppState,
    staff: &Staff,
    id: ClientId,
    error: Option<String>,
    new_portal_url: Option<String>,
    view: RecordView,
) -> Result<ClientPage, PageError> {
    let access = clients::record_access(&state.store, &staff.ctx, &staff.actor(), id).await?;
    let rec = clients::get_client(&state.store, &staff.ctx, &access).await?;
    let sessions = clients::list_sessions(&state.store, &staff.ctx, &access).await?;
    let measures = crate::pages::measures::section(state, staff, &access, rec.data_version, &sessions, new_portal_url, view.scores).await?;
    let prompts = crate::pages::records::prompt_summary(state, staff, &access).await?;
    Ok(ClientPage {
        measures,
        prompts,
        title: rec.name.clone(),
        nav: nav(staff, "caseload"),
        href: format!("/clients/{id}"),
        name: rec.name,
        date_of_birth: rec.date_of_birth.unwrap_or_else(|| "—".into()),
        archived: rec.status == ClientStatus::Archived,
        break_glass: access.basis() == AccessBasis::BreakGlass,
        attended: sessions.iter().filter(|s| s.attendance == Attendance::Attended).count(),
        care_team: rec.care_team.into_iter().map(|m| m.name).collect(),
        created: fmt_date(rec.created_at),
        today: format_date(staff.ctx.now.date()),
        sessions_total: sessions.len(),
        sessions: sessions
            .iter()
            .take(if view.sessions { usize::MAX } else { SESSIONS_SHOWN })
            .map(|s| SessionView {
                transcript_href: format!("/clients/{id}/sessions/{}/transcript", s.id),
                when: fmt_ts(Some(s.starts_at)),
                minutes: s.duration_minutes,
                attendance: s.attendance.label(),
                attendance_class: s.attendance.as_str(),
            })
            .collect(),
        error,
    })
}

pub async fn show_client(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    Query(view): Query<RecordView>,
) -> Result<Response, PageError> {
    let id: ClientId = parse_path_id(&id)?;
    match client_page_view(&state, &staff, id, None, None, view).await {
        Ok(page) => Ok(render(&page)),
        // Missing, another practice's, or outside the care team: one answer, which offers
        // emergency access. Only an audited request with a reason can tell them apart.
        Err(PageError(AppError::NotFound)) => Ok((
            StatusCode::NOT_FOUND,
            render(&ErrorPage {
                title: "Record not available".into(),
                nav: nav(&staff, "caseload"),
                message: "This record does not exist, or you are not on this client's care team.".into(),
                emergency_link: Some(format!("/clients/{id}/break-glass")),
            }),
        )
            .into_response()),
        Err(e) => Err(e),
    }
}

pub async fn edit_client_form(State(state): State<AppState>, staff: Staff, Path(id): Path<String>) -> Result<Response, PageError> {
    let id: ClientId = parse_path_id(&id)?;
    let access = clients::record_access(&state.store, &staff.ctx, &staff.actor(), id).await?;
    let rec = clients::get_client(&state.store, &staff.ctx, &access).await?;
    Ok(render(&form_page(
        &staff,
        "Edit client",
        format!("/clients/{id}/edit"),
        format!("/clients/{id}"),
        rec.name,
        rec.date_of_birth.unwrap_or_default(),
        None,
    )))
}

pub async fn edit_client(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    PageForm(form): PageForm<ClientForm>,
) -> Result<Response, PageError> {
    let id: ClientId = parse_path_id(&id)?;
    let access = clients::record_access(&state.store, &staff.ctx, &staff.actor(), id).await?;
    let (name, dob) = match parse_client_form(&form, staff.ctx.now.date()) {
        Ok(v) => v,
        Err(msg) => {
            let page = form_page(
                &staff,
                "Edit client",
                format!("/clients/{id}/edit"),
                format!("/clients/{id}"),
                form.name,
                form.date_of_birth.unwrap_or_default(),
                Some(msg),
            );
            return Ok((StatusCode::UNPROCESSABLE_ENTITY, render(&page)).into_response());
        }
    };
    let changes = ClientChanges { name: Some(&name), date_of_birth: Some(dob.as_ref()), status: None };
    clients::update_client(&state.store, &staff.ctx, &access, changes).await?;
    Ok(Redirect::to(&format!("/clients/{id}")).into_response())
}

async fn set_status(state: &AppState, staff: &Staff, id: &str, status: ClientStatus) -> Result<Response, PageError> {
    let id: ClientId = parse_path_id(id)?;
    let access = clients::record_access(&state.store, &staff.ctx, &staff.actor(), id).await?;
    clients::update_client(&state.store, &staff.ctx, &access, ClientChanges { status: Some(status), ..Default::default() }).await?;
    Ok(Redirect::to(&format!("/clients/{id}")).into_response())
}

pub async fn archive_client(State(state): State<AppState>, staff: Staff, Path(id): Path<String>) -> Result<Response, PageError> {
    set_status(&state, &staff, &id, ClientStatus::Archived).await
}

pub async fn restore_client(State(state): State<AppState>, staff: Staff, Path(id): Path<String>) -> Result<Response, PageError> {
    set_status(&state, &staff, &id, ClientStatus::Active).await
}

#[derive(Deserialize)]
pub struct SessionForm {
    date: String,
    time: String,
    duration_minutes: String,
    attendance: String,
}

fn parse_session_form(f: &SessionForm) -> Result<(time::OffsetDateTime, DurationMinutes, Attendance), String> {
    let date = concord_domain::values::parse_date(&f.date).ok_or_else(|| "Date must be a date.".to_owned())?;
    let t = Time::parse(f.time.trim(), &time::macros::format_description!("[hour]:[minute]"))
        .map_err(|_| "Start must be a time like 14:00.".to_owned())?;
    let minutes: i64 = f.duration_minutes.trim().parse().map_err(|_| "Minutes must be a number.".to_owned())?;
    let duration = DurationMinutes::new(minutes).map_err(|e| e.to_string())?;
    let attendance: Attendance = f.attendance.parse().map_err(|e: concord_domain::values::ValueError| e.to_string())?;
    Ok((PrimitiveDateTime::new(date, t).assume_utc(), duration, attendance))
}

pub async fn add_session(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    PageForm(form): PageForm<SessionForm>,
) -> Result<Response, PageError> {
    let id: ClientId = parse_path_id(&id)?;
    let access = clients::record_access(&state.store, &staff.ctx, &staff.actor(), id).await?;
    match parse_session_form(&form) {
        Ok((starts_at, duration, attendance)) => {
            clients::add_session(&state.store, &staff.ctx, &access, starts_at, duration, attendance).await?;
            Ok(Redirect::to(&format!("/clients/{id}#sessions")).into_response())
        }
        Err(msg) => {
            let page = client_page(&state, &staff, id, Some(msg), None).await?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, render(&page)).into_response())
        }
    }
}

/// The form is shown for any id: whether the client exists is not revealed here.
pub async fn break_glass_form(staff: Staff, Path(id): Path<String>) -> Result<Response, PageError> {
    let id: ClientId = parse_path_id(&id)?;
    Ok(render(&BreakGlassPage {
        title: "Emergency access".into(),
        nav: nav(&staff, "caseload"),
        action: format!("/clients/{id}/break-glass"),
        error: None,
    }))
}

#[derive(Deserialize)]
pub struct BreakGlassForm {
    reason: String,
    minutes: Option<String>,
}

pub async fn break_glass(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    PageForm(form): PageForm<BreakGlassForm>,
) -> Result<Response, PageError> {
    let id: ClientId = parse_path_id(&id)?;
    let reason = match BreakGlassReason::parse(&form.reason) {
        Ok(r) => r,
        Err(e) => {
            let page = BreakGlassPage {
                title: "Emergency access".into(),
                nav: nav(&staff, "caseload"),
                action: format!("/clients/{id}/break-glass"),
                error: Some(e.to_string()),
            };
            return Ok((StatusCode::UNPROCESSABLE_ENTITY, render(&page)).into_response());
        }
    };
    let minutes: i64 = form.minutes.as_deref().and_then(|m| m.parse().ok()).unwrap_or(60);
    match clients::grant_break_glass(&state.store, &staff.ctx, &staff.actor(), id, &reason, time::Duration::minutes(minutes)).await {
        Ok(_) => {}
        // Not a client of the practice (or already on the team): recorded, and answered like
        // a grant, so the response does not reveal which ids exist.
        Err(concord_store::StoreError::NotFound) => {
            let u = staff.user();
            accounts::record_security_event(
                &state.store,
                &staff.ctx,
                Some(u.practice_id),
                Some(u.id),
                "break_glass.refused",
                &format!("client={id}"),
            )
            .await?;
        }
        Err(e) => return Err(e.into()),
    }
    Ok(Redirect::to(&format!("/clients/{id}")).into_response())
}
