//! Outcome analytics: hand-worked NHS Talking Therapies cases, the CLI contract, and
//! properties of the episode classification and the Jacobson–Truax formulas.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use concord_domain::measures::InstrumentId;
use concord_domain::measures::cli_support::{OutcomeJson, outcome_command, render_outcome_text};
use concord_domain::measures::definition::{ClinicalCutoffParams, Direction, JacobsonTruaxParams};
use concord_domain::measures::outcome::{
    ChangeClass, EpisodeClass, EpisodeOutcome, MeasureSeries, OutcomeConfig, clinical_cutoff, episode_outcome, jacobson_truax,
};
use proptest::prelude::*;
use serde_json::json;

fn outcome(args: &[&str]) -> EpisodeOutcome {
    outcome_command(args, &OutcomeConfig::nhs_talking_therapies()).unwrap()
}

/// The worked example from PRODUCT.md / the issue:
/// `concord outcome --measure phq9=18,12,9 --measure gad7=12,10,6`.
///
/// By hand, with the NHS Talking Therapies definitions:
/// - caseness at the first measure: PHQ-9 18 >= 10 -> a case (GAD-7 12 >= 8 too).
/// - at the last measure: PHQ-9 9 < 10 and GAD-7 6 < 8 -> not a case on either.
/// - PHQ-9 change 18 -> 9 = -9: a drop of at least 6 -> reliable improvement.
/// - GAD-7 change 12 -> 6 = -6: a drop of at least 4 -> reliable improvement.
/// - neither rises by its threshold -> no reliable deterioration.
/// - reliable improvement: yes (some measure drops reliably, none rises reliably).
/// - recovery: a case at the start, below caseness on both at the end -> yes.
/// - reliable recovery: recovery and reliable improvement -> yes.
/// - change since last: PHQ-9 12 -> 9 = -3, GAD-7 10 -> 6 = -4.
#[test]
fn worked_example_from_the_product_brief() {
    let o = outcome(&["phq9=18,12,9", "gad7=12,10,6"]);
    assert!(o.case_at_start);
    assert!(!o.case_at_end);
    assert!(o.reliable_improvement);
    assert!(!o.reliable_deterioration);
    assert!(o.recovery);
    assert!(o.reliable_recovery);
    assert!(!o.no_reliable_change);
    assert!(!o.not_case_at_intake);
    assert_eq!(o.classification, EpisodeClass::ReliableRecovery);
    let phq9 = &o.measures[0];
    assert_eq!((phq9.first, phq9.last, phq9.change_since_intake, phq9.change_since_last), (18, 9, -9, Some(-3)));
    assert_eq!(phq9.reliable_change, ChangeClass::ReliableImprovement);
    let gad7 = &o.measures[1];
    assert_eq!((gad7.change_since_intake, gad7.change_since_last), (-6, Some(-4)));

    let j = serde_json::to_value(OutcomeJson::from(&o)).unwrap();
    for (key, value) in [
        ("case_at_start", true),
        ("case_at_end", false),
        ("reliable_improvement", true),
        ("reliable_deterioration", false),
        ("recovery", true),
        ("reliable_recovery", true),
    ] {
        assert_eq!(j[key], json!(value), "{key}");
    }
    assert_eq!(j["classification"], json!("reliable_recovery"));
    assert_eq!(j["measures"][0]["measure"], json!("phq9"));
    assert_eq!(j["measures"][0]["reliable_change"], json!("reliable_improvement"));
    assert_eq!(j["convention"]["convention"], json!("nhs_talking_therapies"));
    assert_eq!(j["convention"]["measures"][0]["caseness_at_least"], json!(10));
    assert_eq!(j["convention"]["measures"][1]["reliable_change"], json!(4));
    let back: OutcomeJson = serde_json::from_value(j).unwrap();
    assert_eq!(back, OutcomeJson::from(&o));

    assert_eq!(
        render_outcome_text(&o),
        "Outcome: Reliable recovery (reliable_recovery) [nhs_talking_therapies convention]\n\
         \x20 case at start: yes; case at end: no\n\
         \x20 reliable improvement: yes; reliable deterioration: no\n\
         \x20 recovery: yes; reliable recovery: yes\n\
         \x20 phq9: 18 -> 12 -> 9 (change since intake -9, since last -3); case (>= 10) yes -> no; reliable change (>= 6 points): reliable_improvement\n\
         \x20 gad7: 12 -> 10 -> 6 (change since intake -6, since last -4); case (>= 8) yes -> no; reliable change (>= 4 points): reliable_improvement\n"
    );
}

