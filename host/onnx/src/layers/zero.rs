//! A tensor of zeros: an initialiser in ONNX (not quantised), a fill op on the device (the
//! compiler makes one for any zero constant read as data).

use edgenas_model::network::layers::Zero;

use super::{EvaluateNode, ExportNode, OnnxLayer, Quantisation, batch_dims};
use crate::export::proto::tensor_f32;

impl OnnxLayer for Zero {
    fn export(&self, x: &mut ExportNode<'_>) -> String {
        let raw = x.raw().to_string();
        let zeros = vec![0.0; self.shape.elements()];
        x.emitter
            .inits
            .push(tensor_f32(&raw, &batch_dims(self.shape), &zeros));
        raw
    }

    fn evaluate(&self, _x: &EvaluateNode<'_>) -> Vec<f64> {
        vec![0.0; self.shape.elements()]
    }

    fn quantisation(&self) -> Quantisation {
        Quantisation::Float
    }
}
