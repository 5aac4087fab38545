//! `edgenas search` end to end on `digits` with the simulator: the study, the limits, the
//! finalists' artefacts, resuming after a kill and after Ctrl-C, and bad input.

use crate::common::{edgenas, search_args};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use edgenas::export::TractModel;
use edgenas::study::{SqliteStudy, Storage, Trial, TrialState};
use serde_json::Value;

/// `edgenas search --data digits --meter simulator --out OUT ARGS --json`, which must succeed.
fn search(out: &Path, args: &[&str]) -> Value {
    let o = edgenas(&search_args(out, args, true));
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_slice(&o.stdout).unwrap()
}

fn failure(args: &[&str]) -> String {
    let o = edgenas(args);
    assert!(!o.status.success(), "{args:?} succeeded");
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn trials(study: &Path) -> Vec<Trial> {
    SqliteStudy::open(study, false).unwrap().trials().unwrap()
}

#[test]
fn a_search_records_every_trial_and_exports_its_front() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let s = search(
        &out,
        &[
            "--space",
            "mlp",
            "--board",
            "nucleo-f746zg",
            "--trials",
            "4",
            "--epochs",
            "2",
        ],
    );
    assert_eq!(s["stop"], "trials");
    let stored = trials(&out.join("study.db"));
    let complete: Vec<&Trial> = stored
        .iter()
        .filter(|t| t.state == TrialState::Complete)
        .collect();
    assert_eq!(complete.len(), 4);
    for t in &complete {
        let acc = t.valid_accuracy.unwrap();
        assert!(acc > 10.0 && acc <= 100.0, "{t:?}");
        assert!(t.latency_ms.unwrap() > 0.0);
        assert_eq!(t.latency_kind.as_deref(), Some("predicted (simulator)"));
        assert!(t.ram_bytes.unwrap() > 0 && t.flash_bytes.unwrap() > 0);
        assert!(t.train_seconds.is_some() && t.finished.is_some());
        // Its learning curve: one point per epoch, in order, the best being the trial's
        // validation accuracy (the best epoch's weights are kept).
        let epochs: Vec<usize> = t.curve.iter().map(|p| p.epoch).collect();
        assert_eq!(epochs, vec![1, 2], "{t:?}");
        let best = t.curve.iter().map(|p| p.valid_accuracy).fold(0.0, f64::max);
        assert!((best - acc).abs() < 1e-9, "{t:?}");
        assert!(t.curve[0].seconds > 0.0 && t.curve[1].seconds > t.curve[0].seconds);
        // Recorded relative to the study's folder, so that the two move together.
        let kept = t.artefacts.as_ref().unwrap();
        assert!(Path::new(kept).is_relative(), "{kept}");
        assert!(out.join(kept).join("weights.json").exists(), "{kept}");
    }
    // The JSON is the study.
    assert_eq!(s["trials"].as_array().unwrap().len(), stored.len());
    // The front: complete trials, none dominated by another, best accuracy first.
    let front: Vec<i64> = s["front"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_i64().unwrap())
        .collect();
    assert!(!front.is_empty());
    let by_id = |id: i64| complete.iter().find(|t| t.id == id).unwrap();
    let costs = |t: &Trial| {
        [
            -t.valid_accuracy.unwrap(),
            t.latency_ms.unwrap(),
            t.ram_bytes.unwrap() as f64,
            t.flash_bytes.unwrap() as f64,
        ]
    };
    for &id in &front {
        let a = costs(by_id(id));
        for other in &complete {
            let b = costs(other);
            let dominates = b.iter().zip(&a).all(|(x, y)| x <= y) && b != a;
            assert!(!dominates, "trial {id} is dominated by {}", other.id);
        }
    }
    // Finalists: real ONNX files that tract runs, and their test accuracy in the study.
    let finalists = s["finalists"].as_array().unwrap();
    assert_eq!(finalists.len(), front.len().min(3));
    for f in finalists {
        let dir = Path::new(f["dir"].as_str().unwrap());
        for file in ["model.onnx", "model-int8.onnx", "model.h", "trial.json"] {
            assert!(dir.join(file).exists(), "{}/{file}", dir.display());
        }
        let model =
            TractModel::load(&std::fs::read(dir.join("model-int8.onnx")).unwrap(), "int8").unwrap();
        assert_eq!(model.run(&[0.0; 64]).unwrap().len(), 10);
        let id = f["trial"].as_i64().unwrap();
        let test = trials(&out.join("study.db"))
            .into_iter()
            .find(|t| t.id == id)
            .unwrap()
            .test_accuracy
            .unwrap();
        assert!((test - f["f32_test_accuracy"].as_f64().unwrap()).abs() < 1e-9);
    }

    // report: every trial as CSV (front marked) and JSON.
    let study_path = out.join("study.db");
    let csv_path = dir.path().join("trials.csv");
    let r = edgenas(&[
        "report",
        "--study",
        study_path.to_str().unwrap(),
        "--format",
        "csv",
        "--out",
        csv_path.to_str().unwrap(),
    ]);
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    let mut reader = csv::Reader::from_path(&csv_path).unwrap();
    let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.unwrap()).collect();
    assert_eq!(rows.len(), stored.len());
    let on_front = rows.iter().filter(|r| &r[2] == "true").count();
    assert_eq!(on_front, front.len());
    let r = edgenas(&[
        "report",
        "--study",
        study_path.to_str().unwrap(),
        "--format",
        "json",
    ]);
    let r: Value = serde_json::from_slice(&r.stdout).unwrap();
    assert_eq!(r["trials"].as_array().unwrap().len(), stored.len());
    assert_eq!(r["epochs_trained"], 8, "4 trials of 2 epochs");
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(html.contains("Learning curves") && html.contains("8 epochs trained in all"));
    assert_eq!(r["settings"]["board"], "nucleo-f746zg");
    let err = failure(&[
        "report",
        "--study",
        study_path.to_str().unwrap(),
        "--format",
        "csv",
        "--out",
        "/nonexistent/dir/t.csv",
    ]);
    assert!(err.contains("cannot write /nonexistent/dir/t.csv"), "{err}");

    // export: the same figures again, from the kept weights.
    let again = dir.path().join("again");
    let id = front[0].to_string();
    let study = out.join("study.db");
    let e = edgenas(&[
        "export",
        "--study",
        study.to_str().unwrap(),
        "--trial",
        &id,
        "--out",
        again.to_str().unwrap(),
        "--json",
    ]);
    assert!(e.status.success(), "{}", String::from_utf8_lossy(&e.stderr));
    let e: Value = serde_json::from_slice(&e.stdout).unwrap();
    assert_eq!(e["retrained"], false);
    let exported = 100.0 * e["export"]["f32_test_accuracy"].as_f64().unwrap();
    assert!((exported - finalists[0]["f32_test_accuracy"].as_f64().unwrap()).abs() < 1e-9);
    assert!(again.join("model-int8-ops.onnx").exists());
    // The device model: its size and its arena, plus the board's runtime, are the flash and
    // RAM figures the search checked against the board (int8, the default).
    let blob = std::fs::read(again.join("model-int8.blob")).unwrap();
    assert_eq!(e["export"]["int8_blob_bytes"], blob.len());
    let runtime = edgenas::board::load_board("nucleo-f746zg").unwrap().memory;
    let trial = trials(&study)
        .into_iter()
        .find(|t| t.id.to_string() == id)
        .unwrap();
    assert_eq!(
        trial.flash_bytes,
        Some(blob.len() as u64 + runtime.runtime_flash_bytes)
    );
    let arena = e["export"]["int8_arena_bytes"].as_u64().unwrap();
    assert_eq!(trial.ram_bytes, Some(arena + runtime.runtime_ram_bytes));
    assert!(again.join("model-int8-blob.h").exists());
}

