//! `concord score` and `concord outcome`: scoring for researchers and scripts, no server.

use crate::CliError;
use concord_domain::measures::Registry;
use concord_domain::measures::cli_support::{self, OutcomeJson, ScoreJson};
use concord_domain::measures::outcome::OutcomeConfig;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args)]
#[command(group(clap::ArgGroup::new("input").required(true).args(["answers", "file"])))]
pub struct ScoreArgs {
    /// Instrument id (phq9, phq2, gad7, wsas, fibser, readiness, checkin, session_feedback, sure).
    instrument: Option<String>,
    /// Answers, comma-separated; `-` for a missing answer, `na` for not applicable.
    #[arg(allow_hyphen_values = true)]
    answers: Option<String>,
    /// Score a CSV in batch: columns `instrument` and `answers` (others are copied through).
    #[arg(long, conflicts_with_all = ["instrument", "answers"])]
    file: Option<PathBuf>,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

fn registry() -> Result<Registry, CliError> {
    Registry::shipped().map_err(|e| CliError::failed(format!("built-in instruments: {e}")))
}

pub fn score(args: ScoreArgs) -> Result<ExitCode, CliError> {
    let registry = registry()?;
    if let Some(file) = args.file {
        return score_file(&registry, &file, args.json);
    }
    let instrument = args.instrument.ok_or_else(|| CliError::usage("give INSTRUMENT and ANSWERS, or --file"))?;
    let answers = args.answers.ok_or_else(|| CliError::usage("give the ANSWERS after the instrument, e.g. 1,2,0,3"))?;
    let (def, s) = cli_support::score_command(&registry, &instrument, &answers).map_err(|e| CliError::usage(e.to_string()))?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&ScoreJson::from(&s)).map_err(|e| CliError::failed(e.to_string()))?);
    } else {
        print!("{}", cli_support::render_score_text(def, &s));
    }
    Ok(ExitCode::SUCCESS)
}

/// Batch scoring: reads the CSV, writes a scored CSV (or JSON lines) to standard output.
fn score_file(registry: &Registry, path: &std::path::Path, json: bool) -> Result<ExitCode, CliError> {
    let bytes = std::fs::read(path).map_err(|e| CliError::usage(format!("cannot read {}: {e}", path.display())))?;
    let mut reader = csv::ReaderBuilder::new().flexible(false).from_reader(bytes.as_slice());
    let headers = reader.headers().map_err(|e| CliError::usage(format!("{}: {e}", path.display())))?.clone();
    let col = |name: &str| headers.iter().position(|h| h.trim() == name);
    let (Some(ic), Some(ac)) = (col("instrument"), col("answers")) else {
        return Err(CliError::usage(format!("{}: the header must have columns `instrument` and `answers`", path.display())));
    };
    let rows: Vec<csv::StringRecord> = reader
        .records()
        .enumerate()
        .map(|(i, r)| r.map_err(|e| CliError::usage(format!("{} line {}: {e}", path.display(), i + 2))))
        .collect::<Result<_, _>>()?;
    let bar = indicatif::ProgressBar::new(rows.len() as u64);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} scored").unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    // Score everything first: a bad row stops the batch before any output (no partial file).
    let mut scored = Vec::with_capacity(rows.len());
    for (i, row) in rows.iter().enumerate() {
        let field = |c: usize| row.get(c).unwrap_or("");
        let (_, s) = cli_support::score_command(registry, field(ic), field(ac))
            .map_err(|e| CliError::usage(format!("{} line {}: {e}", path.display(), i + 2)))?;
        scored.push(ScoreJson::from(&s));
        bar.inc(1);
    }
    bar.finish_and_clear();
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    if json {
        for s in &scored {
            writeln!(out, "{}", serde_json::to_string(s).unwrap_or_default()).map_err(|e| CliError::failed(e.to_string()))?;
        }
    } else {
        let mut w = csv::Writer::from_writer(out);
        let mut header: Vec<&str> = headers.iter().collect();
        header.extend(["total", "band", "caseness", "flags"]);
        w.write_record(&header).map_err(|e| CliError::failed(e.to_string()))?;
        for (row, s) in rows.iter().zip(&scored) {
            let mut rec: Vec<String> = row.iter().map(str::to_owned).collect();
            let v = serde_json::to_value(s).unwrap_or_default();
            let text = |k: &str| {
                v.get(k)
                    .map(|x| {
                        if let Some(s) = x.as_str() {
                            s.to_owned()
                        } else if x.is_null() {
                            String::new()
                        } else {
                            x.to_string()
                        }
                    })
                    .unwrap_or_default()
            };
            let flags = v
                .get("flags")
                .and_then(|f| f.as_array())
                .map(|a| a.iter().filter_map(|x| x.as_str()).collect::<Vec<_>>().join(";"))
                .unwrap_or_default();
            rec.extend([text("total"), text("band"), text("caseness"), flags]);
            w.write_record(&rec).map_err(|e| CliError::failed(e.to_string()))?;
        }
        w.flush().map_err(|e| CliError::failed(e.to_string()))?;
    }
    Ok(ExitCode::SUCCESS)
}

#[derive(clap::Args)]
pub struct OutcomeArgs {
    /// A measure's totals, oldest first: NAME=v1,v2,... (e.g. phq9=18,12,9). Repeat per measure.
    #[arg(long = "measure", required = true)]
    measures: Vec<String>,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

pub fn outcome(args: OutcomeArgs) -> Result<ExitCode, CliError> {
    let config = OutcomeConfig::default();
    let o = cli_support::outcome_command(&args.measures, &config).map_err(|e| CliError::usage(e.to_string()))?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&OutcomeJson::from(&o)).map_err(|e| CliError::failed(e.to_string()))?);
    } else {
        print!("{}", cli_support::render_outcome_text(&o));
    }
    Ok(ExitCode::SUCCESS)
}