#[test]
fn hand_worked_nhs_cases() {
    // (args, classification, case_start, case_end, RI, RD, recovery, reliable recovery)
    let cases: &[(&[&str], EpisodeClass, [bool; 6])] = &[
        // Below caseness on both at intake (8 < 10, 6 < 8); GAD-7 drops 4 -> RI still reported.
        (&["phq9=8,4", "gad7=6,2"], EpisodeClass::NotACaseAtIntake, [false, false, true, false, false, false]),
        // Drops of 4 and 1: below both thresholds; still a case.
        (&["phq9=15,11", "gad7=10,9"], EpisodeClass::NoReliableChange, [true, true, false, false, false, false]),
        // Case at start (PHQ-9 12), below both at end (9, 5), drops 3 and 2: recovery, not reliable.
        (&["phq9=12,9", "gad7=7,5"], EpisodeClass::Recovery, [true, false, false, false, true, false]),
        // PHQ-9 drops 7 but ends at 13 (still a case): reliable improvement only.
        (&["phq9=20,13", "gad7=15,12"], EpisodeClass::ReliableImprovement, [true, true, true, false, false, false]),
        // PHQ-9 rises 7: reliable deterioration.
        (&["phq9=10,17", "gad7=9,9"], EpisodeClass::ReliableDeterioration, [true, true, false, true, false, false]),
        // GAD-7 drops 10 but PHQ-9 rises 7: recovery (below both at the end), but "neither rises
        // reliably" fails, so no reliable improvement and no reliable recovery; deterioration wins.
        (&["phq9=2,9", "gad7=15,5"], EpisodeClass::ReliableDeterioration, [true, false, false, true, true, false]),
        // Thresholds are inclusive: PHQ-9 16 -> 10 drops exactly 6 but 10 is still a case.
        (&["phq9=16,10"], EpisodeClass::ReliableImprovement, [true, true, true, false, false, false]),
        // GAD-7 only, 8 -> 7: case at exactly 8, recovered, not reliable.
        (&["gad7=8,7"], EpisodeClass::Recovery, [true, false, false, false, true, false]),
        // Single-measure series: PHQ-9 only.
        (&["phq9=18,12,9"], EpisodeClass::ReliableRecovery, [true, false, true, false, true, true]),
    ];
    for (args, class, [cs, ce, ri, rd, rec, rrec]) in cases {
        let o = outcome(args);
        assert_eq!(o.classification, *class, "{args:?}");
        assert_eq!(
            [o.case_at_start, o.case_at_end, o.reliable_improvement, o.reliable_deterioration, o.recovery, o.reliable_recovery],
            [*cs, *ce, *ri, *rd, *rec, *rrec],
            "{args:?}"
        );
    }
    let o = outcome(&["phq9=18,12,9"]);
    assert_eq!(o.measures_not_supplied, [InstrumentId::parse("gad7").unwrap()]);
    assert!(render_outcome_text(&o).ends_with("  not supplied: gad7\n"));

    // One score: no change can be judged.
    let o = outcome(&["phq9=18", "gad7=12,6"]);
    assert_eq!(o.classification, EpisodeClass::InsufficientData);
    assert!(!o.paired && !o.recovery && !o.reliable_improvement && !o.reliable_deterioration);
}

