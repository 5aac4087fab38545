//! Max and average pooling.

use edgenas_engine::blob::OpKind;

use super::{LayerOp, Lowering, Shape, ShapeError, expect_image, window_out};

/// Which pooling.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PoolKind {
    /// The largest value of the window.
    Max,
    /// The mean of the window.
    Avg,
}

/// Max or average pooling over square windows.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Pool {
    /// Max or average.
    pub kind: PoolKind,
    /// Window size.
    pub kernel: usize,
    /// Step between windows.
    pub stride: usize,
    /// Padding on each side.
    pub padding: usize,
    /// For average pooling: whether padded zeros count in the mean (NB201 excludes them).
    pub count_include_pad: bool,
}

impl LayerOp for Pool {
    fn kind(&self) -> &'static str {
        match self.kind {
            PoolKind::Max => "max_pool",
            PoolKind::Avg => "avg_pool",
        }
    }

    fn lowering(&self) -> Lowering {
        Lowering::Op {
            kind: match self.kind {
                PoolKind::Max => OpKind::MaxPool,
                PoolKind::Avg => OpKind::AvgPool,
            },
            groups: 1,
            kernel: [self.kernel, self.kernel],
            stride: [self.stride, self.stride],
        }
    }

    fn output_shape(&self, inputs: &[Shape]) -> Result<Shape, ShapeError> {
        let (c, h, w) = expect_image(inputs)?;
        Ok(Shape::Image {
            c,
            h: window_out(h, self.kernel, self.stride, self.padding, "height")?,
            w: window_out(w, self.kernel, self.stride, self.padding, "width")?,
        })
    }

    fn attributes(&self) -> String {
        format!("{k}x{k}/{}", self.stride, k = self.kernel)
    }
}
