//! The model input: the graph input `input` (quantised in the int8 model).

use edgenas_model::network::layers::Input;

use super::{EvaluateNode, ExportNode, OnnxLayer};

impl OnnxLayer for Input {
    fn export(&self, _x: &mut ExportNode<'_>) -> String {
        "input".to_string()
    }

    fn evaluate(&self, x: &EvaluateNode<'_>) -> Vec<f64> {
        x.values[0].iter().map(|&v| v as f64).collect()
    }
}
