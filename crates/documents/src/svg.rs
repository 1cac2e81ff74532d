//! Low-level helpers shared by every chart: text cleaning and escaping, deterministic number
//! formatting, id sanitising and the common `<svg>` envelope.

/// Colours, chosen to stay calm on screen and in print, and to survive colour-blindness
/// (the Okabe–Ito blue and vermillion for change and sustain talk).
pub(crate) mod colour {
    pub(crate) const INK: &str = "#1f2933";
    pub(crate) const MUTED_INK: &str = "#52606d";
    pub(crate) const AXIS: &str = "#7b8794";
    pub(crate) const GRID: &str = "#cbd2d9";
    pub(crate) const LINE: &str = "#1f3a5f";
    pub(crate) const BAND_A: &str = "#f3f5f7";
    pub(crate) const BAND_B: &str = "#e4e9ee";
    pub(crate) const CASENESS: &str = "#9a3412";
    pub(crate) const CHANGE: &str = "#0072b2";
    pub(crate) const SUSTAIN: &str = "#d55e00";
    pub(crate) const NEUTRAL: &str = "#9aa5b1";
    pub(crate) const BACKGROUND: &str = "#ffffff";
}

/// Whether a character may appear in an XML 1.0 document at all (even escaped).
fn xml_allowed(c: char) -> bool {
    matches!(c, '\u{9}' | '\u{A}' | '\u{D}' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..='\u{10FFFF}')
}

/// Removes characters XML cannot carry, turns every run of whitespace into one space and trims.
pub(crate) fn clean_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut pending_space = false;
    for c in s.chars().filter(|c| xml_allowed(*c)) {
        if c.is_whitespace() {
            pending_space = !out.is_empty();
        } else {
            if pending_space {
                out.push(' ');
                pending_space = false;
            }
            out.push(c);
        }
    }
    out
}

/// Cleans and XML-escapes text for element content or a double-quoted attribute.
pub(crate) fn esc(s: &str) -> String {
    let clean = clean_text(s);
    let mut out = String::with_capacity(clean.len() + 8);
    for c in clean.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            _ => out.push(c),
        }
    }
    out
}

/// Shortens cleaned text to at most `max` characters, ending with an ellipsis when cut.
pub(crate) fn truncate(s: &str, max: usize) -> String {
    let clean = clean_text(s);
    if clean.chars().count() <= max {
        return clean;
    }
    let mut out: String = clean.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// Cleaned text broken at spaces into at most `lines` lines of at most `width` characters; the
/// last line is truncated (with an ellipsis) when the text does not fit.
pub(crate) fn wrap(s: &str, width: usize, lines: usize) -> Vec<String> {
    let clean = clean_text(s);
    let mut out: Vec<String> = Vec::new();
    let mut words = clean.split(' ').filter(|w| !w.is_empty()).peekable();
    while out.len() < lines.max(1) && words.peek().is_some() {
        let last = out.len() + 1 == lines.max(1);
        let mut line = String::new();
        while let Some(word) = words.peek() {
            let len = line.chars().count() + usize::from(!line.is_empty()) + word.chars().count();
            if !line.is_empty() && len > width {
                break;
            }
            if !line.is_empty() {
                line.push(' ');
            }
            line.push_str(word);
            words.next();
        }
        if last && words.peek().is_some() {
            let rest: Vec<&str> = words.by_ref().collect();
            line = format!("{line} {}", rest.join(" "));
        }
        out.push(truncate(&line, width));
    }
    out
}

/// A coordinate: one fixed decimal, never `NaN`, never `-0.0`.
pub(crate) fn n(x: f64) -> String {
    let x = if x.is_finite() { x } else { 0.0 };
    strip_negative_zero(format!("{x:.1}"))
}

fn strip_negative_zero(s: String) -> String {
    match s.strip_prefix('-') {
        Some(rest) if rest.chars().all(|c| c == '0' || c == '.') => rest.to_owned(),
        _ => s,
    }
}

/// A value for people to read: `decimals` fixed decimals (at most 3), scientific notation beyond
/// a billion, and a dash for values that are not numbers.
pub(crate) fn fmt_value(v: f64, decimals: u8) -> String {
    if !v.is_finite() {
        return "—".to_owned();
    }
    if v.abs() >= 1e9 {
        return format!("{v:.3e}");
    }
    let d = usize::from(decimals.min(3));
    strip_negative_zero(format!("{v:.d$}"))
}

/// Like [`fmt_value`] with up to two decimals, dropping trailing zeros (`2.50` → `2.5`, `3.00` → `3`).
pub(crate) fn fmt_auto(v: f64) -> String {
    let s = fmt_value(v, 2);
    if s.contains('.') && !s.contains('e') { s.trim_end_matches('0').trim_end_matches('.').to_owned() } else { s }
}

/// Turns a caller's id prefix into a valid XML id: ASCII letters, digits, `-` and `_`, starting with a
/// letter. Different prefixes that differ only in other characters may collide; callers use plain
/// ASCII prefixes such as `phq9-chart`.
pub(crate) fn sanitize_id(prefix: &str) -> String {
    let mut out: String =
        prefix.chars().take(64).map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '-' }).collect();
    if !out.chars().next().is_some_and(|c| c.is_ascii_alphabetic()) {
        out.insert(0, 'c');
    }
    out
}

