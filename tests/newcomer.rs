//! What a new user trips over, checked as they would meet it: the report describes the network
//! a trial was trained as, every artefact names its outputs, a study folder can be moved, a
//! second search in the same folder is told what differs, and a resumed search counts from
//! the study.

use std::path::Path;
use std::process::{Command, Output};

use crate::common::{edgenas, search_args, stdout_json};
use serde_json::Value;

/// Runs `edgenas ARGS` from the folder `cwd`.
fn edgenas_in(cwd: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_edgenas"))
        .args(args)
        .current_dir(cwd)
        .output()
        .expect("the edgenas binary runs")
}

/// `edgenas search` of the DS-CNN space for the F746 on the 8×8 digits (whose space's own input
/// is 1×49×10 MFCCs with 12 classes), one epoch per trial, predicted by the simulator, into
/// `out`, with `more` arguments.
fn ds_cnn_search(out: &Path, more: &[&str]) -> Output {
    let args = [
        &[
            "--space",
            "ds-cnn",
            "--board",
            "nucleo-f746zg",
            "--epochs",
            "1",
        ][..],
        more,
    ]
    .concat();
    edgenas(&search_args(out, &args, false))
}

#[test]
fn a_finalist_is_reported_as_trained_named_by_its_labels_and_moves_with_its_study() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let s = stdout_json(&ds_cnn_search(
        &out,
        &["--trials", "1", "--finalists", "1", "--seed", "3", "--json"],
    ));
    let finalist = &s["finalists"][0];
    let id = finalist["trial"].as_i64().unwrap();
    let trial = s["trials"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == id)
        .unwrap();
    let genotype = trial["genotype"].as_str().unwrap();

    // The report's layer table is the network built for the digits, as `inspect --data`
    // shows it: its input, its classes, each layer's output, parameters and MACs.
    let inspected = stdout_json(&edgenas(&[
        "inspect",
        "--space",
        "ds-cnn",
        "--genotype",
        genotype,
        "--data",
        "digits",
        "--json",
    ]));
    let digits: Vec<String> = (0..10).map(|d| d.to_string()).collect();
    assert_eq!(inspected["class_names"], serde_json::json!(digits));
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(
        html.contains("Input 1x8x8; outputs (10): 0, 1, 2, 3, 4, 5, 6, 7, 8, 9."),
        "{html}"
    );
    assert!(!html.contains("1x49x10"), "the space's default input");
    let mut macs = 0;
    for layer in inspected["layers"].as_array().unwrap() {
        let shape: Vec<String> = layer["output"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d.to_string())
            .collect();
        let row = format!(
            "<td class=\"g\">{}</td><td class=\"g\">{}</td><td class=\"g\">{}</td><td>{}</td><td>{}</td>",
            layer["name"].as_str().unwrap(),
            layer["op"].as_str().unwrap(),
            shape.join("x"),
            layer["params"],
            layer["macs"]
        );
        assert!(html.contains(&row), "{row} not in the report");
        macs += layer["macs"].as_u64().unwrap();
    }
    assert_eq!(Some(macs), trial["macs"].as_u64(), "the trial's MACs");

    // Every artefact says which output is which: labels.txt, labels.h, check.json, the
    // card, the ONNX metadata (read back by `measure`).
    let finalist_dir = Path::new(finalist["dir"].as_str().unwrap());
    let labels = std::fs::read_to_string(finalist_dir.join("labels.txt")).unwrap();
    assert_eq!(labels, "0\n1\n2\n3\n4\n5\n6\n7\n8\n9\n");
    let header = std::fs::read_to_string(finalist_dir.join("labels.h")).unwrap();
    assert!(
        header.contains("#define EDGENAS_LABEL_COUNT 10"),
        "{header}"
    );
    let check: Value =
        serde_json::from_slice(&std::fs::read(finalist_dir.join("check.json")).unwrap()).unwrap();
    assert_eq!(check["classes"], serde_json::json!(digits));
    let card: Value =
        serde_json::from_slice(&std::fs::read(finalist_dir.join("trial.json")).unwrap()).unwrap();
    assert_eq!(card["data"]["input"], serde_json::json!([1, 8, 8]));
    let model = finalist_dir.join("model-int8.onnx");
    let measured = stdout_json(&edgenas(&[
        "measure",
        model.to_str().unwrap(),
        "--runs",
        "3",
        "--json",
    ]));
    assert_eq!(measured["classes"], serde_json::json!(digits));

    // The study folder moved, exported from another working directory: its weights are
    // found beside the study, nothing is trained again.
    let moved = dir.path().join("moved");
    std::fs::rename(&out, &moved).unwrap();
    let elsewhere = tempfile::tempdir().unwrap();
    let study = moved.join("study.db");
    let trial = id.to_string();
    let export = |cwd: &Path, to: &Path| {
        let (study, to) = (study.to_str().unwrap(), to.to_str().unwrap());
        edgenas_in(
            cwd,
            &[
                "export", "--study", study, "--trial", &trial, "--out", to, "--json",
            ],
        )
    };
    let o = export(elsewhere.path(), &dir.path().join("exported"));
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(!e.contains("training it again"), "{e}");
    assert_eq!(stdout_json(&o)["retrained"], false);
    // The report of the moved study still finds its finalist's card.
    let report = dir.path().join("moved.html");
    succeeded(&edgenas(&[
        "report",
        "--study",
        study.to_str().unwrap(),
        "--out",
        report.to_str().unwrap(),
    ]));
    let html = std::fs::read_to_string(&report).unwrap();
    assert!(html.contains("Input 1x8x8"), "{html}");

    // `--out` naming a file fails before any work, and leaves the file alone.
    let file = dir.path().join("notes.txt");
    std::fs::write(&file, "mine").unwrap();
    let o = export(dir.path(), &file);
    let e = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{e}");
    assert!(e.contains("is a file"), "{e}");
    assert!(o.stdout.is_empty());
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "mine");

    // A second search in the same folder: what differs, in words, and how to start another.
    let o = edgenas(&search_args(
        &moved,
        &["--space", "mlp", "--max-latency-ms", "1"],
        false,
    ));
    let e = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{e}");
    assert!(e.contains("space: ds-cnn in the study, mlp given"), "{e}");
    assert!(
        e.contains("--max-latency-ms: none in the study, 1 given"),
        "{e}"
    );
    assert!(e.contains("--out DIR"), "{e}");
    assert!(!e.contains("Limits {"), "{e}");
}

