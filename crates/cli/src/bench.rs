//! `concord bench`: the data generator and the durable-commit reference behind
//! `bench/measures.sh` (issue 3's write- and read-path benchmarks).

use crate::setup::{hash_password, open};
use crate::{CliError, DataArgs};
use concord_domain::clock::{Clock, SystemClock};
use concord_domain::ids::{PromptEventId, PromptId, ResponseId, ScheduleId, SessionId};
use concord_domain::measures::Registry;
use concord_domain::measures::schedule::Frequency;
use concord_domain::measures::score::{Answer, Answers};
use concord_domain::policy;
use concord_domain::values::{Attendance, ClientName, DurationMinutes, Email, NewPassword, PersonName, PracticeName, Role};
use concord_store::accounts::{self, NewUser, SessionStage};
use concord_store::clients::{self, NewSession};
use concord_store::crypto::PracticeKey;
use concord_store::measures::{self as store_measures, NewResponse, ResponseSource};
use concord_store::{Ctx, Store, db, values_list};
use std::process::ExitCode;
use std::time::Instant;
use time::Duration;

#[derive(clap::Subcommand)]
pub enum BenchCommand {
    /// Generate a caseload: CLIENTS clients with YEARS of weekly PHQ-9, GAD-7 and WSAS and daily
    /// check-ins, following realistic courses (improvers, non-responders, deteriorators,
    /// dropouts). Prints what the load generator needs as JSON.
    Seed {
        #[command(flatten)]
        data: DataArgs,
        #[arg(long, default_value_t = 100)]
        clients: usize,
        #[arg(long, default_value_t = 3)]
        years: i64,
    },
    /// Generate issue 4's sweep benchmark caseload fast, with bulk multi-row INSERTs (no per-row
    /// audit entries): CLIENTS clients (made with the store's create_client: data keys, sealed
    /// names, care team) each with YEARS of weekly sessions, weekly PHQ-9, GAD-7 and WSAS and
    /// daily check-ins, active schedules (weekly phq9/gad7/wsas, daily check-in), measure
    /// summaries as the store keeps them, and a mix the sweep has work on: half the dropouts
    /// still active with lapsed schedules (overdue), a few lapsed check-ins, deferred prompts come
    /// due. Nothing is marked pending unless --pending-percent says so.
    SeedPrompts {
        #[command(flatten)]
        data: DataArgs,
        #[arg(long, default_value_t = 10_000)]
        clients: usize,
        #[arg(long, default_value_t = 3)]
        years: i64,
        /// Mark this percentage of active clients pending (as if just written to), to measure
        /// a sweep that must evaluate them all.
        #[arg(long, default_value_t = 0)]
        pending_percent: u32,
    },
    /// The reference: bare durable single-row commits on the same disk (a scratch SQLite file in
    /// the data dir, WAL and synchronous=FULL like Concord's).
    Commits {
        #[arg(long, env = "CONCORD_DATA_DIR", default_value = "concord-data")]
        data_dir: std::path::PathBuf,
        #[arg(long, default_value_t = 3000)]
        count: usize,
    },
    /// Dossier PDF generation with charts (issue 5): renders a representative dossier (three
    /// measure charts, every section filled) COUNT times after one warm-up and reports
    /// milliseconds per PDF; the reference is an empty dossier rendered the same way.
    Dossier {
        #[arg(long, default_value_t = 20)]
        count: usize,
    },
}

/// A tiny deterministic generator, so every benchmark run has the same data.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> i32 {
        i32::try_from(self.next() % n.max(1)).unwrap_or(0)
    }
}

#[derive(Clone, Copy)]
enum Course {
    Improver,
    NonResponder,
    Deteriorator,
    Dropout,
}

/// A PHQ-9-like severity at fraction `x` (0..1) of the time in therapy, before noise.
fn severity(course: Course, start: i32, x: f64) -> f64 {
    let s = f64::from(start);
    match course {
        Course::Improver => s - (s - 5.0) * x.min(0.6) / 0.6,
        Course::NonResponder => s - 1.5 * x,
        Course::Deteriorator => s + 7.0 * x,
        Course::Dropout => s - 2.0 * x,
    }
}

fn spread(total: i32, items: usize, max: i32) -> Vec<Answer> {
    let n = i32::try_from(items).unwrap_or(1).max(1);
    let total = total.clamp(0, max * n);
    (0..n).map(|k| Answer::Value((total / n + i32::from(k < total % n)).min(max))).collect()
}

