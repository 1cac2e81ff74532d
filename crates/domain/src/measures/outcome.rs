//! Outcome analytics over a series of totals: change since intake and since last, reliable
//! change (by threshold and by the Jacobson–Truax RCI), the Jacobson–Truax clinical cut-off,
//! and NHS Talking Therapies episode outcomes. Pure; every result records the convention and
//! thresholds it used.

use super::definition::{ClinicalCutoffParams, Direction, InstrumentId, JacobsonTruaxParams, ScoreRange};
use serde::{Deserialize, Serialize};

/// Bad input to an outcome computation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OutcomeError {
    #[error("no measure series given")]
    NoMeasures,
    #[error("{measure} has no scores")]
    EmptySeries { measure: InstrumentId },
    #[error("{measure} is given more than once")]
    DuplicateMeasure { measure: InstrumentId },
    #[error("no outcome rule for {measure}; the {convention} convention covers {configured}")]
    UnknownMeasure { measure: InstrumentId, convention: String, configured: String },
    #[error("{measure} score {position} is {value}, outside its range {min} to {max}")]
    OutOfRange { measure: InstrumentId, position: usize, value: i32, min: i32, max: i32 },
    #[error("{0}")]
    InvalidParameter(String),
}

/// Direction-aware classification of one change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeClass {
    ReliableImprovement,
    ReliableDeterioration,
    NoReliableChange,
}

impl ChangeClass {
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeClass::ReliableImprovement => "reliable_improvement",
            ChangeClass::ReliableDeterioration => "reliable_deterioration",
            ChangeClass::NoReliableChange => "no_reliable_change",
        }
    }
}

/// Reliable change by a fixed threshold (e.g. PHQ-9: 6 points).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ThresholdChange {
    pub pre: i32,
    pub post: i32,
    /// post − pre.
    pub change: i32,
    pub threshold: u32,
    pub direction: Direction,
    pub class: ChangeClass,
}

/// Change from `pre` to `post` is reliable when it is at least `threshold` points
/// (a threshold of 0 counts any change). Improvement is a drop when higher is worse.
pub fn reliable_change(pre: i32, post: i32, threshold: u32, direction: Direction) -> ThresholdChange {
    let change = post.saturating_sub(pre);
    let improvement = match direction {
        Direction::HigherIsWorse => -i64::from(change),
        Direction::HigherIsBetter => i64::from(change),
    };
    let t = i64::from(threshold);
    let class = if improvement > 0 && improvement >= t {
        ChangeClass::ReliableImprovement
    } else if improvement < 0 && -improvement >= t {
        ChangeClass::ReliableDeterioration
    } else {
        ChangeClass::NoReliableChange
    };
    ThresholdChange { pre, post, change, threshold, direction, class }
}

/// Checks Jacobson–Truax parameters: SD > 0, 0 ≤ r < 1, critical value > 0, all finite.
pub fn check_jt_params(p: &JacobsonTruaxParams) -> Result<(), OutcomeError> {
    if !(p.sd.is_finite() && p.sd > 0.0) {
        return Err(OutcomeError::InvalidParameter(format!("SD must be a positive number, got {}", p.sd)));
    }
    if !(p.reliability.is_finite() && (0.0..1.0).contains(&p.reliability)) {
        return Err(OutcomeError::InvalidParameter(format!("reliability must be at least 0 and below 1, got {}", p.reliability)));
    }
    if !(p.critical_value.is_finite() && p.critical_value > 0.0) {
        return Err(OutcomeError::InvalidParameter(format!("critical value must be a positive number, got {}", p.critical_value)));
    }
    Ok(())
}

/// The Jacobson–Truax reliable change index for one change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RciResult {
    pub pre: f64,
    pub post: f64,
    /// (post − pre) / S_diff.
    pub rci: f64,
    /// S_diff = SD · √2 · √(1 − r).
    pub s_diff: f64,
    /// |RCI| > critical value.
    pub reliable: bool,
    pub class: ChangeClass,
    pub direction: Direction,
    pub params: JacobsonTruaxParams,
}

