//! The layer types of the IR, one file each, behind one small trait.
//!
//! A layer knows its output shape (or why its inputs cannot connect), its parameter and MAC
//! counts, and what it is on the device (an engine op, a view, the input), from which the
//! arena planner's problem follows (`cost::lowering`).

mod activation;
mod add;
mod batch_norm;
mod conv2d;
mod dense;
mod flatten;
mod global_avg_pool;
mod input;
mod pool;
mod softmax;
mod zero;

pub use activation::{Activation, ActivationKind};
pub use add::Add;
pub use batch_norm::BatchNorm;
pub use conv2d::Conv2d;
pub use dense::Dense;
pub use flatten::Flatten;
pub use global_avg_pool::GlobalAvgPool;
pub use input::Input;
pub use pool::{Pool, PoolKind};
pub use softmax::Softmax;
pub use zero::Zero;

use edgenas_engine::DType;
use edgenas_engine::blob::OpKind;

use crate::weights::{Array, LayerWeights};

use super::Shape;

/// What a layer is on the device (see [`crate::cost::lowering`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lowering {
    /// The model input: a tensor, no op.
    Input,
    /// The same bytes with another shape: a tensor that aliases its input, no op.
    View,
    /// One engine op.
    Op {
        /// The engine's op kind.
        kind: OpKind,
        /// Groups of a convolution (1 otherwise).
        groups: usize,
        /// The window (height, width) of a convolution or pooling (1×1 otherwise).
        kernel: [usize; 2],
        /// The stride (height, width) of a convolution or pooling (1 otherwise).
        stride: [usize; 2],
    },
}

impl Lowering {
    /// An op without groups, window or stride.
    pub const fn op(kind: OpKind) -> Lowering {
        Lowering::Op {
            kind,
            groups: 1,
            kernel: [1, 1],
            stride: [1, 1],
        }
    }
}

/// How a layer merges into the op that produces its input, when it is that op's only reader.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fold {
    /// Into a weighted op's weights and bias (a batch norm after a convolution or dense layer;
    /// only one).
    Weights,
    /// Into the output of a weighted op, or of a node already merged into one (an activation).
    Output,
}

/// What every layer type answers.
pub trait LayerOp {
    /// Short lower-case name of the layer type (`conv2d`, `relu6`).
    fn kind(&self) -> &'static str;
    /// The output shape for these input shapes, or why they do not fit the layer.
    fn output_shape(&self, inputs: &[Shape]) -> Result<Shape, ShapeError>;
    /// Trainable parameters (batch norm running statistics are not parameters).
    fn params(&self, _inputs: &[Shape]) -> u64 {
        0
    }
    /// Multiply-accumulates of one inference (conv and dense layers only, as the field counts).
    fn macs(&self, _inputs: &[Shape], _output: &Shape) -> u64 {
        0
    }
    /// What the layer is on the device, when it is not merged into the op before it
    /// ([`crate::cost::deployment`]): the engine op that computes it, a view, or the input.
    fn lowering(&self) -> Lowering;
    /// The shapes of the arrays the layer's weights hold, in the order of
    /// [`LayerWeights::arrays`] (none for a layer without weights).
    fn weight_shapes(&self, _inputs: &[Shape], _output: &Shape) -> Vec<Vec<usize>> {
        Vec::new()
    }
    /// The layer's initial weights, their random arrays drawn by `draw(shape, fan_in, gain)`
    /// (uniform over ±√(gain / fan_in)); `logits` says that it is the network's last dense
    /// layer. `None` for a layer without weights.
    fn initial_weights(
        &self,
        _inputs: &[Shape],
        _output: &Shape,
        _logits: bool,
        _draw: &mut dyn FnMut(&[usize], usize, f64) -> Array,
    ) -> Option<LayerWeights> {
        None
    }
    /// Bytes of the constants the layer's engine op carries in a device model of `dtype`
    /// (weights, biases, per-channel parameters), by the format's rules.
    fn constant_bytes(&self, _dtype: DType, _inputs: &[Shape], _output: &Shape) -> usize {
        0
    }
    /// How the layer merges into the op before it on a device, if it can
    /// ([`crate::cost::deployment`] applies it).
    fn fold(&self) -> Option<Fold> {
        None
    }
    /// The attributes in a few characters (`3x3/2 g16`), for layer tables.
    fn attributes(&self) -> String {
        String::new()
    }
}

