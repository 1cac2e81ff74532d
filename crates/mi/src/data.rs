//! Loading AnnoMI-format training and evaluation data.
//!
//! A dataset is read from the *simple* file (majority-vote main labels, one row per utterance:
//! `transcript_id, video_url, utterance_id, interlocutor, utterance_text,
//! main_therapist_behaviour, client_talk_type`) and the *full* file (one row per annotator, with
//! `question_exists/subtype`, `reflection_exists/subtype`). Votes of the full file are
//! aggregated per utterance into fractions of annotators. Utterances are ordered by
//! `utterance_id` within a transcript; transcripts by `transcript_id`.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use crate::{Behaviour, Speaker, Talk, Utterance};

/// File names inside a data directory.
pub const SIMPLE_FILE: &str = "AnnoMI-simple.dev.csv";
pub const FULL_FILE: &str = "AnnoMI-full.dev.csv";

/// Errors reading a dataset.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    #[error("{path}: {message}")]
    Io { path: String, message: String },
    #[error("{file}: line {line}: {message}")]
    Csv { file: String, line: u64, message: String },
    #[error("{file}: missing column \"{column}\"")]
    MissingColumn { file: String, column: String },
    #[error("{0}")]
    Layout(String),
    #[error("dataset has no utterances")]
    Empty,
}

/// Annotator votes on a sub-code: fraction of annotators who saw it, and among those, the
/// fraction who chose the first subtype (open, complex); `None` when nobody gave a subtype.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Vote {
    pub exists: f32,
    pub subtype: Option<f32>,
}

/// Gold labels of one utterance.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Gold {
    pub behaviour: Option<Behaviour>,
    pub talk: Option<Talk>,
    pub question: Option<Vote>,
    pub reflection: Option<Vote>,
}

impl Gold {
    /// Hard "question exists": more than half of the annotators; an exact tie follows the
    /// majority main behaviour.
    pub fn question_exists(&self) -> Option<bool> {
        self.question.map(|v| hard(v.exists, self.behaviour == Some(Behaviour::Question)))
    }

    /// Hard "reflection exists" (same rule as [`Gold::question_exists`]).
    pub fn reflection_exists(&self) -> Option<bool> {
        self.reflection.map(|v| hard(v.exists, self.behaviour == Some(Behaviour::Reflection)))
    }

    /// Gold "open" for an existing question (ties count as open).
    pub fn question_open(&self) -> Option<bool> {
        self.question.and_then(|v| v.subtype).map(|p| p >= 0.5)
    }

    /// Gold "complex" for an existing reflection (ties count as complex).
    pub fn reflection_complex(&self) -> Option<bool> {
        self.reflection.and_then(|v| v.subtype).map(|p| p >= 0.5)
    }
}

fn hard(p: f32, tie: bool) -> bool {
    if (p - 0.5).abs() < 1e-6 { tie } else { p > 0.5 }
}

/// One transcript with gold labels.
#[derive(Debug, Clone, PartialEq)]
pub struct Session {
    pub transcript_id: String,
    pub video_url: String,
    pub utterances: Vec<Utterance>,
    pub gold: Vec<Gold>,
}

/// A set of labelled transcripts.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Dataset {
    pub sessions: Vec<Session>,
}

impl Dataset {
    pub fn utterance_count(&self) -> usize {
        self.sessions.iter().map(|s| s.utterances.len()).sum()
    }

    /// Read a directory holding both files, or one file: the simple file (the full file is
    /// looked for beside it, `simple` replaced by `full` in the name) or the full file (the
    /// simple file is looked for beside it the same way).
    pub fn load(path: &Path) -> Result<Dataset, DataError> {
        let (simple, full) = resolve(path)?;
        let s = open(&simple)?;
        let f = open(&full)?;
        Dataset::from_readers(s, f, &simple.display().to_string(), &full.display().to_string())
    }

    /// Read from the two CSV streams.
    pub fn from_readers(simple: impl Read, full: impl Read, simple_name: &str, full_name: &str) -> Result<Dataset, DataError> {
        let votes = read_full(full, full_name)?;
        read_simple(simple, simple_name, &votes)
    }
}

