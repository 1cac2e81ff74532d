//! Connections for reads that need no transaction, kept apart from sqlx's pool.
//!
//! sqlx pings every pooled connection when it comes back (a round trip to PostgreSQL, or to
//! SQLite's worker thread, with no option to skip it), so a page whose reads each took a pooled
//! connection sent as many pings as statements. A read here takes an idle connection, runs, and
//! puts the connection back only if its statement ran to the end: one whose statement failed or
//! was cancelled half-way is closed instead, so a broken or half-read connection is never handed
//! out again. One idle long enough to have been dropped by a restarted server is pinged first.
//!
//! Only reads go here; writes and transactions keep the pool.

use crate::db::{self, ACQUIRE_TIMEOUT, Engine, IDLE_BEFORE_PING};
use futures_util::{StreamExt, TryStreamExt, future::BoxFuture, stream::BoxStream};
use sqlx::any::{Any, AnyQueryResult, AnyRow};
use sqlx::{AnyConnection, Connection, Describe, Either, Error, Execute, Executor, SqlStr};
use std::sync::{Arc, Mutex};
use std::time::Instant;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// At most `max` connections, opened on first need and kept while they work.
#[derive(Clone)]
pub struct Readers {
    inner: Arc<Inner>,
}

struct Inner {
    url: String,
    engine: Engine,
    idle: Mutex<Vec<(AnyConnection, Instant)>>,
    permits: Arc<Semaphore>,
}

impl std::fmt::Debug for Readers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Readers").field("engine", &self.inner.engine).finish_non_exhaustive()
    }
}

/// A connection taken for reads. [`ReadConn::release`] puts it back; dropped without that (an
/// error or a cancelled request part-way), it is closed.
pub struct ReadConn {
    conn: AnyConnection,
    readers: Arc<Inner>,
    _permit: OwnedSemaphorePermit,
}

impl Readers {
    pub(crate) fn new(url: &str, engine: Engine, max: usize) -> Self {
        Readers {
            inner: Arc::new(Inner { url: url.to_owned(), engine, idle: Mutex::new(Vec::new()), permits: Arc::new(Semaphore::new(max)) }),
        }
    }

    fn idle(&self) -> std::sync::MutexGuard<'_, Vec<(AnyConnection, Instant)>> {
        self.inner.idle.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// An idle connection (the most recently used, whose caches are warmest), or a new one;
    /// `PoolTimedOut` after `ACQUIRE_TIMEOUT`, as the pool.
    pub async fn acquire(&self) -> Result<ReadConn, Error> {
        tokio::time::timeout(ACQUIRE_TIMEOUT, self.acquire_now()).await.map_err(|_| Error::PoolTimedOut)?
    }

    async fn acquire_now(&self) -> Result<ReadConn, Error> {
        let permit = Arc::clone(&self.inner.permits).acquire_owned().await.map_err(|_| Error::PoolClosed)?;
        loop {
            let Some((mut conn, since)) = self.idle().pop() else { break };
            if since.elapsed() < IDLE_BEFORE_PING || conn.ping().await.is_ok() {
                return Ok(ReadConn { conn, readers: Arc::clone(&self.inner), _permit: permit });
            }
        }
        let conn = db::open_connection(&self.inner.url, self.inner.engine).await?;
        Ok(ReadConn { conn, readers: Arc::clone(&self.inner), _permit: permit })
    }

    /// How many connections wait for the next read (for tests of reuse).
    pub fn idle_count(&self) -> usize {
        self.idle().len()
    }

    /// Refuses new reads and closes the idle connections.
    pub(crate) async fn close(&self) {
        self.inner.permits.close();
        let idle = std::mem::take(&mut *self.idle());
        for (conn, _) in idle {
            let _ = conn.close().await;
        }
    }
}

impl ReadConn {
    /// Puts the connection back for the next read.
    pub fn release(self) {
        let ReadConn { conn, readers, _permit } = self;
        let mut idle = readers.idle.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if !readers.permits.is_closed() {
            idle.push((conn, Instant::now()));
        }
    }
}

impl std::ops::Deref for ReadConn {
    type Target = AnyConnection;
    fn deref(&self) -> &AnyConnection {
        &self.conn
    }
}

impl std::ops::DerefMut for ReadConn {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        &mut self.conn
    }
}

/// One statement on a read connection, like `&Pool`: the connection goes back once the
/// statement's rows have all been read (they are collected first; reads here are bounded).
impl<'p> Executor<'p> for &'_ Readers {
    type Database = Any;

    fn fetch_many<'e, 'q: 'e, E>(self, query: E) -> BoxStream<'e, Result<Either<AnyQueryResult, AnyRow>, Error>>
    where
        E: 'q + Execute<'q, Any>,
    {
        let readers = self.clone();
        futures_util::stream::once(async move {
            let mut conn = readers.acquire().await?;
            let items: Vec<_> = conn.fetch_many(query).try_collect().await?;
            conn.release();
            Ok::<_, Error>(futures_util::stream::iter(items.into_iter().map(Ok)))
        })
        .try_flatten()
        .boxed()
    }

    fn fetch_optional<'e, 'q: 'e, E>(self, query: E) -> BoxFuture<'e, Result<Option<AnyRow>, Error>>
    where
        E: 'q + Execute<'q, Any>,
    {
        let readers = self.clone();
        Box::pin(async move {
            let mut conn = readers.acquire().await?;
            let row = conn.fetch_optional(query).await?;
            conn.release();
            Ok(row)
        })
    }

    fn prepare_with<'e>(
        self,
        sql: SqlStr,
        parameters: &'e [sqlx::any::AnyTypeInfo],
    ) -> BoxFuture<'e, Result<sqlx::any::AnyStatement, Error>>
    where
        'p: 'e,
    {
        let readers = self.clone();
        Box::pin(async move {
            let mut conn = readers.acquire().await?;
            let statement = conn.prepare_with(sql, parameters).await?;
            conn.release();
            Ok(statement)
        })
    }

    fn describe<'e>(self, sql: SqlStr) -> BoxFuture<'e, Result<Describe<Any>, Error>> {
        let readers = self.clone();
        Box::pin(async move {
            let mut conn = readers.acquire().await?;
            let described = conn.describe(sql).await?;
            conn.release();
            Ok(described)
        })
    }
}
