//! `csv:PATH[#COLUMN]`: numeric features and a label column.

use std::collections::BTreeSet;

use super::{DataError, Samples};
use edgenas_model::network::Shape;

/// Reads a CSV file. The first row is a header when any of its fields is not a number. The
/// label column is named by `column` (a header name or a 0-based index), the last one by
/// default; its values are class names (the sorted distinct values). Every other column is a
/// numeric feature.
pub fn load(path: &str, column: Option<&str>) -> Result<Samples, DataError> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_path(path)
        .map_err(|e| DataError::new(path, format!("cannot read: {e}")))?;
    let mut rows: Vec<csv::StringRecord> = Vec::new();
    for (i, row) in reader.records().enumerate() {
        rows.push(row.map_err(|e| DataError::new(path, format!("row {}: {e}", i + 1)))?);
    }
    let Some(first) = rows.first() else {
        return Err(DataError::new(path, "the file is empty"));
    };
    let header = first.iter().any(|f| f.parse::<f64>().is_err());
    let width = first.len();
    let label = match column {
        None => width - 1,
        Some(c) => match c.parse::<usize>() {
            Ok(i) if i < width => i,
            Ok(i) => {
                return Err(DataError::new(
                    path,
                    format!("label column {i} is out of range: rows have {width} columns"),
                ));
            }
            Err(_) if header => first.iter().position(|f| f == c).ok_or_else(|| {
                DataError::new(path, format!("no column named `{c}` in the header"))
            })?,
            Err(_) => {
                return Err(DataError::new(
                    path,
                    format!("label column `{c}` is a name, but the file has no header"),
                ));
            }
        },
    };
    if width < 2 {
        return Err(DataError::new(
            path,
            "needs at least one feature column and a label column",
        ));
    }
    let body = if header { &rows[1..] } else { &rows[..] };
    if body.is_empty() {
        return Err(DataError::new(path, "no data rows"));
    }
    let names: Vec<String> = body
        .iter()
        .filter_map(|r| r.get(label).map(str::to_string))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let mut x = Vec::with_capacity(body.len() * (width - 1));
    let mut labels = Vec::with_capacity(body.len());
    for (i, row) in body.iter().enumerate() {
        let line = i + 1 + header as usize;
        if row.len() != width {
            return Err(DataError::new(
                path,
                format!("line {line} has {} fields, expected {width}", row.len()),
            ));
        }
        for (j, field) in row.iter().enumerate() {
            if j == label {
                labels.push(names.binary_search(&field.to_string()).unwrap() as u32);
            } else if field.is_empty() {
                return Err(DataError::new(
                    path,
                    format!("line {line}, column {j}: missing value"),
                ));
            } else {
                let v: f32 = field.parse().map_err(|_| {
                    DataError::new(
                        path,
                        format!("line {line}, column {j}: `{field}` is not a number"),
                    )
                })?;
                x.push(v);
            }
        }
    }
    Ok(Samples {
        shape: Shape::Vector(width - 1),
        x,
        labels,
        class_names: names,
    })
}
