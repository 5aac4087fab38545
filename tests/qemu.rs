//! The firmware on emulated Cortex-M boards: blobs of the shipped spaces run in QEMU give the
//! host engine's outputs byte for byte, in the planned arena, with exact and repeatable
//! instruction counts; and the QEMU meter measures ONNX models and serves a search.
//!
//! Needs `qemu-system-arm`, the firmware and the plugin (`.ci/run` builds them; see
//! docs/firmware.md). Without them the tests say that they skipped, except in CI (`CI` set),
//! where they fail.

use std::process::Command;

use crate::common::spaces;
use edgenas::board::load_board;
use edgenas::candidate::Candidate;
use edgenas::compile::{self, HostEngine, to_bytes};
use edgenas::data::Dataset;
use edgenas::export::{self, Calibration, ModelInfo, Precision};
use edgenas::measure::{BoardRun, Kind, Meter, QemuMeter};
use edgenas::network::layers::{Conv2d, Layer};
use edgenas::network::{Builder, Network, Shape};
use edgenas::rng::Rng;
use edgenas::space::load_space;
use edgenas::train;
use edgenas::train::TrainDevice;
use edgenas::weights::initial_weights;
use edgenas_engine::blob::Blob;

/// The meter of `board`, or `None` (with a message) when the firmware, the plugin or QEMU is
/// missing outside CI.
pub(crate) fn meter(board: &str) -> Option<QemuMeter> {
    let qemu = Command::new("qemu-system-arm")
        .arg("--version")
        .output()
        .is_ok();
    match QemuMeter::new(&load_board(board).unwrap()) {
        Ok(m) if qemu => Some(m),
        result => {
            let why = result
                .err()
                .map_or("qemu-system-arm is not installed".into(), |e| e.to_string());
            assert!(
                std::env::var_os("CI").is_none(),
                "CI must run the QEMU tests: {why}"
            );
            eprintln!("skipped: {why}");
            None
        }
    }
}

fn info() -> ModelInfo<'static> {
    ModelInfo::bare("test", "g")
}

#[test]
fn blobs_of_every_shipped_space_run_on_the_emulated_board_as_on_the_host() {
    let Some(meter) = meter("qemu-mps2-an386") else {
        return;
    };
    let device = TrainDevice::cpu();
    let mut models = 0;
    for space in spaces() {
        let name = space.name.as_str();
        let mut rng = Rng::new(11);
        let c = Candidate::new(&space, space.sample(&mut rng)).unwrap();
        let net = &c.network;
        let w = initial_weights(net, 2);
        let data = Dataset::random(net.input_shape(), net.classes, 8, 5);
        let values = train::activations(net, &w, &data.train, 8, &device).unwrap();
        let params = export::calibrate(&values, Calibration::MinMax).unwrap();
        for precision in [Precision::F32, Precision::Int8(params)] {
            let onnx = export::to_bytes(&export::export(net, &w, &info(), &precision).unwrap());
            let compiled = compile::compile(&onnx, "model.onnx").unwrap();
            let blob = Blob::parse(&compiled.blob).unwrap();
            let input_record = blob.tensor(blob.header().input as usize).unwrap();
            let x = &data.test.x[..net.input_shape().elements()];
            let input = to_bytes(&input_record, x);
            // The host engine's output bytes.
            let mut host = HostEngine::new(&compiled.blob).unwrap();
            let mut e = host.engine().unwrap();
            let mut expected = vec![0u8; e.output().bytes as usize];
            e.run(&input, &mut expected).unwrap();
            // Twice on the board: the same output, the same instruction count every time.
            let label = format!("{name} {} {:?}", c.genotype, input_record.dtype);
            let run = meter
                .run_blob(&compiled.blob, &input, None, 2)
                .unwrap_or_else(|e| panic!("{label}: {e}"));
            assert_eq!(run.output, expected, "{label}: output");
            assert_eq!(
                run.checksum,
                edgenas_engine::crc32(&expected),
                "{label}: checksum"
            );
            assert_eq!(
                run.high_water as usize, compiled.arena_bytes,
                "{label}: arena"
            );
            assert_eq!(
                run.instructions[0], run.instructions[1],
                "{label}: repeatable count"
            );
            assert!(
                run.instructions[0] > 1000,
                "{label}: {:?}",
                run.instructions
            );
            models += 1;
        }
    }
    assert!(models >= 10, "{models} models");
}

