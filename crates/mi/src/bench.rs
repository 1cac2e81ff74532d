//! Coding-speed benchmark (single thread).
//!
//! Codes a synthetic 600-utterance session (about a 50-minute conversation; hand-written sample
//! sentences, not AnnoMI text) repeatedly until `n` utterances are coded, and measures in the
//! same run a reference: lowercasing and tokenising the same text (the least any text coder must
//! do). The ratio coding/reference says how the coder compares with that floor on this machine,
//! which makes the figure comparable across machines.

use std::fmt;
use std::hint::black_box;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::coder::Coder;
use crate::features::token_hashes;
use crate::model::ModelError;
use crate::{Speaker, Utterance};

/// Utterances in the synthetic session.
pub const SESSION_UTTERANCES: usize = 600;

const THERAPIST: [&str; 10] = [
    "What brings you in today?",
    "So you've been thinking about cutting back, and at the same time the evenings feel empty without a drink.",
    "How did that go for you last week?",
    "You're worried about what your kids see.",
    "Would it be okay if I shared some information about sleep and alcohol?",
    "It sounds like part of you is ready, and part of you isn't sure you can do it.",
    "On a scale from zero to ten, how important is it for you to make this change?",
    "Okay.",
    "Many people in your situation find that small steps work better than big promises.",
    "What would be different in your life if you stopped smoking?",
];

const CLIENT: [&str; 10] = [
    "I don't know, my wife says I drink too much.",
    "Yeah.",
    "I really want to be there for my kids, I want to see them grow up.",
    "But honestly, it's the only thing that helps me relax after work.",
    "Maybe a six? I've tried before and it didn't last.",
    "I guess I could try not buying beer during the week.",
    "Mm-hmm.",
    "It's not that bad, everyone at work does it.",
    "I'd probably sleep better and have more money.",
    "I'm not sure I can do it on my own.",
];

/// The synthetic benchmark session.
pub fn synthetic_session() -> Vec<Utterance> {
    (0..SESSION_UTTERANCES)
        .map(|i| {
            let (speaker, pool) = if i % 2 == 0 { (Speaker::Therapist, &THERAPIST) } else { (Speaker::Client, &CLIENT) };
            // Vary the order so neighbouring pairs differ across the session.
            let text = pool.get((i / 2 * 7 + i / 20) % pool.len()).copied().unwrap_or("Okay.");
            Utterance::new(speaker, text)
        })
        .collect()
}

/// Benchmark result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BenchReport {
    pub utterances: usize,
    pub sessions: usize,
    pub mean_chars_per_utterance: f64,
    pub coding_seconds: f64,
    pub utterances_per_second: f64,
    /// Time to code one 600-utterance session, in milliseconds.
    pub milliseconds_per_session: f64,
    /// Reference: lowercasing and tokenising the same utterances.
    pub reference_seconds: f64,
    pub reference_utterances_per_second: f64,
    /// coding time / reference time.
    pub ratio_to_reference: f64,
}

fn secs(d: Duration) -> f64 {
    d.as_secs_f64().max(1e-9)
}

/// Benchmark the embedded model on at least `n` utterances.
pub fn run_bench(n: usize) -> Result<BenchReport, ModelError> {
    Ok(run_bench_with(&Coder::embedded()?, n))
}

/// Benchmark a given coder on at least `n` utterances.
pub fn run_bench_with(coder: &Coder, n: usize) -> BenchReport {
    let session = synthetic_session();
    let sessions = n.div_ceil(SESSION_UTTERANCES).max(1);
    let utterances = sessions * SESSION_UTTERANCES;
    let chars: usize = session.iter().map(|u| u.text.chars().count()).sum();

    // Warm up caches and the lazily parsed model.
    black_box(coder.code(black_box(&session)));

    let start = Instant::now();
    for _ in 0..sessions {
        black_box(coder.code(black_box(&session)));
    }
    let coding = secs(start.elapsed());

    let mut tokens = Vec::new();
    let start = Instant::now();
    for _ in 0..sessions {
        for u in black_box(&session) {
            let lower = u.text.to_lowercase();
            token_hashes(&lower, &mut tokens);
            black_box(&tokens);
        }
    }
    let reference = secs(start.elapsed());

    BenchReport {
        utterances,
        sessions,
        mean_chars_per_utterance: chars as f64 / SESSION_UTTERANCES as f64,
        coding_seconds: coding,
        utterances_per_second: utterances as f64 / coding,
        milliseconds_per_session: 1000.0 * coding / sessions as f64,
        reference_seconds: reference,
        reference_utterances_per_second: utterances as f64 / reference,
        ratio_to_reference: coding / reference,
    }
}

impl fmt::Display for BenchReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "Coded {} utterances ({} sessions of {}, {:.0} characters each on average) on one thread",
            self.utterances, self.sessions, SESSION_UTTERANCES, self.mean_chars_per_utterance
        )?;
        writeln!(
            f,
            "  coding:    {:>12.0} utterances/s ({:.2} ms per session)",
            self.utterances_per_second, self.milliseconds_per_session
        )?;
        writeln!(f, "  reference: {:>12.0} utterances/s (lowercase + tokenise only)", self.reference_utterances_per_second)?;
        writeln!(f, "  coding takes {:.1}x the reference time", self.ratio_to_reference)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::fixture;
    use crate::features::FeatureConfig;
    use crate::train::{TrainOptions, train_dataset};

    #[test]
    fn bench_reports_consistent_numbers() {
        let opts =
            TrainOptions { epochs: 1, features: FeatureConfig { bucket_bits: 10, ..FeatureConfig::default() }, ..TrainOptions::default() };
        let model = train_dataset(&fixture::dataset(), &opts, &mut |_, _| {}).unwrap();
        let r = run_bench_with(&Coder::new(model), 700);
        assert_eq!(r.sessions, 2);
        assert_eq!(r.utterances, 1200);
        assert!(r.utterances_per_second > 0.0 && r.ratio_to_reference > 0.0);
        assert!(r.to_string().contains("utterances/s"));
        let s = synthetic_session();
        assert_eq!(s.len(), SESSION_UTTERANCES);
        assert_ne!(s[0].text, s[2].text);
    }
}
