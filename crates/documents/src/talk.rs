//! Client talk through one motivational-interviewing session.

use serde::{Deserialize, Serialize};

use crate::axis::y_of;
use crate::chart::{Chart, DataTable};
use crate::svg::{self, Envelope, clamp_size, colour, fit_centre, n, plural, text_width};

/// A client utterance's talk type (MI coding).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TalkType {
    /// Talk in favour of change.
    Change,
    /// Neither.
    Neutral,
    /// Talk in favour of the status quo.
    Sustain,
}

/// One coded client utterance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientTalk {
    /// Its 0-based index among all of the session's utterances (therapist and client).
    pub index: usize,
    /// How it was coded.
    pub talk: TalkType,
}

/// Everything [`talk_timeline`] draws.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TalkTimeline {
    /// Prefix for the ids inside the SVG; unique per page.
    pub id_prefix: String,
    /// e.g. `Change talk through the session`.
    pub title: String,
    /// Number of utterances in the session, all speakers (the x axis). Raised to cover every index.
    pub utterance_count: usize,
    /// The coded client utterances, in any order.
    pub client: Vec<ClientTalk>,
    /// Width of the viewBox in user units.
    pub width: f64,
    /// Height of the viewBox in user units.
    pub height: f64,
}

impl Default for TalkTimeline {
    fn default() -> Self {
        Self { id_prefix: "talk".to_owned(), title: String::new(), utterance_count: 0, client: Vec::new(), width: 600.0, height: 260.0 }
    }
}

#[derive(Default, Clone, Copy)]
struct Counts {
    change: usize,
    neutral: usize,
    sustain: usize,
}

impl Counts {
    fn add(&mut self, t: TalkType) {
        match t {
            TalkType::Change => self.change += 1,
            TalkType::Neutral => self.neutral += 1,
            TalkType::Sustain => self.sustain += 1,
        }
    }

    fn proportion(self) -> Option<f64> {
        let denom = self.change + self.sustain;
        (denom > 0).then(|| self.change as f64 / denom as f64)
    }
}

fn percent(p: Option<f64>) -> String {
    p.map_or_else(|| "—".to_owned(), |p| format!("{}%", svg::fmt_value(p * 100.0, 0)))
}

/// Start (inclusive) of fifth `k` (0..=5) of `total` utterances.
fn fifth_start(total: usize, k: u128) -> usize {
    let v = (total as u128) * k / 5;
    usize::try_from(v).unwrap_or(total)
}