#[test]
fn every_int8_kernel_shape_of_the_calibration_models_runs_on_the_board_as_on_the_host() {
    // The one-op calibration models (edgenas::measure::micro_models): convolutions of 4 to 96
    // channels, 3×3, 5×5, 1×1 and depthwise, dense layers, pools; among them reductions of an
    // odd number of 4-value groups (4 channels × 3×3), which the assembly loop of the packed
    // convolution leaves to its remainder path. int8, where the board runs its own kernels.
    let Some(meter) = meter("qemu-mps2-an386") else {
        return;
    };
    let mut checked = 0;
    for (name, net) in edgenas::measure::micro_models() {
        let run = run_as_on_the_host(&meter, &net, &name);
        // The firmware stamped the cycle counter as the inference began and as each op ended
        // (the host filled the slots with u32::MAX; QEMU's counter reads 0, so no cycles).
        let ops = run.op_instructions.len();
        assert_eq!(run.stamps.len(), ops + 2, "{name}: stamps");
        assert_eq!(run.stamps[1], u32::MAX, "{name}: no front end, no stamp");
        assert!(
            run.stamps
                .iter()
                .enumerate()
                .all(|(i, &s)| i == 1 || s == 0),
            "{name}: stamps {:?}",
            run.stamps
        );
        assert_eq!(run.stamped_cycles(), None);
        checked += 1;
    }
    assert!(checked >= 40, "{checked} models");
}

#[test]
fn depthwise_of_every_kernel_size_odd_and_even_widths_at_both_strides_runs_on_the_board_as_on_the_host()
 {
    // The board's depthwise kernel has an assembly block per stride and parity of the output's
    // width (an odd width's last output alone) for a 3×3, and a Rust loop of DSP instructions
    // for a 5×5 and a 7×7; the calibration models are all square and even, so these maps are
    // not: output widths 1 to 7 at strides 1 and 2, with and without padding, each a single
    // op, int8. Without padding an odd row's last window reads no padding column, so a wrong
    // weight there shows (checked by breaking each parity's assembly: a 4 × 7 output at
    // stride 1 and 3 × 3 and 4 × 5 ones at stride 2 caught it).
    let Some(meter) = meter("qemu-mps2-an386") else {
        return;
    };
    let cases = [
        // (kernel, channels, height, width, stride, padding): output height × width
        (3, 16, 25, 5, 1, 1),  // 25 × 5, DS-CNN's maps
        (3, 16, 7, 4, 1, 1),   // 7 × 4
        (3, 16, 6, 9, 1, 0),   // 4 × 7
        (3, 8, 5, 3, 1, 0),    // 3 × 1: too narrow for the assembly
        (3, 16, 9, 9, 2, 1),   // 5 × 5
        (3, 16, 8, 7, 2, 0),   // 3 × 3
        (3, 16, 12, 8, 2, 1),  // 6 × 4
        (3, 16, 10, 11, 2, 0), // 4 × 5
        (5, 16, 25, 5, 1, 2),  // 25 × 5
        (5, 8, 8, 11, 1, 0),   // 4 × 7
        (5, 16, 9, 9, 2, 2),   // 5 × 5
        (5, 8, 12, 10, 2, 1),  // 5 × 4
        (7, 8, 12, 12, 1, 3),  // 12 × 12
        (7, 8, 9, 13, 1, 0),   // 3 × 7
        (7, 8, 14, 15, 2, 3),  // 7 × 8
        (7, 8, 13, 11, 2, 0),  // 4 × 3
    ];
    for (k, c, h, w, stride, padding) in cases {
        let name = format!("depthwise {k}x{k} {c}x{h}x{w} stride {stride} padding {padding}");
        let mut b = Builder::new(Shape::Image { c, h, w }, 10);
        b.set_block("m");
        let x = b.current();
        let layer = Layer::Conv2d(Conv2d {
            out_channels: c,
            kernel: [k, k],
            stride: [stride; 2],
            padding: [padding; 2],
            groups: c,
            bias: true,
        });
        let y = b.add("op0", layer, &[x]).unwrap();
        b.set_current(y);
        run_as_on_the_host(&meter, &b.finish(), &name);
    }
}

