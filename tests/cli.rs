//! The `edgenas` binary, run as a user runs it.

use crate::common::{edgenas, repo_root};
use std::path::Path;
use std::process::Command;

use edgenas::board::SHIPPED_BOARDS;
use edgenas::space::SHIPPED_SPACES;
use serde_json::Value;

/// Runs a command that must succeed and returns its standard output.
fn ok(args: &[&str]) -> String {
    let out = edgenas(args);
    assert!(
        out.status.success(),
        "edgenas {args:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Runs a command that must fail cleanly (exit 1, a message, no panic) and returns stderr.
fn fails(args: &[&str]) -> String {
    let out = edgenas(args);
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(
        out.status.code(),
        Some(1),
        "edgenas {args:?} should fail with 1:\n{err}"
    );
    assert!(err.starts_with("error: "), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    err
}

fn json(args: &[&str]) -> Value {
    serde_json::from_str(&ok(args)).expect("--json prints JSON")
}

#[test]
fn help_explains_every_command() {
    let top = ok(&["--help"]);
    for cmd in [
        "spaces",
        "boards",
        "inspect",
        "sample",
        "measure",
        "calibrate",
    ] {
        assert!(top.contains(cmd), "{top}");
        let help = ok(&[cmd, "--help"]);
        assert!(help.contains("--json"), "{cmd}: {help}");
    }
}

#[test]
fn spaces_and_boards_list_what_is_shipped() {
    let spaces = json(&["spaces", "--json"]);
    let names: Vec<&str> = spaces
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        SHIPPED_SPACES.iter().map(|(n, _)| *n).collect::<Vec<_>>()
    );
    let boards = json(&["boards", "--json"]);
    assert_eq!(boards.as_array().unwrap().len(), SHIPPED_BOARDS.len());
    let f746 = boards
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["name"] == "nucleo-f746zg")
        .unwrap();
    assert_eq!(f746["memory"]["ram_bytes"], 327_680);
    assert_eq!(f746["connection"]["probe_rs_chip"], "STM32F746ZGTx");
    let nb = json(&["spaces", "nb201", "--json"]);
    assert_eq!(nb[0]["size"], 15625.0);
    assert!(ok(&["spaces", "resnet-tiny"]).contains("stages >= 3"));
}

#[test]
fn user_files_are_read_by_path() {
    let dir = tempfile::tempdir().unwrap();
    let space = dir.path().join("tiny.toml");
    std::fs::write(&space, "name = \"tiny\"\n[input]\nchannels = 1\nresolution = 8\nclasses = 3\n[[blocks]]\nname = \"fc\"\ntype = \"dense\"\nout = { values = [4, 8] }\n").unwrap();
    let board = dir.path().join("small.toml");
    std::fs::write(&board, "name = \"small\"\nkind = \"mcu\"\ncore = \"cortex-m4f\"\nclock_hz = 48000000\n[memory]\nram_bytes = 4096\nflash_bytes = 8192\nruntime_ram_bytes = 3880\nruntime_flash_bytes = 1024\n[connection]\ngdb = \"127.0.0.1:3333\"\n").unwrap();
    let (s, b) = (space.to_str().unwrap(), board.to_str().unwrap());
    assert!(ok(&["spaces", s]).contains("fc.out"));
    assert!(ok(&["boards", b]).contains("small"));
    // 64 inputs -> 8 outputs: int8 arena 64 + 8 bytes and the dense kernel's scratch
    // (2 × 64, the unpacked input) = 200 bytes; with 3880 of runtime, 4080 of 4096.
    let fit = json(&[
        "inspect",
        "--space",
        s,
        "--genotype",
        "fc.out=8",
        "--board",
        b,
        "--json",
    ]);
    assert_eq!(fit["peak_ram_bytes"], 200);
    assert_eq!(fit["fit"]["ram_needed_bytes"], 4080);
    assert_eq!(fit["fit"]["ram_margin_bytes"], 16);
    assert_eq!(fit["fits"], true);
    // In f32 the same network needs 4 x 72 bytes of arena (no scratch) and misses by 72 bytes.
    let miss = json(&[
        "inspect",
        "--space",
        s,
        "--genotype",
        "fc.out=8",
        "--board",
        b,
        "--dtype",
        "f32",
        "--json",
    ]);
    assert_eq!(miss["fit"]["ram_margin_bytes"], 4096 - 3880 - 288);
    assert_eq!(miss["fits"], false);
    let text = ok(&[
        "inspect",
        "--space",
        s,
        "--genotype",
        "fc.out=8",
        "--board",
        b,
        "--dtype",
        "f32",
    ]);
    assert!(
        text.contains("fits      NO") && text.contains("margin -72 B"),
        "{text}"
    );
}

#[test]
fn inspect_works_on_every_shipped_space_and_board() {
    for (space, _) in SHIPPED_SPACES {
        for (board, _) in SHIPPED_BOARDS {
            let v = json(&[
                "inspect", "--space", space, "--random", "--seed", "3", "--board", board, "--json",
            ]);
            for key in [
                "params",
                "macs",
                "peak_ram_bytes",
                "flash_bytes",
                "fits",
                "layers",
                "genotype",
                "hash",
            ] {
                assert!(!v[key].is_null(), "{space} on {board}: no `{key}`");
            }
            let fit = &v["fit"];
            // The promise: `fits` is exactly "needed <= available" for RAM and flash.
            let within = |need: &str, avail: &str| {
                fit[avail].is_null() || fit[need].as_u64() <= fit[avail].as_u64()
            };
            let expected = within("ram_needed_bytes", "ram_available_bytes")
                && within("flash_needed_bytes", "flash_available_bytes");
            assert_eq!(v["fits"].as_bool().unwrap(), expected, "{space} on {board}");
            assert_eq!(fit["flash_needed_bytes"], v["flash_bytes"]);
        }
        // Text output, and the same genotype given back as JSON, decodes to the same network.
        assert!(ok(&["inspect", "--space", space, "--random"]).contains("peak RAM"));
        let first = json(&[
            "inspect", "--space", space, "--random", "--seed", "8", "--json",
        ]);
        let again = json(&[
            "inspect",
            "--space",
            space,
            "--genotype",
            &first["genotype"].to_string(),
            "--json",
        ]);
        assert_eq!(first["hash"], again["hash"]);
        assert_eq!(first["macs"], again["macs"]);
    }
}

#[test]
fn sample_reports_the_share_that_fits() {
    for (space, _) in SHIPPED_SPACES {
        let v = json(&[
            "sample",
            "--space",
            space,
            "-n",
            "25",
            "--seed",
            "4",
            "--board",
            "nucleo-f746zg",
            "--json",
        ]);
        let candidates = v["candidates"].as_array().unwrap();
        assert_eq!(candidates.len(), 25);
        let fitting = candidates.iter().filter(|c| c["fits"] == true).count();
        assert_eq!(v["fits_count"], fitting);
        assert!((v["fits_share"].as_f64().unwrap() - fitting as f64 / 25.0).abs() < 1e-12);
        // The same seed draws the same candidates.
        let again = json(&[
            "sample", "--space", space, "-n", "25", "--seed", "4", "--json",
        ]);
        assert_eq!(again["candidates"][7]["hash"], candidates[7]["hash"]);
    }
    let text = ok(&["sample", "--space", "mlp", "-n", "5", "--board", "rpi-pico"]);
    assert!(text.contains("fits rpi-pico:"), "{text}");
}

#[test]
fn bad_input_is_a_clear_error_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &str| {
        let p = dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        p.to_str().unwrap().to_string()
    };
    let e = fails(&["inspect", "--space", "no/such/space.toml", "--random"]);
    assert!(
        e.contains("no/such/space.toml") && e.contains("no such file"),
        "{e}"
    );
    let e = fails(&["inspect", "--space", "nosuchspace", "--random"]);
    assert!(e.contains("shipped: mobilenetv2-tiny"), "{e}");
    let broken = write(
        "broken.toml",
        "name = \"b\"\n[input]\nchannels = 1\nresolution = 8\nclasses = 2\n[[blocks]]\nname = \"c\"\ntype = \"conv\"\nout = { min = 8, max = 16, step = 0 }\n",
    );
    let e = fails(&["inspect", "--space", &broken, "--random"]);
    assert!(
        e.contains(&format!(
            "{broken}:9: `c.out.step`: step must be at least 1"
        )),
        "{e}"
    );
    let syntax = write("syntax.toml", "name = [\n");
    let e = fails(&["spaces", &syntax]);
    assert!(e.contains("syntax.toml") && e.contains("line"), "{e}");
    let e = fails(&[
        "inspect",
        "--space",
        "mlp",
        "--genotype",
        "act=tanh,hidden.depth=1,hidden.b1.out=32",
    ]);
    assert!(
        e.contains("`act` = tanh is not one of {relu, relu6}"),
        "{e}"
    );
    let e = fails(&[
        "inspect",
        "--space",
        "mlp",
        "--random",
        "--board",
        "nosuchboard",
    ]);
    assert!(e.contains("shipped: host"), "{e}");
    let board = write(
        "b.toml",
        "name = \"b\"\nkind = \"mcu\"\ncore = \"cortex-m4f\"\nclock_hz = 1\nflash = 3\n[memory]\nram_bytes = 10\nflash_bytes = 10\n",
    );
    let e = fails(&["boards", &board]);
    assert!(e.contains("unknown field `flash`"), "{e}");
    let no_memory = write(
        "m.toml",
        "name = \"m\"\nkind = \"mcu\"\ncore = \"cortex-m4f\"\nclock_hz = 1\n[memory]\n[connection]\ngdb = \"x:1\"\n",
    );
    let e = fails(&["boards", &no_memory]);
    assert!(
        e.contains("`memory.ram_bytes`: a microcontroller board must state its memory"),
        "{e}"
    );
    // Usage errors are clap's: exit 2 with a usage line.
    let out = edgenas(&["inspect", "--space", "mlp"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn every_file_in_search_spaces_and_boards_is_shipped_in_the_binary() {
    let root = repo_root();
    let stems = |dir: &str| -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(root.join(dir))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "toml"))
            .map(|p| p.file_stem().unwrap().to_str().unwrap().to_string())
            .collect();
        v.sort();
        v
    };
    let names = |list: &[(&str, &str)]| -> Vec<String> {
        let mut v: Vec<String> = list.iter().map(|(n, _)| n.to_string()).collect();
        v.sort();
        v
    };
    assert_eq!(stems("search-spaces"), names(SHIPPED_SPACES));
    assert_eq!(stems("boards"), names(SHIPPED_BOARDS));
}

