//! From ONNX nodes to device steps.
//!
//! The nodes are read in order. Every value is a device tensor, a constant, or a quantised
//! constant (an initializer behind a DequantizeLinear). A QuantizeLinear gives the tensor it
//! reads its int8 parameters, and a DequantizeLinear of a tensor is that tensor: a QDQ pair is
//! not an op on the device, it says that the tensor is int8. A ReLU or Clip(0, 6) that is the
//! only reader of a convolution's, dense layer's or addition's output is fused into it. Flatten, Reshape
//! and Identity are views of their input (no op). Every other supported node is one op;
//! anything else is an error that names the op and the node.

use std::collections::HashMap;

use edgenas_engine::blob::{Activation, Geometry, OpKind};
use onnx_protobuf::{ModelProto, NodeProto};

use super::onnx::{self, Const, Data};
use crate::layers::IMPORTS;

/// int8 parameters of a tensor: `real = scale × (q − zero)`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Quant {
    /// Scale.
    pub scale: f32,
    /// Zero point.
    pub zero: i32,
}

/// A device tensor.
#[derive(Clone, Debug, PartialEq)]
pub struct Tensor {
    /// The ONNX value that holds its (float) content: the DequantizeLinear output of an int8
    /// tensor, or the output of the node (or fused activation) of an f32 one.
    pub name: String,
    /// Its shape, batch included.
    pub shape: Vec<usize>,
    /// Its int8 parameters; `None` for an f32 tensor.
    pub quant: Option<Quant>,
}

/// The weights of a Conv or Dense op, as the model stores them.
#[derive(Clone, Debug, PartialEq)]
pub enum OpWeights {
    /// f32 weights and biases.
    F32 {
        /// OpWeights, one filter or row per output channel.
        weights: Vec<f32>,
        /// One bias per output channel.
        bias: Vec<f32>,
    },
    /// int8 weights with a scale per output channel, int32 biases with their scales.
    Int8 {
        /// OpWeights.
        weights: Vec<i8>,
        /// Scale of each output channel's weights.
        scales: Vec<f32>,
        /// Biases.
        bias: Vec<i32>,
        /// Scale of each bias.
        bias_scales: Vec<f32>,
    },
}

/// One device op.
#[derive(Clone, Debug, PartialEq)]
pub struct Op {
    /// What it computes.
    pub kind: OpKind,
    /// The ONNX node it comes from (for errors).
    pub node: String,
    /// Input tensors.
    pub inputs: Vec<usize>,
    /// Output tensor.
    pub output: usize,
    /// Fused (or own) activation.
    pub activation: Activation,
    /// Window and groups.
    pub geometry: Geometry,
    /// Conv and Dense weights.
    pub weights: Option<OpWeights>,
    /// Affine: per-channel scale and shift.
    pub affine: Option<(Vec<f32>, Vec<f32>)>,
}

/// A step of the device model.
#[derive(Clone, Debug, PartialEq)]
pub enum Step {
    /// An op.
    Op(Op),
    /// `output` is `input` with another shape (no op, same bytes).
    View {
        /// The viewed tensor.
        input: usize,
        /// The view.
        output: usize,
    },
}

/// The device graph of an ONNX model.
#[derive(Clone, Debug, PartialEq)]
pub struct Graph {
    /// Tensors; 0 is the model input.
    pub tensors: Vec<Tensor>,
    /// Steps in execution order.
    pub steps: Vec<Step>,
    /// The model output's tensor.
    pub output: usize,
}

/// What an ONNX value is to the compiler.
#[derive(Clone, Debug)]
pub(crate) enum Value {
    /// A device tensor (by index).
    Tensor(usize),
    /// A constant.
    Const(Const),
    /// An int8 or int32 constant behind a DequantizeLinear.
    Quantized {
        /// The quantised values.
        q: Const,
        /// Their scales (one, or one per output channel).
        scale: Vec<f32>,
        /// Their zero point.
        zero: Const,
    },
}

/// The compiler's state while it reads the nodes in order.
pub(crate) struct Reader {
    /// What each ONNX value is.
    values: HashMap<String, Value>,
    /// How many nodes (and graph outputs) read each value.
    pub(crate) readers: HashMap<String, usize>,
    /// The device graph so far.
    pub(crate) graph: Graph,
    /// Zero constants already given a Fill op.
    filled: HashMap<String, usize>,
}

type Result<T> = std::result::Result<T, String>;

fn node_name(n: &NodeProto) -> String {
    if n.name.is_empty() {
        n.output.first().cloned().unwrap_or_default()
    } else {
        n.name.clone()
    }
}

