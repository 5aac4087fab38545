//! Element types of device tensors.

/// The datum type of a tensor in a device model.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DType {
    /// Signed 8-bit integers with a scale and zero point (activations and weights).
    Int8,
    /// 32-bit IEEE floats.
    F32,
}

impl DType {
    /// Bytes per element.
    pub const fn size(self) -> usize {
        match self {
            DType::Int8 => 1,
            DType::F32 => 4,
        }
    }

    /// The lower-case name used in files and on the command line (`int8`, `f32`).
    pub const fn name(self) -> &'static str {
        match self {
            DType::Int8 => "int8",
            DType::F32 => "f32",
        }
    }

    /// Parses [`DType::name`] back.
    pub fn from_name(name: &str) -> Option<DType> {
        match name {
            "int8" => Some(DType::Int8),
            "f32" => Some(DType::F32),
            _ => None,
        }
    }
}
