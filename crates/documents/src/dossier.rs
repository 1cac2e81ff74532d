//! The decision dossier as a PDF: the client's voice, where the decision stands, charts of the
//! main measures and check-ins, side effects noted so far and risks highlighted — one page,
//! at most two (CommonGround Health Report pattern).
//!
//! Typst is used as a library (`typst-as-lib` + `typst-pdf`), with the fonts of `typst-assets`
//! embedded in the binary: nothing is downloaded or read from disk at run time. The template
//! (`templates/dossier.typ`) is fixed; the data arrives as JSON in `sys.inputs` and the charts
//! as SVG bytes, so no client text is ever spliced into Typst source (no template injection).
//! The same input gives the same bytes (no timestamp is written).
//!
//! The caller decides what goes in: Architecture Invariant: psychotherapy notes are never part
//! of a [`DossierInput`] (it has no field for them).

use serde::Serialize;
use std::sync::OnceLock;
use typst::foundations::{Array, Bytes, Dict, IntoValue, Str};
use typst::layout::PagedDocument;
use typst_as_lib::TypstEngine;
use typst_as_lib::TypstTemplateMainFile;

const TEMPLATE: &str = include_str!("../templates/dossier.typ");

/// A chart in the dossier: its title (printed above it), its SVG (from this crate's chart
/// functions) and its text summary.
#[derive(Debug, Clone, Default, Serialize)]
pub struct DossierChart {
    pub title: String,
    pub svg: String,
    pub summary: String,
}

/// Everything the dossier shows, already in words. Empty lists are shown as "none yet".
#[derive(Debug, Clone, Default, Serialize)]
pub struct DossierInput {
    pub title: String,
    pub subtitle: String,
    pub version: i64,
    pub prepared_on: String,
    pub statement: Option<String>,
    pub goals: Vec<String>,
    pub personal_medicine: Vec<String>,
    pub concerns: Vec<String>,
    pub questions: Vec<String>,
    /// The decision in the client's words, or None when no decision was started.
    pub question: Option<String>,
    pub status: String,
    pub role: Option<String>,
    pub options: Vec<String>,
    pub mirror: Option<String>,
    pub sure: Option<String>,
    #[serde(skip)]
    pub charts: Vec<DossierChart>,
    pub side_effects: Vec<String>,
    pub risks: Vec<String>,
    /// What the dossier would show but has not been recorded yet.
    pub missing: Vec<String>,
    pub footer: String,
    pub note: String,
}

#[derive(Debug, thiserror::Error)]
pub enum DossierError {
    #[error("the dossier template failed: {0}")]
    Template(String),
    #[error("the dossier could not be written as PDF: {0}")]
    Pdf(String),
}

#[derive(Serialize)]
struct TemplateData<'a> {
    #[serde(flatten)]
    input: &'a DossierInput,
    chart_summaries: Vec<&'a str>,
    chart_titles: Vec<&'a str>,
}

fn engine() -> &'static TypstEngine<TypstTemplateMainFile> {
    static ENGINE: OnceLock<TypstEngine<TypstTemplateMainFile>> = OnceLock::new();
    ENGINE.get_or_init(|| TypstEngine::builder().main_file(TEMPLATE).fonts(typst_assets::fonts()).build())
}

/// Renders the dossier to PDF bytes.
pub fn render_pdf(input: &DossierInput) -> Result<Vec<u8>, DossierError> {
    let data = TemplateData {
        input,
        chart_summaries: input.charts.iter().map(|c| c.summary.as_str()).collect(),
        chart_titles: input.charts.iter().map(|c| c.title.as_str()).collect(),
    };
    let json = serde_json::to_string(&data).map_err(|e| DossierError::Template(e.to_string()))?;
    let mut inputs = Dict::new();
    inputs.insert(Str::from("data"), Str::from(json.as_str()).into_value());
    let charts: Array = input.charts.iter().map(|c| Bytes::new(c.svg.clone().into_bytes()).into_value()).collect();
    inputs.insert(Str::from("charts"), charts.into_value());
    let doc: PagedDocument = engine().compile_with_input(inputs).output.map_err(|e| DossierError::Template(format!("{e}")))?;
    typst_pdf::pdf(&doc, &typst_pdf::PdfOptions::default()).map_err(|e| DossierError::Pdf(format!("{e:?}")))
}