/// Trains a small MLP on digits for one epoch and writes its files into `dir`.
fn trained_model(dir: &Path) {
    let out = dir.to_str().unwrap();
    ok(&[
        "train", "--space", "mlp", "--random", "--seed", "1", "--data", "digits", "--epochs", "1",
        "--out", out,
    ]);
}

#[test]
fn measure_times_a_model_on_the_host_and_predicts_it_on_a_board() {
    let dir = tempfile::tempdir().unwrap();
    trained_model(dir.path());
    let f32 = dir.path().join("model.onnx");
    let int8 = dir.path().join("model-int8.onnx");
    let (f32, int8) = (f32.to_str().unwrap(), int8.to_str().unwrap());

    let host = json(&["measure", f32, "--json"]);
    assert_eq!(host["backend"], "tract-host");
    assert_eq!(host["kind"], "measured");
    assert!(host["latency_ms"]["median"].as_f64().unwrap() > 0.0);
    assert!(host["latency_ms"]["runs"].as_u64().unwrap() >= 15);
    let fixed = json(&["measure", f32, "--runs", "7", "--json"]);
    assert_eq!(fixed["latency_ms"]["runs"], 7);

    let board = json(&["measure", int8, "--board", "nucleo-f746zg", "--json"]);
    assert_eq!(board["backend"], "simulator");
    assert_eq!(board["kind"], "predicted");
    assert!(board["cycles"].as_f64().unwrap() > 0.0);
    assert!(!board["warnings"].as_array().unwrap().is_empty());

    let text = ok(&["measure", f32]);
    assert!(
        text.contains("median") && text.contains("tract-host"),
        "{text}"
    );
}

