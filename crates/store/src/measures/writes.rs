//! Storing completed questionnaires: checked and sealed before any transaction, then stored in
//! batches. Staff and API submissions ([`record_response`]) and portal submissions
//! (`portal_record_response`) go through the group commit (`Store::write_grouped`), whose leader
//! stores a whole batch with one guarded multi-row INSERT ([`write_responses`]); a bulk import
//! ([`record_responses_bulk`]) uses the same statements in a transaction of its own.

use super::record_event;
use super::responses::{
    NewResponse, ResponseRecord, ResponseSource, check_new, note_aad, record_from, refresh_summary, require_active_client, response_cols,
};
use crate::clients::data_key;
use crate::crypto::DataKey;
use crate::{Ctx, GroupedWrite, Store, StoreError, Tx, audit, values_list};
use concord_domain::ids::{ClientId, PortalLinkId, PracticeId, ResponseId, UserId};
use concord_domain::policy::RecordAccess;
use sqlx::Row;
use std::collections::HashSet;

/// Who is writing: staff (with their id) or the portal (with the link).
#[derive(Debug, Clone, Copy)]
pub(super) enum Writer {
    Staff(UserId),
    Portal(PortalLinkId),
}

/// A response ready to store: checked, its id chosen, its note sealed, its JSON written.
pub(super) struct Prepared {
    practice_id: PracticeId,
    writer: Writer,
    idempotency_key: Option<String>,
    /// The response as it will read once stored.
    record: ResponseRecord,
    answers_json: String,
    flags_json: String,
    score_json: String,
    note_ct: Option<Vec<u8>>,
}

/// Checks `input` (see [`check_new`]) and prepares it for storing under `ctx`'s time. `key` is
/// the client's data key when `input` has a note to seal ([`sealing_key`]).
pub(super) fn prepare(
    ctx: &Ctx,
    practice_id: PracticeId,
    client_id: ClientId,
    input: NewResponse,
    writer: Writer,
    key: Option<&DataKey>,
) -> Result<Prepared, StoreError> {
    let note = check_new(ctx, &input)?;
    let json =
        |what: &str, r: Result<String, serde_json::Error>| r.map_err(|e| StoreError::Invalid(format!("cannot store the {what}: {e}")));
    let answers_json = json("answers", serde_json::to_string(&input.answers))?;
    let flags_json = json("flags", serde_json::to_string(&input.score.flags))?;
    let score_json = json("score", serde_json::to_string(&input.score))?;
    let id: ResponseId = ctx.new_id(ResponseId::new_at);
    let note_ct = match (note.as_deref(), key) {
        (Some(n), Some(key)) => Some(key.seal_str(n, &note_aad(&id.to_string()))?),
        (Some(_), None) => return Err(StoreError::Unavailable("the note could not be sealed: no data key was read".into())),
        (None, _) => None,
    };
    let (entered_by, portal_link_id) = match writer {
        Writer::Staff(u) => (Some(u), None),
        Writer::Portal(l) => (None, Some(l)),
    };
    let record = ResponseRecord {
        id,
        client_id,
        total: input.score.total,
        band: input.score.band.as_ref().map(|b| b.id.clone()),
        caseness: input.score.caseness,
        flags: input.score.flags.clone(),
        instrument: input.instrument,
        instrument_version: input.instrument_version,
        answers: input.answers,
        score: input.score,
        completed_at: input.completed_at,
        source: input.source,
        note,
        entered_by,
        portal_link_id,
        created_at: ctx.ts(),
    };
    Ok(Prepared { practice_id, writer, idempotency_key: input.idempotency_key, record, answers_json, flags_json, score_json, note_ct })
}

/// Columns bound per row by [`insert_prepared`].
const ROW_PARAMS: usize = 19;
/// Most rows per statement (19 parameters each, well under both engines' limits).
const ROWS_PER_INSERT: usize = 64;

