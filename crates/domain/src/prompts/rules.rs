//! The rules themselves; see the module documentation of [`super`] for what each one means.

use super::facts::{ClientRecordFacts, FeedbackPoint, ScorePoint};
use super::{
    AllianceTrend, DataPoint, Evidence, EvidenceSource, PromptCandidate, PromptConfig, PromptKind, ThresholdUsed, TimingContext, Urgency,
};
use crate::measures::definition::Direction;
use crate::measures::outcome::{ChangeClass, MeasureRule, reliable_change, series_change};
use crate::measures::{Flag, InstrumentId};
use crate::values::Attendance;

const DAY: i64 = 86_400;
const WEEK: i64 = 7 * DAY;

const PRODUCT_PROMPTS: &str = "PRODUCT.md, Prompts";
const WSAS_SOURCE: &str = "Mundt et al. 2002 (WSAS > 20 moderately severe or worse); PRODUCT.md, Prompts";

/// Every prompt whose condition holds in `facts` at `facts.now`, most urgent first, each key
/// once. Pure and total: any input gives an answer, never a panic.
pub fn evaluate(facts: &ClientRecordFacts, config: &PromptConfig) -> Vec<PromptCandidate> {
    let now = facts.now;
    let mut scores: Vec<&ScorePoint> = facts.scores.iter().filter(|s| s.completed_at <= now).collect();
    scores.sort_by_key(|s| (s.completed_at, s.total));
    let mut attended: Vec<i64> =
        facts.sessions.iter().filter(|s| s.attendance == Attendance::Attended && s.starts_at <= now).map(|s| s.starts_at).collect();
    attended.sort_unstable();
    let mut feedback: Vec<FeedbackPoint> = facts.feedback.iter().filter(|f| f.completed_at <= now).copied().collect();
    feedback.sort_by_key(|f| (f.completed_at, f.total));

    let alliance = alliance_trend(&feedback, config);
    let timing = timing_context(&attended, alliance.clone());

    let mut out = Vec::new();
    safety(facts, &scores, config, &mut out);
    no_progress(&scores, &attended, config, &timing, &mut out);
    persistent_impairment(&scores, config, &timing, &mut out);
    deterioration(&scores, config, &timing, &mut out);
    alliance_drop(&feedback, alliance.as_ref(), config, &mut out);
    overdue(facts, &mut out);
    decision_revisit(facts, &mut out);

    out.sort_by(|a, b| (a.urgency, a.kind, &a.key).cmp(&(b.urgency, b.kind, &b.key)));
    out.dedup_by(|a, b| a.key == b.key);
    out
}

// ---------------------------------------------------------------------------------------
// Formatting
// ---------------------------------------------------------------------------------------

/// A calendar date (UTC) for explanations.
fn date(ts: i64) -> String {
    match time::OffsetDateTime::from_unix_timestamp(ts) {
        Ok(d) => format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day()),
        Err(_) => format!("unix time {ts}"),
    }
}

/// The usual short name of a shipped instrument, else its id.
fn name(id: &InstrumentId) -> &str {
    match id.as_str() {
        "phq9" => "PHQ-9",
        "phq2" => "PHQ-2",
        "gad7" => "GAD-7",
        "wsas" => "WSAS",
        "checkin" => "check-in",
        "session_feedback" => "session feedback",
        other => other,
    }
}

fn with_band(p: &ScorePoint, total: i32) -> String {
    match &p.band {
        Some(b) => format!("{total} ({})", b.label.to_lowercase()),
        None => total.to_string(),
    }
}

fn total_point(p: &ScorePoint, total: i32, role: &str) -> DataPoint {
    DataPoint {
        source: EvidenceSource::Total { instrument: p.instrument.clone() },
        at: p.completed_at,
        value: i64::from(total),
        role: role.to_owned(),
    }
}

fn threshold(name: impl Into<String>, value: impl Into<i64>, source: &str) -> ThresholdUsed {
    ThresholdUsed { name: name.into(), value: value.into(), source: source.to_owned() }
}

fn join_and(parts: &[String]) -> String {
    match parts {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

// ---------------------------------------------------------------------------------------
// Shared context
// ---------------------------------------------------------------------------------------

/// The in-range totals of one measure, oldest first.
fn series<'a>(scores: &[&'a ScorePoint], rule: &MeasureRule) -> Vec<(&'a ScorePoint, i32)> {
    scores
        .iter()
        .filter(|s| s.instrument == rule.measure)
        .filter_map(|s| s.total.filter(|t| (rule.range.min..=rule.range.max).contains(t)).map(|t| (*s, t)))
        .collect()
}

