//! Values clarification: the client names criteria and says how much each matters
//! ([`Importance`], 0–10), then rates how well each option fits each criterion ([`Fit`],
//! 0–10). Concord shows the weighted fit and how sensitive it is to one weight, as a mirror
//! of what the client said, never as a recommendation.
//!
//! Arithmetic (exact, in integers):
//! - points(option) = Σ over criteria of importance × fit (an unrated pair counts as fit 0
//!   and is listed in [`OptionFit::unrated`]);
//! - max points = 10 × Σ importance (the same for every option);
//! - score = 100 × points / max points, in 0–100; 0 for every option when all weights are 0.
//!
//! Options are compared on their points, so ties are exact and reported as ties, and
//! multiplying every weight by the same factor changes no score.

use super::ids::{CriterionId, OptionId};
use super::text::CriterionName;
use crate::values::ValueError;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

/// The highest importance and the highest fit.
pub const SCALE_MAX: u8 = 10;

macro_rules! zero_to_ten {
    ($(#[$doc:meta])* $name:ident, $what:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "i64", into = "u8")]
        pub struct $name(u8);

        impl $name {
            pub fn new(value: i64) -> Result<Self, ValueError> {
                u8::try_from(value)
                    .ok()
                    .filter(|v| *v <= SCALE_MAX)
                    .map(Self)
                    .ok_or_else(|| ValueError::Invalid(format!("{} must be a whole number from 0 to {}", $what, SCALE_MAX)))
            }
            pub fn get(self) -> u8 {
                self.0
            }
        }
        impl TryFrom<i64> for $name {
            type Error = ValueError;
            fn try_from(v: i64) -> Result<Self, Self::Error> {
                Self::new(v)
            }
        }
        impl From<$name> for u8 {
            fn from(v: $name) -> u8 {
                v.0
            }
        }
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

zero_to_ten!(
    /// How much a criterion matters to the client, 0 (not at all) to 10 (very much).
    Importance,
    "importance"
);
zero_to_ten!(
    /// How well an option fits a criterion, in the client's judgement, 0 (not at all) to 10.
    Fit,
    "fit"
);

/// A criterion the client named, with how much it matters to them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Criterion {
    pub id: CriterionId,
    pub name: CriterionName,
    pub importance: Importance,
}

/// A rating that does not belong to this decision.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RatingError {
    #[error("option {0} is not one of this decision's options")]
    UnknownOption(OptionId),
    #[error("criterion {0} is not one of this decision's criteria")]
    UnknownCriterion(CriterionId),
}

/// The client's fit ratings for one decision: which options and criteria it has, and the
/// ratings given so far. A rating for another decision's option or criterion is refused.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Ratings {
    options: Vec<OptionId>,
    criteria: BTreeSet<CriterionId>,
    fits: BTreeMap<(OptionId, CriterionId), Fit>,
}

impl Ratings {
    /// No ratings yet, for these options (in display order; repeats ignored) and criteria.
    pub fn new(options: impl IntoIterator<Item = OptionId>, criteria: impl IntoIterator<Item = CriterionId>) -> Self {
        let mut opts: Vec<OptionId> = Vec::new();
        for o in options {
            if !opts.contains(&o) {
                opts.push(o);
            }
        }
        Self { options: opts, criteria: criteria.into_iter().collect(), fits: BTreeMap::new() }
    }

    /// Records (or replaces) a rating.
    pub fn set(&mut self, option: OptionId, criterion: CriterionId, fit: Fit) -> Result<(), RatingError> {
        if !self.options.contains(&option) {
            return Err(RatingError::UnknownOption(option));
        }
        if !self.criteria.contains(&criterion) {
            return Err(RatingError::UnknownCriterion(criterion));
        }
        self.fits.insert((option, criterion), fit);
        Ok(())
    }

    pub fn get(&self, option: OptionId, criterion: CriterionId) -> Option<Fit> {
        self.fits.get(&(option, criterion)).copied()
    }

    pub fn options(&self) -> &[OptionId] {
        &self.options
    }

    /// Every rating given, by (option, criterion).
    pub fn iter(&self) -> impl Iterator<Item = (OptionId, CriterionId, Fit)> + '_ {
        self.fits.iter().map(|((o, c), f)| (*o, *c, *f))
    }
}

