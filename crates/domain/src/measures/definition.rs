//! Instrument definitions as data, and the validator every definition passes through
//! (shipped, imported as our JSON, or imported from FHIR).
//!
//! The file format is [`InstrumentDef`] (`"format": "concord.instrument/1"`); a validated
//! definition is an [`Instrument`], whose fields are private so the rest of the code can
//! only hold one that passed [`Instrument::from_def`].

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

/// The `format` tag of our own definition files.
pub const FORMAT: &str = "concord.instrument/1";

// ---------------------------------------------------------------------------------------
// Identifiers
// ---------------------------------------------------------------------------------------

/// Why an identifier was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct IdError(String);

fn is_snake_id(raw: &str, max: usize) -> bool {
    let mut chars = raw.chars();
    matches!(chars.next(), Some('a'..='z')) && raw.len() <= max && chars.all(|c| matches!(c, 'a'..='z' | '0'..='9' | '_'))
}

/// An instrument id such as `phq9`: a lower-case letter, then `a-z`, `0-9` or `_`, at most
/// 40 characters. Used in URLs, the CLI and stored responses.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct InstrumentId(String);

impl InstrumentId {
    pub fn parse(raw: &str) -> Result<Self, IdError> {
        if is_snake_id(raw, 40) {
            Ok(Self(raw.to_owned()))
        } else {
            Err(IdError(format!(
                "instrument id {raw:?} must start with a lower-case letter and contain only a-z, 0-9 and _ (at most 40 characters)"
            )))
        }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
    /// An id written in this crate's source (each one is checked by a test).
    pub(crate) fn known(raw: &'static str) -> Self {
        Self(raw.to_owned())
    }
}

impl fmt::Display for InstrumentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
impl TryFrom<String> for InstrumentId {
    type Error = IdError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}
impl std::borrow::Borrow<str> for InstrumentId {
    fn borrow(&self) -> &str {
        &self.0
    }
}
impl From<InstrumentId> for String {
    fn from(id: InstrumentId) -> Self {
        id.0
    }
}

/// A flag raised by a risk rule, e.g. `safety`. Snake case.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Flag(String);

impl Flag {
    /// The flag raised by PHQ-9 item 9 > 0 and by the check-in's self-harm question.
    pub const SAFETY: &'static str = "safety";

    pub fn parse(raw: &str) -> Result<Self, IdError> {
        if is_snake_id(raw, 40) {
            Ok(Self(raw.to_owned()))
        } else {
            Err(IdError(format!("flag {raw:?} must be snake_case (a-z, 0-9, _; at most 40 characters)")))
        }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}
impl fmt::Display for Flag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
impl TryFrom<String> for Flag {
    type Error = IdError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}
impl From<Flag> for String {
    fn from(f: Flag) -> Self {
        f.0
    }
}

// ---------------------------------------------------------------------------------------
// The file format
// ---------------------------------------------------------------------------------------

/// Where a definition comes from. Practice-own forms are labelled non-validated in the UI.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Origin {
    /// A published instrument (shipped, or imported by a practice that holds its licence).
    Published,
    /// The practice's own form: not a validated instrument.
    PracticeOwn,
}

/// Licence note and attribution, shown wherever the instrument is displayed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Licence {
    pub note: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attribution: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub citation: Option<String>,
}

/// LOINC codes for the whole instrument.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InstrumentLoinc {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub panel: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total: Option<String>,
}

/// A coded answer (e.g. LOINC answer `LA6568-5`), kept for FHIR export.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnswerCode {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system: Option<String>,
    pub code: String,
}

/// One answer option. `value` is both what an answer records and what it scores.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnswerOption {
    pub value: i32,
    pub label: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<AnswerCode>,
}

/// A labelled point on a numeric scale (e.g. 0 "Not at all", 10 "Extremely").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Anchor {
    pub value: i32,
    pub label: String,
}

/// How an item is answered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Response {
    /// Pick one of the listed options.
    Choice { options: Vec<AnswerOption> },
    /// A whole number from `min` to `max` inclusive.
    Scale {
        min: i32,
        max: i32,
        #[serde(default)]
        anchors: Vec<Anchor>,
    },
    /// Free text (e.g. the check-in note). Not part of the numeric answers; the caller
    /// stores it (encrypted) beside the response.
    Text {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max_length: Option<u32>,
    },
}

