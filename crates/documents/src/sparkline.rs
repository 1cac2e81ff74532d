//! A word-sized trend for a table cell.

use crate::axis::y_of;
use crate::chart::{Chart, DataTable};
use crate::svg::{self, Envelope, clamp_size, colour, fmt_auto, n, plural, resolve_range};

/// A small line of `values` (oldest first) over `range`, with no axes, for a caseload table cell.
///
/// `label` names what it shows (e.g. `PHQ-9`); it becomes the SVG's `<title>`. Values that are not
/// finite numbers are skipped; values outside `range` are drawn at its edge. `width` and `height`
/// are the viewBox size (defaults to 80 × 20 when unusable). `id_prefix` keeps the ids of many
/// sparklines on one page distinct (e.g. `spark-<client id>-phq9`).
pub fn sparkline(id_prefix: &str, values: &[f64], range: (f64, f64), width: f64, height: f64, label: &str) -> Chart {
    let id = svg::sanitize_id(id_prefix);
    let label = match svg::clean_text(label) {
        l if l.is_empty() => "Trend".to_owned(),
        l => l,
    };
    let w = clamp_size(width, 16.0, 2000.0, 80.0);
    let h = clamp_size(height, 8.0, 1000.0, 20.0);
    let finite: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    let (lo, hi) = resolve_range(range, finite.iter().copied());
    let pad = (h * 0.15).clamp(1.5, 4.0);
    let (top, bottom, left, right) = (pad, h - pad, pad, w - pad);

    let mut table = DataTable::new(format!("{label} values"), &["#", "Value"]);
    for (i, v) in finite.iter().enumerate() {
        table.rows.push(vec![(i + 1).to_string(), fmt_auto(*v)]);
    }
    let summary = match (finite.first(), finite.last()) {
        (Some(first), Some(last)) if finite.len() > 1 => {
            let min = finite.iter().copied().fold(f64::INFINITY, f64::min);
            let max = finite.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            format!(
                "{label}: {}, first {}, latest {}, lowest {}, highest {}.",
                plural(finite.len(), "value", "values"),
                fmt_auto(*first),
                fmt_auto(*last),
                fmt_auto(min),
                fmt_auto(max)
            )
        }
        (Some(only), _) => format!("{label}: 1 value, {}.", fmt_auto(*only)),
        _ => format!("{label}: no values."),
    };

    let mut out =
        svg::open(&Envelope { id: &id, class: "concord-sparkline", width: w, height: h, title: &label, desc: &summary, font_size: 10.0 });
    out.push_str(&format!(
        "<rect class=\"plot-area\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"none\"/>\n",
        n(left),
        n(top),
        n(right - left),
        n(bottom - top)
    ));
    let step = if finite.len() > 1 { (right - left) / (finite.len() - 1) as f64 } else { 0.0 };
    let coords: Vec<(f64, f64)> = finite
        .iter()
        .enumerate()
        .map(|(i, v)| (if finite.len() > 1 { left + step * i as f64 } else { (left + right) / 2.0 }, y_of(*v, lo, hi, top, bottom)))
        .collect();
    if coords.len() > 1 {
        let pts: Vec<String> = coords.iter().map(|(x, y)| format!("{},{}", n(*x), n(*y))).collect();
        out.push_str(&format!(
            "<polyline class=\"series\" points=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"1.5\" stroke-linejoin=\"round\" stroke-linecap=\"round\"/>\n",
            pts.join(" "),
            colour::LINE
        ));
    }
    if let Some((x, y)) = coords.last() {
        out.push_str(&format!(
            "<circle class=\"point\" cx=\"{}\" cy=\"{}\" r=\"{}\" fill=\"{}\"/>\n",
            n(*x),
            n(*y),
            n((h * 0.1).clamp(1.5, 3.0)),
            colour::LINE
        ));
    } else {
        let y = (top + bottom) / 2.0;
        out.push_str(&format!(
            "<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"{}\" stroke-width=\"1\" stroke-dasharray=\"2 2\"/>\n",
            n(left),
            n(y),
            n(right),
            n(y),
            colour::GRID
        ));
    }
    out.push_str("</svg>\n");
    Chart { svg: out, summary, table }
}
