//! The prompt lifecycle: open → resolved only with a documented response, or deferred until a
//! date (and reopened then if the condition still holds). Safety prompts are cleared only by
//! staff with a documented action, cannot be deferred or marked not appropriate, and never
//! expire. Every match is exhaustive and anything not allowed is an error.

use super::PromptKind;
use serde::{Deserialize, Serialize};

/// Longest documented text accepted (notes, reasons, actions), in characters.
pub const MAX_TEXT_CHARS: usize = 10_000;

/// Where a prompt stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum PromptState {
    Open,
    /// Closed with a documented response (and, for safety prompts, the action taken).
    Resolved {
        response: Response,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        safety_action: Option<SafetyAction>,
    },
    /// Set aside until `until` (Unix seconds); see [`reopen_due`].
    Deferred {
        until: i64,
    },
}

impl PromptState {
    pub fn as_str(&self) -> &'static str {
        match self {
            PromptState::Open => "open",
            PromptState::Resolved { .. } => "resolved",
            PromptState::Deferred { .. } => "deferred",
        }
    }
    pub fn is_open(&self) -> bool {
        match self {
            PromptState::Open => true,
            PromptState::Resolved { .. } | PromptState::Deferred { .. } => false,
        }
    }
}

/// The documented response to a prompt. JSON `response` names match the API:
/// `discussed`, `referral_offered`, `client_declined`, `deferred`, `not_appropriate`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "response", rename_all = "snake_case", deny_unknown_fields)]
pub enum Response {
    /// Talked it through with the client: what was discussed.
    Discussed { note: String },
    /// A referral was offered, to whom if known.
    ReferralOffered {
        #[serde(default)]
        to: Option<String>,
    },
    /// The client declined: their reasons, in their words.
    ClientDeclined { reasons_in_their_words: String },
    /// Not now: revisit on `date` (Unix seconds).
    #[serde(rename = "deferred")]
    DeferredUntil { date: i64 },
    /// Not appropriate for this client: why.
    NotAppropriate { why: String },
}

impl Response {
    pub fn as_str(&self) -> &'static str {
        match self {
            Response::Discussed { .. } => "discussed",
            Response::ReferralOffered { .. } => "referral_offered",
            Response::ClientDeclined { .. } => "client_declined",
            Response::DeferredUntil { .. } => "deferred",
            Response::NotAppropriate { .. } => "not_appropriate",
        }
    }
}

/// What staff did about a safety concern (required to clear a safety prompt).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SafetyAction {
    pub what_was_done: String,
}

/// A resolve (or defer) request: the response, plus the action for safety prompts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Action {
    pub response: Response,
    #[serde(default)]
    pub safety_action: Option<SafetyAction>,
}