#[test]
fn no_candidate_over_a_limit_is_ever_trained() {
    let dir = tempfile::tempdir().unwrap();
    let run = |name: &str, strategy: &[&str]| {
        let out = dir.path().join(name);
        let mut args = vec![
            "--space",
            "mlp",
            "--board",
            "nucleo-f746zg",
            "--trials",
            "3",
            "--epochs",
            "1",
            "--max-flash-kb",
            "75",
            "--max-macs",
            "20000",
        ];
        args.extend_from_slice(strategy);
        let s = search(&out, &args);
        (s, trials(&out.join("study.db")), out)
    };
    let over =
        |t: &Trial| t.flash_bytes.unwrap() as f64 / 1024.0 > 75.0 || t.macs.unwrap() > 20_000;
    // A strategy that proposes without knowing costs: the limits reject some of its
    // proposals, recorded as infeasible trials that were never trained.
    let (_, stored, out) = run("random", &["--strategy", "random"]);
    let infeasible: Vec<&Trial> = stored
        .iter()
        .filter(|t| t.state == TrialState::Infeasible)
        .collect();
    assert!(
        !infeasible.is_empty(),
        "the limits rejected nothing: {stored:?}"
    );
    for t in &stored {
        match t.state {
            TrialState::Infeasible => {
                assert!(over(t), "{t:?}");
                assert!(t.valid_accuracy.is_none() && t.train_seconds.is_none());
                assert!(t.artefacts.is_none());
                assert!(!out.join("trials").join(t.id.to_string()).exists());
                let reason = t.reason.as_deref().unwrap();
                assert!(
                    reason.contains("--max-flash-kb 75") || reason.contains("--max-macs 20000"),
                    "{reason}"
                );
            }
            TrialState::Complete => assert!(!over(t), "{t:?}"),
            other => panic!("trial {} is {other:?}", t.id),
        }
    }
    let complete = |stored: &[Trial]| {
        stored
            .iter()
            .filter(|t| t.state == TrialState::Complete)
            .count()
    };
    assert_eq!(complete(&stored), 3);
    // The default strategy (`ehvi`) costs its candidates first: it proposes none over a
    // limit, so every trial it records is trained.
    let (s, stored, _) = run("ehvi", &[]);
    let counts = &s["candidates"];
    assert!(counts["over_limits"].as_u64().unwrap() > 0, "{counts}");
    assert_eq!(
        counts["drawn"].as_u64().unwrap(),
        counts["within_limits"].as_u64().unwrap() + counts["over_limits"].as_u64().unwrap(),
        "{counts}"
    );
    assert_eq!(stored.len(), 3, "{stored:?}");
    assert_eq!(complete(&stored), 3);
    assert!(stored.iter().all(|t| !over(t)), "{stored:?}");
}

