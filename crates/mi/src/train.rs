//! Training the coder: multinomial / binary logistic regression on hashed features, AdaGrad SGD
//! with lazy L2 regularisation, class weights and a fixed-seed shuffle.
//!
//! Heads (see [`crate::model`]): therapist main behaviour (softmax, 4 classes, trained on the
//! majority label of the simple file), question exists / reflection exists (logistic, soft
//! targets = fraction of annotators in the full file), question open and reflection complex
//! (logistic, soft targets, trained on utterances whose question / reflection exists), and
//! client talk type (softmax, 3 classes). Each head is trained on its own columns of the shared
//! table, one after the other, so the result does not depend on scheduling: same seed and data,
//! byte-identical model file.

use std::path::Path;

use crate::data::{DataError, Dataset, Gold, Session};
use crate::features::{self, FeatureConfig, SparseVec};
use crate::model::{
    CLIENT_OUTPUTS, Model, OUT_BEHAVIOUR, OUT_QUESTION_EXISTS, OUT_QUESTION_OPEN, OUT_REFLECTION_COMPLEX, OUT_REFLECTION_EXISTS,
    THERAPIST_OUTPUTS, Table,
};
use crate::{Speaker, coder};

/// The seed of the shipped model.
pub const DEFAULT_SEED: u64 = 20_220_523;

/// Hyper-parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainOptions {
    pub seed: u64,
    pub epochs: u32,
    /// AdaGrad base learning rate of the softmax heads (main behaviour, client talk).
    pub learning_rate: f32,
    /// AdaGrad base learning rate of the logistic sub-code heads (exists, open, complex).
    pub binary_learning_rate: f32,
    /// L2 penalty applied to the weights an example touches (lazy regularisation).
    pub l2: f32,
    /// Class weights of the softmax heads are `(n / (k * n_class))^power` (1 = balanced).
    pub class_weight_power: f32,
    /// Same for the binary heads (positive vs negative, by hard label).
    pub binary_weight_power: f32,
    /// Average the weights over the second half of the epochs.
    pub average: bool,
    pub features: FeatureConfig,
}

impl Default for TrainOptions {
    fn default() -> Self {
        TrainOptions {
            seed: DEFAULT_SEED,
            epochs: 12,
            learning_rate: 0.02,
            binary_learning_rate: 0.05,
            l2: 1e-5,
            class_weight_power: 1.0,
            binary_weight_power: 0.0,
            average: true,
            features: FeatureConfig::default(),
        }
    }
}

/// Errors of training from files.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    #[error(transparent)]
    Data(#[from] DataError),
    #[error("invalid training options: {0}")]
    Options(String),
}

/// A small deterministic PRNG (SplitMix64).
#[derive(Debug, Clone)]
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        features::mix(self.0)
    }

    /// Uniform in `0..n` (n > 0), by rejection-free multiply-shift (bias negligible here).
    fn below(&mut self, n: usize) -> usize {
        let r = u128::from(self.next_u64()) * (n as u128);
        usize::try_from(r >> 64).unwrap_or(0)
    }

    pub(crate) fn shuffle<T>(&mut self, v: &mut [T]) {
        for i in (1..v.len()).rev() {
            let j = self.below(i + 1);
            v.swap(i, j);
        }
    }
}

/// Train on the AnnoMI files of a directory (or a path accepted by [`Dataset::load`]).
pub fn train_from_dir(path: &Path, opts: &TrainOptions) -> Result<Model, TrainError> {
    train_from_dir_with_progress(path, opts, &mut |_, _| {})
}

/// [`train_from_dir`] with a progress callback `(done, total)`.
pub fn train_from_dir_with_progress(path: &Path, opts: &TrainOptions, progress: &mut dyn FnMut(usize, usize)) -> Result<Model, TrainError> {
    let data = Dataset::load(path)?;
    train_dataset(&data, opts, progress)
}

/// Train on every session of a dataset.
pub fn train_dataset(data: &Dataset, opts: &TrainOptions, progress: &mut dyn FnMut(usize, usize)) -> Result<Model, TrainError> {
    check(opts)?;
    let xs = vectors(&opts.features, &data.sessions);
    let sessions: Vec<(&Session, &[SparseVec])> = data.sessions.iter().zip(&xs).map(|(s, x)| (s, x.as_slice())).collect();
    Ok(fit(&sessions, opts, progress))
}

