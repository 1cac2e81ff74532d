//! Coded session transcripts (motivational-interviewing feedback).
//!
//! What is stored: the codes and MITI summary as JSON with every utterance text blanked (codes
//! are not free text), and the utterance texts as one ciphertext under the client's data key.
//! Discarding the text deletes that ciphertext and keeps the codes. Every read and write is
//! audited. The store treats the codes as opaque JSON; `concord_mi` owns their shape.

use crate::accounts::parse_id;
use crate::audit;
use crate::clients::data_key;
use crate::crypto::field_aad;
use crate::{Ctx, Store, StoreError, Tx};
use concord_domain::ids::{SessionId, TranscriptId};
use concord_domain::policy::RecordAccess;
use sqlx::Row;

/// A transcript to store: codes JSON (texts blanked) and the texts to seal.
#[derive(Debug)]
pub struct NewTranscript<'a> {
    pub session_id: SessionId,
    pub source_format: &'a str,
    pub model_version: &'a str,
    pub utterance_count: i64,
    pub codes_json: String,
    pub texts: &'a [String],
}

#[derive(Debug, Clone)]
pub struct TranscriptRecord {
    pub id: TranscriptId,
    pub session_id: SessionId,
    pub session_starts_at: i64,
    pub uploaded_at: i64,
    pub source_format: String,
    pub model_version: String,
    pub utterance_count: i64,
    pub codes_json: String,
    /// The utterance texts, or None once discarded.
    pub texts: Option<Vec<String>>,
    pub text_discarded_at: Option<i64>,
}

/// A stored transcript without its texts (the caller decrypts them when it needs them).
fn record_from(r: &sqlx::any::AnyRow) -> Result<TranscriptRecord, StoreError> {
    Ok(TranscriptRecord {
        id: parse_id(r, "id")?,
        session_id: parse_id(r, "session_id")?,
        session_starts_at: r.try_get("starts_at")?,
        uploaded_at: r.try_get("uploaded_at")?,
        source_format: r.try_get("source_format")?,
        model_version: r.try_get("model_version")?,
        utterance_count: r.try_get("utterance_count")?,
        codes_json: r.try_get("codes")?,
        texts: None,
        text_discarded_at: r.try_get("text_discarded_at")?,
    })
}

fn event(ctx: &Ctx, access: &RecordAccess, action: &'static str, record_id: Option<String>) -> audit::AuditEvent {
    let mut ev = ctx.event(Some(&access.actor()), &access.practice_id().to_string(), action, "transcript");
    ev.client_id = Some(access.client_id().to_string());
    ev.record_id = record_id;
    ev.detail = format!("basis={}", access.basis().as_str());
    ev
}

/// The session must be this client's, in this practice.
async fn check_session(tx: &mut Tx, access: &RecordAccess, session_id: SessionId) -> Result<(), StoreError> {
    sqlx::query("SELECT 1 AS one FROM client_sessions WHERE id = $1 AND client_id = $2 AND practice_id = $3")
        .bind(session_id.to_string())
        .bind(access.client_id().to_string())
        .bind(access.practice_id().to_string())
        .fetch_optional(&mut **tx)
        .await?
        .map(|_| ())
        .ok_or(StoreError::NotFound)
}

