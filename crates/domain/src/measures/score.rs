//! Scoring one completed questionnaire: total, band, caseness, risk flags, per-item values,
//! with the missing-item handling and the convention used recorded in the result.

use super::definition::{
    Cutoff, Direction, Flag, Instrument, InstrumentId, Item, MissingRule, ReliableChangeDef, ScoreRange, ScoringMethod,
};
use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// One answer: a value, missing, or "not applicable" (only where the item allows it).
///
/// In JSON: a number, `null`, or `"na"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Answer {
    Value(i32),
    Missing,
    NotApplicable,
}

impl Answer {
    pub fn value(self) -> Option<i32> {
        match self {
            Answer::Value(v) => Some(v),
            Answer::Missing | Answer::NotApplicable => None,
        }
    }
}

impl From<Option<i32>> for Answer {
    fn from(v: Option<i32>) -> Self {
        v.map_or(Answer::Missing, Answer::Value)
    }
}

impl fmt::Display for Answer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Answer::Value(v) => write!(f, "{v}"),
            Answer::Missing => f.write_str("-"),
            Answer::NotApplicable => f.write_str("na"),
        }
    }
}

impl Serialize for Answer {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Answer::Value(v) => s.serialize_i32(*v),
            Answer::Missing => s.serialize_none(),
            Answer::NotApplicable => s.serialize_str("na"),
        }
    }
}

struct AnswerVisitor;

impl<'de> Visitor<'de> for AnswerVisitor {
    type Value = Answer;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a whole number, null for a missing answer, or \"na\" for not applicable")
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Answer, E> {
        i32::try_from(v).map(Answer::Value).map_err(|_| E::custom(format!("answer {v} is too large")))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Answer, E> {
        i32::try_from(v).map(Answer::Value).map_err(|_| E::custom(format!("answer {v} is too large")))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Answer, E> {
        Ok(Answer::Missing)
    }
    fn visit_none<E: de::Error>(self) -> Result<Answer, E> {
        Ok(Answer::Missing)
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Answer, E> {
        if v == "na" { Ok(Answer::NotApplicable) } else { Err(E::invalid_value(de::Unexpected::Str(v), &self)) }
    }
}

impl<'de> Deserialize<'de> for Answer {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(AnswerVisitor)
    }
}

/// The answers to one instrument, one per numeric item in order (free-text items take no
/// slot). A response may also list only the scored items (e.g. PHQ-9 without the
/// difficulty item); see [`score`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Answers(Vec<Answer>);

impl Answers {
    pub fn new(answers: Vec<Answer>) -> Self {
        Self(answers)
    }
    pub fn as_slice(&self) -> &[Answer] {
        &self.0
    }
    pub fn len(&self) -> usize {
        self.0.len()
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl From<Vec<Option<i32>>> for Answers {
    fn from(v: Vec<Option<i32>>) -> Self {
        Self(v.into_iter().map(Answer::from).collect())
    }
}
impl From<Vec<Answer>> for Answers {
    fn from(v: Vec<Answer>) -> Self {
        Self(v)
    }
}

/// Bad answers: nothing is scored.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScoreError {
    #[error("{}", wrong_length(instrument, *expected, *scored_only, *got))]
    WrongLength {
        instrument: InstrumentId,
        expected: usize,
        /// The other accepted length (scored items only), when it differs.
        scored_only: Option<usize>,
        got: usize,
    },
    #[error("answer {position} (item {item}) is {value}, but {allowed}")]
    OutOfRange {
        /// 1-based position in the answers.
        position: usize,
        item: String,
        value: i32,
        allowed: String,
    },
    #[error("answer {position} (item {item}) cannot be \"not applicable\"")]
    NotApplicableNotAllowed { position: usize, item: String },
}

fn wrong_length(instrument: &InstrumentId, expected: usize, scored_only: Option<usize>, got: usize) -> String {
    let plural = if expected == 1 { "" } else { "s" };
    match scored_only {
        Some(s) => format!("{instrument} expects {expected} answer{plural} (or {s} for the scored items only), got {got}"),
        None => format!("{instrument} expects {expected} answer{plural}, got {got}"),
    }
}

/// A band, by id and label.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BandRef {
    pub id: String,
    pub label: String,
}

/// One item of a scored response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItemScore {
    pub id: String,
    pub answer: Answer,
    /// The option (or anchor) label of the answer, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    pub scored: bool,
    /// Per-item band (e.g. FIBSER burden).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub band: Option<BandRef>,
}

/// What was done about missing or not-applicable scored items.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MissingMethod {
    /// Every scored item answered.
    Complete,
    /// Missing items prorated (mean of the answered items).
    Prorated,
    /// Only not-applicable items, replaced by the mean of the other items (WSAS rule).
    SubstitutedMean,
    /// More missing than the rule allows: no total.
    TooManyMissing,
    /// Per-item instrument: there is no total.
    NoTotal,
}

