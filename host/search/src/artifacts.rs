//! Writing a trained candidate's deployable files into a directory.

use std::path::Path;

use edgenas_train::TrainDevice;
use serde::Serialize;
use serde_json::json;

use edgenas_data::{Dataset, Per};
use edgenas_model::front_end::{DeviceInput, FrontEnd};
use edgenas_model::network::Network;
use edgenas_model::weights::Weights;
use edgenas_onnx::export::{
    Calibration, ExportError, ModelInfo, Precision, TractModel, c_header, calibrate, export,
    to_bytes, write,
};
use edgenas_train as train;

/// Samples of the test split saved with their expected outputs in `check.json`.
const CHECK_SAMPLES: usize = 8;
/// Training samples that calibrate the int8 model.
const CALIBRATION_SAMPLES: usize = 256;

/// What [`write_artifacts`] wrote and measured.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Artifacts {
    /// Bytes of `model.onnx`.
    pub f32_bytes: usize,
    /// Bytes of `model-int8.onnx`.
    pub int8_bytes: usize,
    /// Bytes of `model-int8-ops.onnx`.
    pub int8_operators_bytes: usize,
    /// Bytes of `model.blob`, the f32 device model.
    pub f32_blob_bytes: usize,
    /// Bytes of `model-int8.blob`, the int8 device model.
    pub int8_blob_bytes: usize,
    /// Arena bytes the f32 device model needs.
    pub f32_arena_bytes: usize,
    /// Arena bytes the int8 device model needs.
    pub int8_arena_bytes: usize,
    /// Test accuracy of `model.onnx` run by tract.
    pub f32_test_accuracy: f64,
    /// Test accuracy of `model-int8.onnx` run by tract.
    pub int8_test_accuracy: f64,
    /// The calibration used.
    pub calibration: Calibration,
}

/// Writes the device front ends of an audio model: `front_end.blob` (f32 features for
/// `model.blob`) and `front_end-int8.blob` (int8 features, at the input scale of
/// `model-int8.blob`), each with the data set's normalisation.
fn write_front_end_blobs(
    dir: &Path,
    front_end: &FrontEnd,
    data: &Dataset,
    int8_blob: &[u8],
) -> Result<(), ExportError> {
    let n = &data.normalisation;
    if n.per != Per::Column {
        return Err(ExportError::Weights(
            "an audio data set is normalised per feature".into(),
        ));
    }
    let input = edgenas_onnx::compile::input_record(int8_blob)?;
    let int8 = DeviceInput::Int8 {
        scale: input.scale,
        zero_point: input.zero_point,
    };
    write(
        dir,
        "front_end.blob",
        &front_end.device_blob(&n.mean, &n.std, DeviceInput::F32),
    )?;
    write(
        dir,
        "front_end-int8.blob",
        &front_end.device_blob(&n.mean, &n.std, int8),
    )
}

