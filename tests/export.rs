//! ONNX export: f32 and int8 models that tract loads and that agree with burn.

use crate::common::spaces;
use burn::prelude::{Device, Tensor, TensorData};
use edgenas::candidate::Candidate;
use edgenas::data::Dataset;
use edgenas::data::ForData;
use edgenas::export::reference::Reference;
use edgenas::export::{
    self, Calibration, ExportError, ModelInfo, Precision, TractFailure, TractModel,
};
use edgenas::network::{Layer, Shape};
use edgenas::rng::Rng;
use edgenas::space::load_space;
use edgenas::train::TrainDevice;
use edgenas::train::{self, Batch, GraphModel, TrainConfig};
use edgenas::weights::initial_weights;
use onnx_protobuf::{Message, ModelProto};

const DS_CNN: &str =
    "stem.out=64,ds.depth=2,ds.b1.out=64,ds.b2.out=64,ds.b1.kernel=3,ds.b2.kernel=3";

const NB201_CONV_LAST: &str =
    "e0=none,e1=avg_pool_3x3,e2=none,e3=none,e4=skip_connect,e5=nor_conv_3x3";

fn info() -> ModelInfo<'static> {
    ModelInfo::bare("test", "g")
}

fn burn_output(model: &GraphModel, shape: Shape, x: &[f32], device: &Device) -> Vec<f32> {
    let mut dims = vec![1];
    dims.extend(shape.dims());
    let batch = match dims.len() {
        4 => Batch::Image(Tensor::from_data(
            TensorData::new(x.to_vec(), [dims[0], dims[1], dims[2], dims[3]]),
            device,
        )),
        _ => Batch::Flat(Tensor::from_data(
            TensorData::new(x.to_vec(), [dims[0], dims[1]]),
            device,
        )),
    };
    model.output(batch).values()
}

/// The largest absolute difference between two outputs.
fn worst_difference(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(a, b)| (a - b).abs())
        .fold(0f32, f32::max)
}

#[test]
fn exports_of_every_shipped_space_agree_with_burn_and_with_our_reference_in_tract() {
    let device = TrainDevice::cpu();
    for space in spaces() {
        let name = space.name.as_str();
        let mut rng = Rng::new(77);
        let mut genotypes: Vec<_> = (0..2).map(|_| space.sample(&mut rng)).collect();
        if name == "nb201" {
            // A convolution and its batch norm end the last cell, before the final batch norm.
            genotypes.push(space.parse_genotype(NB201_CONV_LAST).unwrap());
        }
        for genotype in genotypes {
            let c = Candidate::new(&space, genotype).unwrap();
            let (net, g) = (&c.network, &c.genotype);
            // Two steps of training move the weights and the batch norm statistics off their
            // initial values, so that folding is exercised.
            let data = Dataset::random(net.input_shape(), net.classes, 8, 1);
            let config = TrainConfig {
                epochs: 1,
                batch_size: 4,
                patience: None,
                ..TrainConfig::default()
            };
            let trained = train::train(
                net,
                &initial_weights(net, 3),
                &data,
                &config,
                &device,
                &mut |_| {},
            )
            .unwrap();
            let w = &trained.weights;
            let values = train::activations(net, w, &data.train, 8, &device).unwrap();
            let params = export::calibrate(&values, Calibration::MinMax).unwrap();
            let bytes =
                |p: &Precision| export::to_bytes(&export::export(net, w, &info(), p).unwrap());
            let f32_tract = TractModel::load(&bytes(&Precision::F32), "model.onnx").unwrap();
            let model = GraphModel::new(net, w, device.burn()).unwrap();
            let f32_ref = Reference::new(net, w, None).unwrap();
            let int8_ref = Reference::new(net, w, Some(&params)).unwrap();
            // Every int8 tensor of the model (its `.dq` value), observed in tract.
            let observed: Vec<usize> = (0..net.nodes.len())
                .filter(|&id| {
                    int8_ref.scale(id).is_some()
                        && !matches!(net.nodes[id].layer, Layer::Flatten(_))
                })
                .collect();
            let names: Vec<String> = observed
                .iter()
                .map(|&id| format!("{}.dq", net.nodes[id].name))
                .collect();
            for sample in data.test.x.chunks(net.input_shape().elements()).take(2) {
                let ours = burn_output(&model, net.input_shape(), sample, device.burn());
                let d = worst_difference(&ours, &f32_tract.run(sample).unwrap());
                assert!(d <= 1e-4, "{name} {g}: burn and tract (f32) differ by {d}");
                let d = worst_difference(&ours, &f32_ref.run(sample).unwrap()[net.output]);
                assert!(
                    d <= 1e-4,
                    "{name} {g}: burn and the reference (f32) differ by {d}"
                );
                for precision in [
                    Precision::Int8(params.clone()),
                    Precision::Int8Operators(params.clone()),
                ] {
                    let form = match precision {
                        Precision::Int8(_) => "QDQ",
                        _ => "operator form",
                    };
                    let bytes = bytes(&precision);
                    // Op by op: each int8 tensor tract computes, from tract's own inputs,
                    // is within one step of what the reference computes from those inputs.
                    // (Not the whole model at once: where an op rounds a tie the other way,
                    // that one step grows through the later layers, up to 7 output steps in
                    // the deepest MobileNets, in tract and onnxruntime alike.)
                    let tract = TractModel::load_observing(&bytes, "int8", &names)
                        .unwrap_or_else(|e| panic!("{name} {g}: {e}"));
                    let theirs = tract.run_all(sample).unwrap();
                    let mut values = vec![sample.to_vec()];
                    for id in 0..net.nodes.len() {
                        let ours = int8_ref.node(id, &values);
                        values.truncate(id);
                        values.push(ours);
                        let Some(k) = observed.iter().position(|&o| o == id) else {
                            continue;
                        };
                        let step = int8_ref.scale(id).unwrap();
                        let d = worst_difference(&values[id], &theirs[k]);
                        assert!(
                            d <= step * 1.0001,
                            "{name} {g} ({form}): node {id} {} differs from the reference by {} steps",
                            net.nodes[id].name,
                            d / step
                        );
                        values[id] = theirs[k].clone();
                    }
                }
            }
        }
    }
}