pub(crate) fn check(opts: &TrainOptions) -> Result<(), TrainError> {
    if !opts.features.is_valid() {
        return Err(TrainError::Options("feature configuration".into()));
    }
    let ok = |x: f32| x.is_finite() && x >= 0.0;
    if opts.epochs == 0
        || opts.epochs > 1000
        || !ok(opts.learning_rate)
        || opts.learning_rate == 0.0
        || !ok(opts.binary_learning_rate)
        || opts.binary_learning_rate == 0.0
        || !ok(opts.l2)
        || !ok(opts.class_weight_power)
        || !ok(opts.binary_weight_power)
    {
        return Err(TrainError::Options("epochs must be 1..=1000 and rates, penalties and powers finite and non-negative".into()));
    }
    Ok(())
}

/// Feature vectors of every utterance of every session.
pub(crate) fn vectors(cfg: &FeatureConfig, sessions: &[Session]) -> Vec<Vec<SparseVec>> {
    sessions.iter().map(|s| features::transcript_vectors(cfg, &s.utterances)).collect()
}

#[derive(Debug, Clone, Copy)]
enum Target {
    Class(usize),
    Prob(f32),
}

#[derive(Debug, Clone, Copy)]
struct Example<'a> {
    x: &'a SparseVec,
    target: Target,
    weight: f32,
}

/// Columns of one head inside a table.
#[derive(Debug, Clone, Copy)]
struct Head {
    offset: usize,
    /// Number of softmax classes, or 1 for a logistic output.
    dims: usize,
}

struct TableState {
    stride: usize,
    w: Vec<f32>,
    g2: Vec<f32>,
    bias: Vec<f32>,
    gbias: Vec<f32>,
}

impl TableState {
    fn new(buckets: usize, stride: usize) -> TableState {
        TableState {
            stride,
            w: vec![0.0; buckets * stride],
            g2: vec![0.0; buckets * stride],
            bias: vec![0.0; stride],
            gbias: vec![0.0; stride],
        }
    }
}

/// Balanced class weights raised to `power`.
fn class_weights(counts: &[usize], power: f32) -> Vec<f32> {
    let n: usize = counts.iter().sum();
    let k = counts.iter().filter(|&&c| c > 0).count().max(1);
    counts.iter().map(|&c| if c == 0 { 0.0 } else { (n as f32 / (k as f32 * c as f32)).powf(power) }).collect()
}

const ADAGRAD_EPS: f32 = 1e-6;