/// Stores the rows that may be stored and returns their ids. Each row is stored only if its
/// client is active and, from the portal, has an active schedule for the instrument; a row whose
/// idempotency key the client has used is skipped. Nothing fails for those reasons, so a batch
/// needs no savepoints: [`not_inserted`] says afterwards why a row was skipped.
async fn insert_prepared(tx: &mut Tx, rows: &[&Prepared]) -> Result<HashSet<ResponseId>, StoreError> {
    let mut stored = HashSet::with_capacity(rows.len());
    for chunk in crate::pow2_chunks(rows, ROWS_PER_INSERT) {
        // Columns of a VALUES list are column1, column2, … on both engines.
        let sql = format!(
            "INSERT INTO measure_responses (id, practice_id, client_id, instrument_id, instrument_version, answers_json, total, band_id, \
               caseness, flags_json, score_json, completed_at, source, note_ct, entered_by, portal_link_id, idempotency_key, created_at) \
             SELECT v.column1, v.column2, v.column3, v.column4, v.column5, v.column6, v.column7, v.column8, v.column9, v.column10, \
               v.column11, v.column12, v.column13, v.column14, v.column15, v.column16, v.column17, v.column18 \
             FROM (VALUES {}) AS v \
             WHERE EXISTS (SELECT 1 FROM clients c WHERE c.id = v.column3 AND c.practice_id = v.column2 AND c.status = 'active') \
               AND (v.column19 = 0 OR EXISTS (SELECT 1 FROM measure_schedules s WHERE s.practice_id = v.column2 \
                 AND s.client_id = v.column3 AND s.instrument_id = v.column4 AND s.ended_at IS NULL)) \
             ON CONFLICT DO NOTHING RETURNING id",
            values_list(tx.engine(), chunk.len(), ROW_PARAMS)
        );
        // Audited: the only dynamic part is a list of numbered placeholders.
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for p in chunk {
            let r = &p.record;
            q = q
                .bind(r.id.to_string())
                .bind(p.practice_id.to_string())
                .bind(r.client_id.to_string())
                .bind(r.instrument.as_str())
                .bind(&r.instrument_version)
                .bind(&p.answers_json)
                .bind(r.total.map(i64::from))
                .bind(r.band.as_deref())
                .bind(r.caseness.map(i64::from))
                .bind(&p.flags_json)
                .bind(&p.score_json)
                .bind(r.completed_at)
                .bind(r.source.as_str())
                .bind(p.note_ct.as_deref())
                .bind(r.entered_by.map(|u| u.to_string()))
                .bind(r.portal_link_id.map(|l| l.to_string()))
                .bind(p.idempotency_key.as_deref())
                .bind(r.created_at)
                .bind(i64::from(matches!(p.writer, Writer::Portal(_))));
        }
        for row in q.fetch_all(&mut **tx).await? {
            let id: String = row.try_get("id")?;
            stored.insert(id.parse().map_err(|_| StoreError::Invalid("corrupt id returned by the insert".into()))?);
        }
    }
    Ok(stored)
}

/// Why [`insert_prepared`] skipped a row, in the order a reader expects: an unassigned
/// questionnaire (portal), an absent or archived client, then a reused idempotency key: the
/// stored response if the submission is the same (a replay), else a conflict. Reads only; reads
/// the client's data key for a replay when `key` is `None`.
async fn not_inserted(store: &Store, tx: &mut Tx, p: &Prepared, key: Option<&DataKey>) -> Result<ResponseRecord, StoreError> {
    let r = &p.record;
    if matches!(p.writer, Writer::Portal(_)) {
        let assigned = sqlx::query(
            "SELECT 1 AS one FROM measure_schedules WHERE practice_id = $1 AND client_id = $2 AND instrument_id = $3 AND ended_at IS NULL",
        )
        .bind(p.practice_id.to_string())
        .bind(r.client_id.to_string())
        .bind(r.instrument.as_str())
        .fetch_optional(&mut **tx)
        .await?;
        if assigned.is_none() {
            return Err(StoreError::NotAssigned);
        }
    }
    require_active_client(tx, p.practice_id, r.client_id, "recording measures").await?;
    if let Some(k) = &p.idempotency_key {
        let prior = sqlx::query(concat!(
            "SELECT ",
            response_cols!(),
            " FROM measure_responses WHERE practice_id = $1 AND client_id = $2 AND idempotency_key = $3"
        ))
        .bind(p.practice_id.to_string())
        .bind(r.client_id.to_string())
        .bind(k)
        .fetch_optional(&mut **tx)
        .await?;
        if let Some(row) = prior {
            let same = row.try_get::<String, _>("instrument_id")? == r.instrument.as_str()
                && row.try_get::<String, _>("answers_json")? == p.answers_json
                && (matches!(p.writer, Writer::Portal(_)) || row.try_get::<i64, _>("completed_at")? == r.completed_at);
            if !same {
                return Err(StoreError::Conflict("this idempotency key was already used for a different submission".into()));
            }
            let read;
            let key = match key {
                Some(key) => key,
                None => {
                    read = data_key(store, &mut **tx, p.practice_id, &r.client_id.to_string()).await?;
                    &read
                }
            };
            return record_from(key, &row);
        }
    }
    Err(StoreError::Unavailable("the response could not be stored; try again".into()))
}

