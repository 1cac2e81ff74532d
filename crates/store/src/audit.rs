//! The audit chain: every read and write of client data and every security event appends an
//! entry, in the same transaction as the change it records.
//!
//! Each practice has its own chain (the `system` chain holds events with no practice, such as
//! a failed login for an unknown address). Entry n stores the SHA-256 of its own fields and of
//! entry n-1's hash; `audit_head` stores the last sequence number and hash. Editing, deleting or
//! reordering any entry breaks a hash, a sequence number or the head, and `verify` says where.
//!
//! Security Invariant: audit entries carry ids and kinds, never client names or free text.

use crate::{StoreError, Tx};
use serde::Serialize;
use sha2::{Digest, Sha256};
use sqlx::{AnyPool, Row};

pub const SYSTEM_CHAIN: &str = "system";
const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// One event to record. `detail` is a short machine-readable note (no client data).
#[derive(Debug, Clone, Serialize)]
pub struct AuditEvent {
    pub practice_id: String,
    pub actor_id: Option<String>,
    pub action: &'static str,
    pub record_kind: &'static str,
    pub record_id: Option<String>,
    pub client_id: Option<String>,
    pub request_id: String,
    pub detail: String,
    pub at: i64,
}

fn entry_hash(seq: i64, prev_hash: &str, e: &EntryFields<'_>) -> String {
    // A JSON array is an unambiguous encoding of the fields.
    let canonical = serde_json::json!([
        "concord-audit-v1",
        e.practice_id,
        seq,
        e.at,
        e.actor_id,
        e.action,
        e.record_kind,
        e.record_id,
        e.client_id,
        e.request_id,
        e.detail,
        prev_hash
    ]);
    hex::encode(Sha256::digest(canonical.to_string().as_bytes()))
}

struct EntryFields<'a> {
    practice_id: &'a str,
    at: i64,
    actor_id: Option<&'a str>,
    action: &'a str,
    record_kind: &'a str,
    record_id: Option<&'a str>,
    client_id: Option<&'a str>,
    request_id: &'a str,
    detail: &'a str,
}

/// Appends one entry inside the caller's transaction (see [`append_many`]).
pub async fn append(tx: &mut Tx, e: &AuditEvent) -> Result<(), StoreError> {
    append_many(tx, std::iter::once(e)).await.map(drop)
}

/// Most entries per multi-row INSERT (12 values each: well under both engines' bind limits).
const INSERT_CHUNK: usize = 128;

/// A chain's last entry: its sequence number and hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    pub seq: i64,
    pub hash: String,
}

/// An entry linked onto its chain: (entry, seq, prev hash, hash).
type Linked<'a> = (&'a AuditEvent, i64, String, String);

/// Links `e` after `head` and moves `head` onto it.
fn link<'a>(head: &mut Head, e: &'a AuditEvent) -> Linked<'a> {
    let seq = head.seq + 1;
    let prev = std::mem::take(&mut head.hash);
    let hash = entry_hash(seq, &prev, &fields_of(e));
    head.seq = seq;
    head.hash.clone_from(&hash);
    (e, seq, prev, hash)
}

/// Binds a linked entry's 12 values, in [`COLUMNS`] order.
fn bind_entry<'q>(
    q: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments>,
    (e, seq, prev, hash): &'q Linked<'q>,
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments> {
    q.bind(&e.practice_id)
        .bind(*seq)
        .bind(e.at)
        .bind(e.actor_id.as_deref())
        .bind(e.action)
        .bind(e.record_kind)
        .bind(e.record_id.as_deref())
        .bind(e.client_id.as_deref())
        .bind(&e.request_id)
        .bind(&e.detail)
        .bind(prev)
        .bind(hash)
}

const COLUMNS: &str = "practice_id, seq, at, actor_id, action, record_kind, record_id, client_id, request_id, detail, prev_hash, hash";

