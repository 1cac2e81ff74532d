//! Pure helpers behind `concord score` and `concord outcome`: argument parsing, the
//! `--json` result types (also the shape of the API's score fields), and text rendering.
//! Every error here is bad input: the CLI prints it and exits with code 2.

use super::definition::{Instrument, InstrumentId, ScoringMethod};
use super::outcome::{EpisodeClass, EpisodeOutcome, MeasureOutcome, MeasureSeries, OutcomeConfig, OutcomeError, episode_outcome};
use super::registry::Registry;
use super::score::{Answer, Answers, ItemScore, MissingHandling, MissingMethod, Score, ScoreConvention, ScoreError, score};
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;

/// A command-line argument that could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ParseError(String);

/// Anything wrong with a `score` or `outcome` invocation (CLI exit code 2).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CliError {
    #[error("unknown instrument {name:?}; known instruments: {known}")]
    UnknownInstrument { name: String, known: String },
    #[error(transparent)]
    Parse(#[from] ParseError),
    #[error(transparent)]
    Score(#[from] ScoreError),
    #[error(transparent)]
    Outcome(#[from] OutcomeError),
}

/// Parses an ANSWERS argument: comma-separated whole numbers, `-` for a missing answer,
/// `na` for "not applicable" (e.g. `1,2,-,0`).
pub fn parse_answers(raw: &str) -> Result<Answers, ParseError> {
    if raw.trim().is_empty() {
        return Err(ParseError("no answers given; separate answers with commas, e.g. 1,2,-,0".into()));
    }
    raw.split(',')
        .enumerate()
        .map(|(i, tok)| {
            let n = i + 1;
            let tok = tok.trim();
            match tok {
                "" => Err(ParseError(format!("answer {n} is empty; use - for a missing answer"))),
                "-" => Ok(Answer::Missing),
                t if t.eq_ignore_ascii_case("na") => Ok(Answer::NotApplicable),
                t => t.parse::<i32>().map(Answer::Value).map_err(|_| {
                    ParseError(format!("answer {n} is {t:?}: expected a whole number, - for missing, or na for not applicable"))
                }),
            }
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Answers::new)
}

/// Parses a `--measure NAME=v1,v2,...` argument (totals, oldest first).
pub fn parse_measure_arg(raw: &str) -> Result<MeasureSeries, ParseError> {
    let Some((name, values)) = raw.split_once('=') else {
        return Err(ParseError(format!("--measure expects NAME=v1,v2,... (e.g. phq9=18,12,9), got {raw:?}")));
    };
    let measure = InstrumentId::parse(name.trim()).map_err(|e| ParseError(format!("--measure {raw:?}: {e}")))?;
    if values.trim().is_empty() {
        return Err(ParseError(format!("--measure {measure}: no values given")));
    }
    let totals = values
        .split(',')
        .enumerate()
        .map(|(i, tok)| {
            let tok = tok.trim();
            tok.parse::<i32>().map_err(|_| ParseError(format!("--measure {measure}: value {} is {tok:?}, expected a whole number", i + 1)))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(MeasureSeries { measure, totals })
}

/// `concord score ... --json` (and the score fields of the API). `band` is the snake_case
/// band id (e.g. `moderately_severe`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScoreJson {
    pub instrument: String,
    pub instrument_version: String,
    pub total: Option<i32>,
    pub band: Option<String>,
    pub band_label: Option<String>,
    pub caseness: Option<bool>,
    pub flags: Vec<String>,
    pub risk_items_unanswered: Vec<String>,
    pub items: Vec<ItemScore>,
    pub missing: MissingHandling,
    pub convention: ScoreConvention,
}

impl From<&Score> for ScoreJson {
    fn from(s: &Score) -> Self {
        Self {
            instrument: s.instrument.to_string(),
            instrument_version: s.convention.instrument_version.clone(),
            total: s.total,
            band: s.band.as_ref().map(|b| b.id.clone()),
            band_label: s.band.as_ref().map(|b| b.label.clone()),
            caseness: s.caseness,
            flags: s.flags.iter().map(ToString::to_string).collect(),
            risk_items_unanswered: s.risk_items_unanswered.clone(),
            items: s.items.clone(),
            missing: s.missing.clone(),
            convention: s.convention.clone(),
        }
    }
}

/// `concord outcome ... --json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutcomeJson {
    pub case_at_start: bool,
    pub case_at_end: bool,
    pub reliable_improvement: bool,
    pub reliable_deterioration: bool,
    pub recovery: bool,
    pub reliable_recovery: bool,
    pub no_reliable_change: bool,
    pub not_case_at_intake: bool,
    pub classification: EpisodeClass,
    pub paired: bool,
    pub measures: Vec<MeasureOutcome>,
    pub measures_not_supplied: Vec<InstrumentId>,
    pub convention: OutcomeConfig,
}

impl From<&EpisodeOutcome> for OutcomeJson {
    fn from(o: &EpisodeOutcome) -> Self {
        Self {
            case_at_start: o.case_at_start,
            case_at_end: o.case_at_end,
            reliable_improvement: o.reliable_improvement,
            reliable_deterioration: o.reliable_deterioration,
            recovery: o.recovery,
            reliable_recovery: o.reliable_recovery,
            no_reliable_change: o.no_reliable_change,
            not_case_at_intake: o.not_case_at_intake,
            classification: o.classification,
            paired: o.paired,
            measures: o.measures.clone(),
            measures_not_supplied: o.measures_not_supplied.clone(),
            convention: o.convention.clone(),
        }
    }
}

/// Looks an instrument up by id, with the list of known ids in the error.
pub fn find_instrument<'r>(registry: &'r Registry, name: &str) -> Result<&'r Instrument, CliError> {
    registry.get(name).ok_or_else(|| CliError::UnknownInstrument {
        name: name.to_owned(),
        known: registry.ids().map(InstrumentId::as_str).collect::<Vec<_>>().join(", "),
    })
}

/// `concord score INSTRUMENT ANSWERS`: look up, parse, score.
pub fn score_command<'r>(registry: &'r Registry, instrument: &str, answers: &str) -> Result<(&'r Instrument, Score), CliError> {
    let def = find_instrument(registry, instrument)?;
    let answers = parse_answers(answers)?;
    Ok((def, score(def, &answers)?))
}