#[test]
fn limits_out_of_reach_stop_the_search_with_the_smallest_figures() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let err = failure(&search_args(
        &out,
        &[
            "--space",
            "mlp",
            "--board",
            "nucleo-f746zg",
            "--max-macs",
            "10",
            "--trials",
            "2",
        ],
        false,
    ));
    assert!(
        err.contains("500 candidates in a row broke the limits"),
        "{err}"
    );
    assert!(err.contains("the smallest seen: RAM"), "{err}");
    // Nothing was trained, and every rejected candidate is in the study.
    let stored = trials(&out.join("study.db"));
    assert!(stored.len() >= 500);
    assert!(stored.iter().all(|t| t.state == TrialState::Infeasible));
}

/// A search of two trials of 300 epochs each: long enough to stop in the middle of one.
const LONG: &[&str] = &[
    "--space",
    "mlp",
    "--trials",
    "2",
    "--epochs",
    "300",
    "--patience",
    "0",
    "--finalists",
    "0",
];

/// Starts the `LONG` search in the background.
fn long_search(out: &Path) -> Child {
    Command::new(env!("CARGO_BIN_EXE_edgenas"))
        .args(search_args(out, LONG, false))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Waits until the study's first trial has trained for a moment.
fn wait_for_training(study: &Path) -> Trial {
    let start = Instant::now();
    loop {
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "no trial started"
        );
        if study.exists()
            && let Ok(s) = SqliteStudy::open(study, false)
            && let Ok(t) = s.trials()
            && let Some(running) = t.into_iter().find(|t| t.state == TrialState::Running)
            && running.latency_ms.is_some()
        {
            std::thread::sleep(Duration::from_millis(700));
            return running;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Checks a resumed study: two complete trials, the stopped one among them, no genotype twice.
fn check_resumed(study: &Path, stopped: &Trial) {
    let stored = trials(study);
    let complete: Vec<&Trial> = stored
        .iter()
        .filter(|t| t.state == TrialState::Complete)
        .collect();
    assert_eq!(complete.len(), 2, "{stored:?}");
    let resumed = stored.iter().find(|t| t.id == stopped.id).unwrap();
    assert_eq!(resumed.state, TrialState::Complete);
    assert_eq!(resumed.genotype, stopped.genotype);
    let mut genotypes: Vec<&str> = stored.iter().map(|t| t.genotype.as_str()).collect();
    genotypes.sort();
    genotypes.dedup();
    assert_eq!(genotypes.len(), stored.len());
}

#[test]
fn a_search_killed_in_the_middle_of_a_trial_resumes_it() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let study = out.join("study.db");
    let mut child = long_search(&out);
    let running = wait_for_training(&study);
    child.kill().unwrap(); // SIGKILL: no chance to clean up.
    child.wait().unwrap();
    let left = trials(&study);
    assert_eq!(
        left.iter().find(|t| t.id == running.id).unwrap().state,
        TrialState::Running
    );
    // status sees the dead process's trial, and says it is abandoned.
    let st = edgenas(&["status", "--study", study.to_str().unwrap()]);
    let text = String::from_utf8_lossy(&st.stdout);
    assert!(
        st.status.success(),
        "{}",
        String::from_utf8_lossy(&st.stderr)
    );
    assert!(
        text.contains(&format!("running   trial {}", running.id)),
        "{text}"
    );
    assert!(text.contains("abandoned"), "{text}");
    let st = edgenas(&["status", "--study", study.to_str().unwrap(), "--json"]);
    let st: Value = serde_json::from_slice(&st.stdout).unwrap();
    assert_eq!(st["counts"]["running"], 1);
    assert_eq!(st["settings"]["space"], "mlp");
    // The same command resumes: the dead process's trial is re-queued and finished.
    search(&out, LONG);
    check_resumed(&study, &running);
}

#[test]
fn ctrl_c_marks_the_trial_interrupted_and_a_rerun_finishes_it() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let study = out.join("study.db");
    let child = long_search(&out);
    let running = wait_for_training(&study);
    let pid = child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-INT", &pid])
            .status()
            .unwrap()
            .success()
    );
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(130));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("rerun the same command to resume"), "{err}");
    let t = trials(&study)
        .into_iter()
        .find(|t| t.id == running.id)
        .unwrap();
    assert_eq!(t.state, TrialState::Interrupted);
    search(&out, LONG);
    check_resumed(&study, &running);
}