/// "Not applicable" is a valid answer to this item (e.g. WSAS work item, when retired).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NotApplicable {
    pub label: String,
    /// Where the rule for scoring a not-applicable answer comes from.
    pub source: String,
}

/// A severity band (on the total, or on one item).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Band {
    /// snake_case id, e.g. `moderately_severe`.
    pub id: String,
    pub label: String,
    pub min: i32,
    pub max: i32,
}

/// One item of an instrument.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Item {
    pub id: String,
    pub text: String,
    /// Whether the item counts towards the total.
    pub scored: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loinc: Option<String>,
    pub response: Response,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_applicable: Option<NotApplicable>,
    /// Per-item bands (e.g. FIBSER burden). Must cover the item's values exactly once.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub bands: Vec<Band>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bands_source: Option<String>,
}

impl Item {
    /// Whether answers to this item are numbers (choice or scale), i.e. it takes a slot in
    /// [`crate::measures::score::Answers`].
    pub fn is_numeric(&self) -> bool {
        match self.response {
            Response::Choice { .. } | Response::Scale { .. } => true,
            Response::Text { .. } => false,
        }
    }

    /// Smallest and largest value an answer may take; `None` for text items.
    pub fn value_range(&self) -> Option<(i32, i32)> {
        match &self.response {
            Response::Choice { options } => {
                let min = options.iter().map(|o| o.value).min()?;
                let max = options.iter().map(|o| o.value).max()?;
                Some((min, max))
            }
            Response::Scale { min, max, .. } => Some((*min, *max)),
            Response::Text { .. } => None,
        }
    }

    /// Whether `value` is an allowed answer.
    pub fn accepts(&self, value: i32) -> bool {
        match &self.response {
            Response::Choice { options } => options.iter().any(|o| o.value == value),
            Response::Scale { min, max, .. } => (*min..=*max).contains(&value),
            Response::Text { .. } => false,
        }
    }

    /// The label of a value: the option label, or a scale anchor's label.
    pub fn label_for(&self, value: i32) -> Option<&str> {
        match &self.response {
            Response::Choice { options } => options.iter().find(|o| o.value == value).map(|o| o.label.as_str()),
            Response::Scale { anchors, .. } => anchors.iter().find(|a| a.value == value).map(|a| a.label.as_str()),
            Response::Text { .. } => None,
        }
    }

    /// "the allowed values are 0, 1, 2, 3" / "the allowed values are 0 to 10".
    pub fn allowed_values_text(&self) -> String {
        match &self.response {
            Response::Choice { options } => {
                let list: Vec<String> = options.iter().map(|o| o.value.to_string()).collect();
                format!("the allowed values are {}", list.join(", "))
            }
            Response::Scale { min, max, .. } => format!("the allowed values are {min} to {max}"),
            Response::Text { .. } => "it is a text item".to_owned(),
        }
    }

    /// The per-item band a value falls in.
    pub fn band_for(&self, value: i32) -> Option<&Band> {
        self.bands.iter().find(|b| (b.min..=b.max).contains(&value))
    }
}

/// How the answers become a result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScoringMethod {
    /// Total = sum of the scored items.
    Sum,
    /// No total: each item is read on its own (FIBSER, readiness rulers, check-in).
    PerItem,
}

/// Whether a higher score means worse (symptoms) or better (readiness, alliance).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    HigherIsWorse,
    HigherIsBetter,
}

/// An inclusive score range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScoreRange {
    pub min: i32,
    pub max: i32,
}

/// What to do when scored items are missing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "rule", rename_all = "snake_case", deny_unknown_fields)]
#[derive(Default)]
pub enum MissingRule {
    /// Every scored item must be answered (not-applicable items with a rule excepted);
    /// otherwise there is no total.
    #[default]
    Complete,
    /// Up to `max_missing` scored items may be missing; the total is prorated:
    /// round_half_up(sum of answered × number of scored items / number answered).
    Prorate { max_missing: u32, source: String },
}

/// Bands on the total, with their source.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BandSet {
    pub source: String,
    pub bands: Vec<Band>,
}

/// Comparison used by a cut-off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CutoffOperator {
    /// total ≥ value (PHQ-9 caseness ≥ 10).
    AtLeast,
    /// total ≤ value (SURE: ≤ 3 = decisional conflict).
    AtMost,
}

