//! Property tests: arbitrary input never panics, always gives well-formed, accessible SVG, and
//! every drawn point stays inside its plot area.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use common::*;
use concord_documents::*;
use proptest::prelude::*;

fn value() -> impl Strategy<Value = f64> {
    prop_oneof![
        3 => 0.0..30.0f64,
        1 => -1e6..1e6f64,
        1 => any::<f64>(),
        1 => Just(f64::NAN),
        1 => Just(f64::INFINITY),
        1 => Just(f64::NEG_INFINITY),
        1 => Just(f64::MAX),
        1 => Just(-0.0),
    ]
}

fn size() -> impl Strategy<Value = f64> {
    prop_oneof![4 => 100.0..1200.0f64, 1 => any::<f64>(), 1 => Just(f64::NAN), 1 => Just(0.0)]
}

fn timestamp() -> impl Strategy<Value = i64> {
    prop_oneof![4 => (JAN5 - 400 * DAY)..(JAN5 + 400 * DAY), 1 => any::<i64>(), 1 => Just(i64::MIN), 1 => Just(i64::MAX)]
}

fn label() -> impl Strategy<Value = String> {
    proptest::collection::vec(
        prop_oneof![
            4 => proptest::char::range('a', 'z'),
            2 => prop_oneof![Just('<'), Just('>'), Just('&'), Just('"'), Just('\''), Just(' '), Just(';'), Just('#')],
            1 => any::<char>(),
            1 => prop_oneof![Just('\u{0}'), Just('\u{1b}'), Just('\u{fffe}'), Just('\n'), Just('é'), Just('\u{202e}')],
        ],
        0..24,
    )
    .prop_map(|c| c.into_iter().collect())
}

fn range() -> impl Strategy<Value = (f64, f64)> {
    prop_oneof![3 => Just((0.0, 27.0)), 2 => (value(), value())]
}

fn measure_input() -> impl Strategy<Value = MeasureChart> {
    (
        (label(), label(), range()),
        proptest::collection::vec((value(), value(), label()).prop_map(|(from, to, label)| Band { from, to, label }), 0..6),
        proptest::option::of((value(), label()).prop_map(|(value, label)| Threshold { value, label })),
        proptest::collection::vec(
            (timestamp(), value(), proptest::option::of(label())).prop_map(|(at, value, note)| MeasurePoint { at, value, note }),
            0..12,
        ),
        proptest::collection::vec((timestamp(), any::<bool>()).prop_map(|(at, attended)| SessionMark { at, attended }), 0..10),
        prop_oneof![2 => Just((JAN5 - 30 * DAY, JAN5 + 200 * DAY)), 1 => (timestamp(), timestamp())],
        (any::<i64>(), size(), size(), any::<u8>()),
    )
        .prop_map(
            |((id_prefix, title, y_range), bands, caseness, points, sessions, x_domain, (offset, width, height, value_decimals))| {
                MeasureChart {
                    id_prefix,
                    title,
                    y_range,
                    bands,
                    caseness,
                    points,
                    sessions,
                    x_domain,
                    utc_offset_seconds: offset,
                    width,
                    height,
                    value_decimals,
                }
            },
        )
}

