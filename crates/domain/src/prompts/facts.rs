//! The snapshot of a client's record the rules read: what the store loads for one client.

use crate::measures::schedule::{Due, Frequency};
use crate::measures::score::{Answer, BandRef, Score};
use crate::measures::{Flag, InstrumentId};
use crate::values::Attendance;
use serde::{Deserialize, Serialize};

/// Everything the prompt rules look at for one client (one episode of care), at `now`.
///
/// Order within each list does not matter. Points dated after `now` are ignored.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ClientRecordFacts {
    /// The time of evaluation (Unix seconds), from the injected clock.
    pub now: i64,
    /// Scored responses to any instrument (PHQ-9, GAD-7, WSAS, …).
    pub scores: Vec<ScorePoint>,
    /// Daily check-ins (only the safety question matters here).
    pub check_ins: Vec<CheckIn>,
    /// Booked sessions with their attendance.
    pub sessions: Vec<SessionFact>,
    /// Session-feedback (alliance) totals.
    pub feedback: Vec<FeedbackPoint>,
    /// Active measurement schedules with their due state at `now`.
    pub schedules: Vec<ScheduleFact>,
    /// Decisions the client deferred, each with the day they chose to come back to it.
    #[serde(default)]
    pub deferred_decisions: Vec<DeferredDecision>,
}

/// One answer to one item, by item id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItemValue {
    pub id: String,
    pub answer: Answer,
}

/// One scored response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScorePoint {
    pub instrument: InstrumentId,
    pub completed_at: i64,
    /// `None` when the response has no total (too many missing items).
    pub total: Option<i32>,
    pub band: Option<BandRef>,
    /// Item answers (the safety item is read from here).
    pub items: Vec<ItemValue>,
    /// Risk flags raised by scoring (e.g. `safety`).
    pub flags: Vec<Flag>,
}

impl ScorePoint {
    /// From a scored response ([`crate::measures::score::score`]).
    pub fn from_score(score: &Score, completed_at: i64) -> Self {
        Self {
            instrument: score.instrument.clone(),
            completed_at,
            total: score.total,
            band: score.band.clone(),
            items: score.items.iter().map(|i| ItemValue { id: i.id.clone(), answer: i.answer }).collect(),
            flags: score.flags.clone(),
        }
    }

    /// The answer to one item, if it was answered with a value.
    pub fn item(&self, id: &str) -> Option<i32> {
        self.items.iter().find(|i| i.id == id).and_then(|i| i.answer.value())
    }

    pub fn has_flag(&self, flag: &str) -> bool {
        self.flags.iter().any(|f| f.as_str() == flag)
    }
}

/// A daily check-in, reduced to what the rules need.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckIn {
    pub completed_at: i64,
    /// "Have you had thoughts of harming yourself today?" answered yes.
    pub harm_thoughts: bool,
}

impl CheckIn {
    /// From a scored check-in: the yes answer raises the `safety` flag.
    pub fn from_score(score: &Score, completed_at: i64) -> Self {
        Self { completed_at, harm_thoughts: score.has_flag(Flag::SAFETY) }
    }
}

/// One booked session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionFact {
    pub starts_at: i64,
    pub attendance: Attendance,
}

/// One session-feedback (alliance) rating; higher is better.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeedbackPoint {
    pub completed_at: i64,
    pub total: i32,
}

/// An active schedule and its due state ([`crate::measures::schedule::due`] at `now`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScheduleFact {
    pub instrument: InstrumentId,
    pub frequency: Frequency,
    pub due: Due,
}

/// A deferred decision (issue 5): the client chose to come back to it on a given day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeferredDecision {
    pub decision_id: String,
    /// The start (00:00 UTC) of the revisit day, Unix seconds.
    pub revisit_at: i64,
}