/// Reads `model`'s graph into device steps.
pub fn read(model: &ModelProto) -> Result<Graph> {
    let g = model.graph.as_ref().ok_or("the model has no graph")?;
    let mut values = HashMap::new();
    for t in &g.initializer {
        values.insert(t.name.clone(), Value::Const(onnx::constant(t)?));
    }
    let inputs: Vec<_> = g
        .input
        .iter()
        .filter(|i| !values.contains_key(&i.name))
        .collect();
    let [input] = inputs[..] else {
        return Err(format!(
            "the device compiler needs a model with one input, this one has {}",
            inputs.len()
        ));
    };
    let shape = static_shape(input)?;
    values.insert(input.name.clone(), Value::Tensor(0));
    let mut readers = HashMap::new();
    for n in &g.node {
        for i in &n.input {
            *readers.entry(i.clone()).or_insert(0) += 1;
        }
    }
    for o in &g.output {
        *readers.entry(o.name.clone()).or_insert(0) += 1;
    }
    let mut r = Reader {
        values,
        readers,
        graph: Graph {
            tensors: vec![Tensor {
                name: input.name.clone(),
                shape,
                quant: None,
            }],
            steps: vec![],
            output: 0,
        },
        filled: HashMap::new(),
    };
    for n in &g.node {
        r.node(n)
            .map_err(|e| format!("node {} ({}): {e}", node_name(n), n.op_type))?;
    }
    let [output] = &g.output[..] else {
        return Err(format!(
            "the device compiler needs a model with one output, this one has {}",
            g.output.len()
        ));
    };
    r.graph.output = r.tensor(&output.name)?;
    Ok(r.graph)
}

fn static_shape(v: &onnx_protobuf::ValueInfoProto) -> Result<Vec<usize>> {
    use onnx_protobuf::tensor_shape_proto::dimension::Value as Dim;
    use onnx_protobuf::type_proto::Value as Type;
    let not_static = || format!("the input {} has no static shape", v.name);
    let Some(Type::TensorType(t)) = v.type_.as_ref().and_then(|t| t.value.as_ref()) else {
        return Err(not_static());
    };
    let shape = t
        .shape
        .as_ref()
        .ok_or_else(not_static)?
        .dim
        .iter()
        .map(|d| match d.value {
            Some(Dim::DimValue(v)) if v > 0 => Ok(v as usize),
            _ => Err(not_static()),
        })
        .collect::<Result<Vec<_>>>()?;
    if shape.first() != Some(&1) {
        return Err(format!("the input {} must have a batch of 1", v.name));
    }
    Ok(shape)
}

/// The output size of a window along one axis.
pub(crate) fn window_out(size: usize, k: usize, stride: usize, pad: usize) -> Result<usize> {
    if k == 0 || stride == 0 || size + 2 * pad < k {
        return Err(format!(
            "a window of {k} (stride {stride}, pad {pad}) does not fit {size}"
        ));
    }
    Ok((size + 2 * pad - k) / stride + 1)
}

fn small(v: i64, what: &str) -> Result<u8> {
    u8::try_from(v).map_err(|_| format!("{what} {v} is out of the device format's range (0-255)"))
}

/// Kernel, strides and symmetric pads of a Conv or pooling node (dilations 1, no auto_pad).
pub(crate) fn geometry(n: &NodeProto, kernel: [usize; 2]) -> Result<Geometry> {
    if let Some(p) = onnx::string(n, "auto_pad").filter(|p| p != "NOTSET") {
        return Err(format!(
            "auto_pad {p} is not supported (give explicit pads)"
        ));
    }
    if onnx::ints(n, "dilations").is_some_and(|d| d.iter().any(|&d| d != 1)) {
        return Err("dilated windows are not supported".into());
    }
    if onnx::int(n, "ceil_mode", 0) != 0 {
        return Err("ceil_mode 1 is not supported".into());
    }
    let strides = onnx::ints(n, "strides").unwrap_or(&[1, 1]);
    let pads = onnx::ints(n, "pads").unwrap_or(&[0, 0, 0, 0]);
    let ([sh, sw], [pt, pl, pb, pr]) = (strides, pads) else {
        return Err("only 2-D windows are supported".into());
    };
    if pt != pb || pl != pr {
        return Err("asymmetric padding is not supported".into());
    }
    if *pt as usize >= kernel[0] || *pl as usize >= kernel[1] {
        return Err("padding as large as the kernel is not supported".into());
    }
    Ok(Geometry {
        kernel: [
            small(kernel[0] as i64, "kernel")?,
            small(kernel[1] as i64, "kernel")?,
        ],
        stride: [small(*sh, "stride")?, small(*sw, "stride")?],
        padding: [small(*pt, "padding")?, small(*pl, "padding")?],
        groups: 1,
        count_include_pad: onnx::int(n, "count_include_pad", 0) != 0,
    })
}