/// What follows new responses in their transaction, once per client where it can be: the
/// clients are marked for a full prompt evaluation, a safety flag opens its prompt at once, and
/// the caseload summaries of the measures written are rewritten.
async fn after_insert(tx: &mut Tx, stored: &[(&Ctx, &Prepared)]) -> Result<(), StoreError> {
    let Some((first, _)) = stored.first() else { return Ok(()) };
    let mut clients: Vec<(PracticeId, ClientId)> = Vec::new();
    for (_, p) in stored {
        if !clients.contains(&(p.practice_id, p.record.client_id)) {
            clients.push((p.practice_id, p.record.client_id));
        }
    }
    crate::prompts::mark_pending_many(tx, first, &clients).await?;
    let mut summaries: Vec<(&Ctx, PracticeId, ClientId, &concord_domain::measures::InstrumentId)> = Vec::new();
    for (ctx, p) in stored {
        let r = &p.record;
        crate::prompts::safety_after_response(tx, ctx, p.practice_id, r.client_id, &r.score, r.completed_at).await?;
        if !summaries.iter().any(|(_, pr, c, i)| (*pr, *c, *i) == (p.practice_id, r.client_id, &r.instrument)) {
            summaries.push((ctx, p.practice_id, r.client_id, &r.instrument));
        }
    }
    for (ctx, practice_id, client_id, instrument) in summaries {
        refresh_summary(tx, ctx, practice_id, client_id, instrument).await?;
    }
    Ok(())
}

/// Builds a write's own audit entry from what was stored and whether it was a replay.
pub(crate) type ResponseEvent = Box<dyn Fn(&ResponseRecord, bool) -> audit::AuditEvent + Send + Sync>;

/// A response handed to the group commit, with the request's queued audit entries and where to
/// send what was stored (or the response it replays) once committed.
pub(crate) struct ResponseWrite {
    ctx: Ctx,
    prepared: Prepared,
    key: Option<DataKey>,
    event: ResponseEvent,
    queued: Vec<audit::AuditEvent>,
    reply: tokio::sync::oneshot::Sender<Result<ResponseRecord, StoreError>>,
}

impl ResponseWrite {
    pub(crate) fn answer(self, outcome: Result<ResponseRecord, StoreError>) {
        let _ = self.reply.send(outcome);
    }
}

/// The group commit's part for responses: stores a batch's responses with one guarded multi-row
/// INSERT, finds out why each skipped one was skipped, does what follows new responses, and adds
/// each stored or replayed write's audit entries (its request's queued reads, then its own) to
/// `entries`. Returns each write's answer; a refusal touches nothing, a database error is
/// returned and fails the batch.
pub(crate) async fn write_responses(
    store: &Store,
    tx: &mut Tx,
    writes: &[ResponseWrite],
    entries: &mut Vec<audit::AuditEvent>,
) -> Result<Vec<Result<ResponseRecord, StoreError>>, StoreError> {
    let rows: Vec<&Prepared> = writes.iter().map(|w| &w.prepared).collect();
    let stored = insert_prepared(tx, &rows).await?;
    let mut answers = Vec::with_capacity(writes.len());
    for w in writes {
        if stored.contains(&w.prepared.record.id) {
            answers.push(Ok((w.prepared.record.clone(), false)));
            continue;
        }
        match not_inserted(store, tx, &w.prepared, w.key.as_ref()).await {
            Ok(replayed) => answers.push(Ok((replayed, true))),
            Err(e @ StoreError::Db(_)) => return Err(e),
            Err(refused) => answers.push(Err(refused)),
        }
    }
    let new: Vec<(&Ctx, &Prepared)> =
        writes.iter().filter(|w| stored.contains(&w.prepared.record.id)).map(|w| (&w.ctx, &w.prepared)).collect();
    after_insert(tx, &new).await?;
    for (w, answer) in writes.iter().zip(&answers) {
        if let Ok((record, replay)) = answer {
            entries.extend(w.queued.iter().cloned());
            entries.push((w.event)(record, *replay));
        }
    }
    Ok(answers.into_iter().map(|a| a.map(|(record, _)| record)).collect())
}