/// PHQ-9 answers totalling `total`, with item 9 (thoughts of self-harm) answered `item9` and the
/// rest spread over items 1-8: a high score alone does not raise the safety flag.
fn phq9_answers(total: i32, item9: i32) -> Vec<Answer> {
    let mut a = spread(total - item9, 8, 3);
    a.push(Answer::Value(item9));
    a
}

pub async fn run(cmd: BenchCommand) -> Result<ExitCode, CliError> {
    match cmd {
        BenchCommand::Seed { data, clients, years } => seed(data, clients, years).await,
        BenchCommand::Commits { data_dir, count } => commits(&data_dir, count).await,
        BenchCommand::SeedPrompts { data, clients, years, pending_percent } => seed_prompts(data, clients, years, pending_percent).await,
        BenchCommand::Dossier { count } => dossier(count),
    }
}

fn median_ms(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(0.0)
}

fn time_renders(input: &concord_documents::dossier::DossierInput, count: usize) -> Result<(Vec<f64>, usize), CliError> {
    let mut times = Vec::with_capacity(count);
    let mut size = 0;
    for _ in 0..count.max(1) {
        let started = Instant::now();
        let pdf = concord_documents::dossier::render_pdf(input).map_err(|e| CliError::failed(e.to_string()))?;
        times.push(started.elapsed().as_secs_f64() * 1000.0);
        size = pdf.len();
    }
    Ok((times, size))
}

fn dossier(count: usize) -> Result<ExitCode, CliError> {
    let full = concord_documents::dossier::sample_input();
    let empty = concord_documents::dossier::DossierInput::default();
    // Warm-up: the first render loads the embedded fonts and fills Typst's caches.
    let started = Instant::now();
    time_renders(&empty, 1)?;
    let first_ms = started.elapsed().as_secs_f64() * 1000.0;
    let (reference, _) = time_renders(&empty, count)?;
    let (times, bytes) = time_renders(&full, count)?;
    let (ref_ms, ms) = (median_ms(reference), median_ms(times.clone()));
    let max = times.iter().copied().fold(0.0, f64::max);
    println!(
        "{}",
        serde_json::json!({
            "renders": count, "first_render_ms": first_ms, "dossier_median_ms": ms, "dossier_max_ms": max,
            "empty_dossier_median_ms": ref_ms, "ratio_to_empty": if ref_ms > 0.0 { ms / ref_ms } else { 0.0 },
            "pdf_bytes": bytes, "target_ms": 300
        })
    );
    Ok(ExitCode::SUCCESS)
}

