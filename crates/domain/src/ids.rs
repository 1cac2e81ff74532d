//! Typed identifiers. Each wraps a UUIDv7 and parses strictly, so a malformed path
//! parameter is rejected at the edge and one kind of id cannot be passed for another.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;
use uuid::Uuid;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a valid {kind} id")]
pub struct IdParseError {
    pub kind: &'static str,
}

macro_rules! typed_id {
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
                // Only the canonical hyphenated lower-case form: one spelling per id.
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

typed_id!(PracticeId, "practice");
typed_id!(UserId, "user");
typed_id!(ClientId, "client");
typed_id!(SessionId, "session");
typed_id!(TokenId, "token");
typed_id!(BreakGlassId, "break-glass");
typed_id!(ResponseId, "response");
typed_id!(ScheduleId, "schedule");
typed_id!(PortalLinkId, "portal-link");
typed_id!(TranscriptId, "transcript");
typed_id!(DecisionId, "decision");
typed_id!(OptionId, "option");
typed_id!(CriterionId, "criterion");
typed_id!(DossierId, "dossier");

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn rejects_non_canonical_and_garbage() {
        assert!("not-an-id".parse::<ClientId>().is_err());
        assert!("".parse::<ClientId>().is_err());
        assert!("../../etc/passwd".parse::<ClientId>().is_err());
        let id = ClientId::new_at(1_700_000_000_000, [7; 10]);
        let upper = id.to_string().to_uppercase();
        assert!(upper.parse::<ClientId>().is_err());
        assert_eq!(id.to_string().parse::<ClientId>().unwrap(), id);
    }

    proptest! {
        #[test]
        fn round_trips(ms in 0u64..(1u64 << 47), r in any::<[u8; 10]>()) {
            let id = UserId::new_at(ms, r);
            prop_assert_eq!(id.to_string().parse::<UserId>().unwrap(), id);
        }

        #[test]
        fn never_panics_on_input(s in ".{0,64}") {
            let _ = s.parse::<SessionId>();
        }
    }
}
typed_id!(PromptId, "prompt");
typed_id!(NoteId, "note");
typed_id!(AddendumId, "addendum");
typed_id!(SafetyPlanId, "safety-plan");
typed_id!(GuideEntryId, "guide-entry");
typed_id!(PromptEventId, "prompt-event");