/// The caseness (or positive screen) cut-off on the total.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Cutoff {
    pub operator: CutoffOperator,
    pub value: i32,
    /// What meeting the cut-off means, e.g. "Clinical case", "Positive screen".
    pub label: String,
    pub source: String,
}

impl Cutoff {
    pub fn is_met(&self, total: i32) -> bool {
        match self.operator {
            CutoffOperator::AtLeast => total >= self.value,
            CutoffOperator::AtMost => total <= self.value,
        }
    }
}

/// Reliable change by a fixed threshold on the total (PHQ-9: 6, GAD-7: 4).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReliableChangeDef {
    pub threshold: u32,
    pub source: String,
}

fn default_critical() -> f64 {
    1.96
}

/// Parameters of the Jacobson–Truax reliable change index.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JacobsonTruaxParams {
    /// Standard deviation of the pre-treatment (or normative) scores.
    pub sd: f64,
    /// Reliability of the measure (test–retest or internal consistency), 0 ≤ r < 1.
    pub reliability: f64,
    /// |RCI| must exceed this to be reliable (1.96: p < .05 two-tailed).
    #[serde(default = "default_critical")]
    pub critical_value: f64,
    pub source: String,
}

/// Parameters of the Jacobson–Truax clinical cut-off c.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClinicalCutoffParams {
    pub mean_clinical: f64,
    pub sd_clinical: f64,
    pub mean_functional: f64,
    pub sd_functional: f64,
    pub source: String,
}

/// The scoring section of a definition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scoring {
    pub method: ScoringMethod,
    pub direction: Direction,
    /// Required for `sum`; must equal what the scored items add up to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub range: Option<ScoreRange>,
    #[serde(default)]
    pub missing: MissingRule,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bands: Option<BandSet>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caseness: Option<Cutoff>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reliable_change: Option<ReliableChangeDef>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jacobson_truax: Option<JacobsonTruaxParams>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clinical_cutoff: Option<ClinicalCutoffParams>,
    /// Where the scoring rule (sum, range) comes from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
}

/// A risk rule: an answer to `item` of at least `at_least` raises `flag`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RiskRule {
    pub item: String,
    pub at_least: i32,
    pub flag: String,
    pub source: String,
}

/// An instrument definition file (our own format), before validation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InstrumentDef {
    pub format: String,
    pub id: String,
    pub name: String,
    pub short_name: String,
    pub version: String,
    pub origin: Origin,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instructions: Option<String>,
    pub licence: Licence,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loinc: Option<InstrumentLoinc>,
    pub items: Vec<Item>,
    pub scoring: Scoring,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub risk: Vec<RiskRule>,
}

// ---------------------------------------------------------------------------------------
// Validation
// ---------------------------------------------------------------------------------------

/// A definition was rejected. Each problem names what is wrong and where, e.g.
/// `item 3 (id q3): answer option 2 has no score`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct DefinitionError {
    problems: Vec<String>,
}

impl DefinitionError {
    pub fn new(problem: impl Into<String>) -> Self {
        Self { problems: vec![problem.into()] }
    }
    pub(crate) fn from_problems(problems: Vec<String>) -> Self {
        Self { problems }
    }
    pub fn problems(&self) -> &[String] {
        &self.problems
    }
    /// The same problems, each prefixed (e.g. with the file name).
    pub fn prefixed(self, prefix: &str) -> Self {
        Self { problems: self.problems.into_iter().map(|p| format!("{prefix}: {p}")).collect() }
    }
}

impl fmt::Display for DefinitionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.problems.as_slice() {
            [one] => f.write_str(one),
            many => write!(f, "{} problems: {}", many.len(), many.join("; ")),
        }
    }
}

/// Whether a LOINC code has the form `12345-6` and a correct (mod 10) check digit.
pub fn loinc_is_valid(code: &str) -> bool {
    let Some((body, check)) = code.split_once('-') else {
        return false;
    };
    if body.is_empty() || body.len() > 7 || check.len() != 1 || !body.bytes().all(|b| b.is_ascii_digit()) {
        return false;
    }
    let Some(check) = check.bytes().next().filter(u8::is_ascii_digit) else {
        return false;
    };
    // Luhn: from the right, double every digit in an odd position.
    let sum: u32 = body
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let d = u32::from(b - b'0');
            if i % 2 == 0 {
                let dd = d * 2;
                dd / 10 + dd % 10
            } else {
                d
            }
        })
        .sum();
    (10 - sum % 10) % 10 == u32::from(check - b'0')
}

