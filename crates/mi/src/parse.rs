//! Transcript parsing: plain text with speaker prefixes, WebVTT, SRT and CSV.
//!
//! Every parser is total: any byte string yields either utterances or a [`ParseError`] that
//! names the line (1-based) where the problem is; none panics (property-tested).
//!
//! - **Text**: one utterance per line that starts with a speaker label and a colon (`T:`,
//!   `C:`, `Therapist:`, `Client:`, case-insensitive; names configurable in [`ParseOptions`]).
//!   A leading timestamp (`00:01:02`, `[00:01]`) before the label is skipped. A line without a
//!   label continues the previous utterance; blank lines are ignored. A line that *looks* like a
//!   label (one to three words before the first colon) but names nobody known is an error, so a
//!   transcript with unexpected speaker names fails loudly instead of being coded wrongly.
//! - **WebVTT**: the `WEBVTT` header block, `NOTE`, `STYLE` and `REGION` blocks, cue
//!   identifiers and timing lines are skipped; the speaker comes from a voice tag
//!   (`<v Therapist>`) or a label prefix in the cue text; other tags are removed and the common
//!   entities decoded. A cue without a speaker continues the previous utterance, and by default
//!   consecutive cues of one speaker are merged into one utterance (subtitles split long turns).
//! - **SRT**: numbered blocks with a `-->` timing line; speakers as in WebVTT.
//! - **CSV**: a header row, a speaker column and a text column (defaults `interlocutor` and
//!   `utterance_text`, so AnnoMI files work unchanged); rows with empty text are skipped.
//! - **Auto**: a `WEBVTT` header wins, then the file extension (`.vtt`, `.srt`, `.csv`/`.tsv`,
//!   `.txt`), then the content (an SRT number + timing line; a CSV header naming both columns),
//!   and plain text otherwise.

use std::fmt;
use std::str::FromStr;

use crate::{Speaker, Utterance};

/// Largest accepted input, in bytes.
pub const MAX_INPUT_BYTES: usize = 5 * 1024 * 1024;
/// Largest accepted number of utterances.
pub const MAX_UTTERANCES: usize = 20_000;

/// Input formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    #[default]
    Auto,
    Text,
    Vtt,
    Srt,
    Csv,
}

impl Format {
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Auto => "auto",
            Format::Text => "text",
            Format::Vtt => "vtt",
            Format::Srt => "srt",
            Format::Csv => "csv",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Format {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "auto" => Ok(Format::Auto),
            "text" | "txt" => Ok(Format::Text),
            "vtt" | "webvtt" => Ok(Format::Vtt),
            "srt" => Ok(Format::Srt),
            "csv" => Ok(Format::Csv),
            other => Err(format!("unknown transcript format \"{other}\" (expected auto, text, vtt, srt or csv)")),
        }
    }
}

/// Parsing options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseOptions {
    /// Labels that name the therapist (compared case-insensitively).
    pub therapist_names: Vec<String>,
    /// Labels that name the client (compared case-insensitively).
    pub client_names: Vec<String>,
    /// CSV column holding the speaker.
    pub speaker_column: String,
    /// CSV column holding the utterance text.
    pub text_column: String,
    /// CSV delimiter; a header with no `,` but a tab switches a `,` setting to tab.
    pub csv_delimiter: u8,
    /// WebVTT/SRT: merge consecutive cues of the same speaker into one utterance.
    pub merge_consecutive_cues: bool,
    pub max_bytes: usize,
    pub max_utterances: usize,
}

impl Default for ParseOptions {
    fn default() -> Self {
        let names = |v: &[&str]| v.iter().map(|s| (*s).to_string()).collect();
        ParseOptions {
            therapist_names: names(&["t", "therapist", "counselor", "counsellor", "clinician"]),
            client_names: names(&["c", "client", "patient"]),
            speaker_column: "interlocutor".into(),
            text_column: "utterance_text".into(),
            csv_delimiter: b',',
            merge_consecutive_cues: true,
            max_bytes: MAX_INPUT_BYTES,
            max_utterances: MAX_UTTERANCES,
        }
    }
}

fn normalise_label(s: &str) -> String {
    let t = s.trim().trim_matches(|c: char| matches!(c, '*' | '[' | ']' | '(' | ')' | '_'));
    t.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase()
}