#[allow(clippy::too_many_arguments)]
fn train_head(
    state: &mut TableState,
    head: Head,
    examples: &[Example<'_>],
    opts: &TrainOptions,
    rng: &mut Rng,
    step: &mut usize,
    total: usize,
    progress: &mut dyn FnMut(usize, usize),
) {
    let stride = state.stride;
    let buckets = state.w.len() / stride.max(1);
    let mut order: Vec<usize> = (0..examples.len()).collect();
    let mut z = vec![0.0f32; head.dims];
    let mut err = vec![0.0f32; head.dims];
    let avg_from = opts.epochs / 2;
    let mut avg_w: Vec<f32> = Vec::new();
    let mut avg_b = vec![0.0f32; head.dims];
    let mut avg_n = 0u32;
    let lr = if head.dims == 1 { opts.binary_learning_rate } else { opts.learning_rate };
    for epoch in 0..opts.epochs {
        rng.shuffle(&mut order);
        for &ei in &order {
            let Some(ex) = examples.get(ei) else { continue };
            // Forward.
            for (k, zk) in z.iter_mut().enumerate() {
                *zk = state.bias.get(head.offset + k).copied().unwrap_or(0.0);
            }
            for &(idx, v) in ex.x {
                let base = idx as usize * stride + head.offset;
                if let Some(row) = state.w.get(base..base + head.dims) {
                    for (zk, w) in z.iter_mut().zip(row) {
                        *zk += w * v;
                    }
                }
            }
            // Error.
            match (ex.target, head.dims) {
                (Target::Prob(p), _) => {
                    let q = coder::sigmoid(z.first().copied().unwrap_or(0.0));
                    if let Some(e) = err.first_mut() {
                        *e = (q - p) * ex.weight;
                    }
                }
                (Target::Class(c), _) => {
                    let max = z.iter().copied().fold(f32::NEG_INFINITY, f32::max);
                    let mut sum = 0.0;
                    for (e, zk) in err.iter_mut().zip(&z) {
                        *e = (zk - max).exp();
                        sum += *e;
                    }
                    for (k, e) in err.iter_mut().enumerate() {
                        let y = if k == c { 1.0 } else { 0.0 };
                        *e = (*e / sum - y) * ex.weight;
                    }
                }
            }
            // Update (AdaGrad, lazy L2 on touched weights).
            for (k, &e) in err.iter().enumerate() {
                let j = head.offset + k;
                if let (Some(b), Some(gb)) = (state.bias.get_mut(j), state.gbias.get_mut(j)) {
                    *gb += e * e;
                    *b -= lr * e / (gb.sqrt() + ADAGRAD_EPS);
                }
            }
            for &(idx, v) in ex.x {
                let base = idx as usize * stride + head.offset;
                let (Some(row), Some(grow)) = (state.w.get_mut(base..base + head.dims), state.g2.get_mut(base..base + head.dims)) else {
                    continue;
                };
                for ((w, g2), &e) in row.iter_mut().zip(grow.iter_mut()).zip(&err) {
                    let g = e * v + opts.l2 * *w;
                    *g2 += g * g;
                    *w -= lr * g / (g2.sqrt() + ADAGRAD_EPS);
                }
            }
        }
        if opts.average && epoch >= avg_from {
            if avg_w.is_empty() {
                avg_w = vec![0.0; buckets * head.dims];
            }
            for (b, row) in state.w.chunks_exact(stride).enumerate() {
                if let (Some(src), Some(dst)) =
                    (row.get(head.offset..head.offset + head.dims), avg_w.get_mut(b * head.dims..(b + 1) * head.dims))
                {
                    for (d, s) in dst.iter_mut().zip(src) {
                        *d += s;
                    }
                }
            }
            for (k, a) in avg_b.iter_mut().enumerate() {
                *a += state.bias.get(head.offset + k).copied().unwrap_or(0.0);
            }
            avg_n += 1;
        }
        *step += 1;
        progress(*step, total);
    }
    if avg_n > 0 {
        let n = avg_n as f32;
        for (b, row) in state.w.chunks_exact_mut(stride).enumerate() {
            if let (Some(dst), Some(src)) =
                (row.get_mut(head.offset..head.offset + head.dims), avg_w.get(b * head.dims..(b + 1) * head.dims))
            {
                for (d, s) in dst.iter_mut().zip(src) {
                    *d = s / n;
                }
            }
        }
        for (k, a) in avg_b.iter().enumerate() {
            if let Some(b) = state.bias.get_mut(head.offset + k) {
                *b = a / n;
            }
        }
    }
}

type Picker = fn(&Gold) -> Option<Target>;

fn pick_behaviour(g: &Gold) -> Option<Target> {
    g.behaviour.map(|b| Target::Class(b.index()))
}
fn pick_question_exists(g: &Gold) -> Option<Target> {
    g.question.map(|v| Target::Prob(v.exists))
}
fn pick_question_open(g: &Gold) -> Option<Target> {
    if g.question_exists() == Some(true) { g.question.and_then(|v| v.subtype).map(Target::Prob) } else { None }
}
fn pick_reflection_exists(g: &Gold) -> Option<Target> {
    g.reflection.map(|v| Target::Prob(v.exists))
}
fn pick_reflection_complex(g: &Gold) -> Option<Target> {
    if g.reflection_exists() == Some(true) { g.reflection.and_then(|v| v.subtype).map(Target::Prob) } else { None }
}
fn pick_talk(g: &Gold) -> Option<Target> {
    g.talk.map(|t| Target::Class(t.index()))
}

fn examples<'a>(
    sessions: &[(&'a Session, &'a [SparseVec])],
    speaker: Speaker,
    pick: Picker,
    classes: usize,
    opts: &TrainOptions,
) -> Vec<Example<'a>> {
    let mut raw: Vec<(&SparseVec, Target)> = Vec::new();
    for (s, xs) in sessions {
        for ((u, g), x) in s.utterances.iter().zip(&s.gold).zip(xs.iter()) {
            if u.speaker == speaker
                && let Some(t) = pick(g)
            {
                raw.push((x, t));
            }
        }
    }
    let bucket_of = |t: Target| match t {
        Target::Class(c) => c,
        Target::Prob(p) => usize::from(p >= 0.5),
    };
    let n_buckets = if classes == 1 { 2 } else { classes };
    let mut counts = vec![0usize; n_buckets];
    for &(_, t) in &raw {
        if let Some(c) = counts.get_mut(bucket_of(t)) {
            *c += 1;
        }
    }
    let power = if classes == 1 { opts.binary_weight_power } else { opts.class_weight_power };
    let weights = class_weights(&counts, power);
    raw.into_iter().map(|(x, target)| Example { x, target, weight: weights.get(bucket_of(target)).copied().unwrap_or(1.0) }).collect()
}

