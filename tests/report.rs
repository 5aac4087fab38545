//! `edgenas report`: HTML, CSV and JSON from studies the tests build (empty, only
//! infeasible trials, failures, a real search), and bad input.

use crate::common::edgenas;
use std::path::Path;

use edgenas::study::{Limits, Settings, SqliteStudy, Storage, Trial, TrialState};

/// Checks that `html` is well-formed: every tag closed in order (the report writes no void
/// elements unclosed), and no stray `<` or `&` in text.
fn assert_well_formed(html: &str) {
    let body = html
        .strip_prefix("<!DOCTYPE html>\n")
        .expect("a doctype first");
    let mut open: Vec<String> = Vec::new();
    let mut rest = body;
    while let Some(start) = rest.find('<') {
        let text = &rest[..start];
        check_text(text);
        let end = rest[start..].find('>').expect("an unclosed tag") + start;
        let tag = &rest[start + 1..end];
        if tag.starts_with("!--") {
        } else if let Some(name) = tag.strip_prefix('/') {
            let top = open.pop().unwrap_or_default();
            assert_eq!(top, name, "</{name}> closes <{top}>");
        } else if !tag.ends_with('/') {
            let name: String = tag
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric())
                .collect();
            if name == "script" || name == "style" {
                // Their content is code, not markup: skip to the closing tag.
                let close = format!("</{name}>");
                let at = rest[end..].find(&close).expect("a closed script") + end;
                rest = &rest[at + close.len()..];
                continue;
            }
            open.push(name);
        }
        rest = &rest[end + 1..];
    }
    check_text(rest);
    assert!(open.is_empty(), "unclosed: {open:?}");
}

fn check_text(text: &str) {
    for (i, _) in text.match_indices('&') {
        let entity = &text[i..text.len().min(i + 8)];
        assert!(
            ["&amp;", "&lt;", "&gt;", "&quot;"]
                .iter()
                .any(|e| entity.starts_with(e)),
            "a bare & in {text:?}"
        );
    }
}

fn settings() -> Settings {
    Settings {
        space: "mlp".into(),
        space_file: "mlp".into(),
        board: "nucleo-f746zg".into(),
        board_file: "nucleo-f746zg".into(),
        data: "digits".into(),
        limits: Limits {
            max_ram_kb: Some(0.25),
            ..Limits::default()
        },
        dtype: edgenas::cost::DType::Int8,
        epochs: 3,
        training: None,
        seed: 0,
        strategy: edgenas::strategy::StrategyName::Bayes,
        edgenas_version: "0.1.0".into(),
        trials: None,
        fidelity: Default::default(),
        prescreen: None,
        candidates: None,
    }
}

