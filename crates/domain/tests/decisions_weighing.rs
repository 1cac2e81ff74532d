//! Values clarification: weighted fit, sensitivity, mirror sentences. A worked example by
//! hand and properties.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use concord_domain::decisions::text::CriterionName;
use concord_domain::decisions::weighing::{
    Criterion, Direction, Fit, Importance, MIRROR_NOTE, OptionFit, RatingError, Ratings, Sensitivity, mirror_sentence, sensitivities,
    sensitivity, sensitivity_sentence, weighted_fit,
};
use concord_domain::decisions::{CriterionId, OptionId, directive_phrase};
use proptest::prelude::*;
use std::collections::BTreeMap;

fn oid(n: u8) -> OptionId {
    OptionId::new_at(1_700_000_000_000, [n; 10])
}
fn cid(n: u8) -> CriterionId {
    CriterionId::new_at(1_700_000_000_000, [n; 10])
}
fn criterion(n: u8, name: &str, importance: i64) -> Criterion {
    Criterion { id: cid(n), name: CriterionName::parse(name).unwrap(), importance: Importance::new(importance).unwrap() }
}

/// Three criteria, two options (A = referral for a medication evaluation, B = therapy with
/// lifestyle strategies).
///
/// | criterion         | importance | fit A | fit B |
/// |-------------------|-----------:|------:|------:|
/// | feel like myself  |          8 |     6 |     7 |
/// | sleep             |          5 |     8 |     5 |
/// | no weight gain    |          2 |     3 |     9 |
///
/// Σ importance = 15, max points = 150.
/// A: 8·6 + 5·8 + 2·3 = 48 + 40 + 6  = 94 → 94/150 = 62.67
/// B: 8·7 + 5·5 + 2·9 = 56 + 25 + 18 = 99 → 99/150 = 66.00
/// B fits more closely, by 5 points.
///
/// Sensitivity: moving weight w of a criterion by δ moves (B − A) by δ·(fit B − fit A):
/// - feel like myself (B − A = +1): only a decrease helps A; 5 − δ = 0 at δ = 5 (8 → 3): a tie
///   (A = 3·6 + 40 + 6 = 64, B = 3·7 + 25 + 18 = 64);
/// - sleep (B − A = −3): an increase; 5 − 3δ < 0 first at δ = 2 (5 → 7):
///   A = 48 + 7·8 + 6 = 110, B = 56 + 7·5 + 18 = 109: A ahead (δ = 1: A 102, B 104);
/// - no weight gain (B − A = +6): a decrease; 5 − 6δ < 0 at δ = 1 (2 → 1):
///   A = 48 + 40 + 3 = 91, B = 56 + 25 + 9 = 90: A ahead.
///
/// The smallest: "no weight gain" one point less.
fn worked() -> (Vec<Criterion>, Ratings) {
    let criteria = vec![criterion(1, "feel like myself", 8), criterion(2, "sleep", 5), criterion(3, "no weight gain", 2)];
    let mut r = Ratings::new([oid(1), oid(2)], criteria.iter().map(|c| c.id));
    for (o, fits) in [(oid(1), [6, 8, 3]), (oid(2), [7, 5, 9])] {
        for (c, f) in criteria.iter().zip(fits) {
            r.set(o, c.id, Fit::new(f).unwrap()).unwrap();
        }
    }
    (criteria, r)
}

fn option_name(o: &OptionId) -> String {
    if *o == oid(1) { "Referral for a medication evaluation".into() } else { "Continue therapy with lifestyle strategies".into() }
}

fn criterion_name(c: &CriterionId) -> String {
    worked().0.into_iter().find(|x| x.id == *c).map(|x| x.name.as_str().to_owned()).unwrap_or_default()
}

