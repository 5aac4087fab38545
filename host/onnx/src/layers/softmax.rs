//! Softmax over a vector: ONNX `Softmax` (axis 1). Its output is float probabilities in the
//! int8 model too (tract 0.23 saturates a quantised softmax output to 1; onnxruntime does not).

use edgenas_engine::blob::OpKind;
use edgenas_model::network::layers::Softmax;
use onnx_protobuf::NodeProto;

use super::{EvaluateNode, ExportNode, OnnxLayer, Quantisation};
use crate::compile::graph::Reader;
use crate::compile::onnx;
use crate::export::proto::attr_int;

impl OnnxLayer for Softmax {
    fn export(&self, x: &mut ExportNode<'_>) -> String {
        x.emit_unary("Softmax", vec![attr_int("axis", 1)])
    }

    fn evaluate(&self, x: &EvaluateNode<'_>) -> Vec<f64> {
        let input = x.arg(0);
        let max = input.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let exp: Vec<f64> = input.iter().map(|&v| (v - max).exp()).collect();
        let sum: f64 = exp.iter().sum();
        exp.iter().map(|e| e / sum).collect()
    }

    fn quantisation(&self) -> Quantisation {
        Quantisation::Float
    }
}

/// Reads a `Softmax` node over the last axis of a `[1, N]` tensor: one op.
pub(crate) fn import(r: &mut Reader, n: &NodeProto, name: &str, out: &str) -> Result<(), String> {
    let t = r.tensor(Reader::input(n, 0)?)?;
    let rank = r.shape(t).len() as i64;
    let axis = onnx::int(n, "axis", -1);
    if rank != 2 || !(axis == 1 || axis == -1) {
        return Err("only a softmax over the last axis of a [1, N] tensor is supported".into());
    }
    let y = r.new_tensor(out, r.shape(t).to_vec());
    r.push_op(OpKind::Softmax, name, vec![t], y);
    r.bind(out, y);
    Ok(())
}