/// Train a model on the given sessions and their precomputed feature vectors.
pub(crate) fn fit(sessions: &[(&Session, &[SparseVec])], opts: &TrainOptions, progress: &mut dyn FnMut(usize, usize)) -> Model {
    let buckets = opts.features.buckets();
    let mut rng = Rng::new(opts.seed);
    let therapist_heads: [(Head, Picker); 5] = [
        (Head { offset: OUT_BEHAVIOUR, dims: 4 }, pick_behaviour),
        (Head { offset: OUT_QUESTION_EXISTS, dims: 1 }, pick_question_exists),
        (Head { offset: OUT_QUESTION_OPEN, dims: 1 }, pick_question_open),
        (Head { offset: OUT_REFLECTION_EXISTS, dims: 1 }, pick_reflection_exists),
        (Head { offset: OUT_REFLECTION_COMPLEX, dims: 1 }, pick_reflection_complex),
    ];
    let total = (therapist_heads.len() + 1) * opts.epochs as usize;
    let mut step = 0usize;
    let mut therapist = TableState::new(buckets, THERAPIST_OUTPUTS);
    for (head, pick) in therapist_heads {
        let ex = examples(sessions, Speaker::Therapist, pick, head.dims, opts);
        train_head(&mut therapist, head, &ex, opts, &mut rng, &mut step, total, progress);
    }
    let mut client = TableState::new(buckets, CLIENT_OUTPUTS);
    let ex = examples(sessions, Speaker::Client, pick_talk, CLIENT_OUTPUTS, opts);
    train_head(&mut client, Head { offset: 0, dims: CLIENT_OUTPUTS }, &ex, opts, &mut rng, &mut step, total, progress);
    let trained: usize = sessions.iter().map(|(s, _)| s.utterances.len()).sum();
    Model {
        config: opts.features,
        seed: opts.seed,
        trained_utterances: u32::try_from(trained).unwrap_or(u32::MAX),
        therapist: Table::from_f32(THERAPIST_OUTPUTS, therapist.bias, &therapist.w),
        client: Table::from_f32(CLIENT_OUTPUTS, client.bias, &client.w),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::fixture;
    use crate::{Coder, Utterance};

    fn small_opts() -> TrainOptions {
        TrainOptions { epochs: 5, features: FeatureConfig { bucket_bits: 12, ..FeatureConfig::default() }, ..TrainOptions::default() }
    }

    #[test]
    fn training_is_deterministic() {
        let data = fixture::dataset();
        let a = train_dataset(&data, &small_opts(), &mut |_, _| {}).unwrap();
        let b = train_dataset(&data, &small_opts(), &mut |_, _| {}).unwrap();
        assert_eq!(a.to_bytes(), b.to_bytes());
        let other_seed = TrainOptions { seed: 7, ..small_opts() };
        let c = train_dataset(&data, &other_seed, &mut |_, _| {}).unwrap();
        assert_ne!(a.to_bytes(), c.to_bytes());
        assert_eq!(a.trained_utterances(), 16);
    }

    #[test]
    fn training_fits_the_fixture() {
        let data = fixture::dataset();
        let mut calls = Vec::new();
        let opts = TrainOptions { epochs: 30, ..small_opts() };
        let model = train_dataset(&data, &opts, &mut |d, t| calls.push((d, t))).unwrap();
        assert_eq!(calls.len(), 6 * 30);
        assert_eq!(calls.last(), Some(&(180, 180)));
        let coder = Coder::new(model);
        let s = &data.sessions[0];
        let coded = coder.code(&s.utterances);
        let json = serde_json::to_value(&coded).unwrap();
        assert_eq!(json["utterances"][0]["behaviour"], "question");
        assert_eq!(json["utterances"][1]["talk"], "change");
        let _ = Utterance::new(Speaker::Client, "x");
    }

    #[test]
    fn rejects_bad_options() {
        let data = fixture::dataset();
        let bad = TrainOptions { epochs: 0, ..small_opts() };
        assert!(train_dataset(&data, &bad, &mut |_, _| {}).is_err());
        let bad = TrainOptions { learning_rate: f32::NAN, ..small_opts() };
        assert!(train_dataset(&data, &bad, &mut |_, _| {}).is_err());
    }

    #[test]
    fn shuffle_is_a_permutation() {
        let mut v: Vec<u32> = (0..100).collect();
        Rng::new(1).shuffle(&mut v);
        let mut s = v.clone();
        s.sort_unstable();
        assert_eq!(s, (0..100).collect::<Vec<_>>());
        assert_ne!(v, s);
    }
}
