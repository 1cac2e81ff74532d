//! Store test kit: a fresh SQLite file, or a fresh PostgreSQL database per test when
//! `CONCORD_TEST_PG_URL` is set (in CI a missing URL fails rather than skips), with two
//! practices, named staff and one client per practice.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing, dead_code)]

use concord_domain::ids::{ClientId, PracticeId};
use concord_domain::policy::{self, RecordAccess};
use concord_domain::values::{ClientName, Email, PersonName, PracticeName, Role};
use concord_store::accounts::{self, NewUser, User};
use concord_store::crypto::PracticeKey;
use concord_store::{Ctx, Store, clients, db};
use time::OffsetDateTime;
use time::macros::datetime;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    Postgres,
}

pub const T0: OffsetDateTime = datetime!(2026-03-02 09:00 UTC);

pub struct Env {
    pub store: Store,
    pub engine: Engine,
    pub url: String,
    pub key_bytes: [u8; 32],
    pub dir: tempfile::TempDir,
    pub practice_a: PracticeId,
    pub practice_b: PracticeId,
    /// Clinician in practice A on the care team of `client`.
    pub owner: User,
    /// Clinician in practice A, not on the care team.
    pub other: User,
    /// Admin of practice A (not on the care team).
    pub admin: User,
    /// Clinician of practice B, on the care team of `b_client`.
    pub b_clinician: User,
    pub client: ClientId,
    pub b_client: ClientId,
    pg_database: Option<(String, String)>,
}

/// `postgres://u@h:p/db?x` → `postgres://u@h:p/`.
fn pg_server_prefix(url: &str) -> String {
    let after_scheme = url.find("://").map(|i| i + 3).unwrap();
    match url[after_scheme..].find('/') {
        Some(i) => url[..after_scheme + i + 1].to_owned(),
        None => format!("{url}/"),
    }
}

fn pg_base_url() -> Option<String> {
    match std::env::var("CONCORD_TEST_PG_URL") {
        Ok(u) if !u.is_empty() => Some(u),
        _ => {
            // In CI a missing PostgreSQL must fail loudly, never pass by skipping.
            assert!(std::env::var("CI").is_err(), "CI must set CONCORD_TEST_PG_URL");
            eprintln!("CONCORD_TEST_PG_URL is not set: skipping the PostgreSQL variant");
            None
        }
    }
}

fn random_key() -> [u8; 32] {
    rand::random()
}

/// A context at `T0 + seconds`.
pub fn ctx_at(seconds: i64) -> Ctx {
    Ctx::new("test", T0 + time::Duration::seconds(seconds))
}

pub fn ctx() -> Ctx {
    ctx_at(0)
}

async fn user(store: &Store, practice: PracticeId, email: &str, name: &str, role: Role) -> User {
    let id = accounts::create_user(
        store,
        &ctx(),
        None,
        NewUser {
            practice_id: practice,
            email: &Email::parse(email).unwrap(),
            name: &PersonName::parse(name).unwrap(),
            role,
            // Nobody logs in here; a placeholder keeps the tests fast.
            password_hash: "not-a-hash".into(),
        },
    )
    .await
    .unwrap();
    accounts::get_user(store, id).await.unwrap().unwrap()
}

pub async fn new_client(store: &Store, by: &User, name: &str) -> ClientId {
    let access = policy::decide_create_client(&by.actor()).unwrap();
    clients::create_client(store, &ctx(), &access, &ClientName::parse(name).unwrap(), None).await.unwrap()
}

/// Archives the client `access` is for.
pub async fn archive_client(store: &Store, access: &RecordAccess) {
    let archived = clients::ClientChanges { name: None, date_of_birth: None, status: Some(clients::ClientStatus::Archived) };
    clients::update_client(store, &ctx(), access, archived).await.unwrap();
}