#[test]
fn outcome_errors_are_clear() {
    let c = OutcomeConfig::nhs_talking_therapies();
    let err = |args: &[&str]| outcome_command(args, &c).unwrap_err().to_string();
    assert_eq!(err(&["phq9=18,x"]), "--measure phq9: value 2 is \"x\", expected a whole number");
    assert_eq!(err(&["wsas=20,10"]), "no outcome rule for wsas; the nhs_talking_therapies convention covers phq9, gad7");
    assert_eq!(err(&["gad7=22,1"]), "gad7 score 1 is 22, outside its range 0 to 21");
    assert_eq!(err(&[]), "no measure series given");
}

#[test]
fn thresholds_are_configurable_and_recorded() {
    // A stricter local convention: PHQ-9 reliable change 10.
    let mut c = OutcomeConfig::nhs_talking_therapies();
    c.convention = "local".into();
    c.measures[0].reliable_change = 10;
    let o = outcome_command(&["phq9=18,9"], &c).unwrap();
    assert!(!o.reliable_improvement);
    assert_eq!(o.classification, EpisodeClass::Recovery);
    assert_eq!(o.convention.convention, "local");
    assert_eq!(o.measures[0].reliable_change_threshold, 10);
    // Configuration comes from JSON too, and is checked.
    let mut bad = serde_json::to_value(&c).unwrap();
    bad["measures"][0]["reliable_change"] = json!(0);
    let bad: OutcomeConfig = serde_json::from_value(bad).unwrap();
    assert_eq!(outcome_command(&["phq9=18,9"], &bad).unwrap_err().to_string(), "phq9: reliable-change threshold must be at least 1");
}

