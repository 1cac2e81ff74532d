//! Session notes (draft → signed → addenda) and the client record timeline.
//!
//! **Immutability.** A signed note is never changed: [`update_note`] refuses (Conflict), and
//! the database refuses too (the `notes_signed_immutable` trigger on both engines), so no
//! code path can edit one. Corrections are addenda, themselves immutable.
//!
//! **Process notes** (`kind = process`, psychotherapy notes) are kept apart: they appear on
//! the therapist's notes page only, never in the timeline, an export, a letter, a dossier or
//! the portal. Functions that feed those take [`NoteScope::RecordOnly`].
//!
//! **Encrypted**: note bodies, medication conversations and addenda, under the client's data
//! key (associated data `concord/v1/<table>/<column>/<row id>`).
//!
//! **Audited**: `note.create`, `note.update`, `note.sign`, `note.addendum`, `note.read`,
//! `note.list`, `timeline.read`.

use crate::accounts::parse_id;
use crate::clients::{data_key, record_access};
use crate::crypto::{DataKey, field_aad};
use crate::{Ctx, Store, StoreError, Tx, audit};
use concord_domain::ids::{AddendumId, ClientId, NoteId, PromptId, SessionId, UserId};
use concord_domain::policy::{Actor, RecordAccess};
use concord_domain::prompts::PromptKind;
use concord_domain::records::{MedicationConversation, NoteKind, NoteStatus};
use serde::Serialize;
use sqlx::Row;
use sqlx::any::AnyRow;

#[derive(Debug, Clone, Serialize)]
pub struct Addendum {
    pub id: AddendumId,
    pub body: String,
    pub created_at: i64,
    pub created_by: UserId,
}

#[derive(Debug, Clone, Serialize)]
pub struct NoteRecord {
    pub id: NoteId,
    pub client_id: ClientId,
    pub session_id: Option<SessionId>,
    pub kind: NoteKind,
    pub status: NoteStatus,
    pub body: String,
    pub medication_conversation: Option<MedicationConversation>,
    /// The date the note is about (the session's start, else when it was written).
    pub note_date: i64,
    pub created_at: i64,
    pub created_by: UserId,
    pub updated_at: i64,
    pub signed_at: Option<i64>,
    pub signed_by: Option<UserId>,
    pub addenda: Vec<Addendum>,
}

/// A new note (checked values).
#[derive(Debug, Clone)]
pub struct NewNote {
    pub session_id: Option<SessionId>,
    pub kind: NoteKind,
    pub body: String,
    pub medication_conversation: Option<MedicationConversation>,
}

/// Which notes a read may include.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoteScope {
    /// Progress notes and process notes (the therapist's own notes page).
    WithProcessNotes,
    /// The record proper: progress notes only (timeline, exports, letters, dossier, portal).
    RecordOnly,
}

fn corrupt(what: &str) -> StoreError {
    StoreError::Invalid(format!("corrupt stored note ({what})"))
}

fn event(ctx: &Ctx, access: &RecordAccess, action: &'static str, record_id: Option<String>) -> audit::AuditEvent {
    let mut ev = ctx.event(Some(&access.actor()), &access.practice_id().to_string(), action, "note");
    ev.client_id = Some(access.client_id().to_string());
    ev.record_id = record_id;
    ev.detail = format!("basis={}", access.basis().as_str());
    ev
}

fn seal_note(key: &DataKey, id: &str, body: &str, med: Option<&MedicationConversation>) -> Result<(Vec<u8>, Option<Vec<u8>>), StoreError> {
    let body_ct = key.seal_str(body, &field_aad("notes", "body_ct", id))?;
    let med_ct = match med {
        Some(m) => {
            let json = serde_json::to_string(m).map_err(|e| StoreError::Invalid(e.to_string()))?;
            Some(key.seal_str(&json, &field_aad("notes", "medication_ct", id))?)
        }
        None => None,
    };
    Ok((body_ct, med_ct))
}

const NOTE_COLS: &str =
    "id, client_id, session_id, kind, status, body_ct, medication_ct, note_date, created_at, created_by, updated_at, signed_at, signed_by";

