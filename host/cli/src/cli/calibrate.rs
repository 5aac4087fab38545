//! `edgenas calibrate`: fit a board's cost model to latencies measured on it.

use std::path::PathBuf;

use anyhow::{Context, Result};
use edgenas::board::{Board, BoardKind, load_board};
use edgenas::measure::{
    Timer, board_meter, calibrate, calibrate_kernels, kernel_models, micro_models,
};
use indicatif::{ProgressBar, ProgressStyle};

/// Arguments of `edgenas calibrate`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The board: a shipped name or a path to a board file. It is measured by its own meter:
    /// `host` by tract, an emulated board (`qemu-mps2-an386`, `qemu-mps2-an500`) by our
    /// firmware in QEMU (instructions counted exactly), a microcontroller by our firmware
    /// through a debug probe, a Linux board by `edgenas-agent` on it.
    #[arg(long)]
    board: String,
    /// Where to write the board file with the fitted cost model (default:
    /// `BOARD-calibrated.toml` in the current directory). Use it with `--board PATH`.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Fit only the f32 coefficients (half the time); int8 keeps the board's.
    #[arg(long)]
    f32_only: bool,
    /// Emulated boards and microcontrollers: how many random kernel chains to measure op by
    /// op (each in f32 and int8) for the per-kernel predictor the simulator then uses — on an
    /// emulated board by the QEMU plugin's counts, on a real one by the DWT cycle counter the
    /// firmware stamps as each op ends; 0 fits only the cost model.
    #[arg(long, default_value_t = 150, value_parser = super::numbers::count)]
    kernel_models: usize,
    /// The seed the kernel chains are drawn with.
    #[arg(long, default_value_t = 0, value_parser = super::numbers::seed)]
    seed: u64,
    /// Print JSON: the cost model and every calibration model's measured cycles.
    #[arg(long)]
    json: bool,
}

pub fn run(args: Args) -> Result<()> {
    let board = load_board(&args.board)?;
    let meter = board_meter(&board, Timer::default()).with_context(|| {
        format!(
            "calibrating {} needs its own measuring meter (the simulator's figures would come \
             from the cost model being fitted)",
            board.name
        )
    })?;
    let models = micro_models();
    let total = models.len() * if args.f32_only { 1 } else { 2 };
    let bar = ProgressBar::new(total as u64).with_style(
        ProgressStyle::with_template("{bar:30} {pos}/{len} {msg}").expect("a valid template"),
    );
    let date = today();
    let result = calibrate(
        &board,
        meter.as_ref(),
        &models,
        !args.f32_only,
        &date,
        &mut |name| {
            bar.set_message(name.to_string());
            bar.inc(1);
        },
    )?;
    let per_op = matches!(board.kind, BoardKind::Emulator | BoardKind::Mcu);
    let kernel_model = if per_op && args.kernel_models > 0 {
        let models = kernel_models(args.kernel_models, args.seed);
        bar.set_length(bar.length().unwrap_or(0) + 2 * models.len() as u64);
        let (km, _) = calibrate_kernels(&board.name, meter.as_ref(), &models, &date, &mut |n| {
            bar.set_message(n.to_string());
            bar.inc(1);
        })?;
        Some(km)
    } else {
        board.kernel_model.clone()
    };
    bar.finish_and_clear();
    let calibrated = Board {
        cost_model: Some(result.cost_model.clone()),
        kernel_model: kernel_model.clone(),
        ..board.clone()
    };
    let out = args
        .out
        .unwrap_or_else(|| PathBuf::from(format!("{}-calibrated.toml", board.name)));
    let text = format!(
        "# {} with its cost model fitted by `edgenas calibrate` on {date}.\n{}",
        board.name,
        toml::to_string(&calibrated)?
    );
    std::fs::write(&out, text).with_context(|| format!("cannot write {}", out.display()))?;
    if args.json {
        let mut value = serde_json::to_value(&result)?;
        value["kernel_model"] = serde_json::to_value(&kernel_model)?;
        return super::print_json(&value);
    }
    let fit = result
        .cost_model
        .fit
        .as_ref()
        .expect("a fit records its quality");
    println!(
        "fitted    {} models: median error {:.1} %, {:.0} % within ±10 %, Spearman {:.3}",
        fit.models, fit.median_error_percent, fit.within_10_percent, fit.spearman
    );
    if let Some(fit) = kernel_model.as_ref().and_then(|k| k.fit.as_ref()) {
        println!(
            "kernels   {} models: median error {:.1} %, {:.0} % within ±10 %, Spearman {:.3}",
            fit.models, fit.median_error_percent, fit.within_10_percent, fit.spearman
        );
    }
    println!(
        "wrote     {} (use it with --board {})",
        out.display(),
        out.display()
    );
    Ok(())
}

/// Today's date, `YYYY-MM-DD` (UTC).
pub fn today() -> String {
    let days = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() / 86_400) as i64;
    // Days since 1970-01-01 to a civil date (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + (m <= 2) as i64;
    format!("{y:04}-{m:02}-{d:02}")
}
