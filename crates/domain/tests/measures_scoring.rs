//! Scoring: worked examples, missing-item rules, errors, the CLI contract, and properties.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use concord_domain::measures::Registry;
use concord_domain::measures::cli_support::{CliError, ScoreJson, parse_answers, render_score_text, score_command};
use concord_domain::measures::definition::{Instrument, MissingRule, ScoringMethod};
use concord_domain::measures::score::{Answer, Answers, MissingMethod, score};
use proptest::prelude::*;
use serde_json::json;

fn reg() -> Registry {
    Registry::shipped().unwrap()
}

fn run(id: &str, answers: &str) -> concord_domain::measures::score::Score {
    let r = reg();
    let (_, s) = score_command(&r, id, answers).unwrap();
    s
}

#[test]
fn phq9_worked_examples() {
    // 1+2+2+2+1+1+2+2+0 = 13 -> moderate, a case, no flag.
    let s = run("phq9", "1,2,2,2,1,1,2,2,0");
    assert_eq!(s.total, Some(13));
    assert_eq!(s.band.as_ref().unwrap().id, "moderate");
    assert_eq!(s.caseness, Some(true));
    assert!(s.flags.is_empty());
    assert_eq!(s.missing.method, MissingMethod::Complete);

    // With the difficulty item (10 answers): 3+3+3+2+2+2+1+1+1 = 18; item 9 = 1 -> safety.
    let s = run("phq9", "3,3,3,2,2,2,1,1,1,2");
    assert_eq!(s.total, Some(18));
    assert_eq!(s.band.as_ref().unwrap().id, "moderately_severe");
    assert_eq!(s.flags.len(), 1);
    assert!(s.has_flag("safety"));
    let difficulty = s.items.iter().find(|i| i.id == "difficulty").unwrap();
    assert_eq!(difficulty.answer, Answer::Value(2));
    assert_eq!(difficulty.label.as_deref(), Some("Very difficult"));
    assert!(!difficulty.scored);

    // Band edges.
    for (answers, total, band) in [
        ("0,0,0,0,0,0,0,0,0", 0, "minimal"),
        ("1,1,1,1,0,0,0,0,0", 4, "minimal"),
        ("1,1,1,1,1,0,0,0,0", 5, "mild"),
        ("1,1,1,1,1,1,1,1,1", 9, "mild"),
        ("2,1,1,1,1,1,1,1,1", 10, "moderate"),
        ("3,2,2,2,2,2,1,1,0", 15, "moderately_severe"),
        ("3,3,2,2,2,2,2,2,2", 20, "severe"),
        ("3,3,3,3,3,3,3,3,3", 27, "severe"),
    ] {
        let s = run("phq9", answers);
        assert_eq!(s.total, Some(total), "{answers}");
        assert_eq!(s.band.unwrap().id, band, "{answers}");
        assert_eq!(s.caseness, Some(total >= 10));
    }
}

#[test]
fn phq9_prorating() {
    // 8 answered, sum 12: 12 * 9 / 8 = 13.5 -> 14 (half up).
    let s = run("phq9", "2,2,2,2,2,1,1,0,-");
    assert_eq!(s.total, Some(14));
    assert_eq!(s.missing.method, MissingMethod::Prorated);
    assert_eq!(s.missing.missing_items, ["q9"]);
    assert_eq!(s.missing.exact_total, Some(13.5));
    assert!(s.flags.is_empty());
    assert_eq!(s.risk_items_unanswered, ["q9"]);
    // 2 missing still prorated: sum 7 over 7 -> 9.
    let s = run("phq9", "1,1,1,1,1,1,1,-,-");
    assert_eq!(s.total, Some(9));
    // 3 missing: no total, no band, no caseness.
    let s = run("phq9", "1,1,1,1,1,1,-,-,-");
    assert_eq!(s.total, None);
    assert_eq!(s.band, None);
    assert_eq!(s.caseness, None);
    assert_eq!(s.missing.method, MissingMethod::TooManyMissing);
    // Unscored difficulty item missing never matters.
    let s = run("phq9", "0,0,0,0,0,0,0,0,0,-");
    assert_eq!(s.total, Some(0));
    assert_eq!(s.missing.method, MissingMethod::Complete);
    // The rule is recorded in the result.
    assert!(matches!(s.convention.missing_rule, MissingRule::Prorate { max_missing: 2, .. }));
    assert_eq!(s.convention.caseness.as_ref().unwrap().value, 10);
    assert_eq!(s.convention.reliable_change.as_ref().unwrap().threshold, 6);
}