fn note_from(key: &DataKey, r: &AnyRow) -> Result<NoteRecord, StoreError> {
    let id: String = r.try_get("id")?;
    let body_ct: Vec<u8> = r.try_get("body_ct")?;
    let med_ct: Option<Vec<u8>> = r.try_get("medication_ct")?;
    let medication_conversation = med_ct
        .map(|ct| -> Result<MedicationConversation, StoreError> {
            let json = key.open_str(&ct, &field_aad("notes", "medication_ct", &id))?;
            serde_json::from_str(&json).map_err(|_| corrupt("medication conversation"))
        })
        .transpose()?;
    let session: Option<String> = r.try_get("session_id")?;
    let signed_by: Option<String> = r.try_get("signed_by")?;
    Ok(NoteRecord {
        id: id.parse().map_err(|_| corrupt("id"))?,
        client_id: parse_id(r, "client_id")?,
        session_id: session.map(|s| s.parse().map_err(|_| corrupt("session"))).transpose()?,
        kind: NoteKind::parse(&r.try_get::<String, _>("kind")?).ok_or_else(|| corrupt("kind"))?,
        status: NoteStatus::parse(&r.try_get::<String, _>("status")?).ok_or_else(|| corrupt("status"))?,
        body: key.open_str(&body_ct, &field_aad("notes", "body_ct", &id))?,
        medication_conversation,
        note_date: r.try_get("note_date")?,
        created_at: r.try_get("created_at")?,
        created_by: parse_id(r, "created_by")?,
        updated_at: r.try_get("updated_at")?,
        signed_at: r.try_get("signed_at")?,
        signed_by: signed_by.map(|s| s.parse().map_err(|_| corrupt("signed_by"))).transpose()?,
        addenda: Vec::new(),
    })
}

async fn addenda_for(
    tx: &mut Tx,
    key: &DataKey,
    access: &RecordAccess,
    note_ids: &[String],
) -> Result<Vec<(String, Addendum)>, StoreError> {
    if note_ids.is_empty() {
        return Ok(Vec::new());
    }
    let rows = sqlx::query("SELECT id, note_id, body_ct, created_at, created_by FROM note_addenda WHERE practice_id = $1 AND client_id = $2 ORDER BY created_at, id")
        .bind(access.practice_id().to_string())
        .bind(access.client_id().to_string())
        .fetch_all(&mut **tx)
        .await?;
    let mut out = Vec::new();
    for r in &rows {
        let note_id: String = r.try_get("note_id")?;
        if !note_ids.contains(&note_id) {
            continue;
        }
        let id: String = r.try_get("id")?;
        let ct: Vec<u8> = r.try_get("body_ct")?;
        out.push((
            note_id,
            Addendum {
                id: id.parse().map_err(|_| corrupt("addendum id"))?,
                body: key.open_str(&ct, &field_aad("note_addenda", "body_ct", &id))?,
                created_at: r.try_get("created_at")?,
                created_by: parse_id(r, "created_by")?,
            },
        ));
    }
    Ok(out)
}

/// Resolves a note's owner and asks the policy for record access (NotFound otherwise, the
/// same as a missing id).
pub async fn note_access(store: &Store, ctx: &Ctx, actor: &Actor, note_id: NoteId) -> Result<RecordAccess, StoreError> {
    let row = sqlx::query("SELECT client_id FROM notes WHERE id = $1 AND practice_id = $2")
        .bind(note_id.to_string())
        .bind(actor.practice_id.to_string())
        .fetch_optional(store.reads())
        .await?
        .ok_or(StoreError::NotFound)?;
    record_access(store, ctx, actor, parse_id(&row, "client_id")?).await
}

/// Writes a draft note. The session, when given, must be this client's.
pub async fn create_note(store: &Store, ctx: &Ctx, access: &RecordAccess, n: NewNote) -> Result<NoteId, StoreError> {
    let mut tx = store.begin().await?;
    let note_date = match n.session_id {
        Some(s) => sqlx::query("SELECT starts_at FROM client_sessions WHERE id = $1 AND client_id = $2 AND practice_id = $3")
            .bind(s.to_string())
            .bind(access.client_id().to_string())
            .bind(access.practice_id().to_string())
            .fetch_optional(&mut *tx)
            .await?
            .ok_or_else(|| StoreError::Invalid("session_id is not a session of this client".into()))?
            .try_get::<i64, _>("starts_at")?,
        None => ctx.ts(),
    };
    let id: NoteId = ctx.new_id(NoteId::new_at);
    let sid = id.to_string();
    let key = data_key(store, &mut *tx, access.practice_id(), &access.client_id().to_string()).await?;
    let (body_ct, med_ct) = seal_note(&key, &sid, &n.body, n.medication_conversation.as_ref())?;
    sqlx::query(
        "INSERT INTO notes (id, practice_id, client_id, session_id, kind, status, body_ct, medication_ct, has_medication, note_date, created_at, created_by, updated_at) \
         VALUES ($1, $2, $3, $4, $5, 'draft', $6, $7, $8, $9, $10, $11, $10)",
    )
    .bind(&sid)
    .bind(access.practice_id().to_string())
    .bind(access.client_id().to_string())
    .bind(n.session_id.map(|s| s.to_string()))
    .bind(n.kind.as_str())
    .bind(body_ct)
    .bind(med_ct)
    .bind(crate::flag(n.medication_conversation.is_some()))
    .bind(note_date)
    .bind(ctx.ts())
    .bind(access.actor().user_id.to_string())
    .execute(&mut *tx)
    .await?;
    let mut ev = event(ctx, access, "note.create", Some(sid));
    ev.detail = format!("{} kind={} medication={}", ev.detail, n.kind.as_str(), n.medication_conversation.is_some());
    audit::append(&mut tx, &ev).await?;
    tx.commit().await?;
    Ok(id)
}

