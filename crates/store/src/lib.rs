//! Concord's persistence: one schema on SQLite (embedded default) or PostgreSQL, migrations per
//! engine, repositories, field encryption and the audit chain.
//!
//! Security Invariant: functions that read or write client data take an access decision from
//! `concord_domain::policy` (which only the policy can create) and append an audit entry in the
//! same transaction. Not-found and forbidden are the same `StoreError::NotFound`.

pub mod accounts;
pub mod audit;
pub mod clients;
pub mod crypto;
pub mod db;
pub mod decisions;
pub mod guide;
pub mod library;
pub mod measures;
pub mod notes;
pub mod passwords;
pub mod prompts;
pub mod readers;
pub mod safety_plans;
pub mod transcripts;

use concord_domain::policy::Actor;
use crypto::PracticeKey;
use rand::RngCore;
use sqlx::AnyPool;
use std::sync::{Arc, Mutex};
use time::OffsetDateTime;

pub use db::Engine;

/// A transaction. A write transaction on SQLite also holds the store's in-process write lock
/// until it commits or is dropped, so writers queue on an async mutex instead of on SQLite's
/// busy handler (which sleeps for milliseconds at a time and ruins tail latency).
/// It dereferences to the connection, like `sqlx::Transaction`.
pub struct Tx {
    inner: sqlx::Transaction<'static, sqlx::Any>,
    engine: Engine,
    // Declared after `inner`: on drop, the transaction goes first, then the lock.
    _write: Option<tokio::sync::OwnedMutexGuard<()>>,
}

impl Tx {
    pub fn engine(&self) -> Engine {
        self.engine
    }
    pub async fn commit(self) -> Result<(), sqlx::Error> {
        self.inner.commit().await
    }
    pub async fn rollback(self) -> Result<(), sqlx::Error> {
        self.inner.rollback().await
    }
}

impl std::ops::Deref for Tx {
    type Target = sqlx::AnyConnection;
    fn deref(&self) -> &Self::Target {
        &self.inner
    }
}

