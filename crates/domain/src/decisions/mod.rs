//! Shared decision making (issue 5): the pure rules behind the decision worksheet.
//!
//! - [`ids`]: typed ids for decisions, their options and the client's criteria.
//! - [`text`]: the client's words and the other free-text values, parsed once at the edge.
//! - [`record`]: the decision record: the question in the client's words, the preferred
//!   role (Ottawa Personal Decision Guide), and the status state machine
//!   (deliberating → decided | deferred, and back), with revisit dates.
//! - [`options`]: the options side by side (the two Concord offers plus the client's own),
//!   their IPDAS attributes with sources and review dates, and [`options::balance_check`].
//! - [`weighing`]: values clarification: criteria with importance 0–10, fit ratings 0–10,
//!   the weighted fit, the sensitivity view and the "mirror" sentences.
//! - [`balance`]: the decisional balance grid (Miller & Rose: no scoring, therapist neutral).
//! - [`sure`]: reading the `sure` instrument's score: conflict, what is missing, next steps.
//! - [`readiness`]: reflective follow-up questions for the readiness rulers.
//!
//! Product rule: nothing here recommends an option. Computed results are described as a
//! mirror of what the client said ("Given the weights you chose, …").
//!
//! Architecture Invariant: pure. No IO, no clock (callers pass `today`), no async.

pub mod balance;
pub mod ids;
pub mod options;
pub mod readiness;
pub mod record;
pub mod sure;
pub mod text;
pub mod weighing;

pub use balance::{DecisionalBalance, Quadrant};
pub use ids::{CriterionId, DecisionId, OptionId};
pub use options::{AttributeEntry, AttributeKind, DecisionOption, OfferedOption, OptionOrigin, Warning, balance_check};
pub use record::{DecisionRecord, DecisionStatus, PreferredRole, StatusChange, StatusKind, TransitionError, revisit_due, transition};
pub use sure::{SureArea, SureError, SureResult};
pub use text::{ClientWords, CriterionName, DecisionQuestion, EntryText, OptionName, SourceRef};
pub use weighing::{
    Criterion, Direction, Fit, Importance, OptionFit, RatingError, Ratings, Sensitivity, mirror_sentence, sensitivity,
    sensitivity_sentence, weighted_fit,
};

/// Phrases that read as advice rather than information. Concord never recommends an
/// option; [`options::balance_check`] flags these in option descriptions, and the tests
/// check that no sentence built here contains one.
pub const DIRECTIVE_PHRASES: &[&str] = &[
    "you should",
    "you must",
    "you need to",
    "we recommend",
    "i recommend",
    "is recommended",
    "best option",
    "best choice",
    "right choice",
    "the right option",
];

/// The first directive phrase found in `text` (case-insensitive), if any.
pub fn directive_phrase(text: &str) -> Option<&'static str> {
    let lower = text.to_lowercase();
    DIRECTIVE_PHRASES.iter().copied().find(|p| lower.contains(p))
}

/// Dates in JSON as `YYYY-MM-DD`.
pub(crate) mod date_iso {
    use serde::{Deserialize, Deserializer, Serializer};
    use time::Date;

    pub(crate) fn serialize<S: Serializer>(d: &Date, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&crate::values::format_date(*d))
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Date, D::Error> {
        let raw = String::deserialize(d)?;
        crate::values::parse_date(&raw).ok_or_else(|| serde::de::Error::custom("a date must be written YYYY-MM-DD"))
    }

    pub(crate) mod option {
        use serde::{Deserialize, Deserializer, Serializer};
        use time::Date;

        pub(crate) fn serialize<S: Serializer>(d: &Option<Date>, s: S) -> Result<S::Ok, S::Error> {
            match d {
                Some(d) => s.serialize_some(&crate::values::format_date(*d)),
                None => s.serialize_none(),
            }
        }

        pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Date>, D::Error> {
            match Option::<String>::deserialize(d)? {
                Some(raw) => {
                    crate::values::parse_date(&raw).map(Some).ok_or_else(|| serde::de::Error::custom("a date must be written YYYY-MM-DD"))
                }
                None => Ok(None),
            }
        }
    }
}