#[test]
fn worked_example_weighted_fit() {
    let (criteria, r) = worked();
    let fits = weighted_fit(&criteria, &r);
    assert_eq!(fits.len(), 2);
    assert_eq!((fits[0].option, fits[0].points, fits[0].max_points, fits[0].rank, fits[0].tied), (oid(2), 99, 150, 1, false));
    assert_eq!((fits[1].option, fits[1].points, fits[1].rank), (oid(1), 94, 2));
    assert!((fits[0].score - 66.0).abs() < 1e-9);
    assert!((fits[1].score - 62.666_666_666).abs() < 1e-6);
    assert!(fits.iter().all(|f| f.unrated.is_empty()));

    let text = mirror_sentence(&fits, option_name);
    assert_eq!(
        text,
        "Given the weights you chose, \u{201c}Continue therapy with lifestyle strategies\u{201d} fits what matters to you most closely \
         (66 out of 100), then \u{201c}Referral for a medication evaluation\u{201d} (62.7 out of 100)."
    );
}

#[test]
fn worked_example_sensitivity() {
    let (criteria, r) = worked();
    let all = sensitivities(&criteria, &r);
    assert_eq!(
        all,
        vec![
            Sensitivity {
                criterion: cid(1),
                direction: Direction::Decrease,
                from: Importance::new(8).unwrap(),
                to: Importance::new(3).unwrap(),
                change: 5,
                best_before: vec![oid(2)],
                best_after: vec![oid(1), oid(2)],
            },
            Sensitivity {
                criterion: cid(2),
                direction: Direction::Increase,
                from: Importance::new(5).unwrap(),
                to: Importance::new(7).unwrap(),
                change: 2,
                best_before: vec![oid(2)],
                best_after: vec![oid(1)],
            },
            Sensitivity {
                criterion: cid(3),
                direction: Direction::Decrease,
                from: Importance::new(2).unwrap(),
                to: Importance::new(1).unwrap(),
                change: 1,
                best_before: vec![oid(2)],
                best_after: vec![oid(1)],
            },
        ]
    );
    let s = sensitivity(&criteria, &r).unwrap();
    assert_eq!(s, all[2]);
    assert_eq!(
        sensitivity_sentence(Some(&s), criterion_name, option_name),
        "If \u{201c}no weight gain\u{201d} mattered 1 point less to you (1 instead of 2), \
         \u{201c}Referral for a medication evaluation\u{201d} would fit most closely."
    );
    assert_eq!(
        sensitivity_sentence(Some(&all[0]), criterion_name, option_name),
        "If \u{201c}feel like myself\u{201d} mattered 5 points less to you (3 instead of 8), \
         \u{201c}Referral for a medication evaluation\u{201d} and \u{201c}Continue therapy with lifestyle strategies\u{201d} would fit equally well."
    );
}

#[test]
fn ties_are_reported_as_ties() {
    let criteria = vec![criterion(1, "sleep", 5)];
    let mut r = Ratings::new([oid(1), oid(2), oid(3)], [cid(1)]);
    r.set(oid(1), cid(1), Fit::new(4).unwrap()).unwrap();
    r.set(oid(2), cid(1), Fit::new(7).unwrap()).unwrap();
    r.set(oid(3), cid(1), Fit::new(7).unwrap()).unwrap();
    let fits = weighted_fit(&criteria, &r);
    let summary: Vec<(OptionId, usize, bool)> = fits.iter().map(|f| (f.option, f.rank, f.tied)).collect();
    assert_eq!(summary, vec![(oid(2), 1, true), (oid(3), 1, true), (oid(1), 3, false)]);
    let text = mirror_sentence(&fits, |o| {
        format!(
            "option {}",
            if *o == oid(1) {
                1
            } else if *o == oid(2) {
                2
            } else {
                3
            }
        )
    });
    assert_eq!(
        text,
        "Given the weights you chose, \u{201c}option 2\u{201d} and \u{201c}option 3\u{201d} fit what matters to you equally well \
         (70 out of 100 each), then \u{201c}option 1\u{201d} (40 out of 100)."
    );
    // With one criterion, no weight (other than 0, which levels everything) separates 2 and 3.
    let s = sensitivity(&criteria, &r).unwrap();
    assert_eq!((s.to.get(), s.best_after.len()), (0, 3));
}

