//! Prompt rules over hand-built records: each rule at its threshold and one step below.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use concord_domain::measures::InstrumentId;
use concord_domain::measures::schedule::{Due, Frequency};
use concord_domain::measures::score::{Answer, BandRef};
use concord_domain::measures::{Flag, Registry, score};
use concord_domain::prompts::{
    CheckIn, ClientRecordFacts, DeferredDecision, EvidenceSource, FeedbackPoint, ItemValue, PromptCandidate, PromptConfig, PromptKind,
    ScheduleFact, ScorePoint, SessionFact, Urgency, evaluate,
};
use concord_domain::values::Attendance;

const DAY: i64 = 86_400;
const WEEK: i64 = 7 * DAY;
/// 2026-01-05 09:00 UTC, a Monday.
const T0: i64 = 1_767_603_600;

fn id(s: &str) -> InstrumentId {
    InstrumentId::parse(s).unwrap()
}

fn band(label: &str) -> Option<BandRef> {
    Some(BandRef { id: label.to_lowercase(), label: label.into() })
}

fn total(instrument: &str, at: i64, t: i32) -> ScorePoint {
    ScorePoint { instrument: id(instrument), completed_at: at, total: Some(t), band: None, items: vec![], flags: vec![] }
}

fn phq9_with_item9(at: i64, item9: i32) -> ScorePoint {
    let items = (1..=9).map(|i| ItemValue { id: format!("q{i}"), answer: Answer::Value(if i == 9 { item9 } else { 1 }) }).collect();
    ScorePoint { instrument: id("phq9"), completed_at: at, total: Some(8 + item9), band: None, items, flags: vec![] }
}

fn attended(n: usize, first: i64, span: i64) -> Vec<SessionFact> {
    (0..n)
        .map(|i| {
            let at = if n == 1 { first } else { first + span * i as i64 / (n as i64 - 1) };
            SessionFact { starts_at: at, attendance: Attendance::Attended }
        })
        .collect()
}

fn facts(now: i64) -> ClientRecordFacts {
    ClientRecordFacts { now, ..ClientRecordFacts::default() }
}

fn run(f: &ClientRecordFacts) -> Vec<PromptCandidate> {
    evaluate(f, &PromptConfig::default())
}

fn of_kind(f: &ClientRecordFacts, kind: PromptKind) -> Vec<PromptCandidate> {
    run(f).into_iter().filter(|c| c.kind == kind).collect()
}

// ---------------------------------------------------------------------------------------
// Configuration
// ---------------------------------------------------------------------------------------

#[test]
fn default_config_is_valid_and_round_trips() {
    let c = PromptConfig::default();
    c.validate().unwrap();
    assert_eq!(c.min_attended_sessions, 6);
    assert_eq!(c.min_weeks, 8);
    assert_eq!(c.impairment_above, 20);
    assert_eq!(c.impairment_consecutive, 3);
    assert_eq!(c.alliance_min_baseline, 3);
    assert_eq!(c.alliance_drop_percent, 15);
    assert_eq!(c.safety_instrument.as_str(), "phq9");
    assert_eq!(c.safety_item, "q9");
    let json = serde_json::to_string(&c).unwrap();
    assert_eq!(serde_json::from_str::<PromptConfig>(&json).unwrap(), c);
    // The shipped instruments have the items the defaults name.
    let reg = Registry::shipped().unwrap();
    assert!(reg.get(c.safety_instrument.as_str()).unwrap().answer_items().any(|i| i.id == c.safety_item));
    assert!(reg.get(c.impairment_instrument.as_str()).is_some());
}

