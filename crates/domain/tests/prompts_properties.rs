//! Properties of the prompt rules and lifecycle over generated records and trajectories.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use concord_domain::measures::schedule::{Due, Frequency};
use concord_domain::measures::score::Answer;
use concord_domain::measures::{Flag, InstrumentId};
use concord_domain::prompts::{
    Action, CheckIn, ClientRecordFacts, DeferredDecision, FeedbackPoint, ItemValue, PromptConfig, PromptKind, PromptState, Response,
    SafetyAction, ScheduleFact, ScorePoint, SessionFact, Urgency, evaluate, reopen_due, transition,
};
use concord_domain::values::Attendance;
use proptest::prelude::*;

const DAY: i64 = 86_400;
const WEEK: i64 = 7 * DAY;
const T0: i64 = 1_767_603_600;

const FORBIDDEN: [&str; 9] =
    ["diagnos", "you should", "should take", "must take", "prescrib", "needs medication", "disorder", "dose", "you have depression"];

fn id(s: &str) -> InstrumentId {
    InstrumentId::parse(s).unwrap()
}

fn instrument() -> impl Strategy<Value = InstrumentId> {
    prop::sample::select(vec!["phq9", "gad7", "wsas", "checkin", "other"]).prop_map(id)
}

fn score_point(time: BoxedStrategy<i64>, total: BoxedStrategy<i32>) -> impl Strategy<Value = ScorePoint> {
    (instrument(), time, prop::option::of(total), prop::option::of(-3i32..5), any::<bool>()).prop_map(
        |(instrument, at, total, q9, flag)| ScorePoint {
            instrument,
            completed_at: at,
            total,
            band: None,
            items: q9.map(|v| ItemValue { id: "q9".into(), answer: Answer::Value(v) }).into_iter().collect(),
            flags: if flag { vec![Flag::parse("safety").unwrap()] } else { vec![] },
        },
    )
}

fn due() -> impl Strategy<Value = Due> {
    (prop::option::of(any::<i64>()), prop::option::of(any::<i64>()), any::<bool>(), any::<bool>())
        .prop_map(|(due_at, overdue_from, is_due, overdue)| Due { due_at, overdue_from, is_due, overdue })
}

fn record(time: BoxedStrategy<i64>, total: BoxedStrategy<i32>) -> impl Strategy<Value = ClientRecordFacts> {
    (
        time.clone(),
        prop::collection::vec(score_point(time.clone(), total.clone()), 0..24),
        prop::collection::vec(
            (time.clone(), any::<bool>()).prop_map(|(completed_at, harm_thoughts)| CheckIn { completed_at, harm_thoughts }),
            0..6,
        ),
        prop::collection::vec(
            (time.clone(), prop::sample::select(Attendance::ALL.to_vec()))
                .prop_map(|(starts_at, attendance)| SessionFact { starts_at, attendance }),
            0..14,
        ),
        prop::collection::vec((time.clone(), total).prop_map(|(completed_at, total)| FeedbackPoint { completed_at, total }), 0..8),
        prop::collection::vec(
            (instrument(), prop::sample::select(Frequency::ALL.to_vec()), due()).prop_map(|(instrument, frequency, due)| ScheduleFact {
                instrument,
                frequency,
                due,
            }),
            0..3,
        ),
        prop::collection::vec(
            (0u8..3, time).prop_map(|(n, revisit_at)| DeferredDecision { decision_id: format!("d{n}"), revisit_at }),
            0..3,
        ),
    )
        .prop_map(|(now, scores, check_ins, sessions, feedback, schedules, deferred_decisions)| ClientRecordFacts {
            now,
            scores,
            check_ins,
            sessions,
            feedback,
            schedules,
            deferred_decisions,
        })
}

/// Plausible records: a year of data around `T0`, totals mostly in range.
fn plausible() -> impl Strategy<Value = ClientRecordFacts> {
    record((T0..T0 + 52 * WEEK).boxed(), (-2i32..45).boxed())
}

fn arbitrary() -> impl Strategy<Value = ClientRecordFacts> {
    record(any::<i64>().boxed(), any::<i32>().boxed())
}