impl std::ops::DerefMut for Tx {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.inner
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Absent, or present but not the caller's to see: deliberately one variant.
    #[error("not found")]
    NotFound,
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Invalid(String),
    /// A portal submission of a questionnaire the client is not (or no longer) asked to
    /// complete: no active schedule for it.
    #[error("this questionnaire has not been assigned to you")]
    NotAssigned,
    #[error("{0}")]
    Config(String),
    #[error("{0}")]
    Unavailable(String),
    #[error(transparent)]
    Crypto(#[from] crypto::CryptoError),
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
}

impl StoreError {
    /// A unique-constraint violation, reported as a conflict with a readable message.
    fn unique_or(e: sqlx::Error, what: &str) -> Self {
        match &e {
            sqlx::Error::Database(d) if d.is_unique_violation() => StoreError::Conflict(format!("{what} already exists")),
            _ => StoreError::Db(e),
        }
    }
}

/// The audit entries of one request's reads, committed together before the response leaves
/// (`Store::flush_audit_queue`), so reads never take the write lock one by one.
#[derive(Debug, Clone, Default)]
pub struct AuditQueue(Arc<Mutex<Vec<audit::AuditEvent>>>);

impl AuditQueue {
    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<audit::AuditEvent>> {
        match self.0.lock() {
            Ok(q) => q,
            Err(poisoned) => poisoned.into_inner(),
        }
    }
    fn push(&self, ev: audit::AuditEvent) {
        self.lock().push(ev);
    }
    fn take(&self) -> Vec<audit::AuditEvent> {
        std::mem::take(&mut *self.lock())
    }
    fn peek(&self) -> Vec<audit::AuditEvent> {
        self.lock().clone()
    }
    /// Forgets the first `n` entries (those a write's transaction has just committed).
    fn drop_first(&self, n: usize) {
        let mut q = self.lock();
        let n = n.min(q.len());
        q.drain(..n);
    }
}

/// One write handed to the group commit (see [`Store::write_grouped`]).
pub(crate) enum GroupedWrite {
    /// A completed questionnaire, answered once committed with what was stored.
    Response(Box<measures::ResponseWrite>),
    /// A request's queued read audit entries.
    Audit(Vec<audit::AuditEvent>, tokio::sync::oneshot::Sender<Result<(), StoreError>>),
}

/// Group commit: concurrent writes hand themselves to whichever of them holds `leader`, which
/// stores everyone's pending writes in one transaction with a few multi-row statements, commits
/// once and answers each. Every writer still waits for its own durable commit; one fsync
/// (SQLite) or WAL flush (PostgreSQL) and a handful of statements serve them all.
#[derive(Default)]
struct WriteBatcher {
    leader: tokio::sync::Mutex<()>,
    pending: Mutex<Vec<GroupedWrite>>,
    /// Each audit chain's head as this process's batches last left it: a hint that lets a
    /// batch of read entries on PostgreSQL append in one statement (`audit::append_at_head`,
    /// which checks it). Wrong only after another writer appended, which costs a fallback.
    heads: Mutex<std::collections::HashMap<String, audit::Head>>,
}

/// Per-request context: who asked (for the audit entry), under which request id, and when.
#[derive(Debug, Clone)]
pub struct Ctx {
    pub request_id: String,
    pub now: OffsetDateTime,
    /// Where reads queue their audit entries; `None` audits each read at once.
    queue: Option<AuditQueue>,
    /// The version of a practice's instrument definitions, as read with what authenticated the
    /// request (session, token, portal session): lets the registry come from memory.
    definitions: std::sync::OnceLock<(concord_domain::ids::PracticeId, i64)>,
    /// Set once this request has changed the definitions: the version it read is then stale.
    changed_definitions: std::sync::OnceLock<()>,
}

impl Ctx {
    /// A context whose reads are audited at once, each in its own transaction (CLI, tests).
    pub fn new(request_id: impl Into<String>, now: OffsetDateTime) -> Self {
        Self { request_id: request_id.into(), now, queue: None, definitions: Default::default(), changed_definitions: Default::default() }
    }

    /// A context whose reads queue their audit entries on `queue`. Architecture Invariant: the
    /// caller flushes the queue (`Store::flush_audit_queue`) before any data read leaves; the
    /// web layer's middleware does so for every request.
    pub fn with_queue(request_id: impl Into<String>, now: OffsetDateTime, queue: AuditQueue) -> Self {
        Self {
            request_id: request_id.into(),
            now,
            queue: Some(queue),
            definitions: Default::default(),
            changed_definitions: Default::default(),
        }
    }

    /// Notes the practice's definitions version read while authenticating (the first one wins:
    /// a request has one caller).
    pub(crate) fn saw_definitions_version(&self, practice: concord_domain::ids::PracticeId, version: i64) {
        let _ = self.definitions.set((practice, version));
    }

    /// Marks the version read as stale: this request imported a definition.
    pub(crate) fn changed_definitions(&self) {
        let _ = self.changed_definitions.set(());
    }

    /// The practice's definitions version if this request read it (and has not changed them).
    pub(crate) fn definitions_version(&self, practice: concord_domain::ids::PracticeId) -> Option<i64> {
        if self.changed_definitions.get().is_some() {
            return None;
        }
        self.definitions.get().filter(|(p, _)| *p == practice).map(|(_, v)| *v)
    }

    pub fn ts(&self) -> i64 {
        self.now.unix_timestamp()
    }

    fn millis(&self) -> u64 {
        u64::try_from(self.now.unix_timestamp_nanos() / 1_000_000).unwrap_or(0)
    }

