//! The `concord` binary as administrators and scripts use it: set-up, accounts, tokens, audit
//! verification (with tampering), misuse, an unreachable database, the demo, and a canary that
//! proves a client's name never reaches the database file, its WAL or the logs.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_concord");
const PASSWORD: &str = "correct horse battery staple";

fn concord(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .env_remove("CONCORD_DATABASE_URL")
        .env_remove("CONCORD_PRACTICE_KEY")
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// A data dir, and on PostgreSQL a fresh database, both initialised by `concord init`.
struct Setup {
    dir: tempfile::TempDir,
    url: Option<String>,
}

/// A PostgreSQL test database is dropped with its test (else every run leaves one behind).
impl Drop for Setup {
    fn drop(&mut self) {
        let Some(url) = self.url.take() else { return };
        let Some((prefix, name)) = url.rsplit_once('/') else { return };
        let (admin, name) = (format!("{prefix}/postgres"), name.to_owned());
        // A runtime of its own: the test's may be shutting down.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            rt.block_on(async move {
                if let Ok(mut conn) = <sqlx::AnyConnection as sqlx::Connection>::connect(&admin).await {
                    // The name was generated from a UUID by `fresh_pg`.
                    let _ =
                        sqlx::query(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))).execute(&mut conn).await;
                }
            });
        })
        .join();
    }
}

impl Setup {
    fn data_args(&self) -> Vec<String> {
        let mut v = vec!["--data-dir".to_owned(), self.dir.path().display().to_string()];
        if let Some(u) = &self.url {
            v.push("--database-url".into());
            v.push(u.clone());
        }
        v
    }
    fn run(&self, cmd: &[&str]) -> Output {
        let data = self.data_args();
        // Flags of the leaf command follow the subcommand words.
        let mut args: Vec<&str> = cmd.to_vec();
        args.extend(data.iter().map(String::as_str));
        concord(&args)
    }
}

fn pg_url() -> Option<String> {
    match std::env::var("CONCORD_TEST_PG_URL") {
        Ok(u) if !u.is_empty() => Some(u),
        _ => {
            assert!(std::env::var("CI").is_err(), "CI must set CONCORD_TEST_PG_URL");
            None
        }
    }
}

async fn fresh_pg() -> Option<String> {
    let base = pg_url()?;
    sqlx::any::install_default_drivers();
    let after = base.find("://").unwrap() + 3;
    let prefix = match base[after..].find('/') {
        Some(i) => base[..after + i + 1].to_owned(),
        None => format!("{base}/"),
    };
    let name = format!("concord_cli_{}", uuid::Uuid::new_v4().simple());
    let mut conn = <sqlx::AnyConnection as sqlx::Connection>::connect(&format!("{prefix}postgres")).await.unwrap();
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}"))).execute(&mut conn).await.unwrap();
    Some(format!("{prefix}{name}"))
}

fn password_file(dir: &Path) -> PathBuf {
    let p = dir.join("pw.txt");
    std::fs::write(&p, format!("{PASSWORD}\n")).unwrap();
    p
}