async fn seed(data: DataArgs, n_clients: usize, years: i64) -> Result<ExitCode, CliError> {
    std::fs::create_dir_all(&data.data_dir).map_err(|e| CliError::usage(e.to_string()))?;
    if !data.data_dir.join(concord_store::crypto::KEY_FILE_NAME).exists() {
        PracticeKey::create_file(&data.data_dir).map_err(|e| CliError::failed(e.to_string()))?;
    }
    if data.database_url.is_none() {
        let url = db::database_url(&data.data_dir, None);
        let key = PracticeKey::load(&data.data_dir).map_err(|e| CliError::usage(e.to_string()))?;
        Store::open(&url, key).await?.close().await;
    }
    let store = open(&data).await?;
    let now = SystemClock.now();
    let ctx = Ctx::new("bench-seed", now);
    let started = Instant::now();
    let practice = accounts::create_practice(&store, &ctx, &PracticeName::parse("Benchmark Practice").map_err(CliError::from)?).await?;
    let email = Email::parse(&format!("bench-{}@bench.test", now.unix_timestamp()))?;
    let hash = hash_password(&NewPassword::parse("benchmark password")?).await?;
    let uid = accounts::create_user(
        &store,
        &ctx,
        None,
        NewUser {
            practice_id: practice,
            email: &email,
            name: &PersonName::parse("Bench Clinician")?,
            role: Role::Clinician,
            password_hash: hash,
        },
    )
    .await?;
    let user = accounts::get_user(&store, uid).await?.ok_or_else(|| CliError::failed("bench user vanished"))?;
    let actor = user.actor();
    let (_, token) = accounts::create_token(&store, &ctx, &user, "benchmark").await?;
    let session = accounts::create_session(&store, &ctx, &user, SessionStage::Full, Duration::hours(12)).await?;
    let registry = Registry::shipped().map_err(|e| CliError::failed(e.to_string()))?;
    let get = |id: &str| registry.get(id).ok_or_else(|| CliError::failed(format!("no instrument {id}")));
    let (phq9, gad7, wsas, checkin) = (get("phq9")?, get("gad7")?, get("wsas")?, get("checkin")?);
    let mut rng = Rng(0xbe9c_4a11_0000_0001);
    let weeks = years * 52;
    let start = now - Duration::weeks(weeks);
    let duration = DurationMinutes::new(50)?;
    let mut first = None;
    let mut portal_secret = None;
    let mut responses = 0usize;
    for i in 0..n_clients {
        let course = match i % 10 {
            0..=4 => Course::Improver,
            5..=6 => Course::NonResponder,
            7 => Course::Deteriorator,
            _ => Course::Dropout,
        };
        let access = policy::decide_create_client(&actor).ok_or_else(|| CliError::failed("cannot create"))?;
        let name = ClientName::parse(&format!("Bench Client {i:03}"))?;
        let id = clients::create_client(&store, &Ctx::new("bench-seed", start), &access, &name, None).await?;
        let rec = clients::record_access(&store, &ctx, &actor, id).await?;
        let active_weeks = match course {
            Course::Dropout => weeks / 4,
            _ => weeks,
        };
        let sessions: Vec<NewSession> = (0..active_weeks)
            .map(|w| NewSession {
                starts_at: start + Duration::weeks(w) + Duration::hours(10),
                duration,
                attendance: if rng.below(10) == 0 { Attendance::NoShow } else { Attendance::Attended },
            })
            .collect();
        clients::add_sessions(&store, &ctx, &rec, &sessions).await?;
        let intake = 12 + rng.below(10);
        let mut batch = Vec::new();
        for w in 0..active_weeks {
            let at = (start + Duration::weeks(w) + Duration::hours(9)).unix_timestamp();
            let x = w as f64 / weeks.max(1) as f64;
            let sev = (severity(course, intake, x) + f64::from(rng.below(5)) - 2.0).round() as i32;
            // As in real caseloads, item 9 is rarely above 0 (a deteriorator, about 1 week in 200).
            let item9 = i32::from(matches!(course, Course::Deteriorator) && rng.below(200) == 0);
            for (def, answers) in
                [(phq9, phq9_answers(sev.max(item9), item9)), (gad7, spread(sev * 7 / 9, 7, 3)), (wsas, spread(sev * 40 / 27, 5, 8))]
            {
                let mut new = NewResponse::scored(def, Answers::new(answers), at, ResponseSource::Clinician)
                    .map_err(|e| CliError::failed(e.to_string()))?;
                new.idempotency_key = None;
                batch.push(new);
            }
            for d in 0..7 {
                let mood = (10 - sev * 10 / 27 + rng.below(3) - 1).clamp(0, 10);
                let mut values = spread(mood * 5, 5, 10);
                values.push(Answer::Value(0));
                let t = at + d * 86_400 + 11 * 3600;
                batch.push(
                    NewResponse::scored(checkin, Answers::new(values), t, ResponseSource::Clinician)
                        .map_err(|e| CliError::failed(e.to_string()))?,
                );
            }
        }
        batch.retain(|r| r.completed_at <= now.unix_timestamp());
        responses += store_measures::record_responses_bulk(&store, &ctx, &rec, batch).await?;
        if !matches!(course, Course::Dropout) {
            for (instrument, f) in
                [("phq9", Frequency::Weekly), ("gad7", Frequency::Weekly), ("wsas", Frequency::Weekly), ("checkin", Frequency::Daily)]
            {
                let iid = concord_domain::measures::InstrumentId::parse(instrument).map_err(|e| CliError::failed(e.to_string()))?;
                store_measures::set_schedule(&store, &ctx, &rec, &iid, f).await?;
            }
        }
        if first.is_none() {
            first = Some(id);
            let (_, secret) =
                store_measures::create_portal_link(&store, &ctx, &rec, (now + Duration::days(7)).unix_timestamp(), None).await?;
            portal_secret = Some(secret);
        }
        eprint!("\rseeded {}/{n_clients} clients, {responses} responses", i + 1);
    }
    eprintln!(" in {:.1} s", started.elapsed().as_secs_f64());
    let out = serde_json::json!({
        "email": email.as_str(),
        "token": token,
        "session_cookie": format!("concord_session={session}"),
        "client_id": first.map(|c| c.to_string()),
        "portal_secret": portal_secret,
        "clients": n_clients,
        "responses": responses,
    });
    println!("{out}");
    store.close().await;
    Ok(ExitCode::SUCCESS)
}

