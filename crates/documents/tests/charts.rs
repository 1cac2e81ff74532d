//! Snapshot and behaviour tests for the charts. Snapshots live in `tests/snapshots/*.svg`;
//! `UPDATE_SNAPSHOTS=1 cargo test -p concord-documents` rewrites them (review the diff).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use common::*;
use concord_documents::*;

#[test]
fn phq9_chart_snapshot_and_text_alternative() {
    let chart = measure_chart(&phq9(600.0, 280.0));
    let elements = check_svg(&chart.svg);
    assert_points_inside(&elements);
    snapshot("measure_phq9", &chart.svg);
    assert_eq!(
        chart.summary,
        "PHQ-9: 6 scores from 2026-01-05 to 2026-02-14; latest 9 (mild), down 9 from the first. \
         The dashed line marks caseness at 10. 9 sessions marked, 7 attended."
    );
    assert_eq!(chart.table.columns, ["Date", "Score", "Note"]);
    assert_eq!(chart.table.rows.len(), 6);
    assert_eq!(chart.table.rows[0], ["2026-01-05", "18", "moderately severe"]);
    assert_eq!(chart.table.rows[5], ["2026-02-14", "9", "mild"]);
    assert!(chart.svg.contains("<title id=\"phq9-title\">PHQ-9</title>"));
    assert!(chart.svg.contains("aria-labelledby=\"phq9-title phq9-desc\""));
    assert_eq!(elements.iter().filter(|e| e.has_class("point")).count(), 6);
    assert_eq!(elements.iter().filter(|e| e.has_class("band")).count(), 5);
    assert_eq!(elements.iter().filter(|e| e.has_class("missed")).count(), 2);
    assert!(elements.iter().any(|e| e.has_class("caseness") && e.attr("stroke-dasharray").is_some()));
}

#[test]
fn phq9_chart_narrow_snapshot() {
    let chart = measure_chart(&phq9(340.0, 240.0));
    assert_points_inside(&check_svg(&chart.svg));
    snapshot("measure_phq9_narrow", &chart.svg);
}

#[test]
fn same_input_same_bytes() {
    let input = phq9(600.0, 280.0);
    assert_eq!(measure_chart(&input), measure_chart(&input));
    assert_eq!(talk_timeline(&mi_session()), talk_timeline(&mi_session()));
    assert_eq!(metric_trend(&mi_metrics()), metric_trend(&mi_metrics()));
}

#[test]
fn point_order_does_not_matter() {
    let input = phq9(600.0, 280.0);
    let mut reversed = input.clone();
    reversed.points.reverse();
    reversed.sessions.reverse();
    assert_eq!(measure_chart(&input), measure_chart(&reversed));
}

#[test]
fn single_score() {
    let mut input = phq9(600.0, 280.0);
    input.points.truncate(1);
    input.sessions.truncate(1);
    let chart = measure_chart(&input);
    let elements = check_svg(&chart.svg);
    assert_points_inside(&elements);
    assert_eq!(elements.iter().filter(|e| e.has_class("point")).count(), 1);
    assert!(!chart.svg.contains("<polyline"));
    assert!(chart.summary.starts_with("PHQ-9: 1 score, 18 (moderately severe) on 2026-01-05."), "{}", chart.summary);
    snapshot("measure_single", &chart.svg);
}

#[test]
fn no_scores() {
    let mut input = phq9(600.0, 280.0);
    input.points.clear();
    input.sessions.clear();
    let chart = measure_chart(&input);
    check_svg(&chart.svg);
    assert!(chart.svg.contains("No scores yet"));
    assert!(chart.table.rows.is_empty());
    assert!(chart.summary.starts_with("PHQ-9: no scores in this period."));
    snapshot("measure_empty", &chart.svg);
}

