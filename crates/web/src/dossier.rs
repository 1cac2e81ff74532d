//! Assembles a decision dossier from the record and stores it as an immutable snapshot.
//!
//! What goes in: the client's voice and where the latest decision stands (from
//! `concord_store::decisions`), charts of the main measures and check-ins, side effects noted
//! so far (FIBSER) and risks highlighted (safety flags of the last 90 days). What never goes
//! in: session notes and psychotherapy notes (nothing here reads them), transcripts, other
//! clients. A client with no data gets a dossier that says what is missing.

use crate::error::AppError;
use crate::outcomes::summarise;
use concord_documents::dossier::{DossierChart, DossierInput, render_pdf};
use concord_domain::decisions::{mirror_sentence, weighted_fit};
use concord_domain::measures::Flag;
use concord_domain::measures::outcome::OutcomeConfig;
use concord_domain::policy::RecordAccess;
use concord_domain::values::format_date;
use concord_store::decisions::{self as store, Decision, DossierMeta};
use concord_store::{Ctx, Store};
use concord_store::{clients, measures as store_measures};
use time::OffsetDateTime;

/// The measures charted, in this order, when the client has scores for them.
const CHARTED: &[&str] = &["phq9", "gad7", CHECKIN_ID, "wsas"];
const CHECKIN_ID: &str = "checkin";
/// The check-in items charted (each 0–10, higher is better), with their labels. The safety
/// question and the note are never charted; safety shows under the risks.
const CHECKIN_ITEMS: [(&str, &str); 5] =
    [("mood", "Mood"), ("sleep", "Sleep"), ("energy", "Energy"), ("work_study", "Work or study"), ("relationships", "Relationships")];
/// How many of the latest check-ins the dossier charts.
const CHECKINS_CHARTED: usize = 28;
const MAX_CHARTS: usize = 4;
const RISK_WINDOW_SECONDS: i64 = 90 * 86_400;

/// Suggested questions a client may pick for the prescriber (Ottawa guide / CommonGround style).
pub const SUGGESTED_QUESTIONS: &[&str] = &[
    "What are my options, including not taking medication?",
    "How likely is each option to help someone like me, and how soon would I notice?",
    "What side effects are common, and which should I call you about?",
    "How would a medication fit with the things I already do to stay well?",
    "How would we know whether it is working, and when would we review it?",
    "What would stopping involve, if I wanted to stop later?",
    "Does it interact with anything else I take, or with alcohol?",
    "What does it cost, and how often would I need appointments?",
];

fn date_of(ts: i64) -> String {
    OffsetDateTime::from_unix_timestamp(ts).map(|t| format_date(t.date())).unwrap_or_default()
}

fn strings(v: &[concord_domain::decisions::ClientWords]) -> Vec<String> {
    v.iter().map(|w| w.as_str().to_owned()).collect()
}

/// The latest check-ins, one small panel per item on a shared time axis.
fn check_in_chart(check_ins: &[store_measures::ResponseRecord]) -> Option<DossierChart> {
    let latest = check_ins.get(check_ins.len().saturating_sub(CHECKINS_CHARTED)..).filter(|l| !l.is_empty())?;
    let value = |r: &store_measures::ResponseRecord, id: &str| {
        r.score.items.iter().find(|i| i.id == id).and_then(|i| i.answer.value()).map(f64::from)
    };
    let title = format!("Daily check-ins (latest {})", latest.len());
    let chart = concord_documents::metric_trend(&concord_documents::MetricTrend {
        id_prefix: "d-checkin".into(),
        title: title.clone(),
        sessions: latest.iter().map(|r| r.completed_at).collect(),
        point: "check-in".into(),
        utc_offset_seconds: 0,
        series: CHECKIN_ITEMS
            .iter()
            .map(|(id, name)| concord_documents::MetricSeries {
                name: (*name).to_owned(),
                unit: String::new(),
                range: (0.0, 10.0),
                thresholds: Vec::new(),
                values: latest.iter().map(|r| value(r, id)).collect(),
                decimals: 0,
            })
            .collect(),
        width: 420.0,
        height: 260.0,
    });
    Some(DossierChart { title, svg: chart.svg, summary: chart.summary })
}

