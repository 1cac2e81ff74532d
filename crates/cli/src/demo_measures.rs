//! Demo measures: a year of PHQ-9, GAD-7 and WSAS scores that tell different clinical stories,
//! daily check-ins, session feedback, schedules, and one client portal link.

use crate::CliError;
use concord_domain::ids::ClientId;
use concord_domain::measures::Registry;
use concord_domain::measures::schedule::Frequency;
use concord_domain::measures::score::{Answer, Answers};
use concord_domain::policy::Actor;
use concord_domain::values::Attendance;
use concord_store::measures::{self as store_measures, NewResponse, ResponseSource};
use concord_store::{Ctx, Store, clients};
use time::OffsetDateTime;

/// A client's course: PHQ-9 and GAD-7 totals at intake, midway and now (interpolated between),
/// WSAS when impairment matters, and which extras they use.
pub struct Course {
    pub name: &'static str,
    pub phq9: [i32; 3],
    pub gad7: [i32; 3],
    pub wsas: Option<[i32; 3]>,
    pub checkins: bool,
    /// Session feedback, and whether it drops lately (a strained alliance).
    pub feedback: Option<bool>,
    /// The latest PHQ-9 item 9 answer (thoughts of self-harm), for the safety story.
    pub latest_item9: i32,
}

pub const COURSES: &[Course] = &[
    // Steady attendance, still at caseness after many months: therapy alone may not be enough.
    Course {
        name: "Maya Thompson",
        phq9: [19, 15, 14],
        gad7: [14, 12, 11],
        wsas: Some([22, 19, 18]),
        checkins: true,
        feedback: Some(false),
        latest_item9: 0,
    },
    Course {
        name: "Daniel Okafor",
        phq9: [16, 11, 7],
        gad7: [11, 8, 6],
        wsas: None,
        checkins: false,
        feedback: Some(false),
        latest_item9: 0,
    },
    // Missing sessions and getting worse; the alliance is slipping.
    Course {
        name: "Sofia Marquez",
        phq9: [12, 14, 18],
        gad7: [10, 12, 15],
        wsas: None,
        checkins: true,
        feedback: Some(true),
        latest_item9: 0,
    },
    Course { name: "Liam O'Connor", phq9: [18, 10, 6], gad7: [13, 8, 5], wsas: None, checkins: false, feedback: None, latest_item9: 0 },
    Course {
        name: "Aisha Rahman",
        phq9: [11, 10, 10],
        gad7: [9, 9, 8],
        wsas: None,
        checkins: false,
        feedback: Some(false),
        latest_item9: 0,
    },
    // Persistent functional impairment.
    Course {
        name: "Noah Fischer",
        phq9: [13, 13, 12],
        gad7: [8, 8, 7],
        wsas: Some([24, 23, 23]),
        checkins: false,
        feedback: None,
        latest_item9: 0,
    },
    Course {
        name: "Hannah Kowalski",
        phq9: [20, 16, 13],
        gad7: [15, 12, 10],
        wsas: None,
        checkins: false,
        feedback: Some(false),
        latest_item9: 0,
    },
    Course { name: "Kenji Watanabe", phq9: [9, 8, 7], gad7: [7, 6, 6], wsas: None, checkins: false, feedback: None, latest_item9: 0 },
    // New client, worsening, with a safety answer on the latest PHQ-9.
    Course {
        name: "Grace Mensah",
        phq9: [17, 18, 19],
        gad7: [12, 13, 14],
        wsas: None,
        checkins: false,
        feedback: Some(false),
        latest_item9: 1,
    },
    Course { name: "Oliver Brennan", phq9: [15, 10, 7], gad7: [10, 7, 5], wsas: None, checkins: false, feedback: None, latest_item9: 0 },
    Course {
        name: "Leila Haddad",
        phq9: [14, 11, 9],
        gad7: [12, 9, 8],
        wsas: None,
        checkins: false,
        feedback: Some(false),
        latest_item9: 0,
    },
    Course {
        name: "Tomás Silva",
        phq9: [22, 16, 18],
        gad7: [16, 12, 14],
        wsas: Some([26, 21, 22]),
        checkins: false,
        feedback: None,
        latest_item9: 0,
    },
];

/// The total at position `i` of `n`, interpolated from intake → midway → now.
fn at(points: [i32; 3], i: usize, n: usize) -> i32 {
    let [a, b, c] = points;
    let half = (n.max(2) - 1) as f64 / 2.0;
    let x = i as f64;
    let v = if x <= half {
        f64::from(a) + (f64::from(b) - f64::from(a)) * x / half.max(1.0)
    } else {
        f64::from(b) + (f64::from(c) - f64::from(b)) * (x - half) / half.max(1.0)
    };
    v.round() as i32
}

/// Answers of `items` items, each 0..=max, that add up to `total` (spread evenly, the rest on
/// the first items), with the last item forced to `last`.
fn spread(total: i32, items: usize, max: i32, last: Option<i32>) -> Vec<i32> {
    let n = i32::try_from(items).unwrap_or(1).max(1);
    let fixed = last.unwrap_or(0);
    let free = if last.is_some() { n - 1 } else { n };
    let rest = (total - fixed).clamp(0, max * free);
    let base = rest / free.max(1);
    let extra = rest % free.max(1);
    let mut out: Vec<i32> = (0..free).map(|k| (base + i32::from(k < extra)).min(max)).collect();
    if let Some(l) = last {
        out.push(l);
    }
    out
}

fn answers(values: Vec<i32>) -> Answers {
    Answers::new(values.into_iter().map(Answer::Value).collect())
}