/// Every strategy runs a search to its trials: plainly, and with pruning (pruned trials are
/// told to the strategy as failures) and pre-screening (it is asked for several proposals).
#[test]
fn every_strategy_runs_a_search_plainly_and_with_pruning_and_pre_screening() {
    let cheaper = [
        "--fidelity",
        "asha",
        "--eta",
        "2",
        "--prescreen",
        "grad-norm:3",
    ];
    for strategy in ["random", "evolution", "reinforce", "bayes", "nsga2"] {
        for extra in [&[][..], &cheaper[..]] {
            let dir = tempfile::tempdir().unwrap();
            let mut args = vec![
                "--space",
                "mlp",
                "--trials",
                "4",
                "--epochs",
                "2",
                "--strategy",
                strategy,
                "--finalists",
                "0",
            ];
            args.extend_from_slice(extra);
            let s = search(dir.path(), &args);
            assert_eq!(s["stop"], "trials", "{strategy} {extra:?}");
            let stored = trials(&dir.path().join("study.db"));
            let trained = stored.iter().filter(|t| t.state.was_trained()).count();
            assert_eq!(trained, 4, "{strategy} {extra:?}: {stored:?}");
            if extra.is_empty() {
                assert!(stored.iter().all(|t| t.state == TrialState::Complete));
            }
        }
    }
}