fn blank(s: &str) -> bool {
    s.trim().is_empty()
}

fn item_id_ok(id: &str) -> bool {
    !id.is_empty() && id.len() <= 64 && !id.chars().any(|c| c.is_whitespace() || c.is_control())
}

/// Checks bands: ids, labels, ascending, contiguous, covering `lo..=hi` exactly once.
fn check_bands(bands: &[Band], lo: i32, hi: i32, at: &str, problems: &mut Vec<String>) {
    if bands.is_empty() {
        problems.push(format!("{at}: bands are listed but empty"));
        return;
    }
    let mut seen: Vec<&str> = Vec::new();
    let mut expected_start = lo;
    for (i, b) in bands.iter().enumerate() {
        let n = i + 1;
        if !is_snake_id(&b.id, 40) {
            problems.push(format!("{at}: band {n} has id {:?}; band ids are snake_case, e.g. moderately_severe", b.id));
        }
        if seen.contains(&b.id.as_str()) {
            problems.push(format!("{at}: band {n} repeats the id {}", b.id));
        }
        seen.push(&b.id);
        if blank(&b.label) {
            problems.push(format!("{at}: band {n} ({}) has an empty label", b.id));
        }
        if b.min > b.max {
            problems.push(format!("{at}: band {n} ({}) runs from {} down to {}", b.id, b.min, b.max));
        }
        if b.min != expected_start {
            if i == 0 {
                problems.push(format!("{at}: bands start at {} but the range starts at {lo}", b.min));
            } else {
                problems.push(format!(
                    "{at}: band {n} ({}) starts at {} but the previous band ends at {}; bands must not overlap or leave gaps",
                    b.id,
                    b.min,
                    expected_start.saturating_sub(1)
                ));
            }
        }
        expected_start = b.max.saturating_add(1);
    }
    if let Some(last) = bands.last()
        && last.max != hi
    {
        problems.push(format!("{at}: bands end at {} but the range ends at {hi}", last.max));
    }
}

fn check_item(n: usize, item: &Item, problems: &mut Vec<String>) {
    let at = format!("item {n} (id {})", item.id);
    if blank(&item.text) {
        problems.push(format!("{at}: text is empty"));
    }
    if let Some(code) = &item.loinc
        && !loinc_is_valid(code)
    {
        problems.push(format!("{at}: LOINC code {code:?} is not a valid LOINC code (form 12345-6 with a correct check digit)"));
    }
    match &item.response {
        Response::Choice { options } => {
            if options.len() < 2 {
                problems.push(format!("{at}: needs at least 2 answer options"));
            }
            for (j, o) in options.iter().enumerate() {
                let m = j + 1;
                if blank(&o.label) {
                    problems.push(format!("{at}: answer option {m} has an empty label"));
                }
                if let Some(k) = options.iter().take(j).position(|earlier| earlier.value == o.value) {
                    problems.push(format!("{at}: answer option {m} repeats the value {} of answer option {}", o.value, k + 1));
                }
                if let Some(code) = &o.code
                    && blank(&code.code)
                {
                    problems.push(format!("{at}: answer option {m} has an empty code"));
                }
            }
        }
        Response::Scale { min, max, anchors } => {
            if min >= max {
                problems.push(format!("{at}: scale minimum {min} must be below its maximum {max}"));
            }
            for (j, a) in anchors.iter().enumerate() {
                if !(*min..=*max).contains(&a.value) {
                    problems.push(format!("{at}: anchor {} ({}) is outside the scale {min} to {max}", j + 1, a.value));
                }
                if blank(&a.label) {
                    problems.push(format!("{at}: anchor {} has an empty label", j + 1));
                }
            }
        }
        Response::Text { .. } => {
            if item.scored {
                problems.push(format!("{at}: a text item cannot be scored"));
            }
            if item.not_applicable.is_some() {
                problems.push(format!("{at}: a text item cannot have a not-applicable answer"));
            }
            if !item.bands.is_empty() {
                problems.push(format!("{at}: a text item cannot have bands"));
            }
        }
    }
    if let Some(na) = &item.not_applicable
        && (blank(&na.label) || blank(&na.source))
    {
        problems.push(format!("{at}: the not-applicable answer needs a label and a source"));
    }
    if !item.bands.is_empty() {
        if let Some((lo, hi)) = item.value_range() {
            check_bands(&item.bands, lo, hi, &at, problems);
        }
        if item.bands_source.as_deref().is_none_or(blank) {
            problems.push(format!("{at}: bands need a source (bands_source)"));
        }
    }
}

