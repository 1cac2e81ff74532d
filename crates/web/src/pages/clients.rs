//! Caseload, client record, client forms, sessions and break-glass pages.

use super::{nav, non_empty};
use crate::auth::{PageForm, Staff, parse_path_id};
use crate::error::{AppError, PageError};
use crate::state::AppState;
use crate::view::{
    BreakGlassPage, CaseloadPage, CaseloadRow, ClientFormPage, ClientPage, ErrorPage, SessionView, fmt_date, fmt_ts, render,
};
use crate::view_cache::{self, CaseloadEntry, CaseloadMeasures, CaseloadRead, RowStamp, Stamp};
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
    list.iter().map(|c| caseload_row(c, href(c))).collect()
}

/// A caseload or directory line without its measures.
fn caseload_row(c: &ClientSummary, href: String) -> CaseloadRow {
    CaseloadRow {
        scores: None,
        overdue: Vec::new(),
        href,
        name: c.name.clone(),
        attended: c.attended_sessions,
        last: fmt_ts(c.last_session_at),
        next: fmt_ts(c.next_session_at),
        archived: c.status == ClientStatus::Archived,
    }
}

pub async fn caseload(State(state): State<AppState>, staff: Staff, Query(q): Query<CaseloadQuery>) -> Result<Response, PageError> {
    let query = non_empty(q.q).unwrap_or_default();
    let include_archived = q.archived.is_some();
    let scope = policy::caseload_scope(&staff.actor());
    let (clients, overdue, attention) = if scope.whole_practice() {
        // Admins see the directory (names only) but reach records only through a care team.
        let list = clients::list_clients(&state.store, &staff.ctx, &scope, Some(&query), include_archived).await?;
        (caseload_rows(&list, |c| format!("/admin/clients/{}/care-team", c.id)), Vec::new(), Vec::new())
    } else {
        let entries = caseload_entries(&state, &staff, &scope, &query, include_archived).await?;
        let registry = crate::api::measures::registry(&state, &staff.ctx, scope.practice_id()).await?;
        let name_of = |id: &str| registry.get(id).map_or_else(|| id.to_owned(), |d| d.short_name().to_owned());
        let mut rows = Vec::with_capacity(entries.len());
        let mut overdue = Vec::new();
        let mut attention = Vec::new();
        for (e, scores) in entries.iter().zip(caseload_measures_cells(&state, &staff, &scope, &registry, &entries).await?) {
            let c = &e.client;
            rows.push(CaseloadRow {
                scores: Some(scores),
                overdue: e.overdue.iter().map(|o| name_of(o.instrument.as_str())).collect(),
                ..caseload_row(c, format!("/clients/{}", c.id))
            });
            overdue.extend(e.overdue.iter().map(|o| (o, c)));
            attention.extend(e.attention.iter().map(|(kind, urgency)| (*urgency, *kind, c)));
        }
        overdue.sort_by(|(a, _), (b, _)| (a.overdue_from, a.client_id, &a.instrument).cmp(&(b.overdue_from, b.client_id, &b.instrument)));
        attention.sort_by_key(|(u, k, c)| (*u, *k, c.id));
        let overdue = overdue
            .into_iter()
            .map(|(o, c)| {
                (c.name.clone(), format!("/clients/{}#measures", c.id), name_of(o.instrument.as_str()), fmt_ts(Some(o.overdue_from)))
            })
            .collect();
        let attention =
            attention.into_iter().map(|(u, k, c)| (c.name.clone(), format!("/clients/{}/prompts", c.id), k.label(), u.as_str())).collect();
        (rows, overdue, attention)
    };
    Ok(render(&CaseloadPage {
        overdue,
        attention,
        title: "Caseload".into(),
        nav: nav(&staff, "caseload"),
        whole_practice: scope.whole_practice(),
        query,
        include_archived,
        clients,
    }))
}

