//! Completed questionnaires: record (staff or portal), list, and the light score series.

use super::record_event;
use crate::accounts::parse_id;
use crate::clients::data_key;
use crate::crypto::{DataKey, field_aad};
use crate::{Ctx, Store, StoreError, Tx};
use concord_domain::ids::{ClientId, PortalLinkId, PracticeId, ResponseId, UserId};
use concord_domain::measures::score::{Answers, Score, ScoreError, score};
use concord_domain::measures::{Flag, Instrument, InstrumentId};
use concord_domain::policy::RecordAccess;
use sqlx::Row;
use sqlx::any::AnyRow;

/// How far ahead of the request time a completion date may be (clock skew between devices).
pub const MAX_FUTURE_SECONDS: i64 = 5 * 60;
/// The longest note kept with a response, in characters.
pub const NOTE_MAX_CHARS: usize = 4_000;
const IDEMPOTENCY_KEY_MAX: usize = 200;

/// Who entered a response, and how.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResponseSource {
    /// Completed with the clinician (e.g. in session, on the clinician's screen).
    Clinician,
    /// A paper form the clinician typed in, with the date it was completed.
    Paper,
    /// The client, through their portal link.
    Portal,
    /// A script or another system, through the API.
    Api,
}

impl ResponseSource {
    pub const ALL: [ResponseSource; 4] = [ResponseSource::Clinician, ResponseSource::Paper, ResponseSource::Portal, ResponseSource::Api];

    pub fn as_str(self) -> &'static str {
        match self {
            ResponseSource::Clinician => "clinician",
            ResponseSource::Paper => "paper",
            ResponseSource::Portal => "portal",
            ResponseSource::Api => "api",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "clinician" => Some(ResponseSource::Clinician),
            "paper" => Some(ResponseSource::Paper),
            "portal" => Some(ResponseSource::Portal),
            "api" => Some(ResponseSource::Api),
            _ => None,
        }
    }
}

/// A response to store. Build it with [`NewResponse::scored`] (which scores with the domain
/// rules) or fill it in from a score computed elsewhere.
#[derive(Debug, Clone)]
pub struct NewResponse {
    pub instrument: InstrumentId,
    pub instrument_version: String,
    pub answers: Answers,
    /// The score as computed by `concord_domain::measures::score` (kept whole, with its
    /// convention).
    pub score: Score,
    /// When the client completed it (Unix seconds); may be in the past (paper forms), at
    /// most [`MAX_FUTURE_SECONDS`] in the future. The portal ignores it and uses the request
    /// time.
    pub completed_at: i64,
    /// The portal ignores it and records [`ResponseSource::Portal`]; staff may not use
    /// `Portal`.
    pub source: ResponseSource,
    /// Free text (e.g. the check-in note); sealed with the client's data key.
    pub note: Option<String>,
    /// A caller-chosen key: the same key again for the same client returns the first
    /// response instead of storing a second one (a double-submitted form, a retried API call).
    pub idempotency_key: Option<String>,
}

impl NewResponse {
    /// Scores `answers` against `instrument` and builds the response to store.
    pub fn scored(instrument: &Instrument, answers: Answers, completed_at: i64, source: ResponseSource) -> Result<Self, ScoreError> {
        let score = score(instrument, &answers)?;
        Ok(Self {
            instrument: instrument.id().clone(),
            instrument_version: instrument.version().to_owned(),
            answers,
            score,
            completed_at,
            source,
            note: None,
            idempotency_key: None,
        })
    }
}

