//! NAS-Bench-201's cell and reduction block (Dong and Yang, ICLR 2020).
//!
//! A cell has four nodes; node 0 is the cell input and node 3 its output. Each of the six
//! edges `e0`…`e5` (see `space::nb201`) applies one operation to its source node, and a node is
//! the sum of its incoming edges. `none` removes an edge; a node with no edge left is zero, and
//! nodes that do not reach the output are not built.

use super::{BlockArgs, BlockKind, ParamDef, ParamKind, out};
use crate::network::layers::{Activation, ActivationKind, Add, Layer, Pool, PoolKind, Zero};
use crate::network::{Builder, DecodeError, NodeId};
use crate::space::nb201::{EDGE_SOURCES, EDGE_TARGETS, EDGES};

/// The operations an NB201 edge can apply.
pub const OPS: &[&str] = &[
    "none",
    "skip_connect",
    "nor_conv_1x1",
    "nor_conv_3x3",
    "avg_pool_3x3",
];

const fn edge(name: &'static str) -> ParamDef {
    ParamDef {
        name,
        kind: ParamKind::Word(OPS),
        default: None,
        doc: "operation of this edge",
    }
}

/// The `nb201_cell` block type.
pub static CELL: BlockKind = BlockKind {
    name: "nb201_cell",
    doc: "NAS-Bench-201 cell: 4 nodes, 6 edges e0..e5 each none, skip_connect, nor_conv_1x1, nor_conv_3x3 or avg_pool_3x3",
    params: &[
        edge("e0"),
        edge("e1"),
        edge("e2"),
        edge("e3"),
        edge("e4"),
        edge("e5"),
    ],
    build: build_cell,
};

/// The `nb201_reduction` block type.
pub static REDUCTION: BlockKind = BlockKind {
    name: "nb201_reduction",
    doc: "NAS-Bench-201 reduction: ReLU → 3×3/2 conv → BN → ReLU → 3×3 conv → BN, + 2×2 avg pool → 1×1 conv",
    params: &[out("output channels")],
    build: build_reduction,
};

fn build_cell(b: &mut Builder, a: &BlockArgs) -> Result<(), DecodeError> {
    let ops: Vec<&str> = EDGES.iter().map(|e| a.word(e)).collect();
    // Which nodes are zero (forward) and which reach the output (backward).
    let mut zero = [false; 4];
    for node in 1..4 {
        zero[node] =
            !(0..6).any(|e| EDGE_TARGETS[e] == node && ops[e] != "none" && !zero[EDGE_SOURCES[e]]);
    }
    let live = |e: usize| ops[e] != "none" && !zero[EDGE_SOURCES[e]];
    let mut needed = [false, false, false, true];
    for node in (0..3).rev() {
        needed[node] =
            (0..6).any(|e| EDGE_SOURCES[e] == node && live(e) && needed[EDGE_TARGETS[e]]);
    }
    let input = b.current();
    let shape = b.shape(input);
    if zero[3] {
        let z = b.add("zero", Layer::Zero(Zero { shape }), &[])?;
        b.set_current(z);
        return Ok(());
    }
    let mut value: [NodeId; 4] = [input; 4];
    for node in 1..4 {
        if !needed[node] {
            continue;
        }
        let mut sum: Option<NodeId> = None;
        for e in (0..6).filter(|&e| EDGE_TARGETS[e] == node && live(e)) {
            let x = edge_op(b, &format!("e{e}"), ops[e], value[EDGE_SOURCES[e]])?;
            sum = Some(match sum {
                None => x,
                Some(acc) => b.add(&format!("n{node}_add_e{e}"), Layer::Add(Add), &[acc, x])?,
            });
        }
        value[node] = sum.expect("a non-zero node has a live edge");
    }
    b.set_current(value[3]);
    Ok(())
}

fn edge_op(b: &mut Builder, name: &str, op: &str, x: NodeId) -> Result<NodeId, DecodeError> {
    let c = b.shape(x).channels();
    match op {
        "skip_connect" => Ok(x),
        "avg_pool_3x3" => {
            let pool = Pool {
                kind: PoolKind::Avg,
                kernel: 3,
                stride: 1,
                padding: 1,
                count_include_pad: false,
            };
            b.add(&format!("{name}_pool"), Layer::Pool(pool), &[x])
        }
        conv => {
            let k = if conv == "nor_conv_3x3" { 3 } else { 1 };
            let relu = b.add(
                &format!("{name}_relu"),
                Layer::Activation(Activation {
                    kind: ActivationKind::Relu,
                }),
                &[x],
            )?;
            b.conv_bn_act(&format!("{name}_conv"), relu, c, [k, k], [1, 1], 1, None)
        }
    }
}

fn build_reduction(b: &mut Builder, a: &BlockArgs) -> Result<(), DecodeError> {
    let input = b.current();
    let out = a.channels("out");
    let relu = Layer::Activation(Activation {
        kind: ActivationKind::Relu,
    });
    let r1 = b.add("a_relu", relu.clone(), &[input])?;
    let conv_a = b.conv_bn_act("a_conv", r1, out, [3, 3], [2, 2], 1, None)?;
    let r2 = b.add("b_relu", relu, &[conv_a])?;
    let conv_b = b.conv_bn_act("b_conv", r2, out, [3, 3], [1, 1], 1, None)?;
    let pool = Pool {
        kind: PoolKind::Avg,
        kernel: 2,
        stride: 2,
        padding: 0,
        count_include_pad: false,
    };
    let pooled = b.add("shortcut_pool", Layer::Pool(pool), &[input])?;
    let shortcut = b.add(
        "shortcut_conv",
        Layer::Conv2d(crate::network::layers::Conv2d::same(out, [1, 1], [1, 1], 1)),
        &[pooled],
    )?;
    let sum = b.add("add", Layer::Add(Add), &[shortcut, conv_b])?;
    b.set_current(sum);
    Ok(())
}