impl Reader {
    pub(crate) fn value(&self, name: &str) -> Result<&Value> {
        self.values
            .get(name)
            .ok_or_else(|| format!("reads {name}, which no earlier node produces"))
    }

    /// The device tensor holding value `name`; a zero constant becomes a tensor of a Fill op.
    pub(crate) fn tensor(&mut self, name: &str) -> Result<usize> {
        match self.value(name)?.clone() {
            Value::Tensor(t) => Ok(t),
            Value::Const(c) if c.f32s().is_some() && c.is_zero() => {
                if let Some(&t) = self.filled.get(name) {
                    return Ok(t);
                }
                let t = self.new_tensor(name, c.dims.clone());
                self.filled.insert(name.to_string(), t);
                self.push_op(OpKind::Fill, name, vec![], t);
                Ok(t)
            }
            _ => Err(format!(
                "reads the constant {name} as data; only zero constants can be (as a Fill)"
            )),
        }
    }

    pub(crate) fn new_tensor(&mut self, name: &str, shape: Vec<usize>) -> usize {
        self.graph.tensors.push(Tensor {
            name: name.to_string(),
            shape,
            quant: None,
        });
        self.graph.tensors.len() - 1
    }

    pub(crate) fn push_op(
        &mut self,
        kind: OpKind,
        node: &str,
        inputs: Vec<usize>,
        output: usize,
    ) -> &mut Op {
        self.graph.steps.push(Step::Op(Op {
            kind,
            node: node.to_string(),
            inputs,
            output,
            activation: Activation::None,
            geometry: Geometry {
                groups: 1,
                ..Geometry::default()
            },
            weights: None,
            affine: None,
        }));
        match self.graph.steps.last_mut() {
            Some(Step::Op(op)) => op,
            _ => unreachable!("an op was just pushed"),
        }
    }

    /// The op that produced tensor `t`, if an op did.
    pub(crate) fn producer(&mut self, t: usize) -> Option<&mut Op> {
        self.graph.steps.iter_mut().rev().find_map(|s| match s {
            Step::Op(op) if op.output == t => Some(op),
            _ => None,
        })
    }

    pub(crate) fn shape(&self, t: usize) -> &[usize] {
        &self.graph.tensors[t].shape
    }

    pub(crate) fn bind(&mut self, name: &str, t: usize) {
        self.values.insert(name.to_string(), Value::Tensor(t));
    }

    fn output(n: &NodeProto) -> Result<&str> {
        match &n.output[..] {
            [o] => Ok(o),
            _ => Err("must have exactly one output".into()),
        }
    }

    pub(crate) fn input(n: &NodeProto, k: usize) -> Result<&str> {
        n.input
            .get(k)
            .filter(|s| !s.is_empty())
            .map(String::as_str)
            .ok_or_else(|| format!("has no input {k}"))
    }

    fn node(&mut self, n: &NodeProto) -> Result<()> {
        let name = node_name(n);
        let out = Self::output(n)?;
        match n.op_type.as_str() {
            "QuantizeLinear" => {
                let t = self.tensor(Self::input(n, 0)?)?;
                let q = self.quant_params(n)?;
                let tensor = &mut self.graph.tensors[t];
                if tensor.quant.is_some_and(|p| p != q) {
                    return Err(format!(
                        "quantises {} a second time, differently",
                        tensor.name
                    ));
                }
                if matches!(self.producer(t), Some(op) if op.kind == OpKind::Softmax) {
                    return Err(
                        "a quantised softmax output is not supported (the device's softmax \
                                gives f32 probabilities)"
                            .into(),
                    );
                }
                self.graph.tensors[t].quant = Some(q);
                self.bind(out, t);
            }
            "DequantizeLinear" => match self.value(Self::input(n, 0)?)?.clone() {
                Value::Tensor(t) => {
                    if self.graph.tensors[t].quant != Some(self.quant_params(n)?) {
                        return Err(
                            "dequantises with parameters other than its quantisation".into()
                        );
                    }
                    self.graph.tensors[t].name = out.to_string();
                    self.bind(out, t);
                }
                Value::Const(q) => {
                    let scale = self.constant(Self::input(n, 1)?)?;
                    let scale = scale.f32s().ok_or("scale is not float")?.to_vec();
                    let zero = match n.input.get(2).filter(|s| !s.is_empty()) {
                        Some(z) => self.constant(z)?,
                        None => Const {
                            dims: vec![],
                            data: Data::I8(vec![0]),
                        },
                    };
                    self.values
                        .insert(out.to_string(), Value::Quantized { q, scale, zero });
                }
                Value::Quantized { .. } => return Err("dequantises twice".into()),
            },
            "Identity" => {
                let v = self.value(Self::input(n, 0)?)?.clone();
                self.values.insert(out.to_string(), v);
            }
            op => match IMPORTS.iter().find(|(op_type, _)| *op_type == op) {
                Some((_, import)) => import(self, n, &name, out)?,
                None => {
                    let supported: Vec<&str> =
                        IMPORTS.iter().map(|(op_type, _)| *op_type).collect();
                    return Err(format!(
                        "the op {op} is not supported by the device engine (supported: {}, \
                         Identity, and QDQ pairs)",
                        supported.join(", ")
                    ));
                }
            },
        }
        Ok(())
    }

