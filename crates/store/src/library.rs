//! The practice's psychoeducation library (issue 5): what a medication class or a non-drug
//! strategy is, how it works, typical time to effect, common side effects, practical notes,
//! sources and a review date. Editable by the practice's staff; a small starter set citing
//! public sources (NIMH, NICE) is added the first time a practice opens its library, marked
//! "for clinician review" until a clinician saves it as reviewed.
//!
//! Not client data: entries belong to a practice, are stored in plain text and are scoped by
//! the caller's practice. Writes are audited (`library.create`, `library.update`).
//!
//! Product rule: entries inform, they never recommend. The web layer refuses text with a
//! directive phrase (`concord_domain::decisions::directive_phrase`).

use crate::audit;
use crate::{Ctx, Store, StoreError, flag};
use concord_domain::policy::Actor;
use serde::{Deserialize, Serialize};
use sqlx::Row;
use uuid::Uuid;

/// What an entry describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryKind {
    MedicationClass,
    NonDrugStrategy,
}

impl EntryKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EntryKind::MedicationClass => "medication_class",
            EntryKind::NonDrugStrategy => "non_drug_strategy",
        }
    }
    pub fn label(self) -> &'static str {
        match self {
            EntryKind::MedicationClass => "Medication class",
            EntryKind::NonDrugStrategy => "Non-drug strategy",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        [EntryKind::MedicationClass, EntryKind::NonDrugStrategy].into_iter().find(|k| k.as_str() == s)
    }
}

/// The descriptive fields of an entry.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntryBody {
    pub what_it_is: String,
    pub how_it_works: String,
    pub time_to_effect: String,
    pub common_side_effects: String,
    pub practical_notes: String,
}

#[derive(Debug, Clone)]
pub struct LibraryEntry {
    pub id: Uuid,
    pub kind: EntryKind,
    pub title: String,
    pub body: EntryBody,
    pub sources: String,
    pub reviewed_on: Option<String>,
    pub clinician_reviewed: bool,
    pub updated_at: i64,
}

/// A new or changed entry (already checked by the caller).
#[derive(Debug, Clone)]
pub struct EntryInput {
    pub kind: EntryKind,
    pub title: String,
    pub body: EntryBody,
    pub sources: String,
    pub reviewed_on: Option<String>,
    pub clinician_reviewed: bool,
}

fn starter() -> Vec<EntryInput> {
    let nimh = "NIMH, Mental Health Medications (nimh.nih.gov/health/topics/mental-health-medications)";
    let nice = "NICE guideline NG222, Depression in adults: treatment and management (2022)";
    let e = |kind, title: &str, b: [&str; 5], sources: &str| EntryInput {
        kind,
        title: title.to_owned(),
        body: EntryBody {
            what_it_is: b[0].to_owned(),
            how_it_works: b[1].to_owned(),
            time_to_effect: b[2].to_owned(),
            common_side_effects: b[3].to_owned(),
            practical_notes: b[4].to_owned(),
        },
        sources: sources.to_owned(),
        reviewed_on: None,
        clinician_reviewed: false,
    };
    vec![
        e(
            EntryKind::MedicationClass,
            "Selective serotonin reuptake inhibitors (SSRIs)",
            [
                "A class of antidepressant medicines (for example sertraline, citalopram, fluoxetine) prescribed for depression and anxiety.",
                "They are thought to act on serotonin signalling in the brain; exactly how this improves mood is not fully understood.",
                "Some people notice changes within 2 weeks; the full effect is usually judged after 4 to 8 weeks.",
                "Nausea, headache, sleep changes, sexual side effects and feeling restless, often easing in the first weeks.",
                "Stopping suddenly can cause discontinuation symptoms, so changes are planned with the prescriber.",
            ],
            &format!("{nimh}; {nice}"),
        ),
        e(
            EntryKind::MedicationClass,
            "Serotonin and noradrenaline reuptake inhibitors (SNRIs)",
            [
                "A class of antidepressant medicines (for example venlafaxine, duloxetine).",
                "They act on serotonin and noradrenaline signalling.",
                "As with SSRIs, the effect is usually judged after 4 to 8 weeks.",
                "Nausea, sweating, dry mouth, sleep changes, raised blood pressure at higher doses, sexual side effects.",
                "Regular reviews with the prescriber; stopping is planned gradually.",
            ],
            &format!("{nimh}; {nice}"),
        ),
        e(
            EntryKind::NonDrugStrategy,
            "Behavioural activation (activity scheduling)",
            [
                "A structured way of planning activities that bring a sense of pleasure or achievement, step by step.",
                "Low mood tends to reduce activity, which lowers mood further; scheduling activities aims to reverse that cycle.",
                "Often worked on over several weeks, with a check-in after 4 to 6 weeks to review progress.",
                "No medication side effects; it can feel effortful at first.",
                "Works best with small, specific plans and regular review with the therapist.",
            ],
            nice,
        ),
        e(
            EntryKind::NonDrugStrategy,
            "Sleep routines and physical activity",
            [
                "Regular sleep and wake times, a wind-down routine, and regular physical activity such as group exercise.",
                "Sleep and activity affect mood, energy and concentration.",
                "Changes are usually reviewed after a few weeks of keeping them up.",
                "No medication side effects; activity needs to suit the person's health.",
                "A sleep and activity diary helps notice what changes.",
            ],
            &format!("{nice}; NIMH, Depression (nimh.nih.gov/health/topics/depression)"),
        ),
    ]
}

