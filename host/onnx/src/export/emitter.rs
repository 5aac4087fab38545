//! The ONNX nodes and initialisers of a model being exported, and the int8 forms they take.

use edgenas_model::cost::Deployment;
use edgenas_model::network::Network;
use edgenas_model::network::layers::Conv2d;
use edgenas_model::weights::Array;
use onnx_protobuf::{NodeProto, TensorProto};

use super::proto::{attr_int, node, tensor_f32, tensor_i8, tensor_i32, tensor_i64};
use super::{QParams, quant};
use crate::layers::conv2d::conv_attributes;

/// The nodes and initialisers written so far.
#[derive(Default)]
pub(crate) struct Emitter {
    /// The nodes, in order.
    pub nodes: Vec<NodeProto>,
    /// The initialisers.
    pub inits: Vec<TensorProto>,
}

impl Emitter {
    /// Adds a weighted op's weight and bias as initialisers: f32, or (when `int8` and the
    /// input is quantised) int8 and int32 behind DequantizeLinear. Returns the names to read.
    pub fn weights(
        &mut self,
        raw: &str,
        w: &Array,
        b: &Array,
        in_scale: Option<f32>,
        int8: bool,
    ) -> (String, String) {
        let (wn, bn) = (format!("{raw}.weight"), format!("{raw}.bias"));
        match in_scale.filter(|_| int8) {
            None => {
                self.inits.push(tensor_f32(&wn, &w.shape, &w.data));
                self.inits.push(tensor_f32(&bn, &b.shape, &b.data));
            }
            Some(s_in) => {
                let bias_scales = self.int8_weights(raw, w, b, s_in);
                let channels = bias_scales.len();
                self.inits.push(tensor_f32(
                    &format!("{bn}_scale"),
                    &[channels],
                    &bias_scales,
                ));
                self.inits.push(tensor_i32(
                    &format!("{bn}_zero"),
                    &[channels],
                    &vec![0; channels],
                ));
                for t in [&wn, &bn] {
                    self.nodes.push(node(
                        "DequantizeLinear",
                        &format!("{t}_dq"),
                        &[
                            &format!("{t}_q"),
                            &format!("{t}_scale"),
                            &format!("{t}_zero"),
                        ],
                        &[t],
                        vec![attr_int("axis", 0)],
                    ));
                }
            }
        }
        (wn, bn)
    }

    /// Adds `{raw}.weight_q/_scale/_zero` (int8, symmetric per output channel) and
    /// `{raw}.bias_q` (int32 at input scale × weight scale); returns the bias scales.
    fn int8_weights(&mut self, raw: &str, w: &Array, b: &Array, s_in: f32) -> Vec<f32> {
        let (wn, bn) = (format!("{raw}.weight"), format!("{raw}.bias"));
        let channels = w.shape[0];
        let (q, scales) = quant::quantize_per_channel(&w.data, channels);
        let bias_scales: Vec<f32> = scales.iter().map(|s| s * s_in).collect();
        let qb = quant::quantize_bias(&b.data, &scales, s_in);
        self.inits.push(tensor_i8(&format!("{wn}_q"), &w.shape, &q));
        self.inits
            .push(tensor_f32(&format!("{wn}_scale"), &[channels], &scales));
        self.inits.push(tensor_i8(
            &format!("{wn}_zero"),
            &[channels],
            &vec![0; channels],
        ));
        self.inits
            .push(tensor_i32(&format!("{bn}_q"), &[channels], &qb));
        bias_scales
    }

    /// Adds the scale and zero point initialisers `{n}.out_scale`, `{n}.out_zero` of `p`.
    fn out_params(&mut self, n: &str, p: QParams) -> (String, String) {
        let (sn, zn) = (format!("{n}.out_scale"), format!("{n}.out_zero"));
        self.inits.push(tensor_f32(&sn, &[], &[p.scale]));
        self.inits.push(tensor_i8(&zn, &[], &[p.zero_point]));
        (sn, zn)
    }

