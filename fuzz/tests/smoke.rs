//! The fuzz targets in CI: every earlier finding, kept in `fuzz/regressions/TARGET/`, runs
//! without a panic or a hang, and every target runs 10,000 mutants (seed 1) clean.

use std::time::Instant;

use edgenas_fuzz::targets::{TARGETS, target};
use edgenas_fuzz::{HANG, fuzz};

#[test]
fn earlier_findings_are_errors_not_panics_or_hangs() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("regressions");
    let mut checked = 0;
    for dir in std::fs::read_dir(&root).unwrap() {
        let dir = dir.unwrap().path();
        let name = dir.file_name().unwrap().to_str().unwrap().to_string();
        let t = target(&name).unwrap_or_else(|| panic!("no target {name}"));
        for file in std::fs::read_dir(&dir).unwrap() {
            let path = file.unwrap().path();
            let input = std::fs::read(&path).unwrap();
            let started = Instant::now();
            (t.run)(&input);
            assert!(
                started.elapsed() < HANG,
                "{}: {:?}",
                path.display(),
                started.elapsed()
            );
            checked += 1;
        }
    }
    assert!(checked >= 2, "{checked} regression inputs");
}

#[test]
fn every_target_survives_ten_thousand_mutants() {
    for t in TARGETS {
        let report = fuzz(t, 10_000, 1);
        assert_eq!(report.executions, 10_000);
        assert!(
            report.panics.is_empty(),
            "{}: {} panics",
            t.name,
            report.panics.len()
        );
        assert!(
            report.hangs.is_empty(),
            "{}: {} hangs",
            t.name,
            report.hangs.len()
        );
        println!("{}: 10000 executions, slowest {:?}", t.name, report.slowest);
    }
}
