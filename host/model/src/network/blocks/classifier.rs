//! `classifier`: the head that turns features into class probabilities.

use super::{BlockArgs, BlockKind, ParamDef, ParamKind, act};
use crate::network::layers::{Dense, GlobalAvgPool, Layer, Softmax};
use crate::network::{Builder, DecodeError, Shape};

/// The `classifier` block type.
pub static CLASSIFIER: BlockKind = BlockKind {
    name: "classifier",
    doc: "global average pool (for a feature map) → flatten → [dense hidden → act] → dense classes → softmax",
    params: &[
        ParamDef {
            name: "hidden",
            kind: ParamKind::Int { min: 0 },
            default: Some("0"),
            doc: "features of a hidden dense layer, 0 for none",
        },
        act("relu", "activation of the hidden layer"),
        ParamDef {
            name: "softmax",
            kind: ParamKind::Bool,
            default: Some("true"),
            doc: "end with a softmax (training uses the logits before it)",
        },
    ],
    build,
};

fn build(b: &mut Builder, a: &BlockArgs) -> Result<(), DecodeError> {
    let mut x = b.current();
    if matches!(b.shape(x), Shape::Image { h, w, .. } if h * w > 1) {
        x = b.add("gap", Layer::GlobalAvgPool(GlobalAvgPool), &[x])?;
    }
    x = b.flat(x)?;
    if a.int("hidden") > 0 {
        let hidden = Dense {
            out_features: a.int("hidden"),
            bias: true,
        };
        x = b.add("hidden", Layer::Dense(hidden), &[x])?;
        x = b.act("hidden_act", x, a.act("act"))?;
    }
    let logits = Dense {
        out_features: b.classes(),
        bias: true,
    };
    x = b.add("logits", Layer::Dense(logits), &[x])?;
    if a.bool("softmax") {
        x = b.add("softmax", Layer::Softmax(Softmax), &[x])?;
    }
    b.set_current(x);
    Ok(())
}
