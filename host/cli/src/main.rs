//! The `edgenas` command: thin glue over the library (see `cli`).

mod cli;

use std::process::ExitCode;

fn main() -> ExitCode {
    end_quietly_when_the_reader_goes_away();
    fail_writes_past_the_file_size_limit();
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

/// Under a file-size limit (`ulimit -f`, RLIMIT_FSIZE) the kernel kills a process that writes
/// past it with SIGXFSZ, silently and in the middle of a write. Ignored, the write fails with
/// "File too large" instead: the study's storage reports it as an error naming the file, the
/// search stops with that message and a non-zero exit, and the study opens and resumes once
/// there is room (tests/faults.rs).
fn fail_writes_past_the_file_size_limit() {
    #[cfg(unix)]
    // SAFETY: setting a signal's disposition to SIG_IGN at start-up, before any thread runs.
    unsafe {
        libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
    }
}