fn alliance_trend(feedback: &[FeedbackPoint], config: &PromptConfig) -> Option<AllianceTrend> {
    let (latest, earlier) = feedback.split_last()?;
    let n = earlier.len();
    let sum: i128 = earlier.iter().map(|f| i128::from(f.total)).sum();
    let baseline = (n > 0).then(|| sum as f64 / n as f64);
    let change_percent = baseline.filter(|b| *b > 0.0).map(|b| (f64::from(latest.total) - b) / b * 100.0);
    let baseline_established = n >= config.alliance_min_baseline as usize;
    // latest ≤ baseline × (100 − p) / 100, in integers: latest · 100 · n ≤ sum · (100 − p).
    let keep = 100_i128.saturating_sub(i128::from(config.alliance_drop_percent));
    let dropped = baseline_established
        && sum > 0
        && i128::from(latest.total).saturating_mul(100).saturating_mul(n as i128) <= sum.saturating_mul(keep);
    Some(AllianceTrend {
        latest: latest.total,
        latest_at: latest.completed_at,
        baseline,
        baseline_count: u32::try_from(n).unwrap_or(u32::MAX),
        change_percent,
        baseline_established,
        dropped,
    })
}

fn timing_context(attended: &[i64], alliance: Option<AllianceTrend>) -> TimingContext {
    let first = attended.first().copied();
    let latest = attended.last().copied();
    let span = match (first, latest) {
        (Some(f), Some(l)) => l.saturating_sub(f),
        _ => 0,
    };
    TimingContext {
        attended_sessions: u32::try_from(attended.len()).unwrap_or(u32::MAX),
        first_attended_at: first,
        latest_attended_at: latest,
        weeks_in_therapy: span / WEEK,
        alliance,
    }
}

/// "Alliance 30, 20 % below its baseline of 37.5" for referral explanations.
fn alliance_note(timing: &TimingContext) -> String {
    match &timing.alliance {
        Some(AllianceTrend { latest, baseline: Some(b), baseline_established: true, dropped, .. }) => {
            if *dropped {
                format!(
                    " The latest session feedback ({latest}) is below the client's own baseline ({b:.1}): a referral conversation tends to land better once the working relationship feels sound again."
                )
            } else {
                format!(" The latest session feedback ({latest}) is in line with the client's own baseline ({b:.1}).")
            }
        }
        Some(_) | None => String::new(),
    }
}

// ---------------------------------------------------------------------------------------
// Rules
// ---------------------------------------------------------------------------------------

fn safety(facts: &ClientRecordFacts, scores: &[&ScorePoint], config: &PromptConfig, out: &mut Vec<PromptCandidate>) {
    let item_source = "PHQ-9 item 9 > 0 (PRODUCT.md, clinical reference: PHQ-9 risk item; Prompts: safety)";
    for s in scores {
        let item = (s.instrument == config.safety_instrument)
            .then(|| s.item(&config.safety_item))
            .flatten()
            .filter(|v| *v > config.safety_item_above);
        let flagged = s.has_flag(Flag::SAFETY);
        let (points, what) = match (item, flagged) {
            (None, false) => continue,
            (Some(v), _) => (
                vec![DataPoint {
                    source: EvidenceSource::Item { instrument: s.instrument.clone(), item: config.safety_item.clone() },
                    at: s.completed_at,
                    value: i64::from(v),
                    role: "safety item".into(),
                }],
                format!("{} item {} was answered {v}", name(&s.instrument), config.safety_item.trim_start_matches('q')),
            ),
            (None, true) => (
                vec![DataPoint {
                    source: EvidenceSource::Flag { instrument: s.instrument.clone(), flag: Flag::SAFETY.into() },
                    at: s.completed_at,
                    value: 1,
                    role: "safety flag".into(),
                }],
                format!("a {} response raised a safety flag", name(&s.instrument)),
            ),
        };
        out.push(PromptCandidate {
            key: format!("safety:{}:{}", s.instrument, s.completed_at),
            kind: PromptKind::Safety,
            urgency: Urgency::Urgent,
            evidence: Evidence { points, thresholds: vec![threshold("safety_item_above", config.safety_item_above, item_source)] },
            explanation: format!(
                "Safety: {what} on {}. Consider checking in with the client about their safety as soon as possible, and reviewing their safety plan and crisis resources together.",
                date(s.completed_at)
            ),
            timing: None,
        });
    }
    for c in facts.check_ins.iter().filter(|c| c.harm_thoughts && c.completed_at <= facts.now) {
        out.push(PromptCandidate {
            key: format!("safety:checkin:{}", c.completed_at),
            kind: PromptKind::Safety,
            urgency: Urgency::Urgent,
            evidence: Evidence {
                points: vec![DataPoint { source: EvidenceSource::CheckInHarmThoughts, at: c.completed_at, value: 1, role: "check-in answer".into() }],
                thresholds: vec![threshold("checkin_harm_thoughts_yes", 1, "PRODUCT.md, Prompts: a client-reported safety concern")],
            },
            explanation: format!(
                "Safety: in the check-in on {} the client answered yes to having thoughts of harming themselves. Consider checking in with the client about their safety as soon as possible, and reviewing their safety plan and crisis resources together.",
                date(c.completed_at)
            ),
            timing: None,
        });
    }
}

