//! `dense`: a fully connected layer with an activation.

use super::{ACTIVATIONS, BlockArgs, BlockKind, ParamDef, ParamKind};
use crate::network::layers::{BatchNorm, Dense, Layer};
use crate::network::{Builder, DecodeError};

/// The `dense` block type.
pub static DENSE: BlockKind = BlockKind {
    name: "dense",
    doc: "(flatten →) fully connected → (BN →) activation",
    params: &[
        ParamDef {
            name: "out",
            kind: ParamKind::Int { min: 1 },
            default: None,
            doc: "output features",
        },
        ParamDef {
            name: "act",
            kind: ParamKind::Word(ACTIVATIONS),
            default: Some("relu"),
            doc: "activation",
        },
        ParamDef {
            name: "bn",
            kind: ParamKind::Bool,
            default: Some("false"),
            doc: "batch norm after the layer (then the layer has no bias)",
        },
    ],
    build,
};

fn build(b: &mut Builder, a: &BlockArgs) -> Result<(), DecodeError> {
    let input = b.current();
    let flat = b.flat(input)?;
    let bn = a.bool("bn");
    let dense = Dense {
        out_features: a.int("out"),
        bias: !bn,
    };
    let mut out = b.add("dense", Layer::Dense(dense), &[flat])?;
    if bn {
        out = b.add(
            "dense_bn",
            Layer::BatchNorm(BatchNorm { epsilon: 1e-5 }),
            &[out],
        )?;
    }
    let out = b.act("dense_act", out, a.act("act"))?;
    b.set_current(out);
    Ok(())
}
