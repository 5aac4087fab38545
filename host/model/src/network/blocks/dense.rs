//! `dense`: a fully connected layer with an activation.

use super::{BlockArgs, BlockKind, ParamDef, ParamKind, act, bn};
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
        act("relu", "activation"),
        bn(
            "false",
            "batch norm after the layer (then the layer has no bias)",
        ),
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