/// Jacobson & Truax (1991): RCI = (post − pre) / (SD · √2 · √(1 − r)); reliable when
/// |RCI| > the critical value (1.96 by default).
pub fn jacobson_truax(pre: f64, post: f64, params: &JacobsonTruaxParams, direction: Direction) -> Result<RciResult, OutcomeError> {
    check_jt_params(params)?;
    if !(pre.is_finite() && post.is_finite()) {
        return Err(OutcomeError::InvalidParameter("scores must be finite numbers".into()));
    }
    let s_diff = params.sd * std::f64::consts::SQRT_2 * (1.0 - params.reliability).sqrt();
    let rci = (post - pre) / s_diff;
    let reliable = rci.abs() > params.critical_value;
    let improving = match direction {
        Direction::HigherIsWorse => rci < 0.0,
        Direction::HigherIsBetter => rci > 0.0,
    };
    let class = match (reliable, improving) {
        (false, _) => ChangeClass::NoReliableChange,
        (true, true) => ChangeClass::ReliableImprovement,
        (true, false) => ChangeClass::ReliableDeterioration,
    };
    Ok(RciResult { pre, post, rci, s_diff, reliable, class, direction, params: params.clone() })
}

/// Jacobson–Truax cut-off c = (SD_clin · M_func + SD_func · M_clin) / (SD_clin + SD_func):
/// the point equally likely to belong to the clinical and the functional population.
pub fn clinical_cutoff(p: &ClinicalCutoffParams) -> Result<f64, OutcomeError> {
    for (v, name) in [(p.sd_clinical, "SD_clin"), (p.sd_functional, "SD_func")] {
        if !(v.is_finite() && v > 0.0) {
            return Err(OutcomeError::InvalidParameter(format!("{name} must be a positive number, got {v}")));
        }
    }
    for (v, name) in [(p.mean_clinical, "M_clin"), (p.mean_functional, "M_func")] {
        if !v.is_finite() {
            return Err(OutcomeError::InvalidParameter(format!("{name} must be a finite number, got {v}")));
        }
    }
    Ok((p.sd_clinical * p.mean_functional + p.sd_functional * p.mean_clinical) / (p.sd_clinical + p.sd_functional))
}

/// Jacobson–Truax categories.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JtCategory {
    /// Reliable improvement and moved from the clinical to the functional side of c.
    Recovered,
    /// Reliable improvement without crossing c.
    Improved,
    Unchanged,
    Deteriorated,
}

/// A Jacobson–Truax classification with everything used to reach it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JtClassification {
    pub rci: RciResult,
    pub cutoff: f64,
    /// Started on the clinical side of c (strictly) and ended on the functional side.
    pub crossed_cutoff: bool,
    pub category: JtCategory,
    pub cutoff_params: ClinicalCutoffParams,
}

/// Reliable change and clinical significance together (Jacobson & Truax 1991).
pub fn jacobson_truax_category(
    pre: f64,
    post: f64,
    jt: &JacobsonTruaxParams,
    cutoff: &ClinicalCutoffParams,
    direction: Direction,
) -> Result<JtClassification, OutcomeError> {
    let rci = jacobson_truax(pre, post, jt, direction)?;
    let c = clinical_cutoff(cutoff)?;
    let crossed_cutoff = match direction {
        Direction::HigherIsWorse => pre > c && post < c,
        Direction::HigherIsBetter => pre < c && post > c,
    };
    let category = match rci.class {
        ChangeClass::ReliableImprovement if crossed_cutoff => JtCategory::Recovered,
        ChangeClass::ReliableImprovement => JtCategory::Improved,
        ChangeClass::ReliableDeterioration => JtCategory::Deteriorated,
        ChangeClass::NoReliableChange => JtCategory::Unchanged,
    };
    Ok(JtClassification { rci, cutoff: c, crossed_cutoff, category, cutoff_params: cutoff.clone() })
}

/// Change over a series of totals (oldest first), for trend views and the caseload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeriesChange {
    pub first: i32,
    pub last: i32,
    pub previous: Option<i32>,
    /// last − first.
    pub change_since_intake: i32,
    /// last − previous.
    pub change_since_last: Option<i32>,
    /// Reliable change first → last (absent with one score or no threshold).
    pub since_intake: Option<ThresholdChange>,
    /// Reliable change previous → last.
    pub since_last: Option<ThresholdChange>,
}

