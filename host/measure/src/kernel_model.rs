//! The per-kernel latency predictor: the cycles of each op of the compiled model from the loop
//! counts of the engine kernel that runs it, with coefficients fitted per kernel on kernels
//! measured one by one on an emulated board (nn-Meter's idea, with our engine's own loops).
//!
//! A model is compiled to the blob the board runs; every op is assigned the kernel the engine
//! dispatches it to (`int8 conv`, `f32 depthwise`, `int8 depthwise3x3`, `int8 depthwise5x5_7x7`, …) and its loop counts:
//! how many times each loop of that kernel's code runs (`channels`, `rows`, `chunks`, `taps`,
//! `macs`, `outputs`, …, computed from the geometry exactly as the kernels clip their windows).
//! The prediction is Σ over ops of Σ coefficient × count, plus the inference's own start and
//! end. Fitting is non-negative least squares over the ops of the calibration models, each op
//! weighted by its own cycles (relative error), so every loop count gets a cost per iteration.

use std::collections::BTreeMap;

use edgenas_engine::Error as EngineError;
use edgenas_engine::blob::{Activation, Blob, Geometry, OpKind, OpRecord, TensorRecord};
use edgenas_engine::dtype::DType;
use edgenas_engine::kernels;
use edgenas_model::board::KernelModel;

use super::calibrate::agreement;
use super::nnls::nnls;

/// Output columns the engine's convolution loop computes together.
const COLUMNS: u64 = kernels::COLUMNS as u64;

