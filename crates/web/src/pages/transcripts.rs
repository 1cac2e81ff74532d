//! Motivational-interviewing feedback on a session transcript: upload, coded view with filters,
//! MITI summary, discarding the text, and trends across the client's sessions.

use super::nav;
use crate::auth::{PageForm, Staff, parse_path_id};
use crate::error::{AppError, PageError};
use crate::state::AppState;
use crate::view::{CodedLine, MetricCell, TranscriptPage, TranscriptTrendPage, TrendRow, fmt_ts, render};
use axum::extract::{FromRequest, Multipart, Path, Query, Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use concord_domain::ids::{ClientId, SessionId};
use concord_mi::parse::{Format, ParseOptions, parse_transcript};
use concord_mi::summary::{Rating, Summary};
use concord_mi::{Behaviour, CodedTranscript, CodedUtterance, Coder, Talk};
use concord_store::clients;
use concord_store::transcripts::{self, NewTranscript, TranscriptRecord};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use std::sync::OnceLock;

/// Largest transcript accepted (the parser's own limit), plus room for the form around it.
pub const UPLOAD_LIMIT: usize = concord_mi::parse::MAX_INPUT_BYTES + 64 * 1024;

/// The embedded model, loaded once, and a short fingerprint stored with every coding.
pub fn coder() -> Result<(&'static Coder, &'static str), AppError> {
    static CODER: OnceLock<Option<(Coder, String)>> = OnceLock::new();
    CODER
        .get_or_init(|| {
            Coder::embedded().ok().map(|c| {
                let fp = hex::encode(Sha256::digest(Coder::embedded_bytes()));
                (c, format!("annomi-{}", fp.get(..12).unwrap_or("")))
            })
        })
        .as_ref()
        .map(|(c, v)| (c, v.as_str()))
        .ok_or_else(|| AppError::Internal("the embedded MI model does not load".into()))
}

/// A transcript to code: the raw bytes, the format asked for, and a file-name hint.
pub struct Upload {
    pub bytes: Vec<u8>,
    pub format: Format,
    pub file_name: Option<String>,
}

fn parse_format(s: Option<&str>) -> Result<Format, AppError> {
    match s.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(Format::Auto),
        Some(f) => f.parse().map_err(|_| AppError::Unprocessable("format must be auto, text, vtt, srt or csv".into())),
    }
}

/// Parses and codes an upload. Parse errors name the line and are the caller's to fix (422).
pub async fn code_upload(upload: Upload) -> Result<(CodedTranscript, &'static str, &'static str), AppError> {
    let (coder, version) = coder()?;
    let coded = tokio::task::spawn_blocking(move || {
        let utterances = parse_transcript(&upload.bytes, upload.format, &ParseOptions::default(), upload.file_name.as_deref())
            .map_err(|e| AppError::Unprocessable(format!("the transcript could not be read: {e}")))?;
        let format = match upload.format {
            Format::Auto => concord_mi::parse::detect_format(
                &String::from_utf8_lossy(&upload.bytes),
                upload.file_name.as_deref(),
                &ParseOptions::default(),
            ),
            f => f,
        };
        Ok::<_, AppError>((coder.code(&utterances), format))
    })
    .await
    .map_err(|e| AppError::Internal(format!("coding: {e}")))??;
    let format = match coded.1 {
        Format::Auto | Format::Text => "text",
        Format::Vtt => "vtt",
        Format::Srt => "srt",
        Format::Csv => "csv",
    };
    Ok((coded.0, version, format))
}

/// Splits a coded transcript into codes JSON with texts blanked, and the texts to seal.
pub fn split_texts(coded: &CodedTranscript) -> Result<(String, Vec<String>), AppError> {
    let mut blank = coded.clone();
    let mut texts = Vec::with_capacity(blank.utterances.len());
    for u in &mut blank.utterances {
        let t = match u {
            CodedUtterance::Therapist(t) => &mut t.text,
            CodedUtterance::Client(c) => &mut c.text,
        };
        texts.push(std::mem::take(t));
    }
    let json = serde_json::to_string(&blank).map_err(|e| AppError::Internal(e.to_string()))?;
    Ok((json, texts))
}

