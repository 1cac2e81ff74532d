//! Shared test helpers: a small XML well-formedness checker, snapshot comparison and fixtures.
#![allow(dead_code)]

use std::collections::HashSet;
use std::path::PathBuf;

use concord_documents::{
    Band, ClientTalk, MeasureChart, MeasurePoint, MetricSeries, MetricTrend, SessionMark, TalkTimeline, TalkType, Threshold,
};

/// One start tag: its name and attributes (values unescaped only for the five predefined entities).
#[derive(Debug, Clone)]
pub struct Element {
    pub name: String,
    pub attrs: Vec<(String, String)>,
}

impl Element {
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    pub fn num(&self, name: &str) -> f64 {
        self.attr(name).unwrap_or_else(|| panic!("{} has no {name}", self.name)).parse().unwrap()
    }

    pub fn has_class(&self, class: &str) -> bool {
        self.attr("class").is_some_and(|c| c.split(' ').any(|c| c == class))
    }
}

fn xml_char(c: char) -> bool {
    matches!(c, '\u{9}' | '\u{A}' | '\u{D}' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..='\u{10FFFF}')
}

fn name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | ':' | '.')
}

fn entity(chars: &[char], i: &mut usize) -> Result<char, String> {
    let start = *i;
    let end = chars[start..].iter().position(|c| *c == ';').ok_or("unterminated entity")? + start;
    let name: String = chars[start + 1..end].iter().collect();
    *i = end + 1;
    match name.as_str() {
        "amp" => Ok('&'),
        "lt" => Ok('<'),
        "gt" => Ok('>'),
        "quot" => Ok('"'),
        "apos" => Ok('\''),
        _ => Err(format!("unknown entity &{name};")),
    }
}

/// Parses `doc` as a standalone XML document (the subset our SVG uses: elements, attributes,
/// text, the five predefined entities; no comments, CDATA, doctype or processing instructions) and
/// returns its start tags in document order, or what is wrong with it.
pub fn parse_xml(doc: &str) -> Result<Vec<Element>, String> {
    let chars: Vec<char> = doc.chars().collect();
    if let Some(c) = chars.iter().find(|c| !xml_char(**c)) {
        return Err(format!("character U+{:04X} not allowed in XML", u32::from(*c)));
    }
    let mut i = 0;
    let mut stack: Vec<String> = Vec::new();
    let mut elements = Vec::new();
    let mut roots = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '<' {
            if chars.get(i + 1) == Some(&'/') {
                i += 2;
                let start = i;
                while i < chars.len() && name_char(chars[i]) {
                    i += 1;
                }
                let name: String = chars[start..i].iter().collect();
                while chars.get(i).is_some_and(|c| c.is_whitespace()) {
                    i += 1;
                }
                if chars.get(i) != Some(&'>') {
                    return Err(format!("bad end tag </{name}"));
                }
                i += 1;
                match stack.pop() {
                    Some(open) if open == name => {}
                    other => return Err(format!("end tag </{name}> closes {other:?}")),
                }
                continue;
            }
            i += 1;
            let start = i;
            while i < chars.len() && name_char(chars[i]) {
                i += 1;
            }
            let name: String = chars[start..i].iter().collect();
            if name.is_empty() || !chars[start].is_ascii_alphabetic() {
                return Err(format!("bad tag name at char {start}"));
            }
            if stack.is_empty() {
                roots += 1;
                if roots > 1 {
                    return Err("more than one root element".into());
                }
            }
            let mut attrs: Vec<(String, String)> = Vec::new();
            loop {
                let had_space = chars.get(i).is_some_and(|c| c.is_whitespace());
                while chars.get(i).is_some_and(|c| c.is_whitespace()) {
                    i += 1;
                }
                match chars.get(i) {
                    Some('>') => {
                        i += 1;
                        stack.push(name.clone());
                        break;
                    }
                    Some('/') if chars.get(i + 1) == Some(&'>') => {
                        i += 2;
                        break;
                    }
                    Some(_) if had_space => {
                        let s = i;
                        while i < chars.len() && name_char(chars[i]) {
                            i += 1;
                        }
                        let key: String = chars[s..i].iter().collect();
                        if key.is_empty() || chars.get(i) != Some(&'=') {
                            return Err(format!("bad attribute in <{name}> at char {s}"));
                        }
                        i += 1;
                        let quote = *chars.get(i).ok_or("eof in attribute")?;
                        if quote != '"' && quote != '\'' {
                            return Err(format!("unquoted attribute {key}"));
                        }
                        i += 1;
                        let mut value = String::new();
                        loop {
                            match chars.get(i) {
                                None => return Err("eof in attribute value".into()),
                                Some('<') => return Err(format!("< in attribute {key}")),
                                Some('&') => value.push(entity(&chars, &mut i)?),
                                Some(c) if *c == quote => {
                                    i += 1;
                                    break;
                                }
                                Some(c) => {
                                    value.push(*c);
                                    i += 1;
                                }
                            }
                        }
                        if attrs.iter().any(|(k, _)| *k == key) {
                            return Err(format!("duplicate attribute {key} in <{name}>"));
                        }
                        attrs.push((key, value));
                    }
                    _ => return Err(format!("malformed start tag <{name}")),
                }
            }
            elements.push(Element { name, attrs });
        } else if c == '&' {
            if stack.is_empty() {
                return Err("text outside the root".into());
            }
            entity(&chars, &mut i)?;
        } else {
            if stack.is_empty() && !c.is_whitespace() {
                return Err(format!("text outside the root at char {i}"));
            }
            i += 1;
        }
    }
    if !stack.is_empty() {
        return Err(format!("unclosed elements {stack:?}"));
    }
    if roots != 1 {
        return Err("no root element".into());
    }
    Ok(elements)
}