fn report(study: &Path, out: &Path) -> String {
    let o = edgenas(&[
        "report",
        "--study",
        study.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let html = std::fs::read_to_string(out).unwrap();
    assert_well_formed(&html);
    assert!(!html.contains("<script src"), "no external script");
    assert!(!html.contains("<link"), "no external style or font");
    html
}

#[test]
fn reports_of_an_empty_an_infeasible_and_a_failing_study() {
    let dir = tempfile::tempdir().unwrap();
    // A study with settings and no trial.
    let empty = dir.path().join("empty.db");
    SqliteStudy::open(&empty, true)
        .unwrap()
        .set_settings(&settings())
        .unwrap();
    let html = report(&empty, &dir.path().join("empty.html"));
    assert!(html.contains("0 trials: 0 complete"), "{html}");
    assert!(html.contains("No trial was exported"));

    // Only infeasible trials, and a failure with a reason that needs escaping.
    let bad = dir.path().join("bad.db");
    let study = SqliteStudy::open(&bad, true).unwrap();
    study.set_settings(&settings()).unwrap();
    for (i, genotype) in [
        "act=relu,hidden.depth=1,hidden.b1.out=256",
        "act=relu,hidden.depth=1,hidden.b1.out=128",
    ]
    .into_iter()
    .enumerate()
    {
        let mut t = Trial::pending(genotype.into(), 0);
        t.id = study.insert(&t).unwrap();
        t.state = TrialState::Infeasible;
        t.ram_bytes = Some(20_000 + 1000 * i as u64);
        t.reason = Some(format!(
            "RAM {:.1} KiB > --max-ram-kb 0.25",
            t.ram_bytes.unwrap() as f64 / 1024.0
        ));
        study.update(&t).unwrap();
    }
    let mut t = Trial::pending("act=relu6,hidden.depth=1,hidden.b1.out=16".into(), 0);
    t.id = study.insert(&t).unwrap();
    t.state = TrialState::Failed;
    t.reason = Some("the loss became NaN at epoch 1, step 3 & <gave up>".into());
    study.update(&t).unwrap();
    let html = report(&bad, &dir.path().join("bad.html"));
    assert!(
        html.contains("3 trials: 0 complete, 2 infeasible (rejected before training), 1 failed")
    );
    assert!(html.contains("RAM 19.5 KiB &gt; --max-ram-kb 0.25"));
    assert!(html.contains("step 3 &amp; &lt;gave up&gt;"));
    // The rejected trials are drawn as grey marks on the RAM plot, with the limit line.
    assert!(html.contains("rejected before training"));
    assert!(html.contains("limit 0.25 KiB"));
    // No flash limit: the board's own flash is drawn instead.
    assert!(html.contains("nucleo-f746zg 1024 KiB"), "{html}");
    // Each trial is one line: long genotypes and reasons are cut to the column, whole on
    // pointing (their title), and the table scrolls inside the page instead of falling off it.
    assert!(html.contains("table.trials td{white-space:nowrap}"));
    assert!(html.contains("<div class=\"wide\"><table class=\"sortable trials\">"));
    assert!(html.contains("title=\"RAM 19.5 KiB &gt; --max-ram-kb 0.25\""));

    // The same study as CSV and JSON.
    let o = edgenas(&[
        "report",
        "--study",
        bad.to_str().unwrap(),
        "--format",
        "csv",
    ]);
    let text = String::from_utf8(o.stdout).unwrap();
    assert_eq!(text.lines().count(), 4, "{text}");
    assert!(text.lines().nth(3).unwrap().starts_with("3,failed,false,"));
}

#[test]
fn the_report_of_a_real_search_carries_its_figures() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let o = edgenas(&[
        "search",
        "--space",
        "mlp",
        "--board",
        "nucleo-f746zg",
        "--data",
        "digits",
        "--meter",
        "simulator",
        "--trials",
        "3",
        "--epochs",
        "1",
        "--finalists",
        "1",
        "--out",
        out.to_str().unwrap(),
        "--json",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let s: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    // search wrote the report next to the study.
    let written = Path::new(s["report"].as_str().unwrap());
    assert_eq!(written, out.join("report.html"));
    let html = std::fs::read_to_string(written).unwrap();
    assert_well_formed(&html);
    for t in s["trials"].as_array().unwrap() {
        assert!(
            html.contains(&format!("<td>{}</td>", t["id"])),
            "trial {}",
            t["id"]
        );
        let acc = t["valid_accuracy"].as_f64().unwrap();
        assert!(html.contains(&format!("{acc:.2}")), "{acc}");
    }
    // The finalist: its test accuracies and its layer table.
    let f = &s["finalists"][0];
    assert!(html.contains(&format!("Trial {}", f["trial"])));
    assert!(html.contains(&format!("{:.2}", f["int8_test_accuracy"].as_f64().unwrap())));
    assert!(
        html.contains("<td class=\"g\">dense</td>") || html.contains(">dense<"),
        "no layer table"
    );
    // Latency, RAM and flash fronts, the learning curves, the best so far.
    assert_eq!(html.matches("<svg").count(), 5);
    assert!(html.contains("<title>Learning curves</title>"));
    // report on the same study writes the same document.
    let again = report(&out.join("study.db"), &dir.path().join("again.html"));
    assert_eq!(again, html);
}

#[test]
fn bad_input_leaves_no_file_behind() {
    let dir = tempfile::tempdir().unwrap();
    let missing = edgenas(&["report", "--study", "/nonexistent/study.db"]);
    assert!(!missing.status.success());
    assert!(String::from_utf8_lossy(&missing.stderr).contains("does not exist"));
    let notes = dir.path().join("notes.txt");
    std::fs::write(&notes, "hello").unwrap();
    let o = edgenas(&["report", "--study", notes.to_str().unwrap()]);
    assert!(String::from_utf8_lossy(&o.stderr).contains("is not an edgenas study"));
    let study = dir.path().join("s.db");
    SqliteStudy::open(&study, true).unwrap();
    let target = dir.path().join("no-such-dir").join("r.html");
    let o = edgenas(&[
        "report",
        "--study",
        study.to_str().unwrap(),
        "--out",
        target.to_str().unwrap(),
    ]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("cannot write"));
    assert!(!target.exists());
    // A failed write into an existing folder leaves neither the file nor its temporary.
    let readonly = dir.path().join("ro");
    std::fs::create_dir(&readonly).unwrap();
    let out = readonly.join("r.html");
    std::fs::write(&out, "old").unwrap();
    let o = edgenas(&[
        "report",
        "--study",
        study.to_str().unwrap(),
        "--out",
        readonly.to_str().unwrap(),
    ]);
    assert!(!o.status.success(), "a folder is not a file");
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "old");
    let names: Vec<String> = std::fs::read_dir(&readonly)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, vec!["r.html".to_string()]);
}