/// Rebuilds the coded transcript from storage (texts filled in when kept).
pub fn merge_texts(rec: &TranscriptRecord) -> Result<CodedTranscript, AppError> {
    let mut coded: CodedTranscript = serde_json::from_str(&rec.codes_json).map_err(|e| AppError::Internal(format!("stored codes: {e}")))?;
    if let Some(texts) = &rec.texts {
        for (u, text) in coded.utterances.iter_mut().zip(texts) {
            match u {
                CodedUtterance::Therapist(t) => t.text.clone_from(text),
                CodedUtterance::Client(c) => c.text.clone_from(text),
            }
        }
    }
    Ok(coded)
}

/// Reads the upload form: multipart (a file, or pasted text) or url-encoded pasted text.
pub struct UploadForm(pub Upload);

impl<S: Send + Sync> FromRequest<S> for UploadForm {
    type Rejection = PageError;
    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let multipart =
            req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|v| v.starts_with("multipart/form-data"));
        if !multipart {
            #[derive(Deserialize)]
            struct Pasted {
                text: String,
                format: Option<String>,
            }
            let PageForm(p) = PageForm::<Pasted>::from_request(req, state).await?;
            return Ok(UploadForm(Upload { bytes: p.text.into_bytes(), format: parse_format(p.format.as_deref())?, file_name: None }));
        }
        let mut mp = Multipart::from_request(req, state)
            .await
            .map_err(|e| PageError(AppError::BadRequest(format!("the upload could not be read: {}", e.body_text()))))?;
        let (mut file, mut file_name, mut text, mut format) = (None, None, None, None);
        while let Some(field) = mp
            .next_field()
            .await
            .map_err(|e| PageError(AppError::BadRequest(format!("the upload could not be read: {}", e.body_text()))))?
        {
            let name = field.name().unwrap_or("").to_owned();
            match name.as_str() {
                "file" => {
                    file_name = field.file_name().map(str::to_owned);
                    let bytes = field.bytes().await.map_err(|e| PageError(AppError::BadRequest(e.body_text())))?;
                    if !bytes.is_empty() {
                        file = Some(bytes.to_vec());
                    }
                }
                "text" => text = Some(field.text().await.map_err(|e| PageError(AppError::BadRequest(e.body_text())))?),
                "format" => format = Some(field.text().await.map_err(|e| PageError(AppError::BadRequest(e.body_text())))?),
                _ => {}
            }
        }
        let bytes = match (file, text.filter(|t| !t.trim().is_empty())) {
            (Some(f), _) => f,
            (None, Some(t)) => t.into_bytes(),
            (None, None) => return Err(PageError(AppError::Unprocessable("choose a transcript file or paste the transcript".into()))),
        };
        Ok(UploadForm(Upload { bytes, format: parse_format(format.as_deref())?, file_name }))
    }
}

#[derive(Deserialize, Default)]
pub struct ViewQuery {
    show: Option<String>,
}

/// Which utterances a filter shows.
fn shown(u: &CodedUtterance, filter: &str) -> bool {
    match (filter, u) {
        ("therapist", CodedUtterance::Therapist(_)) | ("client", CodedUtterance::Client(_)) => true,
        ("questions", CodedUtterance::Therapist(t)) => t.question.is_some(),
        ("reflections", CodedUtterance::Therapist(t)) => t.reflection.is_some(),
        ("change", CodedUtterance::Client(c)) => c.talk == Talk::Change,
        ("sustain", CodedUtterance::Client(c)) => c.talk == Talk::Sustain,
        ("all", _) => true,
        _ => false,
    }
}

pub const FILTERS: [(&str, &str); 7] = [
    ("all", "Everything"),
    ("therapist", "Therapist"),
    ("client", "Client"),
    ("questions", "Questions"),
    ("reflections", "Reflections"),
    ("change", "Change talk"),
    ("sustain", "Sustain talk"),
];

fn line(u: &CodedUtterance, texts_kept: bool) -> CodedLine {
    let mut codes: Vec<(String, &'static str)> = Vec::new();
    let (speaker, class) = match u {
        CodedUtterance::Therapist(t) => {
            codes.push((behaviour_label(t.behaviour).to_owned(), "code-behaviour"));
            if let Some(q) = t.question {
                codes.push((format!("{} question", q.as_str()), "code-question"));
            }
            if let Some(r) = t.reflection {
                codes.push((format!("{} reflection", r.as_str()), "code-reflection"));
            }
            ("Therapist", "therapist")
        }
        CodedUtterance::Client(c) => {
            let class = match c.talk {
                Talk::Change => "code-change",
                Talk::Neutral => "code-neutral",
                Talk::Sustain => "code-sustain",
            };
            codes.push((format!("{} talk", c.talk.as_str()), class));
            ("Client", "client")
        }
    };
    CodedLine {
        index: u.index() + 1,
        speaker,
        class,
        codes,
        confidence: format!("{:.0} %", u.confidence() * 100.0),
        text: if texts_kept { Some(u.text().to_owned()) } else { None },
    }
}

fn rating(r: Option<Rating>) -> String {
    r.map_or_else(|| "not rated".to_owned(), |r| r.as_str().to_owned())
}

fn rating_class(r: Option<Rating>) -> &'static str {
    match r {
        Some(Rating::Good) => "good",
        Some(Rating::Fair) => "fair",
        Some(Rating::BelowFair) => "below-fair",
        None => "none",
    }
}