impl ParseOptions {
    /// The speaker a label names, if any.
    pub fn speaker_for(&self, label: &str) -> Option<Speaker> {
        let l = normalise_label(label);
        if l.is_empty() {
            return None;
        }
        let matches = |names: &[String]| names.iter().any(|n| normalise_label(n) == l);
        if matches(&self.therapist_names) {
            Some(Speaker::Therapist)
        } else if matches(&self.client_names) {
            Some(Speaker::Client)
        } else {
            None
        }
    }

    fn expected(&self) -> String {
        format!("therapist: {}; client: {}", self.therapist_names.join(", "), self.client_names.join(", "))
    }
}

/// Parse errors; `line` is 1-based.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error("the transcript is empty")]
    Empty,
    #[error("no utterances found (expected speaker-labelled lines such as \"T: ...\" and \"C: ...\")")]
    NoUtterances,
    #[error("line {line}: the input is {size} bytes, over the limit of {limit} bytes")]
    TooLarge { line: usize, size: usize, limit: usize },
    #[error("line {line}: more than {limit} utterances")]
    TooManyUtterances { line: usize, limit: usize },
    #[error("line {line}: the input is not valid UTF-8 (first invalid byte at offset {offset}); save the transcript as UTF-8")]
    InvalidUtf8 { line: usize, offset: usize },
    #[error("line {line}: unknown speaker \"{speaker}\" (known labels, case-insensitive: {expected})")]
    UnknownSpeaker { line: usize, speaker: String, expected: String },
    #[error("line {line}: text before the first speaker label (start each turn with e.g. \"T:\" or \"C:\")")]
    MissingSpeaker { line: usize },
    #[error("line {line}: not a WebVTT file (the first line must start with \"WEBVTT\")")]
    MissingVttHeader { line: usize },
    #[error("line {line}: malformed cue: {reason}")]
    MalformedCue { line: usize, reason: String },
    #[error("line {line}: malformed CSV: {message}")]
    Csv { line: usize, message: String },
    #[error("line {line}: the CSV has no column \"{column}\" (columns: {found})")]
    MissingColumn { line: usize, column: String, found: String },
}

impl ParseError {
    /// The 1-based line the error refers to, when it has one.
    pub fn line(&self) -> Option<usize> {
        match self {
            ParseError::Empty | ParseError::NoUtterances => None,
            ParseError::TooLarge { line, .. }
            | ParseError::TooManyUtterances { line, .. }
            | ParseError::InvalidUtf8 { line, .. }
            | ParseError::UnknownSpeaker { line, .. }
            | ParseError::MissingSpeaker { line }
            | ParseError::MissingVttHeader { line }
            | ParseError::MalformedCue { line, .. }
            | ParseError::Csv { line, .. }
            | ParseError::MissingColumn { line, .. } => Some(*line),
        }
    }
}

fn truncate(s: &str, max: usize) -> String {
    let mut out: String = s.chars().take(max).collect();
    if s.chars().nth(max).is_some() {
        out.push('\u{2026}');
    }
    out
}

fn unknown_speaker(line: usize, label: &str, opts: &ParseOptions) -> ParseError {
    ParseError::UnknownSpeaker { line, speaker: truncate(label.trim(), 40), expected: truncate(&opts.expected(), 200) }
}

fn count_lines(bytes: &[u8]) -> usize {
    bytes.iter().filter(|&&b| b == b'\n').count() + 1
}

fn decode(bytes: &[u8]) -> Result<&str, ParseError> {
    match std::str::from_utf8(bytes) {
        Ok(s) => Ok(s.strip_prefix('\u{feff}').unwrap_or(s)),
        Err(e) => {
            let offset = e.valid_up_to();
            Err(ParseError::InvalidUtf8 { line: count_lines(bytes.get(..offset).unwrap_or_default()), offset })
        }
    }
}

/// Parse a transcript. `file_name_hint` (a file name or path) helps [`Format::Auto`].
pub fn parse_transcript(
    bytes: &[u8],
    format: Format,
    opts: &ParseOptions,
    file_name_hint: Option<&str>,
) -> Result<Vec<Utterance>, ParseError> {
    if bytes.len() > opts.max_bytes {
        return Err(ParseError::TooLarge {
            line: count_lines(bytes.get(..opts.max_bytes).unwrap_or_default()),
            size: bytes.len(),
            limit: opts.max_bytes,
        });
    }
    let text = decode(bytes)?;
    if text.trim().is_empty() {
        return Err(ParseError::Empty);
    }
    let format = match format {
        Format::Auto => detect_format(text, file_name_hint, opts),
        f => f,
    };
    let utterances = match format {
        Format::Auto | Format::Text => parse_text(text, opts)?,
        Format::Vtt => parse_vtt(text, opts)?,
        Format::Srt => parse_srt(text, opts)?,
        Format::Csv => parse_csv(text, opts)?,
    };
    if utterances.is_empty() {
        return Err(ParseError::NoUtterances);
    }
    Ok(utterances)
}