/// A stored response, decrypted.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ResponseRecord {
    pub id: ResponseId,
    pub client_id: ClientId,
    pub instrument: InstrumentId,
    pub instrument_version: String,
    pub answers: Answers,
    /// Copies of `score.total`, `score.band`'s id, `score.caseness`, `score.flags`: the
    /// columns the caseload and overdue queries read.
    pub total: Option<i32>,
    pub band: Option<String>,
    pub caseness: Option<bool>,
    pub flags: Vec<Flag>,
    /// The full result as computed when it was recorded, with its convention and thresholds.
    pub score: Score,
    pub completed_at: i64,
    pub source: ResponseSource,
    pub note: Option<String>,
    /// The staff member who entered it; `None` for portal submissions.
    pub entered_by: Option<UserId>,
    /// The portal link it came through, for portal submissions.
    pub portal_link_id: Option<PortalLinkId>,
    pub created_at: i64,
}

/// One point of a score series (charts, caseload): no answers, no note, no full score.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ScorePoint {
    pub id: ResponseId,
    pub instrument: InstrumentId,
    pub completed_at: i64,
    pub total: Option<i32>,
    pub band: Option<String>,
    pub caseness: Option<bool>,
    pub flags: Vec<Flag>,
    pub source: ResponseSource,
}

macro_rules! response_cols {
    () => {
        "id, client_id, instrument_id, instrument_version, answers_json, total, band_id, caseness, flags_json, score_json, \
         completed_at, source, note_ct, entered_by, portal_link_id, created_at"
    };
}
pub(super) use response_cols;

fn corrupt(what: &str) -> StoreError {
    StoreError::Invalid(format!("corrupt stored response ({what})"))
}

pub(super) fn note_aad(id: &str) -> String {
    field_aad("measure_responses", "note_ct", id)
}

fn opt_bool(v: Option<i64>) -> Option<bool> {
    v.map(|b| b != 0)
}

fn opt_total(v: Option<i64>) -> Result<Option<i32>, StoreError> {
    v.map(|t| i32::try_from(t).map_err(|_| corrupt("total"))).transpose()
}

fn flags_from(json: &str) -> Result<Vec<Flag>, StoreError> {
    serde_json::from_str(json).map_err(|_| corrupt("flags"))
}

pub(super) fn source_from(r: &AnyRow) -> Result<ResponseSource, StoreError> {
    ResponseSource::parse(&r.try_get::<String, _>("source")?).ok_or_else(|| corrupt("source"))
}

pub(super) fn instrument_from(r: &AnyRow, col: &str) -> Result<InstrumentId, StoreError> {
    InstrumentId::parse(&r.try_get::<String, _>(col)?).map_err(|_| corrupt("instrument id"))
}

fn opt_id<T: std::str::FromStr>(r: &AnyRow, col: &str) -> Result<Option<T>, StoreError> {
    let s: Option<String> = r.try_get(col)?;
    s.map(|s| s.parse().map_err(|_| corrupt(col))).transpose()
}

pub(super) fn open_note(key: &DataKey, r: &AnyRow, id: &str) -> Result<Option<String>, StoreError> {
    let ct: Option<Vec<u8>> = r.try_get("note_ct")?;
    ct.map(|c| key.open_str(&c, &note_aad(id)).map_err(Into::into)).transpose()
}

pub(super) fn record_from(key: &DataKey, r: &AnyRow) -> Result<ResponseRecord, StoreError> {
    let id: ResponseId = parse_id(r, "id")?;
    let sid = id.to_string();
    Ok(ResponseRecord {
        id,
        client_id: parse_id(r, "client_id")?,
        instrument: instrument_from(r, "instrument_id")?,
        instrument_version: r.try_get("instrument_version")?,
        answers: serde_json::from_str(&r.try_get::<String, _>("answers_json")?).map_err(|_| corrupt("answers"))?,
        total: opt_total(r.try_get("total")?)?,
        band: r.try_get("band_id")?,
        caseness: opt_bool(r.try_get("caseness")?),
        flags: flags_from(&r.try_get::<String, _>("flags_json")?)?,
        score: serde_json::from_str(&r.try_get::<String, _>("score_json")?).map_err(|_| corrupt("score"))?,
        completed_at: r.try_get("completed_at")?,
        source: source_from(r)?,
        note: open_note(key, r, &sid)?,
        entered_by: opt_id(r, "entered_by")?,
        portal_link_id: opt_id(r, "portal_link_id")?,
        created_at: r.try_get("created_at")?,
    })
}

