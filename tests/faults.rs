//! Faults a long search meets on a shared machine, injected: the study's disk fills up.

use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::Command;

use serde_json::Value;

use crate::common::{search_args, stdout_json};

/// `edgenas search` of 12 MLP trials into `out`, with its files limited to `limit_bytes` when
/// given (RLIMIT_FSIZE, as `ulimit -f` sets it: a full disk or quota seen from one process).
fn search(out: &Path, limit_bytes: Option<u64>) -> std::process::Output {
    let args = ["--space", "mlp", "--board", "host", "--trials", "12"];
    let mut command = Command::new(env!("CARGO_BIN_EXE_edgenas"));
    command.args(search_args(
        out,
        &[&args[..], &["--epochs", "1"]].concat(),
        false,
    ));
    if let Some(limit) = limit_bytes {
        // SAFETY: only setrlimit runs between fork and exec; it is async-signal-safe.
        unsafe {
            command.pre_exec(move || {
                let l = libc::rlimit {
                    rlim_cur: limit,
                    rlim_max: limit,
                };
                match libc::setrlimit(libc::RLIMIT_FSIZE, &l) {
                    0 => Ok(()),
                    _ => Err(std::io::Error::last_os_error()),
                }
            });
        }
    }
    command.output().unwrap()
}

/// The study's trial counts by state (`edgenas status --json`).
fn counts(out: &Path) -> Value {
    let status = Command::new(env!("CARGO_BIN_EXE_edgenas"))
        .args(["status", "--json", "--study"])
        .arg(out.join("study.db"))
        .output()
        .unwrap();
    stdout_json(&status)["counts"].clone()
}

#[test]
fn a_full_disk_stops_the_search_with_an_error_and_the_study_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    // 100 KiB: the study's database and the first trial's files outgrow it.
    let full = search(&out, Some(100 * 1024));
    let stderr = String::from_utf8_lossy(&full.stderr);
    // An error edgenas reports and a non-zero exit, not a death by SIGXFSZ (exit 153 in a
    // shell, no code here) with nothing said.
    assert_eq!(full.status.code(), Some(1), "{full:?}");
    assert!(
        stderr.contains("File too large") || stderr.contains("is the disk full"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    // With room again, the same command opens the study and finishes its 12 trials; what
    // the full disk broke is a failed trial with its reason, not a lost one.
    let resumed = search(&out, None);
    assert!(resumed.status.success(), "{resumed:?}");
    let c = counts(&out);
    let ended = ["complete", "failed", "infeasible"]
        .iter()
        .map(|k| c[k].as_u64().unwrap())
        .sum::<u64>();
    assert_eq!(ended, 12, "{c}");
    assert!(c["complete"].as_u64().unwrap() >= 10, "{c}");
    assert_eq!(c["running"], 0, "{c}");
}