/// One layer of the IR. Its JSON form is `{"conv2d": {"out_channels": 16, …}}`.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Layer {
    /// The network input.
    Input(Input),
    /// 2-D convolution (groups for depthwise).
    Conv2d(Conv2d),
    /// Fully connected layer.
    Dense(Dense),
    /// Max or average pooling.
    Pool(Pool),
    /// Global average pooling to channels × 1 × 1.
    GlobalAvgPool(GlobalAvgPool),
    /// Element-wise sum of two tensors.
    Add(Add),
    /// ReLU or ReLU6.
    Activation(Activation),
    /// Batch normalisation (inference form: per-channel scale and shift).
    BatchNorm(BatchNorm),
    /// Feature map → vector.
    Flatten(Flatten),
    /// Softmax over a vector.
    Softmax(Softmax),
    /// A tensor of zeros (an NB201 node whose every incoming edge is `none`).
    Zero(Zero),
}

/// `$body` with `$l` bound to the layer inside the [`Layer`] `$layer`, whatever its type: the
/// one match on the layer types, with which each crate's registry of layer faces turns a
/// layer into its trait object (`with_layer!(layer, l => l)`). A new layer type is its variant
/// and its line here; each registry then fails to compile until its crate has the type's file.
#[macro_export]
macro_rules! with_layer {
    ($layer:expr, $l:ident => $body:expr) => {
        match $layer {
            $crate::network::Layer::Input($l) => $body,
            $crate::network::Layer::Conv2d($l) => $body,
            $crate::network::Layer::Dense($l) => $body,
            $crate::network::Layer::Pool($l) => $body,
            $crate::network::Layer::GlobalAvgPool($l) => $body,
            $crate::network::Layer::Add($l) => $body,
            $crate::network::Layer::Activation($l) => $body,
            $crate::network::Layer::BatchNorm($l) => $body,
            $crate::network::Layer::Flatten($l) => $body,
            $crate::network::Layer::Softmax($l) => $body,
            $crate::network::Layer::Zero($l) => $body,
        }
    };
}

impl Layer {
    /// The layer as its trait object.
    pub fn op(&self) -> &dyn LayerOp {
        crate::with_layer!(self, l => l)
    }
}

/// Why a layer cannot take its inputs (shape inference, [`LayerOp::output_shape`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShapeError {
    /// Another number of inputs than the layer reads.
    #[error("takes {expected} input(s), got {given}")]
    Inputs {
        /// Inputs the layer reads.
        expected: usize,
        /// Inputs given.
        given: usize,
    },
    /// A vector where the layer needs a feature map.
    #[error("needs a feature map, got a vector of {0}")]
    NeedsImage(usize),
    /// A feature map where the layer needs a vector.
    #[error("needs a vector, got a feature map {0} (flatten it first)")]
    NeedsVector(Shape),
    /// Two shapes that an addition cannot add.
    #[error("cannot add {0} and {1}")]
    Unequal(Shape, Shape),
    /// Groups that do not divide the channels.
    #[error("{groups} groups do not divide {inputs} input and {outputs} output channels")]
    Groups {
        /// The groups.
        groups: usize,
        /// Input channels.
        inputs: usize,
        /// Output channels.
        outputs: usize,
    },
    /// A kernel with a zero dimension.
    #[error("kernel size 0")]
    ZeroKernel,
    /// A window that does not move.
    #[error("{axis}: stride 0")]
    ZeroStride {
        /// `height` or `width`.
        axis: &'static str,
    },
    /// A window larger than its padded input.
    #[error("{axis}: kernel {kernel} is larger than the padded input {} ({input} + 2×{pad})", input + 2 * pad)]
    WindowTooLarge {
        /// `height` or `width`.
        axis: &'static str,
        /// The kernel's size along it.
        kernel: usize,
        /// The input's size along it.
        input: usize,
        /// The padding on each side.
        pad: usize,
    },
}

/// Checks that a layer has `n` inputs.
fn expect_inputs(inputs: &[Shape], n: usize) -> Result<(), ShapeError> {
    match inputs.len() == n {
        true => Ok(()),
        false => Err(ShapeError::Inputs {
            expected: n,
            given: inputs.len(),
        }),
    }
}

/// Checks that a layer's single input is a feature map and returns it.
fn expect_image(inputs: &[Shape]) -> Result<(usize, usize, usize), ShapeError> {
    expect_inputs(inputs, 1)?;
    match inputs[0] {
        Shape::Image { c, h, w } => Ok((c, h, w)),
        Shape::Vector(n) => Err(ShapeError::NeedsImage(n)),
    }
}

/// Output length of a sliding window: `(input + 2·pad − kernel) / stride + 1`.
fn window_out(
    input: usize,
    kernel: usize,
    stride: usize,
    pad: usize,
    axis: &'static str,
) -> Result<usize, ShapeError> {
    if stride == 0 {
        return Err(ShapeError::ZeroStride { axis });
    }
    if input + 2 * pad < kernel {
        return Err(ShapeError::WindowTooLarge {
            axis,
            kernel,
            input,
            pad,
        });
    }
    Ok((input + 2 * pad - kernel) / stride + 1)
}