#[test]
fn gad7_phq2_sure() {
    let s = run("gad7", "1,1,1,1,1,1,2");
    assert_eq!(s.total, Some(8));
    assert_eq!(s.band.unwrap().id, "mild");
    assert_eq!(s.caseness, Some(true));
    let s = run("gad7", "1,1,1,1,1,1,-,0");
    assert_eq!(s.total, Some(7)); // 6 * 7 / 6
    assert_eq!(run("gad7", "1,1,1,1,1,-,-").total, None);

    let s = run("phq2", "1,2");
    assert_eq!(s.caseness, Some(true));
    assert_eq!(s.band.unwrap().id, "positive_screen");
    assert_eq!(run("phq2", "1,-").total, None);

    let s = run("sure", "1,1,1,1");
    assert_eq!(s.total, Some(4));
    assert_eq!(s.caseness, Some(false));
    let s = run("sure", "1,0,1,1");
    assert_eq!(s.caseness, Some(true));
    assert_eq!(s.band.unwrap().id, "decisional_conflict");
}

#[test]
fn wsas_not_applicable_work_item() {
    // Work not applicable: mean of 3,4,5,6 = 4.5 substituted: 18 + 4.5 = 22.5 -> 23.
    let s = run("wsas", "na,3,4,5,6");
    assert_eq!(s.total, Some(23));
    assert_eq!(s.missing.method, MissingMethod::SubstitutedMean);
    assert_eq!(s.missing.not_applicable_items, ["work"]);
    assert_eq!(s.missing.exact_total, Some(22.5));
    assert_eq!(s.band.unwrap().id, "moderately_severe_or_worse");
    let work = &s.items[0];
    assert_eq!(work.answer, Answer::NotApplicable);
    assert!(work.label.as_deref().unwrap().starts_with("Not applicable"));
    // Bands: < 10, 10-20, > 20.
    assert_eq!(run("wsas", "2,2,2,2,1").band.unwrap().id, "subclinical");
    assert_eq!(run("wsas", "2,2,2,2,2").band.unwrap().id, "significant");
    assert_eq!(run("wsas", "4,4,4,4,4").band.unwrap().id, "significant");
    assert_eq!(run("wsas", "5,4,4,4,4").band.unwrap().id, "moderately_severe_or_worse");
    // Other items must be answered; "na" only on the work item.
    assert_eq!(run("wsas", "1,2,-,3,4").total, None);
    let r = reg();
    assert_eq!(score_command(&r, "wsas", "1,na,3,4,5").unwrap_err().to_string(), "answer 2 (item home) cannot be \"not applicable\"");
}

#[test]
fn per_item_instruments() {
    let s = run("fibser", "3,4,5");
    assert_eq!(s.total, None);
    assert_eq!(s.band, None);
    assert_eq!(s.missing.method, MissingMethod::NoTotal);
    let burden = s.items.iter().find(|i| i.id == "burden").unwrap();
    assert_eq!(burden.band.as_ref().unwrap().id, "discuss_with_prescriber");
    assert_eq!(burden.label.as_deref(), Some("Severe impairment"));
    for (b, band) in
        [(0, "no_action"), (2, "no_action"), (3, "address_side_effects"), (4, "address_side_effects"), (6, "discuss_with_prescriber")]
    {
        let s = run("fibser", &format!("1,1,{b}"));
        assert_eq!(s.items[2].band.as_ref().unwrap().id, band);
    }

    let s = run("readiness", "8,4,-");
    assert_eq!(s.total, None);
    assert_eq!(s.items[0].answer, Answer::Value(8));
    assert_eq!(s.items[2].answer, Answer::Missing);

    // Check-in: 6 numeric answers (the note is text and takes no slot).
    let s = run("checkin", "5,6,4,7,8,0");
    assert!(s.flags.is_empty());
    let s = run("checkin", "2,3,2,1,4,1");
    assert!(s.has_flag("safety"));
    let s = run("checkin", "2,3,2,1,4,-");
    assert_eq!(s.risk_items_unanswered, ["harm_thoughts"]);

    let s = run("session_feedback", "9,8,9,10");
    assert_eq!(s.total, Some(36));
    assert_eq!(s.band, None);
    assert_eq!(s.caseness, None);
}