fn no_progress(scores: &[&ScorePoint], attended: &[i64], config: &PromptConfig, timing: &TimingContext, out: &mut Vec<PromptCandidate>) {
    let (Some(&first), Some(&latest)) = (attended.first(), attended.last()) else { return };
    let span = latest.saturating_sub(first);
    let min_span = i64::from(config.min_weeks).saturating_mul(WEEK);
    if attended.len() < config.min_attended_sessions as usize || span < min_span {
        return;
    }
    let mut points = vec![
        DataPoint { source: EvidenceSource::AttendedSession, at: first, value: 1, role: "first attended session".into() },
        DataPoint {
            source: EvidenceSource::AttendedSession,
            at: latest,
            value: i64::try_from(attended.len()).unwrap_or(i64::MAX),
            role: "latest attended session".into(),
        },
    ];
    let mut thresholds = vec![
        threshold("min_attended_sessions", config.min_attended_sessions, PRODUCT_PROMPTS),
        threshold("min_weeks", config.min_weeks, PRODUCT_PROMPTS),
    ];
    let mut still_case = Vec::new();
    let mut changes = Vec::new();
    let mut paired = false;
    let mut improved = false;
    let mut deteriorated = false;
    let mut intake_at: Option<i64> = None;
    for rule in &config.outcome.measures {
        let s = series(scores, rule);
        let (Some(&(first_p, first_t)), Some(&(last_p, last_t))) = (s.first(), s.last()) else { continue };
        intake_at = Some(intake_at.map_or(first_p.completed_at, |a| a.min(first_p.completed_at)));
        let totals: Vec<i32> = s.iter().map(|(_, t)| *t).collect();
        if last_t >= rule.caseness_at_least {
            still_case.push(format!("{} still {}", name(&rule.measure), with_band(last_p, last_t)));
        }
        thresholds.push(threshold(format!("{}.caseness_at_least", rule.measure), rule.caseness_at_least, &rule.source));
        points.push(total_point(first_p, first_t, "intake"));
        if let Some(change) = series_change(&totals, Some(rule.reliable_change), Direction::HigherIsWorse)
            && let Some(since) = change.since_intake
        {
            paired = true;
            points.push(total_point(last_p, last_t, "latest"));
            thresholds.push(threshold(format!("{}.reliable_change", rule.measure), rule.reliable_change, &rule.source));
            match since.class {
                ChangeClass::ReliableImprovement => improved = true,
                ChangeClass::ReliableDeterioration => deteriorated = true,
                ChangeClass::NoReliableChange => {}
            }
            changes.push(format!("{} {} → {}, threshold {}", name(&rule.measure), since.pre, since.post, since.threshold));
        }
    }
    // NHS Talking Therapies: reliable improvement = some measure improved and none deteriorated.
    let reliable_improvement = improved && !deteriorated;
    let Some(intake_at) = intake_at else { return };
    if !paired || reliable_improvement || still_case.is_empty() {
        return;
    }
    out.push(PromptCandidate {
        key: format!("no_progress:{intake_at}"),
        kind: PromptKind::NoProgressDespiteEngagement,
        urgency: Urgency::Soon,
        evidence: Evidence { points, thresholds },
        explanation: format!(
            "Consider discussing a referral for medication evaluation: {} attended sessions over {} weeks, {}, no reliable improvement since intake ({}).{}",
            attended.len(),
            span / WEEK,
            join_and(&still_case),
            changes.join("; "),
            alliance_note(timing)
        ),
        timing: Some(timing.clone()),
    });
}

