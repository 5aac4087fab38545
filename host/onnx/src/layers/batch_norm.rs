//! Batch normalisation: folded into the convolution or dense layer before it where the
//! device folds it; otherwise ONNX `BatchNormalization`, an affine op on the device.

use edgenas_engine::blob::OpKind;
use edgenas_model::network::layers::BatchNorm;
use edgenas_model::weights::LayerWeights;
use onnx_protobuf::NodeProto;

use super::{EvaluateNode, ExportNode, OnnxLayer};
use crate::compile::graph::Reader;
use crate::compile::onnx;
use crate::export::proto::{attr_float, tensor_f32};

impl OnnxLayer for BatchNorm {
    fn export(&self, x: &mut ExportNode<'_>) -> String {
        if x.merged {
            // Folded into the producer: the producer's output is this node's value.
            return x.inputs[0].clone();
        }
        let Some(LayerWeights::BatchNorm {
            gamma,
            beta,
            running_mean,
            running_var,
            epsilon,
        }) = x.weights.get(&x.node.name)
        else {
            unreachable!("checked by Weights::check")
        };
        let mut inputs = vec![x.inputs[0].clone()];
        for (suffix, a) in [
            ("scale", gamma),
            ("bias", beta),
            ("mean", running_mean),
            ("var", running_var),
        ] {
            let t = format!("{}.{suffix}", x.raw());
            x.emitter.inits.push(tensor_f32(&t, &a.shape, &a.data));
            inputs.push(t);
        }
        let inputs: Vec<&str> = inputs.iter().map(String::as_str).collect();
        let epsilon = *epsilon as f32;
        x.emit(
            "BatchNormalization",
            &inputs,
            vec![attr_float("epsilon", epsilon)],
        )
    }

    fn evaluate(&self, x: &EvaluateNode<'_>) -> Vec<f64> {
        if x.merged {
            return x.arg(0);
        }
        let (scale, shift) = x
            .weights
            .batch_norm_affine(&x.node.name)
            .expect("checked by Weights::check");
        let input = x.arg(0);
        let per_channel = input.len() / scale.len();
        input
            .iter()
            .enumerate()
            .map(|(i, &v)| v * scale[i / per_channel] + shift[i / per_channel])
            .collect()
    }
}

/// Reads a `BatchNormalization` node: one affine op, in the form tract computes.
pub(crate) fn import(r: &mut Reader, n: &NodeProto, name: &str, out: &str) -> Result<(), String> {
    let t = r.tensor(Reader::input(n, 0)?)?;
    let channels = *r.shape(t).get(1).ok_or("needs a [1, C, …] input")?;
    let mut p = Vec::new();
    for k in 1..5 {
        let c = r.constant(Reader::input(n, k)?)?;
        let v = c.f32s().ok_or("parameters must be float")?;
        if v.len() != channels {
            return Err(format!(
                "has {} parameters for {channels} channels",
                v.len()
            ));
        }
        p.push(v.to_vec());
    }
    let eps = onnx::float(n, "epsilon", 1e-5);
    // The affine form tract computes: a = γ / √(var + ε), b = β − mean · a.
    let a: Vec<f32> = p[0]
        .iter()
        .zip(&p[3])
        .map(|(g, v)| g / (v + eps).sqrt())
        .collect();
    let b: Vec<f32> = (0..channels).map(|c| p[1][c] - p[2][c] * a[c]).collect();
    let y = r.new_tensor(out, r.shape(t).to_vec());
    r.push_op(OpKind::Affine, name, vec![t], y).affine = Some((a, b));
    r.bind(out, y);
    Ok(())
}
