//! The SURE test read for the worksheet, the readiness-ruler reflections and the
//! decisional balance grid.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use concord_domain::decisions::balance::{DecisionalBalance, Quadrant};
use concord_domain::decisions::directive_phrase;
use concord_domain::decisions::readiness::{ReadinessError, Ruler, readiness_reflections, ruler_reflection};
use concord_domain::decisions::sure::{OTTAWA_GUIDE, SureArea, SureError, SureResult, score_sure, sure_from_score};
use concord_domain::decisions::text::ClientWords;
use concord_domain::measures::Registry;
use concord_domain::measures::score::{Answers, ScoreError, score};
use proptest::prelude::*;

fn reg() -> Registry {
    Registry::shipped().unwrap()
}

#[test]
fn sure_four_of_four_is_no_conflict() {
    let r = reg();
    let res = score_sure(r.get("sure").unwrap(), &[true, true, true, true]).unwrap();
    assert_eq!(res, SureResult { score: 4, conflict: false, missing: vec![] });
    assert!(res.next_steps().is_empty());
    assert_eq!(res.summary(), "SURE 4/4: no sign of decisional conflict.");
}

#[test]
fn sure_three_of_four_names_what_is_missing() {
    let r = reg();
    // "No" to "Do you know the benefits and risks of each option?" (Understand information).
    let res = score_sure(r.get("sure").unwrap(), &[true, false, true, true]).unwrap();
    assert_eq!(res.score, 3);
    assert!(res.conflict);
    assert_eq!(res.missing, vec![SureArea::Knowledge]);
    let steps = res.next_steps();
    assert_eq!(steps.len(), 1);
    assert_eq!(steps[0].0, SureArea::Knowledge);
    assert!(steps[0].1.contains("benefits and harms"));
    assert_eq!(res.summary(), "SURE 3/4: some decisional conflict. Still open: knowing enough about the options.");
    assert_eq!(serde_json::to_value(&res).unwrap(), serde_json::json!({"score": 3, "conflict": true, "missing": ["knowledge"]}));
}

#[test]
fn sure_maps_every_item() {
    let r = reg();
    let res = score_sure(r.get("sure").unwrap(), &[false, false, false, false]).unwrap();
    assert_eq!(res.score, 0);
    assert_eq!(res.missing, vec![SureArea::Certainty, SureArea::Knowledge, SureArea::ValuesClarity, SureArea::Support]);
    let def = r.get("sure").unwrap();
    for area in SureArea::ALL {
        assert!(def.item(area.item_id()).is_some(), "{area:?}");
        assert_eq!(directive_phrase(area.next_step()), None, "{area:?}");
    }
    assert_eq!(SureArea::ValuesClarity.item_name(), "Risk-benefit ratio");
    assert_eq!(OTTAWA_GUIDE, "Ottawa Personal Decision Guide");
}

#[test]
fn sure_bad_input() {
    let r = reg();
    let sure = r.get("sure").unwrap();
    let err = score_sure(sure, &[true, false, true]).unwrap_err();
    assert!(matches!(err, SureError::Score(ScoreError::WrongLength { expected: 4, got: 3, .. })), "{err:?}");
    assert_eq!(err.to_string(), "sure expects 4 answers, got 3");
    assert!(matches!(score_sure(sure, &[true; 5]), Err(SureError::Score(_))));
    assert!(matches!(score_sure(r.get("phq2").unwrap(), &[true, true]), Err(SureError::NotSure(_))));
    // An incomplete response has no total.
    let s = score(sure, &Answers::from(vec![Some(1), None, Some(1), Some(1)])).unwrap();
    assert_eq!(sure_from_score(&s), Err(SureError::Incomplete));
    let phq2 = score(r.get("phq2").unwrap(), &Answers::from(vec![Some(1), Some(1)])).unwrap();
    assert_eq!(sure_from_score(&phq2), Err(SureError::NotSure("phq2".into())));
}