fn resolve(path: &Path) -> Result<(PathBuf, PathBuf), DataError> {
    if path.is_dir() {
        return Ok((path.join(SIMPLE_FILE), path.join(FULL_FILE)));
    }
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_string();
    let sibling = |from: &str, to: &str| path.with_file_name(name.replace(from, to));
    if name.contains("simple") {
        Ok((path.to_path_buf(), sibling("simple", "full")))
    } else if name.contains("full") {
        Ok((sibling("full", "simple"), path.to_path_buf()))
    } else {
        Err(DataError::Layout(format!(
            "{}: expected a directory holding {SIMPLE_FILE} and {FULL_FILE}, or one of those files",
            path.display()
        )))
    }
}

fn open(path: &Path) -> Result<std::fs::File, DataError> {
    std::fs::File::open(path).map_err(|e| DataError::Io { path: path.display().to_string(), message: e.to_string() })
}

fn csv_err(file: &str, e: &csv::Error) -> DataError {
    DataError::Csv { file: file.to_string(), line: e.position().map_or(0, |p| p.line()), message: e.to_string() }
}

struct Columns(Vec<String>);

impl Columns {
    fn find(&self, file: &str, name: &str) -> Result<usize, DataError> {
        self.0
            .iter()
            .position(|h| h.trim().eq_ignore_ascii_case(name))
            .ok_or_else(|| DataError::MissingColumn { file: file.to_string(), column: name.to_string() })
    }
}

fn field(rec: &csv::StringRecord, i: usize) -> &str {
    rec.get(i).unwrap_or("").trim()
}

/// Sort key for ids: numeric ids in numeric order, then others by text.
fn id_key(s: &str) -> (u64, String) {
    (s.parse::<u64>().unwrap_or(u64::MAX), s.to_string())
}

#[derive(Default)]
struct Tally {
    n_q: u32,
    q_yes: u32,
    q_open: u32,
    q_sub: u32,
    n_r: u32,
    r_yes: u32,
    r_complex: u32,
    r_sub: u32,
}

type Key = ((u64, String), (u64, String));

fn read_full(r: impl Read, name: &str) -> Result<BTreeMap<Key, Tally>, DataError> {
    let mut rdr = csv::Reader::from_reader(r);
    let cols = Columns(rdr.headers().map_err(|e| csv_err(name, &e))?.iter().map(str::to_string).collect());
    let t = cols.find(name, "transcript_id")?;
    let u = cols.find(name, "utterance_id")?;
    let qe = cols.find(name, "question_exists")?;
    let qs = cols.find(name, "question_subtype")?;
    let re = cols.find(name, "reflection_exists")?;
    let rs = cols.find(name, "reflection_subtype")?;
    let mut out: BTreeMap<Key, Tally> = BTreeMap::new();
    for rec in rdr.records() {
        let rec = rec.map_err(|e| csv_err(name, &e))?;
        let key = (id_key(field(&rec, t)), id_key(field(&rec, u)));
        let tally = out.entry(key).or_default();
        let flag = |i| match field(&rec, i).to_ascii_lowercase().as_str() {
            "true" => Some(true),
            "false" => Some(false),
            _ => None,
        };
        if let Some(q) = flag(qe) {
            tally.n_q += 1;
            if q {
                tally.q_yes += 1;
                match field(&rec, qs) {
                    "open" => {
                        tally.q_open += 1;
                        tally.q_sub += 1;
                    }
                    "closed" => tally.q_sub += 1,
                    _ => {}
                }
            }
        }
        if let Some(r) = flag(re) {
            tally.n_r += 1;
            if r {
                tally.r_yes += 1;
                match field(&rec, rs) {
                    "complex" => {
                        tally.r_complex += 1;
                        tally.r_sub += 1;
                    }
                    "simple" => tally.r_sub += 1,
                    _ => {}
                }
            }
        }
    }
    Ok(out)
}

fn frac(num: u32, den: u32) -> Option<f32> {
    (den > 0).then(|| num as f32 / den as f32)
}

