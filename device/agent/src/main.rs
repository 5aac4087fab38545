//! `edgenas-agent`: measures ONNX models with tract on the Linux board it runs on, for an
//! edgenas host (see docs/boards.md).

use std::io::Write;
use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use edgenas_agent::server::{Agent, Limits, check_exposure, read_token_file};

/// Measures ONNX models for edgenas on this board: the host sends a model over TCP, the agent
/// times it with tract and answers with latency statistics, the peak memory it took and facts
/// about the board. Models stay in memory; nothing is written to disk.
///
/// The agent listens on loopback unless told otherwise; on any other address it requires a
/// shared token, which the host gives in EDGENAS_AGENT_TOKEN or in the file the board file's
/// `connection.agent_token_file` names.
#[derive(Debug, Parser)]
#[command(name = "edgenas-agent", version)]
struct Args {
    /// The address to listen on: `0.0.0.0:7878` for every interface (a token is then
    /// required); port 0 picks a free port, printed on standard output.
    #[arg(long, default_value = "127.0.0.1:7878")]
    listen: SocketAddr,
    /// A file whose content (surrounding white space removed) is the shared token. Better
    /// than --token, which other users of the board can read in the process list.
    #[arg(long, conflicts_with = "token")]
    token_file: Option<PathBuf>,
    /// The shared token itself.
    #[arg(long)]
    token: Option<String>,
    /// The largest model accepted, in KiB.
    #[arg(long, default_value_t = 64 * 1024)]
    max_model_kb: u64,
    /// The longest a measurement may run (loading included), in seconds.
    #[arg(long, default_value_t = 60)]
    max_run_seconds: u64,
    /// The time a client has to send its request, in seconds (a model gets this plus one
    /// second per 256 KiB).
    #[arg(long, default_value_t = 10)]
    request_timeout_seconds: u64,
    /// Measurement requests taken at once (models are measured one at a time, the others
    /// wait their turn; more are refused as busy). A slot is taken once a request has arrived
    /// whole: clients that connect and send nothing do not hold one.
    #[arg(long, default_value_t = 4)]
    max_requests: usize,
    /// Connections open at once, whatever they are doing; more are refused as busy.
    #[arg(long, default_value_t = 64)]
    max_connections: usize,
    /// No line per request on standard error.
    #[arg(long)]
    quiet: bool,
}

fn main() -> ExitCode {
    let args = Args::parse();
    match run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("edgenas-agent: error: {e}");
            ExitCode::from(2)
        }
    }
}

fn run(args: Args) -> Result<(), Box<dyn std::error::Error>> {
    let token = match (&args.token_file, args.token) {
        (Some(path), _) => Some(read_token_file(path)?),
        (None, token) => token,
    };
    check_exposure(&args.listen, token.as_deref())?;
    if [
        args.max_requests,
        args.max_connections,
        args.max_model_kb as usize,
        args.max_run_seconds as usize,
    ]
    .contains(&0)
    {
        return Err(
            "--max-requests, --max-connections, --max-model-kb and --max-run-seconds \
                    must be at least 1"
                .into(),
        );
    }
    let limits = Limits {
        max_model_bytes: args.max_model_kb * 1024,
        request_timeout: Duration::from_secs(args.request_timeout_seconds.max(1)),
        max_run_time: Duration::from_secs(args.max_run_seconds),
        max_requests: args.max_requests,
        max_connections: args.max_connections,
    };
    let listener = TcpListener::bind(args.listen)
        .map_err(|e| format!("cannot listen on {}: {e}", args.listen))?;
    let bound = listener.local_addr()?;
    println!("listening on {bound}");
    let _ = std::io::stdout().flush();
    if !args.quiet {
        eprintln!(
            "edgenas-agent {}: {}; models up to {} KiB, {} s each, {} measurement requests and {} connections at once",
            env!("CARGO_PKG_VERSION"),
            if token.is_some() {
                "token required"
            } else {
                "no token (loopback only)"
            },
            args.max_model_kb,
            args.max_run_seconds,
            args.max_requests,
            args.max_connections
        );
    }
    Arc::new(Agent::new(token, limits, !args.quiet))
        .serve(listener)
        .map_err(|e| format!("stopped serving: {e}"))?;
    Ok(())
}