#[test]
fn hostile_labels_are_escaped_and_off_scale_values_clamped() {
    let input = MeasureChart {
        id_prefix: "x\" onload=\"alert(1)".into(),
        title: "<script>alert('t')</script> & co".into(),
        y_range: (0.0, 24.0),
        bands: vec![
            Band { from: 0.0, to: 9.5, label: "<b>low</b> \u{0}\u{7}".into() },
            Band { from: 9.5, to: 24.0, label: "\"high\" & 'higher'".into() },
        ],
        caseness: Some(Threshold { value: 12.0, label: "</text><script>".into() }),
        points: vec![
            MeasurePoint { at: JAN5, value: 40.0, note: Some("<img src=x onerror=alert(1)>".into()) },
            MeasurePoint { at: JAN5 + 7 * DAY, value: -3.0, note: None },
            MeasurePoint { at: JAN5 + 14 * DAY, value: f64::NAN, note: None },
            MeasurePoint { at: JAN5 + 21 * DAY, value: 8.0, note: Some("a&b".into()) },
            MeasurePoint { at: JAN5 + 400 * DAY, value: 8.0, note: None },
        ],
        sessions: vec![],
        x_domain: (JAN5, JAN5 + 28 * DAY),
        utc_offset_seconds: 0,
        width: 600.0,
        height: 280.0,
        value_decimals: 0,
    };
    let chart = measure_chart(&input);
    let elements = check_svg(&chart.svg);
    assert_points_inside(&elements);
    assert!(!chart.svg.contains("<script") && !chart.svg.contains("<b>") && !chart.svg.contains("<img"));
    assert!(chart.svg.contains("&lt;script&gt;"));
    assert_eq!(elements[0].attr("aria-labelledby"), Some("x--onload--alert-1--title x--onload--alert-1--desc"));
    assert_eq!(chart.table.rows.len(), 3);
    assert_eq!(chart.table.rows[0][2], "<img src=x onerror=alert(1)>; above the chart's range, drawn at its top");
    assert_eq!(chart.table.rows[1][2], "below the chart's range, drawn at its bottom");
    assert!(chart.summary.contains("2 scores lie outside the range 0–24, drawn at its edge."), "{}", chart.summary);
    assert!(chart.summary.contains("1 score outside these dates not shown."), "{}", chart.summary);
    assert!(chart.summary.contains("1 score without a valid value not shown."), "{}", chart.summary);
    snapshot("measure_hostile", &chart.svg);
}

#[test]
fn two_charts_on_a_page_have_distinct_ids() {
    let mut a = phq9(600.0, 280.0);
    a.id_prefix = "phq9".into();
    let mut b = phq9(600.0, 280.0);
    b.id_prefix = "gad7".into();
    let page = format!("<div>{}{}</div>", measure_chart(&a).svg, measure_chart(&b).svg);
    let elements = parse_xml(&page).unwrap();
    let ids: Vec<&str> = elements.iter().filter_map(|e| e.attr("id")).collect();
    let unique: std::collections::HashSet<&&str> = ids.iter().collect();
    assert_eq!(ids.len(), unique.len());
}

#[test]
fn sparkline_snapshot() {
    let chart = sparkline("spark-c1-phq9", &[18.0, 16.0, 15.0, 12.0, 11.0, 9.0], (0.0, 27.0), 80.0, 20.0, "PHQ-9");
    let elements = check_svg(&chart.svg);
    assert_points_inside(&elements);
    assert_eq!(chart.summary, "PHQ-9: 6 values, first 18, latest 9, lowest 9, highest 18.");
    assert_eq!(chart.table.rows[5], ["6", "9"]);
    snapshot("sparkline", &chart.svg);
    let empty = sparkline("s", &[], (0.0, 27.0), 80.0, 20.0, "PHQ-9");
    check_svg(&empty.svg);
    assert_eq!(empty.summary, "PHQ-9: no values.");
    let one = sparkline("s", &[f64::NAN, 30.0], (0.0, 27.0), 80.0, 20.0, "");
    assert_points_inside(&check_svg(&one.svg));
    assert_eq!(one.summary, "Trend: 1 value, 30.");
}