/// Writes `model.onnx`, `model-int8.onnx` (QDQ, calibrated on the training split),
/// `model-int8-ops.onnx` (the same in the operator form), `model.h`,
/// `model-int8.h`, the device models compiled from the two ONNX files (`model.blob`,
/// `model-int8.blob`, and `model-int8-blob.h` with the int8 blob as a C array), and
/// `check.json` (test samples with the outputs edgenas expects: burn's for
/// f32, tract's for int8, and the tolerance of each, and the class names), `labels.txt` (the
/// name of output `i` on line `i + 1`) and `labels.h` (the same as a C array) into `dir`, and measures both models'
/// test accuracy with tract. A model of an audio front end gets `front_end.json` too (the
/// front end, the normalisation after it, and the class names) and the device front ends
/// `front_end.blob` and `front_end-int8.blob`.
pub fn write_artifacts(
    dir: &Path,
    net: &Network,
    weights: &Weights,
    data: &Dataset,
    info: &ModelInfo,
    calibration: Calibration,
    device: &TrainDevice,
) -> Result<Artifacts, ExportError> {
    let run_err = |e: train::TrainError| ExportError::Weights(e.to_string());
    let values = train::activations(net, weights, &data.train, CALIBRATION_SAMPLES, device)
        .map_err(run_err)?;
    let params = calibrate(&values, calibration)?;
    let output_scale = params[net.output].map_or(0.0, |p| p.scale);
    let f32_bytes = to_bytes(&export(net, weights, info, &Precision::F32)?);
    let int8_bytes = to_bytes(&export(
        net,
        weights,
        info,
        &Precision::Int8(params.clone()),
    )?);
    let ops_bytes = to_bytes(&export(
        net,
        weights,
        info,
        &Precision::Int8Operators(params),
    )?);
    let f32_tract = TractModel::load(&f32_bytes, "model.onnx")?;
    let int8_tract = TractModel::load(&int8_bytes, "model-int8.onnx")?;
    let ops_tract = TractModel::load(&ops_bytes, "model-int8-ops.onnx")?;
    let size = net.input_shape().elements();
    let samples: Vec<&[f32]> = data.test.x.chunks(size).take(CHECK_SAMPLES).collect();
    let expected_f32 = train::outputs(net, weights, &samples, device).map_err(run_err)?;
    let expected = |model: &TractModel| {
        samples
            .iter()
            .map(|s| model.run(s))
            .collect::<Result<Vec<_>, _>>()
            .map_err(ExportError::Run)
    };
    let (expected_int8, expected_ops) = (expected(&int8_tract)?, expected(&ops_tract)?);
    let check = json!({
        "input_shape": f32_tract.input_shape(),
        "classes": data.class_names,
        "samples": samples,
        "models": {
            "model.onnx": { "outputs": expected_f32, "tolerance": 1e-4 },
            "model-int8.onnx": { "outputs": expected_int8, "tolerance": 2.0 * output_scale + 1e-6, "qdq": true },
            "model-int8-ops.onnx": { "outputs": expected_ops, "tolerance": 2.0 * output_scale + 1e-6 },
        },
    });
    let compile = |bytes: &[u8], what: &str| {
        edgenas_onnx::compile::compile(bytes, what).map_err(ExportError::from)
    };
    let (f32_blob, int8_blob) = (
        compile(&f32_bytes, "model.onnx")?,
        compile(&int8_bytes, "model-int8.onnx")?,
    );
    let comment = format!("{} {}", info.space, info.genotype);
    write(dir, "model.blob", &f32_blob.blob)?;
    write(dir, "model-int8.blob", &int8_blob.blob)?;
    write(
        dir,
        "model-int8-blob.h",
        c_header(&int8_blob.blob, "edgenas_blob_int8", &comment).as_bytes(),
    )?;
    write(dir, "model.onnx", &f32_bytes)?;
    write(dir, "model-int8.onnx", &int8_bytes)?;
    write(dir, "model-int8-ops.onnx", &ops_bytes)?;
    write(
        dir,
        "model.h",
        c_header(&f32_bytes, "edgenas_model", &comment).as_bytes(),
    )?;
    write(
        dir,
        "model-int8.h",
        c_header(&int8_bytes, "edgenas_model_int8", &comment).as_bytes(),
    )?;
    write(
        dir,
        "check.json",
        &serde_json::to_vec(&check).expect("serialisable"),
    )?;
    write(dir, "labels.txt", labels_text(&data.class_names).as_bytes())?;
    write(dir, "labels.h", labels_header(&data.class_names).as_bytes())?;
    if let Some(front_end) = &data.front_end {
        write_front_end_blobs(dir, front_end, data, &int8_blob.blob)?;
        let card = json!({
            "front_end": front_end,
            "normalisation": data.normalisation,
            "classes": data.class_names,
        });
        write(
            dir,
            "front_end.json",
            &serde_json::to_vec_pretty(&card).expect("serialisable"),
        )?;
    }
    Ok(Artifacts {
        f32_bytes: f32_bytes.len(),
        int8_bytes: int8_bytes.len(),
        int8_operators_bytes: ops_bytes.len(),
        f32_blob_bytes: f32_blob.blob.len(),
        int8_blob_bytes: int8_blob.blob.len(),
        f32_arena_bytes: f32_blob.arena_bytes,
        int8_arena_bytes: int8_blob.arena_bytes,
        f32_test_accuracy: f32_tract
            .accuracy(&data.test.x, &data.test.labels)
            .map_err(ExportError::Run)?,
        int8_test_accuracy: int8_tract
            .accuracy(&data.test.x, &data.test.labels)
            .map_err(ExportError::Run)?,
        calibration,
    })
}

/// The class names, one per line: line `i + 1` names output `i`.
pub fn labels_text(classes: &[String]) -> String {
    classes.iter().map(|c| format!("{c}\n")).collect()
}

/// The class names as a C array, `edgenas_labels[i]` naming output `i`.
pub fn labels_header(classes: &[String]) -> String {
    let mut h = String::from(
        "/* Generated by edgenas: the name of each output of the model, in order. */\n#pragma once\n\n",
    );
    h += &format!("#define EDGENAS_LABEL_COUNT {}\n", classes.len());
    h += "static const char *const edgenas_labels[EDGENAS_LABEL_COUNT] = {\n";
    for c in classes {
        let escaped: String = c
            .chars()
            .flat_map(|ch| match ch {
                '"' | '\\' => vec!['\\', ch],
                ch if ch.is_ascii_graphic() || ch == ' ' => vec![ch],
                // Anything else as UTF-8 octal escapes: the header stays ASCII.
                ch => ch
                    .to_string()
                    .bytes()
                    .flat_map(|b| format!("\\{b:03o}").chars().collect::<Vec<_>>())
                    .collect(),
            })
            .collect();
        h += &format!("    \"{escaped}\",\n");
    }
    h + "};\n"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_written_one_per_line_and_as_escaped_c_strings() {
        let classes = vec!["yes".to_string(), "say \"no\"".into(), "ünï".into()];
        assert_eq!(labels_text(&classes), "yes\nsay \"no\"\nünï\n");
        let h = labels_header(&classes);
        assert!(h.contains("#define EDGENAS_LABEL_COUNT 3"), "{h}");
        assert!(h.contains("    \"say \\\"no\\\"\",\n"), "{h}");
        assert!(h.contains("\"\\303\\274n\\303\\257\""), "{h}");
        assert!(h.is_ascii());
    }
}