fn arbitrary_config() -> impl Strategy<Value = PromptConfig> {
    (any::<u32>(), any::<u32>(), any::<i32>(), any::<u32>(), any::<u32>(), any::<u32>(), any::<bool>(), any::<i32>()).prop_map(
        |(sessions, weeks, above, consecutive, baseline, percent, from_previous, item_above)| PromptConfig {
            min_attended_sessions: sessions,
            min_weeks: weeks,
            impairment_above: above,
            impairment_consecutive: consecutive,
            alliance_min_baseline: baseline,
            alliance_drop_percent: percent,
            deterioration_from_previous: from_previous,
            safety_item_above: item_above,
            ..PromptConfig::default()
        },
    )
}

fn keys(f: &ClientRecordFacts, c: &PromptConfig) -> Vec<String> {
    evaluate(f, c).into_iter().map(|p| p.key).collect()
}

fn reversed(f: &ClientRecordFacts) -> ClientRecordFacts {
    let mut r = f.clone();
    r.scores.reverse();
    r.check_ins.reverse();
    r.sessions.reverse();
    r.feedback.reverse();
    r.schedules.reverse();
    r.deferred_decisions.reverse();
    r
}

fn text() -> impl Strategy<Value = String> {
    prop::sample::select(vec!["", " ", "\n\t", "note", " Discussed options. "]).prop_map(str::to_owned)
}

fn response() -> impl Strategy<Value = Response> {
    prop_oneof![
        text().prop_map(|note| Response::Discussed { note }),
        prop::option::of(text()).prop_map(|to| Response::ReferralOffered { to }),
        text().prop_map(|reasons_in_their_words| Response::ClientDeclined { reasons_in_their_words }),
        any::<i64>().prop_map(|date| Response::DeferredUntil { date }),
        text().prop_map(|why| Response::NotAppropriate { why }),
    ]
}

fn action() -> impl Strategy<Value = Action> {
    (response(), prop::option::of(text().prop_map(|what_was_done| SafetyAction { what_was_done })))
        .prop_map(|(response, safety_action)| Action { response, safety_action })
}

fn state() -> impl Strategy<Value = PromptState> {
    prop_oneof![
        Just(PromptState::Open),
        any::<i64>().prop_map(|until| PromptState::Deferred { until }),
        (response(), prop::option::of(text().prop_map(|what_was_done| SafetyAction { what_was_done })))
            .prop_map(|(response, safety_action)| PromptState::Resolved { response, safety_action }),
    ]
}

fn documented(s: &str) -> bool {
    !s.trim().is_empty() && s.trim() == s
}

