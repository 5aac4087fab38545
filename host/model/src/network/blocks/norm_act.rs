//! `norm_act`: batch norm and an activation on their own (NB201's last activation).

use super::{BlockArgs, BlockKind, act};
use crate::network::layers::{BatchNorm, Layer};
use crate::network::{Builder, DecodeError};

/// The `norm_act` block type.
pub static NORM_ACT: BlockKind = BlockKind {
    name: "norm_act",
    doc: "batch norm → activation",
    params: &[act("relu", "activation")],
    build,
};

fn build(b: &mut Builder, a: &BlockArgs) -> Result<(), DecodeError> {
    let input = b.current();
    let bn = b.add(
        "bn",
        Layer::BatchNorm(BatchNorm { epsilon: 1e-5 }),
        &[input],
    )?;
    let out = b.act("act", bn, a.act("act"))?;
    b.set_current(out);
    Ok(())
}
