//! Typed ids for the decision records. They follow the rules of [`crate::ids`]: a UUIDv7,
//! only the canonical hyphenated lower-case spelling parses, one kind cannot stand in for
//! another.

use crate::ids::IdParseError;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;
use uuid::Uuid;

macro_rules! decision_id {
    ($name:ident, $kind:literal) => {
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(Uuid);

        impl $name {
            /// A new id whose leading bits are the given time (UUIDv7), so ids sort by creation.
            pub fn new_at(unix_millis: u64, random: [u8; 10]) -> Self {
                Self(uuid::Builder::from_unix_timestamp_millis(unix_millis, &random).into_uuid())
            }
            pub fn as_uuid(&self) -> Uuid {
                self.0
            }
        }
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.hyphenated().fmt(f)
            }
        }
        impl FromStr for $name {
            type Err = IdParseError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                let u = Uuid::try_parse(s).map_err(|_| IdParseError { kind: $kind })?;
                if u.hyphenated().to_string() != s {
                    return Err(IdParseError { kind: $kind });
                }
                Ok(Self(u))
            }
        }
        impl TryFrom<String> for $name {
            type Error = IdParseError;
            fn try_from(s: String) -> Result<Self, Self::Error> {
                s.parse()
            }
        }
        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.to_string()
            }
        }
    };
}

decision_id!(DecisionId, "decision");
decision_id!(OptionId, "option");
decision_id!(CriterionId, "criterion");
