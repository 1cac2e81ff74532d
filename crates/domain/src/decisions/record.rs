//! The decision record: the question in the client's words, the role the client prefers in
//! making it (Ottawa Personal Decision Guide), and where it stands.
//!
//! Status is a small state machine:
//!
//! ```text
//! Deliberating ──decide(what, on)──▶ Decided { what, on }
//!      │  ▲                               │
//!      │  └────────────reopen─────────────┘
//!      │  ▲
//!      │  └────────────reopen─────────────┐
//!      └──defer(revisit_on)─────────▶ Deferred { revisit_on }
//! ```
//!
//! Every other move is a [`TransitionError::NotAllowed`]; a decision dated after today and a
//! revisit date that is not after today are refused too. To move a revisit date, reopen and
//! defer again (two recorded steps, so the history reads truthfully).

use super::date_iso;
use super::text::{ClientWords, DecisionQuestion};
use crate::values::{ValueError, format_date};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;
use time::Date;

/// The role the client prefers in making the decision (wording after the Ottawa Personal
/// Decision Guide).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PreferredRole {
    DecideMyselfAfterHearingViews,
    ShareTheDecision,
    SomeoneElseDecidesAfterHearingMyViews,
}

impl PreferredRole {
    pub const ALL: [PreferredRole; 3] = [
        PreferredRole::DecideMyselfAfterHearingViews,
        PreferredRole::ShareTheDecision,
        PreferredRole::SomeoneElseDecidesAfterHearingMyViews,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            PreferredRole::DecideMyselfAfterHearingViews => "decide_myself_after_hearing_views",
            PreferredRole::ShareTheDecision => "share_the_decision",
            PreferredRole::SomeoneElseDecidesAfterHearingMyViews => "someone_else_decides_after_hearing_my_views",
        }
    }

    /// The choice as the client reads it.
    pub fn label(self) -> &'static str {
        match self {
            PreferredRole::DecideMyselfAfterHearingViews => "I prefer to decide myself after hearing the views of others",
            PreferredRole::ShareTheDecision => "I prefer to share the decision with someone",
            PreferredRole::SomeoneElseDecidesAfterHearingMyViews => "I prefer that someone else decides after hearing my views",
        }
    }
}

impl FromStr for PreferredRole {
    type Err = ValueError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        PreferredRole::ALL.into_iter().find(|r| r.as_str() == s).ok_or_else(|| {
            ValueError::Invalid(
                "preferred_role must be decide_myself_after_hearing_views, share_the_decision or someone_else_decides_after_hearing_my_views"
                    .to_owned(),
            )
        })
    }
}

impl fmt::Display for PreferredRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where the decision stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum DecisionStatus {
    Deliberating,
    /// The client has decided: what, in their words, and on which day.
    Decided {
        what: ClientWords,
        #[serde(with = "date_iso")]
        on: Date,
    },
    /// The client put the decision off until a date (which raises a due prompt).
    Deferred {
        #[serde(with = "date_iso")]
        revisit_on: Date,
    },
}

impl DecisionStatus {
    pub fn kind(&self) -> StatusKind {
        match self {
            DecisionStatus::Deliberating => StatusKind::Deliberating,
            DecisionStatus::Decided { .. } => StatusKind::Decided,
            DecisionStatus::Deferred { .. } => StatusKind::Deferred,
        }
    }

    /// A plain sentence for the dossier and the worksheet.
    pub fn describe(&self) -> String {
        match self {
            DecisionStatus::Deliberating => "Still weighing the options.".to_owned(),
            DecisionStatus::Decided { what, on } => format!("Decided on {}: {}", format_date(*on), what.as_str()),
            DecisionStatus::Deferred { revisit_on } => format!("Put off for now; to be revisited on {}.", format_date(*revisit_on)),
        }
    }
}

/// The state of a decision, without its data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StatusKind {
    Deliberating,
    Decided,
    Deferred,
}

impl StatusKind {
    pub fn as_str(self) -> &'static str {
        match self {
            StatusKind::Deliberating => "deliberating",
            StatusKind::Decided => "decided",
            StatusKind::Deferred => "deferred",
        }
    }
}

impl fmt::Display for StatusKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A requested change of status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StatusChange {
    /// Record the decision (from deliberating).
    Decide { what: ClientWords, on: Date },
    /// Put the decision off until a later date (from deliberating).
    Defer { revisit_on: Date },
    /// Back to deliberating (from decided or deferred).
    Reopen,
}