#[test]
fn bad_input_is_refused_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    search(
        &out,
        &[
            "--space",
            "mlp",
            "--trials",
            "1",
            "--epochs",
            "1",
            "--finalists",
            "0",
        ],
    );
    let study = out.join("study.db");
    let s = study.to_str().unwrap();
    // A study of another space.
    let err = failure(&search_args(
        &out,
        &["--space", "resnet-tiny", "--study", s, "--trials", "1"],
        false,
    ));
    assert!(
        err.contains("space: mlp in the study, resnet-tiny given"),
        "{err}"
    );
    // A strategy of known costs on a board that cannot predict latency; the default
    // strategy there is `bayes`, which needs no prediction.
    let (_, text) = edgenas::board::SHIPPED_BOARDS
        .iter()
        .find(|(n, _)| *n == "nucleo-f746zg")
        .unwrap();
    let bare = dir.path().join("bare.toml");
    std::fs::write(&bare, text.split("[cost_model]").next().unwrap()).unwrap();
    let board = bare.to_str().unwrap();
    let args = [
        "--space", "mlp", "--board", board, "--trials", "1", "--epochs", "1",
    ];
    let fresh = dir.path().join("bare");
    let err = failure(&search_args(
        &fresh,
        &[&args[..], &["--strategy", "ehvi"]].concat(),
        false,
    ));
    assert!(
        err.contains("strategy `ehvi` ranks candidates by their predicted latency")
            && err.contains("has no [cost_model]"),
        "{err}"
    );
    let summary = search(&fresh, &[&args[..], &["--finalists", "0"]].concat());
    assert_eq!(summary["stop"], "trials", "{summary}");
    assert!(summary["candidates"].is_null(), "{summary}");
    // A file that is not a study.
    let notes = dir.path().join("notes.txt");
    std::fs::write(&notes, "not a database").unwrap();
    let n = notes.to_str().unwrap();
    let err = failure(&search_args(&out, &["--space", "mlp", "--study", n], false));
    assert!(err.contains("is not an edgenas study"), "{err}");
    assert_eq!(std::fs::read_to_string(&notes).unwrap(), "not a database");
    // Conflicting or meaningless limits and budgets.
    let err = failure(&search_args(
        &out,
        &[
            "--space",
            "mlp",
            "--board",
            "nucleo-f746zg",
            "--max-flash-kb",
            "1",
        ],
        false,
    ));
    assert!(err.contains("conflicts with board nucleo-f746zg"), "{err}");
    let err = failure(&search_args(
        &out,
        &["--space", "mlp", "--trials", "0"],
        false,
    ));
    assert!(
        err.contains("'--trials <TRIALS>': must be at least 1"),
        "{err}"
    );
    let err = failure(&search_args(
        &out,
        &["--space", "mlp", "--max-latency-ms=-3"],
        false,
    ));
    assert!(
        err.contains("'--max-latency-ms <MS>': must be above 0"),
        "{err}"
    );
    // export: a trial that does not exist, a study that does not exist.
    let e = dir.path().join("e");
    let e = e.to_str().unwrap();
    let err = failure(&["export", "--study", s, "--trial", "99", "--out", e]);
    assert!(err.contains("has no trial 99"), "{err}");
    let err = failure(&[
        "export",
        "--study",
        "/nonexistent.db",
        "--trial",
        "1",
        "--out",
        e,
    ]);
    assert!(err.contains("does not exist"), "{err}");
}