/// One op's kernel and loop counts.
#[derive(Clone, Debug, PartialEq)]
pub struct OpCounts {
    /// The kernel (`int8 conv`).
    pub kernel: String,
    /// Loop counts by name.
    pub counts: Vec<(&'static str, f64)>,
}

/// A compiled model's loop counts: its ops', and its input's and output's elements.
#[derive(Clone, Debug, PartialEq)]
pub struct ModelCounts {
    /// One per op, in the order they run.
    pub ops: Vec<OpCounts>,
    /// Elements of the input (copied in before the first op).
    pub input: f64,
    /// Elements of the output (copied out after the last).
    pub output: f64,
}

/// The loop counts of every op of `blob`.
pub fn model_counts(blob: &Blob) -> Result<ModelCounts, EngineError> {
    let tensor = |i: usize| {
        blob.tensor(i).ok_or(EngineError::BadTensor {
            tensor: i,
            what: "missing",
        })
    };
    let mut ops = Vec::new();
    for i in 0..blob.header().ops as usize {
        let op = blob.op(i).ok_or(EngineError::BadOp {
            op: i,
            what: "missing",
        })?;
        let output = tensor(op.output as usize)?;
        let inputs = op
            .input_tensors()
            .map(tensor)
            .collect::<Result<Vec<_>, _>>()?;
        ops.push(op_counts(&op, &inputs, &output));
    }
    Ok(ModelCounts {
        ops,
        input: tensor(blob.header().input as usize)?.elements() as f64,
        output: tensor(blob.header().output as usize)?.elements() as f64,
    })
}

/// Channels, height and width of an NCHW tensor (an NC one as C×1×1).
fn chw(t: &TensorRecord) -> [u64; 3] {
    let s = t.shape();
    let d = |i: usize| s.get(i).map_or(1, |&v| u64::from(v.max(1)));
    [d(1), d(2), d(3)]
}

/// Σ over output positions of the input rows (or columns) each window covers inside the map,
/// clipped by the engine's own [`kernels::window`].
fn covered(outputs: u64, k: u64, stride: u64, pad: u64, size: u64) -> u64 {
    let u = |v: u64| v as usize;
    (0..u(outputs))
        .map(|o| {
            let (first, end, _) = kernels::window(o, u(k), u(stride), u(pad), u(size));
            (end - first) as u64
        })
        .sum()
}

/// How the packed int8 convolution (one group) gathers its receptive fields, pixel pair by
/// pixel pair as `kernels::packed::conv` does.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
struct PackedGathers {
    /// Pairs of pixels a 1×1 convolution unpacks straight from its input.
    pointwise_pairs: u64,
    /// Channels gathered for both pixels of a pair at once (3×3, stride 1, inside the map).
    pair_channels: u64,
    /// Kernel rows copied for pixels gathered alone whose window lies inside the map.
    window_runs: u64,
    /// Their bytes (a window wider than 5 is copied byte by byte).
    window_bytes: u64,
    /// Pixels gathered alone whose window crosses the border.
    border_pixels: u64,
    /// Their taps (read through a table, channel by channel).
    border_taps: u64,
    /// The entries of their tables, built once a pixel whatever the channels: 9 for a 3×3
    /// window, 64 for one of up to 64 taps (a DS-CNN stem's 10×4), none for a larger one.
    border_table: u64,
}

/// [`PackedGathers`] of a convolution of geometry `g` from `input` (channels, height, width)
/// to an `output` map (height, width).
fn packed_gathers(g: &Geometry, input: [u64; 3], output: [u64; 2]) -> PackedGathers {
    let [channels, ih, iw] = input;
    let reduction = channels * u64::from(g.kernel[0]) * u64::from(g.kernel[1]);
    let pointwise = kernels::is_pointwise(g, reduction as usize);
    let [oh, ow] = output;
    let [kh, kw] = g.kernel.map(u64::from);
    let [sh, sw] = g.stride.map(u64::from);
    let [ph, pw] = g.padding.map(u64::from);
    let inside = |o: u64, k: u64, s: u64, p: u64, size: u64| o * s >= p && o * s + k <= size + p;
    let mut counts = PackedGathers::default();
    let plane = oh * ow;
    for p in (0..plane).step_by(2) {
        if pointwise && p + 1 < plane {
            counts.pointwise_pairs += 1;
            continue;
        }
        let (oy, ox) = (p / ow, p % ow);
        let pair = [kh, kw, sh, sw] == [3, 3, 1, 1]
            && ox + 1 < ow
            && inside(oy, 3, 1, ph, ih)
            && ox >= pw
            && ox - pw + 4 <= iw;
        if pair {
            counts.pair_channels += channels;
            continue;
        }
        // An odd last pixel is gathered twice (as a pair with itself).
        for q in [p, (p + 1).min(plane - 1)] {
            let (oy, ox) = (q / ow, q % ow);
            if inside(oy, kh, sh, ph, ih) && inside(ox, kw, sw, pw, iw) {
                counts.window_runs += channels * kh;
                counts.window_bytes += channels * kh * kw;
            } else {
                counts.border_pixels += 1;
                counts.border_taps += channels * kh * kw;
                counts.border_table += kernels::border_table((kh * kw) as usize) as u64;
            }
        }
    }
    counts
}

fn dtype_name(d: DType) -> &'static str {
    match d {
        DType::Int8 => "int8",
        DType::F32 => "f32",
    }
}