/// Runs `net`, exported in int8 with untrained weights, on the emulated board and in the host
/// engine, asserts that the board's output and arena high-water mark are the host's, and
/// returns the board's run.
fn run_as_on_the_host(meter: &QemuMeter, net: &Network, name: &str) -> BoardRun {
    let onnx = edgenas::measure::export_untrained(net, true, 1).unwrap();
    let (compiled, input) = edgenas::measure::mcu::compile_with_input(&onnx, name).unwrap();
    let mut host = HostEngine::new(&compiled.blob).unwrap();
    let mut e = host.engine().unwrap();
    let mut expected = vec![0u8; e.output().bytes as usize];
    e.run(&input, &mut expected).unwrap();
    let run = meter
        .run_blob(&compiled.blob, &input, None, 1)
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    assert_eq!(run.output, expected, "{name}: output");
    assert_eq!(
        run.high_water as usize, compiled.arena_bytes,
        "{name}: arena"
    );
    run
}

#[test]
fn the_qemu_meter_measures_onnx_models_and_bigger_ones_take_longer() {
    let Some(meter) = meter("qemu-mps2-an386") else {
        return;
    };
    let space = load_space("mlp").unwrap();
    let small = space
        .parse_genotype("act=relu,hidden.depth=1,hidden.b1.out=32")
        .ok();
    let large = space
        .parse_genotype(
            "act=relu,hidden.depth=3,hidden.b1.out=256,hidden.b2.out=256,hidden.b3.out=256",
        )
        .ok();
    let (Some(small), Some(large)) = (small, large) else {
        panic!("mlp genotypes changed: update this test");
    };
    let mut latencies = vec![];
    for g in [small, large] {
        let c = Candidate::new(&space, g).unwrap();
        let onnx = edgenas::measure::export_untrained(&c.network, true, 1).unwrap();
        let m = meter.measure(&onnx, "model").unwrap();
        assert_eq!(m.kind, Kind::Emulated);
        assert_eq!(m.backend, "qemu");
        let instructions = m.instructions.unwrap() as f64;
        let board = load_board("qemu-mps2-an386").unwrap();
        // Latency is the cycles of the Cortex-M4's table ÷ the clock; every instruction costs
        // at least one cycle and loads, taken branches and divides more, so the cycles lie
        // above the instructions — but within twice them for these kernels.
        let cycles = m.cycles.unwrap();
        let expected = cycles / board.clock_hz as f64 * 1e3;
        assert!((m.latency_ms.median - expected).abs() < 1e-9 * expected.max(1.0));
        assert!(
            cycles > 1.05 * instructions && cycles < 2.0 * instructions,
            "{cycles} cycles for {instructions} instructions"
        );
        // At least one instruction per MAC: the count is real work, not a constant.
        assert!(
            instructions >= c.costs.macs as f64,
            "{instructions} for {} MACs",
            c.costs.macs
        );
        // The op profile: every op of the blob, their MACs the network's, their instructions
        // all but the copy of the output (a few per output byte).
        let ops = m.ops.as_ref().expect("an emulated board profiles the ops");
        assert!(ops.iter().enumerate().all(|(i, p)| p.op == i), "{ops:?}");
        assert_eq!(ops.iter().map(|p| p.macs).sum::<u64>(), c.costs.macs);
        let counted: Option<u64> = ops.iter().map(|p| p.instructions).sum();
        let counted = counted.expect("the plugin counts every op's instructions");
        let rest = m.instructions.unwrap() - counted;
        assert!(rest < 1000, "{rest} instructions outside the ops: {ops:?}");
        for p in ops {
            assert!(p.cycles >= p.instructions.unwrap() as f64, "{p:?}");
        }
        let op_cycles: f64 = ops.iter().map(|p| p.cycles).sum();
        assert!(
            op_cycles <= cycles && op_cycles > 0.99 * cycles - 2000.0,
            "{ops:?}"
        );
        for p in ops.iter().filter(|p| p.kind == "dense") {
            assert!(p.instructions.unwrap() >= p.macs, "{p:?}");
            assert_eq!(p.dtype, "int8");
        }
        assert!(ops.iter().any(|p| p.kind == "dense"), "{ops:?}");
        latencies.push(m.latency_ms.median);
    }
    assert!(latencies[1] > 4.0 * latencies[0], "{latencies:?}");
}