async fn commits(dir: &std::path::Path, count: usize) -> Result<ExitCode, CliError> {
    use sqlx::Connection;
    sqlx::any::install_default_drivers();
    let path = dir.join("bench-commits.db");
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
    let url = format!("sqlite://{}?mode=rwc", path.display());
    let mut conn = sqlx::AnyConnection::connect(&url).await.map_err(|e| CliError::failed(e.to_string()))?;
    for pragma in ["PRAGMA journal_mode=WAL", "PRAGMA synchronous=FULL", "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL)"] {
        sqlx::query(pragma).execute(&mut conn).await.map_err(|e| CliError::failed(e.to_string()))?;
    }
    let started = Instant::now();
    let mut each = Vec::with_capacity(count);
    for _ in 0..count {
        let one = Instant::now();
        let mut tx = conn.begin_with("BEGIN IMMEDIATE").await.map_err(|e| CliError::failed(e.to_string()))?;
        sqlx::query("INSERT INTO t (v) VALUES ($1)")
            .bind("x".repeat(200))
            .execute(&mut *tx)
            .await
            .map_err(|e| CliError::failed(e.to_string()))?;
        tx.commit().await.map_err(|e| CliError::failed(e.to_string()))?;
        each.push(one.elapsed().as_secs_f64() * 1e3);
    }
    let secs = started.elapsed().as_secs_f64();
    // The disk's own tail: a read waits for its audit entries' durable commit, so a disk whose
    // fsync stalls now and then shows in every page's p99 whatever the code does.
    each.sort_by(f64::total_cmp);
    let at = |q: f64| each.get(((each.len() as f64 * q) as usize).min(each.len().saturating_sub(1))).copied().unwrap_or(0.0);
    println!(
        "{}",
        serde_json::json!({
            "commits": count,
            "seconds": secs,
            "commits_per_second": count as f64 / secs,
            "p50_ms": at(0.5),
            "p99_ms": at(0.99),
            "max_ms": each.last().copied().unwrap_or(0.0),
            "over_20_ms": each.iter().filter(|&&ms| ms > 20.0).count(),
        })
    );
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
    Ok(ExitCode::SUCCESS)
}

// ---- issue 4: the prompt sweep's caseload ---------------------------------------------------

/// One distinct scored answer set: stored once in `bench_variants`, copied into each response
/// row by the database (so a row costs four bound values, not eighteen).
struct Variant {
    instrument: concord_domain::measures::InstrumentId,
    total: Option<i32>,
    band: Option<String>,
    caseness: Option<bool>,
    flags: Vec<concord_domain::measures::Flag>,
}

const V_PHQ9: i64 = 0;
const V_PHQ9_SAFETY: i64 = 100;
const V_GAD7: i64 = 200;
const V_WSAS: i64 = 300;
const V_CHECKIN: i64 = 400;
const V_CHECKIN_HARM: i64 = 500;

fn failed(e: impl std::fmt::Display) -> CliError {
    CliError::failed(e.to_string())
}

/// Scores every variant with the domain's scoring and stores them in `bench_variants`.
async fn make_variants(store: &Store) -> Result<std::collections::HashMap<i64, Variant>, CliError> {
    use concord_domain::measures::score::score;
    let registry = Registry::shipped().map_err(failed)?;
    let get = |id: &str| registry.get(id).ok_or_else(|| CliError::failed(format!("no instrument {id}")));
    let (phq9, gad7, wsas, checkin) = (get("phq9")?, get("gad7")?, get("wsas")?, get("checkin")?);
    let mut list: Vec<(i64, &concord_domain::measures::Instrument, Vec<Answer>)> = Vec::new();
    for t in 0..=24 {
        list.push((V_PHQ9 + i64::from(t), phq9, phq9_answers(t, 0)));
    }
    for t in 1..=25 {
        list.push((V_PHQ9_SAFETY + i64::from(t), phq9, phq9_answers(t, 1)));
    }
    for t in 0..=21 {
        list.push((V_GAD7 + i64::from(t), gad7, spread(t, 7, 3)));
    }
    for t in 0..=40 {
        list.push((V_WSAS + i64::from(t), wsas, spread(t, 5, 8)));
    }
    for mood in 0..=10 {
        for (base, harm) in [(V_CHECKIN, 0), (V_CHECKIN_HARM, 1)] {
            let mut a = spread(mood * 5, 5, 10);
            a.push(Answer::Value(harm));
            list.push((base + i64::from(mood), checkin, a));
        }
    }
    sqlx::query("DROP TABLE IF EXISTS bench_variants").execute(store.pool()).await.map_err(failed)?;
    sqlx::query(
        "CREATE TABLE bench_variants (variant BIGINT PRIMARY KEY, instrument_id TEXT NOT NULL, instrument_version TEXT NOT NULL, \
         answers_json TEXT NOT NULL, total BIGINT, band_id TEXT, caseness BIGINT, flags_json TEXT NOT NULL, score_json TEXT NOT NULL)",
    )
    .execute(store.pool())
    .await
    .map_err(failed)?;
    let mut out = std::collections::HashMap::new();
    for (v, def, answers) in list {
        let answers = Answers::new(answers);
        let s = score(def, &answers).map_err(failed)?;
        sqlx::query("INSERT INTO bench_variants VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)")
            .bind(v)
            .bind(def.id().as_str())
            .bind(def.version())
            .bind(serde_json::to_string(&answers).map_err(failed)?)
            .bind(s.total.map(i64::from))
            .bind(s.band.as_ref().map(|b| b.id.clone()))
            .bind(s.caseness.map(i64::from))
            .bind(serde_json::to_string(&s.flags).map_err(failed)?)
            .bind(serde_json::to_string(&s).map_err(failed)?)
            .execute(store.pool())
            .await
            .map_err(failed)?;
        out.insert(
            v,
            Variant { instrument: s.instrument.clone(), total: s.total, band: s.band.map(|b| b.id), caseness: s.caseness, flags: s.flags },
        );
    }
    Ok(out)
}

