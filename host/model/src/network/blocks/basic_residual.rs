//! `basic_residual`: ResNet's basic block (MLPerf Tiny's ResNet-8).

use super::{BlockArgs, BlockKind, kernel, out, stride};
use crate::network::layers::{ActivationKind, Add, Layer};
use crate::network::{Builder, DecodeError};

/// The `basic_residual` block type.
pub static BASIC_RESIDUAL: BlockKind = BlockKind {
    name: "basic_residual",
    doc: "k×k conv (stride) → BN → ReLU → k×k conv → BN, + shortcut (1×1 conv → BN when the shape changes) → ReLU",
    params: &[
        out("output channels"),
        kernel("kernel size of both convolutions"),
        stride("stride of the first convolution and the shortcut"),
    ],
    build,
};

fn build(b: &mut Builder, a: &BlockArgs) -> Result<(), DecodeError> {
    let input = b.current();
    let c_in = b.shape(input).channels();
    let (k, s, out) = (a.int("kernel"), a.int("stride"), a.channels("out"));
    let relu = Some(ActivationKind::Relu);
    let first = b.conv_bn_act("conv1", input, out, [k, k], [s, s], 1, relu)?;
    let second = b.conv_bn_act("conv2", first, out, [k, k], [1, 1], 1, None)?;
    let shortcut = if s == 1 && c_in == out {
        input
    } else {
        b.conv_bn_act("shortcut", input, out, [1, 1], [s, s], 1, None)?
    };
    let sum = b.add("add", Layer::Add(Add), &[shortcut, second])?;
    let result = b.act("relu", sum, relu)?;
    b.set_current(result);
    Ok(())
}