/// Checks what the store is responsible for; returns the cleaned note.
pub(super) fn check_new(ctx: &Ctx, input: &NewResponse) -> Result<Option<String>, StoreError> {
    if input.completed_at > ctx.ts().saturating_add(MAX_FUTURE_SECONDS) {
        return Err(StoreError::Invalid("the completion date is in the future".into()));
    }
    if input.completed_at < 0 {
        return Err(StoreError::Invalid("the completion date is before 1970".into()));
    }
    if input.score.instrument != input.instrument {
        return Err(StoreError::Invalid(format!("the score is for {}, not {}", input.score.instrument, input.instrument)));
    }
    if input.score.convention.instrument_version != input.instrument_version {
        return Err(StoreError::Invalid(format!(
            "the score used version {} of {}, not version {}",
            input.score.convention.instrument_version, input.instrument, input.instrument_version
        )));
    }
    if let Some(k) = &input.idempotency_key
        && (k.is_empty() || k.len() > IDEMPOTENCY_KEY_MAX || !k.bytes().all(|b| b.is_ascii_graphic()))
    {
        return Err(StoreError::Invalid(format!(
            "an idempotency key is 1 to {IDEMPOTENCY_KEY_MAX} printable ASCII characters without spaces"
        )));
    }
    let note = input.note.as_deref().map(str::trim).filter(|n| !n.is_empty());
    if let Some(n) = note
        && n.chars().count() > NOTE_MAX_CHARS
    {
        return Err(StoreError::Invalid(format!("the note is longer than {NOTE_MAX_CHARS} characters")));
    }
    Ok(note.map(str::to_owned))
}

/// An instrument filter from the caller: a well-formed id (it goes into the audit detail).
pub(super) fn check_filter(instrument: Option<&str>) -> Result<Option<&str>, StoreError> {
    match instrument {
        Some(i) => InstrumentId::parse(i).map(|_| Some(i)).map_err(|e| StoreError::Invalid(e.to_string())),
        None => Ok(None),
    }
}

/// Refuses new data for an archived (or absent) client.
pub(super) async fn require_active_client(tx: &mut Tx, practice_id: PracticeId, client_id: ClientId, what: &str) -> Result<(), StoreError> {
    let status = sqlx::query("SELECT status FROM clients WHERE id = $1 AND practice_id = $2")
        .bind(client_id.to_string())
        .bind(practice_id.to_string())
        .fetch_optional(&mut **tx)
        .await?
        .ok_or(StoreError::NotFound)?;
    check_active(&status, what)
}

fn check_active(row: &AnyRow, what: &str) -> Result<(), StoreError> {
    match row.try_get::<String, _>("status")?.as_str() {
        "active" => Ok(()),
        _ => Err(StoreError::Conflict(format!("this client is archived; restore them before {what}"))),
    }
}

/// The client's responses, oldest first (by completion date), optionally for one instrument.
pub async fn list_responses(
    store: &Store,
    ctx: &Ctx,
    access: &RecordAccess,
    instrument: Option<&str>,
) -> Result<Vec<ResponseRecord>, StoreError> {
    let instrument = check_filter(instrument)?;
    let mut tx = store.begin_read().await?;
    let client = access.client_id().to_string();
    let key = data_key(store, &mut *tx, access.practice_id(), &client).await?;
    let rows = sqlx::query(concat!(
        "SELECT ",
        response_cols!(),
        " FROM measure_responses WHERE practice_id = $1 AND client_id = $2 AND ($3 IS NULL OR instrument_id = $3) ORDER BY completed_at, id"
    ))
    .bind(access.practice_id().to_string())
    .bind(&client)
    .bind(instrument)
    .fetch_all(&mut *tx)
    .await?;
    let out = rows.iter().map(|r| record_from(&key, r)).collect::<Result<Vec<_>, _>>()?;
    let mut ev = record_event(ctx, access, "response.list", "measure_response");
    ev.detail = format!("basis={} instrument={} count={}", access.basis().as_str(), instrument.unwrap_or("*"), out.len());
    tx.commit().await?;
    store.audit_read(ctx, ev).await?;
    Ok(out)
}

