//! A measure's scores over time: severity bands, a caseness line, session markers.

use serde::{Deserialize, Serialize};

use crate::axis::{nice_ticks, y_of};
use crate::chart::{Chart, DataTable};
use crate::date::{date_ticks, format_date};
use crate::svg::{self, Envelope, clamp_size, colour, esc, fit_centre, fmt_value, n, plural, resolve_range, text_width, truncate};

const DAY: i64 = 86_400;

/// Characters per line of a band's label (two lines at most).
const BAND_LABEL_CHARS: usize = 22;

/// Everything [`measure_chart`] draws. Timestamps are Unix seconds (UTC); dates are shown shifted
/// by `utc_offset_seconds` (the practice's offset, so a late-evening session keeps its local date).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MeasureChart {
    /// Prefix for the ids inside the SVG; unique per page (e.g. `phq9-chart`).
    pub id_prefix: String,
    /// The measure's name, e.g. `PHQ-9`.
    pub title: String,
    /// The score range on the y axis, `(min, max)`, e.g. `(0.0, 27.0)`. Values outside are drawn
    /// (hollow) at the edge. An unusable range (not finite, empty) is fitted to the scores.
    pub y_range: (f64, f64),
    /// Severity bands, drawn as light horizontal bands labelled at the right.
    pub bands: Vec<Band>,
    /// The caseness cut-off, drawn as a dashed line labelled `<label> (<value>)`, e.g. `caseness (10)`.
    pub caseness: Option<Threshold>,
    /// The scores, in any order.
    pub points: Vec<MeasurePoint>,
    /// Sessions, drawn as ticks under the x axis: a line when attended, a ring when not.
    pub sessions: Vec<SessionMark>,
    /// The dates on the x axis, `(from, to)` in Unix seconds. Scores and sessions outside are not
    /// drawn (the summary says how many). An empty or reversed domain is fitted to the data.
    pub x_domain: (i64, i64),
    /// Offset added to timestamps when showing dates, in seconds (clamped to ±48 h).
    pub utc_offset_seconds: i64,
    /// Width of the viewBox in user units (the SVG itself scales to 100 % of its container).
    pub width: f64,
    /// Height of the viewBox in user units.
    pub height: f64,
    /// Decimals shown for scores (0–3).
    pub value_decimals: u8,
}

impl Default for MeasureChart {
    fn default() -> Self {
        Self {
            id_prefix: "measure".to_owned(),
            title: String::new(),
            y_range: (0.0, 1.0),
            bands: Vec::new(),
            caseness: None,
            points: Vec::new(),
            sessions: Vec::new(),
            x_domain: (0, 0),
            utc_offset_seconds: 0,
            width: 600.0,
            height: 280.0,
            value_decimals: 0,
        }
    }
}

/// A severity band, `from..=to` on the score scale.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Band {
    /// Lower edge.
    pub from: f64,
    /// Upper edge.
    pub to: f64,
    /// Its name, e.g. `moderately severe`.
    pub label: String,
}

/// A horizontal reference line: a caseness cut-off or a MITI threshold.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Threshold {
    /// Where the line is drawn.
    pub value: f64,
    /// Its name without the value, e.g. `caseness`, or `good 2:1` for a MI threshold (metric panels show the label as given).
    pub label: String,
}

/// One score.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MeasurePoint {
    /// When it was completed (Unix seconds).
    pub at: i64,
    /// The score. Scores that are not finite numbers are left out (and counted in the summary).
    pub value: f64,
    /// A note shown with the score, typically its band (`mild`).
    pub note: Option<String>,
}

/// One session on the x axis.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionMark {
    /// When it was (Unix seconds).
    pub at: i64,
    /// Whether the client attended.
    pub attended: bool,
}