#[test]
fn the_operator_form_runs_int8_convolutions() {
    let s = load_space("ds-cnn").unwrap();
    let c = Candidate::new(&s, s.parse_genotype(DS_CNN).unwrap()).unwrap();
    let net = &c.network;
    let data = Dataset::random(net.input_shape(), net.classes, 8, 2);
    let w = initial_weights(net, 1);
    let values = train::activations(net, &w, &data.train, 8, &TrainDevice::cpu()).unwrap();
    let params = export::calibrate(&values, Calibration::MinMax).unwrap();
    let model = export::export(net, &w, &info(), &Precision::Int8Operators(params)).unwrap();
    let count = |op: &str| model.graph.node.iter().filter(|n| n.op_type == op).count();
    let weighted = net
        .nodes
        .iter()
        .filter(|n| matches!(n.layer, Layer::Conv2d(_) | Layer::Dense(_)))
        .count();
    assert_eq!(count("QLinearConv"), weighted);
    assert_eq!(count("Conv") + count("Gemm") + count("Relu"), 0);
    let precision = model
        .metadata_props
        .iter()
        .find(|e| e.key == "edgenas.precision")
        .unwrap();
    assert_eq!(precision.value, "int8-operators");
}

#[test]
fn int8_qdq_models_keep_digits_accuracy_within_1_5_points() {
    let device = TrainDevice::cpu();
    for (space, genotype) in [
        ("ds-cnn", DS_CNN),
        (
            "mlp",
            "act=relu,hidden.depth=2,hidden.b1.out=128,hidden.b2.out=64",
        ),
    ] {
        let s = load_space(space).unwrap();
        let (c, data) =
            Candidate::for_data(&s, s.parse_genotype(genotype).unwrap(), "digits", 0).unwrap();
        let net = &c.network;
        let trained = train::train(
            net,
            &initial_weights(net, 0),
            &data,
            &TrainConfig::default(),
            &device,
            &mut |_| {},
        )
        .unwrap();
        let f32_model = export::export(net, &trained.weights, &info(), &Precision::F32).unwrap();
        let values = train::activations(net, &trained.weights, &data.train, 256, &device).unwrap();
        let params = export::calibrate(&values, Calibration::MinMax).unwrap();
        let int8_model =
            export::export(net, &trained.weights, &info(), &Precision::Int8(params)).unwrap();
        let f32_tract = TractModel::load(&export::to_bytes(&f32_model), "f32").unwrap();
        let int8_tract = TractModel::load(&export::to_bytes(&int8_model), "int8").unwrap();
        let f32_acc = f32_tract.accuracy(&data.test.x, &data.test.labels).unwrap();
        let int8_acc = int8_tract
            .accuracy(&data.test.x, &data.test.labels)
            .unwrap();
        let burn_acc = train::evaluate(net, &trained.weights, &data.test, &device).unwrap();
        assert!(
            (f32_acc - burn_acc).abs() < 1e-9,
            "{space}: tract f32 {f32_acc} vs burn {burn_acc}"
        );
        assert!(
            f32_acc - int8_acc <= 0.015,
            "{space}: f32 {f32_acc} int8 {int8_acc}"
        );
        // The QDQ model really is quantised: its file holds int8 weights and Q/DQ pairs.
        let ops: Vec<&str> = int8_model
            .graph
            .node
            .iter()
            .map(|n| n.op_type.as_str())
            .collect();
        assert!(ops.contains(&"QuantizeLinear") && ops.contains(&"DequantizeLinear"));
        assert!(export::to_bytes(&int8_model).len() < export::to_bytes(&f32_model).len());
    }
}

