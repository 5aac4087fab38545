//! `inverted_residual`: MobileNetV2's inverted residual block (MCUNet's building block).

use super::{BlockArgs, BlockKind, ParamDef, ParamKind, act, kernel, out, stride};
use crate::network::layers::{Add, Layer};
use crate::network::{Builder, DecodeError};

/// The `inverted_residual` block type.
pub static INVERTED_RESIDUAL: BlockKind = BlockKind {
    name: "inverted_residual",
    doc: "1×1 expand → BN → act → depthwise k×k → BN → act → 1×1 project → BN (+ input when stride 1 and channels match)",
    params: &[
        out("output channels"),
        kernel("depthwise kernel size"),
        stride("depthwise stride"),
        ParamDef {
            name: "expansion",
            kind: ParamKind::Int { min: 1 },
            default: Some("6"),
            doc: "hidden channels = input channels × expansion (1: no expand conv)",
        },
        act("relu6", "activation"),
    ],
    build,
};

fn build(b: &mut Builder, a: &BlockArgs) -> Result<(), DecodeError> {
    let input = b.current();
    let c_in = b.shape(input).channels();
    let (k, s, e, act) = (
        a.int("kernel"),
        a.int("stride"),
        a.int("expansion"),
        a.act("act"),
    );
    let out = a.channels("out");
    let hidden = c_in * e;
    let expanded = if e == 1 {
        input
    } else {
        b.conv_bn_act("expand", input, hidden, [1, 1], [1, 1], 1, act)?
    };
    let dw = b.conv_bn_act("dw", expanded, hidden, [k, k], [s, s], hidden, act)?;
    let project = b.conv_bn_act("project", dw, out, [1, 1], [1, 1], 1, None)?;
    let result = if s == 1 && c_in == out {
        b.add("add", Layer::Add(Add), &[input, project])?
    } else {
        project
    };
    b.set_current(result);
    Ok(())
}
