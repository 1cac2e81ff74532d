//! Readable plain-text report of a coded transcript (the non-JSON output of `concord mi code`).

use std::fmt::Write as _;

use crate::coder::{CodedTranscript, CodedUtterance};
use crate::summary::{Rating, Summary};

/// Longest utterance excerpt shown per line (characters).
const EXCERPT: usize = 90;

fn excerpt(text: &str) -> String {
    let one_line: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if one_line.chars().count() <= EXCERPT {
        one_line
    } else {
        let mut s: String = one_line.chars().take(EXCERPT - 1).collect();
        s.push('\u{2026}');
        s
    }
}

fn code_label(u: &CodedUtterance) -> String {
    match u {
        CodedUtterance::Therapist(t) => {
            let mut s = t.behaviour.as_str().to_string();
            let mut extra = Vec::new();
            if let Some(q) = t.question {
                extra.push(format!("{} question", q.as_str()));
            }
            if let Some(r) = t.reflection {
                extra.push(format!("{} reflection", r.as_str()));
            }
            if !extra.is_empty() {
                s.push_str(" (");
                s.push_str(&extra.join(", "));
                s.push(')');
            }
            s
        }
        CodedUtterance::Client(c) => format!("{} talk", c.talk.as_str()),
    }
}

fn opt(x: Option<f64>, suffix: &str) -> String {
    x.map_or_else(|| "n/a".to_string(), |v| format!("{v}{suffix}"))
}

fn rating(r: Option<Rating>) -> &'static str {
    r.map_or("not rated", Rating::as_str)
}

/// The summary block alone.
pub fn render_summary(s: &Summary) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "MITI-style summary");
    let _ = writeln!(
        out,
        "  Questions: {} ({} open, {} closed; {} open)",
        s.questions,
        s.open_questions,
        s.questions.saturating_sub(s.open_questions),
        opt(s.percent_open_questions, " %"),
    );
    let _ = writeln!(
        out,
        "  Reflections: {} ({} complex, {} simple)",
        s.reflections,
        s.complex_reflections,
        s.reflections.saturating_sub(s.complex_reflections),
    );
    let _ = writeln!(
        out,
        "  Reflection-to-question ratio: {}  -> {} (MITI 4.2.1: fair >= 1:1, good >= 2:1)",
        opt(s.reflection_to_question, ""),
        rating(s.miti.reflection_to_question),
    );
    let _ = writeln!(
        out,
        "  Complex reflections: {}  -> {} (MITI 4.2.1: fair >= 40 %, good >= 50 %)",
        opt(s.percent_complex_reflections, " %"),
        rating(s.miti.percent_complex_reflections),
    );
    let _ = writeln!(
        out,
        "  Client change talk: {}, sustain talk: {}, change-talk proportion: {}",
        s.change_talk,
        s.sustain_talk,
        opt(s.change_talk_proportion, ""),
    );
    out
}

/// The whole report: one line per utterance, then the summary.
pub fn render_text(t: &CodedTranscript) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{:>5}  {:<2} {:<44} {:>5}  text", "#", "", "code", "conf");
    for u in &t.utterances {
        let who = match u.speaker() {
            crate::Speaker::Therapist => "T",
            crate::Speaker::Client => "C",
        };
        let _ = writeln!(out, "{:>5}  {:<2} {:<44} {:>5.2}  {}", u.index(), who, code_label(u), u.confidence(), excerpt(u.text()),);
    }
    out.push('\n');
    out.push_str(&render_summary(&t.summary));
    out.push_str("\nCodes are automatic estimates (a model trained on AnnoMI); use them as feedback, not as a rating of record.\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::coder::{ClientCode, TherapistCode};
    use crate::{Behaviour, QuestionKind, ReflectionKind, Speaker, Talk};

    #[test]
    fn renders_codes_and_summary() {
        let utterances = vec![
            CodedUtterance::Therapist(TherapistCode {
                index: 0,
                speaker: Speaker::Therapist,
                text: "So you want to stop,\nbut what would that take?".into(),
                behaviour: Behaviour::Reflection,
                question: Some(QuestionKind::Open),
                reflection: Some(ReflectionKind::Complex),
                confidence: 0.61,
            }),
            CodedUtterance::Client(ClientCode {
                index: 1,
                speaker: Speaker::Client,
                text: "x".repeat(200),
                talk: Talk::Change,
                confidence: 0.7,
            }),
        ];
        let summary = Summary::from_codes(&utterances);
        let text = render_text(&CodedTranscript { utterances, summary });
        assert!(text.contains("reflection (open question, complex reflection)"));
        assert!(text.contains("So you want to stop, but what"));
        assert!(text.contains("change talk"));
        assert!(text.contains('\u{2026}'));
        assert!(text.contains("Reflection-to-question ratio: 1  -> fair"));
        assert!(text.contains("Complex reflections: 100 %  -> good"));
        assert!(text.contains("change-talk proportion: 1"));
    }

    #[test]
    fn renders_undefined_ratios() {
        let s = Summary::from_codes(&[]);
        let text = render_summary(&s);
        assert!(text.contains("ratio: n/a  -> not rated"));
    }
}