/// Asserts that a command succeeded (its output is not JSON).
fn succeeded(out: &Output) {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_trained_model_records_the_class_names_of_a_csv() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("flowers.csv");
    let mut text = String::from("length,width,species\n");
    for i in 0..40 {
        let species = ["setosa", "virginica"][i % 2];
        text += &format!("{}.5,{}.25,{species}\n", i % 7 + (i % 2) * 5, i % 3);
    }
    std::fs::write(&csv, text).unwrap();
    let out = dir.path().join("model");
    let o = edgenas(&[
        "train",
        "--space",
        "mlp",
        "--random",
        "--epochs",
        "1",
        "--data",
        &format!("csv:{}", csv.display()),
        "--out",
        out.to_str().unwrap(),
    ]);
    let printed = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(printed.contains("classes   setosa, virginica"), "{printed}");
    let summary: Value =
        serde_json::from_slice(&std::fs::read(out.join("train.json")).unwrap()).unwrap();
    assert_eq!(
        summary["data"]["class_names"],
        serde_json::json!(["setosa", "virginica"])
    );
    assert_eq!(
        std::fs::read_to_string(out.join("labels.txt")).unwrap(),
        "setosa\nvirginica\n"
    );
    let model = out.join("model.onnx");
    let o = edgenas(&["measure", model.to_str().unwrap(), "--runs", "3"]);
    let printed = String::from_utf8_lossy(&o.stdout);
    assert!(printed.contains("classes   setosa, virginica"), "{printed}");
}

/// The status at the end of the last progress line in `stderr`: `(best …, N infeasible, …)`.
fn last_status(stderr: &str) -> (String, usize) {
    let line = stderr
        .lines()
        .rfind(|l| l.contains(" infeasible, "))
        .unwrap_or_else(|| panic!("no progress line in {stderr}"));
    let status = &line[line.rfind("(best ").unwrap() + 6..];
    let (best, rest) = status.split_once(", ").unwrap();
    let infeasible = rest.split_once(' ').unwrap().0.parse().unwrap();
    (best.to_string(), infeasible)
}

#[test]
fn a_resumed_search_counts_on_from_its_study() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let run = |trials: &str| {
        // A strategy that proposes without knowing costs, so that the limit rejects trials.
        let o = ds_cnn_search(
            &out,
            &[
                "--strategy",
                "random",
                "--max-latency-ms",
                "3",
                "--trials",
                trials,
                "--finalists",
                "0",
                "--seed",
                "1",
            ],
        );
        let e = String::from_utf8_lossy(&o.stderr).into_owned();
        assert!(o.status.success(), "{e}");
        e
    };
    let (best, infeasible) = last_status(&run("1"));
    assert_ne!(best, "-");
    assert!(
        infeasible > 0,
        "a 3 ms limit on the F746 rejects some DS-CNNs"
    );
    let resumed = run("2");
    let first = resumed
        .lines()
        .find(|l| l.contains(" infeasible, "))
        .unwrap();
    let (best_after, infeasible_after) = last_status(first);
    assert_ne!(best_after, "-", "{first}");
    let percent = |b: &str| b.trim_end_matches(" %").parse::<f64>().unwrap();
    assert!(percent(&best_after) >= percent(&best), "{first}");
    assert!(infeasible_after >= infeasible, "{first}");
}