fn at(totals: &[i32], instrument: &str, step: i64) -> Vec<ScorePoint> {
    totals
        .iter()
        .enumerate()
        .map(|(i, t)| ScorePoint {
            instrument: id(instrument),
            completed_at: T0 + i as i64 * step,
            total: Some(*t),
            band: None,
            items: vec![],
            flags: vec![],
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn evaluate_never_panics(f in arbitrary(), c in arbitrary_config()) {
        let _ = evaluate(&f, &c);
        let _ = evaluate(&f, &PromptConfig::default());
    }

    #[test]
    fn evaluation_is_idempotent_and_order_free(f in plausible()) {
        let c = PromptConfig::default();
        let first = evaluate(&f, &c);
        prop_assert_eq!(&first, &evaluate(&f, &c));
        prop_assert_eq!(keys(&f, &c), keys(&reversed(&f), &c));
        let mut seen = std::collections::HashSet::new();
        for p in &first {
            prop_assert!(seen.insert(p.key.clone()), "duplicate key {}", p.key);
        }
    }

    /// The store's `load_facts` leaves out check-ins without harm thoughts (most of a record's
    /// rows): the candidates, keys, evidence and words, must be exactly those of the whole record.
    #[test]
    fn unflagged_check_ins_never_change_the_outcome(f in plausible(), c in arbitrary_config(), extra in prop::collection::vec(any::<i64>(), 0..40)) {
        let mut full = f.clone();
        full.check_ins.extend(extra.iter().map(|at| CheckIn { completed_at: T0 + at % (400 * DAY), harm_thoughts: false }));
        let mut reduced = full.clone();
        reduced.check_ins.retain(|ci| ci.harm_thoughts);
        prop_assert_eq!(evaluate(&full, &c), evaluate(&reduced, &c));
        prop_assert_eq!(evaluate(&full, &PromptConfig::default()), evaluate(&reduced, &PromptConfig::default()));
    }

    #[test]
    fn every_candidate_is_explained_and_evidenced(f in plausible()) {
        for p in evaluate(&f, &PromptConfig::default()) {
            prop_assert!(!p.evidence.points.is_empty(), "{:?}", p);
            prop_assert!(!p.evidence.thresholds.is_empty(), "{:?}", p);
            prop_assert!(p.key.starts_with(p.kind.as_str()), "{}", p.key);
            prop_assert_eq!(p.urgency == Urgency::Urgent, p.kind == PromptKind::Safety);
            prop_assert_eq!(p.timing.is_some(), p.kind.is_referral_type());
            let lower = p.explanation.to_lowercase();
            for bad in FORBIDDEN {
                prop_assert!(!lower.contains(bad), "{:?} in {}", bad, p.explanation);
            }
            prop_assert!(!p.explanation.is_empty());
        }
    }

    #[test]
    fn every_reported_harm_is_an_urgent_prompt(f in plausible()) {
        let out = evaluate(&f, &PromptConfig::default());
        for c in f.check_ins.iter().filter(|c| c.harm_thoughts && c.completed_at <= f.now) {
            let key = format!("safety:checkin:{}", c.completed_at);
            prop_assert!(out.iter().any(|p| p.key == key && p.urgency == Urgency::Urgent));
        }
        for s in f.scores.iter().filter(|s| s.completed_at <= f.now && s.instrument.as_str() == "phq9" && s.item("q9").is_some_and(|v| v > 0)) {
            let key = format!("safety:phq9:{}", s.completed_at);
            prop_assert!(out.iter().any(|p| p.key == key && p.urgency == Urgency::Urgent));
        }
    }

    #[test]
    fn safety_is_never_cleared_without_staff_and_a_documented_action(
        s in state(), kind in prop::sample::select(PromptKind::ALL.to_vec()), a in action(), staff in any::<bool>(), now in any::<i64>(),
    ) {
        let result = transition(&s, kind, &a, staff, now);
        if let Ok(next) = &result {
            prop_assert!(staff);
            let was_resolved = matches!(s, PromptState::Resolved { .. });
            prop_assert!(!was_resolved);
            match next {
                PromptState::Open => prop_assert!(false, "a transition never opens"),
                PromptState::Deferred { until } => {
                    prop_assert!(kind != PromptKind::Safety);
                    prop_assert!(*until > now);
                }
                PromptState::Resolved { response, safety_action } => {
                    match response {
                        Response::Discussed { note } => prop_assert!(documented(note)),
                        Response::ReferralOffered { to } => prop_assert!(to.as_deref().is_none_or(documented)),
                        Response::ClientDeclined { reasons_in_their_words } => prop_assert!(documented(reasons_in_their_words)),
                        Response::NotAppropriate { why } => {
                            prop_assert!(documented(why));
                            prop_assert!(kind != PromptKind::Safety);
                        }
                        Response::DeferredUntil { .. } => prop_assert!(false, "deferral never resolves"),
                    }
                    if kind == PromptKind::Safety {
                        prop_assert!(safety_action.as_ref().is_some_and(|a| documented(&a.what_was_done)));
                    } else {
                        prop_assert!(safety_action.is_none());
                    }
                }
            }
        }
    }

    #[test]
    fn time_never_closes_or_expires_a_prompt(
        s in state(), kind in prop::sample::select(PromptKind::ALL.to_vec()), now in any::<i64>(), holds in any::<bool>(),
    ) {
        let next = reopen_due(&s, kind, now, holds);
        match &s {
            PromptState::Open | PromptState::Resolved { .. } => prop_assert_eq!(&next, &s),
            PromptState::Deferred { until } => {
                let reopen = kind == PromptKind::Safety || (now >= *until && holds);
                prop_assert_eq!(next, if reopen { PromptState::Open } else { s.clone() });
            }
        }
    }

    // Each rule fires exactly at its threshold and not one step below.

    #[test]
    fn impairment_fires_iff_the_latest_three_are_above_20(totals in prop::collection::vec(15i32..=30, 0..7)) {
        let f = ClientRecordFacts { now: T0 + 100 * WEEK, scores: at(&totals, "wsas", WEEK), ..ClientRecordFacts::default() };
        let fired = evaluate(&f, &PromptConfig::default()).iter().any(|p| p.kind == PromptKind::PersistentImpairment);
        let expected = totals.len() >= 3 && totals[totals.len() - 3..].iter().all(|t| *t > 20);
        prop_assert_eq!(fired, expected);
    }

    #[test]
    fn alliance_fires_iff_at_least_the_margin_below_an_established_baseline(
        earlier in prop::collection::vec(0i32..=40, 0..7), latest in 0i32..=40,
    ) {
        let mut totals = earlier.clone();
        totals.push(latest);
        let feedback = totals.iter().enumerate().map(|(i, t)| FeedbackPoint { completed_at: T0 + i as i64 * WEEK, total: *t }).collect();
        let f = ClientRecordFacts { now: T0 + 100 * WEEK, feedback, ..ClientRecordFacts::default() };
        let fired = evaluate(&f, &PromptConfig::default()).iter().any(|p| p.kind == PromptKind::AllianceDrop);
        let n = earlier.len() as i64;
        let sum: i64 = earlier.iter().map(|t| i64::from(*t)).sum();
        let expected = n >= 3 && sum > 0 && i64::from(latest) * 100 * n <= sum * 85;
        prop_assert_eq!(fired, expected);
    }

    #[test]
    fn deterioration_fires_iff_a_reliable_rise(totals in prop::collection::vec(0i32..=27, 1..7)) {
        let f = ClientRecordFacts { now: T0 + 100 * WEEK, scores: at(&totals, "phq9", WEEK), ..ClientRecordFacts::default() };
        let fired = evaluate(&f, &PromptConfig::default()).iter().any(|p| p.kind == PromptKind::ReliableDeterioration);
        let last = *totals.last().unwrap();
        let expected = totals.len() >= 2 && (last - totals[0] >= 6 || last - totals[totals.len() - 2] >= 6);
        prop_assert_eq!(fired, expected);
    }

    #[test]
    fn no_progress_fires_iff_engaged_long_enough(n in 0usize..10, span in 6 * WEEK..10 * WEEK, intake in 10i32..=27, latest in 10i32..=27) {
        let sessions = (0..n)
            .map(|i| SessionFact { starts_at: if n < 2 { T0 } else { T0 + span * i as i64 / (n as i64 - 1) }, attendance: Attendance::Attended })
            .collect();
        let f = ClientRecordFacts {
            now: T0 + span + DAY,
            scores: at(&[intake, latest], "phq9", span),
            sessions,
            ..ClientRecordFacts::default()
        };
        let fired = evaluate(&f, &PromptConfig::default()).iter().any(|p| p.kind == PromptKind::NoProgressDespiteEngagement);
        let real_span = if n < 2 { 0 } else { span };
        let expected = n >= 6 && real_span >= 8 * WEEK && intake - latest < 6;
        prop_assert_eq!(fired, expected);
    }

    #[test]
    fn a_revisit_fires_iff_its_day_has_come(offset in -3 * DAY..3 * DAY) {
        let f = ClientRecordFacts {
            now: T0 + offset,
            deferred_decisions: vec![DeferredDecision { decision_id: "d".into(), revisit_at: T0 }],
            ..ClientRecordFacts::default()
        };
        let fired = evaluate(&f, &PromptConfig::default()).iter().filter(|p| p.kind == PromptKind::DecisionRevisit).count();
        prop_assert_eq!(fired, usize::from(offset >= 0));
    }
}
