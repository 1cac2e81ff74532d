//! Read connections outside sqlx's pool (`readers.rs`), on SQLite and PostgreSQL: a connection
//! goes back for the next read only after a read that ran to its end; one whose statement failed
//! or was cancelled is closed, one found dead after idling is replaced, and a closed store
//! refuses reads.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use common::{Engine, Env};
use sqlx::Row;
use std::time::Duration;

async fn one(env: &Env) -> i64 {
    sqlx::query("SELECT 1 AS one").fetch_one(env.store.reads()).await.unwrap().try_get("one").unwrap()
}

async fn reads_reuse_a_connection_and_close_one_that_failed(env: &Env) {
    let reads = env.store.reads();
    for _ in 0..3 {
        assert_eq!(one(env).await, 1);
    }
    assert_eq!(reads.idle_count(), 1, "reads one after another share one connection");

    let failed = sqlx::query("SELECT nothing FROM no_such_table").fetch_all(reads).await;
    assert!(failed.is_err());
    assert_eq!(reads.idle_count(), 0, "the connection whose statement failed is closed, not kept");
    assert_eq!(one(env).await, 1, "the next read opens another");
    assert_eq!(reads.idle_count(), 1);

    // A connection taken for a few statements goes back only when released.
    let mut conn = reads.acquire().await.unwrap();
    sqlx::query("SELECT 1").execute(&mut *conn).await.unwrap();
    assert_eq!(reads.idle_count(), 0);
    conn.release();
    assert_eq!(reads.idle_count(), 1);
    drop(reads.acquire().await.unwrap());
    assert_eq!(reads.idle_count(), 0, "dropped without release: closed");
}
both_engines!(reads_reuse_a_connection_and_close_one_that_failed);

/// A request dropped part-way through a read (client gone, timeout) must not leave a half-read
/// connection for the next one.
async fn a_cancelled_read_is_not_handed_out_again(env: &Env) {
    assert_eq!(one(env).await, 1);
    let slow = match env.engine {
        Engine::Postgres => "SELECT pg_sleep(5)::text AS x",
        Engine::Sqlite => "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 20000000) SELECT SUM(x) AS x FROM c",
    };
    let cancelled = tokio::time::timeout(Duration::from_millis(100), sqlx::query(slow).fetch_all(env.store.reads())).await;
    assert!(cancelled.is_err(), "the slow read was cut off");
    assert_eq!(env.store.reads().idle_count(), 0, "the cancelled read's connection is not kept");
    let started = std::time::Instant::now();
    assert_eq!(one(env).await, 1);
    assert!(started.elapsed() < Duration::from_secs(4), "the next read does not wait for the cancelled one");
}
both_engines!(a_cancelled_read_is_not_handed_out_again);

/// A connection the server dropped while it sat idle (a restart) is pinged, found dead and
/// replaced, so the read after a quiet spell does not fail.
async fn a_dead_idle_connection_is_replaced(env: &Env) {
    if env.engine != Engine::Postgres {
        return; // an SQLite connection cannot be dropped from outside
    }
    let pid = |r: sqlx::any::AnyRow| r.try_get::<i32, _>("pid").unwrap();
    let first = pid(sqlx::query("SELECT pg_backend_pid() AS pid").fetch_one(env.store.reads()).await.unwrap());
    sqlx::query("SELECT pg_terminate_backend($1)").bind(first).execute(env.store.pool()).await.unwrap();
    tokio::time::sleep(concord_store::db::IDLE_BEFORE_PING + Duration::from_millis(200)).await;
    let second = pid(sqlx::query("SELECT pg_backend_pid() AS pid").fetch_one(env.store.reads()).await.unwrap());
    assert_ne!(first, second, "a new connection serves the read");
}
both_engines!(a_dead_idle_connection_is_replaced);

async fn a_closed_store_refuses_reads(env: &Env) {
    assert_eq!(one(env).await, 1);
    env.store.close().await;
    assert!(sqlx::query("SELECT 1").fetch_one(env.store.reads()).await.is_err());
    assert_eq!(env.store.reads().idle_count(), 0, "closing closes the idle connections");
}
both_engines!(a_closed_store_refuses_reads);
