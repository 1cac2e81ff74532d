//! Measures on the client record: latest scores with change and charts, the episode outcome,
//! paper-form entry, measurement schedules and client portal links.

use super::nav;
use crate::api::measures::{check_pin, registry};
use crate::auth::{PageForm, Staff, parse_path_id};
use crate::charts::ChartView;
use crate::error::{AppError, PageError};
use crate::outcomes::{MeasureSummary, summarise};
use crate::questionnaire;
use crate::state::AppState;
use crate::view::{PaperFormPage, fmt_ts, render};
use crate::view_cache::{PanelStamp, RecordMeasures, RecordPanel, Stamp};
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use concord_documents::{Band as ChartBand, MeasureChart, MeasurePoint, SessionMark, Threshold};
use concord_domain::ids::{ClientId, PortalLinkId, ScheduleId};
use concord_domain::measures::outcome::{ChangeClass, OutcomeConfig};
use concord_domain::measures::schedule::Frequency;
use concord_domain::measures::{Instrument, Registry};
use concord_domain::policy::RecordAccess;
use concord_domain::values::Attendance;
use concord_store::clients::{self, SessionRow};
use concord_store::measures::{self as store_measures, NewResponse, ResponseSource, ScorePoint};
use concord_store::prompts::{self as store_prompts, StatusFilter};
use serde::Deserialize;
use std::collections::HashMap;
use std::sync::Arc;
use time::{PrimitiveDateTime, Time};

#[derive(Debug)]
pub struct MeasureCard {
    pub name: String,
    pub latest: String,
    pub change: String,
    /// `improved`, `deteriorated`, `unchanged` or empty, for the marker.
    pub change_class: &'static str,
    pub chart: Option<ChartView>,
    /// Set when the chart summarises a long series: where to see every score.
    pub all_scores_href: Option<String>,
}

/// The most scores a record-page chart draws (and its table lists) before a long series is
/// summarised; `?scores=all` draws them all.
pub const CHART_POINTS_MAX: usize = 120;

/// A long series thinned deterministically for drawing: the first and the last score, and in
/// each of equal stretches of the series between them its lowest and its highest score, so no
/// peak or trough disappears. At most `max` points, oldest first; short series are unchanged.
pub fn thin_series(points: &[(i64, i32)], max: usize) -> Vec<(i64, i32)> {
    let (Some(first), Some(last), Some(inner)) = (points.first(), points.last(), points.get(1..points.len().saturating_sub(1))) else {
        return points.to_vec();
    };
    if points.len() <= max || max < 4 || inner.is_empty() {
        return points.to_vec();
    }
    let stretches = (max - 2) / 2;
    let size = inner.len().div_ceil(stretches).max(1);
    let mut out = vec![*first];
    for chunk in inner.chunks(size) {
        let lowest = chunk.iter().enumerate().min_by_key(|(i, p)| (p.1, *i)).map(|(i, _)| i);
        let highest = chunk.iter().enumerate().max_by_key(|(i, p)| (p.1, std::cmp::Reverse(*i))).map(|(i, _)| i);
        let (Some(a), Some(b)) = (lowest, highest) else { continue };
        let (a, b) = (a.min(b), a.max(b));
        out.extend(chunk.get(a).copied());
        if b != a {
            out.extend(chunk.get(b).copied());
        }
    }
    out.push(*last);
    out
}

pub struct ScheduleView {
    pub id: String,
    pub instrument: String,
    pub frequency: &'static str,
    pub due: String,
    pub overdue: bool,
}

pub struct PortalLinkView {
    pub id: String,
    pub created: String,
    pub expires: String,
    pub status: String,
    pub active: bool,
}

pub struct MeasuresSection {
    /// Episode outcome and measure cards, shared with the page cache.
    pub derived: Arc<RecordMeasures>,
    pub instruments: Vec<(String, String)>,
    pub schedules: Vec<ScheduleView>,
    pub portal_links: Vec<PortalLinkView>,
    pub new_portal_url: Option<String>,
    /// Schedules, portal links and the open-prompt summary, shared with the page cache.
    pub panel: Arc<RecordPanel>,
}

