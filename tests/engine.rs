//! The device engine against tract: blobs compiled from exported ONNX models of every shipped
//! space run on the host and give tract's numbers; the arena and flash figures the search
//! promises are the blob's.

use crate::common::spaces;
use edgenas::candidate::Candidate;
use edgenas::compile::{self, HostEngine, from_bytes, to_bytes};
use edgenas::cost::{flash, memory};
use edgenas::data::Dataset;
use edgenas::export::{self, Calibration, ModelInfo, Precision, QParams, TractModel};
use edgenas::measure::micro_models;
use edgenas::network::Network;
use edgenas::rng::Rng;
use edgenas::space::load_space;
use edgenas::train;
use edgenas::train::TrainDevice;
use edgenas::weights::{LayerWeights, Weights, initial_weights};
use edgenas_engine::DType;

/// A NB-201 cell whose output node has no edge left: the cell is a zero tensor.
const NB201_ZERO_CELL: &str = "e0=nor_conv_1x1,e1=none,e2=none,e3=none,e4=avg_pool_3x3,e5=none";

fn info() -> ModelInfo<'static> {
    ModelInfo::bare("test", "g")
}

/// Initial weights with batch norm statistics moved off 0 and 1, so that folding and the
/// standalone affine ops compute something.
fn weights(net: &Network, seed: u64) -> Weights {
    let mut w = initial_weights(net, seed);
    let mut rng = Rng::new(seed + 1);
    for layer in w.layers.values_mut() {
        if let LayerWeights::BatchNorm {
            gamma,
            beta,
            running_mean,
            running_var,
            ..
        } = layer
        {
            for a in [gamma, beta, running_mean] {
                a.data
                    .iter_mut()
                    .for_each(|v| *v += (rng.unit() - 0.5) as f32);
            }
            running_var
                .data
                .iter_mut()
                .for_each(|v| *v = 0.5 + rng.unit() as f32);
        }
    }
    w
}

/// Random genotypes of every shipped space and of the hard-swish test space (three each, and a
/// NB-201 zero cell), and the
/// smallest calibration micro-model of each op kind (max pooling, a standalone ReLU, an
/// addition of a tensor to itself, which no shipped space has).
fn networks() -> Vec<(String, Network)> {
    let mut out: Vec<(String, Network)> = micro_models()
        .into_iter()
        .filter(|(_, net)| net.input_shape().elements() <= 512)
        .collect();
    for space in spaces() {
        let name = space.name.as_str();
        let mut rng = Rng::new(2024);
        let mut genotypes: Vec<_> = (0..3).map(|_| space.sample(&mut rng)).collect();
        if name == "nb201" {
            genotypes.push(space.parse_genotype(NB201_ZERO_CELL).unwrap());
        }
        for g in genotypes {
            let c = Candidate::new(&space, g).unwrap();
            out.push((format!("{name} {}", c.genotype), c.network));
        }
    }
    out
}

fn worst(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f32::max)
}

#[test]
fn blobs_of_every_shipped_space_match_tract_and_the_promised_figures() {
    let device = TrainDevice::cpu();
    let nets = networks();
    println!("{} networks, f32 and int8", nets.len());
    assert!(nets.len() >= 25, "{} networks", nets.len());
    for (label, net) in &nets {
        let label = label.as_str();
        let w = weights(net, 5);
        let data = Dataset::random(net.input_shape(), net.classes, 16, 3);
        let values = train::activations(net, &w, &data.train, 16, &device).unwrap();
        let params = export::calibrate(&values, Calibration::MinMax).unwrap();
        for (dtype, precision) in [
            (DType::F32, Precision::F32),
            (DType::Int8, Precision::Int8(params.clone())),
        ] {
            let onnx = export::to_bytes(&export::export(net, &w, &info(), &precision).unwrap());
            let compiled = compile::compile(&onnx, "model.onnx")
                .unwrap_or_else(|e| panic!("{label} {}: {e}", dtype.name()));
            // The figures the search checked before training are the blob's.
            assert_eq!(
                compiled.arena_bytes,
                memory::peak_ram_bytes(net, dtype),
                "{label} {}: arena",
                dtype.name()
            );
            assert_eq!(
                compiled.blob.len(),
                flash::model_bytes(net, dtype),
                "{label} {}: blob size",
                dtype.name()
            );
            let mut host = HostEngine::new(&compiled.blob).unwrap();
            let tract = TractModel::load(&onnx, "model.onnx").unwrap();
            for sample in data.test.x.chunks(net.input_shape().elements()).take(2) {
                let (ours, high_water) = host.run_f32(sample).unwrap();
                assert_eq!(high_water, compiled.arena_bytes, "{label}: high-water mark");
                if dtype == DType::F32 {
                    let d = worst(&ours, &tract.run(sample).unwrap());
                    assert!(d <= 1e-4, "{label} f32: engine and tract differ by {d}");
                }
            }
            if dtype == DType::Int8 {
                int8_op_by_op(label, &onnx, &compiled, &mut host, &data, net);
            }
        }
    }
}

