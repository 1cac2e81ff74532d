#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]
//! The shipped model: it loads, codes a tiny transcript with the exact JSON contract, and (an
//! ignored, slower test: `cargo test -p concord-mi --release -- --ignored`) reproduces its
//! recorded cross-validation figures and its own bytes from the AnnoMI data.

use std::path::PathBuf;

use concord_mi::Coder;
use concord_mi::eval::{EvalReport, evaluate};
use concord_mi::features::FeatureConfig;
use concord_mi::parse::{Format, ParseOptions, parse_transcript};
use concord_mi::train::{DEFAULT_SEED, TrainOptions, train_from_dir};
use serde_json::Value;

const TRANSCRIPT: &str = "\
T: What brings you here today?
C: My doctor says I drink too much, and honestly I want to cut down for my kids.
T: You want to be there for your children.
C: But I don't think I can stop, it's the only thing that helps me relax.
T: Okay.
";

/// Keys of a JSON object, sorted (serde_json's map is ordered by key; field order is checked on
/// the serialised string).
fn keys(v: &Value) -> Vec<&str> {
    let mut k: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    k.sort_unstable();
    k
}

fn sorted(mut v: Vec<&str>) -> Vec<&str> {
    v.sort_unstable();
    v
}

#[test]
fn embedded_model_codes_a_transcript_with_the_json_contract() {
    let utterances = parse_transcript(TRANSCRIPT.as_bytes(), Format::Auto, &ParseOptions::default(), None).unwrap();
    let coder = Coder::embedded().unwrap();
    let coded = coder.code(&utterances);
    let json = serde_json::to_string(&coded).unwrap();
    assert!(
        json.starts_with(r#"{"utterances":[{"index":0,"speaker":"therapist","text":"What brings you here today?","behaviour":"#),
        "{json}"
    );
    let v: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(keys(&v), ["summary", "utterances"]);
    assert!(json.contains(r#"{"index":1,"speaker":"client","text":"My doctor says"#));
    assert!(json.contains(r#","summary":{"questions":"#));
    let utts = v["utterances"].as_array().unwrap();
    assert_eq!(utts.len(), 5);
    for (i, u) in utts.iter().enumerate() {
        assert_eq!(u["index"], i);
        let c = u["confidence"].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&c));
        match u["speaker"].as_str().unwrap() {
            "therapist" => {
                assert_eq!(keys(u), sorted(vec!["index", "speaker", "text", "behaviour", "question", "reflection", "confidence"]));
                assert!(["question", "reflection", "therapist_input", "other"].contains(&u["behaviour"].as_str().unwrap()));
                assert!(u["question"].is_null() || ["open", "closed"].contains(&u["question"].as_str().unwrap()));
                assert!(u["reflection"].is_null() || ["simple", "complex"].contains(&u["reflection"].as_str().unwrap()));
            }
            "client" => {
                assert_eq!(keys(u), sorted(vec!["index", "speaker", "text", "talk", "confidence"]));
                assert!(["change", "neutral", "sustain"].contains(&u["talk"].as_str().unwrap()));
            }
            other => panic!("speaker {other}"),
        }
    }
    // Clear-cut utterances the shipped model must get right.
    assert_eq!(utts[0]["behaviour"], "question");
    assert_eq!(utts[0]["question"], "open");
    assert_eq!(utts[2]["behaviour"], "reflection");
    assert_eq!(utts[3]["talk"], "sustain");
    assert_eq!(utts[4]["behaviour"], "other");

    let s = &v["summary"];
    assert_eq!(
        keys(s),
        sorted(vec![
            "questions",
            "open_questions",
            "reflections",
            "complex_reflections",
            "reflection_to_question",
            "percent_complex_reflections",
            "percent_open_questions",
            "change_talk",
            "sustain_talk",
            "change_talk_proportion",
            "miti"
        ])
    );
    assert_eq!(keys(&s["miti"]), ["percent_complex_reflections", "reflection_to_question"]);
    assert!(s["questions"].as_u64().unwrap() >= 1);

    // The readable report mentions every utterance and the summary.
    let text = concord_mi::report::render_text(&coded);
    assert!(text.contains("MITI-style summary"));
    assert_eq!(text.lines().filter(|l| l.contains("  T  ") || l.contains("  C  ")).count(), 5);
}

#[test]
fn embedded_model_metadata() {
    let coder = Coder::embedded().unwrap();
    let m = coder.model();
    assert_eq!(m.seed(), DEFAULT_SEED);
    assert_eq!(*m.config(), FeatureConfig::default());
    assert_eq!(m.trained_utterances(), 7256);
    assert!(Coder::embedded_bytes().len() < 8 * 1024 * 1024);
}

fn data_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("CONCORD_ANNOMI_DIR")
        .map_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/annomi"), PathBuf::from);
    dir.join("AnnoMI-simple.dev.csv").exists().then_some(dir)
}

#[test]
#[ignore = "trains 6 models on AnnoMI (seconds in release, minutes in debug): cargo test -p concord-mi --release -- --ignored"]
fn shipped_model_reproduces_training_and_recorded_cross_validation() {
    let Some(dir) = data_dir() else {
        eprintln!("AnnoMI data not found (set CONCORD_ANNOMI_DIR); skipping");
        return;
    };
    // Same seed and data: byte-identical model.
    let model = train_from_dir(&dir, &TrainOptions::default()).unwrap();
    assert!(model.to_bytes() == Coder::embedded_bytes(), "retrained model differs from the shipped one");

    // The evaluation reproduces the recorded figures (tolerance for platform float differences).
    let recorded: EvalReport = serde_json::from_str(include_str!("../model/coder.eval.json")).unwrap();
    let report = evaluate(&dir, recorded.folds).unwrap();
    assert_eq!(report.utterances, recorded.utterances);
    for r in &recorded.tasks {
        let t = report.task(&r.task).unwrap();
        assert!((t.macro_f1 - r.macro_f1).abs() < 0.01, "{}: {} vs {}", r.task, t.macro_f1, r.macro_f1);
        for (a, b) in t.per_class.iter().zip(&r.per_class) {
            assert!((a.f1 - b.f1).abs() < 0.02, "{} {}: {} vs {}", r.task, a.label, a.f1, b.f1);
        }
    }
    for (a, b) in report.session_errors.iter().zip(&recorded.session_errors) {
        let tol = 0.05 * b.mean_absolute_error.max(1.0);
        assert!((a.mean_absolute_error - b.mean_absolute_error).abs() < tol, "{}", a.metric);
    }
    // The targets of issue 6.
    assert!(report.task("therapist_behaviour").unwrap().macro_f1 >= 0.74);
    assert!(report.task("client_talk").unwrap().macro_f1 >= 0.53);
}