#[test]
fn latency_before_training_does_not_depend_on_the_weight_draw() {
    // A search rejects candidates on the latency of untrained weights: the figure must be
    // the candidate's, not its draw's. Exact instruction counts, so no timing noise: two
    // draws agree within 1 % (data-dependent branches, such as a ReLU's, may differ).
    let Some(meter) = meter("qemu-mps2-an386") else {
        return;
    };
    let space = load_space("ds-cnn").unwrap();
    let g = space
        .parse_genotype(
            "stem.out=32,ds.depth=2,ds.b1.out=32,ds.b2.out=32,ds.b1.kernel=3,ds.b2.kernel=3",
        )
        .unwrap();
    let c = Candidate::new(&space, g).unwrap();
    for int8 in [false, true] {
        let [a, b] = [1, 2].map(|seed| {
            edgenas::measure::latency_before_training(&c, &meter, int8, seed)
                .unwrap()
                .instructions
                .unwrap() as f64
        });
        assert!(
            (a / b - 1.0).abs() < 0.01,
            "int8 {int8}: {a} and {b} instructions for two weight draws"
        );
    }
}

#[test]
fn a_bad_blob_is_an_error_from_the_board_not_a_hang() {
    let Some(meter) = meter("qemu-mps2-an386") else {
        return;
    };
    let space = load_space("mlp").unwrap();
    let c = Candidate::new(&space, space.sample(&mut Rng::new(1))).unwrap();
    let onnx = edgenas::measure::export_untrained(&c.network, false, 1).unwrap();
    let compiled = compile::compile(&onnx, "model.onnx").unwrap();
    let blob = Blob::parse(&compiled.blob).unwrap();
    let input_bytes = blob.tensor(blob.header().input as usize).unwrap().bytes as usize;
    // A wrong-sized input: the engine on the board refuses it.
    let err = meter
        .run_blob(&compiled.blob, &vec![0u8; input_bytes + 4], None, 1)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("the engine on the board failed") && err.contains("error 6"),
        "{err}"
    );
}

#[test]
fn calibration_on_the_emulated_board_fits_its_cost_model_closely() {
    let Some(meter) = meter("qemu-mps2-an386") else {
        return;
    };
    let board = load_board("qemu-mps2-an386").unwrap();
    let models = edgenas::measure::micro_models();
    let result =
        edgenas::measure::calibrate(&board, &meter, &models, false, "2026-01-01", &mut |_| {})
            .unwrap();
    let fit = result.cost_model.fit.unwrap();
    // Instruction counts have no noise: the linear cost model explains them closely.
    assert!(fit.median_error_percent < 10.0, "{fit:?}");
    assert!(fit.spearman > 0.98, "{fit:?}");
}

#[test]
fn a_search_on_the_emulated_board_measures_every_candidate_there() {
    if meter("qemu-mps2-an386").is_none() {
        return;
    }
    let (trials, _) = search(&[
        "--space",
        "mlp",
        "--board",
        "qemu-mps2-an386",
        "--data",
        "digits",
        "--trials",
        "2",
    ]);
    let measured: Vec<_> = trials.iter().filter(|t| t.latency_ms.is_some()).collect();
    assert!(measured.len() >= 2, "{trials:?}");
    for t in measured {
        assert_eq!(t.latency_kind.as_deref(), Some("emulated (qemu)"), "{t:?}");
    }
}

/// The trials of a one-epoch `edgenas search` with `args`, which must succeed, and its JSON.
fn search(args: &[&str]) -> (Vec<edgenas::study::Trial>, serde_json::Value) {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let status = Command::new(env!("CARGO_BIN_EXE_edgenas"))
        .arg("search")
        .args(args)
        .args(["--epochs", "1", "--json", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(
        status.status.success(),
        "{}",
        String::from_utf8_lossy(&status.stderr)
    );
    let study = edgenas::study::SqliteStudy::open(&out.join("study.db"), false).unwrap();
    let json = serde_json::from_slice(&status.stdout).unwrap();
    (edgenas::study::Storage::trials(&study).unwrap(), json)
}

/// The qemu-system-arm processes of `machine` whose parent is this test process (the other
/// tests, running at the same time, use another machine).
fn qemu_children(machine: &str) -> Vec<i32> {
    let me = std::process::id().to_string();
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            // "pid (comm) state ppid ...": the fields after the command name.
            let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
            let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            stat.contains("(qemu-system-arm)")
                && after.split_whitespace().nth(1) == Some(&me)
                && String::from_utf8_lossy(&cmdline).contains(machine)
        })
        .collect()
}