/// How well one option fits what the client said matters, weighted by importance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OptionFit {
    pub option: OptionId,
    /// 0–100: `100 × points / max_points` (0 when `max_points` is 0).
    pub score: f64,
    /// Σ importance × fit.
    pub points: u64,
    /// 10 × Σ importance; the same for every option.
    pub max_points: u64,
    /// 1 for the closest fit; tied options share a rank (1, 1, 3).
    pub rank: usize,
    /// Another option has exactly the same points.
    pub tied: bool,
    /// Criteria this option has not been rated on yet (counted as fit 0).
    pub unrated: Vec<CriterionId>,
}

fn fit_of(ratings: &Ratings, option: OptionId, criterion: CriterionId) -> u64 {
    ratings.get(option, criterion).map_or(0, |f| u64::from(f.get()))
}

fn points_for(criteria: &[Criterion], weights: &[u8], ratings: &Ratings, option: OptionId) -> u64 {
    criteria.iter().zip(weights).map(|(c, w)| u64::from(*w).saturating_mul(fit_of(ratings, option, c.id))).fold(0u64, u64::saturating_add)
}

/// The weighted fit of every option of `ratings`, closest fit first (ties in the options'
/// order, each marked `tied`). Criteria not listed in `criteria` play no part.
pub fn weighted_fit(criteria: &[Criterion], ratings: &Ratings) -> Vec<OptionFit> {
    let weights: Vec<u8> = criteria.iter().map(|c| c.importance.get()).collect();
    let max_points = weights.iter().map(|w| u64::from(*w)).fold(0u64, u64::saturating_add).saturating_mul(u64::from(SCALE_MAX));
    let points: Vec<(OptionId, u64)> = ratings.options().iter().map(|o| (*o, points_for(criteria, &weights, ratings, *o))).collect();
    let mut out: Vec<OptionFit> = points
        .iter()
        .map(|(option, p)| {
            let better = points.iter().filter(|(_, q)| q > p).count();
            let same = points.iter().filter(|(_, q)| q == p).count();
            let mut unrated: Vec<CriterionId> = Vec::new();
            for c in criteria {
                if ratings.get(*option, c.id).is_none() && !unrated.contains(&c.id) {
                    unrated.push(c.id);
                }
            }
            OptionFit {
                option: *option,
                score: if max_points == 0 { 0.0 } else { (*p as f64) * 100.0 / (max_points as f64) },
                points: *p,
                max_points,
                rank: better.saturating_add(1),
                tied: same > 1,
                unrated,
            }
        })
        .collect();
    // Stable: equal points keep the options' order.
    out.sort_by_key(|f| std::cmp::Reverse(f.points));
    out
}

/// Which way a weight would move.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    Increase,
    Decrease,
}

/// The smallest change of one criterion's weight that would change which option fits most
/// closely.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sensitivity {
    pub criterion: CriterionId,
    pub direction: Direction,
    pub from: Importance,
    pub to: Importance,
    /// |to − from|, 1–10.
    pub change: u8,
    /// The option(s) that fit most closely now (more than one: a tie), in the options' order.
    pub best_before: Vec<OptionId>,
    /// The option(s) that would fit most closely after the change.
    pub best_after: Vec<OptionId>,
}

/// The options with the most points, in the options' order (all of them when every option
/// has the same points, e.g. when all weights are 0).
fn best_set(options: &[OptionId], points: &[u64]) -> Vec<OptionId> {
    let top = points.iter().copied().max().unwrap_or(0);
    options.iter().zip(points).filter(|(_, p)| **p == top).map(|(o, _)| *o).collect()
}

/// Per criterion (in the order given), the smallest change of its weight alone, within
/// 0–10, that changes the set of closest-fitting options; criteria whose weight cannot
/// change it are left out. At equal size, an increase is listed before a decrease.
pub fn sensitivities(criteria: &[Criterion], ratings: &Ratings) -> Vec<Sensitivity> {
    let options = ratings.options();
    let weights: Vec<u8> = criteria.iter().map(|c| c.importance.get()).collect();
    let base: Vec<u64> = options.iter().map(|o| points_for(criteria, &weights, ratings, *o)).collect();
    let best_before = best_set(options, &base);
    let mut out = Vec::new();
    for (i, c) in criteria.iter().enumerate() {
        let from = c.importance.get();
        'search: for change in 1..=SCALE_MAX {
            for direction in [Direction::Increase, Direction::Decrease] {
                let to = match direction {
                    Direction::Increase => from.checked_add(change).filter(|v| *v <= SCALE_MAX),
                    Direction::Decrease => from.checked_sub(change),
                };
                let Some(to) = to else { continue };
                let mut w = weights.clone();
                if let Some(slot) = w.get_mut(i) {
                    *slot = to;
                }
                let after: Vec<u64> = options.iter().map(|o| points_for(criteria, &w, ratings, *o)).collect();
                let best_after = best_set(options, &after);
                if best_after != best_before {
                    out.push(Sensitivity {
                        criterion: c.id,
                        direction,
                        from: c.importance,
                        to: Importance(to),
                        change,
                        best_before: best_before.clone(),
                        best_after,
                    });
                    break 'search;
                }
            }
        }
    }
    out
}

