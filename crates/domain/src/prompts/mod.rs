//! Clinical prompts (issue 4): pure rules over a client's record that notice when therapy alone
//! may not be enough or when safety is at stake, and the lifecycle that closes a prompt only
//! with a documented response.
//!
//! [`evaluate`] reads a [`ClientRecordFacts`] snapshot (scores, check-ins, sessions, session
//! feedback, schedules' due state, and `now`) under a practice's [`PromptConfig`] and returns
//! the [`PromptCandidate`]s whose conditions hold. Each names its data points and thresholds
//! ([`Evidence`]), explains itself in plain, non-directive language (it never diagnoses and
//! never recommends a medication; the therapist decides what to raise and when), carries an
//! [`Urgency`], and, for referral-type prompts, a [`TimingContext`] (sessions so far, the
//! alliance against its baseline) so the page can show urgency beside the alliance trend.
//!
//! # Rules and sources
//!
//! Sources: PRODUCT.md, "Prompts" and the clinical reference; the NHS Talking Therapies for
//! anxiety and depression Manual (caseness PHQ-9 ≥ 10 or GAD-7 ≥ 8; reliable change PHQ-9 6,
//! GAD-7 4), carried here by [`crate::measures::outcome::OutcomeConfig`]; Mundt et al. 2002 for
//! the WSAS bands (> 20 moderately severe or worse). Every threshold is in [`PromptConfig`]
//! (defaults below) and is echoed in each prompt's evidence.
//!
//! - **Safety** (urgent): PHQ-9 item 9 (`q9`) answered above 0, any scored response carrying
//!   the `safety` risk flag, or a check-in answering yes to "thoughts of harming yourself".
//!   One prompt per flagged response.
//! - **No progress despite engagement** (soon): at least 6 attended sessions whose first and
//!   latest are at least 8 weeks apart; the latest score on some outcome measure still at
//!   caseness; and no reliable improvement since intake in the NHS sense (no measure dropped by
//!   its reliable-change threshold without another rising by its own). Needs at least one
//!   measure with two scores.
//! - **Persistent functional impairment** (soon): WSAS above 20 on each of the latest 3 WSAS
//!   measures.
//! - **Reliable deterioration** (soon): on an outcome measure, the latest score is reliably
//!   worse than intake (PHQ-9 +6, GAD-7 +4) or, unless configured off, than the previous score.
//! - **Alliance drop** (soon): the latest session-feedback total is at least 15 % below the
//!   client's own running baseline (the mean of all their earlier ratings; at least 3 needed,
//!   so with fewer it never fires).
//! - **Overdue measure** (routine): a schedule whose due state
//!   ([`crate::measures::schedule::due`]) is overdue at `now`.
//! - **Decision to revisit** (routine): a decision the client deferred (issue 5) whose revisit
//!   day has come. The client chose to come back to it; waiting longer is a valid answer.
//!
//! Scores on an outcome measure outside its configured range are ignored, as are data points
//! dated after `now`. Reliable change and caseness come from [`crate::measures::outcome`];
//! nothing is re-derived here.
//!
//! # Keys: no duplicate prompts
//!
//! Each candidate has a stable [`PromptCandidate::key`] naming the rule and the occurrence of
//! its condition: the same key means the same prompt. Safety keys name the flagged response
//! (`safety:phq9:<completed_at>`, `safety:checkin:<completed_at>`); condition rules name
//! where the current run of the condition began (`persistent_impairment:wsas:<first of the
//! run>`, `deterioration:phq9:<first deteriorated score of the run>`,
//! `no_progress:<intake>`), so a condition that persists keeps its key, and one that clears
//! and returns gets a new one; `alliance_drop:<latest rating>`;
//! `overdue_measure:<instrument>:<due_at>`; `decision_revisit:<decision>:<revisit day>`. The store creates a prompt for a key it does not
//! yet hold (open, deferred or resolved), and reopens a deferred one whose key is still
//! returned once its date has passed ([`reopen_due`]).
//!
//! # Lifecycle
//!
//! [`transition`]: open → resolved only with a documented [`Response`] (discussed, referral
//! offered, client declined in their words, not appropriate because …) or → deferred until a
//! future date. Safety prompts need staff and a [`SafetyAction`] (what was done), cannot be
//! deferred or marked not appropriate, and never expire: nothing time-based touches an open or
//! resolved prompt.
//!
//! Architecture Invariant: pure. No IO, no clock (time is `facts.now`), no async; all
//! arithmetic saturates or widens, so no input panics (property-tested).

mod config;
mod facts;
pub mod guide;
mod lifecycle;
mod rules;

pub use config::{PromptConfig, PromptConfigError};
pub use facts::{CheckIn, ClientRecordFacts, DeferredDecision, FeedbackPoint, ItemValue, ScheduleFact, ScorePoint, SessionFact};
pub use lifecycle::{Action, LifecycleError, MAX_TEXT_CHARS, PromptState, Response, SafetyAction, reopen_due, transition};
pub use rules::evaluate;

use crate::measures::InstrumentId;
use serde::{Deserialize, Serialize};

/// Which rule fired. JSON names (snake_case) match the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum PromptKind {
    #[serde(rename = "safety")]
    Safety,
    #[serde(rename = "no_progress")]
    NoProgressDespiteEngagement,
    #[serde(rename = "persistent_impairment")]
    PersistentImpairment,
    #[serde(rename = "deterioration")]
    ReliableDeterioration,
    #[serde(rename = "alliance_drop")]
    AllianceDrop,
    #[serde(rename = "overdue_measure")]
    OverdueMeasure,
    #[serde(rename = "decision_revisit")]
    DecisionRevisit,
}