/// Every op of an int8 blob, run on tract's values of its inputs, gives tract's value of its
/// output within one quantisation step (a softmax, whose output is f32, within 1e-5).
fn int8_op_by_op(
    label: &str,
    onnx: &[u8],
    compiled: &compile::Compiled,
    host: &mut HostEngine,
    data: &Dataset,
    net: &Network,
) {
    let mut e = host.engine().unwrap();
    let blob = *e.blob();
    let observed: Vec<usize> = (0..compiled.tensor_names.len())
        .filter(|&t| {
            let produced_by_fill = (0..e.ops()).any(|i| {
                let op = blob.op(i).unwrap();
                op.output as usize == t && op.kind == edgenas_engine::blob::OpKind::Fill
            });
            !produced_by_fill
        })
        .collect();
    let names: Vec<String> = observed
        .iter()
        .map(|&t| compiled.tensor_names[t].clone())
        .collect();
    let tract = TractModel::load_observing(onnx, "int8", &names)
        .unwrap_or_else(|err| panic!("{label}: {err}"));
    let sample = &data.test.x[..net.input_shape().elements()];
    let theirs = tract.run_all(sample).unwrap();
    let value = |t: usize| observed.iter().position(|&o| o == t).map(|k| &theirs[k]);
    let mut checked = 0;
    for i in 0..e.ops() {
        let op = blob.op(i).unwrap();
        for t in op.input_tensors() {
            if let Some(v) = value(t) {
                let bytes = to_bytes(&e.record(t), v);
                e.tensor_mut(t).copy_from_slice(&bytes);
            }
        }
        e.run_op(i).unwrap();
        let out = op.output as usize;
        let Some(expected) = value(out) else {
            continue;
        };
        let record = e.record(out);
        let ours = from_bytes(&record, e.tensor(out));
        let d = worst(&ours, expected);
        let (limit, unit) = match record.dtype {
            DType::Int8 => (record.scale * 1.0001, record.scale),
            DType::F32 => (1e-5, 1.0),
        };
        assert!(
            d <= limit,
            "{label} int8: op {i} ({:?}, tensor {}) differs from tract by {} steps",
            op.kind,
            compiled.tensor_names[out],
            d / unit
        );
        checked += 1;
    }
    assert!(
        checked >= e.ops() / 2,
        "{label}: only {checked} ops compared"
    );
}

/// A random DS-CNN candidate (genotype drawn with `seed`), its weights, and int8 parameters
/// calibrated on random samples.
fn ds_cnn(seed: u64) -> (Candidate, Weights, Vec<Option<QParams>>) {
    let space = load_space("ds-cnn").unwrap();
    let c = Candidate::new(&space, space.sample(&mut Rng::new(seed))).unwrap();
    let w = weights(&c.network, 1);
    let data = Dataset::random(c.network.input_shape(), c.network.classes, 8, 1);
    let values = train::activations(&c.network, &w, &data.train, 8, &TrainDevice::cpu()).unwrap();
    let params = export::calibrate(&values, Calibration::MinMax).unwrap();
    (c, w, params)
}

