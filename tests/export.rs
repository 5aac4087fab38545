//! ONNX export: f32 and int8 models that tract loads and that agree with burn.

use burn::prelude::{Device, Tensor, TensorData};
use edgenas::candidate::Candidate;
use edgenas::data::{Dataset, Normalisation, Split};
use edgenas::export::{self, Calibration, ExportError, ModelInfo, Precision, TractModel};
use edgenas::network::Shape;
use edgenas::rng::Rng;
use edgenas::space::{SHIPPED_SPACES, load_space};
use edgenas::train::{self, Batch, GraphModel, TrainConfig};
use edgenas::weights::initial_weights;
use onnx_protobuf::{Message, ModelProto};

const DS_CNN: &str =
    "stem.out=64,ds.depth=2,ds.b1.out=64,ds.b2.out=64,ds.b1.kernel=3,ds.b2.kernel=3";

fn info() -> ModelInfo<'static> {
    ModelInfo {
        space: "test",
        genotype: "g",
        normalisation: None,
    }
}

/// A data set of `n` random samples of `shape` with `classes` classes.
fn random_data(shape: Shape, classes: usize, n: usize, seed: u64) -> Dataset {
    let mut rng = Rng::new(seed);
    let mut split = |n: usize| Split {
        x: (0..n * shape.elements())
            .map(|_| (rng.unit() * 4.0 - 2.0) as f32)
            .collect(),
        labels: (0..n).map(|i| (i % classes) as u32).collect(),
    };
    Dataset {
        name: "random".into(),
        shape,
        class_names: (0..classes).map(|c| c.to_string()).collect(),
        train: split(n),
        valid: split(4),
        test: split(4),
        normalisation: Normalisation {
            mean: vec![],
            std: vec![],
        },
    }
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

#[test]
fn f32_exports_of_every_shipped_space_agree_with_burn_in_tract() {
    let device = Device::flex();
    for (name, _) in SHIPPED_SPACES {
        let space = load_space(name).unwrap();
        let mut rng = Rng::new(77);
        for _ in 0..2 {
            let c = Candidate::new(&space, space.sample(&mut rng)).unwrap();
            let net = &c.network;
            // Two steps of training move the weights and the batch norm statistics off their
            // initial values, so that folding is exercised.
            let data = random_data(net.input_shape(), net.classes, 8, 1);
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
            let bytes = export::to_bytes(
                &export::export(net, &trained.weights, &info(), &Precision::F32).unwrap(),
            );
            let tract = TractModel::load(&bytes, "model.onnx")
                .unwrap_or_else(|e| panic!("{name} {}: {e}", c.genotype));
            let model = GraphModel::new(net, &trained.weights, &device).unwrap();
            for sample in data.test.x.chunks(net.input_shape().elements()).take(2) {
                let ours = burn_output(&model, net.input_shape(), sample, &device);
                let theirs = tract.run(sample).unwrap();
                assert_eq!(ours.len(), theirs.len());
                let worst = ours
                    .iter()
                    .zip(&theirs)
                    .map(|(a, b)| (a - b).abs())
                    .fold(0f32, f32::max);
                assert!(
                    worst <= 1e-4,
                    "{name} {}: burn and tract differ by {worst}",
                    c.genotype
                );
            }
        }
    }
}

#[test]
fn int8_qdq_models_keep_digits_accuracy_within_1_5_points() {
    let device = Device::flex();
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
    let info = ModelInfo {
        space: "mlp",
        genotype: &text,
        normalisation: Some(&data.normalisation),
    };
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
        assert!(err.starts_with("broken.onnx: "), "{err}");
    }
}