#[test]
fn measure_refuses_bad_models_and_boards_clearly() {
    let dir = tempfile::tempdir().unwrap();
    trained_model(dir.path());
    let model = dir.path().join("model.onnx");
    let bytes = std::fs::read(&model).unwrap();
    let truncated = dir.path().join("truncated.onnx");
    std::fs::write(&truncated, &bytes[..bytes.len() / 3]).unwrap();
    let e = fails(&["measure", truncated.to_str().unwrap()]);
    assert!(e.contains("truncated.onnx"), "{e}");
    let e = fails(&["measure", "no-such-model.onnx"]);
    assert!(e.contains("cannot read no-such-model.onnx"), "{e}");

    let m = model.to_str().unwrap();
    let e = fails(&["measure", m, "--board", "nucleo-f746zg", "--meter", "tract"]);
    assert!(e.contains("--meter probe"), "{e}");
    assert!(e.contains("--meter simulator"), "{e}");
    // A board file without a cost model cannot be simulated.
    let (_, text) = SHIPPED_BOARDS
        .iter()
        .find(|(n, _)| *n == "nucleo-f746zg")
        .unwrap();
    let bare = text.split("[cost_model]").next().unwrap().to_string();
    let bare_path = dir.path().join("bare.toml");
    std::fs::write(&bare_path, bare).unwrap();
    let e = fails(&["measure", m, "--board", bare_path.to_str().unwrap()]);
    assert!(e.contains("has no [cost_model]"), "{e}");
}