/// Plain words for a change in a measure.
pub fn change_text(m: &MeasureSummary) -> (String, &'static str) {
    let Some(c) = &m.change else { return (String::new(), "") };
    if c.previous.is_none() {
        return ("first score".into(), "");
    }
    let d = c.change_since_intake;
    let direction = match d {
        d if d < 0 => format!("{} lower than at intake", -d),
        0 => "same as at intake".to_owned(),
        d => format!("{d} higher than at intake"),
    };
    match c.since_intake.as_ref().map(|t| t.class) {
        Some(ChangeClass::ReliableImprovement) => (format!("{direction}: reliable improvement"), "improved"),
        Some(ChangeClass::ReliableDeterioration) => (format!("{direction}: reliable deterioration"), "deteriorated"),
        Some(ChangeClass::NoReliableChange) => (format!("{direction}: no reliable change"), "unchanged"),
        None => (direction, ""),
    }
}

/// A measure's chart: the practice's definition gives the range, bands and caseness line.
pub fn measure_chart(
    def: Option<&Instrument>,
    m: &MeasureSummary,
    sessions: &[SessionRow],
    id_prefix: &str,
    size: (f64, f64),
) -> Option<ChartView> {
    let def = def?;
    let range = def.scoring().range?;
    if m.points.is_empty() {
        return None;
    }
    let first = m.points.first().map_or(0, |p| p.0);
    let last = m.points.last().map_or(0, |p| p.0);
    let from = sessions.iter().map(|s| s.starts_at).filter(|t| *t <= last).min().unwrap_or(first).min(first);
    let bands = def
        .scoring()
        .bands
        .as_ref()
        .map(|b| b.bands.iter().map(|b| ChartBand { from: f64::from(b.min), to: f64::from(b.max), label: b.label.clone() }).collect())
        .unwrap_or_default();
    let chart = concord_documents::measure_chart(&MeasureChart {
        id_prefix: id_prefix.to_owned(),
        title: def.short_name().to_owned(),
        y_range: (f64::from(range.min), f64::from(range.max)),
        bands,
        caseness: def.scoring().caseness.as_ref().map(|c| Threshold { value: f64::from(c.value), label: "caseness".into() }),
        points: m.points.iter().map(|(at, v)| MeasurePoint { at: *at, value: f64::from(*v), note: None }).collect(),
        sessions: sessions
            .iter()
            .filter(|s| s.starts_at >= from && s.starts_at <= last && s.attendance != Attendance::Scheduled)
            .map(|s| SessionMark { at: s.starts_at, attended: s.attendance == Attendance::Attended })
            .collect(),
        x_domain: (from, last.max(from + 86_400)),
        utc_offset_seconds: 0,
        width: size.0,
        height: size.1,
        value_decimals: 0,
    });
    Some(chart.into())
}

fn frequency_label(f: Frequency) -> &'static str {
    match f {
        Frequency::EverySession => "Every session",
        Frequency::Weekly => "Weekly",
        Frequency::Daily => "Daily",
        Frequency::Once => "Once",
    }
}