pub async fn setup(engine: Engine) -> Option<Env> {
    let dir = tempfile::tempdir().unwrap();
    let (url, pg_database) = match engine {
        Engine::Sqlite => (db::database_url(dir.path(), None), None),
        Engine::Postgres => {
            let base = pg_base_url()?;
            sqlx::any::install_default_drivers();
            let name = format!("concord_t_{:032x}", rand::random::<u128>());
            let admin_url = format!("{}postgres", pg_server_prefix(&base));
            let mut conn = <sqlx::AnyConnection as sqlx::Connection>::connect(&admin_url).await.expect("connect to PostgreSQL");
            // The name is generated above from a UUID, never from input.
            sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}"))).execute(&mut conn).await.unwrap();
            (format!("{}{name}", pg_server_prefix(&base)), Some((admin_url, name)))
        }
    };
    let key_bytes = random_key();
    let store = Store::open(&url, PracticeKey::from_bytes(key_bytes)).await.unwrap();
    let c = ctx();
    let practice_a = accounts::create_practice(&store, &c, &PracticeName::parse("Practice A").unwrap()).await.unwrap();
    let practice_b = accounts::create_practice(&store, &c, &PracticeName::parse("Practice B").unwrap()).await.unwrap();
    let owner = user(&store, practice_a, "owner@a.test", "Olive Owner", Role::Clinician).await;
    let other = user(&store, practice_a, "other@a.test", "Otto Other", Role::Clinician).await;
    let admin = user(&store, practice_a, "admin@a.test", "Ada Admin", Role::Admin).await;
    let b_clinician = user(&store, practice_b, "clin@b.test", "Bea B", Role::Clinician).await;
    let client = new_client(&store, &owner, "Casey Quinn Client").await;
    let b_client = new_client(&store, &b_clinician, "Bailey Bee").await;
    Some(Env {
        store,
        engine,
        url,
        key_bytes,
        dir,
        practice_a,
        practice_b,
        owner,
        other,
        admin,
        b_clinician,
        client,
        b_client,
        pg_database,
    })
}

impl Env {
    /// The owner's record access to `client`.
    pub async fn access(&self) -> RecordAccess {
        clients::record_access(&self.store, &ctx(), &self.owner.actor(), self.client).await.unwrap()
    }

    pub async fn b_access(&self) -> RecordAccess {
        clients::record_access(&self.store, &ctx(), &self.b_clinician.actor(), self.b_client).await.unwrap()
    }

    /// A second store over the same database and key (a restart).
    pub async fn reopen(&self) -> Store {
        Store::open(&self.url, PracticeKey::from_bytes(self.key_bytes)).await.unwrap()
    }

    /// Every file of the SQLite database (main file, WAL, shared memory), concatenated.
    pub fn sqlite_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for e in std::fs::read_dir(self.dir.path()).unwrap() {
            let p = e.unwrap().path();
            if p.file_name().unwrap().to_string_lossy().starts_with(db::SQLITE_FILE_NAME) {
                out.extend(std::fs::read(&p).unwrap());
            }
        }
        out
    }
}

pub fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

impl Drop for Env {
    fn drop(&mut self) {
        if let Some((admin_url, name)) = self.pg_database.take() {
            // Best effort: drop the per-test database from a fresh runtime.
            let _ = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
                rt.block_on(async move {
                    if let Ok(mut conn) = <sqlx::AnyConnection as sqlx::Connection>::connect(&admin_url).await {
                        // The name was generated from a UUID by `setup`.
                        let _ = sqlx::query(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")))
                            .execute(&mut conn)
                            .await;
                    }
                });
            })
            .join();
        }
    }
}

/// Runs a test body once per engine: `<name>::sqlite` and `<name>::postgres`.
#[macro_export]
macro_rules! both_engines {
    ($name:ident) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let env = $crate::common::setup($crate::common::Engine::Sqlite).await.unwrap();
                super::$name(&env).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                if let Some(env) = $crate::common::setup($crate::common::Engine::Postgres).await {
                    super::$name(&env).await;
                }
            }
        }
    };
}
