//! Global average pooling.

use edgenas_engine::blob::OpKind;

use super::{LayerOp, Lowering, Shape, ShapeError, expect_image};

/// The mean of each channel: `c × h × w → c × 1 × 1`.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct GlobalAvgPool;

impl LayerOp for GlobalAvgPool {
    fn kind(&self) -> &'static str {
        "global_avg_pool"
    }

    fn lowering(&self) -> Lowering {
        Lowering::op(OpKind::GlobalAvgPool)
    }

    fn output_shape(&self, inputs: &[Shape]) -> Result<Shape, ShapeError> {
        let (c, _, _) = expect_image(inputs)?;
        Ok(Shape::Image { c, h: 1, w: 1 })
    }
}