/// Everything the record page shows about measures.
pub async fn section(
    state: &AppState,
    staff: &Staff,
    access: &RecordAccess,
    rec: &clients::ClientRecord,
    new_portal_url: Option<String>,
    all_scores: bool,
) -> Result<MeasuresSection, PageError> {
    let data_version = rec.data_version;
    let registry = registry(state, &staff.ctx, access.practice_id()).await?;
    // `data_version` was read before the sessions and scores below, so a view stamped with it
    // is never newer than its stamp says; a write in between only costs a rebuild next time.
    let (key, stamp) = ((access.client_id(), u8::from(all_scores)), Stamp::new(data_version, &registry));
    let mut cached = state.views.record.get(key, stamp);
    // On a miss, wait for the turn to derive it: a request already deriving it may put it.
    let turn = match cached {
        Some(_) => None,
        None => {
            let turn = state.views.record.build_turn(key).await;
            cached = state.views.record.get(key, stamp);
            Some(turn)
        }
    };
    let derived = match cached {
        Some(view) => {
            clients::audit_cached_sessions(&state.store, &staff.ctx, access, view.sessions.len()).await?;
            store_measures::audit_cached_score_points(&state.store, &staff.ctx, access, view.points).await?;
            view
        }
        None => {
            let sessions = clients::list_sessions(&state.store, &staff.ctx, access).await?;
            let points = store_measures::list_score_points(&state.store, &staff.ctx, access, None).await?;
            let view = Arc::new(record_measures(access, &points, &registry, sessions, all_scores));
            state.views.record.put(key, stamp, Arc::clone(&view));
            view
        }
    };
    drop(turn);
    let panel = record_panel(state, staff, access, rec, &derived.sessions).await?;
    let now = staff.ctx.ts();
    Ok(MeasuresSection {
        derived,
        instruments: registry.iter().map(|i| (i.id().as_str().to_owned(), i.name().to_owned())).collect(),
        schedules: panel
            .schedules
            .iter()
            .map(|s| ScheduleView {
                id: s.id.to_string(),
                instrument: registry
                    .get(s.instrument.as_str())
                    .map_or_else(|| s.instrument.as_str().to_owned(), |d| d.short_name().to_owned()),
                frequency: frequency_label(s.frequency),
                due: match (s.due.is_due, s.due.due_at) {
                    (_, None) => "complete".to_owned(),
                    (true, Some(at)) => format!("due since {}", fmt_ts(Some(at))),
                    (false, Some(at)) => format!("next due {}", fmt_ts(Some(at))),
                },
                overdue: s.due.overdue,
            })
            .collect(),
        portal_links: panel
            .links
            .iter()
            .map(|l| {
                let active = l.revoked_at.is_none() && l.expires_at > now;
                PortalLinkView {
                    id: l.id.to_string(),
                    created: fmt_ts(Some(l.created_at)),
                    expires: fmt_ts(Some(l.expires_at)),
                    status: match (l.revoked_at, l.expires_at > now, l.locked_until.filter(|u| *u > now)) {
                        (Some(_), _, _) => "Revoked".into(),
                        (None, false, _) => "Expired".into(),
                        (None, true, Some(_)) => "Locked (wrong PINs)".into(),
                        (None, true, None) => format!(
                            "Active{}{}",
                            if l.has_pin { ", with PIN" } else { "" },
                            l.last_opened_at.map(|t| format!(", last opened {}", fmt_ts(Some(t)))).unwrap_or_default()
                        ),
                    },
                    active,
                }
            })
            .collect(),
        new_portal_url,
        panel,
    })
}

/// The record page's schedules, portal links and open prompts: kept in memory per client while
/// its versions hold and the clock passes none of its due times ([`RecordPanel`]); served from
/// memory, it is audited as the three reads it replaces (detail `cached`). Concurrent misses on
/// one client read it once.
async fn record_panel(
    state: &AppState,
    staff: &Staff,
    access: &RecordAccess,
    rec: &clients::ClientRecord,
    sessions: &[SessionRow],
) -> Result<Arc<RecordPanel>, PageError> {
    let (key, stamp, now) = ((access.client_id(), 0), PanelStamp::from(rec), staff.ctx.ts());
    let cache = &state.views.panel;
    let fresh = || cache.get(key, stamp).filter(|p| p.fresh_at(now));
    let mut cached = fresh();
    let turn = match cached {
        Some(_) => None,
        None => {
            let turn = cache.build_turn(key).await;
            cached = fresh();
            Some(turn)
        }
    };
    let (store, ctx) = (&state.store, &staff.ctx);
    let panel = match cached {
        Some(panel) => {
            store_measures::audit_cached_schedules(store, ctx, access, panel.schedules.len()).await?;
            store_measures::audit_cached_portal_links(store, ctx, access, panel.links.len()).await?;
            store_prompts::audit_cached_prompts(store, ctx, access, StatusFilter::Open, panel.prompts.open).await?;
            panel
        }
        None => {
            let schedules = store_measures::list_schedules(store, ctx, access).await?;
            let links = store_measures::list_portal_links(store, ctx, access).await?;
            let open = store_prompts::list_prompts(store, ctx, access, StatusFilter::Open).await?;
            let panel = Arc::new(RecordPanel::new(schedules, links, crate::pages::records::prompt_summary(&open), sessions, now));
            if panel.fresh_at(now) {
                cache.put(key, stamp, Arc::clone(&panel));
            }
            panel
        }
    };
    drop(turn);
    Ok(panel)
}