/// A representative filled-in dossier (three measure charts, every section used), for the
/// benchmark (`concord bench dossier`) and tests.
pub fn sample_input() -> DossierInput {
    use crate::{Band, MeasureChart, MeasurePoint, Threshold, measure_chart};
    let week = 7 * 86_400;
    let start = 1_767_571_200; // 2026-01-05
    let chart = |id: &str, title: &str, max: f64, cut: f64, values: &[f64]| {
        let points: Vec<MeasurePoint> =
            values.iter().zip(0i64..).map(|(v, i)| MeasurePoint { at: start + i * week, value: *v, note: None }).collect();
        let last = start + i64::try_from(values.len()).unwrap_or(1).saturating_sub(1) * week;
        let c = measure_chart(&MeasureChart {
            id_prefix: id.into(),
            title: title.into(),
            y_range: (0.0, max),
            bands: vec![
                Band { from: 0.0, to: cut - 1.0, label: "below caseness".into() },
                Band { from: cut, to: max, label: "caseness".into() },
            ],
            caseness: Some(Threshold { value: cut, label: "caseness".into() }),
            points,
            x_domain: (start, last.max(start + 86_400)),
            width: 420.0,
            height: 200.0,
            ..MeasureChart::default()
        });
        DossierChart { title: title.to_owned(), svg: c.svg, summary: c.summary }
    };
    let s = |v: &[&str]| v.iter().map(|x| (*x).to_owned()).collect::<Vec<String>>();
    DossierInput {
        title: "My decision dossier".into(),
        subtitle: "Alex Example — to bring to my prescriber".into(),
        version: 3,
        prepared_on: "Prepared 2026-03-02".into(),
        statement: Some(
            "I am a secondary-school teacher and a dad of two. I want treatment to help me sleep and to enjoy my work again. \
             I would like to work with my prescriber as a partner: I want to hear the options and decide together."
                .into(),
        ),
        goals: s(&["Sleep through most nights", "Enjoy teaching again", "Have energy for my kids at weekends"]),
        personal_medicine: s(&["Walking the dog every morning", "Cooking with my daughter", "Choir on Thursdays"]),
        concerns: s(&["Feeling emotionally flat", "Weight gain", "Having to take something for years"]),
        questions: s(&[
            "How soon would I notice a difference?",
            "What side effects should I call you about?",
            "How would we decide together whether it is working?",
        ]),
        question: Some("Should I try medication for my low mood?".into()),
        status: "Put off for now; to be revisited on 2026-04-15.".into(),
        role: Some("I prefer to share the decision with someone".into()),
        options: s(&["Referral for a medication evaluation", "Continue therapy with lifestyle strategies"]),
        mirror: Some(
            "Given the weights you chose, “Continue therapy with lifestyle strategies” fits what matters to you most closely (71 out of 100), \
             then “Referral for a medication evaluation” (64 out of 100)."
                .into(),
        ),
        sure: Some("SURE 3/4: some decisional conflict. Still open: knowing enough about the options.".into()),
        charts: vec![
            chart("phq9", "PHQ-9", 27.0, 10.0, &[18.0, 17.0, 16.0, 15.0, 15.0, 13.0, 12.0, 12.0]),
            chart("gad7", "GAD-7", 21.0, 8.0, &[12.0, 12.0, 11.0, 10.0, 9.0, 9.0, 8.0, 7.0]),
            chart("checkin", "Daily check-in", 10.0, 5.0, &[4.0, 4.0, 5.0, 5.0, 6.0, 5.0, 6.0, 6.0]),
        ],
        side_effects: s(&["2026-02-20: frequency: No side effects; intensity: No side effects; burden: No impairment"]),
        risks: Vec::new(),
        missing: Vec::new(),
        footer: "Decision dossier v3 — confidential: shared by the client".into(),
        note: "Written by the client with their therapist, in the client's own words. Any comparison reflects the weights the client chose; \
               it is not a recommendation."
            .into(),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]
    use super::*;

    #[test]
    fn renders_a_pdf_deterministically() {
        let input = sample_input();
        let a = render_pdf(&input).unwrap();
        let b = render_pdf(&input).unwrap();
        assert!(a.starts_with(b"%PDF-"));
        assert_eq!(a, b, "same input, same bytes");
    }

    #[test]
    fn client_text_is_never_typst_code() {
        let input = DossierInput {
            statement: Some("#read(\"/etc/passwd\") $x^2$ *bold* ]] #panic(\"no\") <label> @ref".into()),
            questions: vec!["#{ while true {} }".into()],
            ..DossierInput::default()
        };
        let pdf = render_pdf(&input).unwrap();
        assert!(pdf.starts_with(b"%PDF-"));
    }
}
