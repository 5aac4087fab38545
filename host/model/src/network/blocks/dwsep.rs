//! `dwsep`: a depthwise-separable convolution (DS-CNN, MobileNetV1).

use super::{BlockArgs, BlockKind, act, kernel, out, stride};
use crate::network::{Builder, DecodeError};

/// The `dwsep` block type.
pub static DWSEP: BlockKind = BlockKind {
    name: "dwsep",
    doc: "depthwise k×k conv → BN → act → pointwise 1×1 conv → BN → act",
    params: &[
        out("output channels of the pointwise conv"),
        kernel("depthwise kernel size"),
        stride("depthwise stride"),
        act("relu", "activation"),
    ],
    build,
};

fn build(b: &mut Builder, a: &BlockArgs) -> Result<(), DecodeError> {
    let input = b.current();
    let c = b.shape(input).channels();
    let (k, s, act) = (a.int("kernel"), a.int("stride"), a.act("act"));
    let dw = b.conv_bn_act("dw", input, c, [k, k], [s, s], c, act)?;
    let pw = b.conv_bn_act("pw", dw, a.channels("out"), [1, 1], [1, 1], 1, act)?;
    b.set_current(pw);
    Ok(())
}