impl StatusChange {
    /// The state this change leads to.
    pub fn target(&self) -> StatusKind {
        match self {
            StatusChange::Decide { .. } => StatusKind::Decided,
            StatusChange::Defer { .. } => StatusKind::Deferred,
            StatusChange::Reopen => StatusKind::Deliberating,
        }
    }
}

/// Why a status change was refused. Nothing changes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransitionError {
    #[error("a decision that is {from} cannot become {to}{}", not_allowed_hint(*from, *to))]
    NotAllowed { from: StatusKind, to: StatusKind },
    #[error("the decision date {} is after today ({})", format_date(*on), format_date(*today))]
    DecidedInFuture { on: Date, today: Date },
    #[error("the revisit date {} must be after today ({})", format_date(*revisit_on), format_date(*today))]
    RevisitNotInFuture { revisit_on: Date, today: Date },
}

fn not_allowed_hint(from: StatusKind, to: StatusKind) -> &'static str {
    match (from, to) {
        (StatusKind::Deliberating, StatusKind::Deliberating) => " (it is already being deliberated)",
        (StatusKind::Decided | StatusKind::Deferred, StatusKind::Decided | StatusKind::Deferred) => {
            "; reopen it first (back to deliberating)"
        }
        _ => "",
    }
}

/// Applies a change to a status, or says why it is not allowed. `today` is the caller's
/// date (from the injected clock).
pub fn transition(current: &DecisionStatus, change: StatusChange, today: Date) -> Result<DecisionStatus, TransitionError> {
    match (current, change) {
        (DecisionStatus::Deliberating, StatusChange::Decide { what, on }) => {
            if on > today {
                Err(TransitionError::DecidedInFuture { on, today })
            } else {
                Ok(DecisionStatus::Decided { what, on })
            }
        }
        (DecisionStatus::Deliberating, StatusChange::Defer { revisit_on }) => {
            if revisit_on <= today {
                Err(TransitionError::RevisitNotInFuture { revisit_on, today })
            } else {
                Ok(DecisionStatus::Deferred { revisit_on })
            }
        }
        (DecisionStatus::Decided { .. } | DecisionStatus::Deferred { .. }, StatusChange::Reopen) => Ok(DecisionStatus::Deliberating),
        (current, change) => Err(TransitionError::NotAllowed { from: current.kind(), to: change.target() }),
    }
}

/// Whether a deferred decision is due for revisiting on `today` (the revisit date has come).
pub fn revisit_due(status: &DecisionStatus, today: Date) -> bool {
    match status {
        DecisionStatus::Deferred { revisit_on } => today >= *revisit_on,
        DecisionStatus::Deliberating | DecisionStatus::Decided { .. } => false,
    }
}

/// One decision: the question, the preferred role (once the client has said), the status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DecisionRecord {
    question: DecisionQuestion,
    preferred_role: Option<PreferredRole>,
    status: DecisionStatus,
}

impl DecisionRecord {
    /// A new decision, being deliberated, role not yet chosen.
    pub fn new(question: DecisionQuestion) -> Self {
        Self { question, preferred_role: None, status: DecisionStatus::Deliberating }
    }

    /// Rebuilds a record read back from storage (every part is already a valid value).
    pub fn from_parts(question: DecisionQuestion, preferred_role: Option<PreferredRole>, status: DecisionStatus) -> Self {
        Self { question, preferred_role, status }
    }

    pub fn question(&self) -> &DecisionQuestion {
        &self.question
    }
    pub fn preferred_role(&self) -> Option<PreferredRole> {
        self.preferred_role
    }
    pub fn status(&self) -> &DecisionStatus {
        &self.status
    }

    /// The client may rephrase the question while deliberating.
    pub fn set_question(&mut self, question: DecisionQuestion) {
        self.question = question;
    }

    pub fn set_preferred_role(&mut self, role: Option<PreferredRole>) {
        self.preferred_role = role;
    }

    /// Applies a status change; on error the record is unchanged.
    pub fn apply(&mut self, change: StatusChange, today: Date) -> Result<(), TransitionError> {
        self.status = transition(&self.status, change, today)?;
        Ok(())
    }

    pub fn revisit_due(&self, today: Date) -> bool {
        revisit_due(&self.status, today)
    }
}
