//! `concord prompts sweep`: the time-based rules of issue 4 (overdue measures, deferred prompts
//! whose date has come) and every client still marked for evaluation, run once against the
//! system clock. Idempotent: a second run opens nothing. Meant for cron or a systemd timer.

use crate::setup::{ctx, open};
use crate::{CliError, DataArgs};
use std::process::ExitCode;
use std::time::Instant;

#[derive(clap::Subcommand)]
pub enum PromptsCommand {
    /// Evaluate every client marked pending, every client whose deferred prompt has come due and
    /// every active client with a newly overdue measure; open the prompts the rules raise (never
    /// a duplicate). Safe to run as often as you like.
    Sweep(SweepArgs),
}

#[derive(clap::Args)]
pub struct SweepArgs {
    #[command(flatten)]
    data: DataArgs,
    /// Print JSON: {"clients_checked", "clients_evaluated", "opened", "reopened", "elapsed_ms"}.
    #[arg(long)]
    json: bool,
}

pub async fn run(cmd: PromptsCommand) -> Result<ExitCode, CliError> {
    match cmd {
        PromptsCommand::Sweep(args) => sweep(args).await,
    }
}

async fn sweep(args: SweepArgs) -> Result<ExitCode, CliError> {
    let store = open(&args.data).await?;
    let started = Instant::now();
    let result = concord_store::prompts::sweep(&store, &ctx("prompts-sweep")).await;
    let elapsed = started.elapsed();
    store.close().await;
    let report = result?;
    let elapsed_ms = u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX);
    if args.json {
        let out = serde_json::json!({
            "clients_checked": report.clients_checked,
            "clients_evaluated": report.clients_evaluated,
            "opened": report.opened,
            "reopened": report.reopened,
            "elapsed_ms": elapsed_ms,
        });
        println!("{out}");
    } else {
        println!(
            "Swept {} active clients with a schedule: evaluated {}, opened {} prompts, reopened {} (in {:.2} s).",
            report.clients_checked,
            report.clients_evaluated,
            report.opened,
            report.reopened,
            elapsed.as_secs_f64()
        );
    }
    Ok(ExitCode::SUCCESS)
}
