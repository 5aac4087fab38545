//! Max and average pooling: ONNX `MaxPool` and `AveragePool`.

use edgenas_engine::blob::OpKind;
use edgenas_model::network::layers::{Pool, PoolKind};
use onnx_protobuf::NodeProto;

use super::{EvaluateNode, ExportNode, OnnxLayer, image};
use crate::compile::graph::{Reader, geometry, window_out};
use crate::compile::onnx;
use crate::export::proto::{attr_int, attr_ints};

impl OnnxLayer for Pool {
    fn export(&self, x: &mut ExportNode<'_>) -> String {
        let mut attributes = vec![
            attr_ints("kernel_shape", &[self.kernel as i64; 2]),
            attr_ints("strides", &[self.stride as i64; 2]),
            attr_ints("pads", &[self.padding as i64; 4]),
        ];
        let op = match self.kind {
            PoolKind::Max => "MaxPool",
            PoolKind::Avg => {
                attributes.push(attr_int("count_include_pad", self.count_include_pad as i64));
                "AveragePool"
            }
        };
        x.emit_unary(op, attributes)
    }

    fn evaluate(&self, x: &EvaluateNode<'_>) -> Vec<f64> {
        let input = x.arg(0);
        let ((c, hi, wi), (_, ho, wo)) = (image(x.in_shape()), image(x.node.shape));
        let mut out = Vec::with_capacity(c * ho * wo);
        for ch in 0..c {
            for oy in 0..ho {
                for ox in 0..wo {
                    let mut window = Vec::with_capacity(self.kernel * self.kernel);
                    for ky in 0..self.kernel {
                        for kx in 0..self.kernel {
                            let iy = (oy * self.stride + ky) as isize - self.padding as isize;
                            let ix = (ox * self.stride + kx) as isize - self.padding as isize;
                            if iy >= 0 && ix >= 0 && iy < hi as isize && ix < wi as isize {
                                window.push(input[(ch * hi + iy as usize) * wi + ix as usize]);
                            }
                        }
                    }
                    out.push(match self.kind {
                        PoolKind::Max => window.iter().copied().fold(f64::NEG_INFINITY, f64::max),
                        PoolKind::Avg => {
                            let count = if self.count_include_pad {
                                self.kernel * self.kernel
                            } else {
                                window.len()
                            };
                            window.iter().sum::<f64>() / count as f64
                        }
                    });
                }
            }
        }
        out
    }
}

/// Reads a `MaxPool` or `AveragePool` node: one pooling op.
pub(crate) fn import(r: &mut Reader, n: &NodeProto, name: &str, out: &str) -> Result<(), String> {
    let t = r.tensor(Reader::input(n, 0)?)?;
    let kernel = onnx::ints(n, "kernel_shape").ok_or("has no kernel_shape")?;
    let &[kh, kw] = kernel else {
        return Err("only 2-D pooling is supported".into());
    };
    if onnx::int(n, "storage_order", 0) != 0 {
        return Err("storage_order 1 is not supported".into());
    }
    let g = geometry(n, [kh as usize, kw as usize])?;
    let &[1, c, h, w] = r.shape(t) else {
        return Err("needs a [1, C, H, W] input".into());
    };
    let oh = window_out(h, kh as usize, g.stride[0] as usize, g.padding[0] as usize)?;
    let ow = window_out(w, kw as usize, g.stride[1] as usize, g.padding[1] as usize)?;
    let kind = if n.op_type == "MaxPool" {
        OpKind::MaxPool
    } else {
        OpKind::AvgPool
    };
    let y = r.new_tensor(out, vec![1, c, oh, ow]);
    r.push_op(kind, name, vec![t], y).geometry = g;
    r.bind(out, y);
    Ok(())
}