    /// A fresh UUIDv7-based id stamped with this request's time.
    pub fn new_id<T>(&self, make: fn(u64, [u8; 10]) -> T) -> T {
        let mut r = [0u8; 10];
        rand::rngs::OsRng.fill_bytes(&mut r);
        make(self.millis(), r)
    }
    pub(crate) fn event(
        &self,
        actor: Option<&Actor>,
        practice_id: &str,
        action: &'static str,
        record_kind: &'static str,
    ) -> audit::AuditEvent {
        audit::AuditEvent {
            practice_id: practice_id.to_owned(),
            actor_id: actor.map(|a| a.user_id.to_string()),
            action,
            record_kind,
            record_id: None,
            client_id: None,
            request_id: self.request_id.clone(),
            detail: String::new(),
            at: self.ts(),
        }
    }
}

impl WriteBatcher {
    fn pending_lock(&self) -> std::sync::MutexGuard<'_, Vec<GroupedWrite>> {
        match self.pending.lock() {
            Ok(q) => q,
            Err(poisoned) => poisoned.into_inner(),
        }
    }
    fn heads_lock(&self) -> std::sync::MutexGuard<'_, std::collections::HashMap<String, audit::Head>> {
        match self.heads.lock() {
            Ok(h) => h,
            Err(poisoned) => poisoned.into_inner(),
        }
    }
}

/// The store: a pool, its engine, and the practice key.
#[derive(Clone)]
pub struct Store {
    pool: AnyPool,
    /// Connections for reads outside transactions, returned without sqlx's ping.
    readers: readers::Readers,
    /// Each practice's instrument registry at the definitions version it was read at.
    registries: Arc<measures::Registries>,
    engine: Engine,
    key: Arc<PracticeKey>,
    /// SQLite's single writer, taken in process before `BEGIN IMMEDIATE` (unused on PostgreSQL).
    write_lock: Arc<tokio::sync::Mutex<()>>,
    writes: Arc<WriteBatcher>,
    /// SQLite only: copies WAL frames into the database file off the commit path.
    checkpointer: Option<Arc<db::Checkpointer>>,
    /// Sessions and tokens whose last-used time a request is writing now (`accounts`).
    touching: Arc<Mutex<std::collections::HashSet<String>>>,
}

/// A request's claim to write one session's or token's last-used time; released when dropped.
pub(crate) struct Touch {
    touching: Arc<Mutex<std::collections::HashSet<String>>>,
    key: String,
}

impl Drop for Touch {
    fn drop(&mut self) {
        if let Ok(mut t) = self.touching.lock() {
            t.remove(&self.key);
        }
    }
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("engine", &self.engine).finish_non_exhaustive()
    }
}

impl Store {
    /// Connects, verifies durability settings, migrates, and checks the key fits the data.
    pub async fn open(url: &str, key: PracticeKey) -> Result<Self, StoreError> {
        let (pool, engine) = db::connect(url).await?;
        let checkpointer = match engine {
            Engine::Sqlite => Some(Arc::new(db::Checkpointer::start(url).await?)),
            Engine::Postgres => None,
        };
        let readers = readers::Readers::new(url, engine, db::pool_size(engine) as usize);
        let store = Self {
            pool,
            readers,
            registries: Arc::default(),
            engine,
            key: Arc::new(key),
            write_lock: Arc::default(),
            writes: Arc::default(),
            checkpointer,
            touching: Arc::default(),
        };
        accounts::check_practice_keys(&store).await?;
        Ok(store)
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }
    /// For a read outside a transaction: `query.fetch_all(store.reads())`, or `acquire` one
    /// connection for a few statements.
    pub fn reads(&self) -> &readers::Readers {
        &self.readers
    }
    pub(crate) fn registries(&self) -> &measures::Registries {
        &self.registries
    }
    pub fn engine(&self) -> Engine {
        self.engine
    }
    pub fn key(&self) -> &PracticeKey {
        &self.key
    }
    /// The claim to write the last-used time of `key` (a session or a token), unless another
    /// request of this process holds it now: then that request writes it, and this one goes on
    /// without (a busy session's requests once all queued on that row, one durable commit
    /// after another).
    pub(crate) fn claim_touch(&self, key: String) -> Option<Touch> {
        let mut t = self.touching.lock().ok()?;
        t.insert(key.clone()).then(|| Touch { touching: Arc::clone(&self.touching), key })
    }