/// Runs a big model 40 times on the Cortex-M7 board with `meter` and sends QEMU `signal`
/// half a second into the run; returns the measurement's error and QEMU's process id.
fn signal_mid_run(meter: QemuMeter, signal: i32) -> (String, i32) {
    // A big model run 40 times: well over the half second before the signal (one run of it
    // took under half a second on a fast machine, and the signal then came too late).
    let space = load_space("resnet-tiny").unwrap();
    let g = "stages=3,stem.out=32,s1.depth=3,s1.out=32,s2.depth=3,s2.out=64,s3.depth=3,s3.out=128";
    let c = Candidate::new(&space, space.parse_genotype(g).unwrap()).unwrap();
    let onnx = edgenas::measure::export_untrained(&c.network, true, 1).unwrap();
    let (compiled, input) = edgenas::measure::mcu::compile_with_input(&onnx, "big").unwrap();
    let run = std::thread::spawn(move || meter.run_blob(&compiled.blob, &input, None, 40));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let pid = loop {
        if let Some(&pid) = qemu_children("mps2-an500").first() {
            std::thread::sleep(std::time::Duration::from_millis(500));
            // SAFETY: kill(2) on a process id; it touches no memory of ours.
            unsafe { libc::kill(pid, signal) };
            break pid;
        }
        assert!(std::time::Instant::now() < deadline, "QEMU never started");
        std::thread::sleep(std::time::Duration::from_millis(5));
    };
    (run.join().unwrap().unwrap_err().to_string(), pid)
}

#[test]
fn qemu_killed_or_hung_mid_run_fails_the_measurement_with_a_reason() {
    // The only test on this machine.
    let Some(meter) = meter("qemu-mps2-an500") else {
        return;
    };
    let (err, killed) = signal_mid_run(meter, libc::SIGKILL);
    assert!(
        err.contains("qemu-mps2-an500 (QEMU): QEMU stopped during the run (signal: 9"),
        "QEMU {killed} killed: {err}"
    );
    println!("QEMU {killed} killed: {err}");
    assert!(
        qemu_children("mps2-an500").is_empty(),
        "a QEMU process was left behind"
    );
    // A QEMU that hangs (stopped by SIGSTOP, as a wedged emulator or board never answers):
    // the measurement fails when its time is up, and the stopped QEMU is killed, not left.
    let mut meter = QemuMeter::new(&load_board("qemu-mps2-an500").unwrap()).unwrap();
    meter.timeout = std::time::Duration::from_secs(3);
    let started = std::time::Instant::now();
    let (err, hung) = signal_mid_run(meter, libc::SIGSTOP);
    assert!(
        err.contains("qemu-mps2-an500 (QEMU)") && err.contains("did not"),
        "QEMU {hung} stopped: {err}"
    );
    assert!(
        started.elapsed() < std::time::Duration::from_secs(30),
        "{err}"
    );
    println!("QEMU {hung} stopped: {err}");
    assert!(
        qemu_children("mps2-an500").is_empty(),
        "a stopped QEMU process was left behind"
    );
}

