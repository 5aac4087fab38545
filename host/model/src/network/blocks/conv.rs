//! `conv`: convolution, batch norm, activation.

use super::{BlockArgs, BlockKind, ParamDef, ParamKind, act, bn, kernel, out, stride};
use crate::network::layers::{Conv2d, Layer};
use crate::network::{Builder, DecodeError};

/// The `conv` block type.
pub static CONV: BlockKind = BlockKind {
    name: "conv",
    doc: "convolution → batch norm → activation (a stem, or a plain conv layer)",
    params: &[
        out("output channels"),
        kernel("kernel size (height, and width unless kernel_w is set)"),
        ParamDef {
            name: "kernel_w",
            kind: ParamKind::Int { min: 0 },
            default: Some("0"),
            doc: "kernel width, 0 for the same as kernel",
        },
        stride("stride (height, and width unless stride_w is set)"),
        ParamDef {
            name: "stride_w",
            kind: ParamKind::Int { min: 0 },
            default: Some("0"),
            doc: "stride along the width, 0 for the same as stride",
        },
        act("relu", "activation"),
        bn(
            "true",
            "batch norm after the convolution (else the convolution has a bias)",
        ),
    ],
    build,
};

fn build(b: &mut Builder, a: &BlockArgs) -> Result<(), DecodeError> {
    let or = |v: usize, fallback: usize| if v == 0 { fallback } else { v };
    let kernel = [a.int("kernel"), or(a.int("kernel_w"), a.int("kernel"))];
    let stride = [a.int("stride"), or(a.int("stride_w"), a.int("stride"))];
    let input = b.current();
    let out = if a.bool("bn") {
        b.conv_bn_act(
            "conv",
            input,
            a.channels("out"),
            kernel,
            stride,
            1,
            a.act("act"),
        )?
    } else {
        let conv = Conv2d {
            bias: true,
            ..Conv2d::same(a.channels("out"), kernel, stride, 1)
        };
        let c = b.add("conv", Layer::Conv2d(conv), &[input])?;
        b.act("conv_act", c, a.act("act"))?
    };
    b.set_current(out);
    Ok(())
}