    /// A write transaction. On SQLite it takes the write lock up front (BEGIN IMMEDIATE) so
    /// two writers queue on the busy timeout instead of failing on a lock upgrade.
    pub async fn begin(&self) -> Result<Tx, StoreError> {
        Ok(match self.engine {
            Engine::Sqlite => {
                let guard = self.write_lock.clone().lock_owned().await;
                Tx { inner: self.pool.begin_with("BEGIN IMMEDIATE").await?, engine: self.engine, _write: Some(guard) }
            }
            Engine::Postgres => Tx { inner: self.pool.begin().await?, engine: self.engine, _write: None },
        })
    }

    /// A read transaction: a consistent snapshot without the write lock (reads defer their
    /// audit entries to `flush_audit`), for reads of more than one statement. A single
    /// statement is consistent on its own: it goes to the pool, sparing the BEGIN and COMMIT
    /// round trips.
    pub async fn begin_read(&self) -> Result<Tx, StoreError> {
        Ok(Tx { inner: self.pool.begin().await?, engine: self.engine, _write: None })
    }

    /// The audit entries `ctx`'s request has queued so far (its reads, its API token use): a
    /// write commits them with its own entry, so a write request costs one durable commit. Pass
    /// their number to [`Store::forget_queued`] once committed; until then they stay queued for
    /// the request's final flush.
    pub(crate) fn queued(ctx: &Ctx) -> Vec<audit::AuditEvent> {
        ctx.queue.as_ref().map(AuditQueue::peek).unwrap_or_default()
    }

    /// Takes `appended` queued entries off the queue once the write that appended them has
    /// committed.
    pub(crate) fn forget_queued(ctx: &Ctx, appended: usize) {
        if let Some(q) = &ctx.queue {
            q.drop_first(appended);
        }
    }

