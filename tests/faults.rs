//! Faults a long search meets on a shared machine, injected: the study's disk fills up.

use std::collections::HashSet;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::Command;

use edgenas::study::TrialState;

use crate::common::{search_args, study_trials};

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
    let trials = study_trials(&out.join("study.db").display().to_string());
    let count = |state: TrialState| trials.iter().filter(|t| t.state == state).count();
    let ended = trials.iter().filter(|t| t.state.is_final()).count();
    assert_eq!(ended, 12, "{trials:#?}");
    assert!(count(TrialState::Complete) >= 10, "{trials:#?}");
    assert_eq!(count(TrialState::Running), 0, "{trials:#?}");
}

/// Checks what a search killed many times and finished must hold: `wanted` trials ended,
/// none left running or pending, no genotype trained twice, and every learning curve's epochs
/// in order with none twice (a trial killed mid-training starts a fresh curve).
fn check_every_trial_ended_once(out: &Path, wanted: usize) {
    let trials = study_trials(&out.join("study.db").display().to_string());
    let ended = trials.iter().filter(|t| t.state.is_final()).count();
    assert_eq!(ended, wanted, "{trials:#?}");
    assert_eq!(trials.len(), wanted, "trials not ended: {trials:#?}");
    let genotypes: HashSet<&str> = trials.iter().map(|t| t.genotype.as_str()).collect();
    assert_eq!(genotypes.len(), trials.len(), "a genotype trained twice");
    for t in &trials {
        let epochs: Vec<usize> = t.curve.iter().map(|p| p.epoch).collect();
        assert!(
            epochs.iter().enumerate().all(|(i, &e)| e == i + 1),
            "trial {}: epochs {epochs:?}",
            t.id
        );
    }
}

/// SIGKILL at random moments, again and again: each rerun of the same command resumes, and
/// when it finally finishes every trial ended exactly once (`bench/kills.sh` does this a
/// hundred times and with workers).
#[test]
fn a_search_killed_at_random_moments_ends_every_trial_once() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let args = [
        "--space", "mlp", "--board", "host", "--trials", "16", "--epochs", "3",
    ];
    let command = || {
        let mut c = Command::new(env!("CARGO_BIN_EXE_edgenas"));
        c.args(search_args(&out, &args, false))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null());
        c
    };
    let mut rng = edgenas::rng::Rng::new(5);
    for _ in 0..6 {
        let mut child = command().spawn().unwrap();
        std::thread::sleep(std::time::Duration::from_millis(
            150 + rng.below(600) as u64,
        ));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
    }
    let last = command().output().unwrap();
    assert!(last.status.success(), "{last:?}");
    check_every_trial_ended_once(&out, 16);
}
