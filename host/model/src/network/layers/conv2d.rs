//! 2-D convolution.

use edgenas_engine::DType;
use edgenas_engine::blob::OpKind;
use edgenas_engine::format;

use super::{LayerOp, Lowering, Shape, ShapeError, expect_image, window_out};
use crate::weights::{Array, LayerWeights};

/// A 2-D convolution with symmetric zero padding; `groups == in_channels` is depthwise.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Conv2d {
    /// Output channels.
    pub out_channels: usize,
    /// Kernel height and width.
    pub kernel: [usize; 2],
    /// Stride along height and width.
    pub stride: [usize; 2],
    /// Zero padding on each side, along height and width.
    pub padding: [usize; 2],
    /// Groups: input and output channels are split into this many independent groups.
    pub groups: usize,
    /// Whether the convolution adds a bias (false when a batch norm follows).
    pub bias: bool,
}

impl Conv2d {
    /// A convolution padded to keep the size at stride 1: `(k − 1) / 2` on each side.
    pub fn same(
        out_channels: usize,
        kernel: [usize; 2],
        stride: [usize; 2],
        groups: usize,
    ) -> Conv2d {
        Conv2d {
            out_channels,
            kernel,
            stride,
            padding: [(kernel[0] - 1) / 2, (kernel[1] - 1) / 2],
            groups,
            bias: false,
        }
    }

    /// The weight array's shape: output channels, input channels per group, kernel.
    fn weight_shape(&self, in_channels: usize) -> Vec<usize> {
        let per_group = in_channels / self.groups.max(1);
        vec![self.out_channels, per_group, self.kernel[0], self.kernel[1]]
    }

    fn weights(&self, in_channels: usize) -> u64 {
        (self.out_channels * (in_channels / self.groups) * self.kernel[0] * self.kernel[1]) as u64
    }
}

impl LayerOp for Conv2d {
    fn kind(&self) -> &'static str {
        "conv2d"
    }

    fn lowering(&self) -> Lowering {
        Lowering::Op {
            kind: OpKind::Conv,
            groups: self.groups,
            kernel: self.kernel,
            stride: self.stride,
        }
    }

    fn output_shape(&self, inputs: &[Shape]) -> Result<Shape, ShapeError> {
        let (c, h, w) = expect_image(inputs)?;
        if self.groups == 0
            || !c.is_multiple_of(self.groups)
            || !self.out_channels.is_multiple_of(self.groups)
        {
            return Err(ShapeError::Groups {
                groups: self.groups,
                inputs: c,
                outputs: self.out_channels,
            });
        }
        if self.kernel.contains(&0) {
            return Err(ShapeError::ZeroKernel);
        }
        Ok(Shape::Image {
            c: self.out_channels,
            h: window_out(h, self.kernel[0], self.stride[0], self.padding[0], "height")?,
            w: window_out(w, self.kernel[1], self.stride[1], self.padding[1], "width")?,
        })
    }

    fn params(&self, inputs: &[Shape]) -> u64 {
        self.weights(inputs[0].channels())
            + if self.bias {
                self.out_channels as u64
            } else {
                0
            }
    }

    fn macs(&self, inputs: &[Shape], output: &Shape) -> u64 {
        let Shape::Image { h, w, .. } = *output else {
            return 0;
        };
        self.weights(inputs[0].channels()) * (h * w) as u64
    }

    fn weight_shapes(&self, inputs: &[Shape], _output: &Shape) -> Vec<Vec<usize>> {
        let mut v = vec![self.weight_shape(inputs[0].channels())];
        if self.bias {
            v.push(vec![self.out_channels]);
        }
        v
    }

    /// He (Kaiming) uniform: gain 6 over the fan-in; the bias starts at 0.
    fn initial_weights(
        &self,
        inputs: &[Shape],
        _output: &Shape,
        _logits: bool,
        draw: &mut dyn FnMut(&[usize], usize, f64) -> Array,
    ) -> Option<LayerWeights> {
        let shape = self.weight_shape(inputs[0].channels());
        let fan_in = shape[1] * shape[2] * shape[3];
        Some(LayerWeights::Conv2d {
            weight: draw(&shape, fan_in, 6.0),
            bias: self.bias.then(|| Array::full(&[self.out_channels], 0.0)),
        })
    }

    fn constant_bytes(&self, dtype: DType, inputs: &[Shape], _output: &Shape) -> usize {
        let weights = self.weights(inputs[0].channels()) as usize;
        format::weighted_op_bytes(dtype, weights, self.out_channels)
    }

    fn attributes(&self) -> String {
        let [kh, kw] = self.kernel;
        let [sh, sw] = self.stride;
        let stride = if sh == sw {
            format!("/{sh}")
        } else {
            format!("/{sh}x{sw}")
        };
        let groups = if self.groups > 1 {
            format!(" g{}", self.groups)
        } else {
            String::new()
        };
        format!("{kh}x{kw}{stride}{groups}")
    }
}