#[test]
fn models_carry_names_shapes_and_metadata() {
    let space = load_space("mlp").unwrap();
    let (c, data) = Candidate::for_data(&space, space.first_genotype(), "digits", 0).unwrap();
    let weights = initial_weights(&c.network, 0);
    let text = c.genotype.to_text();
    let info = ModelInfo::for_dataset("mlp", &text, &data);
    let bytes =
        export::to_bytes(&export::export(&c.network, &weights, &info, &Precision::F32).unwrap());
    let model = ModelProto::parse_from_bytes(&bytes).unwrap();
    assert_eq!(model.opset_import[0].version, 13);
    let graph = model.graph.as_ref().unwrap();
    assert_eq!(graph.input[0].name, "input");
    assert_eq!(graph.output[0].name, "output");
    let meta = |k: &str| {
        model
            .metadata_props
            .iter()
            .find(|e| e.key == k)
            .map(|e| e.value.clone())
    };
    assert_eq!(meta("edgenas.space").as_deref(), Some("mlp"));
    assert_eq!(meta("edgenas.genotype"), Some(text));
    assert!(meta("edgenas.normalisation").unwrap().contains("\"mean\""));
    assert_eq!(
        TractModel::load(&bytes, "m").unwrap().input_shape(),
        &[1, 1, 8, 8]
    );
}

#[test]
fn calibration_needs_varied_samples() {
    assert!(
        matches!(export::calibrate(&[vec![]], Calibration::MinMax), Err(ExportError::Calibration(m)) if m.contains("empty"))
    );
    let constant = vec![vec![0.5; 64], vec![1.0; 10]];
    let err = export::calibrate(&constant, Calibration::MinMax)
        .unwrap_err()
        .to_string();
    assert!(err.contains("constant"), "{err}");
}

#[test]
fn corrupted_or_truncated_models_are_errors_not_panics() {
    let space = load_space("mlp").unwrap();
    let c = Candidate::new(&space, space.first_genotype()).unwrap();
    let bytes = export::to_bytes(
        &export::export(
            &c.network,
            &initial_weights(&c.network, 0),
            &info(),
            &Precision::F32,
        )
        .unwrap(),
    );
    for broken in [&bytes[..bytes.len() / 2], &b"not an onnx file"[..], &[][..]] {
        let err = TractModel::load(broken, "broken.onnx")
            .err()
            .expect("refused");
        assert!(
            matches!(&err, TractFailure::Load { what, .. } if what == "broken.onnx"),
            "{err:?}"
        );
        assert!(err.to_string().starts_with("broken.onnx: "), "{err}");
    }
}
