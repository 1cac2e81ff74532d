//! Cross-validated evaluation, grouped by video.
//!
//! Protocol: the sessions are split into `folds` groups by `video_url` (several AnnoMI
//! transcripts share a video; splitting by transcript or utterance would leak). Videos are
//! assigned greedily, largest first (by utterance count, ties by URL), to the fold with the fewest
//! utterances so far, as scikit-learn's `GroupKFold` does; no randomness. For each fold a model is
//! trained on the other folds with the given [`TrainOptions`] (same code path and quantisation
//! as the shipped model) and codes the held-out transcripts whole, with their dialogue context.
//! Scores pool the out-of-fold predictions of all folds.
//!
//! Tasks: therapist main behaviour (4 classes, majority label), client talk type (3 classes),
//! question exists and reflection exists (gold: majority of annotators), question open/closed
//! and reflection simple/complex (on utterances whose gold question / reflection exists, the
//! sub-classifier's answer). Session-level errors compare, per held-out transcript, R:Q,
//! % complex reflections and change-talk proportion computed from the predicted codes against
//! the same metrics computed from the gold `*_exists` flags and talk labels (mean absolute error
//! over transcripts where both are defined).

use std::fmt;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::coder::{Coder, Prediction};
use crate::data::{DataError, Dataset, Session};
use crate::features::SparseVec;
use crate::summary::{Counts, Summary};
use crate::train::{self, TrainError, TrainOptions};
use crate::{Behaviour, Speaker, Talk};

/// Evaluation settings.
#[derive(Debug, Clone, PartialEq)]
pub struct EvalOptions {
    pub folds: usize,
    pub train: TrainOptions,
}

impl Default for EvalOptions {
    fn default() -> Self {
        EvalOptions { folds: 5, train: TrainOptions::default() }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    #[error(transparent)]
    Data(#[from] DataError),
    #[error(transparent)]
    Train(#[from] TrainError),
    #[error("need between 2 and {videos} folds (one video per fold at most), got {folds}")]
    Folds { folds: usize, videos: usize },
}

/// Scores of one class.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassScore {
    pub label: String,
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
    pub support: usize,
}

/// Scores of one classification task.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskReport {
    pub task: String,
    pub labels: Vec<String>,
    pub n: usize,
    pub accuracy: f64,
    pub macro_f1: f64,
    pub per_class: Vec<ClassScore>,
    /// `confusion[gold][predicted]`, in `labels` order.
    pub confusion: Vec<Vec<usize>>,
}

/// Mean absolute error of one session-level metric.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricError {
    pub metric: String,
    /// Transcripts where both the gold and predicted value are defined.
    pub sessions: usize,
    pub mean_absolute_error: f64,
    pub mean_gold: f64,
    pub mean_predicted: f64,
}

/// Per-fold headline scores.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FoldScore {
    pub fold: usize,
    pub videos: usize,
    pub transcripts: usize,
    pub utterances: usize,
    pub therapist_macro_f1: f64,
    pub client_macro_f1: f64,
}

/// The evaluation result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvalReport {
    pub protocol: String,
    pub folds: usize,
    pub seed: u64,
    pub videos: usize,
    pub transcripts: usize,
    pub utterances: usize,
    pub tasks: Vec<TaskReport>,
    pub session_errors: Vec<MetricError>,
    pub per_fold: Vec<FoldScore>,
}

impl EvalReport {
    pub fn task(&self, name: &str) -> Option<&TaskReport> {
        self.tasks.iter().find(|t| t.task == name)
    }
}

/// Evaluate the default training recipe on a dataset path with `folds` grouped folds.
pub fn evaluate(path: &Path, folds: usize) -> Result<EvalReport, EvalError> {
    let opts = EvalOptions { folds, ..EvalOptions::default() };
    evaluate_with_progress(path, &opts, &mut |_, _| {})
}