fn entry_from(r: &sqlx::any::AnyRow) -> Result<LibraryEntry, StoreError> {
    let id: String = r.try_get("id")?;
    let kind: String = r.try_get("kind")?;
    let body: String = r.try_get("body_json")?;
    let reviewed: i64 = r.try_get("clinician_reviewed")?;
    Ok(LibraryEntry {
        id: id.parse().map_err(|_| StoreError::Invalid("corrupt library id".into()))?,
        kind: EntryKind::parse(&kind).ok_or_else(|| StoreError::Invalid("corrupt library kind".into()))?,
        title: r.try_get("title")?,
        body: serde_json::from_str(&body).map_err(|e| StoreError::Invalid(format!("corrupt library entry: {e}")))?,
        sources: r.try_get("sources")?,
        reviewed_on: r.try_get("reviewed_on")?,
        clinician_reviewed: reviewed != 0,
        updated_at: r.try_get("updated_at")?,
    })
}

async fn insert(tx: &mut crate::Tx, ctx: &Ctx, actor: Option<&Actor>, practice: &str, e: &EntryInput) -> Result<Uuid, StoreError> {
    let id: Uuid = ctx.new_id(|ms, r| uuid::Builder::from_unix_timestamp_millis(ms, &r).into_uuid());
    let body = serde_json::to_string(&e.body).map_err(|e| StoreError::Invalid(e.to_string()))?;
    sqlx::query(
        "INSERT INTO psychoeducation (id, practice_id, kind, title, body_json, sources, reviewed_on, clinician_reviewed, updated_by, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(id.to_string())
    .bind(practice)
    .bind(e.kind.as_str())
    .bind(&e.title)
    .bind(body)
    .bind(&e.sources)
    .bind(e.reviewed_on.clone())
    .bind(flag(e.clinician_reviewed))
    .bind(actor.map(|a| a.user_id.to_string()))
    .bind(ctx.ts())
    .execute(&mut **tx)
    .await?;
    Ok(id)
}

/// The practice's library, medication classes first, by title. The starter set is added the
/// first time a practice's library is empty.
pub async fn list(store: &Store, ctx: &Ctx, actor: &Actor) -> Result<Vec<LibraryEntry>, StoreError> {
    let practice = actor.practice_id.to_string();
    let sql = "SELECT id, kind, title, body_json, sources, reviewed_on, clinician_reviewed, updated_at FROM psychoeducation \
               WHERE practice_id = $1 ORDER BY kind, title";
    let rows = sqlx::query(sql).bind(&practice).fetch_all(store.reads()).await?;
    if !rows.is_empty() {
        return rows.iter().map(entry_from).collect();
    }
    let mut tx = store.begin().await?;
    let again = sqlx::query("SELECT 1 AS one FROM psychoeducation WHERE practice_id = $1").bind(&practice).fetch_optional(&mut *tx).await?;
    if again.is_none() {
        for e in starter() {
            insert(&mut tx, ctx, None, &practice, &e).await?;
        }
        let mut ev = ctx.event(Some(actor), &practice, "library.seed", "library");
        ev.detail = "starter set, for clinician review".into();
        audit::append(&mut tx, &ev).await?;
    }
    tx.commit().await?;
    let rows = sqlx::query(sql).bind(&practice).fetch_all(store.reads()).await?;
    rows.iter().map(entry_from).collect()
}

/// Adds an entry to the caller's practice library.
pub async fn create(store: &Store, ctx: &Ctx, actor: &Actor, e: &EntryInput) -> Result<Uuid, StoreError> {
    let practice = actor.practice_id.to_string();
    let mut tx = store.begin().await?;
    let id = insert(&mut tx, ctx, Some(actor), &practice, e).await?;
    let mut ev = ctx.event(Some(actor), &practice, "library.create", "library");
    ev.record_id = Some(id.to_string());
    audit::append(&mut tx, &ev).await?;
    tx.commit().await?;
    Ok(id)
}

/// Changes an entry of the caller's practice; another practice's entry is not found.
pub async fn update(store: &Store, ctx: &Ctx, actor: &Actor, id: Uuid, e: &EntryInput) -> Result<(), StoreError> {
    let practice = actor.practice_id.to_string();
    let body = serde_json::to_string(&e.body).map_err(|e| StoreError::Invalid(e.to_string()))?;
    let mut tx = store.begin().await?;
    let r = sqlx::query(
        "UPDATE psychoeducation SET kind = $1, title = $2, body_json = $3, sources = $4, reviewed_on = $5, clinician_reviewed = $6, \
         updated_by = $7, updated_at = $8 WHERE id = $9 AND practice_id = $10",
    )
    .bind(e.kind.as_str())
    .bind(&e.title)
    .bind(body)
    .bind(&e.sources)
    .bind(e.reviewed_on.clone())
    .bind(flag(e.clinician_reviewed))
    .bind(actor.user_id.to_string())
    .bind(ctx.ts())
    .bind(id.to_string())
    .bind(&practice)
    .execute(&mut *tx)
    .await?;
    if r.rows_affected() != 1 {
        return Err(StoreError::NotFound);
    }
    let mut ev = ctx.event(Some(actor), &practice, "library.update", "library");
    ev.record_id = Some(id.to_string());
    ev.detail = format!("reviewed={}", e.clinician_reviewed);
    audit::append(&mut tx, &ev).await?;
    tx.commit().await?;
    Ok(())
}