/// Change since intake and since last; `None` for an empty series.
pub fn series_change(totals: &[i32], threshold: Option<u32>, direction: Direction) -> Option<SeriesChange> {
    let first = *totals.first()?;
    let last = *totals.last()?;
    let previous = totals.len().checked_sub(2).and_then(|i| totals.get(i)).copied();
    let since_intake = match (threshold, previous) {
        (Some(t), Some(_)) => Some(reliable_change(first, last, t, direction)),
        _ => None,
    };
    let since_last = match (threshold, previous) {
        (Some(t), Some(p)) => Some(reliable_change(p, last, t, direction)),
        _ => None,
    };
    Some(SeriesChange {
        first,
        last,
        previous,
        change_since_intake: last.saturating_sub(first),
        change_since_last: previous.map(|p| last.saturating_sub(p)),
        since_intake,
        since_last,
    })
}

// ---------------------------------------------------------------------------------------
// Episode outcomes (NHS Talking Therapies)
// ---------------------------------------------------------------------------------------

/// The outcome rule for one measure (higher scores are worse).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MeasureRule {
    pub measure: InstrumentId,
    /// A case when the total is at least this.
    pub caseness_at_least: i32,
    /// A change of at least this many points is reliable.
    pub reliable_change: u32,
    pub range: ScoreRange,
    pub source: String,
}

/// An outcome convention: which measures count, their caseness and reliable-change
/// thresholds. Deserializable so a practice can configure its own.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutcomeConfig {
    pub convention: String,
    pub source: String,
    pub measures: Vec<MeasureRule>,
}

/// Source of the NHS Talking Therapies outcome definitions.
pub const NHS_SOURCE: &str = "NHS Talking Therapies for anxiety and depression Manual (NHS England) and its data handbook: caseness PHQ-9 >= 10 or GAD-7 >= 8; reliable change PHQ-9 6, GAD-7 4; recovery = case at first measure and below caseness on both at the last; reliable recovery = recovery and reliable improvement";

impl OutcomeConfig {
    /// NHS Talking Therapies: PHQ-9 (caseness ≥ 10, reliable change 6) and GAD-7
    /// (caseness ≥ 8, reliable change 4).
    pub fn nhs_talking_therapies() -> Self {
        Self {
            convention: "nhs_talking_therapies".into(),
            source: NHS_SOURCE.into(),
            measures: vec![
                MeasureRule {
                    measure: InstrumentId::known("phq9"),
                    caseness_at_least: 10,
                    reliable_change: 6,
                    range: ScoreRange { min: 0, max: 27 },
                    source: "NHS Talking Therapies Manual: PHQ-9 caseness >= 10, reliable change >= 6 points".into(),
                },
                MeasureRule {
                    measure: InstrumentId::known("gad7"),
                    caseness_at_least: 8,
                    reliable_change: 4,
                    range: ScoreRange { min: 0, max: 21 },
                    source: "NHS Talking Therapies Manual: GAD-7 caseness >= 8, reliable change >= 4 points".into(),
                },
            ],
        }
    }

    pub fn rule(&self, measure: &InstrumentId) -> Option<&MeasureRule> {
        self.measures.iter().find(|r| &r.measure == measure)
    }

    /// Checks a (possibly practice-supplied) configuration.
    pub fn validate(&self) -> Result<(), OutcomeError> {
        let bad = |m: String| Err(OutcomeError::InvalidParameter(m));
        if self.measures.is_empty() {
            return bad(format!("the {} convention lists no measures", self.convention));
        }
        for (i, r) in self.measures.iter().enumerate() {
            if self.measures.iter().take(i).any(|e| e.measure == r.measure) {
                return bad(format!("{} has more than one outcome rule", r.measure));
            }
            if r.range.min >= r.range.max {
                return bad(format!("{}: range {} to {} is empty", r.measure, r.range.min, r.range.max));
            }
            if !(r.range.min..=r.range.max).contains(&r.caseness_at_least) {
                return bad(format!(
                    "{}: caseness cut-off {} is outside the range {} to {}",
                    r.measure, r.caseness_at_least, r.range.min, r.range.max
                ));
            }
            if r.reliable_change == 0 {
                return bad(format!("{}: reliable-change threshold must be at least 1", r.measure));
            }
        }
        Ok(())
    }
}

