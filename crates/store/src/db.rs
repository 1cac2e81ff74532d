//! Connecting to SQLite or PostgreSQL through sqlx's `Any` driver, so one set of portable
//! queries (`$1` placeholders, TEXT/BIGINT/BLOB columns) serves both engines.
//!
//! Architecture Invariant: acknowledged writes survive `kill -9` and power loss. On SQLite
//! every connection runs with WAL, synchronous=FULL, foreign_keys=ON and a busy timeout; the
//! settings are read back at start and a mismatch refuses to start. A background connection
//! ([`Checkpointer`]) copies committed WAL frames into the database file, so commits rarely
//! carry a large checkpoint.

use crate::StoreError;
use sqlx::any::{AnyPoolOptions, install_default_drivers};
use sqlx::{AnyPool, Connection, Executor, Row};
use std::path::Path;
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    Postgres,
}

impl Engine {
    pub fn as_str(self) -> &'static str {
        match self {
            Engine::Sqlite => "sqlite",
            Engine::Postgres => "postgres",
        }
    }
}

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// How long a request waits for a connection (the pool's or a reader's) before it fails.
pub(crate) const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);

/// A connection idle this long is pinged before it is handed out (the pool's and the readers').
pub const IDLE_BEFORE_PING: Duration = Duration::from_secs(1);

pub const SQLITE_FILE_NAME: &str = "concord.db";
const BUSY_TIMEOUT_MS: i64 = 5_000;
/// Run on every SQLite connection: the pool's, the readers' and the checkpointer's.
const SQLITE_CONNECTION_PRAGMAS: &str =
    "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON; PRAGMA busy_timeout=5000;";

/// Where the database lives: an explicit URL, or the SQLite file in the data dir.
pub fn database_url(data_dir: &Path, explicit: Option<&str>) -> String {
    match explicit {
        Some(url) => url.to_owned(),
        None => format!("sqlite://{}?mode=rwc", data_dir.join(SQLITE_FILE_NAME).display()),
    }
}

pub fn engine_of(url: &str) -> Result<Engine, StoreError> {
    if url.starts_with("sqlite:") {
        Ok(Engine::Sqlite)
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Engine::Postgres)
    } else {
        Err(StoreError::Config("database URL must start with sqlite: or postgres://".into()))
    }
}

/// Connections in the pool, and again among the readers (`readers.rs`).
pub(crate) fn pool_size(engine: Engine) -> u32 {
    match engine {
        Engine::Sqlite => 8,
        Engine::Postgres => 16,
    }
}

/// A connection outside the pool (the readers', the checkpointer's), set up as the pool's are.
pub(crate) async fn open_connection(url: &str, engine: Engine) -> Result<sqlx::AnyConnection, sqlx::Error> {
    let mut conn = sqlx::AnyConnection::connect(url).await?;
    if engine == Engine::Sqlite {
        conn.execute(SQLITE_CONNECTION_PRAGMAS).await?;
    }
    Ok(conn)
}

/// Opens the pool, applies and verifies the durability settings, and runs migrations.
pub async fn connect(url: &str) -> Result<(AnyPool, Engine), StoreError> {
    install_default_drivers();
    let engine = engine_of(url)?;
    let opts = AnyPoolOptions::new()
        .acquire_timeout(ACQUIRE_TIMEOUT)
        // sqlx pings every idle connection it hands out (a round trip to the server, or to
        // SQLite's worker thread), and again when the connection comes back. A request's reads
        // take a connection each, so under load most round trips were pings of connections
        // used a moment before. Ping only one that sat idle long enough to have been dropped
        // (a restarted server); the ping on release still catches one left broken.
        .test_before_acquire(false)
        .before_acquire(|conn, meta| {
            Box::pin(async move {
                if meta.idle_for >= IDLE_BEFORE_PING {
                    conn.ping().await?;
                }
                Ok(true)
            })
        });
    let pool = match engine {
        Engine::Sqlite => {
            opts.max_connections(pool_size(engine))
                .after_connect(|conn, _meta| {
                    Box::pin(async move {
                        conn.execute(SQLITE_CONNECTION_PRAGMAS).await?;
                        Ok(())
                    })
                })
                .connect(url)
                .await
        }
        Engine::Postgres => opts.max_connections(pool_size(engine)).connect(url).await,
    }
    .map_err(|e| StoreError::Unavailable(format!("cannot connect to the {} database: {e}", engine.as_str())))?;
    if engine == Engine::Sqlite {
        verify_sqlite_settings(&pool).await?;
    }
    let migrator = match engine {
        Engine::Sqlite => &SQLITE_MIGRATIONS,
        Engine::Postgres => &POSTGRES_MIGRATIONS,
    };
    migrator.run(&pool).await.map_err(|e| StoreError::Unavailable(format!("migrations failed: {e}")))?;
    Ok((pool, engine))
}

