//! Coding a transcript with a [`Model`]: per-utterance codes plus the MITI summary.

use std::sync::{Arc, OnceLock};

use serde::{Deserialize, Serialize};

use crate::features::{self, SparseVec};
use crate::model::{
    CLIENT_OUTPUTS, Model, ModelError, OUT_BEHAVIOUR, OUT_QUESTION_EXISTS, OUT_QUESTION_OPEN, OUT_REFLECTION_COMPLEX,
    OUT_REFLECTION_EXISTS, THERAPIST_OUTPUTS,
};
use crate::summary::Summary;
use crate::{Behaviour, QuestionKind, ReflectionKind, Speaker, Talk, Utterance};

/// The model trained on the AnnoMI development data, compiled into the binary.
static EMBEDDED_MODEL: &[u8] = include_bytes!("../model/coder.bin");

static EMBEDDED: OnceLock<Result<Arc<Model>, ModelError>> = OnceLock::new();

/// Codes transcripts. Cheap to clone (the model is shared).
#[derive(Debug, Clone)]
pub struct Coder {
    model: Arc<Model>,
}

/// A therapist utterance with its codes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TherapistCode {
    pub index: usize,
    pub speaker: Speaker,
    pub text: String,
    pub behaviour: Behaviour,
    /// `Some` when the utterance contains a question (whatever its main behaviour).
    pub question: Option<QuestionKind>,
    /// `Some` when the utterance contains a reflection (whatever its main behaviour).
    pub reflection: Option<ReflectionKind>,
    /// Probability of `behaviour` under the model.
    pub confidence: f64,
}

/// A client utterance with its talk type.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClientCode {
    pub index: usize,
    pub speaker: Speaker,
    pub text: String,
    pub talk: Talk,
    /// Probability of `talk` under the model.
    pub confidence: f64,
}

/// One coded utterance; serialises without a tag, as the JSON contract asks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum CodedUtterance {
    Therapist(TherapistCode),
    Client(ClientCode),
}

impl CodedUtterance {
    pub fn index(&self) -> usize {
        match self {
            CodedUtterance::Therapist(t) => t.index,
            CodedUtterance::Client(c) => c.index,
        }
    }

    pub fn text(&self) -> &str {
        match self {
            CodedUtterance::Therapist(t) => &t.text,
            CodedUtterance::Client(c) => &c.text,
        }
    }

    pub fn speaker(&self) -> Speaker {
        match self {
            CodedUtterance::Therapist(_) => Speaker::Therapist,
            CodedUtterance::Client(_) => Speaker::Client,
        }
    }

    pub fn confidence(&self) -> f64 {
        match self {
            CodedUtterance::Therapist(t) => t.confidence,
            CodedUtterance::Client(c) => c.confidence,
        }
    }
}

/// The result of coding a transcript: the JSON of `concord mi code --json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CodedTranscript {
    pub utterances: Vec<CodedUtterance>,
    pub summary: Summary,
}

/// Raw model outputs for one utterance (probabilities), before decisions.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Prediction {
    Therapist {
        /// Indexed by [`Behaviour::index`].
        behaviour: [f32; 4],
        question_exists: f32,
        question_open: f32,
        reflection_exists: f32,
        reflection_complex: f32,
    },
    Client {
        /// Indexed by [`Talk::index`].
        talk: [f32; 3],
    },
}

/// Decided codes of one therapist utterance.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TherapistDecision {
    pub behaviour: Behaviour,
    pub question: Option<QuestionKind>,
    pub reflection: Option<ReflectionKind>,
    pub confidence: f32,
}

impl Prediction {
    /// Therapist codes: the main behaviour is the most probable one; a question (reflection)
    /// sub-code is present when the main behaviour is question (reflection) or the separate
    /// "exists" classifier says so with probability ≥ 0.5.
    pub fn therapist(&self) -> Option<TherapistDecision> {
        let Prediction::Therapist { behaviour, question_exists, question_open, reflection_exists, reflection_complex } = *self else {
            return None;
        };
        let (bi, conf) = argmax(&behaviour);
        let main = Behaviour::ALL.get(bi).copied().unwrap_or(Behaviour::Other);
        let question = (main == Behaviour::Question || question_exists >= 0.5).then_some(if question_open >= 0.5 {
            QuestionKind::Open
        } else {
            QuestionKind::Closed
        });
        let reflection = (main == Behaviour::Reflection || reflection_exists >= 0.5).then_some(if reflection_complex >= 0.5 {
            ReflectionKind::Complex
        } else {
            ReflectionKind::Simple
        });
        Some(TherapistDecision { behaviour: main, question, reflection, confidence: conf })
    }

    /// Client talk type (most probable) and its probability.
    pub fn client(&self) -> Option<(Talk, f32)> {
        let Prediction::Client { talk } = *self else {
            return None;
        };
        let (i, p) = argmax(&talk);
        Some((Talk::ALL.get(i).copied().unwrap_or(Talk::Neutral), p))
    }
}

fn argmax(p: &[f32]) -> (usize, f32) {
    p.iter().copied().enumerate().fold((0, f32::NEG_INFINITY), |best, (i, v)| if v > best.1 { (i, v) } else { best })
}