/// The client's score series, oldest first, optionally for one instrument: what charts and
/// trend summaries need, without answers, notes or the full score (no decryption).
pub async fn list_score_points(
    store: &Store,
    ctx: &Ctx,
    access: &RecordAccess,
    instrument: Option<&str>,
) -> Result<Vec<ScorePoint>, StoreError> {
    let instrument = check_filter(instrument)?;
    let rows = sqlx::query(
        "SELECT id, instrument_id, completed_at, total, band_id, caseness, flags_json, source FROM measure_responses \
         WHERE practice_id = $1 AND client_id = $2 AND ($3 IS NULL OR instrument_id = $3) ORDER BY completed_at, id",
    )
    .bind(access.practice_id().to_string())
    .bind(access.client_id().to_string())
    .bind(instrument)
    .fetch_all(store.reads())
    .await?;
    let out = rows.iter().map(score_point_from).collect::<Result<Vec<_>, StoreError>>()?;
    let mut ev = record_event(ctx, access, "response.list", "measure_response");
    ev.detail = format!("basis={} instrument={} count={} scores_only", access.basis().as_str(), instrument.unwrap_or("*"), out.len());
    store.audit_read(ctx, ev).await?;
    Ok(out)
}

/// Audits a read of the client's score series that a page served from its in-memory view of
/// them (`web::view_cache`), drawn earlier from [`list_score_points`]: the same entry, marked
/// `cached`. The caller holds the decision, so nothing is served without one.
pub async fn audit_cached_score_points(store: &Store, ctx: &Ctx, access: &RecordAccess, count: usize) -> Result<(), StoreError> {
    let mut ev = record_event(ctx, access, "response.list", "measure_response");
    ev.detail = format!("basis={} instrument=* count={count} scores_only cached", access.basis().as_str());
    store.audit_read(ctx, ev).await
}

/// The caseload's scores (never the directory: admins reach scores only through a care team):
/// per client and outcome measure (PHQ-9, GAD-7, WSAS) the first and the latest few, for the
/// latest-score, change-since-intake and sparkline columns.
/// One query and one audit entry, however many clients.
pub async fn caseload_score_points(
    store: &Store,
    ctx: &Ctx,
    scope: &concord_domain::policy::CaseloadScope,
) -> Result<Vec<(ClientId, ScorePoint)>, StoreError> {
    if scope.whole_practice() {
        return Ok(Vec::new());
    }
    let practice = scope.practice_id().to_string();
    let rows = sqlx::query(
        // The summaries kept current on write: per client and outcome measure, the first score
        // and the latest few (see `summary_recent`).
        "SELECT s.client_id, s.points_json FROM measure_summaries s JOIN care_team t ON t.client_id = s.client_id AND t.user_id = $2 \
         WHERE s.practice_id = $1 AND s.instrument_id IN ('phq9', 'gad7', 'wsas') ORDER BY s.client_id, s.instrument_id",
    )
    .bind(&practice)
    .bind(scope.actor().user_id.to_string())
    .fetch_all(store.reads())
    .await?;
    let mut out = Vec::new();
    for r in &rows {
        let client: ClientId = parse_id(r, "client_id")?;
        let points: Vec<ScorePoint> = serde_json::from_str(&r.try_get::<String, _>("points_json")?).map_err(|_| corrupt("summary"))?;
        out.extend(points.into_iter().map(|p| (client, p)));
    }
    let mut ev = ctx.event(Some(&scope.actor()), &practice, "caseload.scores", "measure_response");
    ev.detail = format!("count={} scores_only", out.len());
    store.audit_read(ctx, ev).await?;
    Ok(out)
}