#[test]
fn readiness_reflections_from_the_rulers() {
    let r = reg();
    let s = score(r.get("readiness").unwrap(), &Answers::from(vec![Some(7), Some(0), Some(10)])).unwrap();
    let out = readiness_reflections(&s).unwrap();
    let texts: Vec<(Ruler, u8, &str)> = out.iter().map(|x| (x.ruler, x.value, x.text.as_str())).collect();
    assert_eq!(
        texts,
        vec![
            (
                Ruler::Importance,
                7,
                "You put importance at 7. What makes it a 7 rather than a 4? What might make it matter a little more to you?"
            ),
            (Ruler::Confidence, 0, "You put confidence at 0. What would have to be different for it to reach a 1 or a 2?"),
            (Ruler::Readiness, 10, "You put readiness at 10. What makes it a 10 for you?"),
        ]
    );
    // An unanswered ruler is skipped.
    let s = score(r.get("readiness").unwrap(), &Answers::from(vec![Some(2), None, None])).unwrap();
    let out = readiness_reflections(&s).unwrap();
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].text, "You put importance at 2. What makes it a 2 rather than a 0? What might make it matter a little more to you?");
    // Not the readiness rulers; out of range.
    let sure = score(r.get("sure").unwrap(), &Answers::from(vec![Some(1), Some(1), Some(1), Some(1)])).unwrap();
    assert!(matches!(readiness_reflections(&sure), Err(ReadinessError::NotReadiness(_))));
    assert!(ruler_reflection(Ruler::Confidence, 11).is_err());
    assert!(ruler_reflection(Ruler::Confidence, -1).is_err());
}

#[test]
fn balance_grid_reports_empty_quadrants_without_scoring() {
    let mut g = DecisionalBalance::new();
    assert!(g.is_empty());
    assert_eq!(g.empty_quadrants(), Quadrant::ALL.to_vec());
    g.add(Quadrant::GoodAboutChanging, ClientWords::parse("I might sleep again").unwrap()).unwrap();
    g.add(Quadrant::NotSoGoodAboutStayingTheSame, ClientWords::parse("Another winter like the last one").unwrap()).unwrap();
    assert_eq!(g.empty_quadrants(), vec![Quadrant::NotSoGoodAboutChanging, Quadrant::GoodAboutStayingTheSame]);
    assert_eq!(g.entries(Quadrant::GoodAboutChanging)[0].as_str(), "I might sleep again");
    assert!(g.remove(Quadrant::GoodAboutChanging, 1).is_none());
    assert!(g.remove(Quadrant::GoodAboutChanging, 0).is_some());
    assert_eq!(g.empty_quadrants().len(), 3);
    for q in Quadrant::ALL {
        assert_eq!(q.as_str().parse::<Quadrant>().unwrap(), q);
        assert!(q.prompt().ends_with('?'));
        assert_eq!(directive_phrase(q.prompt()), None);
    }
    for _ in 0..DecisionalBalance::MAX_ENTRIES {
        g.add(Quadrant::GoodAboutStayingTheSame, ClientWords::parse("x").unwrap()).unwrap();
    }
    assert!(g.add(Quadrant::GoodAboutStayingTheSame, ClientWords::parse("x").unwrap()).is_err());
    let json = serde_json::to_value(&g).unwrap();
    assert_eq!(json["not_so_good_about_staying_the_same"][0], "Another winter like the last one");
    assert_eq!(serde_json::from_value::<DecisionalBalance>(json).unwrap(), g);
}

proptest! {
    #[test]
    fn sure_counts_yes_and_names_each_no(answers in prop::array::uniform4(any::<bool>())) {
        let r = reg();
        let res = score_sure(r.get("sure").unwrap(), &answers).unwrap();
        let yes = answers.iter().filter(|a| **a).count();
        prop_assert_eq!(res.score as usize, yes);
        prop_assert_eq!(res.conflict, yes <= 3);
        let expected: Vec<SureArea> = SureArea::ALL.iter().zip(answers).filter(|(_, a)| !a).map(|(s, _)| *s).collect();
        prop_assert_eq!(res.missing, expected);
    }

    #[test]
    fn ruler_reflections_never_panic(v in any::<i64>()) {
        for ruler in Ruler::ALL {
            let r = ruler_reflection(ruler, v);
            prop_assert_eq!(r.is_ok(), (0..=10).contains(&v));
        }
    }
}
