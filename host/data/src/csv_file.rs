//! `csv:PATH[#COLUMN]`: numeric features and a label column.

use std::collections::BTreeSet;

use super::{DataError, Samples};
use edgenas_model::network::Shape;

/// Reads a CSV file. The first row is a header when it holds a word where the rows below
/// hold numbers (or when it holds no number at all). The label column is named by `column`
/// (a header name or a 0-based index), the last one by default; its values are class names
/// (the sorted distinct values). Every other column is a numeric feature.
///
/// Nothing is guessed silently: a last column of fractional numbers is refused as a label
/// unless `#COLUMN` names it, and a file whose first line has one field is refused with the
/// line it read (a file separated by semicolons or tabs). Messages count lines and columns
/// from 1 and name a column by its header.
pub fn load(path: &str, column: Option<&str>) -> Result<Samples, DataError> {
    let error = |message: String| DataError::new(path, message);
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_path(path)
        .map_err(|e| error(format!("cannot read: {e}")))?;
    let mut rows: Vec<csv::StringRecord> = Vec::new();
    for (i, row) in reader.records().enumerate() {
        rows.push(row.map_err(|e| error(format!("line {}: {e}", i + 1)))?);
    }
    let Some(first) = rows.first() else {
        return Err(error("the file is empty".into()));
    };
    let width = first.len();
    if width < 2 {
        return Err(error(format!(
            "needs at least one feature column and a label column, separated by commas; its \
             first line reads as {width} column: `{}` (a file separated by semicolons or tabs \
             must be converted to commas)",
            first.iter().collect::<Vec<_>>().join(",")
        )));
    }
    let header = has_header(&rows);
    let columns = Columns {
        names: header.then(|| first.iter().map(str::to_string).collect()),
    };
    let label = label_column(column, width, &columns).map_err(error)?;
    let body = if header { &rows[1..] } else { &rows[..] };
    let first_line = 1 + header as usize;
    if body.is_empty() {
        return Err(error("no data rows below the header".into()));
    }
    for (i, row) in body.iter().enumerate() {
        if row.len() != width {
            let line = first_line + i;
            return Err(error(format!(
                "line {line} has {} fields, expected {width} (as in line 1: `{}`)",
                row.len(),
                first.iter().collect::<Vec<_>>().join(",")
            )));
        }
    }
    if column.is_none() {
        refuse_fractional_labels(body, label, first_line, &columns).map_err(error)?;
    }
    let names: Vec<String> = body
        .iter()
        .map(|r| r[label].to_string())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let mut x = Vec::with_capacity(body.len() * (width - 1));
    let mut labels = Vec::with_capacity(body.len());
    for (i, row) in body.iter().enumerate() {
        let line = first_line + i;
        for (j, field) in row.iter().enumerate() {
            if j == label {
                labels.push(names.binary_search(&field.to_string()).unwrap() as u32);
                continue;
            }
            let at = || format!("line {line}, {}", columns.name(j));
            if field.is_empty() {
                return Err(error(format!("{}: missing value", at())));
            }
            let v: f32 = field
                .parse()
                .map_err(|_| error(format!("{}: `{field}` is not a number", at())))?;
            if !v.is_finite() {
                return Err(error(format!("{}: `{field}` is not a finite number", at())));
            }
            x.push(v);
        }
    }
    Ok(Samples {
        shape: Shape::Vector(width - 1),
        x,
        labels,
        class_names: names,
    })
}

/// The columns of a file, for messages: counted from 1, named by the header when there is one.
struct Columns {
    names: Option<Vec<String>>,
}

impl Columns {
    /// `column 3 (`petal_width`)`, or `column 3` without a header, for 0-based column `j`.
    fn name(&self, j: usize) -> String {
        match self.names.as_ref().and_then(|n| n.get(j)) {
            Some(name) => format!("column {} (`{name}`)", j + 1),
            None => format!("column {}", j + 1),
        }
    }
}

fn is_number(field: &str) -> bool {
    field.parse::<f64>().is_ok()
}

/// Whether the first row is a header: it holds no number at all, or it holds a word in a
/// column whose other rows all hold numbers. A headerless file whose labels are words
/// (`5.1,3.5,setosa`) keeps its first row.
fn has_header(rows: &[csv::StringRecord]) -> bool {
    let Some((first, rest)) = rows.split_first() else {
        return false;
    };
    if first.iter().all(is_number) {
        return false;
    }
    if rest.is_empty() || !first.iter().any(is_number) {
        return true;
    }
    first
        .iter()
        .enumerate()
        .any(|(j, f)| !is_number(f) && rest.iter().all(|r| r.get(j).is_some_and(is_number)))
}

/// The 0-based label column that `column` (a header name or a 0-based index) names, the
/// last one by default.
fn label_column(column: Option<&str>, width: usize, columns: &Columns) -> Result<usize, String> {
    let Some(c) = column else {
        return Ok(width - 1);
    };
    match (c.parse::<usize>(), &columns.names) {
        (Ok(i), _) if i < width => Ok(i),
        (Ok(i), _) => Err(format!(
            "label column {i} is out of range: `#COLUMN` is a 0-based index, and rows have \
             {width} columns (0 to {})",
            width - 1
        )),
        (Err(_), Some(names)) => names.iter().position(|n| n == c).ok_or_else(|| {
            format!(
                "no column named `{c}` in the header (`{}`)",
                names.join(",")
            )
        }),
        (Err(_), None) => Err(format!(
            "label column `{c}` is a name, but the file has no header"
        )),
    }
}

/// Refuses to take a column of fractional numbers as the label by default: that is a
/// measurement, and each distinct value would become a class.
fn refuse_fractional_labels(
    body: &[csv::StringRecord],
    label: usize,
    first_line: usize,
    columns: &Columns,
) -> Result<(), String> {
    let values: Vec<(usize, f64)> = body
        .iter()
        .enumerate()
        .map_while(|(i, r)| r[label].parse::<f64>().ok().map(|v| (first_line + i, v)))
        .collect();
    if values.len() < body.len() {
        return Ok(());
    }
    match values.iter().find(|(_, v)| v.fract() != 0.0) {
        None => Ok(()),
        Some((line, v)) => Err(format!(
            "the last column, {}, holds fractional numbers ({v} on line {line}), not class \
             labels; name the label column with `csv:PATH#COLUMN` (a header name or a 0-based \
             index)",
            columns.name(label)
        )),
    }
}