#[test]
fn a_failing_trial_is_recorded_and_the_search_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    // A learning rate this large turns the loss into NaN within a few steps.
    let s = search(
        dir.path(),
        &[
            "--space", "mlp", "--trials", "2", "--epochs", "1", "--lr", "1e30",
        ],
    );
    assert_eq!(s["stop"], "trials");
    let trials = s["trials"].as_array().unwrap();
    assert_eq!(trials.len(), 2);
    for t in trials {
        assert_eq!(t["state"], "failed", "{t}");
        assert!(
            t["reason"].as_str().unwrap().contains("the loss became"),
            "{t}"
        );
        assert!(t["valid_accuracy"].is_null());
    }
    assert!(s["front"].as_array().unwrap().is_empty());
}

#[test]
fn asha_prunes_trials_behind_at_a_rung_and_counts_them_as_trained() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let args = [
        "--space",
        "mlp",
        "--trials",
        "8",
        "--epochs",
        "4",
        "--fidelity",
        "asha",
        "--min-epochs",
        "1",
        "--eta",
        "2",
        "--finalists",
        "1",
    ];
    let s = search(&out, &args);
    assert_eq!(s["stop"], "trials");
    let stored = trials(&out.join("study.db"));
    let trained: Vec<&Trial> = stored.iter().filter(|t| t.state.was_trained()).collect();
    assert_eq!(trained.len(), 8, "pruned trials count towards --trials");
    let pruned: Vec<&Trial> = trained
        .iter()
        .copied()
        .filter(|t| t.state == TrialState::Pruned)
        .collect();
    assert!(!pruned.is_empty(), "eight MLPs on digits: some fall behind");
    for t in &pruned {
        // Stopped right after a rung (epochs 1 and 2 of 4 with eta 2), its reason says why,
        // its accuracy is the best it reached.
        let last = t.curve.last().unwrap().epoch;
        assert!([1, 2].contains(&last), "{t:?}");
        let reason = t.reason.as_deref().unwrap();
        assert!(
            reason.contains(&format!("at the {last}-epoch rung")),
            "{reason}"
        );
        let best = t.curve.iter().map(|p| p.valid_accuracy).fold(0.0, f64::max);
        assert!((t.valid_accuracy.unwrap() - best).abs() < 1e-9, "{t:?}");
    }
    for t in trained.iter().filter(|t| t.state == TrialState::Complete) {
        assert_eq!(t.curve.len(), 4, "{t:?}");
    }
    let epochs: usize = stored.iter().map(|t| t.curve.len()).sum();
    assert!(epochs < 8 * 4, "{epochs} epochs");
    // Only complete trials make the front and the finalists.
    for id in s["front"].as_array().unwrap() {
        let t = stored
            .iter()
            .find(|t| t.id == id.as_i64().unwrap())
            .unwrap();
        assert_eq!(t.state, TrialState::Complete);
    }
    // The report marks the pruned trials' learning curves.
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(html.contains("fill=\"#bbbbbb\"/><text") && html.contains(">pruned</text>"));
    // The rule is the study's: resuming with another one is refused, in words.
    let mut full = args.to_vec();
    full[7] = "full";
    let err = failure(&search_args(&out, &full, false));
    assert!(
        err.contains("--fidelity: asha: rungs at 1, 2 epochs, eta 2 in the study, full given"),
        "{err}"
    );
}