async fn setup(pg: bool) -> Option<Setup> {
    let url = if pg { Some(fresh_pg().await?) } else { None };
    let s = Setup { dir: tempfile::tempdir().unwrap(), url };
    let pw = password_file(s.dir.path());
    let out = s.run(&[
        "init",
        "--practice",
        "Test Practice",
        "--admin-email",
        "admin@example.org",
        "--admin-password-file",
        pw.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "init failed: {}", text(&out.stderr));
    Some(s)
}

async fn accounts_tokens_and_verify(pg: bool) {
    let Some(s) = setup(pg).await else { return };
    let pw = password_file(s.dir.path());
    let out = s.run(&[
        "user",
        "add",
        "--email",
        "sam@example.org",
        "--name",
        "Sam Rivera",
        "--role",
        "clinician",
        "--password-file",
        pw.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = s.run(&["token", "create", "--email", "sam@example.org"]);
    assert!(out.status.success());
    let stdout = text(&out.stdout);
    assert_eq!(stdout.lines().count(), 1, "the token alone on standard output: {stdout:?}");
    assert!(stdout.trim().starts_with("concord_") && stdout.trim().len() > 40);
    let out = s.run(&["token", "list", "--email", "sam@example.org"]);
    assert!(text(&out.stdout).contains("active"));
    let token_id = text(&out.stdout).split('\t').next().unwrap().to_owned();
    assert!(!text(&out.stdout).contains(stdout.trim()), "listing never shows the secret");
    let out = s.run(&["token", "revoke", "--email", "sam@example.org", "--id", &token_id]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = s.run(&["token", "revoke", "--email", "sam@example.org", "--id", &token_id]);
    assert_eq!(out.status.code(), Some(2), "revoking twice is a clear error");
    // Duplicate account and misuse: exit 2 with a message.
    let out = s.run(&[
        "user",
        "add",
        "--email",
        "sam@example.org",
        "--name",
        "Sam",
        "--role",
        "clinician",
        "--password-file",
        pw.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("already exists"));
    let out = s.run(&["audit", "verify"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("intact"));
}

#[tokio::test]
async fn accounts_tokens_and_verify_sqlite() {
    accounts_tokens_and_verify(false).await;
}
#[tokio::test]
async fn accounts_tokens_and_verify_postgres() {
    accounts_tokens_and_verify(true).await;
}

#[test]
fn misuse_exits_2_with_a_message() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    let short = dir.path().join("short.txt");
    std::fs::write(&short, "short\n").unwrap();
    let cases: Vec<Vec<&str>> = vec![
        vec!["user", "add", "--data-dir", d],
        vec![
            "user",
            "add",
            "--data-dir",
            d,
            "--email",
            "x@example.org",
            "--name",
            "X",
            "--role",
            "owner",
            "--password-file",
            short.to_str().unwrap(),
        ],
        vec![
            "user",
            "add",
            "--data-dir",
            d,
            "--email",
            "not-an-email",
            "--name",
            "X",
            "--role",
            "clinician",
            "--password-file",
            short.to_str().unwrap(),
        ],
        vec![
            "init",
            "--data-dir",
            d,
            "--practice",
            "P",
            "--admin-email",
            "a@example.org",
            "--admin-password-file",
            short.to_str().unwrap(),
        ],
        vec!["init", "--data-dir", d, "--practice", "P", "--admin-email", "a@example.org", "--admin-password-file", "/nonexistent/file"],
        vec!["init", "--data-dir", d, "--admin-email", "a@example.org"],
        vec!["token", "create", "--data-dir", d, "--email", "a@example.org"],
        vec!["audit", "verify", "--data-dir", d],
        vec!["serve", "--data-dir", d, "--listen", "not-an-address"],
        vec!["serve", "--data-dir", d, "--database-url", "mysql://x"],
        vec!["score", "phq9", "1,2,x"],
        vec!["score", "nosuch", "1"],
        vec!["outcome", "--measure", "phq9"],
        vec!["mi", "code", "/nonexistent/transcript.txt"],
        vec!["frobnicate"],
    ];
    for args in cases {
        let out = concord(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", text(&out.stderr));
        assert!(!text(&out.stderr).trim().is_empty(), "{args:?} says why");
        assert!(!text(&out.stderr).contains("panicked"), "{args:?} panicked");
    }
}

/// Edits, deletions and reorderings of audit rows make `concord audit verify` exit 1.
async fn tamper(pg: bool) {
    type Tamper = (&'static str, &'static [&'static str], &'static str);
    let tampers: [Tamper; 5] = [
        ("edit", &["UPDATE audit_log SET detail = 'nothing to see' WHERE seq = 2 AND practice_id <> 'system'"], "edited"),
        ("edit actor", &["UPDATE audit_log SET actor_id = 'someone-else' WHERE seq = 3 AND practice_id <> 'system'"], "edited"),
        ("delete middle", &["DELETE FROM audit_log WHERE seq = 2 AND practice_id <> 'system'"], "missing"),
        (
            "delete last",
            &[
                "DELETE FROM audit_log WHERE practice_id <> 'system' AND seq = (SELECT MAX(seq) FROM audit_log WHERE practice_id <> 'system')",
            ],
            "ends early",
        ),
        (
            "reorder",
            &[
                "UPDATE audit_log SET seq = -1 WHERE seq = 2 AND practice_id <> 'system'",
                "UPDATE audit_log SET seq = 2 WHERE seq = 3 AND practice_id <> 'system'",
                "UPDATE audit_log SET seq = 3 WHERE seq = -1 AND practice_id <> 'system'",
            ],
            "",
        ),
    ];
    for (name, statements, reason) in tampers {
        let Some(s) = setup(pg).await else { return };
        let pw = password_file(s.dir.path());
        for i in 0..3 {
            let out = s.run(&[
                "user",
                "add",
                "--email",
                &format!("u{i}@example.org"),
                "--name",
                "U",
                "--role",
                "clinician",
                "--password-file",
                pw.to_str().unwrap(),
            ]);
            assert!(out.status.success());
        }
        assert_eq!(s.run(&["audit", "verify"]).status.code(), Some(0));
        let url = s.url.clone().unwrap_or_else(|| format!("sqlite://{}", s.dir.path().join("concord.db").display()));
        sqlx::any::install_default_drivers();
        let mut conn = <sqlx::AnyConnection as sqlx::Connection>::connect(&url).await.unwrap();
        for st in statements {
            sqlx::query(*st).execute(&mut conn).await.unwrap();
        }
        drop(conn);
        let out = s.run(&["audit", "verify"]);
        assert_eq!(out.status.code(), Some(1), "{name}: tampering went unnoticed");
        let err = text(&out.stderr);
        assert!(err.contains("broken at entry"), "{name}: {err}");
        assert!(err.contains(reason), "{name}: {err}");
    }
}

#[tokio::test]
async fn tamper_sqlite() {
    tamper(false).await;
}
#[tokio::test]
async fn tamper_postgres() {
    tamper(true).await;
}

/// A running server, stopped on drop.
struct Server {
    child: std::process::Child,
    url: String,
    log: PathBuf,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(args: &[&str], log: PathBuf) -> Server {
    let mut child = Command::new(BIN)
        .args(args)
        .env("CONCORD_LOG", "debug")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let line = lines.next().unwrap().unwrap();
    let url = line.strip_prefix("Concord is running at ").unwrap_or_else(|| panic!("unexpected first line: {line}")).to_owned();
    std::thread::spawn(move || for _ in lines {});
    Server { child, url, log }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn file_contains(path: &Path, needle: &str) -> bool {
    std::fs::read(path).map(|b| b.windows(needle.len()).any(|w| w == needle.as_bytes())).unwrap_or(false)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn canary_name_never_reaches_disk_or_logs() {
    let s = setup(false).await.unwrap();
    let pw = password_file(s.dir.path());
    s.run(&["user", "add", "--email", "sam@example.org", "--name", "Sam", "--role", "clinician", "--password-file", pw.to_str().unwrap()]);
    let token = text(&s.run(&["token", "create", "--email", "sam@example.org"]).stdout).trim().to_owned();
    let canary = format!("Canary{}", uuid::Uuid::new_v4().simple());
    let port = free_port().to_string();
    let mut args = vec!["serve", "--listen"];
    let listen = format!("127.0.0.1:{port}");
    args.push(&listen);
    let data = s.data_args();
    args.extend(data.iter().map(String::as_str));
    let server = start(&args, s.dir.path().join("server.log"));
    let http = reqwest::Client::new();
    let r = http
        .post(format!("{}/api/v1/clients", server.url))
        .bearer_auth(&token)
        .json(&serde_json::json!({"name": format!("{canary} Smith"), "date_of_birth": "1980-01-01"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let id = r.json::<serde_json::Value>().await.unwrap()["id"].as_str().unwrap().to_owned();
    for path in [format!("/api/v1/clients/{id}"), format!("/api/v1/clients?q={canary}"), "/api/v1/clients".to_owned()] {
        let r = http.get(format!("{}{path}", server.url)).bearer_auth(&token).send().await.unwrap();
        assert!(r.text().await.unwrap().contains(&canary), "{path} serves the name");
    }
    // A transcript mentioning the name: its text is sealed too.
    let r = http
        .post(format!("{}/api/v1/clients/{id}/sessions", server.url))
        .bearer_auth(&token)
        .json(&serde_json::json!({"starts_at": "2026-01-05T10:00:00Z", "duration_minutes": 50, "attendance": "attended"}))
        .send()
        .await
        .unwrap();
    let sid = r.json::<serde_json::Value>().await.unwrap()["id"].as_str().unwrap().to_owned();
    let transcript = format!("T: How are you, {canary}?\nC: I want to drink less, {canary} is tired of it.\n");
    let r = http
        .post(format!("{}/api/v1/clients/{id}/sessions/{sid}/transcript", server.url))
        .bearer_auth(&token)
        .json(&serde_json::json!({"text": transcript}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    // A search term in a failing request must not be logged either.
    http.get(format!("{}/api/v1/clients?q={canary}&bogus=1", server.url)).bearer_auth(&token).send().await.unwrap();
    let db = s.dir.path().join("concord.db");
    let files = [db.clone(), s.dir.path().join("concord.db-wal"), s.dir.path().join("concord.db-shm"), server.log.clone()];
    for f in &files {
        for needle in [canary.as_str(), &canary.to_lowercase()] {
            assert!(!file_contains(f, needle), "{} contains the client's name", f.display());
        }
    }
    assert!(std::fs::metadata(&server.log).unwrap().len() > 0, "the log captured something (debug level)");
    // A backup taken while the server runs holds no plaintext either, and restores.
    let backup = s.dir.path().join("backup.db");
    let out = s.run(&["backup", "--out", backup.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(std::fs::metadata(&backup).unwrap().len() > 0);
    assert!(!file_contains(&backup, &canary), "the backup contains the client's name");
    assert_eq!(s.run(&["backup", "--out", backup.to_str().unwrap()]).status.code(), Some(2), "never overwrites");
    let restored = tempfile::tempdir().unwrap();
    std::fs::copy(s.dir.path().join("practice.key"), restored.path().join("practice.key")).unwrap();
    let out = concord(&["restore", "--data-dir", restored.path().to_str().unwrap(), "--from", backup.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(concord(&["audit", "verify", "--data-dir", restored.path().to_str().unwrap()]).status.code(), Some(0));
    let other_key = tempfile::tempdir().unwrap();
    std::fs::write(other_key.path().join("practice.key"), format!("{}\n", "11".repeat(32))).unwrap();
    let out = concord(&["restore", "--data-dir", other_key.path().to_str().unwrap(), "--from", backup.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "a backup that the key cannot open is refused");
    assert!(!other_key.path().join("concord.db").exists());
    drop(server);
    for f in &files {
        assert!(!file_contains(f, &canary), "{} contains the client's name after shutdown", f.display());
    }
}

#[test]
fn unreachable_database_fails_fast_with_a_message() {
    let dir = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let out = Command::new(BIN)
        .args([
            "serve",
            "--data-dir",
            dir.path().to_str().unwrap(),
            "--database-url",
            "postgres://postgres@127.0.0.1:1/nothing",
            "--listen",
            "127.0.0.1:0",
        ])
        .env("CONCORD_PRACTICE_KEY", "00".repeat(32))
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("cannot connect to the postgres database"), "{}", text(&out.stderr));
    assert!(started.elapsed() < Duration::from_secs(30), "no hang");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_starts_and_lists_its_logins() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(BIN)
        .args(["serve", "--demo", "--listen", "127.0.0.1:0"])
        .env("CONCORD_DEMO_PASSWORD", "a demo password for tests")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(dir.path().join("log")).unwrap())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let url = lines.next().unwrap().unwrap().strip_prefix("Concord is running at ").unwrap().to_owned();
    let rest: Vec<String> = lines.by_ref().take(7).map(Result::unwrap).collect();
    assert!(rest.iter().any(|l| l.contains("a demo password for tests")));
    assert!(rest.iter().any(|l| l.contains("admin")));
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    assert_eq!(http.get(format!("{url}/healthz")).send().await.unwrap().status(), 200);
    let r = http
        .post(format!("{url}/login"))
        .form(&[("email", "sam.rivera@demo.concord.test"), ("password", "a demo password for tests")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let cookie = r.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_owned();
    let page = http.get(format!("{url}/caseload")).header("cookie", cookie).send().await.unwrap().text().await.unwrap();
    assert!(page.matches("<tr>").count() >= 5, "the demo caseload has clients");
    let _ = child.kill();
    let _ = child.wait();
}

fn json_of(out: &Output) -> serde_json::Value {
    assert!(out.status.success(), "{}", text(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn score_and_outcome_json_contracts() {
    let v = json_of(&concord(&["score", "phq9", "3,3,2,2,2,2,1,1,1", "--json"]));
    assert_eq!((v["total"].as_i64(), v["band"].as_str(), v["caseness"].as_bool()), (Some(17), Some("moderately_severe"), Some(true)));
    assert_eq!(v["flags"], serde_json::json!(["safety"]), "PHQ-9 item 9 above 0 flags safety");
    let v = json_of(&concord(&["score", "phq9", "0,0,0,0,0,0,0,0,0", "--json"]));
    assert_eq!(v["flags"], serde_json::json!([]));
    assert_eq!(v["band"], "minimal");
    let v = json_of(&concord(&["score", "gad7", "1,-,1,1,1,1,1", "--json"]));
    assert!(v["total"].is_number(), "one missing GAD-7 item is prorated: {v}");
    let v = json_of(&concord(&["outcome", "--measure", "phq9=18,12,9", "--measure", "gad7=12,10,6", "--json"]));
    for (k, want) in [
        ("case_at_start", true),
        ("case_at_end", false),
        ("reliable_improvement", true),
        ("reliable_deterioration", false),
        ("recovery", true),
        ("reliable_recovery", true),
    ] {
        assert_eq!(v[k].as_bool(), Some(want), "{k}");
    }
    // Batch scoring from a CSV.
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("r.csv");
    std::fs::write(&f, "id,instrument,answers\na,phq9,\"1,1,1,1,1,1,1,1,0\"\nb,gad7,\"3,3,3,3,3,3,3\"\n").unwrap();
    let out = concord(&["score", "--file", f.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let csv = text(&out.stdout);
    assert!(csv.starts_with("id,instrument,answers,total,band,caseness,flags"), "{csv}");
    assert!(csv.contains("a,phq9,\"1,1,1,1,1,1,1,1,0\",8,mild,false,"), "{csv}");
    assert!(csv.contains(",21,severe,true,"), "{csv}");
    std::fs::write(&f, "id,instrument,answers\na,phq9,\"1,1\"\n").unwrap();
    let out = concord(&["score", "--file", f.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("line 2"), "{}", text(&out.stderr));
    assert!(out.stdout.is_empty(), "no partial output");
}

#[test]
fn mi_code_json_contract() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("t.txt");
    std::fs::write(&f, "T: What would you like to talk about today?\nC: My drinking, I guess. I want to cut down.\nT: You want to cut down.\nC: But I don't think it's a big problem.\n").unwrap();
    let v = json_of(&concord(&["mi", "code", f.to_str().unwrap(), "--json"]));
    let u = v["utterances"].as_array().unwrap();
    assert_eq!(u.len(), 4);
    for (i, x) in u.iter().enumerate() {
        assert_eq!(x["index"], i);
        assert!(x["confidence"].as_f64().is_some_and(|c| (0.0..=1.0).contains(&c)));
    }
    assert_eq!(u[0]["speaker"], "therapist");
    assert!(["question", "reflection", "therapist_input", "other"].contains(&u[0]["behaviour"].as_str().unwrap()));
    assert!(u[0].get("question").is_some() && u[0].get("reflection").is_some());
    assert_eq!(u[1]["speaker"], "client");
    assert!(["change", "neutral", "sustain"].contains(&u[1]["talk"].as_str().unwrap()));
    let s = &v["summary"];
    for k in [
        "questions",
        "open_questions",
        "reflections",
        "complex_reflections",
        "reflection_to_question",
        "percent_complex_reflections",
        "percent_open_questions",
        "change_talk",
        "sustain_talk",
        "change_talk_proportion",
    ] {
        assert!(s.get(k).is_some(), "summary.{k}");
    }
    assert!(s["miti"].get("reflection_to_question").is_some() && s["miti"].get("percent_complex_reflections").is_some());
    // Bad transcripts: exit 2 naming the line.
    std::fs::write(&f, "T: hello\nX: who is this\n").unwrap();
    let out = concord(&["mi", "code", f.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("line 2"), "{}", text(&out.stderr));
    std::fs::write(&f, b"T: caf\xff\n").unwrap();
    assert_eq!(concord(&["mi", "code", f.to_str().unwrap()]).status.code(), Some(2));
    std::fs::write(&f, "").unwrap();
    assert_eq!(concord(&["mi", "code", f.to_str().unwrap()]).status.code(), Some(2));
}

/// `concord prompts sweep`: its JSON contract, and idempotence (a second run opens nothing),
/// over a caseload written through the store (pending marks) and over the sweep benchmark's
/// bulk-seeded one (overdue measures, deferred prompts come due).
async fn prompts_sweep(pg: bool) {
    let Some(s) = setup(pg).await else { return };
    let seeded = s.run(&["bench", "seed", "--clients", "3", "--years", "1"]);
    assert!(seeded.status.success(), "{}", text(&seeded.stderr));
    let sweep = |s: &Setup| json_of(&s.run(&["prompts", "sweep", "--json"]));
    let first = sweep(&s);
    for field in ["clients_checked", "clients_evaluated", "opened", "reopened", "elapsed_ms"] {
        assert!(first[field].is_u64(), "{field} in {first}");
    }
    assert!(first["clients_evaluated"].as_u64().unwrap() >= 3, "every client written to is evaluated: {first}");
    let second = sweep(&s);
    assert_eq!(second["opened"], 0, "idempotent: {second}");
    assert_eq!(second["reopened"], 0, "{second}");
    assert_eq!(second["clients_evaluated"], 0, "nothing left to do: {second}");

    let bulk = s.run(&["bench", "seed-prompts", "--clients", "20", "--years", "1"]);
    assert!(bulk.status.success(), "{}", text(&bulk.stderr));
    let first = sweep(&s);
    assert!(first["clients_checked"].as_u64().unwrap() >= 18, "{first}");
    assert!(first["opened"].as_u64().unwrap() > 0, "overdue measures open prompts: {first}");
    let second = sweep(&s);
    assert_eq!((second["opened"].as_u64(), second["reopened"].as_u64()), (Some(0), Some(0)), "idempotent: {second}");

    let human = s.run(&["prompts", "sweep"]);
    assert!(human.status.success(), "{}", text(&human.stderr));
    assert!(text(&human.stdout).contains("opened 0 prompts"), "{}", text(&human.stdout));
    let verify = s.run(&["audit", "verify"]);
    assert!(verify.status.success(), "the seeded data leaves the audit chain intact: {}", text(&verify.stderr));
}

#[tokio::test]
async fn prompts_sweep_sqlite() {
    prompts_sweep(false).await;
}

#[tokio::test]
async fn prompts_sweep_postgres() {
    if pg_url().is_some() {
        prompts_sweep(true).await;
    }
}

#[test]
fn prompts_sweep_misuse_and_unreachable_database() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    for args in [
        vec!["prompts", "sweep", "--data-dir", d],
        vec!["prompts", "sweep", "--data-dir", d, "--database-url", "mysql://x"],
        vec!["prompts", "sweep", "--data-dir", d, "--frobnicate"],
        vec!["prompts"],
    ] {
        let out = concord(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", text(&out.stderr));
        assert!(!text(&out.stderr).trim().is_empty(), "{args:?} says why");
    }
    let help = concord(&["prompts", "sweep", "--help"]);
    assert!(help.status.success());
    assert!(text(&help.stdout).contains("--json") && text(&help.stdout).contains("--database-url"), "{}", text(&help.stdout));
    let started = Instant::now();
    let out = Command::new(BIN)
        .args(["prompts", "sweep", "--data-dir", d, "--database-url", "postgres://postgres@127.0.0.1:1/nothing"])
        .env("CONCORD_PRACTICE_KEY", "00".repeat(32))
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "an unreachable database is a failed operation: {}", text(&out.stderr));
    assert!(text(&out.stderr).contains("cannot connect to the postgres database"), "{}", text(&out.stderr));
    assert!(started.elapsed() < Duration::from_secs(30), "no hang");
}

/// `bench/measures.sh` reads the reference and the disk's commit tail from this JSON.
#[test]
fn bench_commits_reports_the_rate_and_the_disks_tail() {
    let dir = tempfile::tempdir().unwrap();
    let out = concord(&["bench", "commits", "--data-dir", dir.path().to_str().unwrap(), "--count", "50"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let v = json_of(&out);
    assert_eq!(v["commits"], 50);
    let ms = |k: &str| v[k].as_f64().unwrap_or_else(|| panic!("{k} in {v}"));
    assert!(ms("commits_per_second") > 0.0);
    assert!(0.0 < ms("p50_ms") && ms("p50_ms") <= ms("p99_ms") && ms("p99_ms") <= ms("max_ms"), "{v}");
    assert!(v["over_20_ms"].as_u64().unwrap() <= 50);
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0, "the scratch database is removed");
}