fn read_simple(r: impl Read, name: &str, votes: &BTreeMap<Key, Tally>) -> Result<Dataset, DataError> {
    let mut rdr = csv::Reader::from_reader(r);
    let cols = Columns(rdr.headers().map_err(|e| csv_err(name, &e))?.iter().map(str::to_string).collect());
    let t = cols.find(name, "transcript_id")?;
    let v = cols.find(name, "video_url")?;
    let u = cols.find(name, "utterance_id")?;
    let who = cols.find(name, "interlocutor")?;
    let text = cols.find(name, "utterance_text")?;
    let beh = cols.find(name, "main_therapist_behaviour")?;
    let talk = cols.find(name, "client_talk_type")?;

    type Row = ((u64, String), Utterance, Gold);
    let mut sessions: BTreeMap<(u64, String), (String, Vec<Row>)> = BTreeMap::new();
    for rec in rdr.records() {
        let rec = rec.map_err(|e| csv_err(name, &e))?;
        let line = rec.position().map_or(0, |p| p.line());
        let speaker = match field(&rec, who).to_ascii_lowercase().as_str() {
            "therapist" => Speaker::Therapist,
            "client" => Speaker::Client,
            other => {
                return Err(DataError::Csv { file: name.to_string(), line, message: format!("unknown interlocutor \"{other}\"") });
            }
        };
        let tid = id_key(field(&rec, t));
        let uid = id_key(field(&rec, u));
        let tally = votes.get(&(tid.clone(), uid.clone()));
        let mut gold = Gold::default();
        match speaker {
            Speaker::Therapist => {
                gold.behaviour = Behaviour::parse(field(&rec, beh));
                if let Some(tl) = tally {
                    gold.question = frac(tl.q_yes, tl.n_q).map(|exists| Vote { exists, subtype: frac(tl.q_open, tl.q_sub) });
                    gold.reflection = frac(tl.r_yes, tl.n_r).map(|exists| Vote { exists, subtype: frac(tl.r_complex, tl.r_sub) });
                }
            }
            Speaker::Client => gold.talk = Talk::parse(field(&rec, talk)),
        }
        let utt = Utterance { speaker, text: field(&rec, text).to_string(), line: usize::try_from(line).unwrap_or(0) };
        sessions.entry(tid).or_insert_with(|| (field(&rec, v).to_string(), Vec::new())).1.push((uid, utt, gold));
    }
    let sessions: Vec<Session> = sessions
        .into_iter()
        .map(|((_, tid), (video_url, mut rows))| {
            rows.sort_by(|a, b| a.0.cmp(&b.0));
            let (utterances, gold) = rows.into_iter().map(|(_, u, g)| (u, g)).unzip();
            Session { transcript_id: tid, video_url, utterances, gold }
        })
        .collect();
    if sessions.is_empty() {
        return Err(DataError::Empty);
    }
    Ok(Dataset { sessions })
}

#[cfg(test)]
pub(crate) mod fixture {
    //! A tiny synthetic AnnoMI-format dataset for tests (not AnnoMI text).

    use super::Dataset;

    pub const SIMPLE: &str = "\
transcript_id,mi_quality,video_title,video_url,topic,utterance_id,interlocutor,timestamp,utterance_text,main_therapist_behaviour,client_talk_type
1,high,a,https://v/a,t,0,therapist,00:00:01,What brings you here today?,question,n/a
1,high,a,https://v/a,t,1,client,00:00:02,I want to drink less.,n/a,change
1,high,a,https://v/a,t,2,therapist,00:00:03,You want to cut down.,reflection,n/a
1,high,a,https://v/a,t,3,client,00:00:04,Yes but I like drinking.,n/a,sustain
1,high,a,https://v/a,t,4,therapist,00:00:05,Part of you enjoys it and part of you worries. How often do you drink?,reflection,n/a
1,high,a,https://v/a,t,5,client,00:00:06,Every day.,n/a,neutral
2,low,b,https://v/b,t,0,therapist,00:00:01,You should stop smoking.,therapist_input,n/a
2,low,b,https://v/b,t,1,client,00:00:02,I don't think I can.,n/a,sustain
2,low,b,https://v/b,t,2,therapist,00:00:03,Do you smoke at home?,question,n/a
2,low,b,https://v/b,t,3,client,00:00:04,Yes.,n/a,neutral
2,low,b,https://v/b,t,4,therapist,00:00:05,Okay.,other,n/a
2,low,b,https://v/b,t,5,client,00:00:06,I would like to quit for my kids.,n/a,change
3,high,c,https://v/c,t,0,therapist,00:00:01,How would you like things to be different?,question,n/a
3,high,c,https://v/c,t,1,client,00:00:02,I'd feel better if I exercised.,n/a,change
3,high,c,https://v/c,t,2,therapist,00:00:03,Exercise matters to you.,reflection,n/a
3,high,c,https://v/c,t,3,client,00:00:04,I guess so.,n/a,neutral
";