/// The format [`Format::Auto`] chooses for this content and file name.
pub fn detect_format(text: &str, file_name_hint: Option<&str>, opts: &ParseOptions) -> Format {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if text.trim_start().starts_with("WEBVTT") {
        return Format::Vtt;
    }
    let ext = file_name_hint.and_then(|n| n.rsplit_once('.')).map(|(_, e)| e.to_ascii_lowercase());
    match ext.as_deref() {
        Some("vtt") => return Format::Vtt,
        Some("srt") => return Format::Srt,
        Some("csv" | "tsv") => return Format::Csv,
        Some("txt" | "text" | "md") => return Format::Text,
        _ => {}
    }
    let mut lines = text.lines().map(str::trim).filter(|l| !l.is_empty());
    let first = lines.next().unwrap_or_default();
    let second = lines.next().unwrap_or_default();
    if first.contains("-->") || (!first.is_empty() && first.chars().all(|c| c.is_ascii_digit()) && second.contains("-->")) {
        return Format::Srt;
    }
    let delim = char::from(sniff_delimiter(first, opts));
    let fields: Vec<String> = first.split(delim).map(|f| f.trim().trim_matches('"').trim().to_ascii_lowercase()).collect();
    let has = |c: &str| fields.iter().any(|f| f.eq_ignore_ascii_case(c.trim()));
    if has(&opts.speaker_column) && has(&opts.text_column) {
        return Format::Csv;
    }
    Format::Text
}

/// Accumulates utterances, enforcing the utterance limit.
struct Builder<'o> {
    out: Vec<Utterance>,
    opts: &'o ParseOptions,
}

impl<'o> Builder<'o> {
    fn new(opts: &'o ParseOptions) -> Self {
        Builder { out: Vec::new(), opts }
    }

    fn start(&mut self, speaker: Speaker, text: &str, line: usize) -> Result<(), ParseError> {
        if self.out.len() >= self.opts.max_utterances {
            return Err(ParseError::TooManyUtterances { line, limit: self.opts.max_utterances });
        }
        self.out.push(Utterance { speaker, text: text.trim().to_string(), line });
        Ok(())
    }

    /// Append to the current utterance; false when there is none.
    fn append(&mut self, text: &str) -> bool {
        let Some(last) = self.out.last_mut() else {
            return false;
        };
        let text = text.trim();
        if !text.is_empty() {
            if !last.text.is_empty() {
                last.text.push(' ');
            }
            last.text.push_str(text);
        }
        true
    }

    /// A subtitle cue: merged into the previous utterance when the speaker is unchanged and
    /// merging is on.
    fn cue(&mut self, speaker: Speaker, text: &str, line: usize) -> Result<(), ParseError> {
        let same = self.out.last().is_some_and(|u| u.speaker == speaker);
        if same && self.opts.merge_consecutive_cues {
            self.append(text);
            Ok(())
        } else {
            self.start(speaker, text, line)
        }
    }

    fn finish(self) -> Vec<Utterance> {
        self.out.into_iter().filter(|u| !u.text.is_empty()).collect()
    }
}

/// `label: rest` when the text before the first colon looks like a speaker label.
fn split_label(line: &str) -> Option<(&str, &str)> {
    let (label, rest) = line.split_once(':')?;
    let core = label.trim().trim_matches(|c: char| matches!(c, '*' | '[' | ']' | '(' | ')' | '_'));
    let words = core.split_whitespace().count();
    let looks_like = !core.is_empty()
        && core.chars().count() <= 32
        && (1..=3).contains(&words)
        && core.chars().next().is_some_and(char::is_alphabetic)
        && core.chars().all(|c| c.is_alphanumeric() || matches!(c, ' ' | '.' | '\'' | '-' | '_'));
    looks_like.then_some((label, rest))
}

