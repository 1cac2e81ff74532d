//! Concord's pure domain: values parsed once at the edge, the access policy, the clock,
//! and (in `measures`) instruments, scoring and outcome analytics.
//!
//! Architecture Invariant: no IO, no async, no SQL here. Outer crates depend on this one,
//! never the reverse.

pub mod clock;
pub mod decisions;
pub mod ids;
pub mod measures;
pub mod policy;
pub mod prompts;
pub mod records;
pub mod values;
