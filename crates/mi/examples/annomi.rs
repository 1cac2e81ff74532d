//! Train, evaluate and benchmark the coder from the command line (development tool; the product
//! entry point is `concord mi ...`).
//!
//! ```text
//! cargo run -p concord-mi --release --example annomi -- train ../shared/data/annomi crates/mi/model/coder.bin
//! cargo run -p concord-mi --release --example annomi -- eval ../shared/data/annomi 5 [report.json]
//! cargo run -p concord-mi --release --example annomi -- bench 200000
//! cargo run -p concord-mi --release --example annomi -- bench-data ../shared/data/annomi 20
//! ```
//! Hyper-parameters can be overridden for experiments with environment variables
//! (`MI_EPOCHS`, `MI_LR`, `MI_BLR`, `MI_L2`, `MI_CLASS_POWER`, `MI_BINARY_POWER`, `MI_AVERAGE`, `MI_BITS`,
//! `MI_CHAR_MIN`, `MI_CHAR_MAX`, `MI_W_WORD`, `MI_W_CHAR`, `MI_W_META`, `MI_W_PREV1`,
//! `MI_W_PREV2`, `MI_W_NEXT1`, `MI_SEED`).

use std::error::Error;
use std::path::PathBuf;

use concord_mi::eval::{EvalOptions, evaluate_with_progress};
use concord_mi::train::{TrainOptions, train_from_dir};

fn env<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn options() -> TrainOptions {
    let d = TrainOptions::default();
    let f = d.features;
    TrainOptions {
        seed: env("MI_SEED", d.seed),
        epochs: env("MI_EPOCHS", d.epochs),
        learning_rate: env("MI_LR", d.learning_rate),
        binary_learning_rate: env("MI_BLR", d.binary_learning_rate),
        l2: env("MI_L2", d.l2),
        class_weight_power: env("MI_CLASS_POWER", d.class_weight_power),
        binary_weight_power: env("MI_BINARY_POWER", d.binary_weight_power),
        average: env("MI_AVERAGE", d.average),
        features: concord_mi::features::FeatureConfig {
            bucket_bits: env("MI_BITS", f.bucket_bits),
            char_min: env("MI_CHAR_MIN", f.char_min),
            char_max: env("MI_CHAR_MAX", f.char_max),
            word_weight: env("MI_W_WORD", f.word_weight),
            char_weight: env("MI_W_CHAR", f.char_weight),
            meta_weight: env("MI_W_META", f.meta_weight),
            prev1_weight: env("MI_W_PREV1", f.prev1_weight),
            prev2_weight: env("MI_W_PREV2", f.prev2_weight),
            next1_weight: env("MI_W_NEXT1", f.next1_weight),
        },
    }
}

fn main() -> Result<(), Box<dyn Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |i: usize| args.get(i).cloned().unwrap_or_default();
    match arg(0).as_str() {
        "train" => {
            let model = train_from_dir(&PathBuf::from(arg(1)), &options())?;
            model.save(&PathBuf::from(arg(2)))?;
            println!("wrote {} ({} bytes)", arg(2), model.to_bytes().len());
        }
        "eval" => {
            let opts = EvalOptions { folds: arg(2).parse().unwrap_or(5), train: options() };
            let report = evaluate_with_progress(&PathBuf::from(arg(1)), &opts, &mut |_, _| {})?;
            print!("{report}");
            if !arg(3).is_empty() {
                std::fs::write(arg(3), serde_json::to_string_pretty(&report)?)?;
            }
        }
        "bench" => {
            let r = concord_mi::bench::run_bench(arg(1).parse().unwrap_or(200_000))?;
            print!("{r}");
        }
        "bench-data" => {
            // Code every AnnoMI transcript repeatedly (real text, longer utterances).
            let data = concord_mi::data::Dataset::load(&PathBuf::from(arg(1)))?;
            let coder = concord_mi::Coder::embedded()?;
            let rounds: usize = arg(2).parse().unwrap_or(20);
            let start = std::time::Instant::now();
            for _ in 0..rounds {
                for s in &data.sessions {
                    std::hint::black_box(coder.code(&s.utterances));
                }
            }
            let secs = start.elapsed().as_secs_f64();
            let n = rounds * data.utterance_count();
            println!("real AnnoMI text: {n} utterances in {secs:.3} s = {:.0} utterances/s", n as f64 / secs);
        }
        _ => eprintln!("usage: annomi train DIR OUT | eval DIR [FOLDS] [JSON] | bench [N] | bench-data DIR [ROUNDS]"),
    }
    Ok(())
}
