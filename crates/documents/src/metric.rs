//! MI metrics across a client's sessions: one small panel per metric, each with its own scale
//! and threshold lines, sharing one session axis.

use serde::{Deserialize, Serialize};

use crate::axis::y_of;
use crate::chart::{Chart, DataTable};
use crate::date::format_date;
use crate::measure::Threshold;
use crate::svg::{self, Envelope, clamp_size, colour, esc, fit_centre, fmt_value, n, plural, resolve_range, text_width, truncate};

/// Everything [`metric_trend`] draws.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricTrend {
    /// Prefix for the ids inside the SVG; unique per page.
    pub id_prefix: String,
    /// e.g. `MI metrics by session`.
    pub title: String,
    /// Session times (Unix seconds), in any order; each series' `values` line up with this list.
    pub sessions: Vec<i64>,
    /// What each time is, in the singular, for the text alternative and the table: `session`
    /// (MI metrics) or `check-in` (a client's daily check-ins).
    #[serde(default = "default_point")]
    pub point: String,
    /// Offset added to timestamps when showing dates, in seconds (clamped to ±48 h).
    pub utc_offset_seconds: i64,
    /// One panel per series, top to bottom.
    pub series: Vec<MetricSeries>,
    /// Width of the viewBox in user units.
    pub width: f64,
    /// Height of the viewBox in user units (raised when the panels need more room).
    pub height: f64,
}

impl Default for MetricTrend {
    fn default() -> Self {
        Self {
            id_prefix: "metrics".to_owned(),
            title: String::new(),
            sessions: Vec::new(),
            point: default_point(),
            utc_offset_seconds: 0,
            series: Vec::new(),
            width: 600.0,
            height: 360.0,
        }
    }
}

fn default_point() -> String {
    "session".to_owned()
}

/// One metric across sessions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricSeries {
    /// e.g. `Reflections to questions`.
    pub name: String,
    /// Appended to values, e.g. `%` (may be empty).
    pub unit: String,
    /// The panel's scale, e.g. `(0.0, 3.0)`; values outside are drawn at its edge.
    pub range: (f64, f64),
    /// Reference lines, each read as "at or above": e.g. fair at 1.0, good at 2.0.
    pub thresholds: Vec<Threshold>,
    /// One value per session (same order as `MetricTrend::sessions`); `None` where not measured.
    pub values: Vec<Option<f64>>,
    /// Decimals shown (0–3).
    pub decimals: u8,
}

fn with_unit(v: f64, decimals: u8, unit: &str) -> String {
    if v.is_finite() { format!("{}{unit}", fmt_value(v, decimals)) } else { "—".to_owned() }
}

/// The label of the highest threshold `v` reaches, or `below <lowest>`.
fn status(v: f64, thresholds: &[(f64, String)]) -> Option<String> {
    let first = thresholds.first()?;
    Some(match thresholds.iter().rev().find(|(t, _)| v >= *t) {
        Some((_, label)) => label.clone(),
        None => format!("below {}", first.1),
    })
}