/// The x domain to draw: the caller's when it is usable (at least one day long; shorter ones are
/// widened around their centre), otherwise fitted to the timestamps.
fn resolve_domain(domain: (i64, i64), times: impl Iterator<Item = i64>) -> (i64, i64) {
    let (from, to) = if domain.0 < domain.1 {
        domain
    } else {
        let mut lo = i64::MAX;
        let mut hi = i64::MIN;
        for t in times {
            lo = lo.min(t);
            hi = hi.max(t);
        }
        if lo > hi { (domain.0, domain.0) } else { (lo, hi) }
    };
    let span = i128::from(to) - i128::from(from);
    if span >= i128::from(DAY) {
        return (from, to);
    }
    let centre = (i128::from(from) + i128::from(to)) / 2;
    let half = if from == to { i128::from(3 * DAY) } else { i128::from(DAY) / 2 };
    let lo = (centre - half).max(i128::from(i64::MIN));
    let hi = (centre + half).min(i128::from(i64::MAX));
    (i64::try_from(lo).unwrap_or(i64::MIN), i64::try_from(hi).unwrap_or(i64::MAX))
}

/// Fraction of the way from `from` to `to`, clamped to `[0, 1]`.
fn frac(t: i64, from: i64, to: i64) -> f64 {
    let span = (i128::from(to) - i128::from(from)) as f64;
    if span <= 0.0 {
        return 0.5;
    }
    ((i128::from(t) - i128::from(from)) as f64 / span).clamp(0.0, 1.0)
}

fn with_note(value: &str, note: Option<&str>) -> String {
    match note.map(svg::clean_text).filter(|s| !s.is_empty()) {
        Some(note) => format!("{value} ({note})"),
        None => value.to_owned(),
    }
}