/// A setting of the fuzz test from the environment: `EDGENAS_FUZZ_RUNS` (mutations per seed
/// blob, default 4,000) and `EDGENAS_FUZZ_SEED` (default 99).
fn fuzz_setting(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Loads `bytes` into an aligned copy with an arena of `arena` bytes and, if the engine accepts
/// it, runs it on zeros. Returns whether it ran.
fn load_and_run(bytes: &[u8], arena: usize) -> bool {
    let mut words = vec![0u32; bytes.len().div_ceil(4)];
    bytemuck::cast_slice_mut::<u32, u8>(&mut words)[..bytes.len()].copy_from_slice(bytes);
    let blob = &bytemuck::cast_slice::<u32, u8>(&words)[..bytes.len()];
    let mut arena = vec![0u32; arena.div_ceil(4)];
    let Ok(mut e) = edgenas_engine::Engine::new(blob, bytemuck::cast_slice_mut(&mut arena)) else {
        return false;
    };
    let input = vec![0u8; e.input().bytes as usize];
    let mut output = vec![0u8; e.output().bytes as usize];
    e.run(&input, &mut output).is_ok()
}

/// Arbitrary and mutated blobs only ever give errors: mutations of real blobs (f32 and int8)
/// with the checksum repaired, so that they reach validation and the kernels; truncations;
/// and random bytes behind a valid magic and version. A panic fails the test.
#[test]
fn mutated_and_arbitrary_blobs_are_errors_not_panics() {
    let (c, w, params) = ds_cnn(8);
    let net = &c.network;
    let runs = fuzz_setting("EDGENAS_FUZZ_RUNS", 4_000) as usize;
    let (mut executions, mut ran) = (0usize, 0usize);
    for precision in [Precision::F32, Precision::Int8(params)] {
        let onnx = export::to_bytes(&export::export(net, &w, &info(), &precision).unwrap());
        let seed = compile::compile(&onnx, "model.onnx").unwrap();
        let arena = seed.arena_bytes * 2;
        assert!(load_and_run(&seed.blob, arena), "the seed blob runs");
        let records = edgenas_engine::blob::Blob::parse(&seed.blob)
            .unwrap()
            .header()
            .constants_offset as usize;
        let mut rng = Rng::new(fuzz_setting("EDGENAS_FUZZ_SEED", 99));
        for run in 0..runs {
            let mut b = seed.blob.clone();
            match run % 4 {
                // A few bytes of the header and the records.
                0 | 1 => {
                    for _ in 0..1 + rng.below(4) {
                        let at = rng.below(records);
                        b[at] = rng.below(256) as u8;
                    }
                }
                // A byte anywhere, constants included.
                2 => {
                    let at = rng.below(b.len());
                    b[at] ^= 1 << rng.below(8);
                }
                // Truncated, with the header's size patched to match.
                _ => {
                    let len = 64 + rng.below(b.len() - 64);
                    b.truncate(len);
                    b[8..12].copy_from_slice(&(len as u32).to_le_bytes());
                }
            }
            let crc = edgenas_engine::crc32(&b[64..]);
            b[32..36].copy_from_slice(&crc.to_le_bytes());
            ran += load_and_run(&b, arena) as usize;
            executions += 1;
        }
        for _ in 0..runs / 4 {
            let len = rng.below(2048);
            let mut b: Vec<u8> = (0..len).map(|_| rng.below(256) as u8).collect();
            if b.len() >= 8 {
                b[..6].copy_from_slice(b"EDGN\x01\x00");
            }
            ran += load_and_run(&b, arena) as usize;
            executions += 1;
        }
    }
    println!("fuzz: {executions} executions, {ran} of them accepted and run");
    assert!(
        ran > 0,
        "no mutated blob was accepted: the mutations do not reach the kernels"
    );
}

#[test]
fn unsupported_ops_and_non_models_are_errors_that_name_them() {
    let (c, w, params) = ds_cnn(4);
    let net = &c.network;
    let ops_form = export::to_bytes(
        &export::export(net, &w, &info(), &Precision::Int8Operators(params)).unwrap(),
    );
    let err = compile::compile(&ops_form, "ops.onnx").unwrap_err();
    assert!(matches!(err, compile::CompileError::Unsupported { .. }));
    assert!(
        err.to_string().starts_with(
            "ops.onnx: node stem.conv (QLinearConv): the op QLinearConv is not supported"
        ),
        "{err}"
    );
    let err = compile::compile(b"not a model", "x.onnx").unwrap_err();
    assert!(matches!(err, compile::CompileError::NotOnnx { .. }));
    assert!(
        err.to_string().starts_with("x.onnx: not an ONNX model"),
        "{err}"
    );
}
