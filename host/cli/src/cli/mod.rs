//! Command-line interface: one file per subcommand.

mod bench;
mod bench_ask;
mod bench_board;
mod bench_engine;
mod bench_proxies;
mod bench_workers;
mod boards;
mod calibrate;
mod compile;
mod deploy;
mod evaluate;
mod export;
mod format;
mod inspect;
mod measure;
mod numbers;
mod pick;
mod replay;
mod report;
mod sample;
mod search;
mod spaces;
mod status;
mod train;
mod train_args;
mod trials_view;
mod worker;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};
use edgenas::named::Named;

/// Hardware-aware neural architecture search for microcontrollers and small Linux boards.
///
/// edgenas searches a space of networks for ones that fit a board's RAM, flash and latency
/// limits. Spaces and boards are TOML files; the shipped ones are built in and named by their
/// file name (`mobilenetv2-tiny`, `nucleo-f746zg`), and any other is given by path.
#[derive(Debug, Parser)]
#[command(name = "edgenas", version, about, long_about, max_term_width = 100)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// List the shipped search spaces, or describe spaces given by name or path.
    Spaces(spaces::Args),
    /// List the shipped boards, or describe boards given by name or path.
    Boards(boards::Args),
    /// Decode one genotype: its layers, parameters, MACs, peak RAM, flash, and whether it fits.
    Inspect(inspect::Args),
    /// Draw random candidates of a space and print their costs and the share that fits.
    Sample(sample::Args),
    /// Train one candidate on a data set and report its validation and test accuracy.
    Train(train::Args),
    /// Score an exported model (a finalist or `train --out` folder) on another data set, with
    /// the front end and normalisation it was trained with: accuracy, per class, confusion.
    Evaluate(evaluate::Args),
    /// Measure the latency of an ONNX model on a board: tract on the host, our firmware on an
    /// emulated or real microcontroller, the agent on a Linux board, or the simulator.
    Measure(measure::Args),
    /// Fit a board's latency cost model to models measured on it.
    Calibrate(calibrate::Args),
    /// Benchmarks of edgenas itself: the simulator's fidelity, the strategies' ask time, the engine,
    /// the kernels on an emulated board, shared-study workers.
    Bench(bench::Args),
    /// Search a space for networks that fit a board: check limits, measure, train, and
    /// export the Pareto front; every trial is recorded in a study that a rerun resumes.
    Search(search::Args),
    /// Work on a study that `search` created (shared in PostgreSQL, or a local SQLite
    /// file): claim the next trial, evaluate it with this machine's board, record it; until
    /// the study has its trials.
    Worker(worker::Args),
    /// A one-screen summary of a study: settings, trials by state, the running ones, the best
    /// and the Pareto front (works while a search runs).
    Status(status::Args),
    /// A study as one self-contained HTML page (the default: plots, trials, finalists), or its
    /// trials as CSV or JSON for scripts, with the Pareto front marked.
    Report(report::Args),
    /// Export one trial of a study: ONNX f32 and int8, C arrays, and a JSON card of its
    /// figures (retrained from its genotype and seed if its weights were not kept).
    Export(export::Args),
    /// Compile an ONNX model (f32 or int8 QDQ) to a device blob for the no_std engine: ops,
    /// arena and size, checked against tract on a random input.
    Compile(compile::Args),
    /// Turn an exported model into a folder for a C or C++ project (the C API's header, the
    /// model as a C array, its labels, an example program, the library built for a board, a
    /// README), or into a firmware image for a board with the model baked in (docs/deploy.md).
    Deploy(deploy::Args),
    /// Run a search strategy against a table of pre-measured architectures (NAS-Bench-201
    /// style): the mean best accuracy over seeds after N queries, without training.
    Replay(replay::Args),
}

/// Parses the command line, or exits with clap's message. Every command takes negative
/// numbers as values (`--trials -1`), so that they meet the flag's own bound ("must be at
/// least 1") instead of being read as an unknown flag.
pub fn parse() -> Cli {
    let matches = negative_numbers(Cli::command()).get_matches();
    Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit())
}

/// `command` and all its subcommands, taking negative numbers as values.
fn negative_numbers(command: clap::Command) -> clap::Command {
    command
        .allow_negative_numbers(true)
        .mut_subcommands(negative_numbers)
}

/// Runs a parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Spaces(a) => spaces::run(a),
        Command::Boards(a) => boards::run(a),
        Command::Inspect(a) => inspect::run(a),
        Command::Sample(a) => sample::run(a),
        Command::Train(a) => train::run(a),
        Command::Evaluate(a) => evaluate::run(a),
        Command::Measure(a) => measure::run(a),
        Command::Calibrate(a) => calibrate::run(a),
        Command::Bench(a) => bench::run(a),
        Command::Replay(a) => replay::run(a),
        Command::Search(a) => search::run(a),
        Command::Export(a) => export::run(a),
        Command::Compile(a) => compile::run(a),
        Command::Deploy(a) => deploy::run(a),
        Command::Status(a) => status::run(a),
        Command::Worker(a) => worker::run(a),
        Command::Report(a) => report::run(a),
    }
}

/// A clap value parser for a [`Named`] enum of the libraries: its names, with their help, in
/// `--help` and in the error for a wrong one.
fn named<T: Named + Send + Sync>() -> impl clap::builder::TypedValueParser<Value = T> {
    use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser};
    PossibleValuesParser::new(
        T::ALL
            .iter()
            .map(|v| PossibleValue::new(v.name()).help(v.help())),
    )
    .try_map(|name: String| T::from_name(&name).ok_or("not one of the possible values"))
}

/// How `--split-by` splits an audio folder.
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
enum SplitBy {
    /// Whole speakers (`<speaker>_<rest>.wav`) to one split: test voices are new voices.
    Speaker,
    /// Files by class, speakers ignored.
    None,
}

/// The data spec with `--split-by` written into it (`audio-folder:PATH#split-by=none`), so
/// that a study records the split it was searched with.
fn data_spec(data: &str, split_by: Option<SplitBy>) -> anyhow::Result<String> {
    let Some(split_by) = split_by else {
        return Ok(data.to_string());
    };
    if !data.starts_with("audio-folder:") {
        anyhow::bail!("--split-by is for audio folders (--data audio-folder:PATH)");
    }
    let word = match split_by {
        SplitBy::Speaker => "speaker",
        SplitBy::None => "none",
    };
    let separator = if data.contains('#') { ',' } else { '#' };
    Ok(format!("{data}{separator}split-by={word}"))
}

/// Prints a JSON value, pretty, to standard output.
fn print_json(value: &serde_json::Value) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}