impl Default for OutcomeConfig {
    fn default() -> Self {
        Self::nhs_talking_therapies()
    }
}

/// A series of totals for one measure, oldest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MeasureSeries {
    pub measure: InstrumentId,
    pub totals: Vec<i32>,
}

/// Per-measure detail of an episode outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MeasureOutcome {
    pub measure: InstrumentId,
    pub totals: Vec<i32>,
    pub first: i32,
    pub last: i32,
    pub change_since_intake: i32,
    pub change_since_last: Option<i32>,
    pub case_at_start: bool,
    pub case_at_end: bool,
    /// First → last, by the rule's threshold.
    pub reliable_change: ChangeClass,
    pub caseness_at_least: i32,
    pub reliable_change_threshold: u32,
}

/// The headline classification of an episode. Precedence when several apply:
/// not a case at intake (for recovery purposes), insufficient data, reliable recovery,
/// reliable deterioration, recovery, reliable improvement, no reliable change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EpisodeClass {
    /// Fewer than two scores on some measure: no change can be judged.
    InsufficientData,
    /// Below caseness on every measure at the first score (recovery does not apply;
    /// reliable improvement/deterioration are still reported in the booleans).
    NotACaseAtIntake,
    ReliableRecovery,
    ReliableDeterioration,
    /// Recovered (below caseness at the end) without reliable improvement.
    Recovery,
    /// Reliable improvement while still a case at the end.
    ReliableImprovement,
    NoReliableChange,
}

impl EpisodeClass {
    pub fn as_str(self) -> &'static str {
        match self {
            EpisodeClass::InsufficientData => "insufficient_data",
            EpisodeClass::NotACaseAtIntake => "not_a_case_at_intake",
            EpisodeClass::ReliableRecovery => "reliable_recovery",
            EpisodeClass::ReliableDeterioration => "reliable_deterioration",
            EpisodeClass::Recovery => "recovery",
            EpisodeClass::ReliableImprovement => "reliable_improvement",
            EpisodeClass::NoReliableChange => "no_reliable_change",
        }
    }
    /// Plain-language label.
    pub fn label(self) -> &'static str {
        match self {
            EpisodeClass::InsufficientData => "Not enough scores to judge change",
            EpisodeClass::NotACaseAtIntake => "Not a case at intake",
            EpisodeClass::ReliableRecovery => "Reliable recovery",
            EpisodeClass::ReliableDeterioration => "Reliable deterioration",
            EpisodeClass::Recovery => "Recovery (without reliable improvement)",
            EpisodeClass::ReliableImprovement => "Reliable improvement (still a case)",
            EpisodeClass::NoReliableChange => "No reliable change",
        }
    }
}

/// The episode outcome, with the convention used.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EpisodeOutcome {
    pub classification: EpisodeClass,
    /// Every measure has at least two scores.
    pub paired: bool,
    /// A case on any measure at its first score.
    pub case_at_start: bool,
    /// A case on any measure at its last score.
    pub case_at_end: bool,
    /// Some measure improved reliably and none deteriorated reliably.
    pub reliable_improvement: bool,
    /// Some measure deteriorated reliably.
    pub reliable_deterioration: bool,
    /// A case at the start and below caseness on every measure at the end.
    pub recovery: bool,
    /// Recovery and reliable improvement.
    pub reliable_recovery: bool,
    /// Neither reliable improvement nor reliable deterioration.
    pub no_reliable_change: bool,
    pub not_case_at_intake: bool,
    pub measures: Vec<MeasureOutcome>,
    /// Measures of the convention that were not supplied (e.g. only PHQ-9 given).
    pub measures_not_supplied: Vec<InstrumentId>,
    pub convention: OutcomeConfig,
}

