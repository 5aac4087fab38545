//! ReLU (`Relu`), ReLU6 (`Clip(0, 6)`) and hard-swish (`HardSwish`, opset 14). The device
//! compiler fuses a ReLU or ReLU6 into the op before it when it is that op's only reader;
//! a hard-swish is never fused (an int8 op's clamp cannot express it).

use edgenas_engine::blob::{Activation as DeviceActivation, OpKind};
use edgenas_model::network::layers::{Activation, ActivationKind};
use onnx_protobuf::NodeProto;

use super::{EvaluateNode, ExportNode, OnnxLayer};
use crate::compile::graph::Reader;
use crate::compile::onnx;
use crate::export::HARD_SWISH_OPSET;
use crate::export::proto::tensor_f32;

impl OnnxLayer for Activation {
    fn export(&self, x: &mut ExportNode<'_>) -> String {
        match self.kind {
            ActivationKind::Relu => x.emit_unary("Relu", vec![]),
            ActivationKind::Relu6 => {
                let (lo, hi) = (format!("{}.min", x.raw()), format!("{}.max", x.raw()));
                x.emitter.inits.push(tensor_f32(&lo, &[], &[0.0]));
                x.emitter.inits.push(tensor_f32(&hi, &[], &[6.0]));
                let input = x.inputs[0].clone();
                x.emit("Clip", &[&input, &lo, &hi], vec![])
            }
            ActivationKind::HardSwish => x.emit_unary("HardSwish", vec![]),
        }
    }

    fn evaluate(&self, x: &EvaluateNode<'_>) -> Vec<f64> {
        x.arg(0)
            .iter()
            .map(|&v| match self.kind {
                ActivationKind::Relu => v.max(0.0),
                ActivationKind::Relu6 => v.clamp(0.0, 6.0),
                ActivationKind::HardSwish => v * (v + 3.0).clamp(0.0, 6.0) / 6.0,
            })
            .collect()
    }

    fn opset(&self) -> i64 {
        match self.kind {
            ActivationKind::HardSwish => HARD_SWISH_OPSET,
            ActivationKind::Relu | ActivationKind::Relu6 => super::OPSET,
        }
    }
}

/// Reads a `Relu` or `Clip` node: fused into the conv, dense or add op before it when it is
/// that op's only reader and the op's output is not quantised; an activation op otherwise.
pub(crate) fn import_clamp(
    r: &mut Reader,
    n: &NodeProto,
    name: &str,
    out: &str,
) -> Result<(), String> {
    let activation = clamp_kind(r, n)?;
    let input = Reader::input(n, 0)?;
    let t = r.tensor(input)?;
    let sole_reader = r.readers.get(input) == Some(&1);
    let quantised = r.graph.tensors[t].quant.is_some();
    if let Some(op) = r.producer(t).filter(|op| {
        sole_reader
            && !quantised
            && matches!(op.kind, OpKind::Conv | OpKind::Dense | OpKind::Add)
            && op.activation == DeviceActivation::None
    }) {
        op.activation = activation;
        r.graph.tensors[t].name = out.to_string();
        r.bind(out, t);
    } else {
        let y = r.new_tensor(out, r.shape(t).to_vec());
        r.push_op(OpKind::Activation, name, vec![t], y).activation = activation;
        r.bind(out, y);
    }
    Ok(())
}

/// Reads a `HardSwish` node: an activation op of its own.
pub(crate) fn import_hard_swish(
    r: &mut Reader,
    n: &NodeProto,
    name: &str,
    out: &str,
) -> Result<(), String> {
    let t = r.tensor(Reader::input(n, 0)?)?;
    let y = r.new_tensor(out, r.shape(t).to_vec());
    r.push_op(OpKind::Activation, name, vec![t], y).activation = DeviceActivation::HardSwish;
    r.bind(out, y);
    Ok(())
}

/// The device activation of a `Relu`, or of a `Clip` with ReLU or ReLU6 bounds.
fn clamp_kind(r: &Reader, n: &NodeProto) -> Result<DeviceActivation, String> {
    if n.op_type == "Relu" {
        return Ok(DeviceActivation::Relu);
    }
    let bound = |k: usize, attr: &str, default: f32| -> Result<f32, String> {
        match n.input.get(k).filter(|s| !s.is_empty()) {
            Some(name) => match r.constant(name)?.f32s() {
                Some(&[v]) => Ok(v),
                _ => Err("Clip bounds must be float scalars".into()),
            },
            None => Ok(onnx::float(n, attr, default)),
        }
    };
    match (bound(1, "min", f32::MIN)?, bound(2, "max", f32::MAX)?) {
        (0.0, 6.0) => Ok(DeviceActivation::Relu6),
        (0.0, f32::MAX) => Ok(DeviceActivation::Relu),
        (lo, hi) => Err(format!(
            "Clip({lo}, {hi}) is not supported (only ReLU and ReLU6 bounds are)"
        )),
    }
}
