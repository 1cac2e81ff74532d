//! MITI-style summary of a coded transcript (MITI 4.2.1 summary scores and thresholds).
//!
//! Counts come from the question/reflection sub-codes (an utterance coded as both a question and
//! a reflection counts in both), not from the main behaviour alone.
//!
//! - `reflection_to_question` = reflections / questions;
//! - `percent_complex_reflections` = 100 × complex reflections / reflections;
//! - `percent_open_questions` = 100 × open questions / questions;
//! - `change_talk_proportion` = change talk / (change talk + sustain talk), a fraction in 0–1.
//!
//! Zero denominators: a ratio whose denominator is zero is `None` (JSON `null`), never 0 or
//! infinity. Its MITI rating is then `None` too, with one exception: with no questions but at
//! least one reflection, R:Q is undefined yet every finite threshold is exceeded, so the rating
//! is "good". Ratings compare exact integer counts (no rounding); the reported ratios are rounded
//! (R:Q and proportion to 3 decimals, percentages to 1 decimal).
//!
//! MITI 4.2.1 thresholds: R:Q fair ≥ 1:1, good ≥ 2:1; % complex reflections fair ≥ 40 %,
//! good ≥ 50 %.

use serde::{Deserialize, Serialize};

use crate::coder::CodedUtterance;
use crate::{QuestionKind, ReflectionKind, Talk};

/// A MITI proficiency rating.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Rating {
    #[serde(rename = "below fair")]
    BelowFair,
    #[serde(rename = "fair")]
    Fair,
    #[serde(rename = "good")]
    Good,
}

impl Rating {
    pub fn as_str(self) -> &'static str {
        match self {
            Rating::BelowFair => "below fair",
            Rating::Fair => "fair",
            Rating::Good => "good",
        }
    }
}

/// Ratings against the MITI 4.2.1 thresholds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct MitiRatings {
    pub reflection_to_question: Option<Rating>,
    pub percent_complex_reflections: Option<Rating>,
}

/// Session-level MI metrics.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub questions: u32,
    pub open_questions: u32,
    pub reflections: u32,
    pub complex_reflections: u32,
    pub reflection_to_question: Option<f64>,
    pub percent_complex_reflections: Option<f64>,
    pub percent_open_questions: Option<f64>,
    pub change_talk: u32,
    pub sustain_talk: u32,
    pub change_talk_proportion: Option<f64>,
    pub miti: MitiRatings,
}

/// The raw counts a summary is computed from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub questions: u32,
    pub open_questions: u32,
    pub reflections: u32,
    pub complex_reflections: u32,
    pub change_talk: u32,
    pub sustain_talk: u32,
}

fn round_to(x: f64, decimals: i32) -> f64 {
    let f = 10f64.powi(decimals);
    (x * f).round() / f
}

fn ratio(num: u32, den: u32) -> Option<f64> {
    (den > 0).then(|| f64::from(num) / f64::from(den))
}

/// R:Q rating from exact counts.
pub fn rate_reflection_to_question(reflections: u32, questions: u32) -> Option<Rating> {
    let (r, q) = (u64::from(reflections), u64::from(questions));
    if q == 0 {
        return (r > 0).then_some(Rating::Good);
    }
    Some(if r >= 2 * q {
        Rating::Good
    } else if r >= q {
        Rating::Fair
    } else {
        Rating::BelowFair
    })
}

/// % complex reflections rating from exact counts.
pub fn rate_percent_complex(complex: u32, reflections: u32) -> Option<Rating> {
    let (c, r) = (u64::from(complex), u64::from(reflections));
    if r == 0 {
        return None;
    }
    Some(if 100 * c >= 50 * r {
        Rating::Good
    } else if 100 * c >= 40 * r {
        Rating::Fair
    } else {
        Rating::BelowFair
    })
}

impl Summary {
    pub fn from_counts(c: Counts) -> Summary {
        Summary {
            questions: c.questions,
            open_questions: c.open_questions,
            reflections: c.reflections,
            complex_reflections: c.complex_reflections,
            reflection_to_question: ratio(c.reflections, c.questions).map(|x| round_to(x, 3)),
            percent_complex_reflections: ratio(c.complex_reflections, c.reflections).map(|x| round_to(100.0 * x, 1)),
            percent_open_questions: ratio(c.open_questions, c.questions).map(|x| round_to(100.0 * x, 1)),
            change_talk: c.change_talk,
            sustain_talk: c.sustain_talk,
            change_talk_proportion: ratio(c.change_talk, c.change_talk + c.sustain_talk).map(|x| round_to(x, 3)),
            miti: MitiRatings {
                reflection_to_question: rate_reflection_to_question(c.reflections, c.questions),
                percent_complex_reflections: rate_percent_complex(c.complex_reflections, c.reflections),
            },
        }
    }

