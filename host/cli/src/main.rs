//! The `edgenas` command: thin glue over the library (see `cli`).

mod cli;

use std::process::ExitCode;

fn main() -> ExitCode {
    end_quietly_when_the_reader_goes_away();
    let args = cli::parse();
    match cli::run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// `edgenas spaces --blocks | head -1`: once the reader of standard output (or error) has
/// closed the pipe, `println!` panics; the command then ends at once, quietly and with
/// success, like `cat` does, instead of printing a backtrace and exiting 101. What a search
/// had finished is already in its study. Every other panic keeps Rust's own report.
fn end_quietly_when_the_reader_goes_away() {
    let report = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let message = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied())
            .unwrap_or("");
        if message.starts_with("failed printing to std") && message.contains("Broken pipe") {
            std::process::exit(0);
        }
        report(info);
    }));
}
