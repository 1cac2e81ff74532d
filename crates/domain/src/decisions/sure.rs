//! Reading a SURE test (Légaré et al. 2010): the `sure` instrument is scored by
//! [`crate::measures::score`]; this module says what a "No" means. A total of 3 or less
//! screens positive for decisional conflict (the instrument's own cut-off), and each "No"
//! names a need, with a next step in the spirit of the Ottawa Personal Decision Guide.

use crate::measures::definition::Instrument;
use crate::measures::score::{Answer, Answers, Score, ScoreError, score};
use serde::{Deserialize, Serialize};
use std::fmt;

/// The id of the shipped SURE instrument.
pub const SURE_INSTRUMENT_ID: &str = "sure";

/// The guide whose steps the next-step texts follow (cited by name).
pub const OTTAWA_GUIDE: &str = "Ottawa Personal Decision Guide";

/// What a "No" to one SURE item says is missing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SureArea {
    /// Sure of myself.
    Certainty,
    /// Understand information.
    Knowledge,
    /// Risk-benefit ratio.
    ValuesClarity,
    /// Encouragement.
    Support,
}

impl SureArea {
    /// In the order of the SURE items.
    pub const ALL: [SureArea; 4] = [SureArea::Certainty, SureArea::Knowledge, SureArea::ValuesClarity, SureArea::Support];

    pub fn as_str(self) -> &'static str {
        match self {
            SureArea::Certainty => "certainty",
            SureArea::Knowledge => "knowledge",
            SureArea::ValuesClarity => "values_clarity",
            SureArea::Support => "support",
        }
    }

    /// The item id in `instruments/sure.json`.
    pub fn item_id(self) -> &'static str {
        match self {
            SureArea::Certainty => "sure",
            SureArea::Knowledge => "understand",
            SureArea::ValuesClarity => "risk_benefit",
            SureArea::Support => "encouragement",
        }
    }

    /// The SURE mnemonic for the item.
    pub fn item_name(self) -> &'static str {
        match self {
            SureArea::Certainty => "Sure of myself",
            SureArea::Knowledge => "Understand information",
            SureArea::ValuesClarity => "Risk-benefit ratio",
            SureArea::Support => "Encouragement",
        }
    }

    /// The need, in plain words.
    pub fn label(self) -> &'static str {
        match self {
            SureArea::Certainty => "Feeling sure about the choice",
            SureArea::Knowledge => "Knowing enough about the options",
            SureArea::ValuesClarity => "Being clear about what matters most",
            SureArea::Support => "Having enough support",
        }
    }

    /// A possible next step (after the Ottawa Personal Decision Guide), offered, not
    /// prescribed.
    pub fn next_step(self) -> &'static str {
        match self {
            SureArea::Certainty => {
                "Feeling unsure is common with a hard choice. It may help to look at which of the other needs \
                 (information, what matters to you, support) is still open, and to give yourself the time you need."
            }
            SureArea::Knowledge => {
                "You could find out more about each option, its possible benefits and harms and how likely they are, \
                 and write down the questions you would like answered, for example to ask your therapist or a prescriber."
            }
            SureArea::ValuesClarity => {
                "You could go back to the values worksheet or the decisional balance grid and notice which benefits and \
                 harms matter most to you; hearing how others lived with each option may help too."
            }
            SureArea::Support => {
                "You could talk the options through with someone you trust, think about who else you would like involved, \
                 and say which role you would like to have in making the decision."
            }
        }
    }

    fn from_item_id(id: &str) -> Option<Self> {
        SureArea::ALL.into_iter().find(|a| a.item_id() == id)
    }
}

impl fmt::Display for SureArea {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The SURE test read for the decision worksheet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SureResult {
    /// 0–4, the number of "Yes" answers.
    pub score: i32,
    /// Total ≤ 3: decisional conflict (Légaré et al. 2010).
    pub conflict: bool,
    /// What each "No" says is missing, in item order.
    pub missing: Vec<SureArea>,
}

impl SureResult {
    /// Each missing area with its suggested next step, in item order.
    pub fn next_steps(&self) -> Vec<(SureArea, &'static str)> {
        self.missing.iter().map(|a| (*a, a.next_step())).collect()
    }

    /// A short summary for the worksheet and the dossier.
    pub fn summary(&self) -> String {
        if self.missing.is_empty() {
            return format!("SURE {}/4: no sign of decisional conflict.", self.score);
        }
        let names: Vec<&str> = self.missing.iter().map(|a| a.label()).collect();
        format!("SURE {}/4: some decisional conflict. Still open: {}.", self.score, names.join("; ").to_lowercase())
    }
}

/// Why a SURE result could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SureError {
    #[error("expected a SURE test (instrument sure), got {0}")]
    NotSure(String),
    #[error(transparent)]
    Score(#[from] ScoreError),
    #[error("the SURE test needs an answer to every question")]
    Incomplete,
    #[error("the SURE test has an item Concord does not know: {0}")]
    UnknownItem(String),
}

/// Reads a scored `sure` response. Conflict follows the instrument's caseness cut-off
/// (≤ 3), falling back to total ≤ 3 if a definition lacks one.
pub fn sure_from_score(score: &Score) -> Result<SureResult, SureError> {
    if score.instrument.as_str() != SURE_INSTRUMENT_ID {
        return Err(SureError::NotSure(score.instrument.as_str().to_owned()));
    }
    let total = score.total.ok_or(SureError::Incomplete)?;
    let mut missing = Vec::new();
    for item in score.items.iter().filter(|i| i.scored) {
        let area = SureArea::from_item_id(&item.id).ok_or_else(|| SureError::UnknownItem(item.id.clone()))?;
        match item.answer {
            Answer::Value(0) => missing.push(area),
            Answer::Value(_) => {}
            Answer::Missing | Answer::NotApplicable => return Err(SureError::Incomplete),
        }
    }
    Ok(SureResult { score: total, conflict: score.caseness.unwrap_or(total <= 3), missing })
}

/// Scores yes/no answers (in item order; `true` = Yes) with the `sure` instrument and reads
/// the result. The wrong number of answers is a [`ScoreError::WrongLength`].
pub fn score_sure(instrument: &Instrument, answers: &[bool]) -> Result<SureResult, SureError> {
    if instrument.id().as_str() != SURE_INSTRUMENT_ID {
        return Err(SureError::NotSure(instrument.id().as_str().to_owned()));
    }
    let answers = Answers::new(answers.iter().map(|yes| Answer::Value(i32::from(*yes))).collect());
    sure_from_score(&score(instrument, &answers)?)
}