    /// Audits a read: queued when the context has a queue, else committed at once.
    pub(crate) async fn audit_read(&self, ctx: &Ctx, ev: audit::AuditEvent) -> Result<(), StoreError> {
        if let Some(q) = &ctx.queue {
            q.push(ev);
            return Ok(());
        }
        let mut tx = self.begin().await?;
        audit::append(&mut tx, &ev).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Commits the queued audit entries of a request's reads (grouped with concurrent writes).
    pub async fn flush_audit_queue(&self, queue: &AuditQueue) -> Result<(), StoreError> {
        let events = queue.take();
        if events.is_empty() {
            return Ok(());
        }
        let (reply, answer) = tokio::sync::oneshot::channel();
        self.write_grouped(GroupedWrite::Audit(events, reply), answer)
            .await
            .unwrap_or_else(|_| Err(StoreError::Unavailable("the audit entries could not be committed".into())))
    }

    /// Group commit: queues `write` and waits for its answer (`answer`, the receiving end of the
    /// sender it carries). Until the answer comes, it waits to lead: the leader takes every write
    /// queued so far and runs them in one write transaction, which answers each once committed
    /// durably, or failed. A write answered while it waits to lead never leads: if every writer
    /// took its turn, a batch's writers would wait behind each other's turns and batches would
    /// stay small under load.
    pub(crate) async fn write_grouped<T>(
        &self,
        write: GroupedWrite,
        mut answer: tokio::sync::oneshot::Receiver<T>,
    ) -> Result<T, tokio::sync::oneshot::error::RecvError> {
        self.writes.pending_lock().push(write);
        loop {
            tokio::select! {
                biased;
                answered = &mut answer => return answered,
                _leader = self.writes.leader.lock() => {
                    let batch = std::mem::take(&mut *self.writes.pending_lock());
                    if !batch.is_empty() {
                        // A task of its own: if this request is dropped (client gone, timeout),
                        // the writes it carries for the others still run and commit.
                        let store = self.clone();
                        let _ = tokio::spawn(async move { store.run_grouped(batch).await }).await;
                    }
                }
            }
        }
    }

    /// One transaction for a batch of grouped writes. A refused write (archived client, reused
    /// idempotency key) is answered with its refusal and touches nothing; a database error fails
    /// the whole batch, and every write in it is told so.
    async fn run_grouped(&self, batch: Vec<GroupedWrite>) {
        let mut responses = Vec::new();
        let mut audits = Vec::new();
        for w in batch {
            match w {
                GroupedWrite::Response(r) => responses.push(*r),
                GroupedWrite::Audit(events, reply) => audits.push((events, reply)),
            }
        }
        let (size, started) = (responses.len() + audits.len(), std::time::Instant::now());
        let outcome = async {
            if responses.is_empty() && self.append_reads_at_known_head(audits.iter().flat_map(|(events, _)| events)).await? {
                return Ok(Vec::new());
            }
            let mut tx = self.begin().await?;
            let mut entries = Vec::new();
            let answers = measures::write_responses(self, &mut tx, &responses, &mut entries).await?;
            for (events, _) in &audits {
                entries.extend(events.iter().cloned());
            }
            // Until this commits, no remembered head is sure; then the new heads are.
            let practices: Vec<&str> = entries.iter().map(|e| e.practice_id.as_str()).collect();
            self.writes.heads_lock().retain(|p, _| !practices.contains(&p.as_str()));
            let heads = audit::append_many(&mut tx, entries.iter()).await?;
            tx.commit().await?;
            self.writes.heads_lock().extend(heads);
            Ok::<_, StoreError>(answers)
        }
        .await;
        let took = started.elapsed();
        tracing::debug!(size, micros = took.as_micros() as u64, ok = outcome.is_ok(), "grouped writes committed");
        // Every request of the batch waited this long for the disk: a slow flush shows in the
        // tail latency of every page (bench/measures.sh reports these per load).
        metrics::counter!("concord_group_commits_total").increment(1);
        if took >= std::time::Duration::from_millis(20) {
            metrics::counter!("concord_group_commits_over_20ms_total").increment(1);
        }
        match outcome {
            Ok(answers) => {
                for (r, answer) in responses.into_iter().zip(answers) {
                    r.answer(answer);
                }
                for (_, reply) in audits {
                    let _ = reply.send(Ok(()));
                }
            }
            Err(e) => {
                let failed = || StoreError::Unavailable(format!("the write could not be committed: {e}"));
                for r in responses {
                    r.answer(Err(failed()));
                }
                for (_, reply) in audits {
                    let _ = reply.send(Err(failed()));
                }
            }
        }
    }

    /// A batch of read entries on PostgreSQL, all of one chain whose head this process last
    /// wrote: appended in one statement (`audit::append_at_head`). False, with nothing written,
    /// where that does not apply (SQLite, several chains, no remembered head, too many entries)
    /// or the head has moved: the caller then takes the locking path.
    async fn append_reads_at_known_head<'a>(&self, entries: impl Iterator<Item = &'a audit::AuditEvent>) -> Result<bool, StoreError> {
        if self.engine != Engine::Postgres {
            return Ok(false);
        }
        let entries: Vec<&audit::AuditEvent> = entries.collect();
        let Some(practice) = entries.first().map(|e| e.practice_id.clone()) else { return Ok(true) };
        if entries.len() > audit::AT_HEAD_MAX || entries.iter().any(|e| e.practice_id != practice) {
            return Ok(false);
        }
        // Taken out while the statement runs: should it fail, whether it committed is unknown.
        let Some(head) = self.writes.heads_lock().remove(&practice) else { return Ok(false) };
        match audit::append_at_head(&self.pool, &practice, &head, &entries).await? {
            Some(moved) => {
                self.writes.heads_lock().insert(practice, moved);
                Ok(true)
            }
            None => Ok(false),
        }
    }

