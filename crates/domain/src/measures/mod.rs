//! Instruments, scoring and outcome analytics (issue 3).
//!
//! - [`definition`]: instrument definitions as data (our JSON format, `concord.instrument/1`)
//!   and the validator every definition passes through. The shipped definitions live in
//!   `crates/domain/instruments/*.json`, one file per instrument, embedded with
//!   `include_str!` (see [`registry::SHIPPED`]).
//! - [`registry`]: the shipped instruments plus imports (our JSON, FHIR Questionnaire).
//! - [`score`]: scoring one response (total, band, caseness, flags, missing-item handling).
//! - [`outcome`]: change over time, reliable change (threshold and Jacobson–Truax), the
//!   clinical cut-off, NHS Talking Therapies episode outcomes.
//! - [`schedule`]: measurement schedules (every session, weekly, daily, one-off) and when the
//!   next response is due or overdue.
//! - [`cli_support`]: parsing and output types for `concord score` / `concord outcome`.
//!
//! Architecture Invariant: pure. No IO (definitions are embedded or passed in as text), no
//! clock, no async. Every computed result carries the convention and thresholds it used.

pub mod cli_support;
pub mod definition;
pub mod fhir;
pub mod outcome;
pub mod registry;
pub mod schedule;
pub mod score;

pub use definition::{DefinitionError, Flag, Instrument, InstrumentDef, InstrumentId};
pub use registry::Registry;
