//! Size rules of the device model format.
//!
//! A device model is a header, one record per tensor, one record per op, and the constant data
//! (weights, biases, quantisation parameters), each constant section aligned to [`ALIGN`]. The
//! host computes a candidate's flash figure from these rules before any model exists, and the
//! blob writer follows the same rules, so the figure is exact.

use crate::DType;

/// Alignment in bytes of every arena tensor and every constant section.
pub const ALIGN: usize = 4;
/// Bytes of the fixed header (magic, version, flags, sizes, checksum, reserved).
pub const HEADER_BYTES: usize = 64;
/// Bytes of one tensor descriptor (shape up to four dimensions, datum type, scale, zero point,
/// arena offset).
pub const TENSOR_RECORD_BYTES: usize = 32;
/// Bytes of one op descriptor (kind, attributes, input and output tensor indices, constant
/// offsets).
pub const OP_RECORD_BYTES: usize = 32;

/// Rounds `bytes` up to a multiple of [`ALIGN`].
pub const fn align_up(bytes: usize) -> usize {
    bytes.div_ceil(ALIGN) * ALIGN
}

/// Constant bytes of a weighted op (convolution or dense layer) with `weights` weight elements
/// and `channels` output channels, batch norm already folded in.
///
/// * `int8`: int8 weights, an int32 bias per channel, and per-channel requantisation (an int32
///   multiplier and an int32 shift): `weights + 12 × channels`.
/// * `f32`: f32 weights and an f32 bias per channel: `4 × weights + 4 × channels`.
pub const fn weighted_op_bytes(dtype: DType, weights: usize, channels: usize) -> usize {
    match dtype {
        DType::Int8 => align_up(weights) + 12 * channels,
        DType::F32 => 4 * weights + 4 * channels,
    }
}

/// Constant bytes of a per-channel affine op (a batch norm that follows no weighted op):
/// `int8` stores a multiplier, a shift and an offset per channel, `f32` a scale and a shift.
pub const fn channel_affine_bytes(dtype: DType, channels: usize) -> usize {
    match dtype {
        DType::Int8 => 12 * channels,
        DType::F32 => 8 * channels,
    }
}

/// Total bytes of a device model with `tensors` tensor records, `ops` op records and
/// `constant_bytes` of constant data (the sum of the aligned constant sections).
pub const fn model_bytes(tensors: usize, ops: usize, constant_bytes: usize) -> usize {
    HEADER_BYTES + tensors * TENSOR_RECORD_BYTES + ops * OP_RECORD_BYTES + constant_bytes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn int8_conv_constants_count_weights_bias_and_requantisation() {
        // 3x3 conv, 8 -> 16 channels: 1152 int8 weights + 16 x (4 bias + 4 multiplier + 4 shift).
        assert_eq!(weighted_op_bytes(DType::Int8, 16 * 8 * 9, 16), 1152 + 192);
        // An odd weight count is padded to the alignment.
        assert_eq!(weighted_op_bytes(DType::Int8, 5, 1), 8 + 12);
    }

    #[test]
    fn f32_conv_constants_are_four_bytes_each() {
        assert_eq!(weighted_op_bytes(DType::F32, 1152, 16), 4 * 1152 + 64);
    }
}