async fn status_of(tx: &mut Tx, access: &RecordAccess, id: NoteId) -> Result<NoteStatus, StoreError> {
    let r = sqlx::query("SELECT status FROM notes WHERE id = $1 AND client_id = $2 AND practice_id = $3")
        .bind(id.to_string())
        .bind(access.client_id().to_string())
        .bind(access.practice_id().to_string())
        .fetch_optional(&mut **tx)
        .await?
        .ok_or(StoreError::NotFound)?;
    NoteStatus::parse(&r.try_get::<String, _>("status")?).ok_or_else(|| corrupt("status"))
}

/// The change a draft may take: a new body and/or medication conversation (`Some(None)`
/// removes it).
#[derive(Debug, Clone, Default)]
pub struct NoteChanges {
    pub body: Option<String>,
    pub medication_conversation: Option<Option<MedicationConversation>>,
}

/// Changes a draft. A signed note answers Conflict ("signed notes are immutable").
pub async fn update_note(store: &Store, ctx: &Ctx, access: &RecordAccess, id: NoteId, ch: NoteChanges) -> Result<NoteRecord, StoreError> {
    let mut tx = store.begin().await?;
    if status_of(&mut tx, access, id).await? == NoteStatus::Signed {
        return Err(StoreError::Conflict("this note is signed and cannot be changed; add an addendum instead".into()));
    }
    let key = data_key(store, &mut *tx, access.practice_id(), &access.client_id().to_string()).await?;
    let current = get_in(&mut tx, &key, access, id).await?;
    let body = ch.body.unwrap_or(current.body);
    let med = ch.medication_conversation.unwrap_or(current.medication_conversation);
    let sid = id.to_string();
    let (body_ct, med_ct) = seal_note(&key, &sid, &body, med.as_ref())?;
    let r = sqlx::query(
        "UPDATE notes SET body_ct = $1, medication_ct = $2, has_medication = $3, updated_at = $4 WHERE id = $5 AND status = 'draft'",
    )
    .bind(body_ct)
    .bind(med_ct)
    .bind(crate::flag(med.is_some()))
    .bind(ctx.ts())
    .bind(&sid)
    .execute(&mut *tx)
    .await?;
    if r.rows_affected() != 1 {
        return Err(StoreError::Conflict("this note is signed and cannot be changed; add an addendum instead".into()));
    }
    audit::append(&mut tx, &event(ctx, access, "note.update", Some(sid))).await?;
    let out = get_in(&mut tx, &key, access, id).await?;
    tx.commit().await?;
    Ok(out)
}

/// Signs a draft: from now on it is immutable. Signing a signed note is a Conflict.
pub async fn sign_note(store: &Store, ctx: &Ctx, access: &RecordAccess, id: NoteId) -> Result<NoteRecord, StoreError> {
    let mut tx = store.begin().await?;
    if status_of(&mut tx, access, id).await? == NoteStatus::Signed {
        return Err(StoreError::Conflict("this note is already signed".into()));
    }
    sqlx::query("UPDATE notes SET status = 'signed', signed_at = $1, signed_by = $2 WHERE id = $3 AND status = 'draft'")
        .bind(ctx.ts())
        .bind(access.actor().user_id.to_string())
        .bind(id.to_string())
        .execute(&mut *tx)
        .await?;
    audit::append(&mut tx, &event(ctx, access, "note.sign", Some(id.to_string()))).await?;
    let key = data_key(store, &mut *tx, access.practice_id(), &access.client_id().to_string()).await?;
    let out = get_in(&mut tx, &key, access, id).await?;
    tx.commit().await?;
    Ok(out)
}