    /// A liveness probe for /healthz.
    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    pub async fn close(&self) {
        if let Some(c) = &self.checkpointer {
            c.stop().await;
        }
        self.readers.close().await;
        self.pool.close().await;
    }
}

/// `(…), (…)`: the placeholders of a multi-row INSERT of `rows` rows of `per_row` values, bound
/// in order. The statement must have no other placeholders. PostgreSQL gets `$1, …, $n`; SQLite
/// gets anonymous `?`, because it takes `$n` for a name: it finds each one by a linear search of
/// the statement's names when preparing, and again when sqlx binds it, so n numbered parameters
/// cost O(n²) (a 200-row audit INSERT spent more time there than in the rest of the request).
pub fn values_list(engine: Engine, rows: usize, per_row: usize) -> String {
    use std::fmt::Write;
    let mut s = String::with_capacity(rows * per_row * 6);
    for r in 0..rows {
        s.push_str(if r > 0 { ", (" } else { "(" });
        for c in 0..per_row {
            if c > 0 {
                s.push_str(", ");
            }
            match engine {
                Engine::Sqlite => s.push('?'),
                Engine::Postgres => {
                    let _ = write!(s, "${}", r * per_row + c + 1);
                }
            }
        }
        s.push(')');
    }
    s
}

/// The `n`-th (1-based) placeholder of a statement that continues a [`values_list`]: `$n` on
/// PostgreSQL, `?` on SQLite (whose statement then binds every value in order).
pub fn placeholder(engine: Engine, n: usize) -> String {
    match engine {
        Engine::Sqlite => "?".to_owned(),
        Engine::Postgres => format!("${n}"),
    }
}

/// Splits `rows` into slices of power-of-two lengths up to `max` (a power of two), largest first
/// (100 rows with `max` 64: 64, 32, 4). A multi-row statement then comes in a few texts, which
/// each connection prepares once and keeps, instead of one text per batch size, parsed afresh.
pub fn pow2_chunks<T>(rows: &[T], max: usize) -> impl Iterator<Item = &[T]> {
    let max = max.max(1);
    let mut rest = rows;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let n = max.min(1 << rest.len().ilog2());
        let (chunk, tail) = rest.split_at(n);
        rest = tail;
        Some(chunk)
    })
}

/// A boolean stored as INTEGER/BIGINT 0 or 1.
pub(crate) fn flag(b: bool) -> i64 {
    i64::from(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn power_of_two_chunks_cover_the_rows_in_order_with_few_lengths() {
        for n in 0..600usize {
            let rows: Vec<usize> = (0..n).collect();
            let chunks: Vec<&[usize]> = pow2_chunks(&rows, 128).collect();
            assert_eq!(chunks.concat(), rows, "every row once, in order ({n})");
            assert!(chunks.iter().all(|c| c.len().is_power_of_two() && c.len() <= 128), "{n}");
            assert!(chunks.windows(2).all(|w| w[0].len() >= w[1].len()), "largest first ({n})");
        }
        let lengths: Vec<usize> = pow2_chunks(&[0; 100], 64).map(<[i32]>::len).collect();
        assert_eq!(lengths, [64, 32, 4]);
    }

    #[test]
    fn values_lists_are_anonymous_on_sqlite_and_numbered_on_postgres() {
        assert_eq!(values_list(Engine::Sqlite, 2, 3), "(?, ?, ?), (?, ?, ?)");
        assert_eq!(values_list(Engine::Postgres, 2, 3), "($1, $2, $3), ($4, $5, $6)");
        assert_eq!(values_list(Engine::Postgres, 0, 3), "");
        // A statement that goes on after the list: the next placeholder follows it.
        assert_eq!(format!("{} {}", values_list(Engine::Postgres, 1, 2), placeholder(Engine::Postgres, 3)), "($1, $2) $3");
        assert_eq!(format!("{} {}", values_list(Engine::Sqlite, 1, 2), placeholder(Engine::Sqlite, 3)), "(?, ?) ?");
    }
}
