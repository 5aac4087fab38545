//! Measuring latency: the tract host meter, the simulator and its work analysis. (That
//! latency before training does not depend on the weight draw is checked on the emulated
//! board, whose counts are exact: tests/qemu.rs.)

use std::sync::Mutex;
use std::time::Duration;

use edgenas::board::load_board;
use edgenas::candidate::Candidate;
use edgenas::export::TractFailure;
use edgenas::measure::work::{CostKind, analyse};
use edgenas::measure::{
    Kind, MeasureError, Meter, MeterChoice, Simulator, Timer, TractMeter, export_untrained,
    meter_for, micro_models, predict_cycles,
};
use edgenas::rng::Rng;
use edgenas::space::load_space;

const DS_CNN: &str =
    "stem.out=64,ds.depth=2,ds.b1.out=64,ds.b2.out=64,ds.b1.kernel=3,ds.b2.kernel=3";

fn candidate(space: &str, genotype: &str) -> Candidate {
    let s = load_space(space).unwrap();
    Candidate::new(&s, s.parse_genotype(genotype).unwrap()).unwrap()
}

/// Every test of this file holds this while it runs: tests of one binary run in parallel, and
/// a test that times models while another loads and optimises models on the other core
/// measured differences of 50 % between identical models.
static TIMING: Mutex<()> = Mutex::new(());

/// A quick meter for tests: fewer runs, less time.
fn quick_timer() -> Timer {
    Timer {
        min_runs: 10,
        max_time: Duration::from_millis(300),
        ..Timer::default()
    }
}

/// The tract meter with [`quick_timer`].
fn quick() -> TractMeter {
    TractMeter::new("host", quick_timer())
}

#[test]
fn the_work_tract_sees_has_the_macs_of_our_ir() {
    let _alone = TIMING.lock().unwrap_or_else(|e| e.into_inner());
    // The simulator's MACs come from tract's typed graph of the exported file, our costs from
    // the IR: for convolutions and dense layers they are the same numbers, in every form.
    let mut rng = Rng::new(5);
    for space in ["ds-cnn", "mobilenetv2-tiny", "resnet-tiny", "mlp"] {
        let s = load_space(space).unwrap();
        for _ in 0..3 {
            let c = Candidate::new(&s, s.sample(&mut rng)).unwrap();
            for int8 in [false, true] {
                let bytes = export_untrained(&c.network, int8, 0).unwrap();
                let work = analyse(&bytes, "m").unwrap();
                assert_eq!(work.int8, int8);
                let macs: f64 = work
                    .nodes
                    .iter()
                    .filter(|n| {
                        matches!(
                            n.kind,
                            CostKind::Conv
                                | CostKind::Depthwise
                                | CostKind::Pointwise
                                | CostKind::Dense
                        )
                    })
                    .map(|n| n.work)
                    .sum();
                assert_eq!(
                    macs as u64, c.costs.macs,
                    "{space} {} int8={int8}",
                    c.genotype
                );
                assert!(work.fallback_ops().is_empty(), "{:?}", work.fallback_ops());
            }
        }
    }
}

#[test]
fn micro_models_cover_every_op_kind() {
    let _alone = TIMING.lock().unwrap_or_else(|e| e.into_inner());
    let mut kinds = std::collections::BTreeSet::new();
    for (name, net) in micro_models() {
        let work = analyse(&export_untrained(&net, false, 0).unwrap(), &name).unwrap();
        kinds.extend(work.nodes.iter().map(|n| n.kind));
    }
    assert_eq!(kinds.len(), CostKind::ALL.len(), "{kinds:?}");
}

#[test]
fn the_tract_meter_times_real_runs() {
    let _alone = TIMING.lock().unwrap_or_else(|e| e.into_inner());
    let c = candidate("ds-cnn", DS_CNN);
    let bytes = export_untrained(&c.network, false, 0).unwrap();
    let m = quick().measure(&bytes, "ds-cnn").unwrap();
    assert_eq!((m.kind, m.backend.as_str()), (Kind::Measured, "tract-host"));
    let l = m.latency_ms;
    assert!(l.runs >= 10 && l.median > 0.0, "{l:?}");
    assert!(l.p10 <= l.median && l.median <= l.p90, "{l:?}");
    assert_eq!(m.flash_bytes, Some(bytes.len() as u64));
    // A model with 3× the work takes longer.
    let big = candidate(
        "ds-cnn",
        "stem.out=64,ds.depth=6,ds.b1.out=64,ds.b2.out=64,ds.b3.out=64,ds.b4.out=64,ds.b5.out=64,ds.b6.out=64,ds.b1.kernel=5,ds.b2.kernel=5,ds.b3.kernel=5,ds.b4.kernel=5,ds.b5.kernel=5,ds.b6.kernel=5",
    );
    assert!(
        big.costs.macs > 3 * c.costs.macs,
        "{} vs {}",
        big.costs.macs,
        c.costs.macs
    );
    // Wall-clock time on a shared machine: the fastest of three alternating medians of each,
    // so that a burst of other work on the machine cannot turn the order round.
    let big_bytes = export_untrained(&big.network, false, 0).unwrap();
    let (mut fast, mut slow) = (l.median, f64::MAX);
    for _ in 0..3 {
        slow = slow.min(
            quick()
                .measure(&big_bytes, "big")
                .unwrap()
                .latency_ms
                .median,
        );
        fast = fast.min(quick().measure(&bytes, "ds-cnn").unwrap().latency_ms.median);
    }
    assert!(
        slow > fast,
        "{slow} ms for the big model, {fast} ms for the small one"
    );
}