/// Appends entries inside the caller's transaction, in order. Each chain's head is locked (its
/// row lock serialises appends to a chain on both engines), read and moved once, and the
/// entries are written with multi-row INSERTs: a write's own entry and the reads queued before
/// it cost a handful of statements, however many there are. Returns each chain's new head,
/// valid once the transaction commits.
pub async fn append_many<'a>(tx: &mut Tx, events: impl Iterator<Item = &'a AuditEvent>) -> Result<Vec<(String, Head)>, StoreError> {
    let mut heads: Vec<(String, Head)> = Vec::new();
    let mut rows: Vec<Linked<'a>> = Vec::new();
    for e in events {
        let idx = match heads.iter().position(|h| h.0 == e.practice_id) {
            Some(i) => i,
            None => {
                let head = lock_head(tx, &e.practice_id).await?;
                heads.push((e.practice_id.clone(), head));
                heads.len() - 1
            }
        };
        let Some((_, head)) = heads.get_mut(idx) else { continue };
        rows.push(link(head, e));
    }
    for chunk in crate::pow2_chunks(&rows, INSERT_CHUNK) {
        let sql = format!("INSERT INTO audit_log ({COLUMNS}) VALUES {}", crate::values_list(tx.engine(), chunk.len(), 12));
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for row in chunk {
            q = bind_entry(q, row);
        }
        q.execute(&mut **tx).await?;
    }
    for (practice, head) in &heads {
        sqlx::query("UPDATE audit_head SET seq = $1, hash = $2 WHERE practice_id = $3")
            .bind(head.seq)
            .bind(&head.hash)
            .bind(practice)
            .execute(&mut **tx)
            .await?;
    }
    Ok(heads)
}

/// Most entries [`append_at_head`] writes in its one statement (12 values each).
pub(crate) const AT_HEAD_MAX: usize = 256;

/// Appends entries of one chain (`practice_id`'s, 1 to [`AT_HEAD_MAX`] of them) in a single
/// statement of its own, provided the chain's head is still `head`: the head moves in a
/// data-modifying WITH that matches only that head, and the entries are inserted only if it
/// moved. PostgreSQL only (SQLite has no data-modifying WITH). Returns the new head, or `None`
/// when the head was elsewhere (another writer appended since) and nothing was written.
///
/// Why: a batch of read entries on the locking path ([`append_many`] in a transaction) costs
/// five round trips, each waiting for the batch's task to be scheduled again; under load every
/// request waits on that batch. One statement costs one. The entries go in a VALUES list padded
/// with NULL rows to a power of two, which the statement skips, so each connection prepares a
/// few texts and keeps them.
pub(crate) async fn append_at_head(
    pool: &AnyPool,
    practice_id: &str,
    head: &Head,
    events: &[&AuditEvent],
) -> Result<Option<Head>, StoreError> {
    if events.is_empty() || events.len() > AT_HEAD_MAX || events.iter().any(|e| e.practice_id != practice_id) {
        return Err(StoreError::Invalid(format!("append_at_head takes 1 to {AT_HEAD_MAX} entries of one chain")));
    }
    let mut next = head.clone();
    let rows: Vec<Linked<'_>> = events.iter().map(|e| link(&mut next, e)).collect();
    let padded = rows.len().next_power_of_two();
    let n = padded * 12;
    // Columns of a VALUES list are column1, column2, … on both engines.
    let values: Vec<String> = (1..=12).map(|c| format!("v.column{c}")).collect();
    let sql = format!(
        "WITH moved AS (UPDATE audit_head SET seq = ${}, hash = ${} WHERE practice_id = ${} AND seq = ${} AND hash = ${} RETURNING 1) \
         INSERT INTO audit_log ({COLUMNS}) SELECT {} FROM (VALUES {}) AS v WHERE v.column1 IS NOT NULL AND EXISTS (SELECT 1 FROM moved)",
        n + 1,
        n + 2,
        n + 3,
        n + 4,
        n + 5,
        values.join(", "),
        crate::values_list(crate::Engine::Postgres, padded, 12)
    );
    // Audited: the only dynamic parts are numbered placeholders.
    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
    for row in &rows {
        q = bind_entry(q, row);
    }
    for _ in rows.len()..padded {
        let (text, int) = (None::<&str>, None::<i64>);
        q = q
            .bind(text)
            .bind(int)
            .bind(int)
            .bind(text)
            .bind(text)
            .bind(text)
            .bind(text)
            .bind(text)
            .bind(text)
            .bind(text)
            .bind(text)
            .bind(text);
    }
    let written = q.bind(next.seq).bind(&next.hash).bind(practice_id).bind(head.seq).bind(&head.hash).execute(pool).await?.rows_affected();
    match usize::try_from(written) {
        Ok(0) => Ok(None),
        Ok(w) if w == rows.len() => Ok(Some(next)),
        _ => Err(StoreError::Invalid(format!("the audit append wrote {written} of {} entries", rows.len()))),
    }
}