/// The missing-item handling applied to this response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MissingHandling {
    pub method: MissingMethod,
    pub scored_items: usize,
    pub answered_scored_items: usize,
    pub missing_items: Vec<String>,
    pub not_applicable_items: Vec<String>,
    /// The unrounded prorated total, when prorating or substitution was applied.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exact_total: Option<f64>,
}

/// How an imputed (prorated) total is rounded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Rounding {
    /// To the nearest whole number, halves up (22.5 -> 23).
    HalfUp,
}

/// The scoring convention and thresholds used, recorded with each result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScoreConvention {
    pub instrument: InstrumentId,
    pub instrument_version: String,
    pub method: ScoringMethod,
    pub direction: Direction,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub range: Option<ScoreRange>,
    pub missing_rule: MissingRule,
    /// Rounding of prorated totals.
    pub rounding: Rounding,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bands_source: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub caseness: Option<Cutoff>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reliable_change: Option<ReliableChangeDef>,
}

/// The result of scoring one response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Score {
    pub instrument: InstrumentId,
    /// `None` for per-item instruments, or when more items are missing than the rule allows.
    pub total: Option<i32>,
    pub band: Option<BandRef>,
    /// `None` when the instrument has no caseness cut-off or there is no total.
    pub caseness: Option<bool>,
    /// Raised risk flags, sorted, each once (e.g. `safety`).
    pub flags: Vec<Flag>,
    /// Risk items left unanswered (a clinician may want to ask).
    pub risk_items_unanswered: Vec<String>,
    pub items: Vec<ItemScore>,
    pub missing: MissingHandling,
    pub convention: ScoreConvention,
}

impl Score {
    pub fn has_flag(&self, flag: &str) -> bool {
        self.flags.iter().any(|f| f.as_str() == flag)
    }
}

/// round(num / den) with halves rounded up, for den > 0.
fn round_half_up(num: i64, den: i64) -> i64 {
    (2 * num + den).div_euclid(2 * den)
}

/// Lines the answers up with the numeric items: either one answer per numeric item, or one
/// per scored item (the unscored ones then count as missing).
fn align<'a>(def: &'a Instrument, answers: &Answers) -> Result<Vec<(usize, &'a Item, Answer)>, ScoreError> {
    let numeric: Vec<&Item> = def.answer_items().collect();
    let got = answers.len();
    if got == numeric.len() {
        return Ok(numeric
            .into_iter()
            .zip(answers.as_slice().iter().copied())
            .enumerate()
            .map(|(i, (item, a))| (i + 1, item, a))
            .collect());
    }
    let scored = def.scored_count();
    if scored != numeric.len() && got == scored {
        let mut given = answers.as_slice().iter().copied().enumerate();
        let mut out = Vec::with_capacity(numeric.len());
        for item in numeric {
            if item.scored {
                let (i, a) = given.next().unwrap_or((0, Answer::Missing));
                out.push((i + 1, item, a));
            } else {
                out.push((0, item, Answer::Missing));
            }
        }
        return Ok(out);
    }
    Err(ScoreError::WrongLength {
        instrument: def.id().clone(),
        expected: numeric.len(),
        scored_only: (scored != numeric.len()).then_some(scored),
        got,
    })
}