pub(crate) fn softmax<const N: usize>(z: &[f32]) -> [f32; N] {
    let mut out = [0.0f32; N];
    let max = z.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut sum = 0.0;
    for (o, &v) in out.iter_mut().zip(z) {
        *o = (v - max).exp();
        sum += *o;
    }
    if sum > 0.0 && sum.is_finite() {
        for o in &mut out {
            *o /= sum;
        }
    }
    out
}

pub(crate) fn sigmoid(z: f32) -> f32 {
    1.0 / (1.0 + (-z).exp())
}

fn round4(x: f32) -> f64 {
    (f64::from(x) * 10_000.0).round() / 10_000.0
}

impl Coder {
    /// The model compiled into the binary (parsed once per process, then shared).
    pub fn embedded() -> Result<Coder, ModelError> {
        EMBEDDED.get_or_init(|| Model::from_bytes(EMBEDDED_MODEL).map(Arc::new)).clone().map(|model| Coder { model })
    }

    /// The raw bytes of the embedded model file.
    pub fn embedded_bytes() -> &'static [u8] {
        EMBEDDED_MODEL
    }

    pub fn new(model: Model) -> Coder {
        Coder { model: Arc::new(model) }
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Coder, ModelError> {
        Model::from_bytes(bytes).map(Coder::new)
    }

    pub fn model(&self) -> &Model {
        &self.model
    }

    /// Model probabilities for every utterance, in order.
    pub fn predict(&self, utterances: &[Utterance]) -> Vec<Prediction> {
        let cfg = &self.model.config;
        let bases = features::base_all(cfg, utterances);
        let mut x = SparseVec::new();
        let mut t = [0.0f32; THERAPIST_OUTPUTS];
        let mut c = [0.0f32; CLIENT_OUTPUTS];
        (0..utterances.len())
            .zip(utterances)
            .map(|(i, u)| {
                features::assemble(cfg, utterances, &bases, i, &mut x);
                match u.speaker {
                    Speaker::Therapist => {
                        self.model.therapist.score(&x, &mut t);
                        therapist_prediction(&t)
                    }
                    Speaker::Client => {
                        self.model.client.score(&x, &mut c);
                        Prediction::Client { talk: softmax::<3>(&c) }
                    }
                }
            })
            .collect()
    }

    /// Code every utterance (one entry per input utterance, in order) and summarise.
    pub fn code(&self, utterances: &[Utterance]) -> CodedTranscript {
        let predictions = self.predict(utterances);
        let coded: Vec<CodedUtterance> = utterances
            .iter()
            .zip(&predictions)
            .enumerate()
            .map(|(index, (u, p))| match (u.speaker, p.therapist(), p.client()) {
                (Speaker::Therapist, Some(d), _) => CodedUtterance::Therapist(TherapistCode {
                    index,
                    speaker: Speaker::Therapist,
                    text: u.text.clone(),
                    behaviour: d.behaviour,
                    question: d.question,
                    reflection: d.reflection,
                    confidence: round4(d.confidence),
                }),
                (_, _, Some((talk, p))) => CodedUtterance::Client(ClientCode {
                    index,
                    speaker: Speaker::Client,
                    text: u.text.clone(),
                    talk,
                    confidence: round4(p),
                }),
                // Unreachable by construction (predict follows the speaker); stay total.
                _ => CodedUtterance::Client(ClientCode {
                    index,
                    speaker: Speaker::Client,
                    text: u.text.clone(),
                    talk: Talk::Neutral,
                    confidence: 0.0,
                }),
            })
            .collect();
        let summary = Summary::from_codes(&coded);
        CodedTranscript { utterances: coded, summary }
    }
}

fn therapist_prediction(t: &[f32; THERAPIST_OUTPUTS]) -> Prediction {
    let at = |i: usize| t.get(i).copied().unwrap_or(0.0);
    let behaviour = softmax::<4>(t.get(OUT_BEHAVIOUR..OUT_BEHAVIOUR + 4).unwrap_or(&[]));
    Prediction::Therapist {
        behaviour,
        question_exists: sigmoid(at(OUT_QUESTION_EXISTS)),
        question_open: sigmoid(at(OUT_QUESTION_OPEN)),
        reflection_exists: sigmoid(at(OUT_REFLECTION_EXISTS)),
        reflection_complex: sigmoid(at(OUT_REFLECTION_COMPLEX)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decisions_allow_question_and_reflection_together() {
        let p = Prediction::Therapist {
            behaviour: [0.1, 0.7, 0.1, 0.1],
            question_exists: 0.8,
            question_open: 0.2,
            reflection_exists: 0.3,
            reflection_complex: 0.9,
        };
        let d = p.therapist().unwrap();
        assert_eq!(d.behaviour, Behaviour::Reflection);
        assert_eq!(d.question, Some(QuestionKind::Closed));
        // Main behaviour implies the sub-code even when the exists classifier disagrees.
        assert_eq!(d.reflection, Some(ReflectionKind::Complex));
        assert!((d.confidence - 0.7).abs() < 1e-6);
        assert_eq!(p.client(), None);
    }

    #[test]
    fn softmax_is_stable() {
        let p = softmax::<3>(&[1000.0, 0.0, -1000.0]);
        assert!((p[0] - 1.0).abs() < 1e-6);
        assert!(p.iter().all(|x| x.is_finite()));
    }
}