/// Audits a read of the caseload's scores that the caseload page served from its in-memory
/// views (`web::view_cache`): the same entry as [`caseload_score_points`], marked `cached`.
pub async fn audit_cached_caseload_scores(
    store: &Store,
    ctx: &Ctx,
    scope: &concord_domain::policy::CaseloadScope,
    count: usize,
) -> Result<(), StoreError> {
    let mut ev = ctx.event(Some(&scope.actor()), &scope.practice_id().to_string(), "caseload.scores", "measure_response");
    ev.detail = format!("count={count} scores_only cached");
    store.audit_read(ctx, ev).await
}

/// How many of the latest scores the caseload summary keeps per client and measure.
const SUMMARY_RECENT: i64 = 12;
/// The caseload draws a sparkline of PHQ-9 only; of the other measures it shows the latest score
/// and its change, which need only the latest two beside the first.
fn summary_recent(instrument: &InstrumentId) -> i64 {
    if instrument.as_str() == "phq9" { SUMMARY_RECENT } else { 2 }
}
/// The measures the caseload shows (and so summarises).
const SUMMARY_INSTRUMENTS: [&str; 3] = ["phq9", "gad7", "wsas"];

/// Rewrites the caseload summary of one client's measure (its first score and latest few)
/// inside the write's transaction, so the caseload reads a few hundred rows, not every score.
pub(super) async fn refresh_summary(
    tx: &mut Tx,
    ctx: &Ctx,
    practice_id: PracticeId,
    client_id: ClientId,
    instrument: &InstrumentId,
) -> Result<(), StoreError> {
    if !SUMMARY_INSTRUMENTS.contains(&instrument.as_str()) {
        return Ok(());
    }
    // Two index-ordered scans (latest twelve, first one) rather than one OR that defeats the index.
    let rows = sqlx::query(
        "SELECT * FROM (SELECT id, instrument_id, completed_at, total, band_id, caseness, flags_json, source FROM measure_responses \
           WHERE practice_id = $1 AND client_id = $2 AND instrument_id = $3 ORDER BY completed_at DESC, id DESC LIMIT $4) AS latest \
         UNION \
         SELECT * FROM (SELECT id, instrument_id, completed_at, total, band_id, caseness, flags_json, source FROM measure_responses \
           WHERE practice_id = $1 AND client_id = $2 AND instrument_id = $3 ORDER BY completed_at, id LIMIT 1) AS first_one",
    )
    .bind(practice_id.to_string())
    .bind(client_id.to_string())
    .bind(instrument.as_str())
    .bind(summary_recent(instrument))
    .fetch_all(&mut **tx)
    .await?;
    let mut points = rows.iter().map(score_point_from).collect::<Result<Vec<_>, StoreError>>()?;
    points.sort_by_key(|p| (p.completed_at, p.id));
    let json = serde_json::to_string(&points).map_err(|e| StoreError::Invalid(format!("cannot store the summary: {e}")))?;
    sqlx::query(
        "INSERT INTO measure_summaries (practice_id, client_id, instrument_id, points_json, updated_at) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (client_id, instrument_id) DO UPDATE SET points_json = $4, updated_at = $5",
    )
    .bind(practice_id.to_string())
    .bind(client_id.to_string())
    .bind(instrument.as_str())
    .bind(json)
    .bind(ctx.ts())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

fn score_point_from(r: &AnyRow) -> Result<ScorePoint, StoreError> {
    Ok(ScorePoint {
        id: parse_id(r, "id")?,
        instrument: instrument_from(r, "instrument_id")?,
        completed_at: r.try_get("completed_at")?,
        total: opt_total(r.try_get("total")?)?,
        band: r.try_get("band_id")?,
        caseness: opt_bool(r.try_get("caseness")?),
        flags: flags_from(&r.try_get::<String, _>("flags_json")?)?,
        source: source_from(r)?,
    })
}