/// Locks a chain's head and returns its last sequence number and hash, starting the chain at
/// the genesis hash the first time. The no-op UPDATE takes the row lock before the read.
async fn lock_head(tx: &mut Tx, practice_id: &str) -> Result<Head, StoreError> {
    let lock = || sqlx::query("UPDATE audit_head SET seq = seq WHERE practice_id = $1 RETURNING seq, hash").bind(practice_id);
    let row = match lock().fetch_optional(&mut **tx).await? {
        Some(row) => row,
        None => {
            sqlx::query("INSERT INTO audit_head (practice_id, seq, hash) VALUES ($1, 0, $2) ON CONFLICT (practice_id) DO NOTHING")
                .bind(practice_id)
                .bind(GENESIS)
                .execute(&mut **tx)
                .await?;
            lock().fetch_one(&mut **tx).await?
        }
    };
    Ok(Head { seq: row.try_get("seq")?, hash: row.try_get("hash")? })
}

fn fields_of(e: &AuditEvent) -> EntryFields<'_> {
    EntryFields {
        practice_id: &e.practice_id,
        at: e.at,
        actor_id: e.actor_id.as_deref(),
        action: e.action,
        record_kind: e.record_kind,
        record_id: e.record_id.as_deref(),
        client_id: e.client_id.as_deref(),
        request_id: &e.request_id,
        detail: &e.detail,
    }
}

/// The first place a chain is broken.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChainBreak {
    pub practice_id: String,
    pub seq: i64,
    pub reason: String,
}

impl std::fmt::Display for ChainBreak {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "audit chain {} broken at entry {}: {}", self.practice_id, self.seq, self.reason)
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct VerifyReport {
    pub chains: usize,
    pub entries: u64,
    pub first_break: Option<ChainBreak>,
}