/// Draws client change, neutral and sustain talk across a session, with the change-talk
/// proportion so far (change ÷ (change + sustain), cumulative from the start, so its last value is
/// the session's proportion). Change talk is a blue bar above the midline, sustain talk a vermillion
/// bar below it, neutral a short grey tick on it: position and colour both carry the code.
pub fn talk_timeline(input: &TalkTimeline) -> Chart {
    let id = svg::sanitize_id(&input.id_prefix);
    let title = match svg::clean_text(&input.title) {
        t if t.is_empty() => "Change talk through the session".to_owned(),
        t => t,
    };
    let w = clamp_size(input.width, 200.0, 4000.0, 600.0);
    let h = clamp_size(input.height, 140.0, 4000.0, 240.0);
    let fs = (w / 38.0).clamp(11.0, 16.0);
    let small = fs * 0.85;

    let mut client: Vec<ClientTalk> = input.client.clone();
    client.sort_by_key(|c| c.index);
    let total = client.iter().map(|c| c.index.saturating_add(1)).max().unwrap_or(0).max(input.utterance_count);

    // Text alternative.
    let mut all = Counts::default();
    for c in &client {
        all.add(c.talk);
    }
    let mut table = DataTable::new(
        format!("{title}, by fifth of the session"),
        &["Part of session", "Utterances", "Change talk", "Neutral", "Sustain talk", "Change-talk proportion"],
    );
    let mut fifth_props = Vec::new();
    for k in 0..5u128 {
        let (a, b) = (fifth_start(total, k), fifth_start(total, k + 1));
        if a >= b {
            continue;
        }
        let mut c = Counts::default();
        for u in client.iter().filter(|u| u.index >= a && u.index < b) {
            c.add(u.talk);
        }
        fifth_props.push(percent(c.proportion()));
        table.rows.push(vec![
            format!("Fifth {}", k + 1),
            format!("{}–{}", a + 1, b),
            c.change.to_string(),
            c.neutral.to_string(),
            c.sustain.to_string(),
            percent(c.proportion()),
        ]);
    }
    let summary = if client.is_empty() {
        format!("{title}: no client utterances coded.")
    } else {
        format!(
            "{title}: {} in a session of {}: {} change talk, {} neutral, {} sustain talk; change-talk proportion {} ({} of {}). By fifths of the session: {}.",
            plural(client.len(), "client utterance", "client utterances"),
            plural(total, "utterance", "utterances"),
            all.change,
            all.neutral,
            all.sustain,
            percent(all.proportion()),
            all.change,
            all.change + all.sustain,
            fifth_props.join(", ")
        )
    };

    // Legend layout (may wrap on narrow charts).
    let items: [(&str, &str); 4] = [
        ("change", "change talk (above the line)"),
        ("sustain", "sustain talk (below)"),
        ("neutral", "neutral"),
        ("line", "change-talk proportion so far"),
    ];
    let mut legend: Vec<(f64, usize, &str, &str)> = Vec::new();
    let (mut lx, mut row) = (fs * 0.6, 0usize);
    for (kind, label) in items {
        let iw = fs * 1.4 + text_width(label.chars().count(), small);
        if lx + iw > w - fs * 0.3 && lx > fs {
            row += 1;
            lx = fs * 0.6;
        }
        legend.push((lx, row, kind, label));
        lx += iw + fs * 1.1;
    }
    let legend_h = (row + 1) as f64 * fs * 1.5;

    // Layout.
    let left = text_width(7, small * 0.9) + fs * 0.9;
    let right = fs * 1.2;
    let top = fs * 0.6;
    let bottom = fs * 1.6 + legend_h + 4.0;
    let (px, pw) = (left, (w - left - right).max(20.0));
    let ph = (h - top - bottom).max(40.0);
    let gap = fs * 1.5;
    let strip_h = (ph - gap) * 0.45;
    let (strip_top, strip_mid) = (top, top + strip_h / 2.0);
    let (prop_top, prop_bottom) = (top + strip_h + gap, top + ph);
    let pr = px + pw;
    let x_of = |i: usize| if total == 0 { px + pw / 2.0 } else { px + (i as f64 + 0.5) / total as f64 * pw };
    let y_prop = |p: f64| y_of(p, 0.0, 1.0, prop_top, prop_bottom);

    let mut out =
        svg::open(&Envelope { id: &id, class: "concord-talk", width: w, height: h, title: &title, desc: &summary, font_size: fs });
    out.push_str(&format!(
        "<rect class=\"plot-area\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"none\"/>\n",
        n(px),
        n(top),
        n(pw),
        n(ph)
    ));
    out.push_str(&format!(
        "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{}\"/>\n",
        n(px),
        n(strip_top),
        n(pw),
        n(strip_h),
        colour::BAND_A
    ));
    // Fifths.
    for k in 1..5u128 {
        let b = fifth_start(total, k);
        if total == 0 || b == 0 || b >= total {
            continue;
        }
        let x = px + b as f64 / total as f64 * pw;
        out.push_str(&format!(
            "<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"{}\" stroke-width=\"0.75\" stroke-dasharray=\"2 3\"/>\n",
            n(x),
            n(top),
            n(x),
            n(prop_bottom),
            colour::GRID
        ));
    }
    // Strip labels and midline.
    out.push_str(&svg::text(px - fs * 0.4, strip_mid - strip_h * 0.25 + small * 0.35, "end", small * 0.9, colour::CHANGE, "change"));
    out.push_str(&svg::text(px - fs * 0.4, strip_mid + strip_h * 0.25 + small * 0.35, "end", small * 0.9, colour::SUSTAIN, "sustain"));
    out.push_str(&format!(
        "<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"{}\" stroke-width=\"1\"/>\n",
        n(px),
        n(strip_mid),
        n(pr),
        n(strip_mid),
        colour::AXIS
    ));
    let bar_w = if total == 0 { 2.0 } else { (pw / total as f64 * 0.7).clamp(1.0, 6.0) };
    let bar_h = strip_h / 2.0 * 0.85;
    for c in &client {
        let x = x_of(c.index) - bar_w / 2.0;
        let (class, y, bh, fill) = match c.talk {
            TalkType::Change => ("talk change", strip_mid - bar_h, bar_h, colour::CHANGE),
            TalkType::Sustain => ("talk sustain", strip_mid, bar_h, colour::SUSTAIN),
            TalkType::Neutral => ("talk neutral", strip_mid - bar_h * 0.2, bar_h * 0.4, colour::NEUTRAL),
        };
        out.push_str(&format!(
            "<rect class=\"{class}\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{fill}\"/>\n",
            n(x),
            n(y),
            n(bar_w),
            n(bh)
        ));
    }
    // Proportion lane.
    for (p, label) in [(0.0, "0%"), (0.5, "50%"), (1.0, "100%")] {
        let y = y_prop(p);
        let dash = if p == 0.5 { "4 3" } else { "1 0" };
        out.push_str(&format!(
            "<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"{}\" stroke-width=\"{}\" stroke-dasharray=\"{dash}\"/>\n",
            n(px),
            n(y),
            n(pr),
            n(y),
            if p == 0.0 { colour::AXIS } else { colour::GRID },
            if p == 0.0 { "1" } else { "0.75" }
        ));
        out.push_str(&svg::text(px - fs * 0.4, y + small * 0.35, "end", small, colour::MUTED_INK, label));
    }
    let mut running = Counts::default();
    let mut line: Vec<(f64, f64)> = Vec::new();
    for c in &client {
        running.add(c.talk);
        if c.talk != TalkType::Neutral
            && let Some(p) = running.proportion()
        {
            line.push((x_of(c.index), y_prop(p)));
        }
    }
    if line.len() > 1 {
        let pts: Vec<String> = line.iter().map(|(x, y)| format!("{},{}", n(*x), n(*y))).collect();
        out.push_str(&format!(
            "<polyline class=\"series\" points=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"2\" stroke-linejoin=\"round\"/>\n",
            pts.join(" "),
            colour::LINE
        ));
    }
    if let Some((x, y)) = line.last() {
        out.push_str(&format!("<circle class=\"point\" cx=\"{}\" cy=\"{}\" r=\"3\" fill=\"{}\"/>\n", n(*x), n(*y), colour::LINE));
    }
    // X axis: utterance numbers at the start of each fifth and at the end.
    let label_y = prop_bottom + small * 1.3;
    let mut marks: Vec<usize> = (0..5u128).map(|k| fifth_start(total, k)).filter(|b| *b < total).collect();
    marks.dedup();
    for b in marks.iter().copied().chain((total > 0).then_some(total)) {
        let x = if b == total { pr } else { px + b as f64 / total.max(1) as f64 * pw };
        let label = if b == total { total.to_string() } else { (b + 1).to_string() };
        let lw = text_width(label.chars().count(), small);
        out.push_str(&svg::text(fit_centre(x, lw, 0.0, w), label_y, "middle", small, colour::MUTED_INK, &label));
    }
    if client.is_empty() {
        out.push_str(&svg::halo_text(px + pw / 2.0, strip_mid + fs * 0.35, "middle", fs, colour::MUTED_INK, "No client talk coded"));
    }
    // Legend.
    let legend_top = prop_bottom + fs * 1.6;
    for (x, row, kind, label) in legend {
        let y = legend_top + (row as f64 + 0.75) * fs * 1.5;
        let (gx, gm, gh) = (x + fs * 0.5, y - small * 0.35, small * 0.55);
        let bar = |top: f64, height: f64, fill: &str| {
            format!("<rect x=\"{}\" y=\"{}\" width=\"4\" height=\"{}\" fill=\"{fill}\"/>\n", n(gx - 2.0), n(top), n(height))
        };
        let glyph = match kind {
            "change" => bar(gm - gh, gh, colour::CHANGE),
            "sustain" => bar(gm, gh, colour::SUSTAIN),
            "neutral" => bar(gm - gh * 0.2, gh * 0.4, colour::NEUTRAL),
            _ => String::new(),
        };
        let midline = if kind == "line" { (colour::LINE, "2") } else { (colour::AXIS, "1") };
        out.push_str(&format!(
            "<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"{}\" stroke-width=\"{}\"/>\n",
            n(x),
            n(gm),
            n(x + fs),
            n(gm),
            midline.0,
            midline.1
        ));
        out.push_str(&glyph);
        out.push_str(&svg::text(x + fs * 1.4, y, "start", small, colour::MUTED_INK, label));
    }
    out.push_str("</svg>\n");
    Chart { svg: out, summary, table }
}