#[test]
fn the_simulator_prices_each_node_with_the_board_cost_model() {
    // rpi-pico (Cortex-M0+) has no emulated twin: its cost model's estimates price each node.
    let _alone = TIMING.lock().unwrap_or_else(|e| e.into_inner());
    let board = load_board("rpi-pico").unwrap();
    let sim = Simulator::new(board.clone()).unwrap();
    let c = candidate("ds-cnn", DS_CNN);
    for int8 in [false, true] {
        let bytes = export_untrained(&c.network, int8, 0).unwrap();
        let m = sim.measure(&bytes, "ds-cnn").unwrap();
        assert_eq!((m.kind, m.backend.as_str()), (Kind::Predicted, "simulator"));
        let cycles = predict_cycles(
            &analyse(&bytes, "m").unwrap(),
            board.cost_model.as_ref().unwrap(),
        );
        assert_eq!(m.cycles, Some(cycles));
        let ms = cycles / board.clock_hz as f64 * 1e3;
        assert!((m.latency_ms.median - ms).abs() < 1e-12);
        // What a search's candidates are ranked by: the same figure, without running it.
        assert_eq!(
            sim.predict_ms(&bytes, "ds-cnn").unwrap(),
            m.latency_ms.median
        );
        // The shipped coefficients are estimates, and the prediction says so.
        assert!(
            m.warnings
                .iter()
                .any(|w| w.contains("uncalibrated estimate")),
            "{:?}",
            m.warnings
        );
    }
}

#[test]
fn a_real_board_inherits_the_kernel_model_of_its_emulated_twin() {
    // nucleo-f746zg names qemu-mps2-an500 as its twin: the simulator predicts it with the
    // twin's per-kernel model (the same cycles) at the F746's 216 MHz, and says so.
    let _alone = TIMING.lock().unwrap_or_else(|e| e.into_inner());
    let board = load_board("nucleo-f746zg").unwrap();
    let twin = load_board("qemu-mps2-an500").unwrap();
    let km = twin.kernel_model.as_ref().expect("the twin is calibrated");
    let sim = Simulator::new(board.clone()).unwrap();
    let c = candidate("ds-cnn", DS_CNN);
    let mut ms = Vec::new();
    for int8 in [false, true] {
        let bytes = export_untrained(&c.network, int8, 0).unwrap();
        let m = sim.measure(&bytes, "ds-cnn").unwrap();
        let counts = edgenas::measure::compiled_counts(&bytes, "ds-cnn").unwrap();
        let cycles = edgenas::measure::kernel_model::predict_cycles(km, &counts).unwrap();
        assert_eq!(m.cycles, Some(cycles));
        assert!((m.latency_ms.median - cycles / 216e6 * 1e3).abs() < 1e-12);
        assert_eq!(
            sim.predict_ms(&bytes, "ds-cnn").unwrap(),
            m.latency_ms.median
        );
        assert!(
            m.warnings
                .iter()
                .any(|w| w.contains("inherited from its emulated twin qemu-mps2-an500")),
            "{:?}",
            m.warnings
        );
        ms.push(m.latency_ms.median);
    }
    // The engine's int8 kernels (DSP) are faster than its f32 ones.
    assert!(ms[1] < ms[0], "{ms:?}");
}

#[test]
fn meters_are_chosen_by_board_and_refuse_what_they_cannot_reach() {
    let _alone = TIMING.lock().unwrap_or_else(|e| e.into_inner());
    let host = load_board("host").unwrap();
    let mcu = load_board("nucleo-f746zg").unwrap();
    assert_eq!(
        meter_for(&host, MeterChoice::Auto, quick_timer())
            .unwrap()
            .backend(),
        "tract-host"
    );
    assert_eq!(
        meter_for(&mcu, MeterChoice::Auto, quick_timer())
            .unwrap()
            .backend(),
        "simulator"
    );
    let Err(MeasureError::Unreachable(e)) = meter_for(&mcu, MeterChoice::Tract, quick_timer())
    else {
        panic!("tract cannot time a microcontroller")
    };
    assert!(e.contains("nucleo-f746zg"), "{e}");
    let mut bare = mcu.clone();
    bare.cost_model = None;
    assert!(matches!(
        Simulator::new(bare),
        Err(MeasureError::NoCostModel(name)) if name == "nucleo-f746zg"
    ));
}

#[test]
fn unreadable_models_are_errors_naming_the_file() {
    let _alone = TIMING.lock().unwrap_or_else(|e| e.into_inner());
    let c = candidate("mlp", "act=relu,hidden.depth=1,hidden.b1.out=32");
    let bytes = export_untrained(&c.network, false, 0).unwrap();
    let sim = Simulator::new(load_board("nucleo-f746zg").unwrap()).unwrap();
    for broken in [&bytes[..bytes.len() / 2], b"not a model".as_slice()] {
        for meter in [&quick() as &dyn Meter, &sim] {
            match meter.measure(broken, "broken.onnx") {
                Err(e @ MeasureError::Tract(TractFailure::Load { .. })) => {
                    assert!(e.to_string().starts_with("broken.onnx: "), "{e}")
                }
                other => panic!("{other:?}"),
            }
        }
    }
}