fn persistent_impairment(scores: &[&ScorePoint], config: &PromptConfig, timing: &TimingContext, out: &mut Vec<PromptCandidate>) {
    let need = config.impairment_consecutive as usize;
    if need == 0 {
        return;
    }
    let s: Vec<(&ScorePoint, i32)> =
        scores.iter().filter(|p| p.instrument == config.impairment_instrument).filter_map(|p| p.total.map(|t| (*p, t))).collect();
    let run: Vec<&(&ScorePoint, i32)> = s.iter().rev().take_while(|(_, t)| *t > config.impairment_above).collect();
    if run.len() < need {
        return;
    }
    let Some(&&(run_start, _)) = run.last() else { return };
    let latest: Vec<&(&ScorePoint, i32)> = run.iter().take(need).rev().copied().collect();
    let points = latest.iter().map(|(p, t)| total_point(p, *t, "above threshold")).collect();
    let values: Vec<String> = latest.iter().map(|(p, t)| format!("{t} on {}", date(p.completed_at))).collect();
    out.push(PromptCandidate {
        key: format!("persistent_impairment:{}:{}", config.impairment_instrument, run_start.completed_at),
        kind: PromptKind::PersistentImpairment,
        urgency: Urgency::Soon,
        evidence: Evidence {
            points,
            thresholds: vec![
                threshold("impairment_above", config.impairment_above, WSAS_SOURCE),
                threshold("impairment_consecutive", config.impairment_consecutive, PRODUCT_PROMPTS),
            ],
        },
        explanation: format!(
            "Functioning has stayed substantially affected: {} above {} on the latest {} measures ({}). Consider exploring with the client what is getting in the way, and whether a referral for medication evaluation or other support is worth discussing.{}",
            name(&config.impairment_instrument),
            config.impairment_above,
            need,
            values.join(", "),
            alliance_note(timing)
        ),
        timing: Some(timing.clone()),
    });
}

fn deterioration(scores: &[&ScorePoint], config: &PromptConfig, timing: &TimingContext, out: &mut Vec<PromptCandidate>) {
    for rule in &config.outcome.measures {
        let s = series(scores, rule);
        let totals: Vec<i32> = s.iter().map(|(_, t)| *t).collect();
        let Some(change) = series_change(&totals, Some(rule.reliable_change), Direction::HigherIsWorse) else { continue };
        let worse = |c: Option<crate::measures::outcome::ThresholdChange>| c.is_some_and(|c| c.class == ChangeClass::ReliableDeterioration);
        let from_intake = worse(change.since_intake);
        let from_previous = config.deterioration_from_previous && worse(change.since_last);
        if !(from_intake || from_previous) {
            continue;
        }
        // Where the current run of deteriorated scores began (for a stable key).
        let deteriorated_at = |j: usize| -> bool {
            let (Some(&post), Some(&first)) = (totals.get(j), totals.first()) else { return false };
            let by = |pre: i32| {
                reliable_change(pre, post, rule.reliable_change, Direction::HigherIsWorse).class == ChangeClass::ReliableDeterioration
            };
            j > 0 && (by(first) || (config.deterioration_from_previous && totals.get(j.wrapping_sub(1)).is_some_and(|p| by(*p))))
        };
        let mut start = totals.len().saturating_sub(1);
        while start > 1 && deteriorated_at(start - 1) {
            start -= 1;
        }
        let (Some(&(intake_p, intake_t)), Some(&(last_p, last_t)), Some(&(run_p, _))) = (s.first(), s.last(), s.get(start)) else {
            continue;
        };
        let mut points = vec![total_point(intake_p, intake_t, "intake")];
        let mut parts = Vec::new();
        if from_intake {
            parts.push(format!("from {intake_t} at intake (+{}, threshold {})", last_t.saturating_sub(intake_t), rule.reliable_change));
        }
        if let Some(&(prev_p, prev_t)) = s.len().checked_sub(2).and_then(|i| s.get(i))
            && config.deterioration_from_previous
            && s.len() > 2
        {
            points.push(total_point(prev_p, prev_t, "previous"));
            if from_previous {
                parts.push(format!(
                    "from {prev_t} at the previous measure on {} (+{}, threshold {})",
                    date(prev_p.completed_at),
                    last_t.saturating_sub(prev_t),
                    rule.reliable_change
                ));
            }
        }
        points.push(total_point(last_p, last_t, "latest"));
        out.push(PromptCandidate {
            key: format!("deterioration:{}:{}", rule.measure, run_p.completed_at),
            kind: PromptKind::ReliableDeterioration,
            urgency: Urgency::Soon,
            evidence: Evidence {
                points,
                thresholds: vec![threshold(format!("{}.reliable_change", rule.measure), rule.reliable_change, &rule.source)],
            },
            explanation: format!(
                "{} has risen reliably to {} on {}, {}. Consider reviewing with the client what has changed for them, and whether the current plan, extra support or a referral for medication evaluation is worth discussing.{}",
                name(&rule.measure),
                with_band(last_p, last_t),
                date(last_p.completed_at),
                join_and(&parts),
                alliance_note(timing)
            ),
            timing: Some(timing.clone()),
        });
    }
}

