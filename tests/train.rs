//! Training real models with burn on the bundled digits.

use std::process::Command;

use burn::prelude::{Tensor, TensorData};
use edgenas::candidate::Candidate;
use edgenas::data::ForData;
use edgenas::network::Network;
use edgenas::rng::Rng;
use edgenas::space::{SHIPPED_SPACES, load_space};
use edgenas::train::TrainDevice;
use edgenas::train::{self, Batch, GraphModel, StopReason, TrainConfig, TrainError};
use edgenas::weights::{ArrayRole, LayerWeights, Weights, initial_weights};

const MLP: &str = "act=relu,hidden.depth=2,hidden.b1.out=128,hidden.b2.out=64";
const DS_CNN: &str =
    "stem.out=64,ds.depth=2,ds.b1.out=64,ds.b2.out=64,ds.b1.kernel=3,ds.b2.kernel=3";

/// The `MLP` genotype as a candidate for the digits, with the data set (seed 0).
fn mlp_on_digits() -> (Candidate, edgenas::data::Dataset) {
    let space = load_space("mlp").unwrap();
    Candidate::for_data(&space, space.parse_genotype(MLP).unwrap(), "digits", 0).unwrap()
}

fn train_on_digits(space: &str, genotype: &str, config: &TrainConfig) -> (f64, train::Trained) {
    let space = load_space(space).unwrap();
    let g = space.parse_genotype(genotype).unwrap();
    let (c, data) = Candidate::for_data(&space, g, "digits", config.seed).unwrap();
    let device = TrainDevice::cpu();
    let initial = initial_weights(&c.network, config.seed);
    let trained = train::train(&c.network, &initial, &data, config, &device, &mut |_| {}).unwrap();
    let test = train::evaluate(&c.network, &trained.weights, &data.test, &device).unwrap();
    (test, trained)
}

#[test]
fn an_mlp_learns_digits_to_95_percent() {
    let (test, trained) = train_on_digits("mlp", MLP, &TrainConfig::default());
    assert!(test >= 0.95, "test accuracy {test}");
    assert!(trained.report.valid_accuracy >= 0.95);
    assert!(trained.report.train_seconds < 120.0);
    assert!(
        trained.report.loss_curve.first() > trained.report.loss_curve.last(),
        "the loss falls"
    );
}

#[test]
fn a_ds_cnn_learns_digits_to_97_percent() {
    let (test, trained) = train_on_digits("ds-cnn", DS_CNN, &TrainConfig::default());
    assert!(test >= 0.97, "test accuracy {test}");
    assert!(
        trained.report.train_seconds < 120.0,
        "{} s",
        trained.report.train_seconds
    );
}

#[test]
fn the_same_seed_repeats_a_run_exactly() {
    let config = TrainConfig {
        epochs: 3,
        ..TrainConfig::default()
    };
    let (a_test, a) = train_on_digits("mlp", MLP, &config);
    let (b_test, b) = train_on_digits("mlp", MLP, &config);
    assert_eq!(a.report.loss_curve, b.report.loss_curve);
    assert_eq!(a.weights, b.weights);
    assert_eq!(a_test, b_test);
    let (_, c) = train_on_digits("mlp", MLP, &TrainConfig { seed: 1, ..config });
    assert_ne!(a.report.loss_curve, c.report.loss_curve);
}

#[test]
fn the_same_seed_repeats_a_convolutional_run_exactly() {
    // Convolutions and batch norms train through edgenas's own backward passes on the CPU,
    // summed over threads in a fixed order: a run repeats to the bit.
    let config = TrainConfig {
        epochs: 2,
        ..TrainConfig::default()
    };
    let (a_test, a) = train_on_digits("ds-cnn", DS_CNN, &config);
    let (b_test, b) = train_on_digits("ds-cnn", DS_CNN, &config);
    assert_eq!(a.report.loss_curve, b.report.loss_curve);
    assert_eq!(a.weights, b.weights);
    assert_eq!(a_test, b_test);
}