#[test]
fn practice_config_overrides_some_fields_and_is_checked() {
    let c: PromptConfig = serde_json::from_str(r#"{"min_attended_sessions": 8, "alliance_drop_percent": 20}"#).unwrap();
    assert_eq!(c.min_attended_sessions, 8);
    assert_eq!(c.alliance_drop_percent, 20);
    assert_eq!(c.min_weeks, 8);
    c.validate().unwrap();
    assert!(serde_json::from_str::<PromptConfig>(r#"{"min_sessions": 8}"#).is_err());
    for bad in [
        PromptConfig { alliance_drop_percent: 0, ..PromptConfig::default() },
        PromptConfig { alliance_drop_percent: 101, ..PromptConfig::default() },
        PromptConfig { min_attended_sessions: 0, ..PromptConfig::default() },
        PromptConfig { impairment_consecutive: 0, ..PromptConfig::default() },
        PromptConfig { alliance_min_baseline: 0, ..PromptConfig::default() },
        PromptConfig { safety_item: " ".into(), ..PromptConfig::default() },
    ] {
        assert!(bad.validate().is_err(), "{bad:?}");
    }
    let mut c = PromptConfig::default();
    c.outcome.measures.clear();
    assert_eq!(c.validate().unwrap_err().to_string(), "the nhs_talking_therapies convention lists no measures");
}

#[test]
fn kinds_have_the_api_names() {
    let names: Vec<&str> = PromptKind::ALL.iter().map(|k| k.as_str()).collect();
    assert_eq!(
        names,
        ["safety", "no_progress", "persistent_impairment", "deterioration", "alliance_drop", "overdue_measure", "decision_revisit"]
    );
    for k in PromptKind::ALL {
        assert_eq!(serde_json::to_string(&k).unwrap(), format!("\"{}\"", k.as_str()));
        assert_eq!(PromptKind::parse(k.as_str()), Some(k));
    }
    assert_eq!(PromptKind::parse("no_progress_despite_engagement"), None);
}

#[test]
fn an_empty_record_has_no_prompts() {
    assert!(run(&facts(T0)).is_empty());
}

// ---------------------------------------------------------------------------------------
// Safety
// ---------------------------------------------------------------------------------------

#[test]
fn phq9_item9_zero_does_not_fire_and_one_does() {
    let mut f = facts(T0 + DAY);
    f.scores = vec![phq9_with_item9(T0, 0)];
    assert!(of_kind(&f, PromptKind::Safety).is_empty());

    f.scores = vec![phq9_with_item9(T0, 1)];
    let c = of_kind(&f, PromptKind::Safety);
    assert_eq!(c.len(), 1);
    let c = &c[0];
    assert_eq!(c.urgency, Urgency::Urgent);
    assert_eq!(c.key, format!("safety:phq9:{T0}"));
    assert_eq!(c.evidence.points[0].source, EvidenceSource::Item { instrument: id("phq9"), item: "q9".into() });
    assert_eq!(c.evidence.points[0].value, 1);
    assert_eq!(c.evidence.thresholds[0].value, 0);
    assert_eq!(
        c.explanation,
        "Safety: PHQ-9 item 9 was answered 1 on 2026-01-05. Consider checking in with the client about their safety as soon as possible, and reviewing their safety plan and crisis resources together."
    );
    assert!(c.timing.is_none());
}

#[test]
fn item9_unanswered_does_not_fire() {
    let mut p = phq9_with_item9(T0, 2);
    p.items[8].answer = Answer::Missing;
    let mut f = facts(T0 + DAY);
    f.scores = vec![p];
    assert!(of_kind(&f, PromptKind::Safety).is_empty());
}

#[test]
fn a_scored_phq9_fires_through_its_item_and_flag_once() {
    let reg = Registry::shipped().unwrap();
    let phq9 = reg.get("phq9").unwrap();
    let s = score::score(phq9, &vec![Some(1); 8].into_iter().chain([Some(2)]).collect::<Vec<_>>().into()).unwrap();
    assert!(s.has_flag(Flag::SAFETY));
    let mut f = facts(T0 + DAY);
    f.scores = vec![ScorePoint::from_score(&s, T0)];
    let c = of_kind(&f, PromptKind::Safety);
    assert_eq!(c.len(), 1);
    assert_eq!(c[0].evidence.points[0].value, 2);
}

#[test]
fn a_safety_flag_on_another_instrument_fires() {
    let mut p = total("checkin", T0, 0);
    p.flags = vec![Flag::parse("safety").unwrap()];
    let mut f = facts(T0 + DAY);
    f.scores = vec![p];
    // The same check-in also given as a check-in fact: one prompt, not two.
    f.check_ins = vec![CheckIn { completed_at: T0, harm_thoughts: true }];
    let c = of_kind(&f, PromptKind::Safety);
    assert_eq!(c.len(), 1);
    assert_eq!(c[0].key, format!("safety:checkin:{T0}"));
}

#[test]
fn check_in_harm_yes_fires_and_no_does_not() {
    let mut f = facts(T0 + DAY);
    f.check_ins = vec![CheckIn { completed_at: T0, harm_thoughts: false }];
    assert!(run(&f).is_empty());
    f.check_ins.push(CheckIn { completed_at: T0 + 3600, harm_thoughts: true });
    let c = run(&f);
    assert_eq!(c.len(), 1);
    assert_eq!(c[0].kind, PromptKind::Safety);
    assert_eq!(c[0].urgency, Urgency::Urgent);
    assert_eq!(c[0].evidence.points[0].source, EvidenceSource::CheckInHarmThoughts);
    assert!(c[0].explanation.contains("answered yes to having thoughts of harming themselves"));
    // A check-in dated after `now` is not seen yet.
    let mut later = facts(T0);
    later.check_ins = vec![CheckIn { completed_at: T0 + 1, harm_thoughts: true }];
    assert!(run(&later).is_empty());
}

#[test]
fn check_in_from_a_scored_response() {
    let reg = Registry::shipped().unwrap();
    let def = reg.get("checkin").unwrap();
    let yes = score::score(def, &vec![Some(5), Some(5), Some(5), Some(5), Some(5), Some(1)].into()).unwrap();
    let no = score::score(def, &vec![Some(5), Some(5), Some(5), Some(5), Some(5), Some(0)].into()).unwrap();
    assert!(CheckIn::from_score(&yes, T0).harm_thoughts);
    assert!(!CheckIn::from_score(&no, T0).harm_thoughts);
}

#[test]
fn every_flagged_response_is_its_own_safety_prompt() {
    let mut f = facts(T0 + 10 * DAY);
    f.scores = vec![phq9_with_item9(T0, 1), phq9_with_item9(T0 + WEEK, 3)];
    let keys: Vec<String> = of_kind(&f, PromptKind::Safety).into_iter().map(|c| c.key).collect();
    assert_eq!(keys, [format!("safety:phq9:{T0}"), format!("safety:phq9:{}", T0 + WEEK)]);
}

// ---------------------------------------------------------------------------------------
// No progress despite engagement
// ---------------------------------------------------------------------------------------

fn engaged(n: usize, span: i64, phq9: &[i32]) -> ClientRecordFacts {
    let mut f = facts(T0 + span + DAY);
    f.sessions = attended(n, T0, span);
    f.scores = phq9
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let at = if phq9.len() == 1 { T0 } else { T0 + span * i as i64 / (phq9.len() as i64 - 1) };
            ScorePoint {
                band: band(if *t >= 15 {
                    "Moderately severe"
                } else if *t >= 10 {
                    "Moderate"
                } else {
                    "Mild"
                }),
                ..total("phq9", at, *t)
            }
        })
        .collect();
    f
}

#[test]
fn no_progress_fires_at_exactly_six_sessions_over_exactly_eight_weeks() {
    let f = engaged(6, 8 * WEEK, &[19, 16, 14]);
    let c = of_kind(&f, PromptKind::NoProgressDespiteEngagement);
    assert_eq!(c.len(), 1, "{:?}", run(&f));
    let c = &c[0];
    assert_eq!(c.urgency, Urgency::Soon);
    assert_eq!(c.key, format!("no_progress:{T0}"));
    assert_eq!(
        c.explanation,
        "Consider discussing a referral for medication evaluation: 6 attended sessions over 8 weeks, PHQ-9 still 14 (moderate), no reliable improvement since intake (PHQ-9 19 → 14, threshold 6)."
    );
    let t = c.timing.as_ref().unwrap();
    assert_eq!(t.attended_sessions, 6);
    assert_eq!(t.weeks_in_therapy, 8);
    assert_eq!(t.first_attended_at, Some(T0));
    assert!(t.alliance.is_none());
    let names: Vec<&str> = c.evidence.thresholds.iter().map(|t| t.name.as_str()).collect();
    assert!(names.contains(&"min_attended_sessions") && names.contains(&"min_weeks"));
    assert!(names.contains(&"phq9.caseness_at_least") && names.contains(&"phq9.reliable_change"));
    assert!(c.evidence.points.iter().any(|p| p.role == "intake" && p.value == 19));
    assert!(c.evidence.points.iter().any(|p| p.role == "latest" && p.value == 14));
}

#[test]
fn no_progress_matches_the_worked_example() {
    let f = engaged(7, 12 * WEEK, &[19, 17, 14]);
    let c = of_kind(&f, PromptKind::NoProgressDespiteEngagement);
    assert_eq!(
        c[0].explanation,
        "Consider discussing a referral for medication evaluation: 7 attended sessions over 12 weeks, PHQ-9 still 14 (moderate), no reliable improvement since intake (PHQ-9 19 → 14, threshold 6)."
    );
}

#[test]
fn no_progress_does_not_fire_one_step_below() {
    // Five sessions.
    assert!(of_kind(&engaged(5, 8 * WEEK, &[19, 14]), PromptKind::NoProgressDespiteEngagement).is_empty());
    // Eight weeks less a second.
    assert!(of_kind(&engaged(6, 8 * WEEK - 1, &[19, 14]), PromptKind::NoProgressDespiteEngagement).is_empty());
    // Reliable improvement (19 → 13, a drop of 6).
    assert!(of_kind(&engaged(6, 8 * WEEK, &[19, 13]), PromptKind::NoProgressDespiteEngagement).is_empty());
    // Below caseness at the latest (9 < 10).
    assert!(of_kind(&engaged(6, 8 * WEEK, &[12, 9]), PromptKind::NoProgressDespiteEngagement).is_empty());
    // A single score: change since intake cannot be judged.
    assert!(of_kind(&engaged(6, 8 * WEEK, &[19]), PromptKind::NoProgressDespiteEngagement).is_empty());
    // At caseness exactly (10) it fires.
    assert_eq!(of_kind(&engaged(6, 8 * WEEK, &[12, 10]), PromptKind::NoProgressDespiteEngagement).len(), 1);
}

#[test]
fn only_attended_past_sessions_count() {
    let mut f = engaged(6, 8 * WEEK, &[19, 14]);
    f.sessions[2].attendance = Attendance::NoShow;
    f.sessions.push(SessionFact { starts_at: T0 + 3 * WEEK, attendance: Attendance::Cancelled });
    f.sessions.push(SessionFact { starts_at: f.now + DAY, attendance: Attendance::Attended });
    assert!(of_kind(&f, PromptKind::NoProgressDespiteEngagement).is_empty());
}

#[test]
fn no_progress_uses_gad7_caseness_and_the_nhs_improvement_rule() {
    // GAD-7 alone at caseness 8 fires; 7 does not.
    let mut f = engaged(6, 8 * WEEK, &[]);
    f.scores = vec![total("gad7", T0, 10), total("gad7", T0 + 8 * WEEK, 8)];
    assert_eq!(of_kind(&f, PromptKind::NoProgressDespiteEngagement).len(), 1);
    f.scores[1].total = Some(7);
    assert!(of_kind(&f, PromptKind::NoProgressDespiteEngagement).is_empty());
    // PHQ-9 improved reliably but GAD-7 rose reliably: not a reliable improvement.
    f.scores = vec![total("phq9", T0, 20), total("phq9", T0 + 8 * WEEK, 12), total("gad7", T0, 6), total("gad7", T0 + 8 * WEEK, 10)];
    let c = of_kind(&f, PromptKind::NoProgressDespiteEngagement);
    assert_eq!(c.len(), 1);
    assert!(c[0].explanation.contains("PHQ-9 still 12 and GAD-7 still 10"), "{}", c[0].explanation);
    assert!(c[0].explanation.contains("(PHQ-9 20 → 12, threshold 6; GAD-7 6 → 10, threshold 4)"), "{}", c[0].explanation);
}

#[test]
fn no_progress_timing_shows_the_alliance() {
    let mut f = engaged(6, 8 * WEEK, &[19, 14]);
    f.feedback =
        [36, 38, 37, 30].iter().enumerate().map(|(i, t)| FeedbackPoint { completed_at: T0 + i as i64 * WEEK, total: *t }).collect();
    let c = of_kind(&f, PromptKind::NoProgressDespiteEngagement);
    let a = c[0].timing.as_ref().unwrap().alliance.as_ref().unwrap();
    assert_eq!(a.latest, 30);
    assert_eq!(a.baseline, Some(37.0));
    assert_eq!(a.baseline_count, 3);
    assert!(a.baseline_established && a.dropped);
    assert!(c[0].explanation.contains("below the client's own baseline (37.0)"), "{}", c[0].explanation);
}

#[test]
fn out_of_range_scores_are_ignored() {
    let f = engaged(6, 8 * WEEK, &[19, 99]);
    assert!(of_kind(&f, PromptKind::NoProgressDespiteEngagement).is_empty());
    assert!(of_kind(&f, PromptKind::ReliableDeterioration).is_empty());
}

// ---------------------------------------------------------------------------------------
// Persistent functional impairment
// ---------------------------------------------------------------------------------------

fn wsas(totals: &[i32]) -> ClientRecordFacts {
    let mut f = facts(T0 + 100 * WEEK);
    f.scores = totals.iter().enumerate().map(|(i, t)| total("wsas", T0 + i as i64 * 2 * WEEK, *t)).collect();
    f
}

#[test]
fn wsas_21_21_20_does_not_fire() {
    assert!(of_kind(&wsas(&[21, 21, 20]), PromptKind::PersistentImpairment).is_empty());
    assert!(of_kind(&wsas(&[25, 25]), PromptKind::PersistentImpairment).is_empty());
    assert!(of_kind(&wsas(&[25, 20, 25, 25]), PromptKind::PersistentImpairment).is_empty());
}

#[test]
fn wsas_21_22_23_fires() {
    let c = of_kind(&wsas(&[21, 22, 23]), PromptKind::PersistentImpairment);
    assert_eq!(c.len(), 1);
    let c = &c[0];
    assert_eq!(c.urgency, Urgency::Soon);
    assert_eq!(c.key, format!("persistent_impairment:wsas:{T0}"));
    assert_eq!(c.evidence.points.iter().map(|p| p.value).collect::<Vec<_>>(), [21, 22, 23]);
    assert!(c.explanation.starts_with(
        "Functioning has stayed substantially affected: WSAS above 20 on the latest 3 measures (21 on 2026-01-05, 22 on 2026-01-19, 23 on 2026-02-02)."
    ));
    assert!(c.timing.is_some());
}

#[test]
fn persistent_impairment_key_stays_while_the_run_lasts() {
    let a = of_kind(&wsas(&[10, 21, 22, 23]), PromptKind::PersistentImpairment);
    let b = of_kind(&wsas(&[10, 21, 22, 23, 30]), PromptKind::PersistentImpairment);
    assert_eq!(a[0].key, b[0].key);
    assert_eq!(b[0].evidence.points.iter().map(|p| p.value).collect::<Vec<_>>(), [22, 23, 30]);
    // Cleared and returned: a new occurrence.
    let c = of_kind(&wsas(&[10, 21, 22, 23, 18, 24, 25, 26]), PromptKind::PersistentImpairment);
    assert_ne!(a[0].key, c[0].key);
}

// ---------------------------------------------------------------------------------------
// Reliable deterioration
// ---------------------------------------------------------------------------------------

fn phq9_series(totals: &[i32]) -> ClientRecordFacts {
    let mut f = facts(T0 + 100 * WEEK);
    f.scores = totals.iter().enumerate().map(|(i, t)| total("phq9", T0 + i as i64 * WEEK, *t)).collect();
    f
}

#[test]
fn deterioration_from_intake_at_threshold() {
    assert!(of_kind(&phq9_series(&[5, 10]), PromptKind::ReliableDeterioration).is_empty());
    let c = of_kind(&phq9_series(&[5, 11]), PromptKind::ReliableDeterioration);
    assert_eq!(c.len(), 1);
    assert_eq!(c[0].urgency, Urgency::Soon);
    assert_eq!(c[0].key, format!("deterioration:phq9:{}", T0 + WEEK));
    assert!(
        c[0].explanation.starts_with("PHQ-9 has risen reliably to 11 on 2026-01-12, from 5 at intake (+6, threshold 6). Consider"),
        "{}",
        c[0].explanation
    );
    assert_eq!(c[0].evidence.points.iter().map(|p| (p.role.as_str(), p.value)).collect::<Vec<_>>(), [("intake", 5), ("latest", 11)]);
    // Both bases at once, with three scores.
    let c = of_kind(&phq9_series(&[5, 5, 11]), PromptKind::ReliableDeterioration);
    assert!(
        c[0].explanation.contains("from 5 at intake (+6, threshold 6) and from 5 at the previous measure on 2026-01-12 (+6, threshold 6)"),
        "{}",
        c[0].explanation
    );
    // GAD-7: 4 points.
    let mut f = facts(T0 + 10 * WEEK);
    f.scores = vec![total("gad7", T0, 2), total("gad7", T0 + WEEK, 5)];
    assert!(of_kind(&f, PromptKind::ReliableDeterioration).is_empty());
    f.scores[1].total = Some(6);
    assert_eq!(of_kind(&f, PromptKind::ReliableDeterioration).len(), 1);
}

#[test]
fn deterioration_from_the_previous_measure() {
    // 10 → 4 → 10: no change from intake, +6 from the previous.
    let f = phq9_series(&[10, 4, 10]);
    let c = of_kind(&f, PromptKind::ReliableDeterioration);
    assert_eq!(c.len(), 1);
    assert!(c[0].explanation.contains("from 4 at the previous measure on 2026-01-12 (+6, threshold 6)"), "{}", c[0].explanation);
    assert!(!c[0].explanation.contains("at intake"));
    let off = PromptConfig { deterioration_from_previous: false, ..PromptConfig::default() };
    assert!(evaluate(&f, &off).iter().all(|c| c.kind != PromptKind::ReliableDeterioration));
    assert!(of_kind(&phq9_series(&[10, 4, 9]), PromptKind::ReliableDeterioration).is_empty());
}

#[test]
fn deterioration_key_is_stable_over_a_run() {
    let a = of_kind(&phq9_series(&[5, 6, 12]), PromptKind::ReliableDeterioration);
    let b = of_kind(&phq9_series(&[5, 6, 12, 13, 14]), PromptKind::ReliableDeterioration);
    assert_eq!(a[0].key, b[0].key);
    assert_eq!(a[0].key, format!("deterioration:phq9:{}", T0 + 2 * WEEK));
    let c = of_kind(&phq9_series(&[5, 6, 12, 6, 12]), PromptKind::ReliableDeterioration);
    assert_eq!(c[0].key, format!("deterioration:phq9:{}", T0 + 4 * WEEK));
}

// ---------------------------------------------------------------------------------------
// Alliance drop
// ---------------------------------------------------------------------------------------

fn alliance(totals: &[i32]) -> ClientRecordFacts {
    let mut f = facts(T0 + 100 * WEEK);
    f.feedback = totals.iter().enumerate().map(|(i, t)| FeedbackPoint { completed_at: T0 + i as i64 * WEEK, total: *t }).collect();
    f
}

#[test]
fn alliance_baseline_needs_three_earlier_ratings() {
    for totals in [&[10][..], &[40, 0], &[40, 40, 0], &[40, 40, 10]] {
        assert!(of_kind(&alliance(totals), PromptKind::AllianceDrop).is_empty(), "{totals:?}");
    }
}

#[test]
fn alliance_drop_at_the_margin() {
    // Baseline 40; 15 % below is 34.
    assert!(of_kind(&alliance(&[40, 40, 40, 35]), PromptKind::AllianceDrop).is_empty());
    let c = of_kind(&alliance(&[40, 40, 40, 34]), PromptKind::AllianceDrop);
    assert_eq!(c.len(), 1);
    let c = &c[0];
    assert_eq!(c.urgency, Urgency::Soon);
    assert_eq!(c.key, format!("alliance_drop:{}", T0 + 3 * WEEK));
    assert_eq!(c.evidence.points.len(), 4);
    assert_eq!(
        c.explanation,
        "Session feedback of 34 on 2026-01-26 is 15 % below this client's own baseline of 40.0 (the mean of 3 earlier ratings; margin 15 %). Consider attending to the working relationship, for example by asking openly how the sessions are feeling for them. A referral conversation tends to land better when the alliance is sound."
    );
    // A practice margin of 20 %: 34 no longer fires, 32 does.
    let cfg = PromptConfig { alliance_drop_percent: 20, ..PromptConfig::default() };
    assert!(evaluate(&alliance(&[40, 40, 40, 34]), &cfg).is_empty());
    assert_eq!(evaluate(&alliance(&[40, 40, 40, 32]), &cfg).len(), 1);
    // The baseline is the client's own: a low rater at their usual level does not fire.
    assert!(of_kind(&alliance(&[20, 22, 21, 20]), PromptKind::AllianceDrop).is_empty());
    // A zero baseline cannot drop.
    assert!(of_kind(&alliance(&[0, 0, 0, 0]), PromptKind::AllianceDrop).is_empty());
}

// ---------------------------------------------------------------------------------------
// Overdue measures
// ---------------------------------------------------------------------------------------

#[test]
fn overdue_schedules_fire_routine_prompts() {
    let mut f = facts(T0 + 10 * DAY);
    let due_now = Due { due_at: Some(T0), overdue_from: Some(T0 + 2 * DAY), is_due: true, overdue: true };
    let due_not_overdue = Due { due_at: Some(T0 + 9 * DAY), overdue_from: Some(T0 + 11 * DAY), is_due: true, overdue: false };
    f.schedules = vec![
        ScheduleFact { instrument: id("phq9"), frequency: Frequency::Weekly, due: due_now },
        ScheduleFact { instrument: id("gad7"), frequency: Frequency::Weekly, due: due_not_overdue },
    ];
    let c = run(&f);
    assert_eq!(c.len(), 1);
    assert_eq!(c[0].kind, PromptKind::OverdueMeasure);
    assert_eq!(c[0].urgency, Urgency::Routine);
    assert_eq!(c[0].key, format!("overdue_measure:phq9:{T0}"));
    assert_eq!(c[0].evidence.points[0].value, 8);
    assert_eq!(
        c[0].explanation,
        "PHQ-9 (weekly) fell due on 2026-01-05 and has been overdue since 2026-01-07. Consider inviting the client to complete it, in the portal or at the next session."
    );
}

#[test]
fn a_deferred_decision_comes_back_on_its_revisit_day_and_not_a_second_before() {
    let revisit_at = T0 - 9 * 3600; // 2026-01-05 00:00 UTC
    let deferred = vec![DeferredDecision { decision_id: "d1".into(), revisit_at }];
    let mut before = facts(revisit_at - 1);
    before.deferred_decisions = deferred.clone();
    assert!(run(&before).is_empty());
    let mut on = facts(revisit_at + 3 * DAY);
    on.deferred_decisions = deferred;
    let c = run(&on);
    assert_eq!(c.len(), 1);
    assert_eq!(c[0].kind, PromptKind::DecisionRevisit);
    assert_eq!(c[0].urgency, Urgency::Routine);
    assert_eq!(c[0].key, "decision_revisit:d1:2026-01-05");
    assert_eq!(c[0].evidence.points[0].source, EvidenceSource::DecisionRevisit { decision_id: "d1".into() });
    assert_eq!(c[0].evidence.points[0].value, 3);
    assert!(c[0].explanation.contains("chose to come back to it on 2026-01-05"), "{}", c[0].explanation);
    assert!(c[0].timing.is_none());
}

#[test]
fn prompts_come_most_urgent_first() {
    let mut f = wsas(&[21, 22, 23]);
    f.check_ins = vec![CheckIn { completed_at: T0, harm_thoughts: true }];
    f.schedules = vec![ScheduleFact {
        instrument: id("phq9"),
        frequency: Frequency::Once,
        due: Due { due_at: Some(T0), overdue_from: Some(T0 + WEEK), is_due: true, overdue: true },
    }];
    let kinds: Vec<PromptKind> = run(&f).into_iter().map(|c| c.kind).collect();
    assert_eq!(kinds, [PromptKind::Safety, PromptKind::PersistentImpairment, PromptKind::OverdueMeasure]);
}
