//! Calibration: fitting a board's cost-model coefficients to measured latencies.
//!
//! A fixed set of micro-models (each op kind at several sizes) runs through the board's
//! measuring meter; the coefficients (cycles per unit of work for each op kind and precision,
//! and cycles per node) are the non-negative least-squares fit of the measured cycles, with
//! each model weighted by its own latency so that the fit minimises relative error, the error
//! the fidelity promise is stated in.

use serde::Serialize;

use super::nnls::nnls;
use super::simulator::predict_cycles;
use super::work::{CostKind, CostPrecision, ModelWork, analyse};
use super::{MeasureError, Meter, spearman};
use edgenas_model::board::{Board, CostFit, CostModel, OpCosts, OutputCosts};
use edgenas_model::network::layers::{
    Activation, ActivationKind, Add, Conv2d, Dense, GlobalAvgPool, Layer, Pool, PoolKind,
};
use edgenas_model::network::{Builder, Network, Shape};
use edgenas_model::weights::initial_weights;
use edgenas_onnx::export::{self, ModelInfo, QParams};

/// One model of a calibration or a fidelity benchmark: its work and its measured cycles.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CalibrationPoint {
    /// The model's name.
    pub name: String,
    /// Its work, node by node.
    #[serde(skip)]
    pub work: ModelWork,
    /// Measured cycles (milliseconds × the board's clock).
    pub measured_cycles: f64,
}

/// A fitted cost model with the models it was fitted on.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CostCalibration {
    /// The fitted cost model.
    pub cost_model: CostModel,
    /// The models, measured.
    pub points: Vec<CalibrationPoint>,
}

/// Columns per precision: work of each kind, then output elements of each kind but the
/// element-wise one (whose work is its output).
const PER_PRECISION: usize = 2 * CostKind::ALL.len() - 1;

/// The features of a model: for f32 then int8, work per kind and output elements per kind;
/// then the number of nodes, then 1 (the fixed cost of an inference).
fn features(work: &ModelWork) -> Vec<f64> {
    let mut f = vec![0.0; 2 * PER_PRECISION + 2];
    for n in &work.nodes {
        let base = match n.precision {
            CostPrecision::F32 => 0,
            CostPrecision::Int8 => PER_PRECISION,
        };
        let k = CostKind::ALL
            .iter()
            .position(|&k| k == n.kind)
            .expect("listed");
        f[base + k] += n.work;
        if n.kind != CostKind::Elementwise {
            f[base + CostKind::ALL.len() + k] += n.outputs;
        }
    }
    f[2 * PER_PRECISION] = work.nodes.len() as f64;
    f[2 * PER_PRECISION + 1] = 1.0;
    f
}

/// Fits a cost model to `points`, keeping `prior`'s coefficient where the points have no work
/// of that kind and precision. The fit's quality on the points is recorded with it.
pub fn fit_cost_model(points: &[CalibrationPoint], prior: &CostModel, date: &str) -> CostModel {
    let rows: Vec<Vec<f64>> = points
        .iter()
        .map(|p| {
            features(&p.work)
                .into_iter()
                .map(|f| f / p.measured_cycles)
                .collect()
        })
        .collect();
    let x = nnls(&rows, &vec![1.0; rows.len()]);
    let pick = |costs: &OpCosts, base: usize| {
        let at = |k: usize, old: f64| x[base + k].unwrap_or(old);
        let old = costs.per_output.clone().unwrap_or_default();
        let out = |k: usize, old: f64| x[base + CostKind::ALL.len() + k].unwrap_or(old);
        OpCosts {
            conv: at(0, costs.conv),
            depthwise: at(1, costs.depthwise),
            pointwise: at(2, costs.pointwise),
            dense: at(3, costs.dense),
            pool: at(4, costs.pool),
            avg_pool: x[base + 5].or(costs.avg_pool),
            elementwise: at(6, costs.elementwise),
            per_output: Some(OutputCosts {
                conv: out(0, old.conv),
                depthwise: out(1, old.depthwise),
                pointwise: out(2, old.pointwise),
                dense: out(3, old.dense),
                pool: out(4, old.pool),
                avg_pool: out(5, old.avg_pool),
            }),
        }
    };
    let mut model = CostModel {
        source: "calibrated".into(),
        calibrated_on: Some(date.to_string()),
        node_overhead_cycles: x[2 * PER_PRECISION].unwrap_or(prior.node_overhead_cycles),
        model_overhead_cycles: x[2 * PER_PRECISION + 1].unwrap_or(prior.model_overhead_cycles),
        f32: pick(&prior.f32, 0),
        int8: pick(&prior.int8, PER_PRECISION),
        fit: None,
    };
    model.fit = Some(fit_quality(points, &model));
    model
}

/// How well `model` predicts `points`.
pub fn fit_quality(points: &[CalibrationPoint], model: &CostModel) -> CostFit {
    let predicted: Vec<f64> = points
        .iter()
        .map(|p| predict_cycles(&p.work, model))
        .collect();
    let measured: Vec<f64> = points.iter().map(|p| p.measured_cycles).collect();
    agreement(&predicted, &measured)
}

/// How well `predicted` matches `measured`, pair by pair: the median relative error, the
/// share within ±10 % and Spearman's rank correlation.
pub fn agreement(predicted: &[f64], measured: &[f64]) -> CostFit {
    let mut errors: Vec<f64> = predicted
        .iter()
        .zip(measured)
        .map(|(p, m)| (p - m).abs() / m)
        .collect();
    errors.sort_by(f64::total_cmp);
    let within = errors.iter().filter(|&&e| e <= 0.10).count();
    CostFit {
        models: measured.len(),
        median_error_percent: 100.0 * errors.get(errors.len() / 2).copied().unwrap_or(0.0),
        within_10_percent: 100.0 * within as f64 / measured.len().max(1) as f64,
        spearman: spearman(predicted, measured),
    }
}