#[test]
fn a_time_budget_stops_training() {
    let config = TrainConfig {
        epochs: 1000,
        time_budget_seconds: Some(0.05),
        patience: None,
        ..TrainConfig::default()
    };
    let (_, trained) = train_on_digits("ds-cnn", DS_CNN, &config);
    assert_eq!(trained.report.stopped_by, StopReason::TimeBudget);
    assert!(trained.report.epochs_run < 1000);
}

#[test]
fn what_the_caller_decides_at_an_epochs_end_takes_effect_before_the_next_epoch() {
    // A search prunes a trial when an epoch's end reaches a rung: the report is handled on the
    // calling thread while training runs on the pool, so training must wait for it. Here the
    // caller takes its time (as a study write may) and then stops training after epoch 1.
    let (c, data) = mlp_on_digits();
    let config = TrainConfig {
        epochs: 5,
        ..TrainConfig::default()
    };
    let stop = std::sync::atomic::AtomicBool::new(false);
    let mut ends = Vec::new();
    let result = train::train_until(
        &c.network,
        &initial_weights(&c.network, 0),
        &data,
        &config,
        &TrainDevice::cpu(),
        &mut |p| {
            if p.epoch_done {
                ends.push(p.epoch);
                std::thread::sleep(std::time::Duration::from_millis(300));
                stop.store(true, std::sync::atomic::Ordering::Relaxed);
            }
        },
        &stop,
    );
    assert!(matches!(result, Err(TrainError::Interrupted)), "{result:?}");
    assert_eq!(ends, [1], "no epoch ran past the decision");
}

#[test]
fn a_progress_callback_that_panics_is_a_panic_not_a_hang() {
    let (c, data) = mlp_on_digits();
    let config = TrainConfig {
        epochs: 3,
        ..TrainConfig::default()
    };
    // On a thread of its own, so that a hang fails the test instead of stopping the suite.
    let (done, outcome) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            train::train(
                &c.network,
                &initial_weights(&c.network, 0),
                &data,
                &config,
                &TrainDevice::cpu(),
                &mut |p| assert!(!p.epoch_done, "the caller's own bug"),
            )
        }));
        let text = result.err().map(|message| {
            message
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| message.downcast_ref::<String>().cloned())
                .unwrap_or_default()
        });
        done.send(text).unwrap();
    });
    let text = outcome
        .recv_timeout(std::time::Duration::from_secs(120))
        .expect("training returned within two minutes of the panic")
        .expect("the panic reached the caller");
    assert!(text.contains("the caller's own bug"), "{text}");
}

#[test]
fn a_loss_that_explodes_fails_with_the_step_named() {
    let (c, data) = mlp_on_digits();
    let config = TrainConfig {
        learning_rate: 1e30,
        ..TrainConfig::default()
    };
    let err = train::train(
        &c.network,
        &initial_weights(&c.network, 0),
        &data,
        &config,
        &TrainDevice::cpu(),
        &mut |_| {},
    )
    .unwrap_err();
    let TrainError::NonFiniteLoss { epoch, step, .. } = err else {
        panic!("{err}")
    };
    assert_eq!(epoch, 1);
    assert!(step >= 2, "the first step sees the initial weights");
    assert!(
        err.to_string()
            .contains(&format!("at epoch 1, step {step}"))
    );
}

#[test]
fn burn_shapes_match_the_ir_for_every_shipped_space() {
    let device = TrainDevice::cpu();
    for (name, _) in SHIPPED_SPACES {
        let space = load_space(name).unwrap();
        let mut rng = Rng::new(21);
        for _ in 0..3 {
            let g = space.sample(&mut rng);
            let c = Candidate::new(&space, g).unwrap();
            let weights = initial_weights(&c.network, 0);
            let model = GraphModel::new(&c.network, &weights, device.burn()).unwrap();
            let dims = c.network.input_shape().dims();
            let input = Batch::Image(Tensor::zeros([2, dims[0], dims[1], dims[2]], device.burn()));
            let shapes = model.trace_shapes(input);
            for (node, shape) in c.network.nodes.iter().zip(&shapes) {
                let mut expected = vec![2];
                expected.extend(node.shape.dims());
                assert_eq!(shape, &expected, "{name}: node {}", node.name);
            }
            // The weights read back are the weights put in.
            assert_eq!(model.weights(&c.network), weights, "{name}");
        }
    }
}