/// The kernel of `op` reading the tensors `inputs` (its weights and other constants are not
/// tensors) into `output`, and its loop counts.
pub fn op_counts(op: &OpRecord, inputs: &[TensorRecord], output: &TensorRecord) -> OpCounts {
    let input = inputs.first().unwrap_or(output);
    // An element-wise op whose output takes an input's place in the arena reads that input
    // from its output: one load fewer per element for each such input.
    let apart = inputs.iter().filter(|t| t.offset != output.offset).count();
    let dtype = dtype_name(input.dtype);
    let [ic, ih, iw] = chw(input);
    let [oc, oh, ow] = chw(output);
    let outputs = output.elements() as f64;
    let g = &op.geometry;
    let [kh, kw] = g.kernel.map(u64::from);
    let [sh, sw] = g.stride.map(u64::from);
    let [ph, pw] = g.padding.map(u64::from);
    let (name, counts): (String, Vec<(&'static str, f64)>) = match op.kind {
        OpKind::Conv => {
            let groups = u64::from(g.groups).max(1);
            let icpg = ic / groups;
            let depthwise = groups > 1 && groups == ic;
            let pointwise = [kh, kw, sh, sw, ph, pw] == [1, 1, 1, 1, 0, 0];
            // The padded plane of the engine's depthwise kernel, where it runs one: the
            // engine's own rule decides, as it does for the blob's scratch.
            let map = |[channels, height, width]: [u64; 3]| kernels::Map {
                channels: channels as usize,
                height: height as usize,
                width: width as usize,
            };
            let plane =
                kernels::OpShape::of(op, output.dtype, map([ic, ih, iw]), map([oc, oh, ow]))
                    .depthwise_plane();
            let kind = if depthwise {
                match plane {
                    Some(_) if kh == 3 => "depthwise3x3",
                    Some(_) => "depthwise5x5_7x7",
                    None => "depthwise",
                }
            } else if kh == 1 && kw == 1 {
                "pointwise"
            } else {
                "conv"
            };
            // The portable loop treats a pointwise convolution's channel as one long row.
            let (rows, width) = if pointwise { (1, oh * ow) } else { (oh, ow) };
            let chunks_per_row = width.div_ceil(COLUMNS);
            let covered_rows = covered(oh, kh, sh, ph, ih);
            let covered_cols = covered(ow, kw, sw, pw, iw);
            let macs = (oc * icpg * covered_rows * covered_cols) as f64;
            let window_rows = oc * icpg * chunks_per_row * if pointwise { 1 } else { covered_rows };
            let pixels = oh * ow;
            let interior = |o: u64, k: u64, s: u64, p: u64, size: u64| {
                (0..o)
                    .filter(|&i| i * s >= p && i * s + k <= size + p)
                    .count() as u64
            };
            let edge_pixels = pixels - interior(oh, kh, sh, ph, ih) * interior(ow, kw, sw, pw, iw);
            let reduction = icpg * kh * kw;
            let pairs = oc.div_ceil(2) * pixels.div_ceil(2);
            let gathers = if dtype == "int8" && groups == 1 {
                packed_gathers(g, [icpg, ih, iw], [oh, ow])
            } else {
                PackedGathers::default()
            };
            // The groups of 4 values of the packed kernel's columns.
            let column_groups = kernels::column_groups(reduction as usize) as u64;
            // The pairs of filters the assembly runs with their requantisation, at pairs of
            // pixels that both exist (assuming every filter's requantisation folds, as a
            // convolution's factor below 1/4 does).
            let filter_pairs = if dtype == "int8"
                && groups == 1
                && kernels::pairs_fit(oc as usize, reduction as usize)
            {
                (oc / 2) * (pixels / 2)
            } else {
                0
            };
            // The depthwise 3×3 kernel's padded plane (filled once an op), the input rows it
            // copies into it, its whole pairs of outputs and an odd row's last outputs (done
            // alone, for two thirds of a pair).
            let (plane_words, input_rows, row_pairs, row_singles) = match plane {
                Some([rows, columns]) => (
                    (rows * columns / 2) as u64,
                    // The input rows some window reads (at stride 2 not a last one below).
                    ic * ih.min((rows as u64).saturating_sub(ph)),
                    oc * oh * (ow / 2),
                    oc * oh * (ow % 2),
                ),
                None => (0, 0, 0, 0),
            };
            // Pairs of stride 2 read a third word and take a seventh instruction a kernel row.
            let strided_row_pairs = if sw > 1 { row_pairs } else { 0 };
            // A 5×5 or 7×7 runs its pairs (an odd row's last pixel as one) in Rust: per kernel
            // row a slice of the plane, and its multiply-accumulates, kh / 2 a pixel.
            let (pair_rows, pair_row_words) = match plane {
                Some(_) if kh > 3 => {
                    let rows = (row_pairs + row_singles) * kh;
                    (rows, rows * (kh / 2))
                }
                _ => (0, 0),
            };
            let activated = if op.activation == Activation::HardSwish {
                outputs
            } else {
                0.0
            };
            (
                kind.to_string(),
                vec![
                    ("op", 1.0),
                    ("channels", oc as f64),
                    ("rows", (oc * rows) as f64),
                    ("chunks", (oc * rows * chunks_per_row) as f64),
                    ("outputs", outputs),
                    ("window_rows", window_rows as f64),
                    ("taps", (window_rows * kw) as f64),
                    ("macs", macs),
                    ("strided_macs", if sw > 1 { macs } else { 0.0 }),
                    ("pixels", pixels as f64),
                    ("gathered", (pixels * reduction) as f64),
                    ("pairs", (pairs - filter_pairs) as f64),
                    ("filter_pairs", filter_pairs as f64),
                    // The assembly's pairs read whole column groups; the others, groups of 4.
                    (
                        "pair_steps",
                        (filter_pairs * column_groups
                            + (pairs - filter_pairs) * reduction.div_ceil(4))
                            as f64,
                    ),
                    // The assembly's passes of up to eight groups: the first of a pair's
                    // takes what is left over a multiple of eight.
                    (
                        "pair_passes",
                        (filter_pairs * column_groups.div_ceil(8)) as f64,
                    ),
                    ("edge_outputs", (oc * edge_pixels) as f64),
                    ("inputs", input.elements() as f64),
                    ("hard_swish_outputs", activated),
                    ("plane_words", plane_words as f64),
                    ("input_rows", input_rows as f64),
                    ("row_pairs", row_pairs as f64),
                    ("row_singles", row_singles as f64),
                    ("strided_row_pairs", strided_row_pairs as f64),
                    ("pair_rows", pair_rows as f64),
                    ("pair_row_words", pair_row_words as f64),
                    ("pair_gathers", gathers.pair_channels as f64),
                    ("window_gathers", gathers.window_runs as f64),
                    ("window_bytes", gathers.window_bytes as f64),
                    ("border_pixels", gathers.border_pixels as f64),
                    ("border_taps", gathers.border_taps as f64),
                    ("border_table", gathers.border_table as f64),
                    (
                        "unpacked",
                        ((pixels.div_ceil(2) - gathers.pointwise_pairs) * column_groups) as f64,
                    ),
                    (
                        "pointwise_groups",
                        (gathers.pointwise_pairs * reduction.div_ceil(4)) as f64,
                    ),
                ],
            )
        }
        OpKind::Dense => {
            let inputs = ic * ih * iw;
            let pairs = oc.div_ceil(2);
            (
                "dense".into(),
                vec![
                    ("op", 1.0),
                    ("outputs", outputs),
                    ("inputs", inputs as f64),
                    ("macs", (inputs * oc) as f64),
                    ("pairs", pairs as f64),
                    ("pair_steps", (pairs * inputs.div_ceil(4)) as f64),
                ],
            )
        }
        OpKind::MaxPool | OpKind::AvgPool => {
            let covered_rows = covered(oh, kh, sh, ph, ih);
            let covered_cols = covered(ow, kw, sw, pw, iw);
            (
                if op.kind == OpKind::MaxPool {
                    "max_pool"
                } else {
                    "avg_pool"
                }
                .into(),
                vec![
                    ("op", 1.0),
                    ("channels", oc as f64),
                    ("rows", (oc * oh) as f64),
                    ("outputs", outputs),
                    ("window_rows", (oc * covered_rows * ow) as f64),
                    ("window", (oc * covered_rows * covered_cols) as f64),
                ],
            )
        }
        OpKind::GlobalAvgPool => (
            "global_avg_pool".into(),
            vec![
                ("op", 1.0),
                ("channels", ic as f64),
                ("inputs", input.elements() as f64),
            ],
        ),
        OpKind::Add | OpKind::Affine | OpKind::Activation | OpKind::Softmax | OpKind::Fill => {
            let fused = op.kind == OpKind::Add && op.activation != Activation::None;
            let kind = match op.kind {
                OpKind::Add => "add".to_string(),
                OpKind::Affine => "affine".into(),
                OpKind::Activation => format!("activation {}", activation_name(op.activation)),
                OpKind::Softmax => "softmax".into(),
                _ => "fill".into(),
            };
            (
                kind,
                vec![
                    ("op", 1.0),
                    ("channels", oc as f64),
                    ("outputs", outputs),
                    ("reads_apart", outputs * apart as f64),
                    // An addition's fused ReLU (a clamp in int8, a max in f32).
                    ("activated", if fused { outputs } else { 0.0 }),
                ],
            )
        }
    };
    OpCounts {
        kernel: format!("{dtype} {name}"),
        counts,
    }
}

fn activation_name(a: Activation) -> &'static str {
    match a {
        Activation::None => "none",
        Activation::Relu => "relu",
        Activation::Relu6 => "relu6",
        Activation::HardSwish => "hard_swish",
    }
}

