//! The practice's conversation guide: its edits to the shipped phrasings and its own entries
//! (`concord_domain::prompts::guide`). Practice text, not client data; changes are audited
//! (`guide.save`).

use crate::{Ctx, Store, StoreError, audit};
use concord_domain::ids::{GuideEntryId, PracticeId};
use concord_domain::policy::PracticeAdminAccess;
use concord_domain::prompts::guide::{GuideEntry, PracticeEntry, Situation, merged};
use sqlx::Row;

/// Longest title and body of an entry, in characters.
pub const TITLE_MAX: usize = 200;
pub const BODY_MAX: usize = 4_000;

/// The practice's guide (shipped entries with its edits, then its own).
pub async fn practice_guide(store: &Store, practice_id: PracticeId) -> Result<Vec<GuideEntry>, StoreError> {
    let rows =
        sqlx::query("SELECT entry_key, situation, title, body, hidden FROM guide_entries WHERE practice_id = $1 ORDER BY updated_at")
            .bind(practice_id.to_string())
            .fetch_all(store.reads())
            .await?;
    let mut entries = Vec::with_capacity(rows.len());
    for r in &rows {
        entries.push(PracticeEntry {
            key: r.try_get("entry_key")?,
            situation: Situation::parse(&r.try_get::<String, _>("situation")?)
                .ok_or_else(|| StoreError::Invalid("corrupt guide entry situation".into()))?,
            title: r.try_get("title")?,
            body: r.try_get("body")?,
            hidden: r.try_get::<i64, _>("hidden")? != 0,
        });
    }
    Ok(merged(&entries))
}

/// A practice's edit: `key` names a shipped entry (or an earlier edit) to replace, or is
/// `None` for a new entry; `hidden` removes the entry from the practice's guide.
#[derive(Debug, Clone, Copy)]
pub struct GuideEdit<'a> {
    pub key: Option<&'a str>,
    pub situation: Situation,
    pub title: &'a str,
    pub body: &'a str,
    pub hidden: bool,
}

/// Saves an entry; returns its key.
pub async fn save_entry(store: &Store, ctx: &Ctx, access: &PracticeAdminAccess, edit: GuideEdit<'_>) -> Result<String, StoreError> {
    let GuideEdit { key, situation, title, body, hidden } = edit;
    let (title, body) = (title.trim(), body.trim());
    if !hidden && (title.is_empty() || body.is_empty()) {
        return Err(StoreError::Invalid("an entry needs a title and at least one phrasing".into()));
    }
    if title.chars().count() > TITLE_MAX || body.chars().count() > BODY_MAX {
        return Err(StoreError::Invalid(format!("the title must be at most {TITLE_MAX} characters and the phrasings at most {BODY_MAX}")));
    }
    let id: GuideEntryId = ctx.new_id(GuideEntryId::new_at);
    let key = match key {
        Some(k) if !k.trim().is_empty() => k.trim().to_owned(),
        _ => format!("practice-{id}"),
    };
    if key.len() > 100 || !key.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
        return Err(StoreError::Invalid("an entry key is letters, digits, - and _ (at most 100)".into()));
    }
    let mut tx = store.begin().await?;
    sqlx::query(
        "INSERT INTO guide_entries (id, practice_id, entry_key, situation, title, body, hidden, updated_at, updated_by) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
         ON CONFLICT (practice_id, entry_key) DO UPDATE SET situation = excluded.situation, title = excluded.title, body = excluded.body, \
           hidden = excluded.hidden, updated_at = excluded.updated_at, updated_by = excluded.updated_by",
    )
    .bind(id.to_string())
    .bind(access.practice_id().to_string())
    .bind(&key)
    .bind(situation.as_str())
    .bind(title)
    .bind(body)
    .bind(crate::flag(hidden))
    .bind(ctx.ts())
    .bind(access.actor().user_id.to_string())
    .execute(&mut *tx)
    .await?;
    let mut ev = ctx.event(Some(&access.actor()), &access.practice_id().to_string(), "guide.save", "guide_entry");
    ev.record_id = Some(key.clone());
    ev.detail = format!("hidden={hidden}");
    audit::append(&mut tx, &ev).await?;
    tx.commit().await?;
    Ok(key)
}