fn check_scoring(def: &InstrumentDef, problems: &mut Vec<String>) {
    let s = &def.scoring;
    let scored: Vec<&Item> = def.items.iter().filter(|i| i.scored).collect();
    match s.method {
        ScoringMethod::Sum => {
            if scored.is_empty() {
                problems.push("scoring: a summed instrument needs at least one scored item".into());
            }
            let ranges: Vec<(i32, i32)> = scored.iter().filter_map(|i| i.value_range()).collect();
            let lo: i64 = ranges.iter().map(|r| i64::from(r.0)).sum();
            let hi: i64 = ranges.iter().map(|r| i64::from(r.1)).sum();
            match s.range {
                None => problems.push(format!("scoring: a summed instrument needs a range (the scored items add up to {lo} to {hi})")),
                Some(r) => {
                    if i64::from(r.min) != lo || i64::from(r.max) != hi {
                        problems.push(format!("scoring: range is {} to {} but the scored items add up to {lo} to {hi}", r.min, r.max));
                    }
                    if let Some(bands) = &s.bands {
                        if blank(&bands.source) {
                            problems.push("scoring: bands need a source".into());
                        }
                        check_bands(&bands.bands, r.min, r.max, "scoring", problems);
                    }
                    if let Some(c) = &s.caseness {
                        if !(r.min..=r.max).contains(&c.value) {
                            problems.push(format!("scoring: caseness cut-off {} is outside the range {} to {}", c.value, r.min, r.max));
                        }
                        if blank(&c.label) || blank(&c.source) {
                            problems.push("scoring: caseness needs a label and a source".into());
                        }
                    }
                    if let Some(rc) = &s.reliable_change {
                        let width = i64::from(r.max) - i64::from(r.min);
                        if rc.threshold == 0 || i64::from(rc.threshold) > width {
                            problems.push(format!(
                                "scoring: reliable-change threshold {} must be between 1 and the width of the range ({width})",
                                rc.threshold
                            ));
                        }
                        if blank(&rc.source) {
                            problems.push("scoring: reliable change needs a source".into());
                        }
                    }
                }
            }
            let imputes = matches!(s.missing, MissingRule::Prorate { .. }) || scored.iter().any(|i| i.not_applicable.is_some());
            if imputes
                && let Some(first) = ranges.first()
                && ranges.iter().any(|r| r != first)
            {
                problems.push(
                    "scoring: prorating or substituting missing items needs every scored item to have the same range of values".into(),
                );
            }
            if let MissingRule::Prorate { max_missing, source } = &s.missing {
                if usize::try_from(*max_missing).map_or(true, |m| m >= scored.len()) {
                    problems.push(format!(
                        "scoring: prorating allows {max_missing} missing items but there are only {} scored items",
                        scored.len()
                    ));
                }
                if blank(source) {
                    problems.push("scoring: the prorating rule needs a source".into());
                }
            }
        }
        ScoringMethod::PerItem => {
            let totals_only = [
                (s.range.is_some(), "range"),
                (s.bands.is_some(), "bands"),
                (s.caseness.is_some(), "caseness"),
                (s.reliable_change.is_some(), "reliable_change"),
                (s.jacobson_truax.is_some(), "jacobson_truax"),
                (s.clinical_cutoff.is_some(), "clinical_cutoff"),
                (s.missing != MissingRule::Complete, "missing"),
            ];
            for (present, name) in totals_only {
                if present {
                    problems.push(format!("scoring: {name} needs a total, but the method is per_item (put bands on items instead)"));
                }
            }
        }
    }
    if let Some(jt) = &s.jacobson_truax {
        if let Err(e) = super::outcome::check_jt_params(jt) {
            problems.push(format!("scoring: jacobson_truax: {e}"));
        }
        if blank(&jt.source) {
            problems.push("scoring: jacobson_truax needs a source".into());
        }
    }
    if let Some(cc) = &s.clinical_cutoff {
        if let Err(e) = super::outcome::clinical_cutoff(cc) {
            problems.push(format!("scoring: clinical_cutoff: {e}"));
        }
        if blank(&cc.source) {
            problems.push("scoring: clinical_cutoff needs a source".into());
        }
    }
}