/// [`evaluate`] with options and a progress callback `(done, total)` (training epochs).
pub fn evaluate_with_progress(path: &Path, opts: &EvalOptions, progress: &mut dyn FnMut(usize, usize)) -> Result<EvalReport, EvalError> {
    let data = Dataset::load(path)?;
    evaluate_dataset(&data, opts, progress)
}

/// Assign each session to a fold, grouped by video (see the module docs).
pub fn group_folds(sessions: &[Session], folds: usize) -> Vec<usize> {
    let mut videos: Vec<(&str, usize)> = Vec::new();
    for s in sessions {
        match videos.iter_mut().find(|(v, _)| *v == s.video_url) {
            Some((_, n)) => *n += s.utterances.len(),
            None => videos.push((&s.video_url, s.utterances.len())),
        }
    }
    videos.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    let mut load = vec![0usize; folds.max(1)];
    let mut assigned: Vec<(&str, usize)> = Vec::new();
    for (v, n) in videos {
        let (f, _) = load.iter().enumerate().min_by_key(|&(i, l)| (*l, i)).unwrap_or((0, &0));
        if let Some(l) = load.get_mut(f) {
            *l += n;
        }
        assigned.push((v, f));
    }
    sessions.iter().map(|s| assigned.iter().find(|(v, _)| *v == s.video_url).map_or(0, |(_, f)| *f)).collect()
}

#[derive(Default)]
struct Pairs {
    gold: Vec<usize>,
    pred: Vec<usize>,
}

impl Pairs {
    fn push(&mut self, g: usize, p: usize) {
        self.gold.push(g);
        self.pred.push(p);
    }
}

fn task_report(name: &str, labels: &[&str], pairs: &Pairs) -> TaskReport {
    let k = labels.len();
    let mut confusion = vec![vec![0usize; k]; k];
    for (&g, &p) in pairs.gold.iter().zip(&pairs.pred) {
        if let Some(cell) = confusion.get_mut(g).and_then(|row| row.get_mut(p)) {
            *cell += 1;
        }
    }
    let n = pairs.gold.len();
    let correct: usize = (0..k).map(|i| confusion.get(i).and_then(|r| r.get(i)).copied().unwrap_or(0)).sum();
    let per_class: Vec<ClassScore> = labels
        .iter()
        .enumerate()
        .map(|(i, label)| {
            let tp = confusion.get(i).and_then(|r| r.get(i)).copied().unwrap_or(0);
            let support: usize = confusion.get(i).map_or(0, |r| r.iter().sum());
            let predicted: usize = confusion.iter().map(|r| r.get(i).copied().unwrap_or(0)).sum();
            let precision = div(tp, predicted);
            let recall = div(tp, support);
            let f1 = if precision + recall > 0.0 { 2.0 * precision * recall / (precision + recall) } else { 0.0 };
            ClassScore { label: (*label).to_string(), precision, recall, f1, support }
        })
        .collect();
    let macro_f1 = if k == 0 { 0.0 } else { per_class.iter().map(|c| c.f1).sum::<f64>() / k as f64 };
    TaskReport {
        task: name.to_string(),
        labels: labels.iter().map(|l| (*l).to_string()).collect(),
        n,
        accuracy: div(correct, n),
        macro_f1,
        per_class,
        confusion,
    }
}

fn div(a: usize, b: usize) -> f64 {
    if b == 0 { 0.0 } else { a as f64 / b as f64 }
}

#[derive(Default)]
struct AllPairs {
    behaviour: Pairs,
    talk: Pairs,
    question_exists: Pairs,
    reflection_exists: Pairs,
    question_open: Pairs,
    reflection_complex: Pairs,
}

const BEHAVIOUR_LABELS: [&str; 4] = ["question", "reflection", "therapist_input", "other"];
const TALK_LABELS: [&str; 3] = ["change", "neutral", "sustain"];

