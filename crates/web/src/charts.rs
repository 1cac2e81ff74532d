//! Charts for pages, drawn by `concord_documents` (deterministic, accessible SVG), with their
//! text alternatives as a table the page shows beside them.

use concord_documents::{Chart, ClientTalk, MetricSeries, MetricTrend, TalkTimeline, TalkType, Threshold};
use concord_mi::summary::Summary;
use concord_mi::{CodedTranscript, CodedUtterance, Talk};

/// A chart ready for a template: trusted SVG plus its text alternative.
#[derive(Debug, Clone, Default)]
pub struct ChartView {
    /// Trusted SVG from `concord_documents` (it escapes every text it draws).
    pub svg: String,
    pub summary: String,
    pub caption: String,
    pub columns: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

impl From<Chart> for ChartView {
    fn from(c: Chart) -> Self {
        ChartView { svg: c.svg, summary: c.summary, caption: c.table.caption, columns: c.table.columns, rows: c.table.rows }
    }
}

/// The change-talk timeline of one coded session.
pub fn talk_timeline(coded: &CodedTranscript) -> ChartView {
    let client = coded
        .utterances
        .iter()
        .filter_map(|u| match u {
            CodedUtterance::Client(c) => Some(ClientTalk {
                index: c.index,
                talk: match c.talk {
                    Talk::Change => TalkType::Change,
                    Talk::Neutral => TalkType::Neutral,
                    Talk::Sustain => TalkType::Sustain,
                },
            }),
            CodedUtterance::Therapist(_) => None,
        })
        .collect();
    concord_documents::talk_timeline(&TalkTimeline {
        id_prefix: "talk".into(),
        title: "Client change and sustain talk through the session".into(),
        utterance_count: coded.utterances.len(),
        client,
        width: 640.0,
        height: 220.0,
    })
    .into()
}

fn threshold(value: f64, label: &str) -> Threshold {
    Threshold { value, label: label.into() }
}

/// MI metrics across sessions: (session start, summary), oldest first.
pub fn metric_trend(series: &[(i64, Summary)]) -> ChartView {
    let col = |f: fn(&Summary) -> Option<f64>| series.iter().map(|(_, s)| f(s)).collect::<Vec<_>>();
    concord_documents::metric_trend(&MetricTrend {
        id_prefix: "mitrend".into(),
        title: "MI metrics across sessions".into(),
        sessions: series.iter().map(|(t, _)| *t).collect(),
        point: "session".into(),
        utc_offset_seconds: 0,
        series: vec![
            MetricSeries {
                name: "Reflections to questions".into(),
                unit: ":1".into(),
                range: (0.0, 3.0),
                thresholds: vec![threshold(1.0, "fair"), threshold(2.0, "good")],
                values: col(|s| s.reflection_to_question),
                decimals: 2,
            },
            MetricSeries {
                name: "Complex reflections".into(),
                unit: "%".into(),
                range: (0.0, 100.0),
                thresholds: vec![threshold(40.0, "fair"), threshold(50.0, "good")],
                values: col(|s| s.percent_complex_reflections),
                decimals: 0,
            },
            MetricSeries {
                name: "Change talk".into(),
                unit: "%".into(),
                range: (0.0, 100.0),
                thresholds: Vec::new(),
                values: col(|s| s.change_talk_proportion.map(|p| p * 100.0)),
                decimals: 0,
            },
        ],
        width: 640.0,
        height: 420.0,
    })
    .into()
}