impl PromptKind {
    pub const ALL: [PromptKind; 7] = [
        PromptKind::Safety,
        PromptKind::NoProgressDespiteEngagement,
        PromptKind::PersistentImpairment,
        PromptKind::ReliableDeterioration,
        PromptKind::AllianceDrop,
        PromptKind::OverdueMeasure,
        PromptKind::DecisionRevisit,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            PromptKind::Safety => "safety",
            PromptKind::NoProgressDespiteEngagement => "no_progress",
            PromptKind::PersistentImpairment => "persistent_impairment",
            PromptKind::ReliableDeterioration => "deterioration",
            PromptKind::AllianceDrop => "alliance_drop",
            PromptKind::OverdueMeasure => "overdue_measure",
            PromptKind::DecisionRevisit => "decision_revisit",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        PromptKind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// A label for pages.
    pub fn label(self) -> &'static str {
        match self {
            PromptKind::Safety => "Safety",
            PromptKind::NoProgressDespiteEngagement => "No progress despite engagement",
            PromptKind::PersistentImpairment => "Persistent functional impairment",
            PromptKind::ReliableDeterioration => "Reliable deterioration",
            PromptKind::AllianceDrop => "Alliance drop",
            PromptKind::OverdueMeasure => "Overdue measure",
            PromptKind::DecisionRevisit => "Decision to revisit",
        }
    }

    /// Prompts about whether a referral for medication evaluation is worth discussing; these
    /// carry a [`TimingContext`].
    pub fn is_referral_type(self) -> bool {
        match self {
            PromptKind::NoProgressDespiteEngagement | PromptKind::PersistentImpairment | PromptKind::ReliableDeterioration => true,
            PromptKind::Safety | PromptKind::AllianceDrop | PromptKind::OverdueMeasure | PromptKind::DecisionRevisit => false,
        }
    }
}

/// How soon a prompt wants attention. Ordered: `Urgent` first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Urgency {
    /// Today (safety).
    Urgent,
    /// At or before the next session.
    Soon,
    /// When convenient.
    Routine,
}

impl Urgency {
    pub fn as_str(self) -> &'static str {
        match self {
            Urgency::Urgent => "urgent",
            Urgency::Soon => "soon",
            Urgency::Routine => "routine",
        }
    }
}

/// Where a data point comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "source", rename_all = "snake_case")]
pub enum EvidenceSource {
    /// An instrument's total.
    Total { instrument: InstrumentId },
    /// One item's answer.
    Item { instrument: InstrumentId, item: String },
    /// A risk flag raised by scoring (value 1).
    Flag { instrument: InstrumentId, flag: String },
    /// A check-in's "thoughts of harming yourself" question (value 1 = yes).
    CheckInHarmThoughts,
    /// An attended session (value: its number among the attended sessions).
    AttendedSession,
    /// A session-feedback (alliance) total.
    SessionFeedback,
    /// A schedule's overdue measure (value: whole days overdue; `at` is when it fell due).
    Schedule { instrument: InstrumentId },
    /// A deferred decision's revisit day (value: whole days since; `at` is the day).
    DecisionRevisit { decision_id: String },
}

/// One data point that fired a rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DataPoint {
    pub source: EvidenceSource,
    /// When (Unix seconds).
    pub at: i64,
    pub value: i64,
    /// What it is, e.g. "intake", "latest", "previous", "baseline rating".
    pub role: String,
}

/// One threshold a rule used.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ThresholdUsed {
    /// The configuration field or rule, e.g. `min_attended_sessions`, `phq9.caseness_at_least`.
    pub name: String,
    pub value: i64,
    pub source: String,
}

/// The data points and thresholds behind a prompt. Never empty.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Evidence {
    pub points: Vec<DataPoint>,
    pub thresholds: Vec<ThresholdUsed>,
}

/// The latest alliance rating against the client's own running baseline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AllianceTrend {
    pub latest: i32,
    pub latest_at: i64,
    /// Mean of the earlier ratings; `None` with no earlier rating.
    pub baseline: Option<f64>,
    /// How many earlier ratings make the baseline.
    pub baseline_count: u32,
    /// (latest − baseline) / baseline × 100; `None` without a positive baseline.
    pub change_percent: Option<f64>,
    /// Enough earlier ratings to judge a drop (`alliance_min_baseline`).
    pub baseline_established: bool,
    /// At least `alliance_drop_percent` below the baseline.
    pub dropped: bool,
}

/// When to raise a referral conversation: engagement so far and the alliance beside it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TimingContext {
    pub attended_sessions: u32,
    pub first_attended_at: Option<i64>,
    pub latest_attended_at: Option<i64>,
    /// Whole weeks from the first to the latest attended session.
    pub weeks_in_therapy: i64,
    /// `None` when there is no session feedback yet.
    pub alliance: Option<AllianceTrend>,
}

/// A prompt whose condition holds now.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PromptCandidate {
    /// Stable per rule and occurrence: the same key is the same prompt.
    pub key: String,
    pub kind: PromptKind,
    pub urgency: Urgency,
    pub evidence: Evidence,
    /// Plain, non-directive explanation naming the data and thresholds.
    pub explanation: String,
    /// For referral-type prompts ([`PromptKind::is_referral_type`]).
    pub timing: Option<TimingContext>,
}
