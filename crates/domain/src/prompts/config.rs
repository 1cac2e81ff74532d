//! Per-practice thresholds for the prompt rules, with the defaults from PRODUCT.md and the
//! NHS Talking Therapies manual.

use crate::measures::InstrumentId;
use crate::measures::outcome::{OutcomeConfig, OutcomeError};
use serde::{Deserialize, Serialize};

/// A practice's prompt thresholds. Deserializable (unknown fields are refused, missing ones
/// take their default) so a practice can store its own; check it with [`PromptConfig::validate`]
/// before use. [`super::evaluate`] never panics on an invalid configuration, but its results
/// are only meaningful for a valid one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PromptConfig {
    /// Caseness and reliable-change thresholds per measure (NHS Talking Therapies by default:
    /// PHQ-9 caseness ≥ 10, reliable change 6; GAD-7 caseness ≥ 8, reliable change 4). Used by
    /// the no-progress and reliable-deterioration rules.
    pub outcome: OutcomeConfig,

    /// Safety: the instrument and item whose answer above `safety_item_above` is a safety
    /// concern (PHQ-9 item 9, "q9", above 0).
    pub safety_instrument: InstrumentId,
    pub safety_item: String,
    pub safety_item_above: i32,

    /// No progress despite engagement: at least this many attended sessions…
    pub min_attended_sessions: u32,
    /// …spanning at least this many weeks (first to latest attended session).
    pub min_weeks: u32,

    /// Persistent functional impairment: `impairment_instrument` total above
    /// `impairment_above` on the latest `impairment_consecutive` measures (WSAS > 20 on 3).
    pub impairment_instrument: InstrumentId,
    pub impairment_above: i32,
    pub impairment_consecutive: u32,

    /// Reliable deterioration is also judged from the previous measure, not only from intake.
    pub deterioration_from_previous: bool,

    /// Alliance drop: the running baseline needs at least this many earlier ratings…
    pub alliance_min_baseline: u32,
    /// …and the latest rating must be at least this many percent below it.
    pub alliance_drop_percent: u32,
}

impl Default for PromptConfig {
    fn default() -> Self {
        Self {
            outcome: OutcomeConfig::nhs_talking_therapies(),
            safety_instrument: InstrumentId::known("phq9"),
            safety_item: "q9".into(),
            safety_item_above: 0,
            min_attended_sessions: 6,
            min_weeks: 8,
            impairment_instrument: InstrumentId::known("wsas"),
            impairment_above: 20,
            impairment_consecutive: 3,
            deterioration_from_previous: true,
            alliance_min_baseline: 3,
            alliance_drop_percent: 15,
        }
    }
}

/// A practice-supplied configuration that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PromptConfigError {
    #[error(transparent)]
    Outcome(#[from] OutcomeError),
    #[error("{0}")]
    Invalid(String),
}

impl PromptConfig {
    /// Checks every threshold; the message names the field and the allowed values.
    pub fn validate(&self) -> Result<(), PromptConfigError> {
        self.outcome.validate()?;
        let bad = |m: &str| Err(PromptConfigError::Invalid(m.to_owned()));
        if self.safety_item.trim().is_empty() {
            return bad("safety_item must name an item (e.g. q9)");
        }
        if self.safety_item_above < 0 {
            return bad("safety_item_above must be 0 or more");
        }
        if self.min_attended_sessions == 0 || self.min_attended_sessions > 200 {
            return bad("min_attended_sessions must be between 1 and 200");
        }
        if self.min_weeks > 520 {
            return bad("min_weeks must be between 0 and 520");
        }
        if self.impairment_consecutive == 0 || self.impairment_consecutive > 50 {
            return bad("impairment_consecutive must be between 1 and 50");
        }
        if self.alliance_min_baseline == 0 || self.alliance_min_baseline > 50 {
            return bad("alliance_min_baseline must be between 1 and 50");
        }
        if self.alliance_drop_percent == 0 || self.alliance_drop_percent > 100 {
            return bad("alliance_drop_percent must be between 1 and 100");
        }
        Ok(())
    }
}