/// Reads each durability setting back; refuses to run with anything else.
pub async fn verify_sqlite_settings(pool: &AnyPool) -> Result<(), StoreError> {
    let mut conn = pool.acquire().await?;
    let busy_timeout = BUSY_TIMEOUT_MS.to_string();
    let checks: [(&str, &str); 4] =
        [("PRAGMA journal_mode", "wal"), ("PRAGMA synchronous", "2"), ("PRAGMA foreign_keys", "1"), ("PRAGMA busy_timeout", &busy_timeout)];
    for (pragma, want) in checks {
        let row = sqlx::query(pragma).fetch_one(&mut *conn).await?;
        let got: String = match row.try_get::<String, _>(0) {
            Ok(s) => s.to_lowercase(),
            Err(_) => row.try_get::<i64, _>(0).map(|n| n.to_string())?,
        };
        if got != want {
            return Err(StoreError::Config(format!("{pragma} is {got}, expected {want}")));
        }
    }
    Ok(())
}

/// Writes a consistent copy of a SQLite database to `out` while it is in use (`VACUUM INTO`).
/// Client data in the copy is ciphertext, as in the original; the practice key is not copied.
pub async fn sqlite_backup(pool: &AnyPool, out: &Path) -> Result<(), StoreError> {
    let target = out.to_str().ok_or_else(|| StoreError::Invalid("the backup path must be valid UTF-8".into()))?;
    if out.exists() {
        return Err(StoreError::Invalid(format!("{} already exists; choose a new file", out.display())));
    }
    sqlx::query("VACUUM INTO $1").bind(target).execute(pool).await?;
    Ok(())
}

/// How often the background checkpointer copies committed WAL frames into the database file.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(100);

/// Copies committed WAL frames into the SQLite database file from a connection of its own, so
/// the checkpoint SQLite runs inside a commit (every 1,000 WAL pages) finds little left to copy.
/// Without it that commit copies and fsyncs about 4 MB while every request waiting on the same
/// group commit waits too (bench/README.md: batches of 100 ms and more, the read tail). The
/// in-commit checkpoint stays: it runs under the write lock, so it is the one that lets the WAL
/// start over. PASSIVE never waits for readers or writers.
pub(crate) struct Checkpointer {
    stop: std::sync::Arc<tokio::sync::Notify>,
    task: std::sync::Mutex<Option<tokio::task::JoinHandle<()>>>,
}

impl Checkpointer {
    pub(crate) async fn start(url: &str) -> Result<Self, StoreError> {
        let mut conn = open_connection(url, Engine::Sqlite)
            .await
            .map_err(|e| StoreError::Unavailable(format!("cannot open the checkpoint connection: {e}")))?;
        let stop = std::sync::Arc::new(tokio::sync::Notify::new());
        let task = tokio::spawn({
            let stop = stop.clone();
            async move {
                loop {
                    tokio::select! {
                        () = stop.notified() => break,
                        () = tokio::time::sleep(CHECKPOINT_EVERY) => {}
                    }
                    if let Err(e) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)").fetch_optional(&mut conn).await {
                        tracing::debug!(error = %e, "background checkpoint skipped");
                    }
                }
                let _ = conn.close().await;
            }
        });
        Ok(Self { stop, task: std::sync::Mutex::new(Some(task)) })
    }

    /// Stops the task and closes its connection (before the pool closes, so the last
    /// connection to close can fold the WAL back into the database file).
    pub(crate) async fn stop(&self) {
        self.stop.notify_one();
        let task = match self.task.lock() {
            Ok(mut t) => t.take(),
            Err(poisoned) => poisoned.into_inner().take(),
        };
        if let Some(task) = task {
            let _ = task.await;
        }
    }
}

impl Drop for Checkpointer {
    /// The last clone of the store is gone without `close`: the task ends and closes its
    /// connection on its own.
    fn drop(&mut self) {
        self.stop.notify_one();
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use crate::Store;
    use crate::crypto::PracticeKey;

    /// The connection pragmas are a string literal: they must set the timeout checked at start.
    #[test]
    fn connection_pragmas_set_the_checked_busy_timeout() {
        assert!(super::SQLITE_CONNECTION_PRAGMAS.contains(&format!("PRAGMA busy_timeout={};", super::BUSY_TIMEOUT_MS)));
    }

    fn main_file_holds(path: &std::path::Path, marker: &[u8]) -> bool {
        std::fs::read(path).unwrap().windows(marker.len()).any(|w| w == marker)
    }

    /// A small commit never reaches SQLite's in-commit checkpoint (1,000 pages), and the pool's
    /// connections stay open, so only the background checkpointer can copy it into the main file.
    /// Closing the store then stops it first, and the last connection folds the WAL back.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn background_checkpoints_copy_commits_into_the_database_file_and_close_stops_them() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&super::database_url(dir.path(), None), PracticeKey::generate()).await.unwrap();
        let main = dir.path().join(super::SQLITE_FILE_NAME);
        let marker = format!("checkpoint-marker-{:016x}", rand::random::<u64>());
        sqlx::query("CREATE TABLE checkpoint_probe (v TEXT NOT NULL)").execute(store.pool()).await.unwrap();
        sqlx::query("INSERT INTO checkpoint_probe (v) VALUES ($1)").bind(&marker).execute(store.pool()).await.unwrap();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while !main_file_holds(&main, marker.as_bytes()) {
            assert!(std::time::Instant::now() < deadline, "the commit never reached the database file");
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        let wal = dir.path().join(format!("{}-wal", super::SQLITE_FILE_NAME));
        assert!(wal.exists(), "the WAL is still in use while the store is open");
        store.close().await;
        assert!(!wal.exists(), "close left the WAL behind");
    }
}