#[test]
fn edgenas_train_reports_and_writes_its_results() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_edgenas"))
        .args([
            "train",
            "--space",
            "mlp",
            "--genotype",
            MLP,
            "--epochs",
            "5",
            "--json",
            "--out",
        ])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    for key in [
        "valid_accuracy",
        "test_accuracy",
        "train_seconds",
        "samples_per_second",
    ] {
        assert!(v[key].as_f64().is_some(), "no {key}");
    }
    assert_eq!(
        v["data"]["train"].as_u64().unwrap()
            + v["data"]["valid"].as_u64().unwrap()
            + v["data"]["test"].as_u64().unwrap(),
        1797
    );
    assert!(v["test_accuracy"].as_f64().unwrap() > 0.9);
    let saved: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("train.json")).unwrap()).unwrap();
    assert_eq!(saved["test_accuracy"], v["test_accuracy"]);
    let weights: edgenas::weights::Weights =
        serde_json::from_slice(&std::fs::read(dir.path().join("weights.json")).unwrap()).unwrap();
    let (c, _) = mlp_on_digits();
    weights.check(&c.network).unwrap();
}

#[test]
fn edgenas_train_refuses_bad_input_clearly() {
    let run = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_edgenas"))
            .args(args)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        String::from_utf8(out.stderr).unwrap()
    };
    let e = run(&["train", "--space", "mlp", "--random", "--data", "mnist"]);
    assert!(e.contains("unknown data set"), "{e}");
    let e = run(&["train", "--space", "mlp", "--random", "--lr", "1e30"]);
    assert!(
        e.contains("the loss became") && e.contains("lower the learning rate"),
        "{e}"
    );
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("t.csv");
    std::fs::write(&csv, "a,b,label\n1,2,x\n3,4,y\n5,6,x\n7,8,y\n").unwrap();
    let e = run(&[
        "train",
        "--space",
        "ds-cnn",
        "--random",
        "--data",
        &format!("csv:{}", csv.display()),
    ]);
    assert!(
        e.contains("space `ds-cnn` cannot take the samples") && e.contains("needs a feature map"),
        "{e}"
    );
    // A number out of range is a usage error: clap's exit 2, naming the flag and its bound.
    let out = Command::new(env!("CARGO_BIN_EXE_edgenas"))
        .args(["train", "--space", "mlp", "--random", "--epochs", "0"])
        .output()
        .unwrap();
    let e = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{e}");
    assert!(
        e.contains("--epochs") && e.contains("must be at least 1"),
        "{e}"
    );
}

/// `weights` with `f` applied to every value but the running variances, and every
/// convolution and dense weight (not bias) then multiplied by `scale`.
fn mapped(weights: &Weights, f: impl Fn(f32) -> f32, scale: f32) -> Weights {
    weights.map(|role, a| match role {
        ArrayRole::Weight => a.map(|v| f(v) * scale),
        ArrayRole::RunningVar => a.clone(),
        _ => a.map(&f),
    })
}

/// The logits of `weights` for `x` (`n` samples), in inference mode.
fn logits(net: &Network, weights: &Weights, x: Vec<f32>, n: usize) -> Vec<f32> {
    let device = TrainDevice::cpu();
    let model = GraphModel::new(net, weights, device.burn()).unwrap();
    let dims = net.input_shape().dims();
    let input = Tensor::from_data(
        TensorData::new(x, [n, dims[0], dims[1], dims[2]]),
        device.burn(),
    );
    model
        .logits(Batch::Image(input))
        .into_data()
        .try_to_vec::<f32>()
        .unwrap()
}