/// Ten random bytes for an id (deterministic, like the rest of the data).
fn rand10(rng: &mut Rng) -> [u8; 10] {
    let (a, b) = (rng.next().to_le_bytes(), rng.next().to_le_bytes());
    let mut out = [0u8; 10];
    for (o, x) in out.iter_mut().zip(a.iter().chain(b.iter())) {
        *o = *x;
    }
    out
}

/// One client's generated record.
#[derive(Default)]
struct Generated {
    /// (id, variant, completed_at)
    responses: Vec<(String, i64, i64)>,
    /// (id, starts_at, attendance)
    sessions: Vec<(String, i64, &'static str)>,
}

/// Rows per multi-row INSERT: under SQLite's 32,766 and PostgreSQL's 65,535 bound values.
const ROWS_PER_INSERT: usize = 2_000;

async fn seed_prompts(data: DataArgs, n_clients: usize, years: i64, pending_percent: u32) -> Result<ExitCode, CliError> {
    use concord_store::measures::ScorePoint;
    std::fs::create_dir_all(&data.data_dir).map_err(|e| CliError::usage(e.to_string()))?;
    if !data.data_dir.join(concord_store::crypto::KEY_FILE_NAME).exists() {
        PracticeKey::create_file(&data.data_dir).map_err(failed)?;
    }
    if data.database_url.is_none() {
        let url = db::database_url(&data.data_dir, None);
        let key = PracticeKey::load(&data.data_dir).map_err(|e| CliError::usage(e.to_string()))?;
        Store::open(&url, key).await?.close().await;
    }
    let store = open(&data).await?;
    let now_dt = SystemClock.now();
    let now = now_dt.unix_timestamp();
    let ctx = Ctx::new("bench-seed-prompts", now_dt);
    let started = Instant::now();
    let practice = accounts::create_practice(&store, &ctx, &PracticeName::parse("Sweep Benchmark Practice")?).await?;
    let email = Email::parse(&format!("sweep-{}@bench.test", now))?;
    let hash = hash_password(&NewPassword::parse("benchmark password")?).await?;
    let uid = accounts::create_user(
        &store,
        &ctx,
        None,
        NewUser {
            practice_id: practice,
            email: &email,
            name: &PersonName::parse("Sweep Clinician")?,
            role: Role::Clinician,
            password_hash: hash,
        },
    )
    .await?;
    let user = accounts::get_user(&store, uid).await?.ok_or_else(|| CliError::failed("bench user vanished"))?;
    let actor = user.actor();
    let variants = make_variants(&store).await?;
    let (p, u) = (practice.to_string(), uid.to_string());
    let weeks = years * 52;
    let start = now - weeks * 7 * 86_400;
    let mut rng = Rng(0x5eed_9a17_0000_0004);

    // Clients, through the store (data key, sealed name, blind index, care team, audit).
    let access = policy::decide_create_client(&actor).ok_or_else(|| CliError::failed("cannot create clients"))?;
    let create_ctx = Ctx::new("bench-seed-prompts", now_dt - Duration::weeks(weeks));
    let mut ids = Vec::with_capacity(n_clients);
    for i in 0..n_clients {
        let name = ClientName::parse(&format!("Sweep Client {i:05}"))?;
        ids.push(clients::create_client(&store, &create_ctx, &access, &name, None).await?.to_string());
        if i % 500 == 499 {
            eprint!("\rclients {}/{n_clients} ({:.0} s)", i + 1, started.elapsed().as_secs_f64());
        }
    }
    eprintln!("\rclients {n_clients} in {:.1} s", started.elapsed().as_secs_f64());

    let resp_sql = |rows: usize| {
        sqlx::AssertSqlSafe(format!(
            "INSERT INTO measure_responses (id, practice_id, client_id, instrument_id, instrument_version, answers_json, total, band_id, \
               caseness, flags_json, score_json, completed_at, source, note_ct, entered_by, portal_link_id, idempotency_key, created_at) \
             SELECT v.column1, '{p}', v.column2, b.instrument_id, b.instrument_version, b.answers_json, b.total, b.band_id, b.caseness, \
               b.flags_json, b.score_json, v.column4, 'clinician', NULL, '{u}', NULL, NULL, v.column4 \
             FROM (VALUES {}) AS v JOIN bench_variants b ON b.variant = v.column3",
            values_list(store.engine(), rows, 4)
        ))
    };
    let session_sql = |rows: usize| {
        sqlx::AssertSqlSafe(format!(
            "INSERT INTO client_sessions (id, practice_id, client_id, starts_at, duration_minutes, attendance, created_by, created_at) \
             SELECT v.column1, '{p}', v.column2, v.column3, 50, v.column4, '{u}', v.column3 FROM (VALUES {}) AS v",
            values_list(store.engine(), rows, 4)
        ))
    };

    let mut counts = serde_json::Map::new();
    let (mut n_resp, mut n_sessions, mut n_overdue, mut n_lapsed, mut n_deferred_due, mut n_archived, mut n_pending) =
        (0u64, 0u64, 0u64, 0u64, 0u64, 0u64, 0u64);
    let mut pending_resp: Vec<(String, String, i64, i64)> = Vec::new();
    let mut pending_sess: Vec<(String, String, i64, &'static str)> = Vec::new();
    let mut tx = store.begin().await?;
    if store.engine() == concord_store::Engine::Sqlite {
        // Millions of rows go into indexes keyed by random ids: with SQLite's default 2 MB page
        // cache each insert reads pages back from disk and the seed slows to a crawl past a few
        // thousand clients. A large cache on this one connection keeps it linear.
        sqlx::query("PRAGMA cache_size = -4000000").execute(&mut *tx).await.map_err(failed)?;
    }
    for (i, cid) in ids.iter().enumerate() {
        let course = match i % 10 {
            0..=4 => Course::Improver,
            5..=6 => Course::NonResponder,
            7 => Course::Deteriorator,
            _ => Course::Dropout,
        };
        let bucket = (i / 10) % 10;
        let dropout = matches!(course, Course::Dropout);
        let archived = dropout && bucket % 2 == 0;
        // Improvers in bucket 3 stopped their check-ins four days ago (overdue daily check-in).
        let lapsed = matches!(course, Course::Improver) && bucket == 3;
        let active_until = if dropout { start + (weeks / 4) * 7 * 86_400 } else { now };
        let checkins_until = if lapsed { now - 4 * 86_400 } else { active_until };
        let mut g = Generated::default();
        let intake = 12 + rng.below(10);
        let mut weekly: [Vec<ScorePoint>; 3] = [Vec::new(), Vec::new(), Vec::new()];
        for w in 0..weeks + 1 {
            let week = start + w * 7 * 86_400;
            if week + 10 * 3600 <= active_until {
                let att = if rng.below(10) == 0 { "no_show" } else { "attended" };
                g.sessions.push((
                    SessionId::new_at(((week + 10 * 3600) * 1000) as u64, rand10(&mut rng)).to_string(),
                    week + 10 * 3600,
                    att,
                ));
            }
            let at = week + 9 * 3600;
            let x = w as f64 / weeks.max(1) as f64;
            let sev = (severity(course, intake, x) + f64::from(rng.below(5)) - 2.0).round() as i32;
            if at <= active_until {
                let safety = matches!(course, Course::Deteriorator) && rng.below(200) == 0;
                let phq = if safety { V_PHQ9_SAFETY + i64::from(sev.clamp(1, 25)) } else { V_PHQ9 + i64::from(sev.clamp(0, 24)) };
                let gad = V_GAD7 + i64::from((sev * 7 / 9).clamp(0, 21));
                let ws = V_WSAS + i64::from((sev * 40 / 27).clamp(0, 40));
                for (k, v) in [phq, gad, ws].into_iter().enumerate() {
                    let id = ResponseId::new_at((at * 1000) as u64, rand10(&mut rng));
                    if let (Some(series), Some(var)) = (weekly.get_mut(k), variants.get(&v)) {
                        series.push(ScorePoint {
                            id,
                            instrument: var.instrument.clone(),
                            completed_at: at,
                            total: var.total,
                            band: var.band.clone(),
                            caseness: var.caseness,
                            flags: var.flags.clone(),
                            source: store_measures::ResponseSource::Clinician,
                        });
                    }
                    g.responses.push((id.to_string(), v, at));
                }
            }
            for d in 0..7 {
                let t = week + d * 86_400 + 11 * 3600;
                if t > checkins_until {
                    break;
                }
                let mood = (10 - sev * 10 / 27 + rng.below(3) - 1).clamp(0, 10);
                let harm = matches!(course, Course::Deteriorator) && rng.below(2000) == 0;
                let v = if harm { V_CHECKIN_HARM } else { V_CHECKIN } + i64::from(mood);
                g.responses.push((ResponseId::new_at((t * 1000) as u64, rand10(&mut rng)).to_string(), v, t));
            }
        }
        if !dropout {
            let next = now + (1 + i as i64 % 6) * 86_400;
            g.sessions.push((SessionId::new_at((next * 1000) as u64, rand10(&mut rng)).to_string(), next, "scheduled"));
        }
        n_resp += g.responses.len() as u64;
        n_sessions += g.sessions.len() as u64;
        pending_resp.extend(g.responses.into_iter().map(|(id, v, at)| (id, cid.clone(), v, at)));
        pending_sess.extend(g.sessions.into_iter().map(|(id, at, att)| (id, cid.clone(), at, att)));
        while pending_resp.len() >= ROWS_PER_INSERT {
            let rest = pending_resp.split_off(ROWS_PER_INSERT);
            let batch = std::mem::replace(&mut pending_resp, rest);
            let sql = resp_sql(batch.len());
            let mut q = sqlx::query(sql);
            for (id, c, v, at) in batch {
                q = q.bind(id).bind(c).bind(v).bind(at);
            }
            q.execute(&mut *tx).await.map_err(failed)?;
        }
        if pending_sess.len() >= ROWS_PER_INSERT {
            let batch = std::mem::take(&mut pending_sess);
            let mut q = sqlx::query(session_sql(batch.len()));
            for (id, c, at, att) in batch {
                q = q.bind(id).bind(c).bind(at).bind(att);
            }
            q.execute(&mut *tx).await.map_err(failed)?;
        }
        // The caseload summaries, exactly as refresh_summary writes them: first + latest twelve.
        for series in &weekly {
            let Some(first) = series.first() else { continue };
            let mut points: Vec<&ScorePoint> = series.iter().rev().take(12).collect();
            if !points.iter().any(|x| x.id == first.id) {
                points.push(first);
            }
            points.sort_by_key(|x| (x.completed_at, x.id));
            sqlx::query(
                "INSERT INTO measure_summaries (practice_id, client_id, instrument_id, points_json, updated_at) VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(&p)
            .bind(cid)
            .bind(first.instrument.as_str())
            .bind(serde_json::to_string(&points).map_err(failed)?)
            .bind(now)
            .execute(&mut *tx)
            .await
            .map_err(failed)?;
        }
        if archived {
            n_archived += 1;
            sqlx::query("UPDATE clients SET status = 'archived', updated_at = $1 WHERE id = $2")
                .bind(now)
                .bind(cid)
                .execute(&mut *tx)
                .await
                .map_err(failed)?;
        } else {
            for (instrument, f) in [("phq9", "weekly"), ("gad7", "weekly"), ("wsas", "weekly"), ("checkin", "daily")] {
                sqlx::query(
                    "INSERT INTO measure_schedules (id, practice_id, client_id, instrument_id, frequency, starts_at, created_by, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $6)",
                )
                .bind(ScheduleId::new_at((start * 1000) as u64, rand10(&mut rng)).to_string())
                .bind(&p)
                .bind(cid)
                .bind(instrument)
                .bind(f)
                .bind(start)
                .bind(&u)
                .execute(&mut *tx)
                .await
                .map_err(failed)?;
            }
            if dropout {
                n_overdue += 1;
            }
            if lapsed {
                n_lapsed += 1;
            }
            // Non-responders: a no-progress prompt deferred once; in bucket 0 its date has come.
            if matches!(course, Course::NonResponder) && bucket <= 1 {
                let intake_at = start + 9 * 3600;
                let until = if bucket == 0 { now - 86_400 } else { now + 14 * 86_400 };
                if bucket == 0 {
                    n_deferred_due += 1;
                }
                let pid = PromptId::new_at(((now - 30 * 86_400) * 1000) as u64, rand10(&mut rng)).to_string();
                let evidence = serde_json::to_string(&concord_domain::prompts::Evidence { points: Vec::new(), thresholds: Vec::new() })
                    .map_err(failed)?;
                sqlx::query(
                    "INSERT INTO prompts (id, practice_id, client_id, prompt_key, kind, urgency, state, evidence_json, explanation, timing_json, \
                       condition_holds, created_at, evaluated_at, deferred_until) VALUES ($1, $2, $3, $4, 'no_progress', 'soon', 'deferred', $5, \
                       'Consider discussing a referral for medication evaluation (benchmark data).', NULL, 1, $6, $6, $7)",
                )
                .bind(&pid)
                .bind(&p)
                .bind(cid)
                .bind(format!("no_progress:{intake_at}"))
                .bind(evidence)
                .bind(now - 30 * 86_400)
                .bind(until)
                .execute(&mut *tx)
                .await
                .map_err(failed)?;
                for (event, at, actor) in [("opened", now - 30 * 86_400, None), ("deferred", now - 29 * 86_400, Some(&u))] {
                    sqlx::query(
                        "INSERT INTO prompt_events (id, practice_id, client_id, prompt_id, event, response, detail_ct, at, actor_id) \
                         VALUES ($1, $2, $3, $4, $5, NULL, NULL, $6, $7)",
                    )
                    .bind(PromptEventId::new_at((at * 1000) as u64, rand10(&mut rng)).to_string())
                    .bind(&p)
                    .bind(cid)
                    .bind(&pid)
                    .bind(event)
                    .bind(at)
                    .bind(actor)
                    .execute(&mut *tx)
                    .await
                    .map_err(failed)?;
                }
            }
            if pending_percent > 0 && (i as u64 * 100 / n_clients.max(1) as u64) < u64::from(pending_percent) {
                n_pending += 1;
                sqlx::query("INSERT INTO prompt_pending (client_id, practice_id, since) VALUES ($1, $2, $3)")
                    .bind(cid)
                    .bind(&p)
                    .bind(now)
                    .execute(&mut *tx)
                    .await
                    .map_err(failed)?;
            }
        }
        if i % 100 == 99 {
            tx.commit().await.map_err(failed)?;
            tx = store.begin().await?;
            eprint!("\rclients' data {}/{n_clients}, {n_resp} responses ({:.0} s)", i + 1, started.elapsed().as_secs_f64());
        }
    }
    if !pending_resp.is_empty() {
        let batch = std::mem::take(&mut pending_resp);
        let mut q = sqlx::query(resp_sql(batch.len()));
        for (id, c, v, at) in batch {
            q = q.bind(id).bind(c).bind(v).bind(at);
        }
        q.execute(&mut *tx).await.map_err(failed)?;
    }
    if !pending_sess.is_empty() {
        let batch = std::mem::take(&mut pending_sess);
        let mut q = sqlx::query(session_sql(batch.len()));
        for (id, c, at, att) in batch {
            q = q.bind(id).bind(c).bind(at).bind(att);
        }
        q.execute(&mut *tx).await.map_err(failed)?;
    }
    tx.commit().await.map_err(failed)?;
    sqlx::query("DROP TABLE bench_variants").execute(store.pool()).await.map_err(failed)?;
    let secs = started.elapsed().as_secs_f64();
    eprintln!("\rseeded {n_clients} clients, {n_resp} responses, {n_sessions} sessions in {secs:.1} s");
    for (k, v) in [
        ("clients", n_clients as u64),
        ("responses", n_resp),
        ("sessions", n_sessions),
        ("archived", n_archived),
        ("active_dropouts_overdue", n_overdue),
        ("lapsed_checkins", n_lapsed),
        ("deferred_prompts_due", n_deferred_due),
        ("pending", n_pending),
    ] {
        counts.insert(k.into(), v.into());
    }
    counts.insert("seconds".into(), secs.into());
    println!("{}", serde_json::Value::Object(counts));
    store.close().await;
    Ok(ExitCode::SUCCESS)
}