#[test]
fn bad_answers_are_typed_errors_with_clear_messages() {
    let r = reg();
    let err = |i: &str, a: &str| score_command(&r, i, a).unwrap_err().to_string();
    assert_eq!(err("phq9", "1,2,3"), "phq9 expects 10 answers (or 9 for the scored items only), got 3");
    assert_eq!(err("phq2", "1,2,3"), "phq2 expects 2 answers, got 3");
    assert_eq!(err("phq9", "1,2,4,0,0,0,0,0,0"), "answer 3 (item q3) is 4, but the allowed values are 0, 1, 2, 3");
    assert_eq!(err("readiness", "11,0,0"), "answer 1 (item importance) is 11, but the allowed values are 0 to 10");
    assert_eq!(err("phq9", "1,2,x"), "answer 3 is \"x\": expected a whole number, - for missing, or na for not applicable");
    assert_eq!(
        err("phq10", "1"),
        "unknown instrument \"phq10\"; known instruments: checkin, fibser, gad7, phq2, phq9, readiness, session_feedback, sure, wsas"
    );
    assert!(matches!(score_command(&r, "phq9", "1").unwrap_err(), CliError::Score(_)));
}

#[test]
fn cli_json_contract() {
    let s = run("phq9", "3,3,3,3,2,2,1,1,1");
    let j = serde_json::to_value(ScoreJson::from(&s)).unwrap();
    assert_eq!(j["total"], json!(19));
    assert_eq!(j["band"], json!("moderately_severe"));
    assert_eq!(j["caseness"], json!(true));
    assert_eq!(j["flags"], json!(["safety"]));
    assert_eq!(j["instrument"], json!("phq9"));
    assert_eq!(j["convention"]["missing_rule"]["rule"], json!("prorate"));
    assert_eq!(j["convention"]["rounding"], json!("half_up"));
    // Round trip.
    let back: ScoreJson = serde_json::from_value(j).unwrap();
    assert_eq!(back, ScoreJson::from(&s));

    let r = reg();
    let text = render_score_text(r.get("phq9").unwrap(), &s);
    assert_eq!(
        text,
        "Patient Health Questionnaire-9 (phq9 v1)\nTotal: 19 (range 0 to 27)\nBand: moderately_severe (Moderately severe)\nClinical case (>= 10): yes\nFlags: safety\n"
    );
    let s = run("phq9", "2,2,2,2,2,1,1,0,-");
    let text = render_score_text(r.get("phq9").unwrap(), &s);
    assert!(text.contains("Prorated from 8 of 9 items (missing or not applicable: q9); unrounded 13.50"), "{text}");
    assert!(text.contains("Unanswered risk item(s): q9"), "{text}");
    let s = run("fibser", "1,2,5");
    let text = render_score_text(r.get("fibser").unwrap(), &s);
    assert!(
        text.contains("  burden: 5 (Severe impairment); discuss_with_prescriber: Raise dose reduction or a switch with the prescriber\n"),
        "{text}"
    );
}

// ---------------------------------------------------------------------------------------
// Properties
// ---------------------------------------------------------------------------------------