/// A finite size in user units, clamped into `[lo, hi]`.
pub(crate) fn clamp_size(v: f64, lo: f64, hi: f64, fallback: f64) -> f64 {
    if v.is_finite() { v.clamp(lo, hi) } else { fallback }
}

/// A `(lo, hi)` range that is finite and non-empty: the caller's, or one fitted to `values`
/// (padded when they are all equal), or `(0, 1)`.
pub(crate) fn resolve_range(range: (f64, f64), values: impl Iterator<Item = f64>) -> (f64, f64) {
    const LIMIT: f64 = 1e12;
    let usable =
        |lo: f64, hi: f64| lo.is_finite() && hi.is_finite() && lo < hi && (hi - lo).is_finite() && lo.abs() <= LIMIT && hi.abs() <= LIMIT;
    let (a, b) = range;
    if usable(a, b) {
        return (a, b);
    }
    if usable(b, a) {
        return (b, a);
    }
    let mut lo = f64::INFINITY;
    let mut hi = f64::NEG_INFINITY;
    for v in values.filter(|v| v.is_finite()) {
        let v = v.clamp(-LIMIT, LIMIT);
        lo = lo.min(v);
        hi = hi.max(v);
    }
    if !lo.is_finite() || !hi.is_finite() {
        return (0.0, 1.0);
    }
    if lo < hi {
        return (lo, hi);
    }
    let pad = (lo.abs() * 0.1).max(1.0);
    (lo - pad, hi + pad)
}

/// Accessibility and presentation data for [`open`].
pub(crate) struct Envelope<'a> {
    pub(crate) id: &'a str,
    pub(crate) class: &'a str,
    pub(crate) width: f64,
    pub(crate) height: f64,
    pub(crate) title: &'a str,
    pub(crate) desc: &'a str,
    pub(crate) font_size: f64,
}

/// Starts an SVG document: `role="img"`, `aria-labelledby` naming its `<title>` and `<desc>`, a
/// responsive `viewBox` with `width="100%"`, presentation attributes only (no `style`), and a white
/// background so the chart stays legible in dark mode and print.
pub(crate) fn open(e: &Envelope<'_>) -> String {
    let id = e.id;
    let mut s = String::with_capacity(8192);
    s.push_str(&format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"concord-chart {class}\" viewBox=\"0 0 {w} {h}\" width=\"100%\" \
         preserveAspectRatio=\"xMidYMid meet\" role=\"img\" aria-labelledby=\"{id}-title {id}-desc\" \
         font-family=\"system-ui, -apple-system, Segoe UI, Roboto, Helvetica, Arial, sans-serif\" font-size=\"{fs}\" fill=\"{ink}\">\n",
        class = esc(e.class),
        w = n(e.width),
        h = n(e.height),
        fs = n(e.font_size),
        ink = colour::INK,
    ));
    s.push_str(&format!("<title id=\"{id}-title\">{}</title>\n", esc(e.title)));
    s.push_str(&format!("<desc id=\"{id}-desc\">{}</desc>\n", esc(e.desc)));
    s.push_str(&format!("<rect x=\"0\" y=\"0\" width=\"{}\" height=\"{}\" fill=\"{}\"/>\n", n(e.width), n(e.height), colour::BACKGROUND));
    s
}