fn collect(session: &Session, preds: &[Prediction], all: &mut AllPairs, fold: &mut AllPairs) {
    for ((u, g), p) in session.utterances.iter().zip(&session.gold).zip(preds) {
        match u.speaker {
            Speaker::Therapist => {
                let Some(d) = p.therapist() else { continue };
                let Prediction::Therapist { question_open, reflection_complex, .. } = *p else {
                    continue;
                };
                for pairs in [&mut *all, &mut *fold] {
                    if let Some(b) = g.behaviour {
                        pairs.behaviour.push(b.index(), d.behaviour.index());
                    }
                    if let Some(q) = g.question_exists() {
                        pairs.question_exists.push(usize::from(!q), usize::from(d.question.is_none()));
                        if let (true, Some(open)) = (q, g.question_open()) {
                            pairs.question_open.push(usize::from(!open), usize::from(question_open < 0.5));
                        }
                    }
                    if let Some(r) = g.reflection_exists() {
                        pairs.reflection_exists.push(usize::from(!r), usize::from(d.reflection.is_none()));
                        if let (true, Some(cx)) = (r, g.reflection_complex()) {
                            pairs.reflection_complex.push(usize::from(!cx), usize::from(reflection_complex < 0.5));
                        }
                    }
                }
            }
            Speaker::Client => {
                if let (Some(t), Some((pt, _))) = (g.talk, p.client()) {
                    all.talk.push(t.index(), pt.index());
                    fold.talk.push(t.index(), pt.index());
                }
            }
        }
    }
}

/// Gold MITI counts of a session (from the `*_exists` flags and talk labels).
pub fn gold_counts(session: &Session) -> Counts {
    let mut c = Counts::default();
    for (u, g) in session.utterances.iter().zip(&session.gold) {
        match u.speaker {
            Speaker::Therapist => {
                let q = g.question_exists().unwrap_or(g.behaviour == Some(Behaviour::Question));
                if q {
                    c.questions += 1;
                    if g.question_open() == Some(true) {
                        c.open_questions += 1;
                    }
                }
                let r = g.reflection_exists().unwrap_or(g.behaviour == Some(Behaviour::Reflection));
                if r {
                    c.reflections += 1;
                    if g.reflection_complex() == Some(true) {
                        c.complex_reflections += 1;
                    }
                }
            }
            Speaker::Client => match g.talk {
                Some(Talk::Change) => c.change_talk += 1,
                Some(Talk::Sustain) => c.sustain_talk += 1,
                _ => {}
            },
        }
    }
    c
}

#[derive(Default)]
struct ErrAcc {
    n: usize,
    abs: f64,
    gold: f64,
    pred: f64,
}

impl ErrAcc {
    fn add(&mut self, g: Option<f64>, p: Option<f64>) {
        if let (Some(g), Some(p)) = (g, p) {
            self.n += 1;
            self.abs += (g - p).abs();
            self.gold += g;
            self.pred += p;
        }
    }

    fn report(&self, metric: &str) -> MetricError {
        let n = self.n.max(1) as f64;
        MetricError {
            metric: metric.to_string(),
            sessions: self.n,
            mean_absolute_error: self.abs / n,
            mean_gold: self.gold / n,
            mean_predicted: self.pred / n,
        }
    }
}