/// The text after a leading timestamp (`00:01:02`, `1:02.5`, `[00:01]`, `(00:01:02)`), if any.
fn strip_timestamp(line: &str) -> Option<&str> {
    let open = line.starts_with(['[', '(']);
    let inner = if open { line.get(1..)? } else { line };
    let end = inner.find(|c: char| !(c.is_ascii_digit() || matches!(c, ':' | '.' | ','))).unwrap_or(inner.len());
    let stamp = inner.get(..end)?;
    if !stamp.starts_with(|c: char| c.is_ascii_digit()) || !stamp.contains(':') {
        return None;
    }
    let mut rest = inner.get(end..)?;
    if open {
        rest = rest.strip_prefix([']', ')'])?;
    } else if !rest.starts_with(char::is_whitespace) {
        return None;
    }
    let rest = rest.trim_start();
    Some(rest.strip_prefix(['-', '\u{2013}']).unwrap_or(rest).trim_start())
}

/// The label split of a text-format line, trying with a leading timestamp removed first.
fn labelled(line: &str) -> Option<(&str, &str)> {
    strip_timestamp(line).and_then(split_label).or_else(|| split_label(line))
}

fn parse_text(text: &str, opts: &ParseOptions) -> Result<Vec<Utterance>, ParseError> {
    let mut b = Builder::new(opts);
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let l = raw.trim();
        if l.is_empty() {
            continue;
        }
        match labelled(l) {
            Some((label, rest)) => match opts.speaker_for(label) {
                Some(sp) => b.start(sp, rest, line)?,
                None => return Err(unknown_speaker(line, label, opts)),
            },
            None => {
                if !b.append(l) {
                    return Err(ParseError::MissingSpeaker { line });
                }
            }
        }
    }
    Ok(b.finish())
}