#[test]
fn all_zero_weights() {
    let criteria = vec![criterion(1, "sleep", 0), criterion(2, "cost", 0)];
    let mut r = Ratings::new([oid(1), oid(2)], [cid(1), cid(2)]);
    r.set(oid(1), cid(1), Fit::new(9).unwrap()).unwrap();
    r.set(oid(2), cid(2), Fit::new(3).unwrap()).unwrap();
    let fits = weighted_fit(&criteria, &r);
    assert!(fits.iter().all(|f| f.score == 0.0 && f.max_points == 0 && f.rank == 1 && f.tied));
    assert_eq!(
        mirror_sentence(&fits, option_name),
        "You have not yet said that any of your criteria matters to you (every importance is 0), so there is nothing to weigh yet."
    );
    // Giving "sleep" one point would put option 1 ahead.
    let s = sensitivity(&criteria, &r).unwrap();
    assert_eq!((s.criterion, s.direction, s.change, s.best_after.clone()), (cid(1), Direction::Increase, 1, vec![oid(1)]));
    // No criteria at all, no options at all.
    assert!(weighted_fit(&[], &r).iter().all(|f| f.score == 0.0 && f.tied));
    assert_eq!(sensitivity(&[], &r), None);
    assert_eq!(mirror_sentence(&[], option_name), "There are no options to compare yet.");
}

#[test]
fn no_single_weight_can_change_it() {
    // Option 1 fits better on every criterion.
    let criteria = vec![criterion(1, "sleep", 5), criterion(2, "cost", 5)];
    let mut r = Ratings::new([oid(1), oid(2)], [cid(1), cid(2)]);
    for (c, a, b) in [(cid(1), 8, 2), (cid(2), 6, 5)] {
        r.set(oid(1), c, Fit::new(a).unwrap()).unwrap();
        r.set(oid(2), c, Fit::new(b).unwrap()).unwrap();
    }
    assert_eq!(sensitivity(&criteria, &r), None);
    assert_eq!(
        sensitivity_sentence(None, criterion_name, option_name),
        "No change to the importance of a single criterion would change which option fits what matters to you most closely."
    );
}

#[test]
fn unrated_pairs_count_as_no_fit_and_are_listed() {
    let (criteria, mut r) = worked();
    let mut fresh = Ratings::new([oid(1), oid(2)], criteria.iter().map(|c| c.id));
    for (o, c, f) in r.iter().filter(|(_, c, _)| *c != cid(3)) {
        fresh.set(o, c, f).unwrap();
    }
    let fits = weighted_fit(&criteria, &fresh);
    assert!(fits.iter().all(|f| f.unrated == vec![cid(3)]));
    assert!(mirror_sentence(&fits, option_name).ends_with("Some ratings are still missing and count as no fit for now."));
    // Ratings outside this decision are refused.
    assert_eq!(r.set(oid(9), cid(1), Fit::new(1).unwrap()), Err(RatingError::UnknownOption(oid(9))));
    assert_eq!(r.set(oid(1), cid(9), Fit::new(1).unwrap()), Err(RatingError::UnknownCriterion(cid(9))));
}

#[test]
fn values_out_of_range_are_refused() {
    for bad in [-1, 11, 255, i64::MAX, i64::MIN] {
        assert!(Importance::new(bad).is_err());
        assert!(Fit::new(bad).is_err());
    }
    assert_eq!(Importance::new(11).unwrap_err().to_string(), "importance must be a whole number from 0 to 10");
    assert!(serde_json::from_str::<Fit>("11").is_err());
    assert_eq!(serde_json::from_str::<Fit>("7").unwrap().get(), 7);
}