/// `concord outcome --measure NAME=v1,v2,... [--measure ...]`.
pub fn outcome_command<S: AsRef<str>>(measures: &[S], config: &OutcomeConfig) -> Result<EpisodeOutcome, CliError> {
    let series = measures.iter().map(|m| parse_measure_arg(m.as_ref())).collect::<Result<Vec<_>, _>>()?;
    Ok(episode_outcome(&series, config)?)
}

fn yes_no(b: bool) -> &'static str {
    if b { "yes" } else { "no" }
}

/// Plain-text rendering of a score (non-JSON CLI output).
pub fn render_score_text(def: &Instrument, s: &Score) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{} ({} v{})", def.name(), s.instrument, def.version());
    match (def.scoring().method, s.total) {
        (ScoringMethod::Sum, Some(total)) => {
            let range = def.scoring().range.map(|r| format!(" (range {} to {})", r.min, r.max)).unwrap_or_default();
            let _ = writeln!(out, "Total: {total}{range}");
            match s.missing.method {
                MissingMethod::Prorated | MissingMethod::SubstitutedMean => {
                    let mut imputed = s.missing.missing_items.clone();
                    imputed.extend(s.missing.not_applicable_items.iter().cloned());
                    let _ = writeln!(
                        out,
                        "  {} from {} of {} items (missing or not applicable: {}); unrounded {:.2}",
                        if s.missing.method == MissingMethod::Prorated { "Prorated" } else { "Mean substituted" },
                        s.missing.answered_scored_items,
                        s.missing.scored_items,
                        imputed.join(", "),
                        s.missing.exact_total.unwrap_or_default()
                    );
                }
                MissingMethod::Complete | MissingMethod::TooManyMissing | MissingMethod::NoTotal => {}
            }
        }
        (ScoringMethod::Sum, None) => {
            let _ = writeln!(
                out,
                "Total: none ({} of {} scored items missing: {}; more than the rule allows)",
                s.missing.missing_items.len(),
                s.missing.scored_items,
                s.missing.missing_items.join(", ")
            );
        }
        (ScoringMethod::PerItem, _) => {
            for item in &s.items {
                let label = item.label.as_deref().map(|l| format!(" ({l})")).unwrap_or_default();
                let band = item.band.as_ref().map(|b| format!("; {}: {}", b.id, b.label)).unwrap_or_default();
                let _ = writeln!(out, "  {}: {}{label}{band}", item.id, item.answer);
            }
        }
    }
    if let Some(b) = &s.band {
        let _ = writeln!(out, "Band: {} ({})", b.id, b.label);
    }
    if let (Some(c), Some(cut)) = (s.caseness, &def.scoring().caseness) {
        let op = match cut.operator {
            super::definition::CutoffOperator::AtLeast => ">=",
            super::definition::CutoffOperator::AtMost => "<=",
        };
        let _ = writeln!(out, "{} ({op} {}): {}", cut.label, cut.value, yes_no(c));
    }
    let flags: Vec<&str> = s.flags.iter().map(|f| f.as_str()).collect();
    let _ = writeln!(out, "Flags: {}", if flags.is_empty() { "none".to_owned() } else { flags.join(", ") });
    if !s.risk_items_unanswered.is_empty() {
        let _ = writeln!(out, "Unanswered risk item(s): {}", s.risk_items_unanswered.join(", "));
    }
    out
}

