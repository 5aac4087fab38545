//! Element-wise sum: ONNX `Add`, without broadcasting.

use edgenas_engine::blob::OpKind;
use edgenas_model::network::layers::Add;
use onnx_protobuf::NodeProto;

use super::{EvaluateNode, ExportNode, OnnxLayer};
use crate::compile::graph::Reader;

impl OnnxLayer for Add {
    fn export(&self, x: &mut ExportNode<'_>) -> String {
        let (a, b) = (x.inputs[0].clone(), x.inputs[1].clone());
        x.emit("Add", &[&a, &b], vec![])
    }

    fn evaluate(&self, x: &EvaluateNode<'_>) -> Vec<f64> {
        x.arg(0).iter().zip(x.arg(1)).map(|(a, b)| a + b).collect()
    }
}

/// Reads an `Add` node: one add op of two tensors of one shape.
pub(crate) fn import(r: &mut Reader, n: &NodeProto, name: &str, out: &str) -> Result<(), String> {
    let a = r.tensor(Reader::input(n, 0)?)?;
    let b = r.tensor(Reader::input(n, 1)?)?;
    if r.shape(a) != r.shape(b) {
        return Err("broadcasting is not supported: the inputs' shapes differ".into());
    }
    let y = r.new_tensor(out, r.shape(a).to_vec());
    r.push_op(OpKind::Add, name, vec![a, b], y);
    r.bind(out, y);
    Ok(())
}