#[test]
fn nothing_here_reads_as_a_recommendation() {
    let (criteria, r) = worked();
    let fits = weighted_fit(&criteria, &r);
    for text in [
        mirror_sentence(&fits, option_name),
        sensitivity_sentence(sensitivity(&criteria, &r).as_ref(), criterion_name, option_name),
        sensitivity_sentence(None, criterion_name, option_name),
        MIRROR_NOTE.to_owned(),
    ] {
        assert_eq!(directive_phrase(&text), None, "{text}");
    }
}

// ---------------------------------------------------------------------------------------
// Properties
// ---------------------------------------------------------------------------------------

/// A decision: weights per criterion, and fits (some missing) per option × criterion.
#[derive(Debug, Clone)]
struct Sheet {
    weights: Vec<u8>,
    fits: Vec<Vec<Option<u8>>>,
}

fn arb_sheet(max_weight: u8) -> impl Strategy<Value = Sheet> {
    (1usize..5, 1usize..5).prop_flat_map(move |(nc, no)| {
        (
            prop::collection::vec(0..=max_weight, nc),
            prop::collection::vec(prop::collection::vec(prop::option::weighted(0.9, 0u8..=10), nc), no),
        )
            .prop_map(|(weights, fits)| Sheet { weights, fits })
    })
}

fn build(sheet: &Sheet) -> (Vec<Criterion>, Ratings) {
    let criteria: Vec<Criterion> =
        sheet.weights.iter().enumerate().map(|(i, w)| criterion(i as u8, &format!("c{i}"), i64::from(*w))).collect();
    let mut r = Ratings::new((0..sheet.fits.len()).map(|i| oid(i as u8)), criteria.iter().map(|c| c.id));
    for (o, row) in sheet.fits.iter().enumerate() {
        for (c, f) in row.iter().enumerate() {
            if let Some(f) = f {
                r.set(oid(o as u8), cid(c as u8), Fit::new(i64::from(*f)).unwrap()).unwrap();
            }
        }
    }
    (criteria, r)
}

/// The closest-fitting options, by brute force from the sheet, in option order.
fn best(sheet: &Sheet, weights: &[u8]) -> Vec<OptionId> {
    let points: Vec<u64> =
        sheet.fits.iter().map(|row| row.iter().zip(weights).map(|(f, w)| u64::from(f.unwrap_or(0)) * u64::from(*w)).sum()).collect();
    let top = *points.iter().max().unwrap();
    points.iter().enumerate().filter(|(_, p)| **p == top).map(|(i, _)| oid(i as u8)).collect()
}

fn by_option(fits: &[OptionFit]) -> BTreeMap<OptionId, (f64, usize, bool)> {
    fits.iter().map(|f| (f.option, (f.score, f.rank, f.tied))).collect()
}

