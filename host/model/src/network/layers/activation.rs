//! ReLU and ReLU6.

use edgenas_engine::blob::OpKind;

use super::{Fold, LayerOp, Lowering, Shape};

/// Which activation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ActivationKind {
    /// `max(x, 0)`.
    Relu,
    /// `min(max(x, 0), 6)`.
    Relu6,
}

impl ActivationKind {
    /// Parses `relu`, `relu6` or `none` (which is no activation).
    pub fn parse(name: &str) -> Option<Option<ActivationKind>> {
        match name {
            "relu" => Some(Some(ActivationKind::Relu)),
            "relu6" => Some(Some(ActivationKind::Relu6)),
            "none" => Some(None),
            _ => None,
        }
    }
}

/// An element-wise activation.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Activation {
    /// ReLU or ReLU6.
    pub kind: ActivationKind,
}

impl LayerOp for Activation {
    fn kind(&self) -> &'static str {
        match self.kind {
            ActivationKind::Relu => "relu",
            ActivationKind::Relu6 => "relu6",
        }
    }

    fn lowering(&self) -> Lowering {
        Lowering::op(OpKind::Activation)
    }

    fn output_shape(&self, inputs: &[Shape]) -> Result<Shape, String> {
        super::expect_inputs(inputs, 1)?;
        Ok(inputs[0])
    }

    fn fold(&self) -> Option<Fold> {
        Some(Fold::Output)
    }
}