/// Adds an addendum to a signed note (a draft is simply edited: Conflict).
pub async fn add_addendum(store: &Store, ctx: &Ctx, access: &RecordAccess, id: NoteId, body: &str) -> Result<AddendumId, StoreError> {
    let mut tx = store.begin().await?;
    if status_of(&mut tx, access, id).await? == NoteStatus::Draft {
        return Err(StoreError::Conflict("this note is still a draft: edit it instead of adding an addendum".into()));
    }
    let aid: AddendumId = ctx.new_id(AddendumId::new_at);
    let key = data_key(store, &mut *tx, access.practice_id(), &access.client_id().to_string()).await?;
    let ct = key.seal_str(body, &field_aad("note_addenda", "body_ct", &aid.to_string()))?;
    sqlx::query("INSERT INTO note_addenda (id, practice_id, client_id, note_id, body_ct, created_at, created_by) VALUES ($1, $2, $3, $4, $5, $6, $7)")
        .bind(aid.to_string())
        .bind(access.practice_id().to_string())
        .bind(access.client_id().to_string())
        .bind(id.to_string())
        .bind(ct)
        .bind(ctx.ts())
        .bind(access.actor().user_id.to_string())
        .execute(&mut *tx)
        .await?;
    let mut ev = event(ctx, access, "note.addendum", Some(id.to_string()));
    ev.detail = format!("{} addendum={aid}", ev.detail);
    audit::append(&mut tx, &ev).await?;
    tx.commit().await?;
    Ok(aid)
}

async fn get_in(tx: &mut Tx, key: &DataKey, access: &RecordAccess, id: NoteId) -> Result<NoteRecord, StoreError> {
    let r =
        sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {NOTE_COLS} FROM notes WHERE id = $1 AND client_id = $2 AND practice_id = $3")))
            .bind(id.to_string())
            .bind(access.client_id().to_string())
            .bind(access.practice_id().to_string())
            .fetch_optional(&mut **tx)
            .await?
            .ok_or(StoreError::NotFound)?;
    let mut note = note_from(key, &r)?;
    note.addenda = addenda_for(tx, key, access, &[id.to_string()]).await?.into_iter().map(|(_, a)| a).collect();
    Ok(note)
}

/// One note with its addenda (audited).
pub async fn get_note(store: &Store, ctx: &Ctx, access: &RecordAccess, id: NoteId) -> Result<NoteRecord, StoreError> {
    let mut tx = store.begin_read().await?;
    let key = data_key(store, &mut *tx, access.practice_id(), &access.client_id().to_string()).await?;
    let note = get_in(&mut tx, &key, access, id).await?;
    tx.commit().await?;
    store.audit_read(ctx, event(ctx, access, "note.read", Some(id.to_string()))).await?;
    Ok(note)
}

/// The client's notes, newest first, with addenda (audited).
pub async fn list_notes(store: &Store, ctx: &Ctx, access: &RecordAccess, scope: NoteScope) -> Result<Vec<NoteRecord>, StoreError> {
    let mut tx = store.begin_read().await?;
    let only_progress = scope == NoteScope::RecordOnly;
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {NOTE_COLS} FROM notes WHERE practice_id = $1 AND client_id = $2 AND ($3 = 0 OR kind = 'progress') ORDER BY note_date DESC, id DESC"
    )))
    .bind(access.practice_id().to_string())
    .bind(access.client_id().to_string())
    .bind(crate::flag(only_progress))
    .fetch_all(&mut *tx)
    .await?;
    let mut out = Vec::with_capacity(rows.len());
    if !rows.is_empty() {
        let key = data_key(store, &mut *tx, access.practice_id(), &access.client_id().to_string()).await?;
        for r in &rows {
            out.push(note_from(&key, r)?);
        }
        let ids: Vec<String> = out.iter().map(|n| n.id.to_string()).collect();
        for (note_id, a) in addenda_for(&mut tx, &key, access, &ids).await? {
            if let Some(n) = out.iter_mut().find(|n| n.id.to_string() == note_id) {
                n.addenda.push(a);
            }
        }
    }
    tx.commit().await?;
    let mut ev = event(ctx, access, "note.list", None);
    ev.detail = format!("{} count={} process_notes={}", ev.detail, out.len(), !only_progress);
    store.audit_read(ctx, ev).await?;
    Ok(out)
}

/// One line of the client record timeline.
#[derive(Debug, Clone, Serialize)]
pub struct TimelineItem {
    #[serde(skip)]
    pub at: i64,
    /// `medication_conversation`, `referral_offered`, `addendum`, `prompt_opened`,
    /// `prompt_deferred`, `prompt_reopened`, `prompt_resolved`.
    pub kind: String,
    pub summary: String,
    /// The documented words, where any (client's response, reasons, action taken, plan).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note_id: Option<NoteId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prompt_id: Option<PromptId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prompt_kind: Option<PromptKind>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub by: Option<UserId>,
}