    pub(crate) fn constant(&self, name: &str) -> Result<Const> {
        match self.value(name)? {
            Value::Const(c) => Ok(c.clone()),
            _ => Err(format!("{name} must be a constant")),
        }
    }

    /// Scale and zero point of a QuantizeLinear or DequantizeLinear of a tensor (per tensor,
    /// int8 zero point).
    fn quant_params(&self, n: &NodeProto) -> Result<Quant> {
        let scale = self.constant(Self::input(n, 1)?)?;
        let scale = match scale.f32s() {
            Some(&[s]) if s.is_finite() && s > 0.0 => s,
            _ => return Err("needs one positive float scale (per-tensor quantisation)".into()),
        };
        let zero = match n.input.get(2).filter(|s| !s.is_empty()) {
            None => 0,
            Some(z) => match self.constant(z)?.data {
                Data::I8(v) if v.len() == 1 => v[0] as i32,
                _ => {
                    return Err(
                        "needs one int8 zero point (uint8 quantisation is not supported)".into(),
                    );
                }
            },
        };
        Ok(Quant { scale, zero })
    }

    /// The weights and bias of a Conv or Gemm: f32, or int8 behind DequantizeLinear.
    pub(crate) fn weights(&self, n: &NodeProto, channels: usize) -> Result<OpWeights> {
        let w = self.value(Self::input(n, 1)?)?.clone();
        let b = match n.input.get(2).filter(|s| !s.is_empty()) {
            Some(b) => Some(self.value(b)?.clone()),
            None => None,
        };
        match (w, b) {
            (Value::Const(w), b) => {
                let weights = w.f32s().ok_or("float weights expected")?.to_vec();
                let bias = match b {
                    None => vec![0.0; channels],
                    Some(Value::Const(b)) => b.f32s().ok_or("float bias expected")?.to_vec(),
                    Some(_) => return Err("f32 weights with a quantised bias".into()),
                };
                if bias.len() != channels {
                    return Err(format!("has {} biases for {channels} outputs", bias.len()));
                }
                Ok(OpWeights::F32 { weights, bias })
            }
            (Value::Quantized { q, scale, zero }, b) => {
                let Data::I8(weights) = q.data else {
                    return Err("quantised weights must be int8".into());
                };
                if !zero.is_zero() {
                    return Err("weights must be symmetric (zero point 0)".into());
                }
                let scales = match scale.len() {
                    1 => vec![scale[0]; channels],
                    c if c == channels => scale,
                    c => return Err(format!("has {c} weight scales for {channels} outputs")),
                };
                let (bias, bias_scales) = match b {
                    None => (vec![0; channels], scales.clone()),
                    Some(Value::Quantized { q, scale, zero }) => {
                        let Data::I32(bias) = q.data else {
                            return Err("a quantised bias must be int32".into());
                        };
                        if !zero.is_zero() || bias.len() != channels {
                            return Err(
                                "the bias needs one int32 per output and zero point 0".into()
                            );
                        }
                        let scale = if scale.len() == 1 {
                            vec![scale[0]; channels]
                        } else {
                            scale
                        };
                        (bias, scale)
                    }
                    Some(_) => {
                        return Err(
                            "int8 weights need an int32 bias behind a DequantizeLinear".into()
                        );
                    }
                };
                Ok(OpWeights::Int8 {
                    weights,
                    scales,
                    bias,
                    bias_scales,
                })
            }
            (Value::Tensor(_), _) => Err("weights computed at run time are not supported".into()),
        }
    }
}