#[test]
fn prescreening_trains_the_best_scored_of_several_admitted_proposals() {
    let dir = tempfile::tempdir().unwrap();
    let run = |name: &str, extra: &[&str]| {
        let out = dir.path().join(name);
        // A strategy that proposes without knowing costs: `ehvi` proposes only candidates
        // within the limits already.
        let mut args = vec![
            "--strategy",
            "random",
            "--space",
            "ds-cnn",
            "--board",
            "nucleo-f746zg",
            "--max-ram-kb",
            "20",
            "--trials",
            "3",
            "--epochs",
            "1",
            "--finalists",
            "0",
        ];
        args.extend_from_slice(extra);
        search(&out, &args);
        trials(&out.join("study.db"))
    };
    // A 20 KiB limit rejects many DS-CNNs: a plain search records them as infeasible.
    let plain = run("plain", &[]);
    assert!(plain.iter().any(|t| t.state == TrialState::Infeasible));
    // Pre-screening ranks only admitted proposals: every trial it records is trained.
    let screened = run("screened", &["--prescreen", "naswot:6"]);
    assert_eq!(screened.len(), 3, "{screened:?}");
    for t in &screened {
        assert_eq!(t.state, TrialState::Complete, "{t:?}");
        assert!(t.ram_bytes.unwrap() <= 20 * 1024, "{t:?}");
    }
    // The report's settings say how the trials were chosen.
    let html = std::fs::read_to_string(dir.path().join("screened/report.html")).unwrap();
    assert!(html.contains("naswot: best of 6 proposals"), "{html}");
    let html = std::fs::read_to_string(dir.path().join("plain/report.html")).unwrap();
    assert!(html.contains(">pre-screening</th><td class=\"g\">none<"));
}

/// ASHA's decisions are trial states in the study, written as they are taken: a search
/// killed with SIGKILL mid-trial and resumed keeps every trial that had ended (pruned at its
/// rung or complete) exactly as it was, runs the interrupted one again from its first epoch
/// (no epoch twice in a curve), and ends with the trials asked for.
#[test]
fn asha_decisions_survive_a_kill_and_the_resumed_search_keeps_them() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let study = out.join("study.db");
    let args = [
        "--space",
        "mlp",
        "--trials",
        "30",
        "--epochs",
        "8",
        "--patience",
        "0",
        "--fidelity",
        "asha",
        "--eta",
        "2",
        "--finalists",
        "0",
    ];
    let mut child = Command::new(env!("CARGO_BIN_EXE_edgenas"))
        .args(search_args(&out, &args, false))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Kill once a trial has been pruned and another is part-way through its epochs.
    let start = Instant::now();
    let before = loop {
        assert!(
            start.elapsed() < Duration::from_secs(300),
            "no pruned trial"
        );
        if let Ok(s) = SqliteStudy::open(&study, false)
            && let Ok(t) = s.trials()
            && t.iter().any(|t| t.state == TrialState::Pruned)
            && t.iter()
                .any(|t| t.state == TrialState::Running && !t.curve.is_empty())
        {
            child.kill().unwrap();
            child.wait().unwrap();
            break trials(&study);
        }
        assert!(
            child.try_wait().unwrap().is_none(),
            "the search ended before it could be killed"
        );
        std::thread::sleep(Duration::from_millis(5));
    };
    let ended: Vec<&Trial> = before
        .iter()
        .filter(|t| !matches!(t.state, TrialState::Running))
        .collect();
    search(&out, &args);
    let after = trials(&study);
    for t in &ended {
        let now = after.iter().find(|a| a.id == t.id).unwrap();
        assert_eq!(
            (now.state, &now.reason, &now.curve, now.valid_accuracy),
            (t.state, &t.reason, &t.curve, t.valid_accuracy),
            "trial {} changed on resume",
            t.id
        );
    }
    assert_eq!(after.iter().filter(|t| t.state.was_trained()).count(), 30);
    for t in &after {
        let epochs: Vec<usize> = t.curve.iter().map(|p| p.epoch).collect();
        assert_eq!(epochs, (1..=epochs.len()).collect::<Vec<_>>(), "{t:?}");
        assert_ne!(t.state, TrialState::Running, "{t:?}");
    }
}
