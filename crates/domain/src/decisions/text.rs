//! Free-text values of the decision worksheet, parsed once at the edge: trimmed, not empty,
//! bounded, no control characters (line breaks only where a value may span lines).

use crate::values::ValueError;
use serde::{Deserialize, Serialize};
use std::fmt;

fn clean(raw: &str, what: &str, max_chars: usize, multiline: bool) -> Result<String, ValueError> {
    let normalised = raw.replace("\r\n", "\n");
    let s = normalised.trim();
    if s.is_empty() {
        return Err(ValueError::Invalid(format!("{what} must not be empty")));
    }
    if s.chars().count() > max_chars {
        return Err(ValueError::Invalid(format!("{what} must be at most {max_chars} characters")));
    }
    if s.chars().any(|c| c.is_control() && !(multiline && c == '\n')) {
        let allowed = if multiline { " (other than line breaks)" } else { "" };
        return Err(ValueError::Invalid(format!("{what} must not contain control characters{allowed}")));
    }
    Ok(s.to_owned())
}

macro_rules! text_value {
    ($(#[$doc:meta])* $name:ident, $what:literal, $max:literal, $multiline:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(pub(super) String);

        impl $name {
            pub const MAX_CHARS: usize = $max;
            pub fn parse(raw: &str) -> Result<Self, ValueError> {
                clean(raw, $what, $max, $multiline).map(Self)
            }
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
        impl TryFrom<String> for $name {
            type Error = ValueError;
            fn try_from(s: String) -> Result<Self, Self::Error> {
                Self::parse(&s)
            }
        }
        impl From<$name> for String {
            fn from(v: $name) -> String {
                v.0
            }
        }
    };
}

text_value!(
    /// The decision in the client's words ("Should I try medication for my low mood?").
    DecisionQuestion,
    "question",
    500,
    false
);
text_value!(
    /// Something the client said, kept in their words (what they decided, a balance-grid entry).
    ClientWords,
    "text",
    2000,
    true
);
text_value!(
    /// The name of an option ("Referral for a medication evaluation", or the client's own).
    OptionName,
    "option name",
    120,
    false
);
text_value!(
    /// A criterion the client names ("feel like myself", "no weight gain", "cost").
    CriterionName,
    "criterion name",
    120,
    false
);
text_value!(
    /// One entry describing an option (a benefit, a harm, what living with it is like, …).
    EntryText,
    "entry",
    2000,
    true
);
text_value!(
    /// A source for an entry, as a citation ("NICE NG222 (2022), section 1.8") or an address.
    SourceRef,
    "source",
    500,
    false
);
