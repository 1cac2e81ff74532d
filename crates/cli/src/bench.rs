//! `concord bench`: the data generator and the durable-commit reference behind
//! `bench/measures.sh` (issue 3's write- and read-path benchmarks).

use crate::setup::{hash_password, open};
use crate::{CliError, DataArgs};
use concord_domain::clock::{Clock, SystemClock};
use concord_domain::measures::Registry;
use concord_domain::measures::schedule::Frequency;
use concord_domain::measures::score::{Answer, Answers};
use concord_domain::policy;
use concord_domain::values::{Attendance, ClientName, DurationMinutes, Email, NewPassword, PersonName, PracticeName, Role};
use concord_store::accounts::{self, NewUser, SessionStage};
use concord_store::clients::{self, NewSession};
use concord_store::crypto::PracticeKey;
use concord_store::measures::{self as store_measures, NewResponse, ResponseSource};
use concord_store::{Ctx, Store, db};
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

pub async fn run(cmd: BenchCommand) -> Result<ExitCode, CliError> {
    match cmd {
        BenchCommand::Seed { data, clients, years } => seed(data, clients, years).await,
        BenchCommand::Commits { data_dir, count } => commits(&data_dir, count).await,
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
            for (def, answers) in [(phq9, spread(sev, 9, 3)), (gad7, spread(sev * 7 / 9, 7, 3)), (wsas, spread(sev * 40 / 27, 5, 8))] {
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
    for _ in 0..count {
        let mut tx = conn.begin_with("BEGIN IMMEDIATE").await.map_err(|e| CliError::failed(e.to_string()))?;
        sqlx::query("INSERT INTO t (v) VALUES ($1)")
            .bind("x".repeat(200))
            .execute(&mut *tx)
            .await
            .map_err(|e| CliError::failed(e.to_string()))?;
        tx.commit().await.map_err(|e| CliError::failed(e.to_string()))?;
    }
    let secs = started.elapsed().as_secs_f64();
    println!("{}", serde_json::json!({"commits": count, "seconds": secs, "commits_per_second": count as f64 / secs}));
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
    Ok(ExitCode::SUCCESS)
}