/// Hands a prepared response to the group commit and waits for it; forgets the request's
/// queued audit entries once they committed with it. Returns the stored (or replayed) response.
pub(super) async fn submit(
    store: &Store,
    ctx: &Ctx,
    prepared: Prepared,
    key: Option<DataKey>,
    event: ResponseEvent,
) -> Result<ResponseRecord, StoreError> {
    let queued = Store::queued(ctx);
    let n = queued.len();
    let (reply, answer) = tokio::sync::oneshot::channel();
    let write = GroupedWrite::Response(Box::new(ResponseWrite { ctx: ctx.clone(), prepared, key, event, queued, reply }));
    let outcome = store
        .write_grouped(write, answer)
        .await
        .unwrap_or_else(|_| Err(StoreError::Unavailable("the write could not be committed".into())))?;
    Store::forget_queued(ctx, n);
    Ok(outcome)
}

/// The client's data key when `input` has a note to seal, read before the write's transaction
/// (keys never change). Most submissions have no note: they read no key (a replay reads it if
/// the stored response has a note).
pub(super) async fn sealing_key(
    store: &Store,
    practice_id: PracticeId,
    client_id: ClientId,
    input: &NewResponse,
) -> Result<Option<DataKey>, StoreError> {
    if input.note.is_none() {
        return Ok(None);
    }
    Ok(Some(data_key(store, store.reads(), practice_id, &client_id.to_string()).await?))
}

/// Records a completed questionnaire for the client (staff: in session, a paper form with its
/// date, or the API). Refused: a date more than [`MAX_FUTURE_SECONDS`](super::MAX_FUTURE_SECONDS)
/// ahead, `source = Portal`, an archived client, a score that is not for this instrument and
/// version, an over-long note, an idempotency key reused for a different submission (Conflict).
/// A key reused for the same submission returns the stored response (audited as
/// `response.replay`).
pub async fn record_response(store: &Store, ctx: &Ctx, access: &RecordAccess, input: NewResponse) -> Result<ResponseRecord, StoreError> {
    if input.source == ResponseSource::Portal {
        return Err(StoreError::Invalid("only the client portal records portal responses".into()));
    }
    let key = sealing_key(store, access.practice_id(), access.client_id(), &input).await?;
    let prepared = prepare(ctx, access.practice_id(), access.client_id(), input, Writer::Staff(access.actor().user_id), key.as_ref())?;
    let (c, access) = (ctx.clone(), *access);
    let event: ResponseEvent = Box::new(move |record, replay| {
        let mut ev = record_event(&c, &access, if replay { "response.replay" } else { "response.create" }, "measure_response");
        ev.record_id = Some(record.id.to_string());
        ev.detail = format!("basis={} instrument={} source={}", access.basis().as_str(), record.instrument, record.source.as_str());
        ev
    });
    submit(store, ctx, prepared, key, event).await
}

/// Records many staff-entered responses for one client in one transaction, each audited (bulk
/// imports and the benchmark's data generator). Any refusal refuses them all.
pub async fn record_responses_bulk(store: &Store, ctx: &Ctx, access: &RecordAccess, inputs: Vec<NewResponse>) -> Result<usize, StoreError> {
    if inputs.iter().any(|i| i.source == ResponseSource::Portal) {
        return Err(StoreError::Invalid("only the client portal records portal responses".into()));
    }
    let n = inputs.len();
    let mut tx = store.begin().await?;
    let key = data_key(store, &mut *tx, access.practice_id(), &access.client_id().to_string()).await?;
    let writer = Writer::Staff(access.actor().user_id);
    let prepared = inputs
        .into_iter()
        .map(|i| prepare(ctx, access.practice_id(), access.client_id(), i, writer, Some(&key)))
        .collect::<Result<Vec<_>, _>>()?;
    let rows: Vec<&Prepared> = prepared.iter().collect();
    let stored = insert_prepared(&mut tx, &rows).await?;
    let mut entries = Vec::with_capacity(n);
    for p in &prepared {
        let record = if stored.contains(&p.record.id) { p.record.clone() } else { not_inserted(store, &mut tx, p, Some(&key)).await? };
        let mut ev = record_event(ctx, access, "response.create", "measure_response");
        ev.record_id = Some(record.id.to_string());
        ev.detail = format!("basis={} instrument={} source={} bulk", access.basis().as_str(), record.instrument, record.source.as_str());
        entries.push(ev);
    }
    let new: Vec<(&Ctx, &Prepared)> = prepared.iter().filter(|p| stored.contains(&p.record.id)).map(|p| (ctx, p)).collect();
    after_insert(&mut tx, &new).await?;
    audit::append_many(&mut tx, entries.iter()).await?;
    tx.commit().await?;
    Ok(n)
}