/// Plain-text rendering of an episode outcome (non-JSON CLI output).
pub fn render_outcome_text(o: &EpisodeOutcome) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "Outcome: {} ({}) [{} convention]", o.classification.label(), o.classification.as_str(), o.convention.convention);
    let _ = writeln!(out, "  case at start: {}; case at end: {}", yes_no(o.case_at_start), yes_no(o.case_at_end));
    let _ = writeln!(
        out,
        "  reliable improvement: {}; reliable deterioration: {}",
        yes_no(o.reliable_improvement),
        yes_no(o.reliable_deterioration)
    );
    let _ = writeln!(out, "  recovery: {}; reliable recovery: {}", yes_no(o.recovery), yes_no(o.reliable_recovery));
    for m in &o.measures {
        let totals: Vec<String> = m.totals.iter().map(ToString::to_string).collect();
        let since_last = m.change_since_last.map(|c| format!(", since last {c:+}")).unwrap_or_default();
        let _ = writeln!(
            out,
            "  {}: {} (change since intake {:+}{since_last}); case (>= {}) {} -> {}; reliable change (>= {} points): {}",
            m.measure,
            totals.join(" -> "),
            m.change_since_intake,
            m.caseness_at_least,
            yes_no(m.case_at_start),
            yes_no(m.case_at_end),
            m.reliable_change_threshold,
            m.reliable_change.as_str()
        );
    }
    if !o.measures_not_supplied.is_empty() {
        let names: Vec<&str> = o.measures_not_supplied.iter().map(InstrumentId::as_str).collect();
        let _ = writeln!(out, "  not supplied: {}", names.join(", "));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_parse() {
        let a = parse_answers("1, 2,-,0,na").unwrap();
        assert_eq!(a.as_slice(), &[Answer::Value(1), Answer::Value(2), Answer::Missing, Answer::Value(0), Answer::NotApplicable]);
        assert_eq!(parse_answers("1,,2").unwrap_err().to_string(), "answer 2 is empty; use - for a missing answer");
        assert_eq!(
            parse_answers("1,x").unwrap_err().to_string(),
            "answer 2 is \"x\": expected a whole number, - for missing, or na for not applicable"
        );
        assert_eq!(parse_answers(" ").unwrap_err().to_string(), "no answers given; separate answers with commas, e.g. 1,2,-,0");
    }

    #[test]
    fn measure_parse() {
        let m = parse_measure_arg("phq9=18,12,9").unwrap();
        assert_eq!(m.measure.as_str(), "phq9");
        assert_eq!(m.totals, vec![18, 12, 9]);
        assert_eq!(
            parse_measure_arg("phq9").unwrap_err().to_string(),
            "--measure expects NAME=v1,v2,... (e.g. phq9=18,12,9), got \"phq9\""
        );
        assert_eq!(parse_measure_arg("phq9=1,a").unwrap_err().to_string(), "--measure phq9: value 2 is \"a\", expected a whole number");
        assert_eq!(parse_measure_arg("phq9=").unwrap_err().to_string(), "--measure phq9: no values given");
        assert!(parse_measure_arg("PHQ 9=1").is_err());
    }
}