#[test]
fn an_installed_binary_finds_the_firmware_in_its_data_directory() {
    if meter("qemu-mps2-an386").is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let space = load_space("mlp").unwrap();
    let c = Candidate::new(&space, space.sample(&mut Rng::new(3))).unwrap();
    let model = dir.path().join("model.onnx");
    std::fs::write(
        &model,
        edgenas::measure::export_untrained(&c.network, true, 1).unwrap(),
    )
    .unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(data.join("firmware")).unwrap();
    let firmware = data.join("firmware/emulated.elf");
    let measure = || {
        Command::new(env!("CARGO_BIN_EXE_edgenas"))
            .args([
                "measure",
                model.to_str().unwrap(),
                "--board",
                "qemu-mps2-an386",
            ])
            .args(["--meter", "qemu"])
            .env("EDGENAS_DATA_DIR", &data)
            .env_remove("EDGENAS_FIRMWARE")
            .output()
            .unwrap()
    };
    // A file there is the one used, before the build tree's: a broken one is refused.
    std::fs::write(&firmware, b"not firmware").unwrap();
    let out = measure();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("not a 32-bit little-endian ELF"), "{err}");
    // The real firmware there measures.
    let built = edgenas::measure::mcu::firmware_path(&load_board("qemu-mps2-an386").unwrap());
    std::fs::copy(built, &firmware).unwrap();
    let out = measure();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn the_shipped_kernel_model_predicts_candidates_of_every_space_within_ten_percent() {
    // The board file's per-kernel coefficients (fitted by `calibrate` on random kernel chains,
    // never on a space's candidates) against the firmware as built: a kernel that changed
    // without a new calibration fails here.
    let Some(meter) = meter("qemu-mps2-an386") else {
        return;
    };
    let board = load_board("qemu-mps2-an386").unwrap();
    let km = board
        .kernel_model
        .clone()
        .expect("the board file has a kernel model");
    let mut errors = Vec::new();
    for space in spaces() {
        let mut rng = Rng::new(5);
        for i in 0..4 {
            let c = Candidate::new(&space, space.sample(&mut rng)).unwrap();
            let int8 = i % 2 == 1;
            let bytes = edgenas::measure::export_untrained(&c.network, int8, 0).unwrap();
            let what = format!("{} {}", space.name, c.genotype);
            let counts = edgenas::measure::compiled_counts(&bytes, &what).unwrap();
            let predicted = edgenas::measure::kernel_model::predict_cycles(&km, &counts).unwrap();
            let measured = meter.measure(&bytes, &what).unwrap().cycles.unwrap();
            errors.push(((predicted - measured) / measured, what));
        }
    }
    let within = errors.iter().filter(|(e, _)| e.abs() <= 0.10).count();
    let mut sorted: Vec<f64> = errors.iter().map(|(e, _)| e.abs()).collect();
    sorted.sort_by(f64::total_cmp);
    let median = sorted[sorted.len() / 2];
    assert!(
        within * 10 >= errors.len() * 9 && median <= 0.05,
        "{within} of {} within ±10 %, median {:.1} %: {errors:?}",
        errors.len(),
        100.0 * median
    );
}

#[test]
fn a_latency_limited_search_on_a_real_m4_board_trains_nothing_its_emulated_twin_finds_too_slow() {
    // nucleo-l4r5zi has no probe here: the search predicts its latency with the kernel model
    // of its emulated twin (qemu-mps2-an386). Every candidate it trains, run on the twin and
    // scaled to the L4R5's clock, keeps within 10 % of the limit.
    let Some(meter) = meter("qemu-mps2-an386") else {
        return;
    };
    let limit_ms = 10.0;
    let (trials, json) = search(&[
        "--space",
        "ds-cnn",
        "--board",
        "nucleo-l4r5zi",
        "--data",
        "digits",
        "--meter",
        "simulator",
        "--max-latency-ms",
        &limit_ms.to_string(),
        "--trials",
        "8",
    ]);
    let space = load_space("ds-cnn").unwrap();
    let twin_board = load_board("nucleo-l4r5zi").unwrap();
    let trained: Vec<_> = trials
        .iter()
        .filter(|t| t.valid_accuracy.is_some())
        .collect();
    assert!(!trained.is_empty(), "nothing trained: {trials:?}");
    // The default strategy (`ehvi`) leaves the candidates over the limit out before any
    // trial; a trial over it would be recorded as infeasible.
    let rejected = trials
        .iter()
        .filter(|t| t.reason.as_deref().is_some_and(|r| r.contains("latency")))
        .count()
        + json["candidates"]["over_limits"].as_u64().unwrap() as usize;
    assert!(rejected > 0, "the limit rejected nothing: {json}");
    for t in trained {
        let genotype = space.parse_genotype(&t.genotype).unwrap();
        let (c, _) =
            <Candidate as edgenas::data::ForData>::for_data(&space, genotype, "digits", 0).unwrap();
        let m = edgenas::measure::latency_before_training(&c, &meter, true, t.seed).unwrap();
        let emulated_ms = m.cycles.unwrap() / twin_board.clock_hz as f64 * 1e3;
        assert!(
            emulated_ms <= 1.1 * limit_ms,
            "trial {} predicted {:?} ms, {emulated_ms:.3} ms on the twin: {t:?}",
            t.id,
            t.latency_ms
        );
    }
}
