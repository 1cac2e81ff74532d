//! Documents: deterministic, accessible SVG charts (PDFs and printable HTML come later).
//!
//! Every chart function is pure: the same input gives byte-identical output, with no clock, no
//! locale and no randomness. Each returns a [`Chart`]: the `<svg>` element, a plain-text summary
//! and a [`DataTable`] with the data behind it, for a `<table>` rendered beside the chart.
//!
//! - [`measure_chart`] — a measure's scores over time, with severity bands, a dashed caseness
//!   line and session ticks (PHQ-9, GAD-7, WSAS, …).
//! - [`sparkline`] — a word-sized trend for a caseload table cell.
//! - [`talk_timeline`] — client change, neutral and sustain talk through an MI session, with the
//!   change-talk proportion so far.
//! - [`metric_trend`] — MI metrics across sessions, one panel per metric with its thresholds.
//!
//! The SVG is embedded inline under a strict Content Security Policy, so it uses presentation
//! attributes only: no `style` attributes and no `<style>` elements. Each `<svg>` has `role="img"`
//! and `aria-labelledby` pointing to its own `<title>` and `<desc>`, whose ids start with the
//! caller's (sanitised) id prefix so several charts can share a page. All text from callers
//! (instrument titles, band labels imported by a practice) is cleaned of characters XML cannot
//! carry and escaped. Sizes are viewBox units; the element itself is `width="100%"`.
//!
//! Bad input never panics: values that are not finite numbers are left out (and counted in the
//! summary), values outside the y range are drawn at its edge as hollow points, unusable ranges
//! and domains are fitted to the data.
//!
//! ```
//! use concord_documents::{MeasureChart, MeasurePoint, Threshold, measure_chart};
//!
//! let chart = measure_chart(&MeasureChart {
//!     id_prefix: "phq9".into(),
//!     title: "PHQ-9".into(),
//!     y_range: (0.0, 27.0),
//!     caseness: Some(Threshold { value: 10.0, label: "caseness".into() }),
//!     points: vec![MeasurePoint { at: 1_767_571_200, value: 18.0, note: Some("moderately severe".into()) }],
//!     ..MeasureChart::default()
//! });
//! assert!(chart.svg.starts_with("<svg "));
//! assert_eq!(chart.summary, "PHQ-9: 1 score, 18 (moderately severe) on 2026-01-05. The dashed line marks caseness at 10.");
//! ```
//!
//! See `README.md` in this crate for sizing advice and the test set-up.

mod axis;
mod chart;
mod date;
pub mod dossier;
mod measure;
mod metric;
mod sparkline;
mod svg;
mod talk;

pub use chart::{Chart, DataTable};
pub use date::format_date;
pub use measure::{Band, MeasureChart, MeasurePoint, SessionMark, Threshold, measure_chart};
pub use metric::{MetricSeries, MetricTrend, metric_trend};
pub use sparkline::sparkline;
pub use talk::{ClientTalk, TalkTimeline, TalkType, talk_timeline};