#[test]
fn calibrate_fits_the_host_and_writes_a_board_file_that_loads() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("host-calibrated.toml");
    let out_s = out.to_str().unwrap();
    let e = fails(&["calibrate", "--board", "nucleo-f746zg"]);
    assert!(e.contains("measuring meter"), "{e}");
    let text = ok(&["calibrate", "--board", "host", "--f32-only", "--out", out_s]);
    assert!(text.contains("within ±10 %"), "{text}");
    let board = json(&["boards", out_s, "--json"]);
    let cost = &board[0]["cost_model"];
    assert_eq!(cost["source"], "calibrated");
    assert!(cost["fit"]["models"].as_u64().unwrap() >= 40);
    assert!(cost["fit"]["spearman"].as_f64().unwrap() > 0.5);
}

#[test]
fn the_predictor_benchmark_reports_fidelity_per_space() {
    let v = json(&[
        "bench",
        "predictor",
        "--per-space",
        "4",
        "--spaces",
        "mlp,ds-cnn",
        "--json",
    ]);
    assert_eq!(v["candidates"], 8);
    assert_eq!(v["reported"], 4);
    let rows = v["rows"].as_array().unwrap();
    for coefficients in ["micro-models", "other half", "(measured again)"] {
        assert!(
            rows.iter()
                .any(|r| r["coefficients"] == coefficients && r["space"] == "all"),
            "{coefficients}: {rows:?}"
        );
    }
    for r in rows {
        let share = r["within_10_percent"].as_f64().unwrap();
        assert!((0.0..=100.0).contains(&share), "{r}");
    }
}

#[test]
fn the_proxy_benchmark_ranks_trained_candidates_by_their_score_at_initialisation() {
    let v = json(&[
        "bench",
        "proxies",
        "--spaces",
        "mlp",
        "--candidates",
        "8",
        "--epochs",
        "2",
        "--json",
    ]);
    let row = &v["rows"][0];
    assert_eq!(row["space"], "mlp");
    assert_eq!(row["candidates"], 8);
    let proxies = row["proxies"].as_array().unwrap();
    let names: Vec<&str> = proxies
        .iter()
        .map(|p| p["proxy"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["naswot", "synflow", "grad-norm"]);
    for p in proxies {
        assert_eq!(
            p["scored"], 8,
            "every MLP has ReLUs and weights to score: {p}"
        );
        let rho = p["spearman"].as_f64().unwrap();
        assert!((-1.0..=1.0).contains(&rho), "{p}");
        assert!(p["median_ms"].as_f64().unwrap() > 0.0, "{p}");
    }
    // Wider MLPs keep the samples apart and learn the digits better: on this space NASWOT
    // ranks them as training does (0.79 over 10 candidates of 3 epochs).
    assert!(proxies[0]["spearman"].as_f64().unwrap() > 0.3, "{row}");
}

/// The probe meter as far as it goes without hardware: board-file handling, the firmware
/// check, and the no-probe message (no debug probe is attached where the tests run).
#[test]
fn the_probe_meter_without_a_probe_says_what_is_missing() {
    if cfg!(not(feature = "probe")) {
        eprintln!("skipped: built without the `probe` feature");
        return;
    }
    let listed = json(&["boards", "--probes", "--json"]);
    if listed["probes"].as_array().is_some_and(|p| !p.is_empty()) {
        eprintln!("skipped: a debug probe is attached to this machine");
        return;
    }
    assert!(ok(&["boards", "--probes"]).contains("No debug probe is attached"));
    let dir = tempfile::tempdir().unwrap();
    trained_model(dir.path());
    let m = dir.path().join("model.onnx");
    let m = m.to_str().unwrap();
    let probe = |board: &str, firmware: Option<&Path>| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_edgenas"));
        cmd.args(["measure", m, "--board", board, "--meter", "probe"]);
        match firmware {
            Some(f) => cmd.env("EDGENAS_FIRMWARE", f),
            None => cmd.env("EDGENAS_FIRMWARE", dir.path().join("no-firmware.elf")),
        };
        let out = cmd.output().unwrap();
        assert_eq!(out.status.code(), Some(1));
        String::from_utf8_lossy(&out.stderr).to_string()
    };
    let e = probe("nucleo-f746zg", None);
    assert!(
        e.contains("EDGENAS_BOARD=nucleo-f746zg device/firmware/build.sh"),
        "{e}"
    );
    let firmware = dir.path().join("firmware.elf");
    std::fs::write(&firmware, b"\x7fELF").unwrap();
    let e = probe("nrf52840-dk", Some(&firmware));
    assert!(e.contains("no debug probe is attached"), "{e}");
    assert!(e.contains("--meter simulator"), "{e}");
    let e = probe("qemu-mps2-an386", Some(&firmware));
    assert!(e.contains("runs real microcontroller boards"), "{e}");
    // A board without a memory map cannot be measured: the host would not know where to write.
    let (_, text) = SHIPPED_BOARDS
        .iter()
        .find(|(n, _)| *n == "nucleo-f746zg")
        .unwrap();
    let no_map = dir.path().join("no-map.toml");
    std::fs::write(&no_map, text.replace("ram_origin = 0x2000_0000\n", "")).unwrap();
    let e = probe(no_map.to_str().unwrap(), Some(&firmware));
    assert!(e.contains("memory.ram_origin"), "{e}");
    // The firmware's share must leave RAM for the model.
    let greedy = dir.path().join("greedy.toml");
    std::fs::write(
        &greedy,
        text.replace(
            "firmware_ram_bytes = 32_768",
            "firmware_ram_bytes = 400_000",
        ),
    )
    .unwrap();
    let e = fails(&["boards", greedy.to_str().unwrap()]);
    assert!(e.contains("memory.firmware_ram_bytes"), "{e}");
}