/// Blocks of non-blank lines with their 1-based line numbers.
fn blocks(text: &str) -> Vec<Vec<(usize, &str)>> {
    let mut out = Vec::new();
    let mut cur: Vec<(usize, &str)> = Vec::new();
    for (i, l) in text.lines().enumerate() {
        if l.trim().is_empty() {
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
        } else {
            cur.push((i + 1, l));
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// Remove markup tags and decode the common entities.
fn clean_cue_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut in_tag = false;
    for c in s.chars() {
        match (in_tag, c) {
            (false, '<') => in_tag = true,
            (true, '>') => in_tag = false,
            (false, c) => out.push(c),
            (true, _) => {}
        }
    }
    out.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&nbsp;", " ")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
        .trim()
        .to_string()
}

/// `(voice name, rest)` for a line starting with a `<v Name>` or `<v.class Name>` tag.
fn voice_tag(line: &str) -> Option<(&str, &str)> {
    let rest = line.trim_start().strip_prefix("<v")?;
    if !rest.starts_with([' ', '\t', '.']) {
        return None;
    }
    let (inside, after) = rest.split_once('>')?;
    let name = if inside.starts_with('.') { inside.split_once(char::is_whitespace).map_or("", |(_, n)| n) } else { inside };
    Some((name.trim(), after))
}

fn cue_line(b: &mut Builder<'_>, line: usize, raw: &str) -> Result<(), ParseError> {
    let opts = b.opts;
    if let Some((name, rest)) = voice_tag(raw) {
        let sp = opts.speaker_for(name).ok_or_else(|| unknown_speaker(line, name, opts))?;
        return b.cue(sp, &clean_cue_text(rest), line);
    }
    let text = clean_cue_text(raw);
    let text = text.strip_prefix("- ").or_else(|| text.strip_prefix('-')).unwrap_or(&text).trim();
    if text.is_empty() {
        return Ok(());
    }
    match split_label(text) {
        Some((label, rest)) => {
            let sp = opts.speaker_for(label).ok_or_else(|| unknown_speaker(line, label, opts))?;
            b.cue(sp, rest, line)
        }
        None => {
            if b.append(text) {
                Ok(())
            } else {
                Err(ParseError::MissingSpeaker { line })
            }
        }
    }
}

fn is_block_keyword(line: &str, keyword: &str) -> bool {
    line.strip_prefix(keyword).is_some_and(|rest| rest.is_empty() || rest.starts_with([' ', '\t']))
}

fn parse_vtt(text: &str, opts: &ParseOptions) -> Result<Vec<Utterance>, ParseError> {
    let blocks = blocks(text);
    let mut iter = blocks.iter();
    let header_ok = iter.next().and_then(|b| b.first()).is_some_and(|(_, l)| l.trim_start_matches('\u{feff}').starts_with("WEBVTT"));
    if !header_ok {
        let line = text.lines().position(|l| !l.trim().is_empty()).map_or(1, |i| i + 1);
        return Err(ParseError::MissingVttHeader { line });
    }
    let mut b = Builder::new(opts);
    for block in iter {
        let Some(&(first_line, first)) = block.first() else {
            continue;
        };
        let first = first.trim();
        if ["NOTE", "STYLE", "REGION"].iter().any(|k| is_block_keyword(first, k)) {
            continue;
        }
        let Some(timing) = block.iter().position(|(_, l)| l.contains("-->")) else {
            return Err(ParseError::MalformedCue { line: first_line, reason: "no timing line (\"00:00:01.000 --> 00:00:02.000\")".into() });
        };
        if timing > 1 {
            return Err(ParseError::MalformedCue {
                line: first_line,
                reason: "the timing line must follow at most one identifier line".into(),
            });
        }
        for &(line, raw) in block.iter().skip(timing + 1) {
            cue_line(&mut b, line, raw)?;
        }
    }
    Ok(b.finish())
}

fn parse_srt(text: &str, opts: &ParseOptions) -> Result<Vec<Utterance>, ParseError> {
    let mut b = Builder::new(opts);
    for block in blocks(text) {
        let Some(&(first_line, first)) = block.first() else {
            continue;
        };
        let Some(timing) = block.iter().position(|(_, l)| l.contains("-->")) else {
            return Err(ParseError::MalformedCue { line: first_line, reason: "no timing line (\"00:00:01,000 --> 00:00:02,000\")".into() });
        };
        if timing > 1 || (timing == 1 && !first.trim().chars().all(|c| c.is_ascii_digit())) {
            return Err(ParseError::MalformedCue { line: first_line, reason: "expected a cue number, then a timing line".into() });
        }
        for &(line, raw) in block.iter().skip(timing + 1) {
            cue_line(&mut b, line, raw)?;
        }
    }
    Ok(b.finish())
}

fn sniff_delimiter(header: &str, opts: &ParseOptions) -> u8 {
    if opts.csv_delimiter == b',' && !header.contains(',') && header.contains('\t') { b'\t' } else { opts.csv_delimiter }
}

fn parse_csv(text: &str, opts: &ParseOptions) -> Result<Vec<Utterance>, ParseError> {
    let header_line = text.lines().next().unwrap_or_default();
    let mut rdr = csv::ReaderBuilder::new().delimiter(sniff_delimiter(header_line, opts)).flexible(false).from_reader(text.as_bytes());
    let csv_error = |e: &csv::Error| ParseError::Csv {
        line: e.position().map_or(1, |p| usize::try_from(p.line()).unwrap_or(usize::MAX)),
        message: truncate(&e.to_string(), 200),
    };
    let headers: Vec<String> = rdr.headers().map_err(|e| csv_error(&e))?.iter().map(|h| h.trim().to_string()).collect();
    let find = |name: &str| {
        headers.iter().position(|h| h.eq_ignore_ascii_case(name.trim())).ok_or_else(|| ParseError::MissingColumn {
            line: 1,
            column: truncate(name, 60),
            found: truncate(&headers.join(", "), 200),
        })
    };
    let sc = find(&opts.speaker_column)?;
    let tc = find(&opts.text_column)?;
    let mut b = Builder::new(opts);
    for rec in rdr.records() {
        let rec = rec.map_err(|e| csv_error(&e))?;
        let line = rec.position().map_or(0, |p| usize::try_from(p.line()).unwrap_or(usize::MAX));
        let speaker = rec.get(sc).unwrap_or_default().trim();
        let text = rec.get(tc).unwrap_or_default().trim();
        if text.is_empty() {
            continue;
        }
        let sp = opts.speaker_for(speaker).ok_or_else(|| unknown_speaker(line, speaker, opts))?;
        b.start(sp, text, line)?;
    }
    Ok(b.finish())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn opts() -> ParseOptions {
        ParseOptions::default()
    }

    fn parse(s: &str, f: Format) -> Result<Vec<Utterance>, ParseError> {
        parse_transcript(s.as_bytes(), f, &opts(), None)
    }

    fn pairs(u: &[Utterance]) -> Vec<(Speaker, &str)> {
        u.iter().map(|u| (u.speaker, u.text.as_str())).collect()
    }

    use Speaker::{Client as C, Therapist as T};

    #[test]
    fn text_with_prefixes_and_continuations() {
        let u =
            parse("T: Hello there.\n\nc: Hi.\nI came because\n  of my drinking.\nTherapist: Tell me more?\nCLIENT:Well...\n", Format::Text)
                .unwrap();
        assert_eq!(pairs(&u), vec![(T, "Hello there."), (C, "Hi. I came because of my drinking."), (T, "Tell me more?"), (C, "Well..."),]);
        assert_eq!(u[1].line, 3);
        assert_eq!(u[3].line, 7);
    }

    #[test]
    fn text_with_timestamps_and_colons_in_speech() {
        let u = parse("[00:00:01] T: What time is it?\n00:01:02 C: It is 12:30 now.\nAnd then I said, well: whatever.\n", Format::Text)
            .unwrap();
        assert_eq!(pairs(&u), vec![(T, "What time is it?"), (C, "It is 12:30 now. And then I said, well: whatever."),]);
    }

    #[test]
    fn text_errors_name_the_line() {
        let e = parse("T: hi\nDoctor Who: hello\n", Format::Text).unwrap_err();
        assert!(matches!(e, ParseError::UnknownSpeaker { line: 2, .. }), "{e:?}");
        assert!(e.to_string().contains("line 2") && e.to_string().contains("Doctor Who"));
        let e = parse("Session one\nT: hi\n", Format::Text).unwrap_err();
        assert_eq!(e, ParseError::MissingSpeaker { line: 1 });
        assert_eq!(parse("  \n\n", Format::Text).unwrap_err(), ParseError::Empty);
        assert_eq!(parse("T:\nC:  \n", Format::Text).unwrap_err(), ParseError::NoUtterances);
    }

    #[test]
    fn custom_speaker_names() {
        let o = ParseOptions { therapist_names: vec!["Dr. Lee".into()], client_names: vec!["Sam".into()], ..ParseOptions::default() };
        let u = parse_transcript(b"dr. lee: How are you?\nSAM: Fine.", Format::Auto, &o, None).unwrap();
        assert_eq!(pairs(&u), vec![(T, "How are you?"), (C, "Fine.")]);
        let e = parse_transcript(b"T: hi", Format::Text, &o, None).unwrap_err();
        assert!(matches!(e, ParseError::UnknownSpeaker { line: 1, .. }));
    }

    #[test]
    fn invalid_utf8_names_the_line() {
        let e = parse_transcript(b"T: hi\nC: ok\nT: \xff\xfe", Format::Text, &opts(), None).unwrap_err();
        assert_eq!(e, ParseError::InvalidUtf8 { line: 3, offset: 15 });
        assert!(e.to_string().starts_with("line 3:"));
    }

    #[test]
    fn limits() {
        let o = ParseOptions { max_bytes: 10, ..ParseOptions::default() };
        let e = parse_transcript(b"T: a\nC: b\nT: c\n", Format::Text, &o, None).unwrap_err();
        assert!(matches!(e, ParseError::TooLarge { line: 3, size: 15, limit: 10 }), "{e:?}");
        let o = ParseOptions { max_utterances: 2, ..ParseOptions::default() };
        let e = parse_transcript(b"T: a\nC: b\nT: c\n", Format::Text, &o, None).unwrap_err();
        assert_eq!(e, ParseError::TooManyUtterances { line: 3, limit: 2 });
        let big = "T: hello\n".repeat(MAX_UTTERANCES + 1);
        let e = parse(&big, Format::Text).unwrap_err();
        assert!(matches!(e, ParseError::TooManyUtterances { .. }));
        let huge = vec![b'a'; MAX_INPUT_BYTES + 1];
        let e = parse_transcript(&huge, Format::Auto, &opts(), None).unwrap_err();
        assert!(matches!(e, ParseError::TooLarge { line: 1, .. }));
    }

    const VTT: &str = "\u{feff}WEBVTT - session 3
Kind: captions

NOTE recorded with consent
spans lines

STYLE
::cue { color: red }

1
00:00:01.000 --> 00:00:04.000 align:start
<v Therapist>What brings you in &amp; why now?</v>

intro-2
00:00:04.500 --> 00:00:06.000
<v.loud Client>I <i>really</i> want to stop.

00:00:06.000 --> 00:00:08.000
smoking, I mean.

00:00:08.000 --> 00:00:09.000
<v Client>For my kids.

00:00:09.000 --> 00:00:11.000
T: You want to be there for them.
C: Yes.
";

    #[test]
    fn webvtt() {
        let u = parse(VTT, Format::Auto).unwrap();
        assert_eq!(
            pairs(&u),
            vec![
                (T, "What brings you in & why now?"),
                (C, "I really want to stop. smoking, I mean. For my kids."),
                (T, "You want to be there for them."),
                (C, "Yes."),
            ]
        );
        assert_eq!(u[0].line, 12);
        let no_merge = ParseOptions { merge_consecutive_cues: false, ..ParseOptions::default() };
        let u = parse_transcript(VTT.as_bytes(), Format::Vtt, &no_merge, None).unwrap();
        assert_eq!(u.len(), 5);
    }

    #[test]
    fn webvtt_errors() {
        let e = parse("\n\nhello\n", Format::Vtt).unwrap_err();
        assert_eq!(e, ParseError::MissingVttHeader { line: 3 });
        let e = parse("WEBVTT\n\n00:01.000 --> 00:02.000\n<v Nurse>Hi\n", Format::Vtt).unwrap_err();
        assert!(matches!(e, ParseError::UnknownSpeaker { line: 4, .. }), "{e:?}");
        let e = parse("WEBVTT\n\n00:01.000 --> 00:02.000\nHi there\n", Format::Vtt).unwrap_err();
        assert_eq!(e, ParseError::MissingSpeaker { line: 4 });
        let e = parse("WEBVTT\n\njust text\nmore\n", Format::Vtt).unwrap_err();
        assert!(matches!(e, ParseError::MalformedCue { line: 3, .. }));
        let e = parse("WEBVTT\n\n", Format::Vtt).unwrap_err();
        assert_eq!(e, ParseError::NoUtterances);
    }

    const SRT: &str = "1\r\n00:00:01,000 --> 00:00:03,000\r\nTherapist: How has the week been?\r\n\r\n2\r\n00:00:03,500 --> 00:00:05,000\r\n<i>Client: Hard.</i>\r\nReally hard.\r\n\r\n3\r\n00:00:05,000 --> 00:00:06,000\r\n- T: I hear that.\r\n";

    #[test]
    fn srt() {
        let u = parse(SRT, Format::Auto).unwrap();
        assert_eq!(pairs(&u), vec![(T, "How has the week been?"), (C, "Hard. Really hard."), (T, "I hear that."),]);
        assert_eq!(u[1].line, 7);
        let e = parse("1\nno timing\ntext\n", Format::Srt).unwrap_err();
        assert!(matches!(e, ParseError::MalformedCue { line: 1, .. }));
        let e = parse("x\n00:01 --> 00:02\nT: a\n", Format::Srt).unwrap_err();
        assert!(matches!(e, ParseError::MalformedCue { line: 1, .. }));
    }

    #[test]
    fn csv_annomi_columns_and_custom_columns() {
        let annomi = "transcript_id,interlocutor,utterance_text,x\n0,therapist,\"Hi, how are you?\",1\n0,client,\"Fine, \"\"really\"\".\",2\n0,client,,3\n";
        let u = parse(annomi, Format::Auto).unwrap();
        assert_eq!(pairs(&u), vec![(T, "Hi, how are you?"), (C, "Fine, \"really\".")]);
        assert_eq!(u[1].line, 3);
        let o = ParseOptions { speaker_column: "Who".into(), text_column: "Said".into(), ..ParseOptions::default() };
        let u = parse_transcript(b"who\tsaid\nT\thello\nC\thi\n", Format::Csv, &o, None).unwrap();
        assert_eq!(pairs(&u), vec![(T, "hello"), (C, "hi")]);
    }

    #[test]
    fn csv_errors() {
        let e = parse("speaker,text\nT,hi\n", Format::Csv).unwrap_err();
        assert!(matches!(e, ParseError::MissingColumn { line: 1, .. }));
        assert!(e.to_string().contains("interlocutor"));
        let e = parse("interlocutor,utterance_text\ntherapist,hi\nclient,a,b\n", Format::Csv).unwrap_err();
        assert!(matches!(e, ParseError::Csv { line: 3, .. }), "{e:?}");
        let e = parse("interlocutor,utterance_text\ntherapist,hi\nrobot,beep\n", Format::Csv).unwrap_err();
        assert!(matches!(e, ParseError::UnknownSpeaker { line: 3, .. }));
        let e = parse("interlocutor,utterance_text\n", Format::Csv).unwrap_err();
        assert_eq!(e, ParseError::NoUtterances);
    }

    #[test]
    fn auto_detection() {
        let o = opts();
        assert_eq!(detect_format("WEBVTT\n", Some("a.txt"), &o), Format::Vtt);
        assert_eq!(detect_format("T: hi", Some("a.srt"), &o), Format::Srt);
        assert_eq!(detect_format("T: hi", Some("/x/a.CSV"), &o), Format::Csv);
        assert_eq!(detect_format("1\n00:01 --> 00:02\nhi", None, &o), Format::Srt);
        assert_eq!(detect_format("\"interlocutor\",\"utterance_text\"\n", None, &o), Format::Csv);
        assert_eq!(detect_format("T: hi, there", None, &o), Format::Text);
        assert_eq!("VTT".parse::<Format>(), Ok(Format::Vtt));
        assert!("doc".parse::<Format>().is_err());
    }

    #[test]
    fn helpers() {
        assert_eq!(strip_timestamp("[00:01] T: x"), Some("T: x"));
        assert_eq!(strip_timestamp("12:30 - C: x"), Some("C: x"));
        assert_eq!(strip_timestamp("12:30pm"), None);
        assert_eq!(strip_timestamp("[12"), None);
        assert_eq!(split_label("So here's the thing: no"), None);
        assert_eq!(split_label("**Therapist**: yes"), Some(("**Therapist**", " yes")));
        assert_eq!(voice_tag("<v.a.b Dr Lee>hi"), Some(("Dr Lee", "hi")));
        assert_eq!(voice_tag("<vx>hi"), None);
        assert_eq!(clean_cue_text("a &lt;b&gt; <c.x>c</c>"), "a <b> c");
    }

    fn fragments() -> impl Strategy<Value = String> {
        let pieces = prop::sample::select(vec![
            "T:",
            "C:",
            "Therapist:",
            "client:",
            "Nurse:",
            " ",
            "\n",
            "\r\n",
            "\n\n",
            "WEBVTT",
            "NOTE",
            "STYLE",
            "-->",
            "00:00:01.000",
            "1",
            "<v ",
            "<v.x ",
            ">",
            "</v>",
            "<",
            "&amp;",
            "interlocutor",
            "utterance_text",
            ",",
            "\"",
            "\t",
            "therapist",
            "hello",
            "?",
            "[00:01]",
            "é",
            "\u{feff}",
            ":",
            "-",
            "*",
        ]);
        prop::collection::vec(pieces, 0..60).prop_map(|v| v.concat())
    }

    proptest! {
        #[test]
        fn never_panics_on_bytes(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
            for f in [Format::Auto, Format::Text, Format::Vtt, Format::Srt, Format::Csv] {
                let _ = parse_transcript(&bytes, f, &opts(), Some("x.bin"));
            }
        }

        #[test]
        fn never_panics_on_structured_text(s in fragments(), hint in prop::option::of("[a-z.]{0,8}")) {
            for f in [Format::Auto, Format::Text, Format::Vtt, Format::Srt, Format::Csv] {
                match parse_transcript(s.as_bytes(), f, &opts(), hint.as_deref()) {
                    Ok(u) => {
                        prop_assert!(!u.is_empty());
                        prop_assert!(u.iter().all(|u| !u.text.is_empty()));
                    }
                    Err(e) => {
                        let msg = e.to_string();
                        prop_assert!(!msg.is_empty());
                    }
                }
            }
        }

        #[test]
        fn text_round_trip(turns in prop::collection::vec((any::<bool>(), "[a-zA-Z ,.?']{1,40}"), 1..20)) {
            let mut src = String::new();
            for (t, text) in &turns {
                src.push_str(if *t { "T: " } else { "C: " });
                src.push_str(text);
                src.push('\n');
            }
            let u = parse_transcript(src.as_bytes(), Format::Text, &opts(), None);
            let expected: Vec<_> = turns.iter().filter(|(_, x)| !x.trim().is_empty()).collect();
            match u {
                Ok(u) => {
                    prop_assert_eq!(u.len(), expected.len());
                    for (a, (t, text)) in u.iter().zip(expected) {
                        prop_assert_eq!(a.speaker == Speaker::Therapist, *t);
                        prop_assert_eq!(a.text.as_str(), text.trim());
                    }
                }
                Err(e) => prop_assert!(expected.is_empty(), "{e}"),
            }
        }
    }
}
