//! A small SVG plot: a scatter or a line over two linear axes, with ticks, labels, reference
//! lines and a legend. Hand-written: the plots are a few dozen shapes, and plain SVG text
//! needs no font files (a plotting crate's SVG backend would need one registered).

use std::fmt::Write;

use super::escape;

/// Plot size in pixels and the margins around the drawing area.
const WIDTH: f64 = 520.0;
const HEIGHT: f64 = 340.0;
const LEFT: f64 = 64.0;
const RIGHT: f64 = 16.0;
const TOP: f64 = 28.0;
const BOTTOM: f64 = 62.0;

/// One plot under construction.
pub struct Plot {
    title: String,
    x_label: String,
    y_label: String,
    x: (f64, f64),
    y: (f64, f64),
    shapes: String,
    legend: Vec<(String, String)>,
}

/// "Nice" tick positions (1, 2 or 5 times a power of ten) covering `lo..hi`.
fn ticks(lo: f64, hi: f64) -> Vec<f64> {
    let span = (hi - lo).max(1e-12);
    let raw = span / 5.0;
    let power = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * power)
        .find(|s| span / s <= 6.0)
        .unwrap_or(10.0 * power);
    let mut t = (lo / step).ceil() * step;
    let mut out = Vec::new();
    while t <= hi + step * 1e-9 {
        out.push(if t.abs() < step * 1e-9 { 0.0 } else { t });
        t += step;
    }
    out
}

/// `lo..hi` of `values` with 5 % of room on each side (a unit range if there is none).
pub fn range(values: impl IntoIterator<Item = f64>) -> (f64, f64) {
    let (lo, hi) = values
        .into_iter()
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
            (a.min(v), b.max(v))
        });
    if !lo.is_finite() {
        return (0.0, 1.0);
    }
    let pad = if hi > lo {
        0.05 * (hi - lo)
    } else if lo == 0.0 {
        0.5
    } else {
        0.01 * lo.abs()
    };
    (lo - pad, hi + pad)
}

impl Plot {
    /// An empty plot over `x` and `y` ranges.
    pub fn new(title: &str, x_label: &str, y_label: &str, x: (f64, f64), y: (f64, f64)) -> Plot {
        Plot {
            title: title.into(),
            x_label: x_label.into(),
            y_label: y_label.into(),
            x,
            y,
            shapes: String::new(),
            legend: Vec::new(),
        }
    }

    fn px(&self, x: f64) -> f64 {
        LEFT + (x - self.x.0) / (self.x.1 - self.x.0) * (WIDTH - LEFT - RIGHT)
    }

    fn py(&self, y: f64) -> f64 {
        HEIGHT - BOTTOM - (y - self.y.0) / (self.y.1 - self.y.0) * (HEIGHT - TOP - BOTTOM)
    }

    /// Dots at `points` (x, y, tooltip) in `colour`, named `name` in the legend.
    pub fn dots(&mut self, name: &str, colour: &str, points: &[(f64, f64, String)]) {
        for (x, y, tip) in points {
            let _ = write!(
                self.shapes,
                r##"<circle cx="{:.1}" cy="{:.1}" r="4" fill="{colour}" fill-opacity="0.8"><title>{}</title></circle>"##,
                self.px(*x),
                self.py(*y),
                escape(tip)
            );
        }
        self.legend.push((name.into(), colour.into()));
    }

    /// Short vertical marks on the x axis at `xs` (candidates with no y: rejected before
    /// training), named `name` in the legend.
    pub fn rug(&mut self, name: &str, colour: &str, xs: &[(f64, String)]) {
        let base = HEIGHT - BOTTOM;
        for (x, tip) in xs {
            let _ = write!(
                self.shapes,
                r##"<line x1="{0:.1}" y1="{1:.1}" x2="{0:.1}" y2="{2:.1}" stroke="{colour}" stroke-width="2"><title>{3}</title></line>"##,
                self.px(*x),
                base,
                base - 10.0,
                escape(tip)
            );
        }
        self.legend.push((name.into(), colour.into()));
    }

    /// A line through `points` in order (named in the legend unless `name` is empty).
    pub fn line(&mut self, name: &str, colour: &str, points: &[(f64, f64)]) {
        if points.is_empty() {
            return;
        }
        let path: Vec<String> = points
            .iter()
            .map(|(x, y)| format!("{:.1},{:.1}", self.px(*x), self.py(*y)))
            .collect();
        let _ = write!(
            self.shapes,
            r##"<polyline points="{}" fill="none" stroke="{colour}" stroke-width="2"/>"##,
            path.join(" ")
        );
        if !name.is_empty() {
            self.legend.push((name.into(), colour.into()));
        }
    }

