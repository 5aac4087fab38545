//! Reading what the compiler needs from an ONNX `ModelProto`: constant tensors and attributes.

use onnx_protobuf::tensor_proto::DataType;
use onnx_protobuf::{AttributeProto, NodeProto, TensorProto};

/// The values of a constant tensor.
#[derive(Clone, Debug, PartialEq)]
pub enum Data {
    /// FLOAT.
    F32(Vec<f32>),
    /// INT8.
    I8(Vec<i8>),
    /// INT32.
    I32(Vec<i32>),
    /// INT64.
    I64(Vec<i64>),
}

/// A constant tensor (an initializer).
#[derive(Clone, Debug, PartialEq)]
pub struct Const {
    /// Its dimensions.
    pub dims: Vec<usize>,
    /// Its values.
    pub data: Data,
}

impl Const {
    /// The number of elements its dimensions give.
    pub fn elements(&self) -> usize {
        self.dims.iter().product()
    }

    /// The values as f32, if it is a FLOAT tensor.
    pub fn f32s(&self) -> Option<&[f32]> {
        match &self.data {
            Data::F32(v) => Some(v),
            _ => None,
        }
    }

    /// Whether every value is zero.
    pub fn is_zero(&self) -> bool {
        match &self.data {
            Data::F32(v) => v.iter().all(|&x| x == 0.0),
            Data::I8(v) => v.iter().all(|&x| x == 0),
            Data::I32(v) => v.iter().all(|&x| x == 0),
            Data::I64(v) => v.iter().all(|&x| x == 0),
        }
    }
}

fn chunks<const N: usize, T>(raw: &[u8], f: impl Fn([u8; N]) -> T) -> Vec<T> {
    raw.chunks_exact(N)
        .map(|c| f(c.try_into().expect("chunks_exact gives N bytes")))
        .collect()
}

/// Decodes an initializer (`raw_data` little-endian, or the typed fields).
pub(crate) fn constant(t: &TensorProto) -> Result<Const, String> {
    let dims = t
        .dims
        .iter()
        .map(|&d| {
            usize::try_from(d)
                .map_err(|_| format!("initializer {} has a negative dimension", t.name))
        })
        .collect::<Result<Vec<_>, _>>()?;
    // The element count is a product of untrusted numbers: it must fit before anything uses it.
    if dims
        .iter()
        .try_fold(1usize, |n, &d| n.checked_mul(d))
        .is_none()
    {
        return Err(format!(
            "initializer {} has dimensions {dims:?}, too many elements to count",
            t.name
        ));
    }
    let raw = !t.raw_data.is_empty();
    let data = match t.data_type {
        x if x == DataType::FLOAT as i32 => Data::F32(if raw {
            chunks(&t.raw_data, f32::from_le_bytes)
        } else {
            t.float_data.clone()
        }),
        x if x == DataType::INT8 as i32 => Data::I8(if raw {
            t.raw_data.iter().map(|&b| b as i8).collect()
        } else {
            t.int32_data.iter().map(|&v| v as i8).collect()
        }),
        x if x == DataType::INT32 as i32 => Data::I32(if raw {
            chunks(&t.raw_data, i32::from_le_bytes)
        } else {
            t.int32_data.clone()
        }),
        x if x == DataType::INT64 as i32 => Data::I64(if raw {
            chunks(&t.raw_data, i64::from_le_bytes)
        } else {
            t.int64_data.clone()
        }),
        x => {
            return Err(format!(
                "initializer {} has ONNX data type {x}, which the device compiler does not read \
                 (float, int8, int32 and int64 are supported)",
                t.name
            ));
        }
    };
    let c = Const { dims, data };
    let len = match &c.data {
        Data::F32(v) => v.len(),
        Data::I8(v) => v.len(),
        Data::I32(v) => v.len(),
        Data::I64(v) => v.len(),
    };
    if len != c.elements() {
        return Err(format!(
            "initializer {} has {len} values for {} elements",
            t.name,
            c.elements()
        ));
    }
    Ok(c)
}

/// The attribute `name` of `node`.
pub fn attribute<'a>(node: &'a NodeProto, name: &str) -> Option<&'a AttributeProto> {
    node.attribute.iter().find(|a| a.name == name)
}

/// An INT attribute, or `default`.
pub fn int(node: &NodeProto, name: &str, default: i64) -> i64 {
    attribute(node, name).map_or(default, |a| a.i)
}

/// An INTS attribute, or `None`.
pub fn ints<'a>(node: &'a NodeProto, name: &str) -> Option<&'a [i64]> {
    attribute(node, name).map(|a| a.ints.as_slice())
}

/// A FLOAT attribute, or `default`.
pub fn float(node: &NodeProto, name: &str, default: f32) -> f32 {
    attribute(node, name).map_or(default, |a| a.f)
}

/// A STRING attribute, or `None`.
pub fn string(node: &NodeProto, name: &str) -> Option<String> {
    attribute(node, name).map(|a| String::from_utf8_lossy(&a.s).into_owned())
}
