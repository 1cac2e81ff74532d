//! Motivational-interviewing (MI) transcript coding for Concord.
//!
//! Pure and fast: no IO except the explicit file helpers of [`train`] and [`eval`], no clock,
//! no network. The pipeline is
//!
//! 1. [`parse::parse_transcript`] turns bytes (plain text with speaker prefixes, WebVTT, SRT or
//!    CSV) into [`Utterance`]s, with typed errors that name the line;
//! 2. [`Coder::code`] codes every utterance with the embedded sparse linear model
//!    ([`model::Model`], trained on the AnnoMI development data by [`train`]) and computes the
//!    MITI-style [`summary::Summary`];
//! 3. [`report::render_text`] renders a readable report; the [`CodedTranscript`] itself
//!    serialises to the JSON contract of `concord mi code --json`.
//!
//! Architecture Invariant: this crate depends on no other Concord crate and never downloads
//! anything; the model is data compiled into the binary with `include_bytes!`.
//!
//! Architecture Invariant: coding is deterministic: the same model and transcript give the same
//! codes, and the same seed and training data give a byte-identical model file.

pub mod bench;
mod coder;
pub mod data;
pub mod eval;
pub mod features;
pub mod model;
pub mod parse;
pub mod report;
pub mod summary;
pub mod train;

pub use coder::{ClientCode, CodedTranscript, CodedUtterance, Coder, TherapistCode};
pub use model::{Model, ModelError};
pub use summary::{MitiRatings, Rating, Summary};

use serde::{Deserialize, Serialize};

/// Who is speaking.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Speaker {
    Therapist,
    Client,
}

impl Speaker {
    /// The lowercase name used in JSON and reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Speaker::Therapist => "therapist",
            Speaker::Client => "client",
        }
    }
}

/// One speaker turn of a transcript.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Utterance {
    pub speaker: Speaker,
    pub text: String,
    /// 1-based line of the source file where the utterance starts (0 when not from a file).
    pub line: usize,
}

impl Utterance {
    /// An utterance not read from a file (`line` 0).
    pub fn new(speaker: Speaker, text: impl Into<String>) -> Self {
        Utterance { speaker, text: text.into(), line: 0 }
    }
}

/// Main therapist behaviour (AnnoMI `main_therapist_behaviour`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Behaviour {
    Question,
    Reflection,
    TherapistInput,
    Other,
}

impl Behaviour {
    pub const ALL: [Behaviour; 4] = [Behaviour::Question, Behaviour::Reflection, Behaviour::TherapistInput, Behaviour::Other];

    pub fn as_str(self) -> &'static str {
        match self {
            Behaviour::Question => "question",
            Behaviour::Reflection => "reflection",
            Behaviour::TherapistInput => "therapist_input",
            Behaviour::Other => "other",
        }
    }

    pub fn index(self) -> usize {
        match self {
            Behaviour::Question => 0,
            Behaviour::Reflection => 1,
            Behaviour::TherapistInput => 2,
            Behaviour::Other => 3,
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Behaviour::ALL.into_iter().find(|b| b.as_str().eq_ignore_ascii_case(s.trim()))
    }
}

/// Question sub-code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum QuestionKind {
    Open,
    Closed,
}

impl QuestionKind {
    pub fn as_str(self) -> &'static str {
        match self {
            QuestionKind::Open => "open",
            QuestionKind::Closed => "closed",
        }
    }
}

/// Reflection sub-code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ReflectionKind {
    Simple,
    Complex,
}

impl ReflectionKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ReflectionKind::Simple => "simple",
            ReflectionKind::Complex => "complex",
        }
    }
}

/// Client talk type (AnnoMI `client_talk_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Talk {
    Change,
    Neutral,
    Sustain,
}

impl Talk {
    pub const ALL: [Talk; 3] = [Talk::Change, Talk::Neutral, Talk::Sustain];

    pub fn as_str(self) -> &'static str {
        match self {
            Talk::Change => "change",
            Talk::Neutral => "neutral",
            Talk::Sustain => "sustain",
        }
    }

    pub fn index(self) -> usize {
        match self {
            Talk::Change => 0,
            Talk::Neutral => 1,
            Talk::Sustain => 2,
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Talk::ALL.into_iter().find(|t| t.as_str().eq_ignore_ascii_case(s.trim()))
    }
}