    /// Adds `{n}.dq`, the float value of the int8 tensor `{n}.q`; returns its name.
    fn dequantize(&mut self, n: &str) -> String {
        let dq = format!("{n}.dq");
        let ins = [
            format!("{n}.q"),
            format!("{n}.out_scale"),
            format!("{n}.out_zero"),
        ];
        let ins: Vec<&str> = ins.iter().map(String::as_str).collect();
        self.nodes
            .push(node("DequantizeLinear", &dq, &ins, &[&dq], vec![]));
        dq
    }

    /// Writes convolution or dense node `raw` in the operator form: a QLinearConv (`conv`)
    /// from the int8 tensor of node `x` to the int8 tensor of node `end` (the last node merged
    /// into `raw`, with parameters `p`), read back by DequantizeLinear; returns the float name.
    /// Dense weights (`[outputs, features]`) become a 1×1 convolution between two reshapes.
    #[allow(clippy::too_many_arguments)]
    pub fn qlinear(
        &mut self,
        raw: &str,
        conv: &Conv2d,
        x: String,
        end: &str,
        w: &Array,
        b: &Array,
        s_in: f32,
        p: QParams,
    ) -> String {
        let mut w = w.clone();
        let (x_q, dense) = match w.shape[..] {
            [outputs, features] => {
                // A dense layer is a 1×1 convolution of a [1, features, 1, 1] map.
                w.shape = vec![outputs, features, 1, 1];
                let to_map = format!("{raw}.as_map");
                self.inits
                    .push(tensor_i64(&to_map, &[4], &[1, features as i64, 1, 1]));
                let x_map = format!("{raw}.input_map");
                self.nodes.push(node(
                    "Reshape",
                    &x_map,
                    &[&format!("{x}.q"), &to_map],
                    &[&x_map],
                    vec![],
                ));
                (x_map, Some(outputs))
            }
            _ => (format!("{x}.q"), None),
        };
        let attrs = conv_attributes(conv);
        self.int8_weights(raw, &w, b, s_in);
        let (ys, yz) = self.out_params(end, p);
        let y_q = format!("{end}.q");
        let conv_out = if dense.is_some() {
            format!("{raw}.output_map")
        } else {
            y_q.clone()
        };
        let ins = [
            x_q,
            format!("{x}.out_scale"),
            format!("{x}.out_zero"),
            format!("{raw}.weight_q"),
            format!("{raw}.weight_scale"),
            format!("{raw}.weight_zero"),
            ys,
            yz,
            format!("{raw}.bias_q"),
        ];
        let ins: Vec<&str> = ins.iter().map(String::as_str).collect();
        self.nodes
            .push(node("QLinearConv", raw, &ins, &[&conv_out], attrs));
        if let Some(out) = dense {
            let to_flat = format!("{raw}.as_flat");
            self.inits
                .push(tensor_i64(&to_flat, &[2], &[1, out as i64]));
            self.nodes.push(node(
                "Reshape",
                &format!("{raw}.output_flat"),
                &[&conv_out, &to_flat],
                &[&y_q],
                vec![],
            ));
        }
        self.dequantize(end)
    }

    /// In int8, passes node `id`'s value through QuantizeLinear → DequantizeLinear unless a
    /// consumer merges into it (a fused activation quantises after itself).
    #[allow(clippy::too_many_arguments)]
    pub fn quantize(
        &mut self,
        id: usize,
        net: &Network,
        deployed: &[Deployment],
        qparams: Option<&Vec<Option<QParams>>>,
        name: &mut [String],
        scale: &mut [Option<f32>],
        quant: &mut [Option<String>],
    ) {
        let Some(Some(p)) = qparams.map(|q| q[id]) else {
            return;
        };
        if net
            .consumers(id)
            .iter()
            .any(|&c| deployed[c] == Deployment::Merged)
        {
            return;
        }
        let t = name[id].clone();
        let n = &net.nodes[id].name;
        let (sn, zn) = self.out_params(n, p);
        let q = format!("{n}.q");
        self.nodes
            .push(node("QuantizeLinear", &q, &[&t, &sn, &zn], &[&q], vec![]));
        name[id] = self.dequantize(n);
        scale[id] = Some(p.scale);
        quant[id] = Some(n.clone());
    }
}
