//! 2-D convolution: ONNX `Conv` (groups for depthwise); in the int8 operator form a
//! `QLinearConv`.

use edgenas_engine::blob::OpKind;
use edgenas_model::network::Shape;
use edgenas_model::network::layers::Conv2d;
use onnx_protobuf::{AttributeProto, NodeProto};

use super::{EvaluateNode, ExportNode, OnnxLayer, image};
use crate::compile::graph::{Reader, Value, geometry, window_out};
use crate::compile::onnx;
use crate::export::proto::{attr_int, attr_ints};

impl OnnxLayer for Conv2d {
    fn export(&self, x: &mut ExportNode<'_>) -> String {
        x.emit_weighted("Conv", conv_attributes(self))
    }

    fn evaluate(&self, x: &EvaluateNode<'_>) -> Vec<f64> {
        let (w, b) = x.weights_as_run();
        convolve(&x.arg(0), x.in_shape(), x.node.shape, self, &w, &b)
    }

    fn as_qlinear_conv(&self) -> Option<Conv2d> {
        Some(self.clone())
    }
}

/// The attributes of a convolution.
pub(crate) fn conv_attributes(c: &Conv2d) -> Vec<AttributeProto> {
    let [ph, pw] = c.padding;
    vec![
        attr_ints("kernel_shape", &[c.kernel[0] as i64, c.kernel[1] as i64]),
        attr_ints("strides", &[c.stride[0] as i64, c.stride[1] as i64]),
        attr_ints("pads", &[ph as i64, pw as i64, ph as i64, pw as i64]),
        attr_ints("dilations", &[1, 1]),
        attr_int("group", c.groups as i64),
    ]
}

/// The convolution of `x` (shape `from`) to shape `to`, weights `[O, C/groups, kH, kW]`.
fn convolve(x: &[f64], from: Shape, to: Shape, c: &Conv2d, w: &[f64], b: &[f64]) -> Vec<f64> {
    let ((ci, hi, wi), (co, ho, wo)) = (image(from), image(to));
    let (cin_g, cout_g) = (ci / c.groups, co / c.groups);
    let [kh, kw] = c.kernel;
    let mut out = vec![0.0; co * ho * wo];
    for o in 0..co {
        let g = o / cout_g;
        for oy in 0..ho {
            for ox in 0..wo {
                let mut acc = b[o];
                for k in 0..cin_g {
                    let ch = g * cin_g + k;
                    for ky in 0..kh {
                        for kx in 0..kw {
                            let iy = (oy * c.stride[0] + ky) as isize - c.padding[0] as isize;
                            let ix = (ox * c.stride[1] + kx) as isize - c.padding[1] as isize;
                            if iy < 0 || ix < 0 || iy >= hi as isize || ix >= wi as isize {
                                continue;
                            }
                            let xv = x[(ch * hi + iy as usize) * wi + ix as usize];
                            acc += xv * w[((o * cin_g + k) * kh + ky) * kw + kx];
                        }
                    }
                }
                out[(o * ho + oy) * wo + ox] = acc;
            }
        }
    }
    out
}

/// Reads a `Conv` node: one conv op.
pub(crate) fn import(r: &mut Reader, n: &NodeProto, name: &str, out: &str) -> Result<(), String> {
    let t = r.tensor(Reader::input(n, 0)?)?;
    let &[1, c, h, w] = r.shape(t) else {
        return Err("needs a [1, C, H, W] input".into());
    };
    let dims = match r.value(Reader::input(n, 1)?)? {
        Value::Const(k) | Value::Quantized { q: k, .. } => k.dims.clone(),
        Value::Tensor(_) => return Err("weights computed at run time are not supported".into()),
    };
    let &[o, per_group, kh, kw] = &dims[..] else {
        return Err("needs [O, C/groups, kH, kW] weights".into());
    };
    let groups = onnx::int(n, "group", 1);
    let mut g = geometry(n, [kh, kw])?;
    g.groups = u16::try_from(groups).map_err(|_| format!("{groups} groups is out of range"))?;
    if groups < 1 || c % groups as usize != 0 || per_group * groups as usize != c {
        return Err(format!(
            "{c} channels do not fit {groups} groups of {per_group}"
        ));
    }
    let oh = window_out(h, kh, g.stride[0] as usize, g.padding[0] as usize)?;
    let ow = window_out(w, kw, g.stride[1] as usize, g.padding[1] as usize)?;
    let weights = r.weights(n, o)?;
    let y = r.new_tensor(out, vec![1, o, oh, ow]);
    let op = r.push_op(OpKind::Conv, name, vec![t], y);
    op.geometry = g;
    op.weights = Some(weights);
    r.bind(out, y);
    Ok(())
}