/// Measures each network in `models` (exported with initial weights: f32, and int8 QDQ when
/// `int8`) with `meter`, and fits `board`'s cost model to them. `progress` hears each model's
/// name when it is done.
pub fn calibrate(
    board: &Board,
    meter: &dyn Meter,
    models: &[(String, Network)],
    int8: bool,
    date: &str,
    progress: &mut dyn FnMut(&str),
) -> Result<CostCalibration, MeasureError> {
    let prior = board
        .cost_model
        .clone()
        .ok_or_else(|| MeasureError::NoCostModel(board.name.clone()))?;
    let mut points = Vec::new();
    for (name, net) in models {
        for precision in [false, true].into_iter().filter(|&q| !q || int8) {
            let bytes = export_untrained(net, precision, 0)?;
            let label = format!("{name}{}", if precision { " int8" } else { "" });
            let work = analyse(&bytes, &label)?;
            let m = meter.measure(&bytes, &label)?;
            points.push(CalibrationPoint {
                name: label.clone(),
                work,
                measured_cycles: m.latency_ms.median / 1e3 * board.clock_hz as f64,
            });
            progress(&label);
        }
    }
    Ok(CostCalibration {
        cost_model: fit_cost_model(&points, &prior, date),
        points,
    })
}

/// The ONNX bytes of `net` with initial weights drawn with `seed`: f32, or int8 QDQ with
/// placeholder activation ranges (latency does not depend on values).
pub fn export_untrained(net: &Network, int8: bool, seed: u64) -> Result<Vec<u8>, MeasureError> {
    let weights = initial_weights(net, seed);
    let info = ModelInfo::bare("calibration", "");
    let precision = if int8 {
        let p = QParams {
            scale: 1.0 / 64.0,
            zero_point: 0,
        };
        export::Precision::Int8(vec![Some(p); net.nodes.len()])
    } else {
        export::Precision::F32
    };
    export::export(net, &weights, &info, &precision)
        .map(|m| export::to_bytes(&m))
        .map_err(|e| MeasureError::Io(e.to_string()))
}

/// The calibration set: each op kind alone at several sizes (a convolution 3×3, a depthwise
/// 3×3 and 5×5, a pointwise, a dense layer, max and average pools, a global pool, ReLU and an
/// addition), small to large.
pub fn micro_models() -> Vec<(String, Network)> {
    let mut out = Vec::new();
    let conv = |out_channels, kernel, groups| {
        Layer::Conv2d(Conv2d {
            out_channels,
            kernel: [kernel; 2],
            stride: [1, 1],
            padding: [kernel / 2; 2],
            groups,
            bias: true,
        })
    };
    let mut push = |name: String, input: Shape, layers: Vec<Layer>| {
        let mut b = Builder::new(input, 10);
        b.set_block("m");
        let mut x = b.current();
        for (i, layer) in layers.into_iter().enumerate() {
            let inputs = if matches!(layer, Layer::Add(_)) {
                vec![x, x]
            } else {
                vec![x]
            };
            x = b
                .add(&format!("op{i}"), layer, &inputs)
                .expect("micro-models are well formed");
            b.set_current(x);
        }
        out.push((name, b.finish()));
    };
    let image = |c, hw| Shape::Image { c, h: hw, w: hw };
    for &(c, hw) in &[(4, 8), (8, 16), (16, 16), (16, 32), (32, 32)] {
        push(
            format!("conv3x3 {c}x{hw}x{hw}"),
            image(c, hw),
            vec![conv(c, 3, 1)],
        );
        push(
            format!("pointwise {c}x{hw}x{hw}"),
            image(c, hw),
            vec![conv(2 * c, 1, 1)],
        );
        push(format!("relu {c}x{hw}x{hw}"), image(c, hw), vec![relu()]);
        push(
            format!("add {c}x{hw}x{hw}"),
            image(c, hw),
            vec![Layer::Add(Add)],
        );
        push(
            format!("gap {c}x{hw}x{hw}"),
            image(c, hw),
            vec![Layer::GlobalAvgPool(GlobalAvgPool)],
        );
    }
    for &(c, hw) in &[(8, 8), (16, 16), (32, 16), (64, 32), (96, 32)] {
        for k in [3, 5] {
            push(
                format!("depthwise{k}x{k} {c}x{hw}x{hw}"),
                image(c, hw),
                vec![conv(c, k, c)],
            );
        }
        for (kind, label) in [(PoolKind::Max, "maxpool"), (PoolKind::Avg, "avgpool")] {
            let pool = Layer::Pool(Pool {
                kind,
                kernel: 3,
                stride: 1,
                padding: 1,
                count_include_pad: false,
            });
            push(
                format!("{label}3x3 {c}x{hw}x{hw}"),
                image(c, hw),
                vec![pool],
            );
        }
    }
    for &(inputs, outputs) in &[(64, 10), (256, 64), (512, 256), (1024, 512), (2048, 256)] {
        let dense = Layer::Dense(Dense {
            out_features: outputs,
            bias: true,
        });
        push(
            format!("dense {inputs}->{outputs}"),
            Shape::Vector(inputs),
            vec![dense],
        );
    }
    out
}

fn relu() -> Layer {
    Layer::Activation(Activation {
        kind: ActivationKind::Relu,
    })
}