/// The caseload's rows in name order: from memory when every listed client's stamp matches its
/// kept row and no row has expired (one cheap query, the read audited as cached); else read
/// afresh (client list, overdue measures, open prompts) and kept.
async fn caseload_entries(
    state: &AppState,
    staff: &Staff,
    scope: &policy::CaseloadScope,
    query: &str,
    include_archived: bool,
) -> Result<Vec<Arc<CaseloadEntry>>, PageError> {
    let (store, ctx, now) = (&state.store, &staff.ctx, staff.ctx.ts());
    let stamps = clients::client_stamps(store, scope, Some(query), include_archived).await?;
    let keys: Vec<_> = stamps.iter().map(|s| ((s.id, 0), RowStamp::from(s))).collect();
    let all_kept = |kept: &[Option<Arc<CaseloadEntry>>]| kept.iter().all(|e| e.as_ref().is_some_and(|e| e.fresh_at(now)));
    let mut kept = state.views.caseload_rows.get_many(&keys);
    // On a miss, wait for the turn to read this listing: a request already reading it may keep
    // rows at the stamps just read, and then this one is served from memory too.
    let _turn = if all_kept(&kept) {
        None
    } else {
        let read = CaseloadRead::Rows { user: scope.actor().user_id, query: query.to_owned(), archived: include_archived };
        let turn = state.views.caseload_reads.turn(read).await;
        kept = state.views.caseload_rows.get_many(&keys);
        Some(turn)
    };
    if all_kept(&kept) {
        let mut entries: Vec<_> = kept.into_iter().flatten().collect();
        entries.sort_by(|a, b| a.sort_key.cmp(&b.sort_key));
        let seen = clients::CachedCaseload {
            listed: entries.len(),
            searched: !concord_domain::values::query_tokens(query).is_empty(),
            overdue: entries.iter().map(|e| e.overdue.len()).sum(),
            prompts: entries.iter().map(|e| e.attention.len()).sum(),
        };
        clients::audit_cached_caseload(store, ctx, scope, seen).await?;
        return Ok(entries);
    }
    // Read in this order: the list carries the versions, so what is read after it is at least
    // as new as the stamp it is kept under (a newer row only costs a later miss).
    let list = clients::list_clients(store, ctx, scope, Some(query), include_archived).await?;
    let mut overdue = concord_store::measures::overdue_for_caseload(store, ctx, scope).await?;
    let open = concord_store::prompts::open_prompts_for_caseload(store, ctx, scope).await?;
    let entries = list
        .into_iter()
        .map(|client| {
            let valid_until = [client.next_session_at, overdue.next_overdue_at.remove(&client.id)].into_iter().flatten().min();
            let stamp = RowStamp { data_version: client.data_version, caseload_version: client.caseload_version };
            let entry = Arc::new(CaseloadEntry {
                sort_key: client.name.to_lowercase(),
                overdue: overdue.measures.iter().filter(|o| o.client_id == client.id).cloned().collect(),
                attention: open.iter().filter(|(id, ..)| *id == client.id).map(|(_, k, u)| (*k, *u)).collect(),
                valid_until,
                client,
            });
            state.views.caseload_rows.put((entry.client.id, 0), stamp, Arc::clone(&entry));
            entry
        })
        .collect();
    Ok(entries)
}

/// The measures cell of each caseload row, from memory where the client's data version and the
/// practice's instruments are unchanged; else from one read of the caseload's score points.
async fn caseload_measures_cells(
    state: &AppState,
    staff: &Staff,
    scope: &policy::CaseloadScope,
    registry: &concord_domain::measures::Registry,
    entries: &[Arc<CaseloadEntry>],
) -> Result<Vec<Arc<CaseloadMeasures>>, PageError> {
    let registry_stamp = view_cache::fingerprint(registry);
    // The ids come from entries the scope listed; each view is served only while the client's
    // data version (read with the list, so before any scores) still matches.
    let keys: Vec<_> =
        entries.iter().map(|e| ((e.client.id, 0), Stamp { data_version: e.client.data_version, registry: registry_stamp })).collect();
    let mut views = state.views.caseload.get_many(&keys);
    let _turn = if views.iter().all(Option::is_some) {
        None
    } else {
        let turn = state.views.caseload_reads.turn(CaseloadRead::Scores { user: scope.actor().user_id }).await;
        views = state.views.caseload.get_many(&keys);
        Some(turn)
    };
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
        for ((e, slot), (key, stamp)) in entries.iter().zip(views.iter_mut()).zip(&keys) {
            if slot.is_none() {
                let view = Arc::new(caseload_measures(e.client.id, &by_client.remove(&e.client.id).unwrap_or_default(), registry, &config));
                state.views.caseload.put(*key, *stamp, Arc::clone(&view));
                *slot = Some(view);
            }
        }
    }
    Ok(views.into_iter().flatten().collect())
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
    let (access, rec) = clients::open_record(&state.store, &staff.ctx, &staff.actor(), id).await?;
    let measures = crate::pages::measures::section(state, staff, &access, &rec, new_portal_url, view.scores).await?;
    let derived = std::sync::Arc::clone(&measures.derived);
    let sessions = &derived.sessions;
    Ok(ClientPage {
        prompts: measures.panel.prompts.clone(),
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
        measures,
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
    let (_, rec) = clients::open_record(&state.store, &staff.ctx, &staff.actor(), id).await?;
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