/// The smallest change of ONE criterion's weight (within 0–10) that would change which
/// option fits most closely; `None` when no single-weight change can. A tie counts as a
/// change (from A alone to A and B level, or from a tie to one option ahead). At equal size
/// the earlier criterion wins, and an increase before a decrease.
pub fn sensitivity(criteria: &[Criterion], ratings: &Ratings) -> Option<Sensitivity> {
    sensitivities(criteria, ratings).into_iter().min_by_key(|s| s.change)
}

/// A note shown with every comparison.
pub const MIRROR_NOTE: &str =
    "This reflects the importance and ratings you gave, nothing more. It is not a recommendation; you can change any of them at any time.";

fn quoted(s: &str) -> String {
    format!("\u{201c}{s}\u{201d}")
}

fn list(names: &[String]) -> String {
    match names {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

fn points_text(score: f64) -> String {
    let rounded = score.round();
    if (score - rounded).abs() < 1e-9 { format!("{rounded:.0} out of 100") } else { format!("{score:.1} out of 100") }
}

/// A sentence mirroring the weighted fit back to the client ("Given the weights you chose,
/// …"). `fits` as returned by [`weighted_fit`]; `name_of` gives an option's name.
pub fn mirror_sentence(fits: &[OptionFit], name_of: impl Fn(&OptionId) -> String) -> String {
    let Some(first) = fits.first() else {
        return "There are no options to compare yet.".to_owned();
    };
    if first.max_points == 0 {
        return "You have not yet said that any of your criteria matters to you (every importance is 0), so there is nothing to weigh yet."
            .to_owned();
    }
    let leaders: Vec<&OptionFit> = fits.iter().filter(|f| f.rank == 1).collect();
    let rest: Vec<&OptionFit> = fits.iter().filter(|f| f.rank != 1).collect();
    let leader_names: Vec<String> = leaders.iter().map(|f| quoted(&name_of(&f.option))).collect();
    let mut s = if leaders.len() > 1 {
        format!(
            "Given the weights you chose, {} fit what matters to you equally well ({} each)",
            list(&leader_names),
            points_text(first.score)
        )
    } else {
        format!("Given the weights you chose, {} fits what matters to you most closely ({})", list(&leader_names), points_text(first.score))
    };
    if !rest.is_empty() {
        let others: Vec<String> = rest.iter().map(|f| format!("{} ({})", quoted(&name_of(&f.option)), points_text(f.score))).collect();
        s.push_str(", then ");
        s.push_str(&list(&others));
    }
    s.push('.');
    let unrated = fits.iter().filter(|f| !f.unrated.is_empty()).count();
    if unrated > 0 {
        s.push_str(" Some ratings are still missing and count as no fit for now.");
    }
    s
}

/// A sentence on how much the result hinges on one weight. `criterion_name` and `name_of`
/// give the names to show.
pub fn sensitivity_sentence(
    sensitivity: Option<&Sensitivity>,
    criterion_name: impl Fn(&CriterionId) -> String,
    name_of: impl Fn(&OptionId) -> String,
) -> String {
    let Some(s) = sensitivity else {
        return "No change to the importance of a single criterion would change which option fits what matters to you most closely."
            .to_owned();
    };
    let how = match s.direction {
        Direction::Increase => "more",
        Direction::Decrease => "less",
    };
    let points = if s.change == 1 { "point" } else { "points" };
    let names: Vec<String> = s.best_after.iter().map(|o| quoted(&name_of(o))).collect();
    let outcome = if names.len() > 1 {
        format!("{} would fit equally well", list(&names))
    } else {
        format!("{} would fit most closely", list(&names))
    };
    format!(
        "If {} mattered {} {points} {how} to you ({} instead of {}), {outcome}.",
        quoted(&criterion_name(&s.criterion)),
        s.change,
        s.to,
        s.from
    )
}