fn check_risk(def: &InstrumentDef, problems: &mut Vec<String>) {
    for (i, r) in def.risk.iter().enumerate() {
        let n = i + 1;
        match def.items.iter().find(|it| it.id == r.item) {
            None => problems.push(format!("risk rule {n}: no item with id {}", r.item)),
            Some(item) => match item.value_range() {
                None => problems.push(format!("risk rule {n}: item {} is a text item and cannot raise a flag", r.item)),
                Some((lo, hi)) => {
                    if r.at_least <= lo || r.at_least > hi {
                        problems.push(format!(
                            "risk rule {n}: at_least {} must be above the item's lowest value {lo} and at most its highest value {hi}",
                            r.at_least
                        ));
                    }
                }
            },
        }
        if let Err(e) = Flag::parse(&r.flag) {
            problems.push(format!("risk rule {n}: {e}"));
        }
        if blank(&r.source) {
            problems.push(format!("risk rule {n}: needs a source"));
        }
    }
}

/// Every problem with a definition; empty when it is valid.
pub fn problems(def: &InstrumentDef) -> Vec<String> {
    let mut problems = Vec::new();
    if def.format != FORMAT {
        problems.push(format!("format must be {FORMAT:?}, got {:?}", def.format));
    }
    if let Err(e) = InstrumentId::parse(&def.id) {
        problems.push(e.to_string());
    }
    for (value, name) in
        [(&def.name, "name"), (&def.short_name, "short_name"), (&def.version, "version"), (&def.licence.note, "licence note")]
    {
        if blank(value) {
            problems.push(format!("{name} is empty"));
        }
    }
    if let Some(loinc) = &def.loinc {
        for (code, what) in [(&loinc.panel, "panel"), (&loinc.total, "total")] {
            if let Some(code) = code
                && !loinc_is_valid(code)
            {
                problems.push(format!("LOINC {what} code {code:?} is not a valid LOINC code (form 12345-6 with a correct check digit)"));
            }
        }
    }
    if def.items.is_empty() {
        problems.push("the instrument has no items".into());
    }
    let mut first_seen: BTreeMap<&str, usize> = BTreeMap::new();
    for (i, item) in def.items.iter().enumerate() {
        let n = i + 1;
        if !item_id_ok(&item.id) {
            problems.push(format!("item {n}: id {:?} must be 1 to 64 characters without spaces", item.id));
        }
        if let Some(earlier) = first_seen.get(item.id.as_str()) {
            problems.push(format!("item {n} (id {}): the id is already used by item {earlier}", item.id));
        } else {
            first_seen.insert(&item.id, n);
        }
        check_item(n, item, &mut problems);
    }
    check_scoring(def, &mut problems);
    check_risk(def, &mut problems);
    problems
}

// ---------------------------------------------------------------------------------------
// The validated instrument
// ---------------------------------------------------------------------------------------

/// A validated instrument definition. Built only through [`Instrument::from_def`],
/// [`Instrument::from_json`] or [`Instrument::from_fhir_questionnaire`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "InstrumentDef", into = "InstrumentDef")]
pub struct Instrument {
    id: InstrumentId,
    def: InstrumentDef,
}

impl TryFrom<InstrumentDef> for Instrument {
    type Error = DefinitionError;
    fn try_from(def: InstrumentDef) -> Result<Self, Self::Error> {
        Self::from_def(def)
    }
}
impl From<Instrument> for InstrumentDef {
    fn from(i: Instrument) -> Self {
        i.def
    }
}

impl Instrument {
    /// Validates a definition.
    pub fn from_def(def: InstrumentDef) -> Result<Self, DefinitionError> {
        let problems = problems(&def);
        if !problems.is_empty() {
            return Err(DefinitionError { problems });
        }
        let id = InstrumentId::parse(&def.id).map_err(|e| DefinitionError::new(e.to_string()))?;
        Ok(Self { id, def })
    }