fn series(m: &str, t: &[i32]) -> MeasureSeries {
    MeasureSeries { measure: InstrumentId::parse(m).unwrap(), totals: t.to_vec() }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn episode_classification_is_consistent(
        phq9 in proptest::option::of(proptest::collection::vec(0i32..=27, 1..6)),
        gad7 in proptest::option::of(proptest::collection::vec(0i32..=21, 1..6)),
        phq_rc in 1u32..10,
        gad_rc in 1u32..10,
        phq_case in 0i32..=27,
        gad_case in 0i32..=21,
        swap in any::<bool>(),
    ) {
        let mut config = OutcomeConfig::nhs_talking_therapies();
        config.measures[0].reliable_change = phq_rc;
        config.measures[0].caseness_at_least = phq_case;
        config.measures[1].reliable_change = gad_rc;
        config.measures[1].caseness_at_least = gad_case;
        let mut input = Vec::new();
        if let Some(p) = &phq9 { input.push(series("phq9", p)); }
        if let Some(g) = &gad7 { input.push(series("gad7", g)); }
        if swap { input.reverse(); }
        let Ok(o) = episode_outcome(&input, &config) else {
            prop_assert!(input.is_empty());
            return Ok(());
        };

        // Structural invariants.
        prop_assert!(!(o.reliable_improvement && o.reliable_deterioration));
        prop_assert!(!o.reliable_recovery || (o.recovery && o.reliable_improvement));
        prop_assert!(!o.recovery || (o.case_at_start && !o.case_at_end));
        prop_assert_eq!(o.no_reliable_change, !o.reliable_improvement && !o.reliable_deterioration);
        prop_assert_eq!(o.not_case_at_intake, !o.case_at_start);
        prop_assert_eq!(o.reliable_recovery, o.recovery && o.reliable_improvement);

        // An independent oracle from the NHS definitions.
        let rules = [(&phq9, phq_case, phq_rc), (&gad7, gad_case, gad_rc)];
        let given: Vec<(&Vec<i32>, i32, i64)> = rules
            .iter()
            .filter_map(|(s, case, rc)| s.as_ref().map(|s| (s, *case, i64::from(*rc))))
            .collect();
        let paired = given.iter().all(|(s, _, _)| s.len() >= 2);
        let first = |s: &Vec<i32>| i64::from(s[0]);
        let last = |s: &Vec<i32>| i64::from(*s.last().unwrap());
        let case_start = given.iter().any(|(s, c, _)| first(s) >= i64::from(*c));
        let case_end = given.iter().any(|(s, c, _)| last(s) >= i64::from(*c));
        let drops = given.iter().any(|(s, _, rc)| first(s) - last(s) >= *rc);
        let rises = given.iter().any(|(s, _, rc)| last(s) - first(s) >= *rc);
        prop_assert_eq!(o.paired, paired);
        prop_assert_eq!(o.case_at_start, case_start);
        prop_assert_eq!(o.case_at_end, case_end);
        prop_assert_eq!(o.reliable_deterioration, paired && rises);
        prop_assert_eq!(o.reliable_improvement, paired && drops && !rises);
        prop_assert_eq!(o.recovery, paired && case_start && !case_end);

        // The headline class agrees with the booleans.
        let expected = if !paired {
            EpisodeClass::InsufficientData
        } else if !case_start {
            EpisodeClass::NotACaseAtIntake
        } else if o.reliable_recovery {
            EpisodeClass::ReliableRecovery
        } else if o.reliable_deterioration {
            EpisodeClass::ReliableDeterioration
        } else if o.recovery {
            EpisodeClass::Recovery
        } else if o.reliable_improvement {
            EpisodeClass::ReliableImprovement
        } else {
            EpisodeClass::NoReliableChange
        };
        prop_assert_eq!(o.classification, expected);
        // The convention used is recorded.
        prop_assert_eq!(&o.convention, &config);
    }

    #[test]
    fn jacobson_truax_properties(
        pre in 0.0f64..60.0,
        post in 0.0f64..60.0,
        sd in 0.5f64..15.0,
        r in 0.0f64..0.99,
    ) {
        let p = JacobsonTruaxParams { sd, reliability: r, critical_value: 1.96, source: "test".into() };
        let a = jacobson_truax(pre, post, &p, Direction::HigherIsWorse).unwrap();
        let b = jacobson_truax(post, pre, &p, Direction::HigherIsWorse).unwrap();
        let expected = (post - pre) / (sd * 2f64.sqrt() * (1.0 - r).sqrt());
        prop_assert!((a.rci - expected).abs() < 1e-9);
        prop_assert!((a.rci + b.rci).abs() < 1e-9);
        prop_assert_eq!(a.reliable, a.rci.abs() > 1.96);
        prop_assert_eq!(a.reliable, a.class != ChangeClass::NoReliableChange);
        if a.reliable {
            let improved = a.class == ChangeClass::ReliableImprovement;
            prop_assert_eq!(improved, post < pre);
            let better = jacobson_truax(pre, post, &p, Direction::HigherIsBetter).unwrap();
            prop_assert_eq!(better.class == ChangeClass::ReliableImprovement, post > pre);
        }
    }

    #[test]
    fn clinical_cutoff_lies_between_the_means(
        mc in -50.0f64..50.0, mf in -50.0f64..50.0, sc in 0.1f64..20.0, sf in 0.1f64..20.0,
    ) {
        let c = clinical_cutoff(&ClinicalCutoffParams {
            mean_clinical: mc, sd_clinical: sc, mean_functional: mf, sd_functional: sf, source: "t".into(),
        }).unwrap();
        prop_assert!(c >= mc.min(mf) - 1e-9 && c <= mc.max(mf) + 1e-9);
        // Equal SDs: the midpoint.
        let mid = clinical_cutoff(&ClinicalCutoffParams {
            mean_clinical: mc, sd_clinical: sc, mean_functional: mf, sd_functional: sc, source: "t".into(),
        }).unwrap();
        prop_assert!((mid - (mc + mf) / 2.0).abs() < 1e-9);
    }
}