fn response_label(r: &str) -> &'static str {
    match r {
        "discussed" => "discussed",
        "referral_offered" => "referral offered",
        "client_declined" => "client declined",
        "not_appropriate" => "not appropriate",
        _ => "deferred",
    }
}

/// The documentation a reviewer asks for, in date order: every medication conversation of a
/// progress note (with referral offered, response and plan), the addenda to those notes, and
/// every prompt's opening and outcome with its documented words. Never process notes.
pub async fn timeline(store: &Store, ctx: &Ctx, access: &RecordAccess) -> Result<Vec<TimelineItem>, StoreError> {
    let mut tx = store.begin_read().await?;
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {NOTE_COLS} FROM notes WHERE practice_id = $1 AND client_id = $2 AND kind = 'progress' AND has_medication = 1 ORDER BY note_date"
    )))
    .bind(access.practice_id().to_string())
    .bind(access.client_id().to_string())
    .fetch_all(&mut *tx)
    .await?;
    let mut items = Vec::new();
    if !rows.is_empty() {
        let key = data_key(store, &mut *tx, access.practice_id(), &access.client_id().to_string()).await?;
        let mut notes = Vec::new();
        for r in &rows {
            notes.push(note_from(&key, r)?);
        }
        let ids: Vec<String> = notes.iter().map(|n| n.id.to_string()).collect();
        for (note_id, a) in addenda_for(&mut tx, &key, access, &ids).await? {
            items.push(TimelineItem {
                at: a.created_at,
                kind: "addendum".into(),
                summary: "Addendum to a note with a medication conversation".into(),
                detail: Some(a.body),
                note_id: note_id.parse().ok(),
                prompt_id: None,
                prompt_kind: None,
                response: None,
                by: Some(a.created_by),
            });
        }
        for n in notes {
            let Some(m) = &n.medication_conversation else { continue };
            let mut parts = Vec::new();
            for (label, v) in [
                ("Hopes", &m.hopes),
                ("Concerns", &m.concerns),
                ("Information given", &m.information_given),
                ("Client's response", &m.client_response),
                ("Plan", &m.plan),
            ] {
                if let Some(v) = v {
                    parts.push(format!("{label}: {v}"));
                }
            }
            items.push(TimelineItem {
                at: n.note_date,
                kind: if m.referral_offered { "referral_offered".into() } else { "medication_conversation".into() },
                summary: format!("{}{}", m.summary(), if n.status == NoteStatus::Draft { " (draft note)" } else { "" }),
                detail: (!parts.is_empty()).then(|| parts.join("\n")),
                note_id: Some(n.id),
                prompt_id: None,
                prompt_kind: None,
                response: None,
                by: Some(n.created_by),
            });
        }
    }
    tx.commit().await?;
    for e in crate::prompts::prompt_events(store, access).await? {
        let (kind, summary) = match e.event.as_str() {
            "opened" => ("prompt_opened", format!("Prompt raised: {}", e.kind.label())),
            "deferred" => ("prompt_deferred", format!("Prompt deferred: {}", e.kind.label())),
            "reopened" => ("prompt_reopened", format!("Prompt reopened: {}", e.kind.label())),
            _ => (
                "prompt_resolved",
                format!("Prompt resolved ({}): {}", response_label(e.response.as_deref().unwrap_or("")), e.kind.label()),
            ),
        };
        let mut detail = Vec::new();
        if let Some(t) = &e.detail.referred_to {
            detail.push(format!("Referred to: {t}"));
        }
        if let Some(a) = &e.detail.action {
            detail.push(format!("Action taken: {a}"));
        }
        if let Some(n) = &e.detail.note {
            detail.push(n.clone());
        }
        items.push(TimelineItem {
            at: e.at,
            kind: kind.into(),
            summary,
            detail: (!detail.is_empty()).then(|| detail.join("\n")),
            note_id: None,
            prompt_id: Some(e.prompt_id),
            prompt_kind: Some(e.kind),
            response: e.response,
            by: e.actor_id,
        });
    }
    items.sort_by_key(|i| i.at);
    let mut ev = event(ctx, access, "timeline.read", None);
    ev.record_kind = "timeline";
    ev.detail = format!("{} items={}", ev.detail, items.len());
    store.audit_read(ctx, ev).await?;
    Ok(items)
}