/// NHS Talking Therapies episode outcome over one or more measure series (e.g. PHQ-9 and
/// GAD-7, or PHQ-9 alone). Each series is read first → last.
pub fn episode_outcome(series: &[MeasureSeries], config: &OutcomeConfig) -> Result<EpisodeOutcome, OutcomeError> {
    config.validate()?;
    if series.is_empty() {
        return Err(OutcomeError::NoMeasures);
    }
    let mut measures = Vec::with_capacity(series.len());
    for (i, s) in series.iter().enumerate() {
        if series.iter().take(i).any(|e| e.measure == s.measure) {
            return Err(OutcomeError::DuplicateMeasure { measure: s.measure.clone() });
        }
        let rule = config.rule(&s.measure).ok_or_else(|| OutcomeError::UnknownMeasure {
            measure: s.measure.clone(),
            convention: config.convention.clone(),
            configured: config.measures.iter().map(|r| r.measure.as_str()).collect::<Vec<_>>().join(", "),
        })?;
        for (j, v) in s.totals.iter().enumerate() {
            if !(rule.range.min..=rule.range.max).contains(v) {
                return Err(OutcomeError::OutOfRange {
                    measure: s.measure.clone(),
                    position: j + 1,
                    value: *v,
                    min: rule.range.min,
                    max: rule.range.max,
                });
            }
        }
        let change = series_change(&s.totals, Some(rule.reliable_change), Direction::HigherIsWorse)
            .ok_or_else(|| OutcomeError::EmptySeries { measure: s.measure.clone() })?;
        measures.push(MeasureOutcome {
            measure: s.measure.clone(),
            totals: s.totals.clone(),
            first: change.first,
            last: change.last,
            change_since_intake: change.change_since_intake,
            change_since_last: change.change_since_last,
            case_at_start: change.first >= rule.caseness_at_least,
            case_at_end: change.last >= rule.caseness_at_least,
            reliable_change: change.since_intake.map_or(ChangeClass::NoReliableChange, |c| c.class),
            caseness_at_least: rule.caseness_at_least,
            reliable_change_threshold: rule.reliable_change,
        });
    }

    let paired = series.iter().all(|s| s.totals.len() >= 2);
    let case_at_start = measures.iter().any(|m| m.case_at_start);
    let case_at_end = measures.iter().any(|m| m.case_at_end);
    let any_improved = measures.iter().any(|m| m.reliable_change == ChangeClass::ReliableImprovement);
    let reliable_deterioration = paired && measures.iter().any(|m| m.reliable_change == ChangeClass::ReliableDeterioration);
    let reliable_improvement = paired && any_improved && !reliable_deterioration;
    let recovery = paired && case_at_start && !case_at_end;
    let reliable_recovery = recovery && reliable_improvement;
    let no_reliable_change = !reliable_improvement && !reliable_deterioration;

    let classification = if !paired {
        EpisodeClass::InsufficientData
    } else if !case_at_start {
        EpisodeClass::NotACaseAtIntake
    } else if reliable_recovery {
        EpisodeClass::ReliableRecovery
    } else if reliable_deterioration {
        EpisodeClass::ReliableDeterioration
    } else if recovery {
        EpisodeClass::Recovery
    } else if reliable_improvement {
        EpisodeClass::ReliableImprovement
    } else {
        EpisodeClass::NoReliableChange
    };

    let measures_not_supplied =
        config.measures.iter().filter(|r| !series.iter().any(|s| s.measure == r.measure)).map(|r| r.measure.clone()).collect();

    Ok(EpisodeOutcome {
        classification,
        paired,
        case_at_start,
        case_at_end,
        reliable_improvement,
        reliable_deterioration,
        recovery,
        reliable_recovery,
        no_reliable_change,
        not_case_at_intake: !case_at_start,
        measures,
        measures_not_supplied,
        convention: config.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(m: &str, t: &[i32]) -> MeasureSeries {
        MeasureSeries { measure: InstrumentId::parse(m).unwrap(), totals: t.to_vec() }
    }

    #[test]
    fn nhs_config_is_valid() {
        let c = OutcomeConfig::nhs_talking_therapies();
        c.validate().unwrap();
        for r in &c.measures {
            InstrumentId::parse(r.measure.as_str()).unwrap();
        }
    }

    #[test]
    fn threshold_change_directions() {
        let c = reliable_change(18, 12, 6, Direction::HigherIsWorse);
        assert_eq!(c.class, ChangeClass::ReliableImprovement);
        assert_eq!(c.change, -6);
        assert_eq!(reliable_change(18, 13, 6, Direction::HigherIsWorse).class, ChangeClass::NoReliableChange);
        assert_eq!(reliable_change(5, 11, 6, Direction::HigherIsWorse).class, ChangeClass::ReliableDeterioration);
        assert_eq!(reliable_change(5, 11, 6, Direction::HigherIsBetter).class, ChangeClass::ReliableImprovement);
        assert_eq!(reliable_change(5, 5, 0, Direction::HigherIsBetter).class, ChangeClass::NoReliableChange);
    }

    #[test]
    fn rci_worked_example() {
        // SD 5, r 0.84: S_diff = 5 * 1.41421 * 0.4 = 2.828; 18 -> 12 gives RCI -2.12.
        let p = JacobsonTruaxParams { sd: 5.0, reliability: 0.84, critical_value: 1.96, source: "test".into() };
        let r = jacobson_truax(18.0, 12.0, &p, Direction::HigherIsWorse).unwrap();
        assert!((r.s_diff - 2.828_427).abs() < 1e-5);
        assert!((r.rci + 2.121_32).abs() < 1e-4);
        assert!(r.reliable);
        assert_eq!(r.class, ChangeClass::ReliableImprovement);
        let r = jacobson_truax(18.0, 13.0, &p, Direction::HigherIsWorse).unwrap();
        assert!(!r.reliable); // -1.77
        let bad = JacobsonTruaxParams { reliability: 1.0, ..p.clone() };
        assert_eq!(
            jacobson_truax(1.0, 2.0, &bad, Direction::HigherIsWorse).unwrap_err().to_string(),
            "reliability must be at least 0 and below 1, got 1"
        );
    }

    #[test]
    fn cutoff_worked_example() {
        // c = (6*5 + 4*15) / (6+4) = 90/10 = 9
        let cc =
            ClinicalCutoffParams { mean_clinical: 15.0, sd_clinical: 6.0, mean_functional: 5.0, sd_functional: 4.0, source: "test".into() };
        assert!((clinical_cutoff(&cc).unwrap() - 9.0).abs() < 1e-12);
        let jt = JacobsonTruaxParams { sd: 5.0, reliability: 0.84, critical_value: 1.96, source: "test".into() };
        let r = jacobson_truax_category(18.0, 8.0, &jt, &cc, Direction::HigherIsWorse).unwrap();
        assert_eq!(r.category, JtCategory::Recovered);
        let r = jacobson_truax_category(18.0, 10.0, &jt, &cc, Direction::HigherIsWorse).unwrap();
        assert_eq!(r.category, JtCategory::Improved);
        let r = jacobson_truax_category(8.0, 16.0, &jt, &cc, Direction::HigherIsWorse).unwrap();
        assert_eq!(r.category, JtCategory::Deteriorated);
    }

    #[test]
    fn series_changes() {
        let c = series_change(&[18, 12, 9], Some(6), Direction::HigherIsWorse).unwrap();
        assert_eq!(c.change_since_intake, -9);
        assert_eq!(c.change_since_last, Some(-3));
        assert_eq!(c.since_intake.unwrap().class, ChangeClass::ReliableImprovement);
        assert_eq!(c.since_last.unwrap().class, ChangeClass::NoReliableChange);
        let one = series_change(&[7], Some(6), Direction::HigherIsWorse).unwrap();
        assert_eq!(one.change_since_last, None);
        assert_eq!(one.since_intake, None);
        assert!(series_change(&[], None, Direction::HigherIsWorse).is_none());
    }

    #[test]
    fn errors() {
        let c = OutcomeConfig::default();
        assert_eq!(episode_outcome(&[], &c).unwrap_err().to_string(), "no measure series given");
        assert_eq!(
            episode_outcome(&[s("wsas", &[10, 5])], &c).unwrap_err().to_string(),
            "no outcome rule for wsas; the nhs_talking_therapies convention covers phq9, gad7"
        );
        assert_eq!(episode_outcome(&[s("phq9", &[10, 30])], &c).unwrap_err().to_string(), "phq9 score 2 is 30, outside its range 0 to 27");
        assert_eq!(episode_outcome(&[s("phq9", &[])], &c).unwrap_err().to_string(), "phq9 has no scores");
        assert_eq!(episode_outcome(&[s("phq9", &[1, 2]), s("phq9", &[3, 4])], &c).unwrap_err().to_string(), "phq9 is given more than once");
    }
}