fn alliance_drop(feedback: &[FeedbackPoint], trend: Option<&AllianceTrend>, config: &PromptConfig, out: &mut Vec<PromptCandidate>) {
    let Some(t) = trend.filter(|t| t.dropped) else { return };
    let Some((latest, earlier)) = feedback.split_last() else { return };
    let mut points: Vec<DataPoint> = earlier
        .iter()
        .map(|f| DataPoint {
            source: EvidenceSource::SessionFeedback,
            at: f.completed_at,
            value: i64::from(f.total),
            role: "baseline rating".into(),
        })
        .collect();
    points.push(DataPoint {
        source: EvidenceSource::SessionFeedback,
        at: latest.completed_at,
        value: i64::from(latest.total),
        role: "latest".into(),
    });
    let source = "PRODUCT.md, Prompts: alliance drop from the client's own baseline";
    out.push(PromptCandidate {
        key: format!("alliance_drop:{}", latest.completed_at),
        kind: PromptKind::AllianceDrop,
        urgency: Urgency::Soon,
        evidence: Evidence {
            points,
            thresholds: vec![
                threshold("alliance_min_baseline", config.alliance_min_baseline, source),
                threshold("alliance_drop_percent", config.alliance_drop_percent, source),
            ],
        },
        explanation: format!(
            "Session feedback of {} on {} is {:.0} % below this client's own baseline of {:.1} (the mean of {} earlier ratings; margin {} %). Consider attending to the working relationship, for example by asking openly how the sessions are feeling for them. A referral conversation tends to land better when the alliance is sound.",
            t.latest,
            date(t.latest_at),
            t.change_percent.map_or(0.0, |c| -c),
            t.baseline.unwrap_or(0.0),
            t.baseline_count,
            config.alliance_drop_percent
        ),
        timing: None,
    });
}

fn overdue(facts: &ClientRecordFacts, out: &mut Vec<PromptCandidate>) {
    for s in facts.schedules.iter().filter(|s| s.due.overdue) {
        let Some(since) = s.due.overdue_from else { continue };
        let due_at = s.due.due_at.unwrap_or(since);
        let days = facts.now.saturating_sub(since) / DAY;
        out.push(PromptCandidate {
            key: format!("overdue_measure:{}:{due_at}", s.instrument),
            kind: PromptKind::OverdueMeasure,
            urgency: Urgency::Routine,
            evidence: Evidence {
                points: vec![DataPoint {
                    source: EvidenceSource::Schedule { instrument: s.instrument.clone() },
                    at: due_at,
                    value: days,
                    role: "fell due".into(),
                }],
                thresholds: vec![threshold(
                    "overdue_after_seconds",
                    since.saturating_sub(due_at),
                    "measures::schedule grace periods (PRODUCT.md, Prompts: overdue measures)",
                )],
            },
            explanation: format!(
                "{} ({}) fell due on {} and has been overdue since {}. Consider inviting the client to complete it, in the portal or at the next session.",
                name(&s.instrument),
                s.frequency.label().to_lowercase(),
                date(due_at),
                date(since)
            ),
            timing: None,
        });
    }
}

fn decision_revisit(facts: &ClientRecordFacts, out: &mut Vec<PromptCandidate>) {
    for d in facts.deferred_decisions.iter().filter(|d| d.revisit_at <= facts.now) {
        out.push(PromptCandidate {
            key: format!("decision_revisit:{}:{}", d.decision_id, date(d.revisit_at)),
            kind: PromptKind::DecisionRevisit,
            urgency: Urgency::Routine,
            evidence: Evidence {
                points: vec![DataPoint {
                    source: EvidenceSource::DecisionRevisit { decision_id: d.decision_id.clone() },
                    at: d.revisit_at,
                    value: facts.now.saturating_sub(d.revisit_at) / DAY,
                    role: "revisit date".into(),
                }],
                thresholds: vec![threshold("revisit_at", d.revisit_at, "the client's own deferral (PRODUCT.md, Shared decision making)")],
            },
            explanation: format!(
                "The client deferred a decision and chose to come back to it on {}; that day has come. Consider asking whether they want to look at it again. Waiting longer, or not deciding, is a valid answer.",
                date(d.revisit_at)
            ),
            timing: None,
        });
    }
}