/// Why a transition was refused (each maps to a 4xx with this message).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LifecycleError {
    #[error("only staff can resolve or defer a prompt")]
    NotStaff,
    #[error("this prompt is already resolved")]
    AlreadyResolved,
    #[error("{field} must not be empty")]
    EmptyText { field: &'static str },
    #[error("{field} must be at most {MAX_TEXT_CHARS} characters")]
    TooLong { field: &'static str },
    #[error("a safety prompt is cleared only with a documented action: say what was done")]
    SafetyActionRequired,
    #[error("a safety prompt cannot be resolved as {response}; document the action taken instead")]
    NotAllowedForSafety { response: &'static str },
    #[error("an action is recorded only on safety prompts; use the note instead")]
    SafetyActionNotForThisKind,
    #[error("the deferral date must be in the future")]
    DeferralNotInFuture,
}

fn documented(raw: &str, field: &'static str) -> Result<String, LifecycleError> {
    let s = raw.trim();
    if s.is_empty() {
        return Err(LifecycleError::EmptyText { field });
    }
    if s.chars().count() > MAX_TEXT_CHARS {
        return Err(LifecycleError::TooLong { field });
    }
    Ok(s.to_owned())
}

/// Applies a staff action to a prompt of `kind` in `state`, at `now`. Returns the new state
/// (texts trimmed) or why it is refused; nothing else changes.
///
/// Rules:
/// - only staff act on prompts; a resolved prompt is final;
/// - every response is documented: non-empty text where the variant has text (a referral's
///   recipient may be unknown, but when given it must not be blank);
/// - `DeferredUntil` moves an open (or deferred) prompt to `Deferred`; the date must be after
///   `now`;
/// - safety prompts need a [`SafetyAction`] with non-empty text, and cannot be deferred or
///   marked not appropriate; other kinds take no safety action.
pub fn transition(
    state: &PromptState,
    kind: PromptKind,
    action: &Action,
    actor_is_staff: bool,
    now: i64,
) -> Result<PromptState, LifecycleError> {
    if !actor_is_staff {
        return Err(LifecycleError::NotStaff);
    }
    match state {
        PromptState::Resolved { .. } => return Err(LifecycleError::AlreadyResolved),
        PromptState::Open | PromptState::Deferred { .. } => {}
    }
    let safety_action = match (kind, &action.safety_action) {
        (PromptKind::Safety, None) => return Err(LifecycleError::SafetyActionRequired),
        (PromptKind::Safety, Some(a)) => {
            match &action.response {
                Response::DeferredUntil { .. } | Response::NotAppropriate { .. } => {
                    return Err(LifecycleError::NotAllowedForSafety { response: action.response.as_str() });
                }
                Response::Discussed { .. } | Response::ReferralOffered { .. } | Response::ClientDeclined { .. } => {}
            }
            Some(SafetyAction { what_was_done: documented(&a.what_was_done, "the action taken")? })
        }
        (
            PromptKind::NoProgressDespiteEngagement
            | PromptKind::PersistentImpairment
            | PromptKind::ReliableDeterioration
            | PromptKind::AllianceDrop
            | PromptKind::OverdueMeasure
            | PromptKind::DecisionRevisit,
            Some(_),
        ) => return Err(LifecycleError::SafetyActionNotForThisKind),
        (
            PromptKind::NoProgressDespiteEngagement
            | PromptKind::PersistentImpairment
            | PromptKind::ReliableDeterioration
            | PromptKind::AllianceDrop
            | PromptKind::OverdueMeasure
            | PromptKind::DecisionRevisit,
            None,
        ) => None,
    };
    let response = match &action.response {
        Response::DeferredUntil { date } => {
            if *date <= now {
                return Err(LifecycleError::DeferralNotInFuture);
            }
            return Ok(PromptState::Deferred { until: *date });
        }
        Response::Discussed { note } => Response::Discussed { note: documented(note, "the note")? },
        Response::ReferralOffered { to } => {
            Response::ReferralOffered { to: to.as_deref().map(|t| documented(t, "the referral recipient")).transpose()? }
        }
        Response::ClientDeclined { reasons_in_their_words } => {
            Response::ClientDeclined { reasons_in_their_words: documented(reasons_in_their_words, "the client's reasons")? }
        }
        Response::NotAppropriate { why } => Response::NotAppropriate { why: documented(why, "the reason")? },
    };
    Ok(PromptState::Resolved { response, safety_action })
}

/// The sweep's time step: a deferred prompt reopens once `now` reaches its date and its
/// condition `still_holds` (otherwise it stays deferred, and reopens on a later sweep if the
/// condition returns). Open and resolved prompts never change with time, so nothing expires.
/// A deferred safety prompt (which [`transition`] never produces) is reopened at once.
pub fn reopen_due(state: &PromptState, kind: PromptKind, now: i64, still_holds: bool) -> PromptState {
    match state {
        PromptState::Deferred { until } => match kind {
            PromptKind::Safety => PromptState::Open,
            PromptKind::NoProgressDespiteEngagement
            | PromptKind::PersistentImpairment
            | PromptKind::ReliableDeterioration
            | PromptKind::AllianceDrop
            | PromptKind::OverdueMeasure
            | PromptKind::DecisionRevisit => {
                if now >= *until && still_holds {
                    PromptState::Open
                } else {
                    state.clone()
                }
            }
        },
        PromptState::Open | PromptState::Resolved { .. } => state.clone(),
    }
}
