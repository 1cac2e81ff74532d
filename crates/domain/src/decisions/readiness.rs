//! Reflective follow-ups for the readiness rulers (the `readiness` instrument: importance,
//! confidence, readiness, each 0–10). The usual motivational-interviewing move is to ask
//! why the number is not lower, which invites the client's own reasons for change, and
//! what would move it up a little. No cut-offs, no judgement.

use crate::measures::score::{Answer, Score};
use crate::values::ValueError;
use serde::{Deserialize, Serialize};
use std::fmt;

/// The id of the shipped readiness rulers instrument.
pub const READINESS_INSTRUMENT_ID: &str = "readiness";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Ruler {
    Importance,
    Confidence,
    Readiness,
}

impl Ruler {
    pub const ALL: [Ruler; 3] = [Ruler::Importance, Ruler::Confidence, Ruler::Readiness];

    /// Also the item id in `instruments/readiness.json`.
    pub fn as_str(self) -> &'static str {
        match self {
            Ruler::Importance => "importance",
            Ruler::Confidence => "confidence",
            Ruler::Readiness => "readiness",
        }
    }

    /// A label for pages.
    pub fn label(self) -> &'static str {
        match self {
            Ruler::Importance => "Importance",
            Ruler::Confidence => "Confidence",
            Ruler::Readiness => "Readiness",
        }
    }

    fn move_up(self) -> &'static str {
        match self {
            Ruler::Importance => "What might make it matter a little more to you?",
            Ruler::Confidence => "What might help you feel a little more confident?",
            Ruler::Readiness => "What would need to happen for you to feel a little more ready?",
        }
    }
}

impl fmt::Display for Ruler {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A ruler's value with its follow-up question.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RulerReflection {
    pub ruler: Ruler,
    pub value: u8,
    pub text: String,
}

/// The follow-up for one ruler: "You put importance at 7. What makes it a 7 rather than a
/// 4? …". Values outside 0–10 are refused.
pub fn ruler_reflection(ruler: Ruler, value: i64) -> Result<String, ValueError> {
    let v = u8::try_from(value)
        .ok()
        .filter(|v| *v <= 10)
        .ok_or_else(|| ValueError::Invalid(format!("{ruler} must be a whole number from 0 to 10")))?;
    let name = ruler.as_str();
    Ok(match v {
        0 => format!("You put {name} at 0. What would have to be different for it to reach a 1 or a 2?"),
        10 => format!("You put {name} at 10. What makes it a 10 for you?"),
        _ => {
            let lower = v.saturating_sub(3);
            let article = if v == 8 { "an" } else { "a" };
            format!("You put {name} at {v}. What makes it {article} {v} rather than a {lower}? {}", ruler.move_up())
        }
    })
}

/// Why the readiness rulers could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReadinessError {
    #[error("expected the readiness rulers (instrument readiness), got {0}")]
    NotReadiness(String),
    #[error(transparent)]
    Value(#[from] ValueError),
}

/// The follow-ups for every answered ruler of a scored `readiness` response, in ruler order;
/// an unanswered ruler is skipped.
pub fn readiness_reflections(score: &Score) -> Result<Vec<RulerReflection>, ReadinessError> {
    if score.instrument.as_str() != READINESS_INSTRUMENT_ID {
        return Err(ReadinessError::NotReadiness(score.instrument.as_str().to_owned()));
    }
    let mut out = Vec::new();
    for ruler in Ruler::ALL {
        let answer = score.items.iter().find(|i| i.id == ruler.as_str()).map(|i| i.answer);
        if let Some(Answer::Value(v)) = answer {
            let text = ruler_reflection(ruler, i64::from(v))?;
            let value = u8::try_from(v).map_err(|_| ValueError::Invalid(format!("{ruler} must be from 0 to 10")))?;
            out.push(RulerReflection { ruler, value, text });
        }
    }
    Ok(out)
}