/// Walks every chain from its first entry and checks sequence, links, hashes and head.
pub async fn verify(pool: &AnyPool) -> Result<VerifyReport, StoreError> {
    let mut chains: Vec<String> = sqlx::query("SELECT practice_id FROM audit_head UNION SELECT DISTINCT practice_id FROM audit_log")
        .fetch_all(pool)
        .await?
        .iter()
        .map(|r| r.try_get::<String, _>(0))
        .collect::<Result<_, _>>()?;
    chains.sort();
    let mut entries = 0u64;
    for chain in &chains {
        let broken = |seq: i64, reason: &str| ChainBreak { practice_id: chain.clone(), seq, reason: reason.to_owned() };
        let rows = sqlx::query(
            "SELECT seq, at, actor_id, action, record_kind, record_id, client_id, request_id, detail, prev_hash, hash \
             FROM audit_log WHERE practice_id = $1 ORDER BY seq",
        )
        .bind(chain)
        .fetch_all(pool)
        .await?;
        let mut expected_seq = 1i64;
        let mut prev = GENESIS.to_owned();
        for r in &rows {
            entries += 1;
            let seq: i64 = r.try_get("seq")?;
            if seq != expected_seq {
                return Ok(VerifyReport {
                    chains: chains.len(),
                    entries,
                    first_break: Some(broken(expected_seq, "entry missing (sequence gap)")),
                });
            }
            let actor_id: Option<String> = r.try_get("actor_id")?;
            let record_id: Option<String> = r.try_get("record_id")?;
            let client_id: Option<String> = r.try_get("client_id")?;
            let action: String = r.try_get("action")?;
            let record_kind: String = r.try_get("record_kind")?;
            let request_id: String = r.try_get("request_id")?;
            let detail: String = r.try_get("detail")?;
            let stored_prev: String = r.try_get("prev_hash")?;
            let stored_hash: String = r.try_get("hash")?;
            if stored_prev != prev {
                return Ok(VerifyReport {
                    chains: chains.len(),
                    entries,
                    first_break: Some(broken(seq, "link to the previous entry does not match (entry deleted, inserted or reordered)")),
                });
            }
            let fields = EntryFields {
                practice_id: chain,
                at: r.try_get("at")?,
                actor_id: actor_id.as_deref(),
                action: &action,
                record_kind: &record_kind,
                record_id: record_id.as_deref(),
                client_id: client_id.as_deref(),
                request_id: &request_id,
                detail: &detail,
            };
            if entry_hash(seq, &prev, &fields) != stored_hash {
                return Ok(VerifyReport {
                    chains: chains.len(),
                    entries,
                    first_break: Some(broken(seq, "entry was edited (hash does not match its contents)")),
                });
            }
            prev = stored_hash;
            expected_seq += 1;
        }
        let head = sqlx::query("SELECT seq, hash FROM audit_head WHERE practice_id = $1").bind(chain).fetch_optional(pool).await?;
        let last_seq = expected_seq - 1;
        match head {
            Some(h) => {
                let hseq: i64 = h.try_get("seq")?;
                let hhash: String = h.try_get("hash")?;
                if hseq != last_seq || hhash != prev {
                    return Ok(VerifyReport {
                        chains: chains.len(),
                        entries,
                        first_break: Some(broken(
                            hseq.max(last_seq),
                            "the chain ends early (latest entries deleted) or the head was changed",
                        )),
                    });
                }
            }
            None => {
                return Ok(VerifyReport { chains: chains.len(), entries, first_break: Some(broken(last_seq, "chain head missing")) });
            }
        }
    }
    Ok(VerifyReport { chains: chains.len(), entries, first_break: None })
}

/// One entry as the admin page shows it.
#[derive(Debug, Clone, Serialize)]
pub struct AuditEntry {
    pub seq: i64,
    pub at: i64,
    pub actor_id: Option<String>,
    pub actor_name: Option<String>,
    pub action: String,
    pub record_kind: String,
    pub record_id: Option<String>,
    pub client_id: Option<String>,
    pub request_id: String,
    pub detail: String,
}

#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub actor_id: Option<String>,
    pub action: Option<String>,
    pub client_id: Option<String>,
    /// Only entries older than this sequence number (paging backwards).
    pub before_seq: Option<i64>,
    pub limit: i64,
}

/// Lists a practice's entries, newest first. Filters bind as parameters (never spliced).
pub async fn list(pool: &AnyPool, practice_id: &str, f: &AuditFilter) -> Result<Vec<AuditEntry>, StoreError> {
    let rows = sqlx::query(
        "SELECT a.seq, a.at, a.actor_id, u.name AS actor_name, a.action, a.record_kind, a.record_id, a.client_id, a.request_id, a.detail \
         FROM audit_log a LEFT JOIN users u ON u.id = a.actor_id \
         WHERE a.practice_id = $1 AND ($2 IS NULL OR a.actor_id = $2) AND ($3 IS NULL OR a.action = $3) AND ($4 IS NULL OR a.client_id = $4) AND ($6 IS NULL OR a.seq < $6) \
         ORDER BY a.seq DESC LIMIT $5",
    )
    .bind(practice_id)
    .bind(f.actor_id.as_deref())
    .bind(f.action.as_deref())
    .bind(f.client_id.as_deref())
    .bind(f.limit.clamp(1, 1000))
    .bind(f.before_seq)
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(AuditEntry {
                seq: r.try_get("seq")?,
                at: r.try_get("at")?,
                actor_id: r.try_get("actor_id")?,
                actor_name: r.try_get("actor_name")?,
                action: r.try_get("action")?,
                record_kind: r.try_get("record_kind")?,
                record_id: r.try_get("record_id")?,
                client_id: r.try_get("client_id")?,
                request_id: r.try_get("request_id")?,
                detail: r.try_get("detail")?,
            })
        })
        .collect()
}
