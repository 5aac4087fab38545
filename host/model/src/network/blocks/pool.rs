//! `pool`: max or average pooling.

use super::{BlockArgs, BlockKind, ParamDef, ParamKind};
use crate::network::layers::{Layer, Pool, PoolKind};
use crate::network::{Builder, DecodeError};

/// The `pool` block type.
pub static POOL: BlockKind = BlockKind {
    name: "pool",
    doc: "max or average pooling",
    params: &[
        ParamDef {
            name: "kind",
            kind: ParamKind::Word(&["max", "avg"]),
            default: Some("max"),
            doc: "max or avg",
        },
        ParamDef {
            name: "kernel",
            kind: ParamKind::Int { min: 1 },
            default: Some("2"),
            doc: "window size",
        },
        ParamDef {
            name: "stride",
            kind: ParamKind::Int { min: 0 },
            default: Some("0"),
            doc: "step between windows, 0 for the window size",
        },
        ParamDef {
            name: "padding",
            kind: ParamKind::Int { min: 0 },
            default: Some("0"),
            doc: "padding on each side",
        },
    ],
    build,
};

fn build(b: &mut Builder, a: &BlockArgs) -> Result<(), DecodeError> {
    let kernel = a.int("kernel");
    let pool = Pool {
        kind: if a.word("kind") == "max" {
            PoolKind::Max
        } else {
            PoolKind::Avg
        },
        kernel,
        stride: if a.int("stride") == 0 {
            kernel
        } else {
            a.int("stride")
        },
        padding: a.int("padding"),
        count_include_pad: false,
    };
    let input = b.current();
    let out = b.add("pool", Layer::Pool(pool), &[input])?;
    b.set_current(out);
    Ok(())
}
