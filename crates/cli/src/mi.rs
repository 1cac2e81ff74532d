//! `concord mi`: motivational-interviewing transcript coding, training, evaluation, benchmark.

use crate::CliError;
use concord_mi::parse::{Format, ParseOptions, parse_transcript};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Subcommand)]
pub enum MiCommand {
    /// Code a transcript: therapist behaviours, client talk, and a MITI-style summary.
    Code {
        /// Transcript file (plain text with T:/C: prefixes, WebVTT, SRT or CSV).
        file: PathBuf,
        #[arg(long, default_value = "auto", value_parser = ["auto", "text", "vtt", "srt", "csv"])]
        format: String,
        /// Print JSON (one entry per utterance, then the summary).
        #[arg(long)]
        json: bool,
        /// Extra speaker label that means the therapist (repeatable).
        #[arg(long = "therapist-name")]
        therapist_names: Vec<String>,
        /// Extra speaker label that means the client (repeatable).
        #[arg(long = "client-name")]
        client_names: Vec<String>,
        /// CSV column holding the speaker.
        #[arg(long, default_value = "interlocutor")]
        speaker_column: String,
        /// CSV column holding the utterance text.
        #[arg(long, default_value = "utterance_text")]
        text_column: String,
    },
    /// Train a model from the AnnoMI files (reproducible: the same seed gives the same model).
    Train {
        /// Directory holding AnnoMI-simple.dev.csv and AnnoMI-full.dev.csv.
        #[arg(long)]
        data: PathBuf,
        /// Where to write the model.
        #[arg(long)]
        out: PathBuf,
        #[arg(long, default_value_t = concord_mi::train::DEFAULT_SEED)]
        seed: u64,
    },
    /// Cross-validate grouped by video: macro-F1, per-class F1, confusion matrices, session errors.
    Eval {
        /// AnnoMI CSV (with the other AnnoMI file beside it) or their directory.
        #[arg(long)]
        data: PathBuf,
        #[arg(long, default_value_t = 5)]
        folds: usize,
        #[arg(long)]
        json: bool,
    },
    /// Measure coding speed against a reference measured in the same run.
    Bench {
        /// Utterances to code.
        #[arg(long, default_value_t = 200_000)]
        utterances: usize,
        #[arg(long)]
        json: bool,
    },
}

fn progress(label: &'static str) -> (indicatif::ProgressBar, impl FnMut(usize, usize)) {
    let bar = indicatif::ProgressBar::new(0);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{msg} {bar:40} {pos}/{len}").unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    bar.set_message(label);
    let b = bar.clone();
    (bar, move |done: usize, total: usize| {
        b.set_length(total as u64);
        b.set_position(done as u64);
    })
}

pub fn run(cmd: MiCommand) -> Result<ExitCode, CliError> {
    match cmd {
        MiCommand::Code { file, format, json, therapist_names, client_names, speaker_column, text_column } => {
            let bytes = std::fs::read(&file).map_err(|e| CliError::usage(format!("cannot read {}: {e}", file.display())))?;
            let format: Format = format.parse().map_err(|_| CliError::usage("unknown --format"))?;
            let mut opts = ParseOptions { speaker_column, text_column, ..ParseOptions::default() };
            opts.therapist_names.extend(therapist_names.into_iter().map(|n| n.to_lowercase()));
            opts.client_names.extend(client_names.into_iter().map(|n| n.to_lowercase()));
            let hint = file.to_str();
            let utterances =
                parse_transcript(&bytes, format, &opts, hint).map_err(|e| CliError::usage(format!("{}: {e}", file.display())))?;
            let coder = concord_mi::Coder::embedded().map_err(|e| CliError::failed(format!("embedded model: {e}")))?;
            let coded = coder.code(&utterances);
            if json {
                println!("{}", serde_json::to_string(&coded).map_err(|e| CliError::failed(e.to_string()))?);
            } else {
                print!("{}", concord_mi::report::render_text(&coded));
            }
        }
        MiCommand::Train { data, out, seed } => {
            let opts = concord_mi::train::TrainOptions { seed, ..Default::default() };
            let (bar, mut tick) = progress("training");
            let model =
                concord_mi::train::train_from_dir_with_progress(&data, &opts, &mut tick).map_err(|e| CliError::usage(e.to_string()))?;
            bar.finish_and_clear();
            model.save(&out).map_err(|e| CliError::failed(e.to_string()))?;
            eprintln!("model written to {}", out.display());
        }
        MiCommand::Eval { data, folds, json } => {
            let opts = concord_mi::eval::EvalOptions { folds, ..Default::default() };
            let (bar, mut tick) = progress("cross-validating");
            let report = concord_mi::eval::evaluate_with_progress(&data, &opts, &mut tick).map_err(|e| CliError::usage(e.to_string()))?;
            bar.finish_and_clear();
            if json {
                println!("{}", serde_json::to_string_pretty(&report).map_err(|e| CliError::failed(e.to_string()))?);
            } else {
                print!("{report}");
            }
        }
        MiCommand::Bench { utterances, json } => {
            let report = concord_mi::bench::run_bench(utterances.max(1)).map_err(|e| CliError::failed(e.to_string()))?;
            if json {
                println!("{}", serde_json::to_string_pretty(&report).map_err(|e| CliError::failed(e.to_string()))?);
            } else {
                print!("{report}");
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