/// Builds the dossier's input from the record (audited reads).
pub async fn input(store: &Store, ctx: &Ctx, access: &RecordAccess, version: i64) -> Result<DossierInput, AppError> {
    let client = clients::get_client(store, ctx, access).await?;
    let decisions = store::list_decisions(store, ctx, access).await?;
    let latest: Option<&Decision> = decisions.first();
    let points = store_measures::list_score_points(store, ctx, access, None).await?;
    let registry = store_measures::practice_registry(store, ctx, access.practice_id()).await?;
    let outcomes = summarise(&points, &registry, &OutcomeConfig::default());
    let mut charts = Vec::new();
    for id in CHARTED {
        if charts.len() >= MAX_CHARTS {
            break;
        }
        if *id == CHECKIN_ID {
            let check_ins = store_measures::list_responses(store, ctx, access, Some(CHECKIN_ID)).await?;
            if let Some(c) = check_in_chart(&check_ins) {
                charts.push(c);
            }
            continue;
        }
        if let Some(m) = outcomes.measures.iter().find(|m| m.instrument == *id)
            && let Some(def) = registry.get(id)
            && let Some(c) = crate::pages::measures::measure_chart(Some(def), m, &[], &format!("d-{id}"), (420.0, 200.0))
        {
            charts.push(DossierChart { title: def.short_name().to_owned(), svg: c.svg, summary: c.summary });
        }
    }
    let fibser = store_measures::list_responses(store, ctx, access, Some("fibser")).await?;
    let side_effects: Vec<String> = fibser
        .iter()
        .rev()
        .take(4)
        .map(|r| {
            let parts: Vec<String> = r
                .score
                .items
                .iter()
                .filter(|i| i.scored)
                .map(|i| match (&i.label, &i.band) {
                    (Some(l), Some(b)) => format!("{}: {l} ({})", i.id, b.label),
                    (Some(l), None) => format!("{}: {l}", i.id),
                    _ => i.id.clone(),
                })
                .collect();
            let note = r.note.as_deref().map(|n| format!(" — “{n}”")).unwrap_or_default();
            format!("{}: {}{note}", date_of(r.completed_at), parts.join("; "))
        })
        .collect();
    let since = ctx.ts().saturating_sub(RISK_WINDOW_SECONDS);
    let mut risks: Vec<String> = points
        .iter()
        .rev()
        .filter(|p| p.completed_at >= since && p.flags.iter().any(|f| f.as_str() == Flag::SAFETY))
        .take(3)
        .map(|p| {
            let name = registry.get(p.instrument.as_str()).map_or_else(|| p.instrument.as_str().to_owned(), |d| d.short_name().to_owned());
            format!("{name} on {}: an answer about thoughts of self-harm was above zero. Please ask about safety.", date_of(p.completed_at))
        })
        .collect();
    if let Some(f) = fibser.last()
        && f.score.items.iter().any(|i| i.id == "burden" && matches!(i.answer, concord_domain::measures::score::Answer::Value(v) if v >= 3))
    {
        risks.push(format!("Side effects were rated a notable burden on {} (FIBSER).", date_of(f.completed_at)));
    }

    let mut missing = Vec::new();
    let (question, status, role, options, mirror, sure, voice) = match latest {
        None => {
            missing.push("a decision (none has been started)".to_owned());
            (None, String::new(), None, Vec::new(), None, None, store::ClientVoice::default())
        }
        Some(d) => {
            let fits = weighted_fit(&d.criteria, &d.ratings());
            let mirror = (!d.criteria.is_empty() && !d.fits.is_empty()).then(|| mirror_sentence(&fits, |o| d.option_name(o)));
            (
                Some(d.data.record.question().as_str().to_owned()),
                d.data.record.status().describe(),
                d.data.record.preferred_role().map(|r| r.label().to_owned()),
                d.options.iter().map(|(_, o)| o.name().as_str().to_owned()).collect(),
                mirror,
                d.data.sure.as_ref().map(|s| s.result.summary()),
                d.data.voice.clone(),
            )
        }
    };
    if voice.statement.is_none() {
        missing.push("a personal statement".to_owned());
    }
    if voice.goals.is_empty() {
        missing.push("goals".to_owned());
    }
    if voice.questions.is_empty() {
        missing.push("questions for the prescriber".to_owned());
    }
    if charts.is_empty() {
        missing.push("questionnaire scores".to_owned());
    }
    Ok(DossierInput {
        title: "My decision dossier".to_owned(),
        subtitle: format!("{} — to bring to my prescriber", client.name),
        version,
        prepared_on: format!("Prepared {}", format_date(ctx.now.date())),
        statement: voice.statement.as_ref().map(|s| s.as_str().to_owned()),
        goals: strings(&voice.goals),
        personal_medicine: strings(&voice.personal_medicine),
        concerns: strings(&voice.concerns),
        questions: strings(&voice.questions),
        question,
        status,
        role,
        options,
        mirror,
        sure,
        charts,
        side_effects,
        risks,
        missing,
        footer: format!("Decision dossier v{version} — confidential: shared by the client"),
        note:
            "Written by the client with their therapist, in the client's own words. Any comparison reflects the weights the client chose; \
               it is not a recommendation. Concord does not diagnose or recommend medication."
                .to_owned(),
    })
}

/// Generates the client's next dossier version and stores it as an immutable snapshot.
pub async fn generate(store: &Store, ctx: &Ctx, access: &RecordAccess) -> Result<DossierMeta, AppError> {
    let existing = store::list_dossiers(store, ctx, access).await?;
    let version = existing.first().map_or(1, |d| d.version.saturating_add(1));
    let decision = store::list_decisions(store, ctx, access).await?.first().map(|d| d.id);
    let input = input(store, ctx, access, version).await?;
    let pdf = tokio::task::spawn_blocking(move || render_pdf(&input))
        .await
        .map_err(|e| AppError::Internal(format!("dossier task: {e}")))?
        .map_err(|e| AppError::Internal(e.to_string()))?;
    Ok(store::create_dossier(store, ctx, access, decision, version, &pdf).await?)
}