/// Draws MI metrics across sessions, one panel per series. Pure and deterministic.
pub fn metric_trend(input: &MetricTrend) -> Chart {
    let id = svg::sanitize_id(&input.id_prefix);
    let title = match svg::clean_text(&input.title) {
        t if t.is_empty() => "MI metrics by session".to_owned(),
        t => t,
    };
    let w = clamp_size(input.width, 200.0, 4000.0, 600.0);
    let fs = (w / 38.0).clamp(11.0, 16.0);
    let small = fs * 0.85;
    let offset = input.utc_offset_seconds.clamp(-172_800, 172_800);

    // Sessions in time order, remembering where each came from.
    let mut order: Vec<(usize, i64)> = input.sessions.iter().copied().enumerate().collect();
    order.sort_by_key(|(_, t)| *t);
    let count = order.len();

    struct Prepared {
        name: String,
        unit: String,
        lo: f64,
        hi: f64,
        dec: u8,
        thresholds: Vec<(f64, String)>,
        values: Vec<Option<f64>>,
    }
    let prepared: Vec<Prepared> = input
        .series
        .iter()
        .map(|s| {
            let values: Vec<Option<f64>> =
                order.iter().map(|(i, _)| s.values.get(*i).copied().flatten().filter(|v| v.is_finite())).collect();
            let (lo, hi) = resolve_range(s.range, values.iter().flatten().copied());
            let mut thresholds: Vec<(f64, String)> =
                s.thresholds.iter().filter(|t| t.value.is_finite()).map(|t| (t.value, truncate(&t.label, 16))).collect();
            thresholds.sort_by(|a, b| a.0.total_cmp(&b.0));
            let name = match truncate(&s.name, 48) {
                t if t.is_empty() => "Metric".to_owned(),
                t => t,
            };
            Prepared { name, unit: truncate(&s.unit, 8), lo, hi, dec: s.decimals.min(3), thresholds, values }
        })
        .collect();

    // Text alternative.
    let point = match svg::clean_text(&input.point) {
        p if p.is_empty() => default_point(),
        p => p,
    };
    let points = format!("{point}s");
    let mut chars = point.chars();
    let capitalised: String = chars.next().map(|c| c.to_uppercase().chain(chars).collect()).unwrap_or_default();
    let mut columns: Vec<String> = vec![format!("{capitalised} date")];
    columns.extend(prepared.iter().map(|p| p.name.clone()));
    let mut table = DataTable { caption: title.clone(), columns, rows: Vec::new() };
    for (row, (_, t)) in order.iter().enumerate() {
        let mut cells = vec![format_date(*t, offset)];
        cells.extend(
            prepared.iter().map(|p| p.values.get(row).copied().flatten().map_or_else(|| "—".to_owned(), |v| with_unit(v, p.dec, &p.unit))),
        );
        table.rows.push(cells);
    }
    let mut summary = match (order.first(), order.last()) {
        (Some((_, a)), Some((_, b))) if count > 1 => {
            format!("{title}: {} from {} to {}.", plural(count, &point, &points), format_date(*a, offset), format_date(*b, offset))
        }
        (Some((_, a)), _) => format!("{title}: 1 {point}, {}.", format_date(*a, offset)),
        _ => format!("{title}: no {points}."),
    };
    for p in &prepared {
        let valued: Vec<f64> = p.values.iter().flatten().copied().collect();
        let part = match (valued.first(), valued.last()) {
            (Some(first), Some(last)) => {
                let st = status(*last, &p.thresholds).map(|s| format!(" ({s})")).unwrap_or_default();
                if valued.len() > 1 {
                    format!(" {}: latest {}{st}, first {}.", p.name, with_unit(*last, p.dec, &p.unit), with_unit(*first, p.dec, &p.unit))
                } else {
                    format!(" {}: {}{st}.", p.name, with_unit(*last, p.dec, &p.unit))
                }
            }
            _ => format!(" {}: no values.", p.name),
        };
        summary.push_str(&part);
    }

    // Layout.
    let panels = prepared.len().max(1);
    let header = fs * 1.9;
    let axis_h = fs * 1.8;
    let min_panel = header + fs * 3.0;
    let h = clamp_size(input.height, 120.0, 20_000.0, 360.0).max(panels as f64 * min_panel + axis_h + fs);
    let panel_h = (h - axis_h - fs * 0.5) / panels as f64;
    let label_chars = |p: &Prepared| [fmt_value(p.lo, p.dec), fmt_value(p.hi, p.dec)].iter().map(|s| s.chars().count()).max().unwrap_or(1);
    let left = text_width(prepared.iter().map(label_chars).max().unwrap_or(1), small) + fs * 0.9;
    let right_chars = prepared.iter().flat_map(|p| p.thresholds.iter().map(|(_, l)| l.chars().count())).max().unwrap_or(0);
    let right = if right_chars > 0 { (text_width(right_chars, small) + fs * 0.9).min(w * 0.3) } else { fs * 1.2 };
    let (px, pw) = (left, (w - left - right).max(20.0));
    let pr = px + pw;
    let inset = (fs * 1.2).min(pw / 4.0);
    let x_of = |i: usize| {
        if count <= 1 { px + pw / 2.0 } else { px + inset + i as f64 / (count - 1) as f64 * (pw - 2.0 * inset) }
    };

    let mut out =
        svg::open(&Envelope { id: &id, class: "concord-metrics", width: w, height: h, title: &title, desc: &summary, font_size: fs });
    let mut last_bottom = fs * 0.5 + header;
    for (k, p) in prepared.iter().enumerate() {
        let ptop = fs * 0.5 + k as f64 * panel_h + header;
        let pbot = ptop + panel_h - header - fs * 0.9;
        last_bottom = pbot;
        let y_at = |v: f64| y_of(v, p.lo, p.hi, ptop, pbot);
        let latest = p.values.iter().rev().flatten().next().map(|v| {
            let st = status(*v, &p.thresholds).map(|s| format!(" · {s}")).unwrap_or_default();
            format!("latest {}{st}", with_unit(*v, p.dec, &p.unit))
        });
        out.push_str(&format!(
            "<text x=\"{}\" y=\"{}\" font-size=\"{}\" font-weight=\"600\" fill=\"{}\">{}</text>\n",
            n(px),
            n(ptop - fs * 0.45),
            n(fs),
            colour::INK,
            esc(&p.name)
        ));
        if let Some(latest) = latest {
            out.push_str(&svg::text(pr, ptop - fs * 0.45, "end", small, colour::MUTED_INK, &latest));
        }
        out.push_str(&format!(
            "<rect class=\"plot-area\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{}\"/>\n",
            n(px),
            n(ptop),
            n(pw),
            n(pbot - ptop),
            colour::BAND_A
        ));
        for (v, label) in [(p.lo, fmt_value(p.lo, p.dec)), (p.hi, fmt_value(p.hi, p.dec))] {
            out.push_str(&svg::text(px - fs * 0.4, y_at(v) + small * 0.35, "end", small, colour::MUTED_INK, &label));
        }
        // Threshold lines; their labels pushed apart so close thresholds stay legible.
        let visible: Vec<(usize, f64, &str)> = p
            .thresholds
            .iter()
            .enumerate()
            .filter(|(_, (v, _))| *v >= p.lo && *v <= p.hi)
            .map(|(i, (v, l))| (i, y_at(*v), l.as_str()))
            .collect();
        let mut label_ys: Vec<f64> = visible.iter().map(|(_, y, _)| *y).collect();
        for i in 1..label_ys.len() {
            // Thresholds ascend, so each label sits above (smaller y than) the previous one.
            if let (Some(prev), Some(cur)) = (label_ys.get(i - 1).copied(), label_ys.get_mut(i)) {
                *cur = cur.min(prev - small * 1.1);
            }
        }
        for ((i, y, label), ly) in visible.iter().zip(&label_ys) {
            let dash = if i % 2 == 0 { "5 4" } else { "10 3" };
            out.push_str(&format!(
                "<line class=\"threshold\" x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"{}\" stroke-width=\"1.25\" stroke-dasharray=\"{dash}\"/>\n",
                n(px),
                n(*y),
                n(pr),
                n(*y),
                colour::CASENESS
            ));
            out.push_str(&svg::text(pr + fs * 0.4, ly + small * 0.35, "start", small, colour::CASENESS, label));
        }
        // Lines between consecutive measured sessions; points at each.
        let coords: Vec<Option<(f64, f64)>> = p.values.iter().enumerate().map(|(i, v)| v.map(|v| (x_of(i), y_at(v)))).collect();
        for run in coords.split(Option::is_none) {
            let pts: Vec<String> = run.iter().flatten().map(|(x, y)| format!("{},{}", n(*x), n(*y))).collect();
            if pts.len() > 1 {
                out.push_str(&format!(
                    "<polyline class=\"series\" points=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"2\" stroke-linejoin=\"round\"/>\n",
                    pts.join(" "),
                    colour::LINE
                ));
            }
        }
        for ((x, y), (v, (_, t))) in coords.iter().zip(p.values.iter().zip(&order)).filter_map(|(c, rest)| c.map(|c| (c, rest))) {
            let v = v.unwrap_or(f64::NAN);
            let off = v > p.hi || v < p.lo;
            out.push_str(&format!(
                "<circle class=\"point\" cx=\"{}\" cy=\"{}\" r=\"3.5\" fill=\"{}\" stroke=\"{}\" stroke-width=\"{}\"><title>{}</title></circle>\n",
                n(x),
                n(y),
                if off { colour::BACKGROUND } else { colour::LINE },
                if off { colour::LINE } else { colour::BACKGROUND },
                if off { "2" } else { "1.5" },
                esc(&format!("{}: {} {}", format_date(*t, offset), p.name, with_unit(v, p.dec, &p.unit)))
            ));
        }
    }
    if prepared.is_empty() {
        let ptop = fs * 0.5 + header;
        last_bottom = ptop + panel_h - header - fs * 0.9;
        out.push_str(&format!(
            "<rect class=\"plot-area\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{}\"/>\n",
            n(px),
            n(ptop),
            n(pw),
            n(last_bottom - ptop),
            colour::BAND_A
        ));
    }
    if prepared.is_empty() || count == 0 {
        let y = fs * 0.5 + header + (panel_h - header) / 2.0;
        let msg = if count == 0 { "No sessions with metrics yet" } else { "No metrics to show" };
        out.push_str(&svg::halo_text(px + pw / 2.0, y, "middle", fs, colour::MUTED_INK, msg));
    }
    // Session axis under the last panel.
    let date_w = text_width(10, small);
    let max_labels = ((pw + date_w) / (date_w * 1.5)).max(1.0) as usize;
    let step = count.div_ceil(max_labels.max(1)).max(1);
    let label_y = last_bottom + small * 1.4;
    for (i, (_, t)) in order.iter().enumerate() {
        let x = x_of(i);
        out.push_str(&format!(
            "<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"{}\" stroke-width=\"1\"/>\n",
            n(x),
            n(last_bottom),
            n(x),
            n(last_bottom + 4.0),
            colour::AXIS
        ));
        if i % step == 0 {
            out.push_str(&svg::text(fit_centre(x, date_w, 0.0, w), label_y, "middle", small, colour::MUTED_INK, &format_date(*t, offset)));
        }
    }
    out.push_str("</svg>\n");
    Chart { svg: out, summary, table }
}