fn metric(value: Option<f64>, unit: &str, decimals: usize) -> String {
    value.map_or_else(|| "—".to_owned(), |v| format!("{v:.decimals$}{unit}"))
}

pub fn metric_cells(s: &Summary) -> Vec<MetricCell> {
    vec![
        MetricCell {
            label: "Reflections to questions",
            value: metric(s.reflection_to_question, " : 1", 2),
            rating: rating(s.miti.reflection_to_question),
            rating_class: rating_class(s.miti.reflection_to_question),
            threshold: "MITI 4.2.1: fair 1:1, good 2:1",
        },
        MetricCell {
            label: "Complex reflections",
            value: metric(s.percent_complex_reflections, " %", 0),
            rating: rating(s.miti.percent_complex_reflections),
            rating_class: rating_class(s.miti.percent_complex_reflections),
            threshold: "MITI 4.2.1: fair 40 %, good 50 %",
        },
        MetricCell {
            label: "Open questions",
            value: metric(s.percent_open_questions, " %", 0),
            rating: String::new(),
            rating_class: "none",
            threshold: "share of all questions",
        },
        MetricCell {
            label: "Change talk",
            value: format!("{} change, {} sustain", s.change_talk, s.sustain_talk),
            rating: metric(s.change_talk_proportion.map(|p| p * 100.0), " % change", 0),
            rating_class: "none",
            threshold: "of the client's change and sustain talk",
        },
    ]
}

async fn page(
    state: &AppState,
    staff: &Staff,
    id: ClientId,
    session_id: SessionId,
    filter: &str,
    error: Option<String>,
) -> Result<TranscriptPage, PageError> {
    let access = clients::record_access(&state.store, &staff.ctx, &staff.actor(), id).await?;
    let sessions = clients::list_sessions(&state.store, &staff.ctx, &access).await?;
    let session = sessions.iter().find(|s| s.id == session_id).ok_or(AppError::NotFound)?;
    let rec = clients::get_client(&state.store, &staff.ctx, &access).await?;
    let stored = transcripts::get_transcript(&state.store, &staff.ctx, &access, session_id).await?;
    let base = format!("/clients/{id}/sessions/{session_id}/transcript");
    let mut p = TranscriptPage {
        title: format!("Transcript feedback — {}", rec.name),
        nav: nav(staff, "caseload"),
        client_name: rec.name,
        client_href: format!("/clients/{id}"),
        trends_href: format!("/clients/{id}/transcripts"),
        session_when: fmt_ts(Some(session.starts_at)),
        base,
        has_transcript: false,
        texts_kept: false,
        uploaded: String::new(),
        model_version: String::new(),
        metrics: Vec::new(),
        filters: FILTERS.iter().map(|(k, l)| (*k, *l, *k == filter)).collect(),
        lines: Vec::new(),
        hidden: 0,
        error,
        timeline: None,
    };
    if let Some(t) = stored {
        let coded = merge_texts(&t)?;
        p.has_transcript = true;
        p.texts_kept = t.texts.is_some();
        p.uploaded = fmt_ts(Some(t.uploaded_at));
        p.model_version = t.model_version.clone();
        p.metrics = metric_cells(&coded.summary);
        p.lines = coded.utterances.iter().filter(|u| shown(u, filter)).map(|u| line(u, p.texts_kept)).collect();
        p.hidden = coded.utterances.len() - p.lines.len();
        p.timeline = Some(crate::charts::talk_timeline(&coded));
    }
    Ok(p)
}

fn filter_of(q: &ViewQuery) -> &str {
    let f = q.show.as_deref().unwrap_or("all");
    if FILTERS.iter().any(|(k, _)| *k == f) { f } else { "all" }
}