/// Runs a command that clap must refuse (exit 2, no panic) and returns stderr.
fn refused(args: &[&str]) -> String {
    let out = edgenas(args);
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(out.status.code(), Some(2), "edgenas {args:?}:\n{err}");
    assert!(!err.contains("panicked"), "{err}");
    err
}

#[test]
fn a_number_out_of_range_is_refused_with_its_bound_negative_or_not() {
    let dir = tempfile::tempdir().unwrap();
    let study = dir.path().join("study.db");
    let study = study.to_str().unwrap();
    let search = [
        "search", "--space", "mlp", "--board", "host", "--study", study,
    ];
    for (command, flag, value, bound) in [
        (&search[..], "--trials", "-1", "must be at least 1"),
        (&search[..], "--trials", "0", "must be at least 1"),
        (&search[..], "--max-latency-ms", "-2.5", "must be above 0"),
        (&search[..], "--seed", "-3", "must be 0 or more"),
        (
            &search[..],
            "--epochs",
            "1.5",
            "`1.5` is not a whole number",
        ),
        (
            &["sample", "--space", "mlp"][..],
            "-n",
            "-1",
            "must be at least 1",
        ),
        (
            &["train", "--space", "mlp", "--random"][..],
            "--lr",
            "-0.1",
            "must be above 0",
        ),
        (
            &["replay", "--space", "mlp", "--table", "t.csv"][..],
            "--seeds",
            "-4",
            "must be at least 1",
        ),
        (
            &["worker", "--study", study][..],
            "--heartbeat-timeout",
            "-1",
            "must be above 0",
        ),
    ] {
        // Written apart (`--trials -1`) or joined (`--trials=-1`), the same message.
        for args in [
            [command, &[flag, value]].concat(),
            [command, &[&format!("{flag}={value}")[..]]].concat(),
        ] {
            let e = refused(&args);
            assert!(
                e.contains(&format!("invalid value '{value}'")),
                "{args:?}: {e}"
            );
            assert!(e.contains(bound), "{args:?}: {e}");
        }
    }
    for budget in ["0", "NaN", "-5"] {
        for command in [
            &["train", "--space", "mlp", "--random"][..],
            &search[..],
            &["worker", "--study", study][..],
        ] {
            let args = [command, &["--time-budget", budget]].concat();
            let e = refused(&args);
            assert!(
                e.contains("must be") && e.contains("--time-budget"),
                "{args:?}: {e}"
            );
        }
    }
}

#[test]
fn a_command_ends_quietly_when_its_reader_closes_the_pipe() {
    for args in [
        &["spaces", "--blocks"][..],
        &["sample", "--space", "mlp", "-n", "500"][..],
        &["boards", "--json"][..],
    ] {
        // `edgenas … | head -1` once `head` has gone: the pipe's reading end is closed
        // before the command writes its first line.
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let out = Command::new(env!("CARGO_BIN_EXE_edgenas"))
            .args(args)
            .stdout(writer)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!err.contains("panicked"), "{args:?}: {err}");
        assert_eq!(out.status.code(), Some(0), "{args:?}: {err}");
    }
}