/// Draws a measure over time. Pure: the same input gives byte-identical output.
pub fn measure_chart(input: &MeasureChart) -> Chart {
    let id = svg::sanitize_id(&input.id_prefix);
    let title = match svg::clean_text(&input.title) {
        t if t.is_empty() => "Measure".to_owned(),
        t => t,
    };
    let w = clamp_size(input.width, 200.0, 4000.0, 600.0);
    let h = clamp_size(input.height, 140.0, 4000.0, 280.0);
    let fs = (w / 38.0).clamp(11.0, 16.0);
    let small = fs * 0.85;
    let offset = input.utc_offset_seconds.clamp(-2 * DAY, 2 * DAY);
    let dec = input.value_decimals.min(3);

    // Data: finite scores in time order (stable, so equal timestamps keep input order).
    let mut finite: Vec<&MeasurePoint> = input.points.iter().filter(|p| p.value.is_finite()).collect();
    finite.sort_by_key(|p| p.at);
    let not_numbers = input.points.len() - finite.len();
    let (lo, hi) = resolve_range(input.y_range, finite.iter().map(|p| p.value));
    let (from, to) = resolve_domain(input.x_domain, finite.iter().map(|p| p.at).chain(input.sessions.iter().map(|s| s.at)));
    let shown: Vec<&MeasurePoint> = finite.into_iter().filter(|p| p.at >= from && p.at <= to).collect();
    let outside = input.points.len() - not_numbers - shown.len();
    let mut sessions: Vec<&SessionMark> = input.sessions.iter().filter(|s| s.at >= from && s.at <= to).collect();
    sessions.sort_by_key(|s| s.at);

    // Bands, clipped to the range, in order.
    // Labels on two lines where the band is tall enough (so "Significant functional impairment"
    // is read whole), else on one, cut.
    let bands: Vec<(f64, f64, [Vec<String>; 2])> = input
        .bands
        .iter()
        .filter(|b| b.from.is_finite() && b.to.is_finite())
        .map(|b| {
            let label = [svg::wrap(&b.label, BAND_LABEL_CHARS, 1), svg::wrap(&b.label, BAND_LABEL_CHARS, 2)];
            (b.from.min(b.to).max(lo), b.from.max(b.to).min(hi), label)
        })
        .filter(|(a, b, _)| a < b)
        .collect();
    let caseness = input.caseness.as_ref().filter(|c| c.value.is_finite() && c.value >= lo && c.value <= hi);

    // Layout.
    let (yticks, ydec) = nice_ticks(lo, hi, ((h * 0.6) / (fs * 1.5)) as usize);
    let ylabels: Vec<(f64, String)> = yticks.iter().map(|v| (*v, fmt_value(*v, ydec))).collect();
    let ylabel_chars = ylabels.iter().map(|(_, s)| s.chars().count()).max().unwrap_or(1);
    let band_chars = bands.iter().flat_map(|(_, _, l)| l.iter().flatten().map(|line| line.chars().count())).max().unwrap_or(0);
    let left = (text_width(ylabel_chars, small) + fs * 0.9).min(w * 0.25);
    let right = if band_chars > 0 { (text_width(band_chars, small) + fs * 0.9).min(w * 0.3) } else { fs * 1.2 };
    let top = fs * 1.1;
    let session_zone = if sessions.is_empty() { 4.0 } else { 14.0 };
    let legend = if sessions.is_empty() { 0.0 } else { fs * 1.6 };
    let bottom = session_zone + fs * 1.5 + legend + 4.0;
    let (px, py) = (left, top);
    let (pw, ph) = ((w - left - right).max(20.0), (h - top - bottom).max(20.0));
    let (pr, pb) = (px + pw, py + ph);
    let x_of = |t: i64| px + frac(t, from, to) * pw;
    let y_at = |v: f64| y_of(v, lo, hi, py, pb);

    // Text alternative.
    let mut table = DataTable::new(format!("{title} scores"), &["Date", "Score", "Note"]);
    let mut off_scale = 0usize;
    for p in &shown {
        let mut note = p.note.as_deref().map(svg::clean_text).unwrap_or_default();
        let edge = if p.value > hi {
            Some("above the chart's range, drawn at its top")
        } else if p.value < lo {
            Some("below the chart's range, drawn at its bottom")
        } else {
            None
        };
        if let Some(edge) = edge {
            off_scale += 1;
            note = if note.is_empty() { edge.to_owned() } else { format!("{note}; {edge}") };
        }
        table.rows.push(vec![format_date(p.at, offset), fmt_value(p.value, dec), note]);
    }
    let summary = {
        let mut s = match (shown.first(), shown.last()) {
            (Some(first), Some(last)) if shown.len() > 1 => {
                let change = last.value - first.value;
                let direction = if fmt_value(change.abs(), dec) == fmt_value(0.0, dec) {
                    "unchanged from the first".to_owned()
                } else if change < 0.0 {
                    format!("down {} from the first", fmt_value(-change, dec))
                } else {
                    format!("up {} from the first", fmt_value(change, dec))
                };
                format!(
                    "{title}: {} from {} to {}; latest {}, {direction}.",
                    plural(shown.len(), "score", "scores"),
                    format_date(first.at, offset),
                    format_date(last.at, offset),
                    with_note(&fmt_value(last.value, dec), last.note.as_deref()),
                )
            }
            (Some(only), _) => format!(
                "{title}: 1 score, {} on {}.",
                with_note(&fmt_value(only.value, dec), only.note.as_deref()),
                format_date(only.at, offset)
            ),
            _ => format!("{title}: no scores in this period."),
        };
        if let Some(c) = caseness {
            let label = svg::clean_text(&c.label);
            let label = if label.is_empty() { "caseness".to_owned() } else { label };
            s.push_str(&format!(" The dashed line marks {label} at {}.", fmt_value(c.value, dec)));
        }
        if !sessions.is_empty() {
            let attended = sessions.iter().filter(|s| s.attended).count();
            s.push_str(&format!(" {} marked, {attended} attended.", plural(sessions.len(), "session", "sessions")));
        }
        if off_scale > 0 {
            s.push_str(&format!(
                " {} outside the range {}–{}, drawn at its edge.",
                plural(off_scale, "score lies", "scores lie"),
                fmt_value(lo, dec),
                fmt_value(hi, dec)
            ));
        }
        if outside > 0 {
            s.push_str(&format!(" {} outside these dates not shown.", plural(outside, "score", "scores")));
        }
        if not_numbers > 0 {
            s.push_str(&format!(" {} without a valid value not shown.", plural(not_numbers, "score", "scores")));
        }
        s
    };

    // Drawing.
    let mut out =
        svg::open(&Envelope { id: &id, class: "concord-measure", width: w, height: h, title: &title, desc: &summary, font_size: fs });
    out.push_str(&format!(
        "<rect class=\"plot-area\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"none\"/>\n",
        n(px),
        n(py),
        n(pw),
        n(ph)
    ));
    for (i, (a, b, _)) in bands.iter().enumerate() {
        let (yt, yb) = (y_at(*b), y_at(*a));
        let fill = if i % 2 == 0 { colour::BAND_A } else { colour::BAND_B };
        out.push_str(&format!(
            "<rect class=\"band\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{fill}\"/>\n",
            n(px),
            n(yt),
            n(pw),
            n((yb - yt).max(0.0))
        ));
    }
    for (v, label) in &ylabels {
        let y = y_at(*v);
        out.push_str(&format!(
            "<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"{}\" stroke-width=\"0.75\" stroke-dasharray=\"2 3\"/>\n",
            n(px),
            n(y),
            n(pr),
            n(y),
            colour::GRID
        ));
        out.push_str(&svg::text(px - fs * 0.45, y + small * 0.35, "end", small, colour::MUTED_INK, label));
    }
    for (a, b, [one_line, two_lines]) in &bands {
        let (yt, yb) = (y_at(*b), y_at(*a));
        if yb - yt < small * 1.05 {
            continue;
        }
        let shown = if yb - yt >= small * 2.2 { two_lines } else { one_line };
        let first_y = (yt + yb) / 2.0 + small * 0.35 - (shown.len() as f64 - 1.0) * small * 0.55;
        for (k, line) in shown.iter().enumerate() {
            out.push_str(&svg::text(pr + fs * 0.45, first_y + k as f64 * small * 1.1, "start", small, colour::MUTED_INK, line));
        }
    }
    // Axes.
    out.push_str(&format!(
        "<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"{}\" stroke-width=\"1\"/>\n",
        n(px),
        n(pb),
        n(pr),
        n(pb),
        colour::AXIS
    ));
    out.push_str(&format!(
        "<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"{}\" stroke-width=\"1\"/>\n",
        n(px),
        n(py),
        n(px),
        n(pb),
        colour::AXIS
    ));
    let date_w = text_width(10, small);
    let max_dates = ((pw + date_w) / (date_w * 1.25)) as usize;
    let label_y = pb + session_zone + small * 1.2;
    for t in date_ticks(from, to, offset, max_dates.max(2)) {
        let x = x_of(t);
        out.push_str(&format!(
            "<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"{}\" stroke-width=\"0.75\" stroke-dasharray=\"2 3\"/>\n",
            n(x),
            n(py),
            n(x),
            n(pb),
            colour::GRID
        ));
        let cx = fit_centre(x, date_w, 0.0, w);
        out.push_str(&svg::text(cx, label_y, "middle", small, colour::MUTED_INK, &format_date(t, offset)));
    }
    if let Some(c) = caseness {
        let y = y_at(c.value);
        out.push_str(&format!(
            "<line class=\"caseness\" x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"{}\" stroke-width=\"1.5\" stroke-dasharray=\"6 4\"/>\n",
            n(px),
            n(y),
            n(pr),
            n(y),
            colour::CASENESS
        ));
        let label = match truncate(&c.label, 32) {
            l if l.is_empty() => format!("caseness ({})", fmt_value(c.value, dec)),
            l => format!("{l} ({})", fmt_value(c.value, dec)),
        };
        let ly = if y - small * 0.5 < py + small { y + small * 1.2 } else { y - small * 0.45 };
        out.push_str(&svg::halo_text(px + fs * 0.4, ly, "start", small, colour::CASENESS, &label));
    }
    // Sessions.
    if !sessions.is_empty() {
        for s in &sessions {
            let x = x_of(s.at);
            if s.attended {
                out.push_str(&format!(
                    "<line class=\"session attended\" x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"{}\" stroke-width=\"2\"/>\n",
                    n(x),
                    n(pb + 3.0),
                    n(x),
                    n(pb + 12.0),
                    colour::LINE
                ));
            } else {
                out.push_str(&format!(
                    "<circle class=\"session missed\" cx=\"{}\" cy=\"{}\" r=\"3\" fill=\"{}\" stroke=\"{}\" stroke-width=\"1.25\"/>\n",
                    n(x),
                    n(pb + 8.0),
                    colour::BACKGROUND,
                    colour::AXIS
                ));
            }
        }
        let ly = h - fs * 0.55;
        let mut lx = px;
        out.push_str(&svg::text(lx, ly, "start", small, colour::MUTED_INK, "Sessions:"));
        lx += text_width(9, small) + fs * 0.6;
        out.push_str(&format!(
            "<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"{}\" stroke-width=\"2\"/>\n",
            n(lx),
            n(ly - small * 0.8),
            n(lx),
            n(ly + small * 0.05),
            colour::LINE
        ));
        out.push_str(&svg::text(lx + fs * 0.4, ly, "start", small, colour::MUTED_INK, "attended"));
        lx += fs * 0.4 + text_width(8, small) + fs * 1.0;
        out.push_str(&format!(
            "<circle cx=\"{}\" cy=\"{}\" r=\"3\" fill=\"{}\" stroke=\"{}\" stroke-width=\"1.25\"/>\n",
            n(lx),
            n(ly - small * 0.35),
            colour::BACKGROUND,
            colour::AXIS
        ));
        out.push_str(&svg::text(lx + fs * 0.5, ly, "start", small, colour::MUTED_INK, "not attended"));
    }
    // Scores.
    let coords: Vec<(f64, f64)> = shown.iter().map(|p| (x_of(p.at), y_at(p.value))).collect();
    if coords.len() > 1 {
        let pts: Vec<String> = coords.iter().map(|(x, y)| format!("{},{}", n(*x), n(*y))).collect();
        out.push_str(&format!(
            "<polyline class=\"series\" points=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"2\" stroke-linejoin=\"round\" stroke-linecap=\"round\"/>\n",
            pts.join(" "),
            colour::LINE
        ));
    }
    for (p, (x, y)) in shown.iter().zip(&coords) {
        let off = p.value > hi || p.value < lo;
        let tip = format!("{}: {}", format_date(p.at, offset), with_note(&fmt_value(p.value, dec), p.note.as_deref()));
        let (fill, r) = if off { (colour::BACKGROUND, 4.0) } else { (colour::LINE, 3.75) };
        out.push_str(&format!(
            "<circle class=\"point\" cx=\"{}\" cy=\"{}\" r=\"{}\" fill=\"{fill}\" stroke=\"{}\" stroke-width=\"{}\"><title>{}</title></circle>\n",
            n(*x),
            n(*y),
            n(r),
            if off { colour::LINE } else { colour::BACKGROUND },
            if off { "2" } else { "1.5" },
            esc(&tip)
        ));
    }
    if let (Some(last), Some((x, y))) = (shown.last(), coords.last()) {
        let label = truncate(&with_note(&fmt_value(last.value, dec), last.note.as_deref()), 28);
        // To the right of the latest point when it fits, otherwise above it, ending at the point.
        let lw = text_width(label.chars().count(), fs) * 1.08;
        let (lx, ly, anchor) = if x + fs * 0.6 + lw <= w - fs * 0.3 && (x + fs * 0.6 + lw <= pr || bands.is_empty()) {
            (x + fs * 0.6, y + fs * 0.35, "start")
        } else {
            let ly = if *y - fs * 1.6 < 0.0 { y + fs * 1.45 } else { y - fs * 0.7 };
            ((x + fs * 0.3).max(px + lw), ly, "end")
        };
        out.push_str(&format!(
            "<text class=\"latest\" x=\"{}\" y=\"{}\" text-anchor=\"{anchor}\" font-weight=\"600\" fill=\"{}\" stroke=\"{}\" stroke-width=\"3\" stroke-linejoin=\"round\" paint-order=\"stroke\">{}</text>\n",
            n(lx),
            n(ly),
            colour::LINE,
            colour::BACKGROUND,
            esc(&label)
        ));
    }
    if shown.is_empty() {
        out.push_str(&svg::halo_text(
            px + pw / 2.0,
            py + ph / 2.0 + fs * 0.35,
            "middle",
            fs,
            colour::MUTED_INK,
            if outside > 0 { "No scores in this period" } else { "No scores yet" },
        ));
    }
    out.push_str("</svg>\n");
    Chart { svg: out, summary, table }
}