fn talk() -> impl Strategy<Value = TalkType> {
    prop_oneof![Just(TalkType::Change), Just(TalkType::Neutral), Just(TalkType::Sustain)]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn measure_chart_is_always_well_formed(input in measure_input()) {
        let chart = measure_chart(&input);
        let elements = check_svg(&chart.svg);
        assert_points_inside(&elements);
        for row in &chart.table.rows {
            prop_assert_eq!(row.len(), chart.table.columns.len());
        }
        prop_assert_eq!(measure_chart(&input), chart);
    }

    #[test]
    fn in_range_scores_are_drawn_and_off_range_scores_clamped(values in proptest::collection::vec(-50.0..80.0f64, 1..20)) {
        let points: Vec<MeasurePoint> =
            values.iter().enumerate().map(|(i, v)| MeasurePoint { at: JAN5 + i as i64 * DAY, value: *v, note: None }).collect();
        let input = MeasureChart { y_range: (0.0, 27.0), points, x_domain: (JAN5, JAN5 + 30 * DAY), ..phq9(600.0, 280.0) };
        let chart = measure_chart(&input);
        let elements = check_svg(&chart.svg);
        assert_points_inside(&elements);
        let drawn = elements.iter().filter(|e| e.name == "circle" && e.has_class("point")).count();
        prop_assert_eq!(drawn, values.len());
        prop_assert_eq!(chart.table.rows.len(), values.len());
        let off = values.iter().filter(|v| **v < 0.0 || **v > 27.0).count();
        let hollow = elements.iter().filter(|e| e.has_class("point") && e.attr("fill") == Some("#ffffff")).count();
        prop_assert_eq!(hollow, off);
    }

    #[test]
    fn sparkline_is_always_well_formed(
        id in label(), values in proptest::collection::vec(value(), 0..40), r in range(), w in size(), h in size(), l in label()
    ) {
        let chart = sparkline(&id, &values, r, w, h, &l);
        assert_points_inside(&check_svg(&chart.svg));
        prop_assert_eq!(chart.table.rows.len(), values.iter().filter(|v| v.is_finite()).count());
    }

    #[test]
    fn talk_timeline_is_always_well_formed(
        id in label(), title in label(),
        count in prop_oneof![0usize..400, Just(usize::MAX)],
        client in proptest::collection::vec(
            (prop_oneof![5 => 0usize..400, 1 => any::<usize>()], talk()).prop_map(|(index, talk)| ClientTalk { index, talk }),
            0..120,
        ),
        w in size(), h in size(),
    ) {
        let chart = talk_timeline(&TalkTimeline { id_prefix: id, title, utterance_count: count, client: client.clone(), width: w, height: h });
        let elements = check_svg(&chart.svg);
        assert_points_inside(&elements);
        let counted: usize = chart.table.rows.iter().map(|r| r[2..5].iter().map(|c| c.parse::<usize>().unwrap()).sum::<usize>()).sum();
        prop_assert_eq!(counted, client.len());
    }

    #[test]
    fn metric_trend_is_always_well_formed(
        id in label(), title in label(),
        sessions in proptest::collection::vec(timestamp(), 0..10),
        series in proptest::collection::vec(
            (label(), label(), range(),
             proptest::collection::vec((value(), label()).prop_map(|(value, label)| Threshold { value, label }), 0..4),
             proptest::collection::vec(proptest::option::of(value()), 0..12),
             any::<u8>())
                .prop_map(|(name, unit, range, thresholds, values, decimals)| MetricSeries { name, unit, range, thresholds, values, decimals }),
            0..5,
        ),
        offset in any::<i64>(), w in size(), h in size(),
    ) {
        let n = sessions.len();
        let chart = metric_trend(&MetricTrend { id_prefix: id, title, sessions, point: "session".into(), utc_offset_seconds: offset, series, width: w, height: h });
        assert_points_inside(&check_svg(&chart.svg));
        prop_assert_eq!(chart.table.rows.len(), n);
        for row in &chart.table.rows {
            prop_assert_eq!(row.len(), chart.table.columns.len());
        }
    }

    #[test]
    fn format_date_never_panics(t in any::<i64>(), o in any::<i64>()) {
        let d = format_date(t, o);
        prop_assert!(d.len() >= 10);
    }
}

#[test]
fn the_checker_rejects_malformed_xml() {
    assert!(parse_xml("<svg><g></svg>").is_err());
    assert!(parse_xml("<svg>a & b</svg>").is_err());
    assert!(parse_xml("<svg a=\"<\"/>").is_err());
    assert!(parse_xml("<svg a=\"1\" a=\"2\"/>").is_err());
    assert!(parse_xml("<svg/><svg/>").is_err());
    assert!(parse_xml("<svg>\u{1}</svg>").is_err());
    assert!(parse_xml("<svg><text>&lt;&amp;</text></svg>").is_ok());
}
