//! Global average pooling: ONNX `GlobalAveragePool`.

use edgenas_engine::blob::OpKind;
use edgenas_model::network::layers::GlobalAvgPool;
use onnx_protobuf::NodeProto;

use super::{EvaluateNode, ExportNode, OnnxLayer, image};
use crate::compile::graph::Reader;

impl OnnxLayer for GlobalAvgPool {
    fn export(&self, x: &mut ExportNode<'_>) -> String {
        x.emit_unary("GlobalAveragePool", vec![])
    }

    fn evaluate(&self, x: &EvaluateNode<'_>) -> Vec<f64> {
        let (c, _, _) = image(x.in_shape());
        let input = x.arg(0);
        let per = input.len() / c;
        input
            .chunks(per)
            .map(|m| m.iter().sum::<f64>() / per as f64)
            .collect()
    }
}

/// Reads a `GlobalAveragePool` node: one op to `[1, C, 1, 1]`.
pub(crate) fn import(r: &mut Reader, n: &NodeProto, name: &str, out: &str) -> Result<(), String> {
    let t = r.tensor(Reader::input(n, 0)?)?;
    let &[1, c, _, _] = r.shape(t) else {
        return Err("needs a [1, C, H, W] input".into());
    };
    let y = r.new_tensor(out, vec![1, c, 1, 1]);
    r.push_op(OpKind::GlobalAvgPool, name, vec![t], y);
    r.bind(out, y);
    Ok(())
}
