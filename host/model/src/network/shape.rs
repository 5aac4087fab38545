//! Tensor shapes of the IR, without the batch dimension.

use std::fmt;

/// The shape of one sample's tensor.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Shape {
    /// A feature map: channels × height × width.
    Image {
        /// Channels.
        c: usize,
        /// Height.
        h: usize,
        /// Width.
        w: usize,
    },
    /// A flat vector of features.
    Vector(usize),
}

impl Shape {
    /// The number of elements.
    pub fn elements(&self) -> usize {
        match *self {
            Shape::Image { c, h, w } => c * h * w,
            Shape::Vector(n) => n,
        }
    }

    /// The channels of a feature map, or the length of a vector.
    pub fn channels(&self) -> usize {
        match *self {
            Shape::Image { c, .. } => c,
            Shape::Vector(n) => n,
        }
    }

    /// The shape of dimensions `[c, h, w]` or `[n]` (what [`Shape::dims`] gives), if they
    /// are one.
    pub fn from_dims(dims: &[usize]) -> Option<Shape> {
        match *dims {
            [c, h, w] => Some(Shape::Image { c, h, w }),
            [n] => Some(Shape::Vector(n)),
            _ => None,
        }
    }

    /// The dimensions as a list (`[c, h, w]` or `[n]`).
    pub fn dims(&self) -> Vec<usize> {
        match *self {
            Shape::Image { c, h, w } => vec![c, h, w],
            Shape::Vector(n) => vec![n],
        }
    }
}

impl fmt::Display for Shape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Shape::Image { c, h, w } => write!(f, "{c}x{h}x{w}"),
            Shape::Vector(n) => write!(f, "{n}"),
        }
    }
}