/// Everything every chart must satisfy: well-formed XML, an accessible `<svg>` root, no styles,
/// unique ids, fixed-decimal finite numbers.
pub fn check_svg(svg: &str) -> Vec<Element> {
    let elements = parse_xml(svg).unwrap_or_else(|e| panic!("not well-formed: {e}\n{svg}"));
    let root = &elements[0];
    assert_eq!(root.name, "svg");
    assert_eq!(root.attr("role"), Some("img"));
    assert_eq!(root.attr("width"), Some("100%"));
    assert!(root.attr("viewBox").is_some());
    let labelled: Vec<&str> = root.attr("aria-labelledby").expect("aria-labelledby").split(' ').collect();
    assert_eq!(labelled.len(), 2);
    let mut ids = HashSet::new();
    for e in &elements {
        assert!(e.name != "style" && e.name != "script" && e.name != "foreignObject", "forbidden <{}>", e.name);
        for (k, _) in &e.attrs {
            assert!(k != "style" && !k.starts_with("on"), "forbidden attribute {k} on <{}>", e.name);
        }
        if let Some(id) = e.attr("id") {
            assert!(ids.insert(id.to_owned()), "duplicate id {id}");
            assert!(
                id.chars().next().unwrap().is_ascii_alphabetic() && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            );
        }
    }
    let title = elements.iter().find(|e| e.name == "title").expect("title");
    let desc = elements.iter().find(|e| e.name == "desc").expect("desc");
    assert_eq!(title.attr("id"), Some(labelled[0]));
    assert_eq!(desc.attr("id"), Some(labelled[1]));
    for e in &elements[1..] {
        for (k, v) in &e.attrs {
            if ["x", "y", "cx", "cy", "r", "width", "height", "x1", "x2", "y1", "y2", "points", "font-size"].contains(&k.as_str()) {
                for part in v.split([' ', ',']).filter(|p| !p.is_empty()) {
                    let f: f64 = part.parse().unwrap_or_else(|_| panic!("{k}=\"{v}\" on <{}> is not numeric", e.name));
                    assert!(f.is_finite(), "{k}={v}");
                    assert!(part.split('.').nth(1).is_none_or(|d| d.len() == 1), "{k}={v} not fixed to one decimal");
                }
            }
        }
    }
    elements
}

/// Every `class="point"` circle lies inside one of the `class="plot-area"` rectangles.
pub fn assert_points_inside(elements: &[Element]) {
    let areas: Vec<(f64, f64, f64, f64)> = elements
        .iter()
        .filter(|e| e.has_class("plot-area"))
        .map(|e| (e.num("x"), e.num("y"), e.num("x") + e.num("width"), e.num("y") + e.num("height")))
        .collect();
    assert!(!areas.is_empty(), "no plot area");
    for p in elements.iter().filter(|e| e.name == "circle" && e.has_class("point")) {
        let (x, y) = (p.num("cx"), p.num("cy"));
        assert!(
            areas.iter().any(|(x0, y0, x1, y1)| x >= x0 - 0.11 && x <= x1 + 0.11 && y >= y0 - 0.11 && y <= y1 + 0.11),
            "point ({x}, {y}) outside every plot area {areas:?}"
        );
    }
}

/// Compares `actual` with `tests/snapshots/NAME.svg`, or rewrites it when `UPDATE_SNAPSHOTS=1`.
pub fn snapshot(name: &str, actual: &str) {
    let path: PathBuf = [env!("CARGO_MANIFEST_DIR"), "tests", "snapshots", &format!("{name}.svg")].iter().collect();
    if std::env::var("UPDATE_SNAPSHOTS").as_deref() == Ok("1") {
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|_| panic!("missing snapshot {}; run with UPDATE_SNAPSHOTS=1 and review it", path.display()));
    if expected != actual {
        let line = expected.lines().zip(actual.lines()).position(|(a, b)| a != b).unwrap_or(0);
        panic!(
            "snapshot {name} differs at line {}:\n expected: {}\n   actual: {}\nrun with UPDATE_SNAPSHOTS=1 to accept",
            line + 1,
            expected.lines().nth(line).unwrap_or(""),
            actual.lines().nth(line).unwrap_or("")
        );
    }
}

