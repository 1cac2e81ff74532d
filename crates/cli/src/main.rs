//! `concord`: one binary for the server, set-up, accounts, tokens, audit verification and
//! (in later issues) scoring and transcript coding.
//!
//! Exit codes: 0 success; 1 the operation failed (database unreachable, audit chain broken);
//! 2 misuse or bad input, with a message.

mod bench;
mod demo;
mod demo_decisions;
mod demo_measures;
mod demo_records;
mod measures;
mod mi;
mod prompts;
mod serve;
mod setup;

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

/// mimalloc instead of glibc's allocator: a page render makes thousands of small allocations
/// (rows, strings, escaped HTML) across worker threads, and glibc's malloc and free took about
/// 14 % of the server's CPU under load (bench/README.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(name = "concord", version, about = "Concord: a workbench for psychotherapists whose clients are ambivalent")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// Where the data lives; every command that touches the database takes these.
#[derive(clap::Args, Clone, Debug)]
pub struct DataArgs {
    /// Data directory: the SQLite file and the practice key file live here.
    #[arg(long, env = "CONCORD_DATA_DIR", default_value = "concord-data")]
    pub data_dir: PathBuf,
    /// Use this database instead of the SQLite file (postgres://user@host/db).
    #[arg(long, env = "CONCORD_DATABASE_URL")]
    pub database_url: Option<String>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the web application.
    Serve(serve::ServeArgs),
    /// Create a practice, its first administrator and the practice key.
    Init(setup::InitArgs),
    /// Manage staff accounts.
    User {
        #[command(subcommand)]
        command: setup::UserCommand,
    },
    /// Manage personal API tokens.
    Token {
        #[command(subcommand)]
        command: setup::TokenCommand,
    },
    /// Audit log tools.
    Audit {
        #[command(subcommand)]
        command: setup::AuditCommand,
    },
    /// Copy the SQLite database while Concord runs (client data stays encrypted).
    Backup(setup::BackupArgs),
    /// Restore a backup into an empty data dir holding the practice key.
    Restore(setup::RestoreArgs),
    /// Score an instrument's answers (no server needed).
    Score(measures::ScoreArgs),
    /// Classify an episode (NHS Talking Therapies conventions) from measure totals.
    Outcome(measures::OutcomeArgs),
    /// Benchmark helpers: the measures data generator and the durable-commit reference.
    Bench {
        #[command(subcommand)]
        command: bench::BenchCommand,
    },
    /// Clinical prompts: the sweep for time-based rules (run it from cron or a timer).
    Prompts {
        #[command(subcommand)]
        command: prompts::PromptsCommand,
    },
    /// Motivational-interviewing transcript coding.
    Mi {
        #[command(subcommand)]
        command: mi::MiCommand,
    },
}

/// A command's failure: the message, and whether it was the caller's mistake (exit 2).
#[derive(Debug)]
pub struct CliError {
    pub message: String,
    pub usage: bool,
}

impl CliError {
    pub fn usage(message: impl Into<String>) -> Self {
        Self { message: message.into(), usage: true }
    }
    pub fn failed(message: impl Into<String>) -> Self {
        Self { message: message.into(), usage: false }
    }
}

impl From<concord_store::StoreError> for CliError {
    fn from(e: concord_store::StoreError) -> Self {
        use concord_store::StoreError as E;
        match e {
            E::Conflict(m) | E::Invalid(m) => CliError::usage(m),
            E::NotFound => CliError::usage("not found"),
            other => CliError::failed(other.to_string()),
        }
    }
}

impl From<concord_domain::values::ValueError> for CliError {
    fn from(e: concord_domain::values::ValueError) -> Self {
        CliError::usage(e.to_string())
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::from(1);
        }
    };
    let result = runtime.block_on(async move {
        match cli.command {
            Command::Serve(args) => serve::run(args).await,
            Command::Init(args) => setup::init(args).await,
            Command::User { command } => setup::user(command).await,
            Command::Token { command } => setup::token(command).await,
            Command::Audit { command } => setup::audit(command).await,
            Command::Backup(args) => setup::backup(args).await,
            Command::Restore(args) => setup::restore(args).await,
            Command::Score(args) => measures::score(args),
            Command::Outcome(args) => measures::outcome(args),
            Command::Mi { command } => mi::run(command),
            Command::Bench { command } => bench::run(command).await,
            Command::Prompts { command } => prompts::run(command).await,
        }
    });
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {}", e.message);
            ExitCode::from(if e.usage { 2 } else { 1 })
        }
    }
}
