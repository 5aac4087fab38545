//! `npy:X.npy,Y.npy`: NumPy arrays.

use super::{DataError, Samples};
use edgenas_model::network::Shape;

/// An array read from a `.npy` file, converted to `f64`.
struct NpyArray {
    shape: Vec<usize>,
    values: Vec<f64>,
}

/// Reads the samples `X` (N×C×H×W, N×H×W or N×F) and their labels `Y` (N or N×1 integers
/// 0…K−1, every class present).
pub fn load(x_path: &str, y_path: &str) -> Result<Samples, DataError> {
    let x = read(x_path)?;
    let y = read(y_path)?;
    let shape = match x.shape[..] {
        [_, f] => Shape::Vector(f),
        [_, h, w] => Shape::Image { c: 1, h, w },
        [_, c, h, w] => Shape::Image { c, h, w },
        _ => {
            return Err(DataError::new(
                x_path,
                format!("shape {:?}: expected N×F, N×H×W or N×C×H×W", x.shape),
            ));
        }
    };
    if shape.elements() == 0 {
        return Err(DataError::new(
            x_path,
            format!("shape {:?} has empty samples", x.shape),
        ));
    }
    let n = x.shape[0];
    match y.shape[..] {
        [m] | [m, 1] if m == n => {}
        _ => {
            return Err(DataError::new(
                y_path,
                format!(
                    "shape {:?} does not match {n} samples in {x_path}: expected ({n},)",
                    y.shape
                ),
            ));
        }
    }
    let mut labels = Vec::with_capacity(n);
    for (i, &v) in y.values.iter().enumerate() {
        if v < 0.0 || v.fract() != 0.0 || v > u32::MAX as f64 {
            return Err(DataError::new(
                y_path,
                format!("label {v} of sample {i} is out of range: labels are integers 0…K−1"),
            ));
        }
        labels.push(v as u32);
    }
    let classes = labels.iter().max().map_or(0, |&m| m as usize + 1);
    Ok(Samples {
        shape,
        x: x.values.iter().map(|&v| v as f32).collect(),
        labels,
        class_names: (0..classes).map(|c| c.to_string()).collect(),
    })
}

fn read(path: &str) -> Result<NpyArray, DataError> {
    let bytes =
        std::fs::read(path).map_err(|e| DataError::new(path, format!("cannot read: {e}")))?;
    parse(&bytes).map_err(|m| DataError::new(path, m))
}

/// Parses NPY format versions 1–3 (little-endian, C order).
fn parse(bytes: &[u8]) -> Result<NpyArray, String> {
    if bytes.len() < 10 || &bytes[..6] != b"\x93NUMPY" {
        return Err("not a .npy file (bad magic)".into());
    }
    let (len, start) = match bytes[6] {
        1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10),
        2 | 3 if bytes.len() >= 12 => (
            u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize,
            12,
        ),
        v => return Err(format!("unsupported .npy version {v}")),
    };
    let header = bytes
        .get(start..start + len)
        .and_then(|h| std::str::from_utf8(h).ok())
        .ok_or("truncated header")?;
    let field = |key: &str| -> Result<&str, String> {
        let at = header
            .find(&format!("'{key}'"))
            .ok_or(format!("header has no '{key}'"))?;
        Ok(header
            .get(at + key.len() + 2..)
            .ok_or(format!("header ends at '{key}'"))?
            .trim_start()
            .trim_start_matches(':')
            .trim_start())
    };
    if field("fortran_order")?.starts_with("True") {
        return Err(
            "Fortran-order arrays are not supported; save with np.ascontiguousarray".into(),
        );
    }
    let descr = field("descr")?.trim_start_matches('\'');
    let descr = &descr[..descr.find('\'').ok_or("bad descr")?];
    let shape_text = field("shape")?.strip_prefix('(').ok_or("bad shape")?;
    let shape_text = &shape_text[..shape_text.find(')').ok_or("bad shape")?];
    let shape = shape_text
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<usize>()
                .map_err(|_| format!("bad shape ({shape_text})"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let count = shape
        .iter()
        .try_fold(1usize, |n, &d| n.checked_mul(d))
        .ok_or(format!("shape ({shape_text}) has too many values"))?;
    let data = &bytes[start + len..];
    let (size, convert): (usize, fn(&[u8]) -> f64) = match descr.trim_start_matches(['<', '|', '='])
    {
        "f4" => (4, |b| f32::from_le_bytes(b.try_into().unwrap()) as f64),
        "f8" => (8, |b| f64::from_le_bytes(b.try_into().unwrap())),
        "i1" => (1, |b| b[0] as i8 as f64),
        "u1" => (1, |b| b[0] as f64),
        "i2" => (2, |b| i16::from_le_bytes(b.try_into().unwrap()) as f64),
        "u2" => (2, |b| u16::from_le_bytes(b.try_into().unwrap()) as f64),
        "i4" => (4, |b| i32::from_le_bytes(b.try_into().unwrap()) as f64),
        "u4" => (4, |b| u32::from_le_bytes(b.try_into().unwrap()) as f64),
        "i8" => (8, |b| i64::from_le_bytes(b.try_into().unwrap()) as f64),
        "u8" => (8, |b| u64::from_le_bytes(b.try_into().unwrap()) as f64),
        _ => {
            return Err(format!(
                "unsupported dtype '{descr}' (little-endian floats and integers are)"
            ));
        }
    };
    if descr.starts_with('>') && size > 1 {
        return Err("big-endian arrays are not supported".into());
    }
    let need = count
        .checked_mul(size)
        .ok_or(format!("shape ({shape_text}) has too many values"))?;
    if data.len() < need {
        return Err(format!(
            "truncated: {count} values of {size} bytes need {need} bytes, found {}",
            data.len()
        ));
    }
    Ok(NpyArray {
        shape,
        values: data[..need].chunks_exact(size).map(convert).collect(),
    })
}