    /// Parses and validates our own JSON format.
    pub fn from_json(json: &str) -> Result<Self, DefinitionError> {
        let def: InstrumentDef =
            serde_json::from_str(json).map_err(|e| DefinitionError::new(format!("not a valid instrument definition: {e}")))?;
        Self::from_def(def)
    }

    /// Imports a FHIR R4/R4B Questionnaire (see [`crate::measures::fhir`]); the id is made
    /// from the Questionnaire's `name` (else `id`), e.g. `phq_9_quick_depression_assessment_panel`.
    pub fn from_fhir_questionnaire(json: &str) -> Result<Self, DefinitionError> {
        Self::from_def(super::fhir::questionnaire_to_def(json, None)?)
    }

    /// Imports a FHIR Questionnaire under the given instrument id.
    pub fn from_fhir_questionnaire_as(json: &str, id: &str) -> Result<Self, DefinitionError> {
        Self::from_def(super::fhir::questionnaire_to_def(json, Some(id))?)
    }

    /// Our own JSON format (pretty), e.g. to store an imported definition or to edit an
    /// imported FHIR Questionnaire (add bands) and import it again.
    pub fn to_json(&self) -> Result<String, DefinitionError> {
        serde_json::to_string_pretty(&self.def).map_err(|e| DefinitionError::new(format!("cannot write the definition: {e}")))
    }

    pub fn id(&self) -> &InstrumentId {
        &self.id
    }
    /// The whole definition, read-only.
    pub fn def(&self) -> &InstrumentDef {
        &self.def
    }
    pub fn name(&self) -> &str {
        &self.def.name
    }
    pub fn short_name(&self) -> &str {
        &self.def.short_name
    }
    pub fn version(&self) -> &str {
        &self.def.version
    }
    pub fn origin(&self) -> Origin {
        self.def.origin
    }
    pub fn licence(&self) -> &Licence {
        &self.def.licence
    }
    pub fn loinc(&self) -> Option<&InstrumentLoinc> {
        self.def.loinc.as_ref()
    }
    pub fn items(&self) -> &[Item] {
        &self.def.items
    }
    pub fn scoring(&self) -> &Scoring {
        &self.def.scoring
    }
    pub fn risk_rules(&self) -> &[RiskRule] {
        &self.def.risk
    }
    /// The items that take a slot in the answers (choice and scale items), in order.
    pub fn answer_items(&self) -> impl Iterator<Item = &Item> {
        self.def.items.iter().filter(|i| i.is_numeric())
    }
    /// The free-text items (not part of the numeric answers).
    pub fn text_items(&self) -> impl Iterator<Item = &Item> {
        self.def.items.iter().filter(|i| !i.is_numeric())
    }
    /// How many answers a full response has.
    pub fn answer_count(&self) -> usize {
        self.answer_items().count()
    }
    /// How many items count towards the total.
    pub fn scored_count(&self) -> usize {
        self.def.items.iter().filter(|i| i.scored).count()
    }
    /// The band a total falls in.
    pub fn band_for(&self, total: i32) -> Option<&Band> {
        self.def.scoring.bands.as_ref()?.bands.iter().find(|b| (b.min..=b.max).contains(&total))
    }
    pub fn item(&self, id: &str) -> Option<&Item> {
        self.def.items.iter().find(|i| i.id == id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loinc_check_digits() {
        for ok in ["44249-1", "44261-6", "44260-8", "55757-9", "55758-7", "69737-5", "70274-6", "69722-7", "44250-9"] {
            assert!(loinc_is_valid(ok), "{ok}");
        }
        for bad in ["44260-9", "69722-9", "4426-8", "44260", "-8", "44a60-8", "44260-88", ""] {
            assert!(!loinc_is_valid(bad), "{bad}");
        }
    }

    #[test]
    fn ids() {
        assert!(InstrumentId::parse("phq9").is_ok());
        assert!(InstrumentId::parse("PHQ9").is_err());
        assert!(InstrumentId::parse("9phq").is_err());
        assert!(InstrumentId::parse("").is_err());
        assert!(Flag::parse("safety").is_ok());
        assert!(Flag::parse("Safety").is_err());
    }

    #[test]
    fn definition_error_display() {
        let one = DefinitionError::new("a");
        assert_eq!(one.to_string(), "a");
        let two = DefinitionError { problems: vec!["a".into(), "b".into()] };
        assert_eq!(two.to_string(), "2 problems: a; b");
    }
}
