//! Typed ids for the decision records: defined with every other id in [`crate::ids`] (UUIDv7,
//! only the canonical spelling parses, one kind cannot stand in for another).

pub use crate::ids::{CriterionId, DecisionId, OptionId};