/// Scores one response. Wrong length, out-of-range values and "not applicable" where the
/// item does not allow it are errors; missing answers are not (see [`MissingHandling`]).
///
/// Rules:
/// - `sum`: total = sum of the scored items. Missing scored items follow the definition's
///   [`MissingRule`]; a "not applicable" answer (only where the item allows it, e.g. WSAS
///   work) is replaced by the mean of the answered scored items. When anything is imputed,
///   total = round_half_up(sum answered × scored items / answered items); the unrounded
///   value is recorded. The validator guarantees all scored items share one value range
///   when imputing, so the total stays within the range.
/// - `per_item`: no total; each item carries its value and per-item band.
/// - Risk rules raise flags from answered items only; unanswered risk items are listed.
pub fn score(def: &Instrument, answers: &Answers) -> Result<Score, ScoreError> {
    let aligned = align(def, answers)?;
    for (position, item, answer) in &aligned {
        match answer {
            Answer::Value(v) if !item.accepts(*v) => {
                return Err(ScoreError::OutOfRange {
                    position: *position,
                    item: item.id.clone(),
                    value: *v,
                    allowed: item.allowed_values_text(),
                });
            }
            Answer::NotApplicable if item.not_applicable.is_none() => {
                return Err(ScoreError::NotApplicableNotAllowed { position: *position, item: item.id.clone() });
            }
            Answer::Value(_) | Answer::NotApplicable | Answer::Missing => {}
        }
    }

    let items: Vec<ItemScore> = aligned
        .iter()
        .map(|(_, item, answer)| ItemScore {
            id: item.id.clone(),
            answer: *answer,
            label: answer.value().and_then(|v| item.label_for(v)).map(str::to_owned).or_else(|| {
                matches!(answer, Answer::NotApplicable).then(|| item.not_applicable.as_ref().map(|na| na.label.clone())).flatten()
            }),
            scored: item.scored,
            band: answer.value().and_then(|v| item.band_for(v)).map(|b| BandRef { id: b.id.clone(), label: b.label.clone() }),
        })
        .collect();

    let scoring = def.scoring();
    let scored: Vec<(&Item, Answer)> = aligned.iter().filter(|(_, item, _)| item.scored).map(|(_, item, a)| (*item, *a)).collect();
    let missing_items: Vec<String> = scored.iter().filter(|(_, a)| *a == Answer::Missing).map(|(i, _)| i.id.clone()).collect();
    let not_applicable_items: Vec<String> = scored.iter().filter(|(_, a)| *a == Answer::NotApplicable).map(|(i, _)| i.id.clone()).collect();
    let answered: Vec<i64> = scored.iter().filter_map(|(_, a)| a.value()).map(i64::from).collect();

    let mut exact_total = None;
    let (total, method) = match scoring.method {
        ScoringMethod::PerItem => (None, MissingMethod::NoTotal),
        ScoringMethod::Sum => {
            let allowed_missing = match &scoring.missing {
                MissingRule::Complete => 0,
                MissingRule::Prorate { max_missing, .. } => usize::try_from(*max_missing).unwrap_or(usize::MAX),
            };
            let sum: i64 = answered.iter().sum();
            let n_scored = i64::try_from(scored.len()).unwrap_or(i64::MAX);
            let n_answered = i64::try_from(answered.len()).unwrap_or(i64::MAX);
            if missing_items.len() > allowed_missing || answered.is_empty() {
                (None, MissingMethod::TooManyMissing)
            } else if missing_items.is_empty() && not_applicable_items.is_empty() {
                (i32::try_from(sum).ok(), MissingMethod::Complete)
            } else {
                let exact = sum as f64 * n_scored as f64 / n_answered as f64;
                exact_total = Some(exact);
                let method = if missing_items.is_empty() { MissingMethod::SubstitutedMean } else { MissingMethod::Prorated };
                (i32::try_from(round_half_up(sum * n_scored, n_answered)).ok(), method)
            }
        }
    };

    let band = total.and_then(|t| def.band_for(t)).map(|b| BandRef { id: b.id.clone(), label: b.label.clone() });
    let caseness = match (&scoring.caseness, total) {
        (Some(c), Some(t)) => Some(c.is_met(t)),
        _ => None,
    };

    let mut flags: Vec<Flag> = Vec::new();
    let mut risk_items_unanswered = Vec::new();
    for rule in def.risk_rules() {
        let answer = aligned.iter().find(|(_, item, _)| item.id == rule.item).map(|(_, _, a)| *a);
        match answer {
            Some(Answer::Value(v)) => {
                if v >= rule.at_least
                    && let Ok(flag) = Flag::parse(&rule.flag)
                {
                    flags.push(flag);
                }
            }
            Some(Answer::Missing | Answer::NotApplicable) | None => {
                if !risk_items_unanswered.contains(&rule.item) {
                    risk_items_unanswered.push(rule.item.clone());
                }
            }
        }
    }
    flags.sort();
    flags.dedup();

    Ok(Score {
        instrument: def.id().clone(),
        total,
        band,
        caseness,
        flags,
        risk_items_unanswered,
        items,
        missing: MissingHandling {
            method,
            scored_items: scored.len(),
            answered_scored_items: answered.len(),
            missing_items,
            not_applicable_items,
            exact_total,
        },
        convention: ScoreConvention {
            instrument: def.id().clone(),
            instrument_version: def.version().to_owned(),
            method: scoring.method,
            direction: scoring.direction,
            range: scoring.range,
            missing_rule: scoring.missing.clone(),
            rounding: Rounding::HalfUp,
            bands_source: scoring.bands.as_ref().map(|b| b.source.clone()),
            caseness: scoring.caseness.clone(),
            reliable_change: scoring.reliable_change.clone(),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounding() {
        assert_eq!(round_half_up(45, 2), 23); // 22.5 -> 23
        assert_eq!(round_half_up(44, 2), 22);
        assert_eq!(round_half_up(67, 7), 10); // 9.57 -> 10
        assert_eq!(round_half_up(-5, 2), -2); // -2.5 -> -2 (half up)
        assert_eq!(round_half_up(0, 3), 0);
    }

    #[test]
    fn answer_json() {
        let a: Answers = serde_json::from_str(r#"[1, null, "na", 0]"#).unwrap();
        assert_eq!(a.as_slice(), &[Answer::Value(1), Answer::Missing, Answer::NotApplicable, Answer::Value(0)]);
        assert_eq!(serde_json::to_string(&a).unwrap(), r#"[1,null,"na",0]"#);
        assert!(serde_json::from_str::<Answers>(r#"["x"]"#).is_err());
        assert!(serde_json::from_str::<Answers>(r#"[1.5]"#).is_err());
        assert!(serde_json::from_str::<Answers>(r#"[99999999999]"#).is_err());
    }
}
