//! ReLU, ReLU6 and hard-swish.

use edgenas_engine::blob::OpKind;

use super::{Fold, LayerOp, Lowering, Shape, ShapeError};

/// Which activation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ActivationKind {
    /// `max(x, 0)`.
    Relu,
    /// `min(max(x, 0), 6)`.
    Relu6,
    /// `x · min(max(x + 3, 0), 6) / 6` (MobileNetV3's hard-swish).
    HardSwish,
}

impl ActivationKind {
    /// The words a space file may give an activation parameter.
    pub const NAMES: &[&str] = &["relu", "relu6", "hard_swish", "none"];

    /// Parses `relu`, `relu6`, `hard_swish` or `none` (which is no activation).
    pub fn parse(name: &str) -> Option<Option<ActivationKind>> {
        match name {
            "relu" => Some(Some(ActivationKind::Relu)),
            "relu6" => Some(Some(ActivationKind::Relu6)),
            "hard_swish" => Some(Some(ActivationKind::HardSwish)),
            "none" => Some(None),
            _ => None,
        }
    }
}

/// An element-wise activation.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Activation {
    /// Which one.
    pub kind: ActivationKind,
}

impl LayerOp for Activation {
    fn kind(&self) -> &'static str {
        match self.kind {
            ActivationKind::Relu => "relu",
            ActivationKind::Relu6 => "relu6",
            ActivationKind::HardSwish => "hard_swish",
        }
    }

    fn lowering(&self) -> Lowering {
        Lowering::op(OpKind::Activation)
    }

    fn output_shape(&self, inputs: &[Shape]) -> Result<Shape, ShapeError> {
        super::expect_inputs(inputs, 1)?;
        Ok(inputs[0])
    }

    /// ReLU and ReLU6 fuse into the op before them (an int8 clamp); hard-swish does not.
    fn fold(&self) -> Option<Fold> {
        (self.kind != ActivationKind::HardSwish).then_some(Fold::Output)
    }
}
