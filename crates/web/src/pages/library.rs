//! The practice's psychoeducation library (issue 5): medication classes and non-drug
//! strategies, described the IPDAS way, editable by staff. Starter entries are marked "for
//! clinician review" until a clinician saves them as reviewed. Entries inform; text that reads
//! as a recommendation is refused.

use super::nav;
use crate::auth::{PageForm, Staff};
use crate::error::{AppError, PageError};
use crate::state::AppState;
use crate::view::{Nav, render};
use askama::Template;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use concord_domain::decisions::directive_phrase;
use concord_store::library::{self, EntryBody, EntryInput, EntryKind, LibraryEntry};
use std::collections::HashMap;

pub struct EntryView {
    pub id: String,
    pub action: String,
    pub kind: &'static str,
    pub kind_label: &'static str,
    pub title: String,
    pub fields: Vec<(&'static str, &'static str, String)>,
    pub sources: String,
    pub reviewed_on: String,
    pub reviewed: bool,
}

#[derive(Template)]
#[template(path = "library.html")]
pub struct LibraryPage {
    pub title: String,
    pub nav: Option<Nav>,
    pub entries: Vec<EntryView>,
    pub new_fields: Vec<(&'static str, &'static str, String)>,
}

const FIELDS: [(&str, &str); 5] = [
    ("what_it_is", "What it is"),
    ("how_it_works", "How it works"),
    ("time_to_effect", "Typical time to effect"),
    ("common_side_effects", "Common side effects"),
    ("practical_notes", "Practical notes"),
];

fn body_value(b: &EntryBody, key: &str) -> String {
    match key {
        "what_it_is" => b.what_it_is.clone(),
        "how_it_works" => b.how_it_works.clone(),
        "time_to_effect" => b.time_to_effect.clone(),
        "common_side_effects" => b.common_side_effects.clone(),
        _ => b.practical_notes.clone(),
    }
}

fn view(e: &LibraryEntry) -> EntryView {
    EntryView {
        id: e.id.to_string(),
        action: format!("/library/{}", e.id),
        kind: e.kind.as_str(),
        kind_label: e.kind.label(),
        title: e.title.clone(),
        fields: FIELDS.iter().map(|(k, l)| (*k, *l, body_value(&e.body, k))).collect(),
        sources: e.sources.clone(),
        reviewed_on: e.reviewed_on.clone().unwrap_or_default(),
        reviewed: e.clinician_reviewed,
    }
}

pub async fn show(State(state): State<AppState>, staff: Staff) -> Result<Response, PageError> {
    let entries = library::list(&state.store, &staff.ctx, &staff.actor()).await?;
    Ok(render(&LibraryPage {
        title: "Psychoeducation library".into(),
        nav: nav(&staff, "library"),
        entries: entries.iter().map(view).collect(),
        new_fields: FIELDS.iter().map(|(k, l)| (*k, *l, String::new())).collect(),
    })
    .into_response())
}

fn text(form: &HashMap<String, String>, key: &str, label: &str, max: usize, required: bool) -> Result<String, AppError> {
    let v = form.get(key).map(|s| s.trim().replace("\r\n", "\n")).unwrap_or_default();
    if required && v.is_empty() {
        return Err(AppError::Unprocessable(format!("{label} must not be empty")));
    }
    if v.chars().count() > max {
        return Err(AppError::Unprocessable(format!("{label} must be at most {max} characters")));
    }
    if v.chars().any(|c| c.is_control() && c != '\n') {
        return Err(AppError::Unprocessable(format!("{label} must not contain control characters")));
    }
    if let Some(p) = directive_phrase(&v) {
        return Err(AppError::Unprocessable(format!("{label} reads as a recommendation (\"{p}\"); describe, do not advise")));
    }
    Ok(v)
}

fn input(form: &HashMap<String, String>) -> Result<EntryInput, AppError> {
    let kind = form
        .get("kind")
        .and_then(|k| EntryKind::parse(k))
        .ok_or_else(|| AppError::Unprocessable("choose what the entry describes".into()))?;
    let reviewed_on = text(form, "reviewed_on", "Review date", 10, false)?;
    if !reviewed_on.is_empty() {
        crate::api::decisions::parse_date(&reviewed_on, "Review date")?;
    }
    Ok(EntryInput {
        kind,
        title: text(form, "title", "Title", 200, true)?,
        body: EntryBody {
            what_it_is: text(form, "what_it_is", "What it is", 2000, false)?,
            how_it_works: text(form, "how_it_works", "How it works", 2000, false)?,
            time_to_effect: text(form, "time_to_effect", "Typical time to effect", 2000, false)?,
            common_side_effects: text(form, "common_side_effects", "Common side effects", 2000, false)?,
            practical_notes: text(form, "practical_notes", "Practical notes", 2000, false)?,
        },
        sources: text(form, "sources", "Sources", 2000, true)?,
        reviewed_on: (!reviewed_on.is_empty()).then_some(reviewed_on),
        clinician_reviewed: form.get("clinician_reviewed").is_some_and(|v| v == "yes"),
    })
}

pub async fn create(
    State(state): State<AppState>,
    staff: Staff,
    PageForm(form): PageForm<HashMap<String, String>>,
) -> Result<Response, PageError> {
    let e = input(&form)?;
    library::create(&state.store, &staff.ctx, &staff.actor(), &e).await?;
    Ok(Redirect::to("/library").into_response())
}

pub async fn update(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    PageForm(form): PageForm<HashMap<String, String>>,
) -> Result<Response, PageError> {
    // Only the canonical spelling, like every other id in a path.
    let parsed: uuid::Uuid = id.parse().map_err(|_| AppError::NotFound)?;
    if parsed.hyphenated().to_string() != id {
        return Err(AppError::NotFound.into());
    }
    let id = parsed;
    let e = input(&form)?;
    library::update(&state.store, &staff.ctx, &staff.actor(), id, &e).await?;
    Ok(Redirect::to("/library").into_response())
}