/// Synflow is Σ θ·∂R/∂θ over the convolution and dense weights, R the sum of the logits of
/// the absolute-valued network for an input of ones: the derivative of R as all those
/// weights grow together, which a central difference of two forward passes measures
/// without any gradient code.
#[test]
fn synflow_is_the_derivative_of_the_absolute_networks_signal_along_its_weights() {
    let device = TrainDevice::cpu();
    for (space, genotype) in [("mlp", MLP), ("ds-cnn", DS_CNN)] {
        let space = load_space(space).unwrap();
        let c = Candidate::new(&space, space.parse_genotype(genotype).unwrap()).unwrap();
        let weights = initial_weights(&c.network, 3);
        let score = train::synflow(&c.network, &weights, &device).unwrap();
        let size = c.network.input_shape().elements();
        let signal = |scale: f32| -> f64 {
            let w = mapped(&weights, f32::abs, scale);
            let out = logits(&c.network, &w, vec![1.0; size], 1);
            out.iter().map(|&v| v as f64).sum()
        };
        let eps = 0.01;
        let derivative = (signal(1.0 + eps) - signal(1.0 - eps)) / (2.0 * eps as f64);
        assert!(score > 0.0, "{}: {score}", space.name);
        assert!(
            (score - derivative).abs() <= 0.01 * derivative.abs(),
            "{}: synflow {score}, central difference {derivative}",
            space.name
        );
        // The signs of the weights do not matter.
        let flipped = mapped(&weights, |v| -v, 1.0);
        let again = train::synflow(&c.network, &flipped, &device).unwrap();
        assert!((again - score).abs() <= 1e-4 * score, "{again} vs {score}");
    }
}

/// Grad-norm is the sum over convolution and dense layers of the Euclidean norm of the
/// cross-entropy's gradient on a batch of 32 samples spread over the split: checked against
/// central differences of the loss, one weight at a time, on a small MLP.
#[test]
fn grad_norm_is_the_sum_of_each_layers_loss_gradient_norm() {
    let device = TrainDevice::cpu();
    let space = load_space("mlp").unwrap();
    let g = space
        .parse_genotype("act=relu,hidden.depth=1,hidden.b1.out=16")
        .unwrap();
    let (c, data) = Candidate::for_data(&space, g, "digits", 0).unwrap();
    let weights = initial_weights(&c.network, 5);
    let score = train::grad_norm(&c.network, &weights, &data.train, 32, &device).unwrap();
    let split = &data.train;
    let size = c.network.input_shape().elements();
    let picked: Vec<usize> = (0..32).map(|i| i * split.len() / 32).collect();
    let x: Vec<f32> = picked
        .iter()
        .flat_map(|&i| split.x[i * size..(i + 1) * size].to_vec())
        .collect();
    let loss = |w: &Weights| -> f64 {
        let out = logits(&c.network, w, x.clone(), 32);
        let classes = out.len() / 32;
        picked
            .iter()
            .zip(out.chunks(classes))
            .map(|(&i, row)| {
                let max = row.iter().fold(f32::MIN, |m, &v| m.max(v)) as f64;
                let sum: f64 = row.iter().map(|&v| (v as f64 - max).exp()).sum();
                max + sum.ln() - row[split.labels[i] as usize] as f64
            })
            .sum::<f64>()
            / 32.0
    };
    let eps = 1e-2;
    let mut expected = 0.0;
    for (name, layer) in &weights.layers {
        let LayerWeights::Dense { weight, .. } = layer else {
            panic!("the MLP has only dense layers, {name} is not");
        };
        let mut squares = 0.0;
        for k in 0..weight.data.len() {
            let at = |delta: f32| {
                let mut w = weights.clone();
                if let Some(LayerWeights::Dense { weight, .. }) = w.layers.get_mut(name) {
                    weight.data[k] += delta;
                }
                loss(&w)
            };
            let d = (at(eps) - at(-eps)) / (2.0 * eps as f64);
            squares += d * d;
        }
        expected += f64::sqrt(squares);
    }
    assert!(
        (score - expected).abs() <= 0.02 * expected,
        "grad-norm {score}, from central differences {expected}"
    );
}