/// Random answers for an instrument: each numeric item valid, missing, or (where allowed)
/// not applicable. Built from a seed vector so proptest can shrink it.
fn answers_for(inst: &Instrument, picks: &[(u8, u16)]) -> Answers {
    let answers = inst
        .answer_items()
        .zip(picks.iter().cycle())
        .map(|(item, (kind, pick))| {
            let (lo, hi) = item.value_range().unwrap();
            let valid: Vec<i32> = (lo..=hi).filter(|v| item.accepts(*v)).collect();
            match kind % 6 {
                0 => Answer::Missing,
                1 if item.not_applicable.is_some() => Answer::NotApplicable,
                _ => Answer::Value(valid[usize::from(*pick) % valid.len()]),
            }
        })
        .collect();
    Answers::new(answers)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn totals_stay_in_range_and_bands_match(
        which in 0usize..9,
        picks in proptest::collection::vec((any::<u8>(), any::<u16>()), 1..12),
    ) {
        let r = reg();
        let inst = r.iter().nth(which).unwrap();
        let answers = answers_for(inst, &picks);
        let s = score(inst, &answers).unwrap();
        match inst.scoring().method {
            ScoringMethod::PerItem => prop_assert_eq!(s.total, None),
            ScoringMethod::Sum => {
                if let Some(t) = s.total {
                    let range = inst.scoring().range.unwrap();
                    prop_assert!(t >= range.min && t <= range.max, "{} total {} outside {:?}", inst.id(), t, range);
                    if let Some(bands) = &inst.scoring().bands {
                        let containing: Vec<_> = bands.bands.iter().filter(|b| b.min <= t && t <= b.max).collect();
                        prop_assert_eq!(containing.len(), 1);
                        prop_assert_eq!(&s.band.as_ref().unwrap().id, &containing[0].id);
                    }
                    if let Some(c) = &inst.scoring().caseness {
                        prop_assert_eq!(s.caseness, Some(c.is_met(t)));
                    }
                    if let Some(exact) = s.missing.exact_total {
                        prop_assert!((f64::from(t) - exact).abs() <= 0.5);
                        prop_assert!(exact >= f64::from(range.min) && exact <= f64::from(range.max));
                    }
                } else {
                    prop_assert_eq!(s.missing.method, MissingMethod::TooManyMissing);
                    prop_assert!(s.band.is_none() && s.caseness.is_none());
                }
            }
        }
        // Flags are sorted and unique, and only come from answered risk items.
        let mut sorted = s.flags.clone();
        sorted.sort();
        sorted.dedup();
        prop_assert_eq!(&sorted, &s.flags);
        for rule in inst.risk_rules() {
            let item = s.items.iter().find(|i| i.id == rule.item).unwrap();
            let fired = matches!(item.answer, Answer::Value(v) if v >= rule.at_least);
            if fired {
                prop_assert!(s.has_flag(&rule.flag));
            }
        }
    }

    #[test]
    fn every_total_in_range_has_exactly_one_band(which in 0usize..9) {
        let r = reg();
        let inst = r.iter().nth(which).unwrap();
        if let (Some(range), Some(bands)) = (inst.scoring().range, &inst.scoring().bands) {
            for t in range.min..=range.max {
                let n = bands.bands.iter().filter(|b| b.min <= t && t <= b.max).count();
                prop_assert_eq!(n, 1, "{} total {}", inst.id(), t);
                prop_assert!(inst.band_for(t).is_some());
            }
        }
        for item in inst.items() {
            if let Some((lo, hi)) = item.value_range().filter(|_| !item.bands.is_empty()) {
                for v in lo..=hi {
                    prop_assert_eq!(item.bands.iter().filter(|b| b.min <= v && v <= b.max).count(), 1);
                }
            }
        }
    }

    #[test]
    fn prorating_never_exceeds_the_range(
        values in proptest::collection::vec(proptest::option::of(0i32..=3), 9),
    ) {
        let r = reg();
        let inst = r.get("phq9").unwrap();
        let s = score(inst, &Answers::from(values.clone())).unwrap();
        let missing = values.iter().filter(|v| v.is_none()).count();
        let sum: i32 = values.iter().flatten().sum();
        if missing == 0 {
            prop_assert_eq!(s.total, Some(sum));
        } else if missing <= 2 {
            let t = s.total.unwrap();
            prop_assert!((0..=27).contains(&t));
            // Prorating never lowers the answered sum, and adds at most 3 per missing item.
            prop_assert!(t >= sum && t <= sum + 3 * i32::try_from(missing).unwrap());
        } else {
            prop_assert_eq!(s.total, None);
        }
    }

    #[test]
    fn answers_text_round_trips(values in proptest::collection::vec(prop_oneof![
        (-50i32..50).prop_map(Answer::Value),
        Just(Answer::Missing),
        Just(Answer::NotApplicable),
    ], 1..15)) {
        let text: Vec<String> = values.iter().map(ToString::to_string).collect();
        let parsed = parse_answers(&text.join(",")).unwrap();
        prop_assert_eq!(parsed.as_slice(), values.as_slice());
        let json = serde_json::to_string(&parsed).unwrap();
        let back: Answers = serde_json::from_str(&json).unwrap();
        prop_assert_eq!(back, parsed);
    }

    #[test]
    fn parsers_never_panic(s in "\\PC{0,60}") {
        let _ = parse_answers(&s);
        let _ = concord_domain::measures::cli_support::parse_measure_arg(&s);
        let _ = Instrument::from_json(&s);
        let _ = Instrument::from_fhir_questionnaire(&s);
    }
}