proptest! {
    #[test]
    fn scaling_every_weight_changes_no_score(sheet in arb_sheet(3), k in 1u8..=3) {
        let (criteria, r) = build(&sheet);
        let scaled: Vec<Criterion> = criteria
            .iter()
            .map(|c| Criterion { importance: Importance::new(i64::from(c.importance.get() * k)).unwrap(), ..c.clone() })
            .collect();
        prop_assert_eq!(by_option(&weighted_fit(&criteria, &r)), by_option(&weighted_fit(&scaled, &r)));
    }

    #[test]
    fn scores_are_in_range_and_ranked(sheet in arb_sheet(10)) {
        let (criteria, r) = build(&sheet);
        let fits = weighted_fit(&criteria, &r);
        prop_assert_eq!(fits.len(), sheet.fits.len());
        for w in fits.windows(2) {
            prop_assert!(w[0].points >= w[1].points);
            prop_assert!(w[0].rank <= w[1].rank);
        }
        for f in &fits {
            prop_assert!((0.0..=100.0).contains(&f.score));
            let same = fits.iter().filter(|g| g.points == f.points).count();
            prop_assert_eq!(f.tied, same > 1);
        }
        let leaders: Vec<OptionId> = {
            let mut l: Vec<OptionId> = fits.iter().filter(|f| f.rank == 1).map(|f| f.option).collect();
            l.sort_by_key(|o| (0..sheet.fits.len()).position(|i| oid(i as u8) == *o));
            l
        };
        prop_assert_eq!(leaders, best(&sheet, &sheet.weights));
    }

    #[test]
    fn sensitivity_flips_and_nothing_smaller_does(sheet in arb_sheet(10)) {
        let (criteria, r) = build(&sheet);
        let before = best(&sheet, &sheet.weights);
        let found = sensitivity(&criteria, &r);
        let limit = match &found {
            Some(s) => {
                let i = criteria.iter().position(|c| c.id == s.criterion).unwrap();
                prop_assert_eq!(s.from.get(), sheet.weights[i]);
                prop_assert_eq!(s.change, s.from.get().abs_diff(s.to.get()));
                prop_assert_eq!(s.direction == Direction::Increase, s.to > s.from);
                prop_assert_eq!(&s.best_before, &before);
                let mut w = sheet.weights.clone();
                w[i] = s.to.get();
                let after = best(&sheet, &w);
                prop_assert_ne!(&after, &before);
                prop_assert_eq!(&after, &s.best_after);
                s.change
            }
            None => 11,
        };
        // No change of one weight smaller than the reported one (or none at all, when
        // nothing was reported) changes the closest fit.
        for i in 0..sheet.weights.len() {
            for v in 0u8..=10 {
                let d = v.abs_diff(sheet.weights[i]);
                if d == 0 || d >= limit {
                    continue;
                }
                let mut w = sheet.weights.clone();
                w[i] = v;
                prop_assert_eq!(best(&sheet, &w), before.clone(), "criterion {} to {}", i, v);
            }
        }
    }

    #[test]
    fn raising_a_weight_where_a_beats_b_never_lets_b_overtake(sheet in arb_sheet(9), c in 0usize..5, a in 0usize..5, b in 0usize..5, up in 1u8..=10) {
        let c = c % sheet.weights.len();
        let (a, b) = (a % sheet.fits.len(), b % sheet.fits.len());
        let fit = |o: usize| sheet.fits[o][c].unwrap_or(0);
        prop_assume!(fit(a) >= fit(b));
        let (criteria, r) = build(&sheet);
        let points = |fits: &[OptionFit], o: usize| fits.iter().find(|f| f.option == oid(o as u8)).unwrap().points;
        let before = weighted_fit(&criteria, &r);
        prop_assume!(points(&before, a) >= points(&before, b));
        let mut raised = criteria.clone();
        let new = (raised[c].importance.get() + up).min(10);
        raised[c].importance = Importance::new(i64::from(new)).unwrap();
        let after = weighted_fit(&raised, &r);
        prop_assert!(points(&after, a) >= points(&after, b));
    }

    #[test]
    fn never_panics_on_arbitrary_input(
        weights in prop::collection::vec(0u8..=10, 0..8),
        ids in prop::collection::vec(0u8..4, 0..8),
        options in prop::collection::vec(0u8..6, 0..6),
        ratings in prop::collection::vec((0u8..8, 0u8..6, 0u8..=10), 0..40),
    ) {
        // Repeated criterion ids, unknown ids, options without ratings: all allowed.
        let criteria: Vec<Criterion> =
            weights.iter().zip(ids.iter().chain(std::iter::repeat(&0))).map(|(w, id)| criterion(*id, "c", i64::from(*w))).collect();
        let mut r = Ratings::new(options.iter().map(|o| oid(*o)), criteria.iter().map(|c| c.id));
        for (o, c, f) in ratings {
            let _ = r.set(oid(o), cid(c), Fit::new(i64::from(f)).unwrap());
        }
        let fits = weighted_fit(&criteria, &r);
        let _ = mirror_sentence(&fits, |o| o.to_string());
        let s = sensitivity(&criteria, &r);
        let _ = sensitivity_sentence(s.as_ref(), |c| c.to_string(), |o| o.to_string());
        let _ = sensitivities(&criteria, &r);
    }
}