/// Run the grouped cross-validation on a loaded dataset.
pub fn evaluate_dataset(data: &Dataset, opts: &EvalOptions, progress: &mut dyn FnMut(usize, usize)) -> Result<EvalReport, EvalError> {
    train::check(&opts.train)?;
    let mut videos: Vec<&str> = data.sessions.iter().map(|s| s.video_url.as_str()).collect();
    videos.sort_unstable();
    videos.dedup();
    if opts.folds < 2 || opts.folds > videos.len() {
        return Err(EvalError::Folds { folds: opts.folds, videos: videos.len() });
    }
    let fold_of = group_folds(&data.sessions, opts.folds);
    let xs = train::vectors(&opts.train.features, &data.sessions);
    let per_fold_steps = 6 * opts.train.epochs as usize;
    let total = per_fold_steps * opts.folds;
    let mut all = AllPairs::default();
    let mut rq = ErrAcc::default();
    let mut pc = ErrAcc::default();
    let mut ct = ErrAcc::default();
    let mut per_fold = Vec::new();
    for fold in 0..opts.folds {
        let train_set: Vec<(&Session, &[SparseVec])> =
            data.sessions.iter().zip(&xs).zip(&fold_of).filter(|(_, f)| **f != fold).map(|((s, x), _)| (s, x.as_slice())).collect();
        let base = fold * per_fold_steps;
        let model = train::fit(&train_set, &opts.train, &mut |d, _| progress(base + d, total));
        let coder = Coder::new(model);
        let mut fold_pairs = AllPairs::default();
        let mut fold_videos: Vec<&str> = Vec::new();
        let (mut transcripts, mut utterances) = (0, 0);
        for (s, _) in data.sessions.iter().zip(&fold_of).filter(|(_, f)| **f == fold) {
            transcripts += 1;
            utterances += s.utterances.len();
            if !fold_videos.contains(&s.video_url.as_str()) {
                fold_videos.push(&s.video_url);
            }
            let preds = coder.predict(&s.utterances);
            collect(s, &preds, &mut all, &mut fold_pairs);
            let coded = coder.code(&s.utterances);
            let p = &coded.summary;
            let g = Summary::from_counts(gold_counts(s));
            rq.add(g.reflection_to_question, p.reflection_to_question);
            pc.add(g.percent_complex_reflections, p.percent_complex_reflections);
            ct.add(g.change_talk_proportion, p.change_talk_proportion);
        }
        per_fold.push(FoldScore {
            fold,
            videos: fold_videos.len(),
            transcripts,
            utterances,
            therapist_macro_f1: task_report("", &BEHAVIOUR_LABELS, &fold_pairs.behaviour).macro_f1,
            client_macro_f1: task_report("", &TALK_LABELS, &fold_pairs.talk).macro_f1,
        });
    }
    Ok(EvalReport {
        protocol: format!("{}-fold cross-validation grouped by video_url (greedy GroupKFold), pooled out-of-fold predictions", opts.folds),
        folds: opts.folds,
        seed: opts.train.seed,
        videos: videos.len(),
        transcripts: data.sessions.len(),
        utterances: data.utterance_count(),
        tasks: vec![
            task_report("therapist_behaviour", &BEHAVIOUR_LABELS, &all.behaviour),
            task_report("client_talk", &TALK_LABELS, &all.talk),
            task_report("question_exists", &["yes", "no"], &all.question_exists),
            task_report("question_open_closed", &["open", "closed"], &all.question_open),
            task_report("reflection_exists", &["yes", "no"], &all.reflection_exists),
            task_report("reflection_simple_complex", &["complex", "simple"], &all.reflection_complex),
        ],
        session_errors: vec![
            rq.report("reflection_to_question"),
            pc.report("percent_complex_reflections"),
            ct.report("change_talk_proportion"),
        ],
        per_fold,
    })
}