/// Text with a white halo (drawn under the glyphs) so it stays readable over lines and bands.
pub(crate) fn halo_text(x: f64, y: f64, anchor: &str, size: f64, fill: &str, text: &str) -> String {
    format!(
        "<text x=\"{}\" y=\"{}\" text-anchor=\"{anchor}\" font-size=\"{}\" fill=\"{fill}\" stroke=\"{}\" stroke-width=\"3\" \
         stroke-linejoin=\"round\" paint-order=\"stroke\">{}</text>\n",
        n(x),
        n(y),
        n(size),
        colour::BACKGROUND,
        esc(text)
    )
}

/// Plain text.
pub(crate) fn text(x: f64, y: f64, anchor: &str, size: f64, fill: &str, text: &str) -> String {
    format!("<text x=\"{}\" y=\"{}\" text-anchor=\"{anchor}\" font-size=\"{}\" fill=\"{fill}\">{}</text>\n", n(x), n(y), n(size), esc(text))
}

/// Approximate rendered width of `chars` characters at `size` (sans-serif average).
pub(crate) fn text_width(chars: usize, size: f64) -> f64 {
    chars as f64 * size * 0.58
}

/// Keeps a label of `width` centred on `x` inside `[lo, hi]`.
pub(crate) fn fit_centre(x: f64, width: f64, lo: f64, hi: f64) -> f64 {
    let half = width / 2.0;
    if hi - lo <= width { (lo + hi) / 2.0 } else { x.clamp(lo + half, hi - half) }
}

/// `1 score`, `2 scores`.
pub(crate) fn plural(count: usize, one: &str, many: &str) -> String {
    format!("{count} {}", if count == 1 { one } else { many })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_and_cleans() {
        assert_eq!(esc("a<b & \"c\" 'd'>"), "a&lt;b &amp; &quot;c&quot; &apos;d&apos;&gt;");
        assert_eq!(clean_text("  a\u{0}\u{1b}\n\tb  "), "a b");
        assert_eq!(truncate("abcdef", 4), "abc…");
        assert_eq!(truncate("abc", 4), "abc");
        assert_eq!(wrap("Significant functional impairment", 22, 2), ["Significant functional", "impairment"]);
        assert_eq!(wrap("Moderately severe or worse", 22, 2), ["Moderately severe or", "worse"]);
        assert_eq!(wrap("  Mild ", 22, 2), ["Mild"]);
        assert_eq!(wrap("one two three four", 8, 1), ["one two…"]);
        assert_eq!(wrap("Supercalifragilistic", 5, 2), ["Supe…"]);
        assert!(wrap("", 10, 2).is_empty());
    }

    #[test]
    fn numbers_are_fixed_and_finite() {
        assert_eq!(n(-0.04), "0.0");
        assert_eq!(n(f64::NAN), "0.0");
        assert_eq!(n(12.345), "12.3");
        assert_eq!(fmt_value(9.0, 0), "9");
        assert_eq!(fmt_value(-0.2, 0), "0");
        assert_eq!(fmt_value(f64::INFINITY, 0), "—");
        assert_eq!(fmt_value(2e12, 0), "2.000e12");
        assert_eq!(fmt_auto(2.5), "2.5");
        assert_eq!(fmt_auto(3.0), "3");
        assert_eq!(fmt_auto(0.126), "0.13");
    }

    #[test]
    fn ids_are_valid() {
        assert_eq!(sanitize_id("phq9"), "phq9");
        assert_eq!(sanitize_id("9 x\"<"), "c9-x--");
        assert_eq!(sanitize_id(""), "c");
    }

    #[test]
    fn ranges_are_usable() {
        assert_eq!(resolve_range((0.0, 27.0), std::iter::empty()), (0.0, 27.0));
        assert_eq!(resolve_range((27.0, 0.0), std::iter::empty()), (0.0, 27.0));
        assert_eq!(resolve_range((f64::NAN, 1.0), [2.0, 5.0].into_iter()), (2.0, 5.0));
        assert_eq!(resolve_range((1.0, 1.0), [5.0].into_iter()), (4.0, 6.0));
        assert_eq!(resolve_range((f64::MIN, f64::MAX), std::iter::empty()), (0.0, 1.0));
    }
}