/// Cycles of `counts` under `coefficients` (a count without a coefficient costs nothing).
fn cost(coefficients: &BTreeMap<String, f64>, counts: &[(&'static str, f64)]) -> f64 {
    counts
        .iter()
        .map(|(name, n)| coefficients.get(*name).copied().unwrap_or(0.0) * n)
        .sum()
}

/// The inference's own loop counts: its start with the input's copy (counted with the first
/// op on the board), and its end with the output's.
fn start_counts(m: &ModelCounts) -> [(&'static str, f64); 2] {
    [("start", 1.0), ("input", m.input)]
}

fn end_counts(m: &ModelCounts) -> [(&'static str, f64); 2] {
    [("end", 1.0), ("output", m.output)]
}

/// A model with a kernel that the kernel model was not calibrated on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the kernel model (measured on {measured_on}) has no `{kernel}` kernel: calibrate again")]
pub struct UncalibratedKernel {
    /// The board the kernel model was measured on.
    pub measured_on: String,
    /// The kernel it lacks.
    pub kernel: String,
}

/// The predicted cycles of `model` under `km`, op by op (the first op's with the inference's
/// start, the end apart, last); an error names a kernel `km` was not calibrated on.
pub fn predict_op_cycles(
    km: &KernelModel,
    model: &ModelCounts,
) -> Result<Vec<f64>, UncalibratedKernel> {
    let mut cycles = Vec::with_capacity(model.ops.len() + 1);
    for op in &model.ops {
        let coefficients = km
            .kernels
            .get(&op.kernel)
            .ok_or_else(|| UncalibratedKernel {
                measured_on: km.measured_on.clone(),
                kernel: op.kernel.clone(),
            })?;
        cycles.push(cost(coefficients, &op.counts));
    }
    if let Some(first) = cycles.first_mut() {
        *first += cost(&km.inference, &start_counts(model));
    }
    cycles.push(cost(&km.inference, &end_counts(model)));
    Ok(cycles)
}

/// The predicted cycles of one inference of `model` under `km`.
pub fn predict_cycles(km: &KernelModel, model: &ModelCounts) -> Result<f64, UncalibratedKernel> {
    Ok(predict_op_cycles(km, model)?.iter().sum())
}

/// One calibration model: its loop counts and the cycles measured for each op (the first with
/// the inference's start), and for the whole inference.
#[derive(Clone, Debug, PartialEq)]
pub struct KernelSample {
    /// The model's name.
    pub name: String,
    /// Its loop counts.
    pub counts: ModelCounts,
    /// Measured cycles per op.
    pub op_cycles: Vec<f64>,
    /// Measured cycles of the inference.
    pub total_cycles: f64,
}

/// Fits a kernel model to `samples` measured on the board `measured_on`: one non-negative
/// least-squares problem over every op (and every inference's end), each row divided by its
/// measured cycles.
pub fn fit_kernel_model(samples: &[KernelSample], measured_on: &str, date: &str) -> KernelModel {
    // Columns: the inference's counts, then each kernel's.
    let mut columns: Vec<(String, &'static str)> = Vec::new();
    let mut column = |group: &str, name: &'static str| -> usize {
        match columns.iter().position(|(g, n)| g == group && *n == name) {
            Some(i) => i,
            None => {
                columns.push((group.to_string(), name));
                columns.len() - 1
            }
        }
    };
    const INFERENCE: &str = "";
    let mut sparse: Vec<(Vec<(usize, f64)>, f64)> = Vec::new();
    for s in samples {
        for (i, (op, &measured)) in s.counts.ops.iter().zip(&s.op_cycles).enumerate() {
            let mut row: Vec<(usize, f64)> = op
                .counts
                .iter()
                .map(|&(n, v)| (column(&op.kernel, n), v))
                .collect();
            if i == 0 {
                row.extend(
                    start_counts(&s.counts)
                        .iter()
                        .map(|&(n, v)| (column(INFERENCE, n), v)),
                );
            }
            sparse.push((row, measured));
        }
        let end = s.total_cycles - s.op_cycles.iter().sum::<f64>();
        let row = end_counts(&s.counts)
            .iter()
            .map(|&(n, v)| (column(INFERENCE, n), v))
            .collect();
        sparse.push((row, end.max(1.0)));
    }
    let rows: Vec<Vec<f64>> = sparse
        .iter()
        .map(|(row, measured)| {
            let mut dense = vec![0.0; columns.len()];
            for &(j, v) in row {
                dense[j] += v / measured;
            }
            dense
        })
        .collect();
    let x = nnls(&rows, &vec![1.0; rows.len()]);
    let mut km = KernelModel {
        source: "calibrated".into(),
        calibrated_on: Some(date.to_string()),
        measured_on: measured_on.to_string(),
        inference: BTreeMap::new(),
        kernels: BTreeMap::new(),
        fit: None,
    };
    for ((group, name), value) in columns.iter().zip(x) {
        let value = value.unwrap_or(0.0);
        let map = if group == INFERENCE {
            &mut km.inference
        } else {
            km.kernels.entry(group.clone()).or_default()
        };
        map.insert(name.to_string(), value);
    }
    let (predicted, measured): (Vec<f64>, Vec<f64>) = samples
        .iter()
        .filter_map(|s| Some((predict_cycles(&km, &s.counts).ok()?, s.total_cycles)))
        .unzip();
    km.fit = Some(agreement(&predicted, &measured));
    km
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_count_only_the_rows_inside_the_map() {
        // A 3-tall kernel, pad 1, stride 1, over 4 rows: 2 + 3 + 3 + 2.
        assert_eq!(covered(4, 3, 1, 1, 4), 10);
        // Stride 2 over 5 rows without padding: rows 0–2 and 2–4.
        assert_eq!(covered(2, 3, 2, 0, 5), 6);
    }

    #[test]
    fn packed_gathers_follow_the_kernels_pair_and_border_paths() {
        // 3×3, stride 1, padding 1, 2 channels, 8×8 → 8×8: pairs start at even columns; a
        // pair is gathered at once where both windows and the 4-byte loads lie inside the map
        // (columns 2 and 4, rows 1–6: 12 pairs); of the other pixels, 12 have their window
        // inside the map (columns 1 and 6, rows 1–6), 28 cross the border.
        let g = Geometry {
            kernel: [3, 3],
            stride: [1, 1],
            padding: [1, 1],
            groups: 1,
            count_include_pad: false,
        };
        let counts = packed_gathers(&g, [2, 8, 8], [8, 8]);
        assert_eq!(
            counts,
            PackedGathers {
                pointwise_pairs: 0,
                pair_channels: 24,
                window_runs: 12 * 2 * 3,
                window_bytes: 12 * 2 * 9,
                border_pixels: 28,
                border_taps: 28 * 2 * 9,
                border_table: 28 * 9,
            }
        );
        // A 1×1 convolution over channels not in whole groups of 4 has no pair path: every
        // pixel alone, none crossing the border.
        let pointwise = Geometry {
            kernel: [1, 1],
            padding: [0, 0],
            ..g
        };
        let counts = packed_gathers(&pointwise, [5, 3, 3], [3, 3]);
        // 9 pixels in pairs of two: the odd last pixel is gathered twice.
        assert_eq!((counts.window_runs, counts.border_pixels), (10 * 5, 0));
        // Over 8 channels, the 4 pairs of pixels that both exist are unpacked straight from
        // the input; only the odd last pixel is gathered (twice).
        let counts = packed_gathers(&pointwise, [8, 3, 3], [3, 3]);
        assert_eq!(
            (
                counts.pointwise_pairs,
                counts.window_runs,
                counts.border_pixels
            ),
            (4, 2 * 8, 0)
        );
        // Of stride 2 it is gathered pixel by pixel again.
        let strided = Geometry {
            stride: [2, 2],
            ..pointwise
        };
        let counts = packed_gathers(&strided, [8, 5, 5], [3, 3]);
        assert_eq!((counts.pointwise_pairs, counts.window_runs), (0, 10 * 8));
    }

    fn counts(kernel: &str, macs: f64) -> OpCounts {
        OpCounts {
            kernel: kernel.into(),
            counts: vec![("op", 1.0), ("macs", macs)],
        }
    }

    #[test]
    fn a_fit_recovers_each_kernels_cost_per_loop() {
        // Two kernels at 3 cycles per MAC + 100 per op and 5 per MAC + 40 per op, an inference
        // start of 200 cycles + 2 per input element, an end of 50.
        let samples: Vec<KernelSample> = (1..12)
            .map(|i| {
                let (a, b) = (100.0 * i as f64, 37.0 * (i * i % 5 + 1) as f64);
                let model = ModelCounts {
                    ops: vec![counts("int8 conv", a), counts("int8 dense", b)],
                    input: (10 * (i % 3 + 1)) as f64,
                    output: 10.0,
                };
                let input = (10 * (i % 3 + 1)) as f64;
                let op_cycles = vec![100.0 + 3.0 * a + 200.0 + 2.0 * input, 40.0 + 5.0 * b];
                let total_cycles = op_cycles.iter().sum::<f64>() + 50.0;
                KernelSample {
                    name: format!("m{i}"),
                    counts: model,
                    op_cycles,
                    total_cycles,
                }
            })
            .collect();
        let km = fit_kernel_model(&samples, "qemu-mps2-an386", "2026-12-03");
        let conv = &km.kernels["int8 conv"];
        assert!((conv["macs"] - 3.0).abs() < 1e-3, "{km:?}");
        assert!((km.inference["input"] - 2.0).abs() < 1e-3, "{km:?}");
        assert!(
            (km.kernels["int8 dense"]["macs"] - 5.0).abs() < 1e-3,
            "{km:?}"
        );
        let fit = km.fit.clone().unwrap();
        assert!(fit.median_error_percent < 0.1, "{fit:?}");
        let unknown = ModelCounts {
            ops: vec![counts("f32 softmax", 1.0)],
            input: 1.0,
            output: 1.0,
        };
        let e = predict_cycles(&km, &unknown).unwrap_err();
        assert_eq!(e.kernel, "f32 softmax");
        assert!(e.to_string().contains("no `f32 softmax` kernel"), "{e}");
    }
}