/// The record page's measure cards and episode outcome, from the client's score series.
fn record_measures(
    access: &RecordAccess,
    points: &[ScorePoint],
    registry: &Registry,
    sessions: Vec<SessionRow>,
    all_scores: bool,
) -> RecordMeasures {
    let outcomes = summarise(points, registry, &OutcomeConfig::default());
    let cards = outcomes
        .measures
        .iter()
        .filter(|m| m.latest_total.is_some())
        .map(|m| {
            let (change, change_class) = change_text(m);
            let shown = if all_scores { m.points.clone() } else { thin_series(&m.points, CHART_POINTS_MAX) };
            let thinned = shown.len() < m.points.len();
            let drawn = MeasureSummary { points: shown, ..m.clone() };
            let mut chart = measure_chart(registry.get(&m.instrument), &drawn, &sessions, &format!("m-{}", m.instrument), (600.0, 260.0));
            if let Some(c) = chart.as_mut().filter(|_| thinned) {
                c.summary.push_str(&format!(
                    " Of {} scores, the chart and the table show {}: the first, the latest, and the lowest and highest of each stretch of time.",
                    m.points.len(),
                    drawn.points.len()
                ));
            }
            let all_scores_href = thinned.then(|| format!("/clients/{}?scores=all#measures", access.client_id()));
            MeasureCard {
                name: m.name.clone(),
                latest: match (&m.latest_total, &m.latest_band_label) {
                    (Some(t), Some(b)) => format!("{t} ({b}) on {}", fmt_ts(m.latest_at).get(..10).unwrap_or("")),
                    (Some(t), None) => format!("{t} on {}", fmt_ts(m.latest_at).get(..10).unwrap_or("")),
                    _ => "—".into(),
                },
                change,
                change_class,
                chart,
                all_scores_href,
            }
        })
        .collect();
    RecordMeasures {
        episode: outcomes.episode.as_ref().map(|e| e.classification.label().to_owned()),
        cards,
        sessions,
        points: points.len(),
    }
}

#[derive(Deserialize, Default)]
pub struct FormQuery {
    instrument: Option<String>,
}

fn paper_page(
    staff: &Staff,
    id: ClientId,
    client_name: String,
    def: &Instrument,
    previous: &HashMap<String, String>,
    error: Option<String>,
) -> PaperFormPage {
    PaperFormPage {
        title: format!("{} — {}", def.short_name(), client_name),
        nav: nav(staff, "caseload"),
        client_name,
        client_href: format!("/clients/{id}"),
        action: format!("/clients/{id}/measures/new?instrument={}", def.id().as_str()),
        q: questionnaire::view(def, previous),
        date: previous.get("completed_date").cloned().unwrap_or_else(|| concord_domain::values::format_date(staff.ctx.now.date())),
        time: previous.get("completed_time").cloned().unwrap_or_else(|| "10:00".into()),
        source_paper: previous.get("source").is_none_or(|s| s == "paper"),
        error,
    }
}