impl fmt::Display for EvalReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "Protocol: {} (seed {})", self.protocol, self.seed)?;
        writeln!(f, "Data: {} videos, {} transcripts, {} utterances", self.videos, self.transcripts, self.utterances)?;
        for t in &self.tasks {
            writeln!(f)?;
            writeln!(f, "{}: macro-F1 {:.3}, accuracy {:.3} (n = {})", t.task, t.macro_f1, t.accuracy, t.n)?;
            writeln!(f, "  {:<16} {:>9} {:>9} {:>9} {:>8}", "class", "precision", "recall", "F1", "support")?;
            for c in &t.per_class {
                writeln!(f, "  {:<16} {:>9.3} {:>9.3} {:>9.3} {:>8}", c.label, c.precision, c.recall, c.f1, c.support)?;
            }
            write!(f, "  confusion (rows gold, columns predicted):\n  {:<16}", "")?;
            for l in &t.labels {
                write!(f, " {:>15}", l)?;
            }
            writeln!(f)?;
            for (l, row) in t.labels.iter().zip(&t.confusion) {
                write!(f, "  {:<16}", l)?;
                for c in row {
                    write!(f, " {:>15}", c)?;
                }
                writeln!(f)?;
            }
        }
        writeln!(f)?;
        writeln!(f, "Session-level errors (per held-out transcript):")?;
        for e in &self.session_errors {
            writeln!(
                f,
                "  {:<28} MAE {:>8.3}  (mean gold {:.3}, mean predicted {:.3}, {} transcripts)",
                e.metric, e.mean_absolute_error, e.mean_gold, e.mean_predicted, e.sessions
            )?;
        }
        writeln!(f)?;
        writeln!(f, "Per fold (therapist / client macro-F1):")?;
        for p in &self.per_fold {
            writeln!(
                f,
                "  fold {}: {} videos, {} transcripts, {} utterances: {:.3} / {:.3}",
                p.fold, p.videos, p.transcripts, p.utterances, p.therapist_macro_f1, p.client_macro_f1
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::fixture;
    use crate::features::FeatureConfig;

    #[test]
    fn folds_never_split_a_video() {
        let d = fixture::dataset();
        let f = group_folds(&d.sessions, 2);
        assert_eq!(f.len(), 3);
        for (a, fa) in d.sessions.iter().zip(&f) {
            for (b, fb) in d.sessions.iter().zip(&f) {
                if a.video_url == b.video_url {
                    assert_eq!(fa, fb);
                }
            }
        }
        assert!(f.contains(&0) && f.contains(&1));
    }

    #[test]
    fn f1_on_hand_worked_confusion() {
        let mut p = Pairs::default();
        // gold 0: 3 predicted 0, 1 predicted 1; gold 1: 2 predicted 1.
        for (g, q) in [(0, 0), (0, 0), (0, 0), (0, 1), (1, 1), (1, 1)] {
            p.push(g, q);
        }
        let r = task_report("t", &["a", "b"], &p);
        assert_eq!(r.confusion, vec![vec![3, 1], vec![0, 2]]);
        let a = &r.per_class[0];
        assert!((a.precision - 1.0).abs() < 1e-12 && (a.recall - 0.75).abs() < 1e-12);
        let b = &r.per_class[1];
        assert!((b.f1 - 0.8).abs() < 1e-12);
        assert!((r.macro_f1 - (6.0 / 7.0 + 0.8) / 2.0).abs() < 1e-12);
        assert!((r.accuracy - 5.0 / 6.0).abs() < 1e-12);
    }

    #[test]
    fn evaluates_the_fixture() {
        let d = fixture::dataset();
        let opts = EvalOptions {
            folds: 3,
            train: TrainOptions {
                epochs: 3,
                features: FeatureConfig { bucket_bits: 10, ..FeatureConfig::default() },
                ..TrainOptions::default()
            },
        };
        let mut last = (0, 0);
        let r = evaluate_dataset(&d, &opts, &mut |a, b| last = (a, b)).unwrap();
        assert_eq!(last, (54, 54));
        assert_eq!(r.task("therapist_behaviour").unwrap().n, 8);
        assert_eq!(r.task("client_talk").unwrap().n, 8);
        assert_eq!(r.per_fold.len(), 3);
        let text = r.to_string();
        assert!(text.contains("therapist_behaviour"));
        let json = serde_json::to_string(&r).unwrap();
        let back: EvalReport = serde_json::from_str(&json).unwrap();
        assert_eq!(back, r);
        let bad = EvalOptions { folds: 4, ..opts.clone() };
        assert!(evaluate_dataset(&d, &bad, &mut |_, _| {}).is_err());
    }

    #[test]
    fn gold_counts_use_exists_flags() {
        let d = fixture::dataset();
        let c = gold_counts(&d.sessions[0]);
        // utt 0 question (open); utt 2 reflection (simple); utt 4 reflection (complex), the
        // question vote is a tie resolved by the main label (reflection): no question.
        assert_eq!(c.questions, 1);
        assert_eq!(c.open_questions, 1);
        assert_eq!(c.reflections, 2);
        assert_eq!(c.complex_reflections, 1);
        assert_eq!((c.change_talk, c.sustain_talk), (1, 1));
    }
}
