//! Fully connected layer: ONNX `Gemm` (weights transposed); in the int8 operator form a 1×1
//! `QLinearConv` between two reshapes.

use edgenas_engine::blob::OpKind;
use edgenas_model::network::layers::{Conv2d, Dense};
use onnx_protobuf::NodeProto;

use super::{EvaluateNode, ExportNode, OnnxLayer};
use crate::compile::graph::{OpWeights, Reader, Value};
use crate::compile::onnx;
use crate::export::proto::attr_int;

impl OnnxLayer for Dense {
    fn export(&self, x: &mut ExportNode<'_>) -> String {
        x.emit_weighted("Gemm", vec![attr_int("transB", 1)])
    }

    fn evaluate(&self, x: &EvaluateNode<'_>) -> Vec<f64> {
        let (w, b) = x.weights_as_run();
        let input = x.arg(0);
        (0..self.out_features)
            .map(|o| {
                b[o] + input
                    .iter()
                    .enumerate()
                    .map(|(i, v)| w[o * input.len() + i] * v)
                    .sum::<f64>()
            })
            .collect()
    }

    fn as_qlinear_conv(&self) -> Option<Conv2d> {
        Some(Conv2d {
            out_channels: self.out_features,
            kernel: [1, 1],
            stride: [1, 1],
            padding: [0, 0],
            groups: 1,
            bias: true,
        })
    }
}

/// Reads a `Gemm` node: one dense op (`transA` 0, `alpha` and `beta` 1).
pub(crate) fn import(r: &mut Reader, n: &NodeProto, name: &str, out: &str) -> Result<(), String> {
    let t = r.tensor(Reader::input(n, 0)?)?;
    let &[1, features] = r.shape(t) else {
        return Err("needs a [1, N] input".into());
    };
    if onnx::int(n, "transA", 0) != 0
        || onnx::float(n, "alpha", 1.0) != 1.0
        || onnx::float(n, "beta", 1.0) != 1.0
    {
        return Err("only Gemm with transA 0, alpha 1 and beta 1 is supported".into());
    }
    let dims = match r.value(Reader::input(n, 1)?)? {
        Value::Const(k) | Value::Quantized { q: k, .. } => k.dims.clone(),
        Value::Tensor(_) => return Err("weights computed at run time are not supported".into()),
    };
    let trans_b = onnx::int(n, "transB", 0) != 0;
    let outputs = match (&dims[..], trans_b) {
        (&[o, f], true) | (&[f, o], false) if f == features => o,
        _ => return Err(format!("weights {dims:?} do not fit {features} inputs")),
    };
    let mut weights = r.weights(n, outputs)?;
    if !trans_b {
        match &mut weights {
            OpWeights::F32 { weights, .. } => {
                *weights = (0..outputs * features)
                    .map(|k| weights[(k % features) * outputs + k / features])
                    .collect();
            }
            OpWeights::Int8 { .. } => {
                return Err("int8 Gemm weights must be stored transposed (transB 1)".into());
            }
        }
    }
    let y = r.new_tensor(out, vec![1, outputs]);
    r.push_op(OpKind::Dense, name, vec![t], y).weights = Some(weights);
    r.bind(out, y);
    Ok(())
}