pub const DAY: i64 = 86_400;
/// 2026-01-05 00:00 UTC, a Monday.
pub const JAN5: i64 = 1_767_571_200;

pub fn phq9_bands() -> Vec<Band> {
    [(0.0, 4.0, "minimal"), (5.0, 9.0, "mild"), (10.0, 14.0, "moderate"), (15.0, 19.0, "moderately severe"), (20.0, 27.0, "severe")]
        .into_iter()
        .map(|(from, to, label)| Band {
            from: from - if from > 0.0 { 0.5 } else { 0.0 },
            to: to + if to < 27.0 { 0.5 } else { 0.0 },
            label: label.to_owned(),
        })
        .collect()
}

pub fn band_of(v: f64) -> &'static str {
    match v as i64 {
        0..=4 => "minimal",
        5..=9 => "mild",
        10..=14 => "moderate",
        15..=19 => "moderately severe",
        _ => "severe",
    }
}

pub fn phq9(width: f64, height: f64) -> MeasureChart {
    let scores = [18.0, 16.0, 15.0, 12.0, 11.0, 9.0];
    let points = scores
        .iter()
        .enumerate()
        .map(|(i, v)| MeasurePoint {
            at: JAN5 + i as i64 * 8 * DAY + 10 * 3600 + 4 * 60 * i as i64,
            value: *v,
            note: Some(band_of(*v).to_owned()),
        })
        .collect();
    let sessions = (0..9).map(|i| SessionMark { at: JAN5 + i * 7 * DAY + 11 * 3600, attended: i != 3 && i != 6 }).collect();
    MeasureChart {
        id_prefix: "phq9".into(),
        title: "PHQ-9".into(),
        y_range: (0.0, 27.0),
        bands: phq9_bands(),
        caseness: Some(Threshold { value: 10.0, label: "caseness".into() }),
        points,
        sessions,
        x_domain: (JAN5 - DAY, JAN5 + 58 * DAY),
        utc_offset_seconds: 0,
        width,
        height,
        value_decimals: 0,
    }
}

/// A deterministic MI session: 160 utterances, client on odd indices, change talk growing.
pub fn mi_session() -> TalkTimeline {
    let mut state: u64 = 42;
    let mut client = Vec::new();
    for index in (1..160).step_by(2) {
        state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        let r = (state >> 33) % 100;
        let change_share = 10 + index as u64 * 35 / 160;
        let talk = if r < change_share {
            TalkType::Change
        } else if r < change_share + 22 - (index as u64 * 12 / 160) {
            TalkType::Sustain
        } else {
            TalkType::Neutral
        };
        client.push(ClientTalk { index, talk });
    }
    TalkTimeline {
        id_prefix: "talk".into(),
        title: "Change talk through the session".into(),
        utterance_count: 160,
        client,
        width: 600.0,
        height: 260.0,
    }
}

pub fn mi_metrics() -> MetricTrend {
    let sessions: Vec<i64> = (0..6).map(|i| JAN5 + i * 7 * DAY + 15 * 3600).collect();
    MetricTrend {
        id_prefix: "mi-metrics".into(),
        title: "MI metrics by session".into(),
        sessions,
        point: "session".into(),
        utc_offset_seconds: 0,
        series: vec![
            MetricSeries {
                name: "Reflections to questions".into(),
                unit: String::new(),
                range: (0.0, 3.0),
                thresholds: vec![Threshold { value: 1.0, label: "fair 1:1".into() }, Threshold { value: 2.0, label: "good 2:1".into() }],
                values: vec![Some(0.6), Some(0.9), None, Some(1.3), Some(1.6), Some(2.1)],
                decimals: 1,
            },
            MetricSeries {
                name: "Complex reflections".into(),
                unit: "%".into(),
                range: (0.0, 100.0),
                thresholds: vec![Threshold { value: 40.0, label: "fair 40%".into() }, Threshold { value: 50.0, label: "good 50%".into() }],
                values: vec![Some(22.0), Some(31.0), Some(35.0), Some(44.0), Some(41.0), Some(52.0)],
                decimals: 0,
            },
            MetricSeries {
                name: "Change-talk proportion".into(),
                unit: "%".into(),
                range: (0.0, 100.0),
                thresholds: vec![],
                values: vec![Some(38.0), Some(45.0), Some(51.0), Some(49.0), Some(63.0), Some(70.0)],
                decimals: 0,
            },
        ],
        width: 600.0,
        height: 420.0,
    }
}