/// Stores (or replaces) the transcript of a session.
pub async fn save_transcript(store: &Store, ctx: &Ctx, access: &RecordAccess, t: NewTranscript<'_>) -> Result<TranscriptId, StoreError> {
    let mut tx = store.begin().await?;
    check_session(&mut tx, access, t.session_id).await?;
    let id: TranscriptId = ctx.new_id(TranscriptId::new_at);
    let key = data_key(store, &mut *tx, access.practice_id(), &access.client_id().to_string()).await?;
    let texts = serde_json::to_string(t.texts).map_err(|e| StoreError::Invalid(e.to_string()))?;
    let text_ct = key.seal_str(&texts, &field_aad("transcripts", "text_ct", &id.to_string()))?;
    let replaced = sqlx::query("DELETE FROM transcripts WHERE session_id = $1 AND practice_id = $2")
        .bind(t.session_id.to_string())
        .bind(access.practice_id().to_string())
        .execute(&mut *tx)
        .await?
        .rows_affected();
    sqlx::query(
        "INSERT INTO transcripts (id, practice_id, client_id, session_id, uploaded_by, uploaded_at, source_format, utterance_count, model_version, codes, text_ct) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    )
    .bind(id.to_string())
    .bind(access.practice_id().to_string())
    .bind(access.client_id().to_string())
    .bind(t.session_id.to_string())
    .bind(access.actor().user_id.to_string())
    .bind(ctx.ts())
    .bind(t.source_format)
    .bind(t.utterance_count)
    .bind(t.model_version)
    .bind(&t.codes_json)
    .bind(text_ct)
    .execute(&mut *tx)
    .await?;
    let mut ev = event(ctx, access, "transcript.create", Some(id.to_string()));
    ev.detail = format!("{} session={} utterances={} replaced={}", ev.detail, t.session_id, t.utterance_count, replaced);
    audit::append(&mut tx, &ev).await?;
    tx.commit().await?;
    Ok(id)
}

/// The transcript of one session, with its texts decrypted when kept (audited).
pub async fn get_transcript(
    store: &Store,
    ctx: &Ctx,
    access: &RecordAccess,
    session_id: SessionId,
) -> Result<Option<TranscriptRecord>, StoreError> {
    let mut tx = store.begin_read().await?;
    let row = sqlx::query(
        "SELECT t.id, t.session_id, s.starts_at, t.uploaded_at, t.source_format, t.model_version, t.utterance_count, t.codes, t.text_ct, t.text_discarded_at \
         FROM transcripts t JOIN client_sessions s ON s.id = t.session_id \
         WHERE t.session_id = $1 AND t.client_id = $2 AND t.practice_id = $3",
    )
    .bind(session_id.to_string())
    .bind(access.client_id().to_string())
    .bind(access.practice_id().to_string())
    .fetch_optional(&mut *tx)
    .await?;
    let Some(r) = row else {
        tx.commit().await?;
        return Ok(None);
    };
    let id: TranscriptId = parse_id(&r, "id")?;
    let ct: Option<Vec<u8>> = r.try_get("text_ct")?;
    let texts = match ct {
        Some(ct) => {
            let key = data_key(store, &mut *tx, access.practice_id(), &access.client_id().to_string()).await?;
            let json = key.open_str(&ct, &field_aad("transcripts", "text_ct", &id.to_string()))?;
            Some(serde_json::from_str::<Vec<String>>(&json).map_err(|e| StoreError::Invalid(format!("corrupt transcript text: {e}")))?)
        }
        None => None,
    };
    let rec = TranscriptRecord { texts, ..record_from(&r)? };
    tx.commit().await?;
    store.audit_read(ctx, event(ctx, access, "transcript.read", Some(rec.id.to_string()))).await?;
    Ok(Some(rec))
}

/// Every transcript of the client (codes only, never texts), oldest session first, for trends.
pub async fn list_transcripts(store: &Store, ctx: &Ctx, access: &RecordAccess) -> Result<Vec<TranscriptRecord>, StoreError> {
    let mut tx = store.begin_read().await?;
    let rows = sqlx::query(
        "SELECT t.id, t.session_id, s.starts_at, t.uploaded_at, t.source_format, t.model_version, t.utterance_count, t.codes, t.text_discarded_at \
         FROM transcripts t JOIN client_sessions s ON s.id = t.session_id \
         WHERE t.client_id = $1 AND t.practice_id = $2 ORDER BY s.starts_at",
    )
    .bind(access.client_id().to_string())
    .bind(access.practice_id().to_string())
    .fetch_all(&mut *tx)
    .await?;
    let out = rows.iter().map(record_from).collect::<Result<Vec<_>, StoreError>>()?;
    tx.commit().await?;
    store.audit_read(ctx, event(ctx, access, "transcript.list", None)).await?;
    Ok(out)
}

/// Deletes the transcript's text for good, keeping codes and metrics.
pub async fn discard_text(store: &Store, ctx: &Ctx, access: &RecordAccess, session_id: SessionId) -> Result<(), StoreError> {
    let mut tx = store.begin().await?;
    let r = sqlx::query(
        "UPDATE transcripts SET text_ct = NULL, text_discarded_at = $1 WHERE session_id = $2 AND client_id = $3 AND practice_id = $4 AND text_ct IS NOT NULL",
    )
    .bind(ctx.ts())
    .bind(session_id.to_string())
    .bind(access.client_id().to_string())
    .bind(access.practice_id().to_string())
    .execute(&mut *tx)
    .await?;
    if r.rows_affected() != 1 {
        return Err(StoreError::NotFound);
    }
    let mut ev = event(ctx, access, "transcript.discard_text", None);
    ev.detail = format!("{} session={session_id}", ev.detail);
    audit::append(&mut tx, &ev).await?;
    tx.commit().await?;
    Ok(())
}