    pub const FULL: &str = "\
mi_quality,transcript_id,video_title,video_url,topic,utterance_id,interlocutor,timestamp,utterance_text,annotator_id,therapist_input_exists,therapist_input_subtype,reflection_exists,reflection_subtype,question_exists,question_subtype,main_therapist_behaviour,client_talk_type
high,1,a,https://v/a,t,0,therapist,0,x,1,False,n/a,False,n/a,True,open,question,n/a
high,1,a,https://v/a,t,2,therapist,0,x,1,False,n/a,True,simple,False,n/a,reflection,n/a
high,1,a,https://v/a,t,4,therapist,0,x,1,False,n/a,True,complex,True,open,reflection,n/a
high,1,a,https://v/a,t,4,therapist,0,x,2,False,n/a,True,complex,False,n/a,reflection,n/a
low,2,b,https://v/b,t,0,therapist,0,x,1,True,advice,False,n/a,False,n/a,therapist_input,n/a
low,2,b,https://v/b,t,2,therapist,0,x,1,False,n/a,False,n/a,True,closed,question,n/a
low,2,b,https://v/b,t,4,therapist,0,x,1,False,n/a,False,n/a,False,n/a,other,n/a
high,3,c,https://v/c,t,0,therapist,0,x,1,False,n/a,False,n/a,True,open,question,n/a
high,3,c,https://v/c,t,2,therapist,0,x,1,False,n/a,True,complex,False,n/a,reflection,n/a
";

    pub fn dataset() -> Dataset {
        Dataset::from_readers(SIMPLE.as_bytes(), FULL.as_bytes(), "simple", "full").unwrap()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loads_and_aggregates_votes() {
        let d = fixture::dataset();
        assert_eq!(d.sessions.len(), 3);
        assert_eq!(d.utterance_count(), 16);
        let s = &d.sessions[0];
        assert_eq!(s.video_url, "https://v/a");
        assert_eq!(s.utterances[1].speaker, Speaker::Client);
        assert_eq!(s.gold[1].talk, Some(Talk::Change));
        let g = s.gold[4];
        assert_eq!(g.behaviour, Some(Behaviour::Reflection));
        assert_eq!(g.question.unwrap().exists, 0.5);
        // Tie on "question exists" follows the main behaviour (reflection): no question.
        assert_eq!(g.question_exists(), Some(false));
        assert_eq!(g.reflection_exists(), Some(true));
        assert_eq!(g.reflection_complex(), Some(true));
        assert_eq!(s.gold[0].question_open(), Some(true));
    }

    #[test]
    fn orders_utterances_by_numeric_id() {
        let simple = "transcript_id,video_url,utterance_id,interlocutor,utterance_text,main_therapist_behaviour,client_talk_type\n\
            7,u,10,client,second,n/a,neutral\n7,u,9,therapist,first,other,n/a\n";
        let full = "transcript_id,utterance_id,question_exists,question_subtype,reflection_exists,reflection_subtype\n";
        let d = Dataset::from_readers(simple.as_bytes(), full.as_bytes(), "s", "f").unwrap();
        assert_eq!(d.sessions[0].utterances[0].text, "first");
        assert_eq!(d.sessions[0].gold[0].question, None);
    }

    #[test]
    fn reports_missing_columns_and_bad_speakers() {
        let err = Dataset::from_readers("a,b\n1,2\n".as_bytes(), fixture::FULL.as_bytes(), "s", "f").unwrap_err();
        assert!(err.to_string().contains("missing column"), "{err}");
        let simple = "transcript_id,video_url,utterance_id,interlocutor,utterance_text,main_therapist_behaviour,client_talk_type\n\
            7,u,1,robot,hi,n/a,n/a\n";
        let err = Dataset::from_readers(simple.as_bytes(), fixture::FULL.as_bytes(), "s", "f").unwrap_err();
        assert!(err.to_string().contains("line 2"), "{err}");
    }
}