    pub fn from_codes(codes: &[CodedUtterance]) -> Summary {
        let mut c = Counts::default();
        for u in codes {
            match u {
                CodedUtterance::Therapist(t) => {
                    if let Some(q) = t.question {
                        c.questions += 1;
                        if q == QuestionKind::Open {
                            c.open_questions += 1;
                        }
                    }
                    if let Some(r) = t.reflection {
                        c.reflections += 1;
                        if r == ReflectionKind::Complex {
                            c.complex_reflections += 1;
                        }
                    }
                }
                CodedUtterance::Client(cl) => match cl.talk {
                    Talk::Change => c.change_talk += 1,
                    Talk::Sustain => c.sustain_talk += 1,
                    Talk::Neutral => {}
                },
            }
        }
        Summary::from_counts(c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hand_worked_example() {
        // 8 questions (5 open), 10 reflections (4 complex), 6 change, 2 sustain.
        let s = Summary::from_counts(Counts {
            questions: 8,
            open_questions: 5,
            reflections: 10,
            complex_reflections: 4,
            change_talk: 6,
            sustain_talk: 2,
        });
        assert_eq!(s.reflection_to_question, Some(1.25));
        assert_eq!(s.percent_complex_reflections, Some(40.0));
        assert_eq!(s.percent_open_questions, Some(62.5));
        assert_eq!(s.change_talk_proportion, Some(0.75));
        assert_eq!(s.miti.reflection_to_question, Some(Rating::Fair));
        assert_eq!(s.miti.percent_complex_reflections, Some(Rating::Fair));
    }

    #[test]
    fn thresholds_are_inclusive_and_exact() {
        assert_eq!(rate_reflection_to_question(2, 1), Some(Rating::Good));
        assert_eq!(rate_reflection_to_question(1, 1), Some(Rating::Fair));
        assert_eq!(rate_reflection_to_question(9, 10), Some(Rating::BelowFair));
        assert_eq!(rate_reflection_to_question(19, 10), Some(Rating::Fair));
        assert_eq!(rate_percent_complex(1, 2), Some(Rating::Good));
        assert_eq!(rate_percent_complex(2, 5), Some(Rating::Fair));
        assert_eq!(rate_percent_complex(39, 100), Some(Rating::BelowFair));
        // 2/3 reflections complex = 66.7 %.
        let s = Summary::from_counts(Counts { questions: 3, reflections: 3, complex_reflections: 2, ..Counts::default() });
        assert_eq!(s.percent_complex_reflections, Some(66.7));
        assert_eq!(s.reflection_to_question, Some(1.0));
        assert_eq!(s.miti.percent_complex_reflections, Some(Rating::Good));
    }

    #[test]
    fn zero_denominators_are_null() {
        let s = Summary::from_counts(Counts::default());
        assert_eq!(s.reflection_to_question, None);
        assert_eq!(s.percent_complex_reflections, None);
        assert_eq!(s.percent_open_questions, None);
        assert_eq!(s.change_talk_proportion, None);
        assert_eq!(s.miti.reflection_to_question, None);
        assert_eq!(s.miti.percent_complex_reflections, None);
        let json = serde_json::to_value(&s).unwrap();
        assert!(json["reflection_to_question"].is_null());
        assert!(json["miti"]["percent_complex_reflections"].is_null());

        let only_reflections = Summary::from_counts(Counts { reflections: 3, ..Counts::default() });
        assert_eq!(only_reflections.reflection_to_question, None);
        assert_eq!(only_reflections.miti.reflection_to_question, Some(Rating::Good));
        assert_eq!(only_reflections.percent_complex_reflections, Some(0.0));
        assert_eq!(only_reflections.miti.percent_complex_reflections, Some(Rating::BelowFair));
    }

    #[test]
    fn rating_serialises_with_spaces() {
        assert_eq!(serde_json::to_string(&Rating::BelowFair).unwrap(), "\"below fair\"");
    }
}