async fn load(
    state: &AppState,
    staff: &Staff,
    id: &str,
    instrument: Option<&str>,
) -> Result<(ClientId, RecordAccess, String, Arc<Registry>, String), PageError> {
    let id: ClientId = parse_path_id(id)?;
    let (access, rec) = clients::open_record(&state.store, &staff.ctx, &staff.actor(), id).await?;
    let registry = registry(state, &staff.ctx, access.practice_id()).await?;
    let instrument = instrument.unwrap_or("").trim().to_owned();
    if registry.get(&instrument).is_none() {
        return Err(PageError(AppError::NotFound));
    }
    Ok((id, access, rec.name, registry, instrument))
}

pub async fn paper_form(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    Query(q): Query<FormQuery>,
) -> Result<Response, PageError> {
    let (id, _, name, registry, instrument) = load(&state, &staff, &id, q.instrument.as_deref()).await?;
    let def = registry.get(&instrument).ok_or(AppError::NotFound)?;
    Ok(render(&paper_page(&staff, id, name, def, &HashMap::new(), None)))
}

pub async fn save_paper_form(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    Query(q): Query<FormQuery>,
    PageForm(form): PageForm<HashMap<String, String>>,
) -> Result<Response, PageError> {
    let (id, access, name, registry, instrument) = load(&state, &staff, &id, q.instrument.as_deref()).await?;
    let def = registry.get(&instrument).ok_or(AppError::NotFound)?;
    let attempt = (|| {
        let (answers, note) = questionnaire::answers_from_form(def, &form)?;
        let date = concord_domain::values::parse_date(form.get("completed_date").map_or("", |s| s.as_str()))
            .ok_or_else(|| AppError::Unprocessable("give the date the form was completed".into()))?;
        let t = Time::parse(form.get("completed_time").map_or("", |s| s.trim()), &time::macros::format_description!("[hour]:[minute]"))
            .map_err(|_| AppError::Unprocessable("give the time as HH:MM".into()))?;
        let source = if form.get("source").is_some_and(|s| s == "clinician") { ResponseSource::Clinician } else { ResponseSource::Paper };
        let completed_at = PrimitiveDateTime::new(date, t).assume_utc().unix_timestamp();
        let mut new = NewResponse::scored(def, answers, completed_at, source).map_err(|e| AppError::Unprocessable(e.to_string()))?;
        new.note = note;
        Ok::<_, AppError>(new)
    })();
    let result = match attempt {
        Ok(new) => store_measures::record_response(&state.store, &staff.ctx, &access, new).await.map_err(AppError::from),
        Err(e) => Err(e),
    };
    match result {
        Ok(_) => Ok(Redirect::to(&format!("/clients/{id}#measures")).into_response()),
        Err(e @ (AppError::Unprocessable(_) | AppError::Conflict(_))) => {
            let status = e.status();
            Ok((status, render(&paper_page(&staff, id, name, def, &form, Some(e.public_message())))).into_response())
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize)]
pub struct ScheduleForm {
    instrument: String,
    frequency: String,
}

pub async fn set_schedule(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    PageForm(form): PageForm<ScheduleForm>,
) -> Result<Response, PageError> {
    let id: ClientId = parse_path_id(&id)?;
    let access = clients::record_access(&state.store, &staff.ctx, &staff.actor(), id).await?;
    let registry = registry(&state, &staff.ctx, access.practice_id()).await?;
    let def = registry.get(form.instrument.trim()).ok_or_else(|| AppError::Unprocessable("choose a questionnaire".into()))?;
    let frequency = Frequency::ALL
        .into_iter()
        .find(|f| f.as_str() == form.frequency)
        .ok_or_else(|| AppError::Unprocessable("choose how often".into()))?;
    store_measures::set_schedule(&state.store, &staff.ctx, &access, def.id(), frequency).await?;
    Ok(Redirect::to(&format!("/clients/{id}#measures")).into_response())
}

pub async fn remove_schedule(
    State(state): State<AppState>,
    staff: Staff,
    Path((id, schedule_id)): Path<(String, String)>,
) -> Result<Response, PageError> {
    let id: ClientId = parse_path_id(&id)?;
    let schedule_id: ScheduleId = parse_path_id(&schedule_id)?;
    let access = clients::record_access(&state.store, &staff.ctx, &staff.actor(), id).await?;
    store_measures::remove_schedule(&state.store, &staff.ctx, &access, schedule_id).await?;
    Ok(Redirect::to(&format!("/clients/{id}#measures")).into_response())
}

#[derive(Deserialize)]
pub struct PortalLinkForm {
    days: Option<String>,
    pin: Option<String>,
}

/// Creates a portal link and shows the record with the address, once.
pub async fn create_portal_link(
    State(state): State<AppState>,
    staff: Staff,
    headers: HeaderMap,
    Path(id): Path<String>,
    PageForm(form): PageForm<PortalLinkForm>,
) -> Result<Response, PageError> {
    let client_id: ClientId = parse_path_id(&id)?;
    let access = clients::record_access(&state.store, &staff.ctx, &staff.actor(), client_id).await?;
    let days: i64 = form.days.as_deref().and_then(|d| d.parse().ok()).filter(|d| (1..=180).contains(d)).unwrap_or(30);
    let result = match check_pin(form.pin.as_deref()) {
        Ok(pin) => store_measures::create_portal_link(
            &state.store,
            &staff.ctx,
            &access,
            (staff.ctx.now + time::Duration::days(days)).unix_timestamp(),
            pin.as_deref(),
        )
        .await
        .map_err(AppError::from),
        Err(e) => Err(e),
    };
    match result {
        Ok((_, secret)) => {
            let url = format!("{}/portal/{secret}", state.base_url(&headers));
            let page = crate::pages::clients::client_page(&state, &staff, client_id, None, Some(url)).await?;
            Ok(render(&page))
        }
        Err(e @ (AppError::Unprocessable(_) | AppError::Conflict(_))) => {
            let status = e.status();
            let page = crate::pages::clients::client_page(&state, &staff, client_id, Some(e.public_message()), None).await?;
            Ok((status, render(&page)).into_response())
        }
        Err(e) => Err(e.into()),
    }
}

pub async fn revoke_portal_link(
    State(state): State<AppState>,
    staff: Staff,
    Path((id, link_id)): Path<(String, String)>,
) -> Result<Response, PageError> {
    let id: ClientId = parse_path_id(&id)?;
    let link_id: PortalLinkId = parse_path_id(&link_id)?;
    let access = clients::record_access(&state.store, &staff.ctx, &staff.actor(), id).await?;
    store_measures::revoke_portal_link(&state.store, &staff.ctx, &access, link_id).await?;
    Ok(Redirect::to(&format!("/clients/{id}#portal")).into_response())
}

#[cfg(test)]
mod tests {
    use super::thin_series;

    #[test]
    fn thinning_keeps_ends_and_extremes() {
        let short: Vec<(i64, i32)> = (0..50).map(|i| (i, i32::try_from(i % 7).unwrap())).collect();
        assert_eq!(thin_series(&short, 120), short, "short series unchanged");
        // A long daily series with one spike and one trough in the middle.
        let mut long: Vec<(i64, i32)> = (0..1092).map(|i| (i * 86_400, 10 + i32::try_from(i % 3).unwrap())).collect();
        long[500].1 = 27;
        long[700].1 = 0;
        let thin = thin_series(&long, 120);
        assert!(thin.len() <= 120 && thin.len() > 60, "{}", thin.len());
        assert_eq!(thin.first(), long.first());
        assert_eq!(thin.last(), long.last());
        assert!(thin.contains(&long[500]) && thin.contains(&long[700]), "no peak or trough disappears");
        assert!(thin.windows(2).all(|w| w[0].0 < w[1].0), "oldest first, no duplicates");
        assert_eq!(thin, thin_series(&long, 120), "deterministic");
    }
}