    /// A dashed vertical line at `x` (a limit), labelled.
    pub fn limit(&mut self, x: f64, label: &str) {
        // The label goes left of the line near the right edge.
        let (text_x, anchor) = if self.px(x) > WIDTH - RIGHT - 80.0 {
            (self.px(x) - 4.0, "end")
        } else {
            (self.px(x) + 4.0, "start")
        };
        let _ = write!(
            self.shapes,
            r##"<line x1="{0:.1}" y1="{1:.1}" x2="{0:.1}" y2="{2:.1}" stroke="#c0392b" stroke-dasharray="6 4"/><text x="{3:.1}" y="{4:.1}" font-size="11" fill="#c0392b" text-anchor="{anchor}">{5}</text>"##,
            self.px(x),
            TOP,
            HEIGHT - BOTTOM,
            text_x,
            TOP + 12.0,
            escape(label)
        );
    }

    /// The finished `<svg>` element.
    pub fn render(&self) -> String {
        let mut s = format!(
            r##"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" font-family="sans-serif"><title>{}</title>"##,
            escape(&self.title)
        );
        let (x0, x1, y0, y1) = (LEFT, WIDTH - RIGHT, TOP, HEIGHT - BOTTOM);
        let _ = write!(
            s,
            r##"<rect x="{x0}" y="{y0}" width="{}" height="{}" fill="#fafafa" stroke="#999"/>"##,
            x1 - x0,
            y1 - y0
        );
        for t in ticks(self.x.0, self.x.1) {
            let x = self.px(t);
            let _ = write!(
                s,
                r##"<line x1="{x:.1}" y1="{y1}" x2="{x:.1}" y2="{}" stroke="#999"/><text x="{x:.1}" y="{}" font-size="11" text-anchor="middle">{}</text>"##,
                y1 + 4.0,
                y1 + 16.0,
                label(t)
            );
        }
        for t in ticks(self.y.0, self.y.1) {
            let y = self.py(t);
            let _ = write!(
                s,
                r##"<line x1="{}" y1="{y:.1}" x2="{x0}" y2="{y:.1}" stroke="#999"/><text x="{}" y="{:.1}" font-size="11" text-anchor="end">{}</text>"##,
                x0 - 4.0,
                x0 - 6.0,
                y + 4.0,
                label(t)
            );
        }
        let _ = write!(
            s,
            r##"<text x="{:.1}" y="{}" font-size="12" text-anchor="middle">{}</text><text x="14" y="{:.1}" font-size="12" text-anchor="middle" transform="rotate(-90 14 {:.1})">{}</text><text x="{x0}" y="18" font-size="13" font-weight="bold">{}</text>"##,
            (x0 + x1) / 2.0,
            HEIGHT - 28.0,
            escape(&self.x_label),
            (y0 + y1) / 2.0,
            (y0 + y1) / 2.0,
            escape(&self.y_label),
            escape(&self.title)
        );
        s.push_str(&self.shapes);
        // The legend: one row under the axis label, so that it never hides a point.
        let mut x = x0;
        for (name, colour) in &self.legend {
            let y = HEIGHT - 8.0;
            let _ = write!(
                s,
                r#"<rect x="{x:.1}" y="{:.1}" width="9" height="9" fill="{colour}"/><text x="{:.1}" y="{y:.1}" font-size="11">{}</text>"#,
                y - 8.0,
                x + 13.0,
                escape(name)
            );
            x += 24.0 + 6.2 * name.chars().count() as f64;
        }
        s.push_str("</svg>");
        s
    }
}

/// A tick label without needless digits.
fn label(v: f64) -> String {
    let s = format!("{v:.4}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" { "0".into() } else { s.into() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_round_numbers_inside_the_range() {
        assert_eq!(ticks(0.0, 10.0), vec![0.0, 2.0, 4.0, 6.0, 8.0, 10.0]);
        let t = ticks(91.3, 99.7);
        assert!(t.iter().all(|v| (91.3..=99.7).contains(v)), "{t:?}");
        assert_eq!(label(0.30000000000000004), "0.3");
        assert_eq!(range([]), (0.0, 1.0));
    }

    #[test]
    fn a_plot_is_one_svg_element_with_its_shapes() {
        let mut p = Plot::new("t <1>", "x", "y", (0.0, 1.0), (0.0, 1.0));
        p.dots("a", "blue", &[(0.5, 0.5, "trial & 1".into())]);
        p.limit(0.8, "limit");
        let svg = p.render();
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert!(svg.contains("t &lt;1&gt;") && svg.contains("trial &amp; 1"));
        assert_eq!(svg.matches("<circle").count(), 1);
    }
}
