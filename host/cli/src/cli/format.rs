//! Plain-text tables and human-readable numbers.

/// A table printed with aligned columns.
pub struct Table {
    headers: Vec<String>,
    right: Vec<bool>,
    rows: Vec<Vec<String>>,
}

impl Table {
    /// A table with these column headers; a header written `>name` is a right-aligned column
    /// (for numbers).
    pub fn new(headers: &[&str]) -> Table {
        Table {
            headers: headers
                .iter()
                .map(|h| h.trim_start_matches('>').to_string())
                .collect(),
            right: headers.iter().map(|h| h.starts_with('>')).collect(),
            rows: Vec::new(),
        }
    }

    /// Appends a row (one cell per header).
    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    /// The table as text, one line per row, without trailing spaces.
    pub fn render(&self) -> String {
        let n = self.headers.len();
        let width: Vec<usize> = (0..n)
            .map(|i| {
                self.rows
                    .iter()
                    .map(|r| r.get(i).map_or(0, |c| c.chars().count()))
                    .chain([self.headers[i].len()])
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let mut out = String::new();
        for row in std::iter::once(&self.headers).chain(&self.rows) {
            let cells: Vec<String> = (0..n)
                .map(|i| {
                    let cell = row.get(i).map_or("", String::as_str);
                    if self.right[i] {
                        format!("{cell:>w$}", w = width[i])
                    } else {
                        format!("{cell:<w$}", w = width[i])
                    }
                })
                .collect();
            out.push_str(cells.join("  ").trim_end());
            out.push('\n');
        }
        out
    }
}

/// Bytes as `812 B`, `12.3 KiB`, `1.20 MiB`, `4.00 GiB`.
pub fn bytes(b: u64) -> String {
    const KIB: f64 = 1024.0;
    let x = b as f64;
    if x < KIB {
        format!("{b} B")
    } else if x < KIB * KIB {
        format!("{:.1} KiB", x / KIB)
    } else if x < KIB * KIB * KIB {
        format!("{:.2} MiB", x / (KIB * KIB))
    } else {
        format!("{:.2} GiB", x / (KIB * KIB * KIB))
    }
}

/// A count as `950`, `12.3 K`, `4.56 M`, `1.23 G`.
pub fn count(n: u64) -> String {
    let x = n as f64;
    if n < 1000 {
        format!("{n}")
    } else if x < 1e6 {
        format!("{:.1} K", x / 1e3)
    } else if x < 1e9 {
        format!("{:.2} M", x / 1e6)
    } else {
        format!("{:.2} G", x / 1e9)
    }
}

/// A signed margin in bytes: `+12.0 KiB` or `-3.4 KiB`.
pub fn margin(m: i64) -> String {
    let sign = if m < 0 { "-" } else { "+" };
    format!("{sign}{}", bytes(m.unsigned_abs()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_well() {
        assert_eq!(bytes(812), "812 B");
        assert_eq!(bytes(12_595), "12.3 KiB");
        assert_eq!(count(4_560_000), "4.56 M");
        assert_eq!(margin(-2048), "-2.0 KiB");
    }

    #[test]
    fn tables_align_columns() {
        let mut t = Table::new(&["name", ">n"]);
        t.row(vec!["a".into(), "1".into()]);
        t.row(vec!["long".into(), "100".into()]);
        assert_eq!(t.render(), "name    n\na       1\nlong  100\n");
    }
}
