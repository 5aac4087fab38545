//! Feature map to vector: ONNX `Flatten` (axis 1); the compiler reads it, and `Reshape`, as a
//! view of the same bytes (no op). It keeps its input's int8 values.

use edgenas_model::network::layers::Flatten;
use onnx_protobuf::NodeProto;

use super::{EvaluateNode, ExportNode, OnnxLayer, Quantisation};
use crate::compile::graph::{Reader, Step};
use crate::compile::onnx::{self, Data};
use crate::export::proto::attr_int;

impl OnnxLayer for Flatten {
    fn export(&self, x: &mut ExportNode<'_>) -> String {
        x.emit_unary("Flatten", vec![attr_int("axis", 1)])
    }

    fn evaluate(&self, x: &EvaluateNode<'_>) -> Vec<f64> {
        x.arg(0)
    }

    fn quantisation(&self) -> Quantisation {
        Quantisation::Inherited
    }
}

/// Reads a `Flatten` (axis 1) or `Reshape` (batch 1) node: a view, which keeps its input's
/// int8 parameters.
pub(crate) fn import(r: &mut Reader, n: &NodeProto, _name: &str, out: &str) -> Result<(), String> {
    let t = r.tensor(Reader::input(n, 0)?)?;
    let elements: usize = r.shape(t).iter().product();
    let shape = if n.op_type == "Flatten" {
        if onnx::int(n, "axis", 1) != 1 {
            return Err("only Flatten with axis 1 is supported".into());
        }
        vec![1, elements]
    } else {
        reshape_target(r, n, elements)?
    };
    let y = r.new_tensor(out, shape);
    r.graph.tensors[y].quant = r.graph.tensors[t].quant;
    r.graph.steps.push(Step::View {
        input: t,
        output: y,
    });
    r.bind(out, y);
    Ok(())
}

/// The shape a `Reshape` gives `elements` values (one `-1` allowed, batch 1).
fn reshape_target(r: &Reader, n: &NodeProto, elements: usize) -> Result<Vec<usize>, String> {
    let target = r.constant(Reader::input(n, 1)?)?;
    let Data::I64(dims) = target.data else {
        return Err("the target shape must be an int64 constant".into());
    };
    let known: i64 = dims.iter().filter(|&&d| d > 0).product();
    let shape: Vec<usize> = dims
        .iter()
        .map(|&d| match d {
            -1 => elements / known.max(1) as usize,
            d if d > 0 => d as usize,
            _ => 0,
        })
        .collect();
    if shape.contains(&0) || shape.iter().product::<usize>() != elements || shape[0] != 1 {
        return Err(format!(
            "cannot reshape {elements} elements to {dims:?} with a batch of 1"
        ));
    }
    Ok(shape)
}