/// Records scored responses for one client.
struct Recorder<'a> {
    store: &'a Store,
    ctx: &'a Ctx,
    access: &'a concord_domain::policy::RecordAccess,
    registry: &'a Registry,
}

impl Recorder<'_> {
    async fn record(&self, id: &str, values: Vec<i32>, at: i64, note: Option<&str>) -> Result<(), CliError> {
        let def = self.registry.get(id).ok_or_else(|| CliError::failed(format!("demo: no instrument {id}")))?;
        let mut new = NewResponse::scored(def, answers(values), at, ResponseSource::Clinician)
            .map_err(|e| CliError::failed(format!("demo {id}: {e}")))?;
        new.note = note.map(str::to_owned);
        store_measures::record_response(self.store, self.ctx, self.access, new).await?;
        Ok(())
    }
}

/// Seeds the measures of the demo clients; returns the portal link's secret for the first one.
pub async fn seed(
    store: &Store,
    ctx: &Ctx,
    now: OffsetDateTime,
    clients_made: &[(ClientId, Actor, &'static str, bool)],
) -> Result<Option<String>, CliError> {
    let registry = Registry::shipped().map_err(|e| CliError::failed(e.to_string()))?;
    let mut portal = None;
    for course in COURSES {
        let Some((id, lead, _, finished)) = clients_made.iter().find(|(_, _, n, _)| *n == course.name) else { continue };
        let access = clients::record_access(store, ctx, lead, *id).await?;
        let rec = Recorder { store, ctx, access: &access, registry: &registry };
        let mut attended: Vec<i64> = clients::list_sessions(store, ctx, &access)
            .await?
            .iter()
            .filter(|s| s.attendance == Attendance::Attended && s.starts_at <= now.unix_timestamp())
            .map(|s| s.starts_at)
            .collect();
        attended.sort_unstable();
        // Scores at intake, every second session, and the latest session.
        let picks: Vec<i64> =
            attended.iter().enumerate().filter(|(i, _)| i % 2 == 0 || *i + 1 == attended.len()).map(|(_, t)| *t - 600).collect();
        let n = picks.len();
        for (i, t) in picks.iter().enumerate() {
            let latest = i + 1 == n;
            let item9 = if latest { course.latest_item9 } else { 0 };
            let mut phq = spread(at(course.phq9, i, n), 9, 3, Some(item9));
            phq.push(i32::from(at(course.phq9, i, n) >= 10));
            rec.record("phq9", phq, *t, None).await?;
            let mut gad = spread(at(course.gad7, i, n), 7, 3, None);
            gad.push(i32::from(at(course.gad7, i, n) >= 8));
            rec.record("gad7", gad, *t + 60, None).await?;
            if let Some(w) = course.wsas
                && (i % 2 == 0 || latest)
            {
                rec.record("wsas", spread(at(w, i, n), 5, 8, None), *t + 120, None).await?;
            }
        }
        if let Some(drops) = course.feedback {
            let recent: Vec<&i64> = attended.iter().rev().take(8).collect();
            for (k, t) in recent.iter().rev().enumerate() {
                let score = if drops && k >= 5 { 5 - i32::try_from(k).unwrap_or(0) % 2 } else { 8 + i32::try_from(k % 2).unwrap_or(0) };
                rec.record("session_feedback", vec![score, score - 1, score, score], **t + 3_000, None).await?;
            }
        }
        if course.name == "Maya Thompson" {
            // Readiness rulers (importance, confidence, readiness) at the latest three sessions:
            // importance steady, confidence slowly rising, as she weighs her options.
            let recent: Vec<&i64> = attended.iter().rev().take(3).collect();
            for (t, values) in recent.iter().rev().zip([[7, 3, 4], [8, 4, 5], [8, 5, 6]]) {
                rec.record("readiness", values.to_vec(), **t + 3_300, None).await?;
            }
        }
        if course.checkins {
            for day in (1..=14).rev() {
                let t = now.unix_timestamp() - day * 86_400 + 20 * 3600;
                let d = i32::try_from(day).unwrap_or(0);
                let mood = if course.name == "Sofia Marquez" { 3 + d % 3 } else { 4 + (d % 4) / 2 };
                let note = match day {
                    3 if course.name == "Maya Thompson" => Some("Slept badly again, but the walk with Jess helped."),
                    6 if course.name == "Sofia Marquez" => Some("Missed another lecture. Don't want to talk about it."),
                    _ => None,
                };
                rec.record("checkin", vec![mood, (mood - 1).max(0), mood, (mood - 1).max(0), mood + 1, 0], t, note).await?;
            }
        }
        if !finished {
            for (instrument, freq) in [("phq9", Frequency::EverySession), ("gad7", Frequency::EverySession)] {
                set(store, ctx, &access, instrument, freq).await?;
            }
            if course.checkins {
                set(store, ctx, &access, "checkin", Frequency::Daily).await?;
            }
            if course.wsas.is_some() {
                set(store, ctx, &access, "wsas", Frequency::Weekly).await?;
            }
            if course.name == "Maya Thompson" {
                let expires = (now + time::Duration::days(30)).unix_timestamp();
                let (_, secret) = store_measures::create_portal_link(store, ctx, &access, expires, None).await?;
                portal = Some(secret);
            }
        }
    }
    Ok(portal)
}

async fn set(
    store: &Store,
    ctx: &Ctx,
    access: &concord_domain::policy::RecordAccess,
    instrument: &str,
    f: Frequency,
) -> Result<(), CliError> {
    let id = concord_domain::measures::InstrumentId::parse(instrument).map_err(|e| CliError::failed(e.to_string()))?;
    store_measures::set_schedule(store, ctx, access, &id, f).await?;
    Ok(())
}