pub async fn show(
    State(state): State<AppState>,
    staff: Staff,
    Path((id, session_id)): Path<(String, String)>,
    Query(q): Query<ViewQuery>,
) -> Result<Response, PageError> {
    let id: ClientId = parse_path_id(&id)?;
    let session_id: SessionId = parse_path_id(&session_id)?;
    Ok(render(&page(&state, &staff, id, session_id, filter_of(&q), None).await?))
}

pub async fn upload(
    State(state): State<AppState>,
    staff: Staff,
    Path((id, session_id)): Path<(String, String)>,
    form: Result<UploadForm, PageError>,
) -> Result<Response, PageError> {
    let id: ClientId = parse_path_id(&id)?;
    let session_id: SessionId = parse_path_id(&session_id)?;
    let access = clients::record_access(&state.store, &staff.ctx, &staff.actor(), id).await?;
    let result = match form {
        Ok(UploadForm(u)) => code_upload(u).await,
        Err(PageError(e)) => Err(e),
    };
    let (coded, version, format) = match result {
        Ok(v) => v,
        Err(e @ (AppError::Unprocessable(_) | AppError::BadRequest(_) | AppError::TooLarge)) => {
            let status = e.status();
            let p = page(&state, &staff, id, session_id, "all", Some(e.public_message())).await?;
            return Ok((status, render(&p)).into_response());
        }
        Err(e) => return Err(e.into()),
    };
    let (codes_json, texts) = split_texts(&coded)?;
    let new = NewTranscript {
        session_id,
        source_format: format,
        model_version: version,
        utterance_count: i64::try_from(texts.len()).unwrap_or(i64::MAX),
        codes_json,
        texts: &texts,
    };
    transcripts::save_transcript(&state.store, &staff.ctx, &access, new).await?;
    Ok(Redirect::to(&format!("/clients/{id}/sessions/{session_id}/transcript")).into_response())
}

#[derive(Deserialize)]
pub struct DiscardForm {
    confirm: Option<String>,
}

pub async fn discard_text(
    State(state): State<AppState>,
    staff: Staff,
    Path((id, session_id)): Path<(String, String)>,
    PageForm(form): PageForm<DiscardForm>,
) -> Result<Response, PageError> {
    let id: ClientId = parse_path_id(&id)?;
    let session_id: SessionId = parse_path_id(&session_id)?;
    let access = clients::record_access(&state.store, &staff.ctx, &staff.actor(), id).await?;
    if form.confirm.as_deref() != Some("yes") {
        let p =
            page(&state, &staff, id, session_id, "all", Some("Tick the box to confirm that the text should be deleted.".into())).await?;
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, render(&p)).into_response());
    }
    transcripts::discard_text(&state.store, &staff.ctx, &access, session_id).await?;
    Ok(Redirect::to(&format!("/clients/{id}/sessions/{session_id}/transcript")).into_response())
}

pub async fn trends(State(state): State<AppState>, staff: Staff, Path(id): Path<String>) -> Result<Response, PageError> {
    let id: ClientId = parse_path_id(&id)?;
    let (access, rec) = clients::open_record(&state.store, &staff.ctx, &staff.actor(), id).await?;
    let list = transcripts::list_transcripts(&state.store, &staff.ctx, &access).await?;
    let mut rows = Vec::with_capacity(list.len());
    let mut series = Vec::with_capacity(list.len());
    for t in &list {
        let coded = merge_texts(t)?;
        rows.push(TrendRow {
            when: fmt_ts(Some(t.session_starts_at)),
            href: format!("/clients/{id}/sessions/{}/transcript", t.session_id),
            utterances: t.utterance_count,
            metrics: metric_cells(&coded.summary),
        });
        series.push((t.session_starts_at, coded.summary));
    }
    Ok(render(&TranscriptTrendPage {
        title: format!("MI feedback over time — {}", rec.name),
        nav: nav(&staff, "caseload"),
        client_name: rec.name,
        client_href: format!("/clients/{id}"),
        trend: if series.is_empty() { None } else { Some(crate::charts::metric_trend(&series)) },
        rows,
    }))
}

fn behaviour_label(b: Behaviour) -> &'static str {
    match b {
        Behaviour::Question => "Question",
        Behaviour::Reflection => "Reflection",
        Behaviour::TherapistInput => "Information or advice",
        Behaviour::Other => "Other",
    }
}