#[test]
fn talk_timeline_snapshot_and_fifths() {
    let input = mi_session();
    let chart = talk_timeline(&input);
    let elements = check_svg(&chart.svg);
    assert_points_inside(&elements);
    snapshot("talk_timeline", &chart.svg);
    assert_eq!(chart.table.rows.len(), 5);
    assert_eq!(chart.table.rows[0][..2], ["Fifth 1", "1–32"]);
    assert_eq!(chart.table.rows[4][..2], ["Fifth 5", "129–160"]);
    let counted: usize = chart.table.rows.iter().map(|r| r[2..5].iter().map(|c| c.parse::<usize>().unwrap()).sum::<usize>()).sum();
    assert_eq!(counted, input.client.len());
    assert_eq!(elements.iter().filter(|e| e.has_class("talk")).count(), input.client.len());
    assert!(chart.summary.starts_with("Change talk through the session: 80 client utterances in a session of 160 utterances:"));
    let narrow = talk_timeline(&TalkTimeline { width: 340.0, height: 260.0, ..input });
    assert_points_inside(&check_svg(&narrow.svg));
    snapshot("talk_timeline_narrow", &narrow.svg);
}

#[test]
fn talk_timeline_hand_worked() {
    let client = [(1, TalkType::Change), (3, TalkType::Sustain), (5, TalkType::Change), (7, TalkType::Neutral), (9, TalkType::Change)]
        .into_iter()
        .map(|(index, talk)| ClientTalk { index, talk })
        .collect();
    let chart = talk_timeline(&TalkTimeline { utterance_count: 10, client, ..TalkTimeline::default() });
    check_svg(&chart.svg);
    assert_eq!(
        chart.summary,
        "Change talk through the session: 5 client utterances in a session of 10 utterances: 3 change talk, 1 neutral, \
         1 sustain talk; change-talk proportion 75% (3 of 4). By fifths of the session: 100%, 0%, 100%, —, 100%."
    );
    assert_eq!(chart.table.rows[3], ["Fifth 4", "7–8", "0", "1", "0", "—"]);
    let empty = talk_timeline(&TalkTimeline::default());
    check_svg(&empty.svg);
    assert_eq!(empty.summary, "Change talk through the session: no client utterances coded.");
}

#[test]
fn metric_trend_snapshot() {
    let chart = metric_trend(&mi_metrics());
    let elements = check_svg(&chart.svg);
    assert_points_inside(&elements);
    snapshot("metric_trend", &chart.svg);
    assert_eq!(
        chart.summary,
        "MI metrics by session: 6 sessions from 2026-01-05 to 2026-02-09. Reflections to questions: latest 2.1 (good 2:1), \
         first 0.6. Complex reflections: latest 52% (good 50%), first 22%. Change-talk proportion: latest 70%, first 38%."
    );
    assert_eq!(chart.table.columns, ["Session date", "Reflections to questions", "Complex reflections", "Change-talk proportion"]);
    assert_eq!(chart.table.rows[2], ["2026-01-19", "—", "35%", "51%"]);
    assert_eq!(elements.iter().filter(|e| e.has_class("point")).count(), 17);
    let narrow = metric_trend(&MetricTrend { width: 340.0, ..mi_metrics() });
    assert_points_inside(&check_svg(&narrow.svg));
    snapshot("metric_trend_narrow", &narrow.svg);
}

#[test]
fn metric_trend_edge_cases() {
    let none = metric_trend(&MetricTrend::default());
    check_svg(&none.svg);
    assert_eq!(none.summary, "MI metrics by session: no sessions.");
    let mut one = mi_metrics();
    one.sessions.truncate(1);
    let chart = metric_trend(&one);
    assert_points_inside(&check_svg(&chart.svg));
    assert!(chart.summary.contains("Reflections to questions: 0.6 (below fair 1:1)."), "{}", chart.summary);
    // Daily check-ins are named as such, not as sessions.
    let check_ins = metric_trend(&MetricTrend { title: "Daily check-ins".into(), point: "check-in".into(), ..mi_metrics() });
    assert!(check_ins.summary.starts_with("Daily check-ins: 6 check-ins from 2026-01-05"), "{}", check_ins.summary);
    assert_eq!(check_ins.table.columns[0], "Check-in date");
    let one_check_in = metric_trend(&MetricTrend { point: "check-in".into(), ..one });
    assert!(one_check_in.summary.contains(": 1 check-in, 2026-01-05."), "{}", one_check_in.summary);
}

#[test]
fn dates_are_formatted_without_a_locale() {
    assert_eq!(format_date(JAN5, 0), "2026-01-05");
    assert_eq!(format_date(JAN5 - 1, 0), "2026-01-04");
    assert_eq!(format_date(JAN5 - 1, 3600), "2026-01-05");
}
