//! The board simulator: a board's latency predicted from the work of each node of the model
//! (as tract types it) and the board file's cost model.

use super::kernel_calibration::compiled_counts;
use super::kernel_model;
use super::work::{CostKind, CostPrecision, ModelWork, analyse};
use super::{Kind, Latency, MeasureError, Measurement, Meter};
use edgenas_model::board::{Board, CostModel, KernelModel, OpCosts, load_board};
use edgenas_onnx::export::TractModel;

/// Predicts latency on one board from its cost model: for every node, cycles per unit of work
/// for its op kind and precision times its work, plus a fixed cost per node, divided by the
/// board's clock. The model is also run once with tract, so that a model that does not run is
/// caught here.
#[derive(Clone, Debug)]
pub struct Simulator {
    board: Board,
    cost: CostModel,
    /// The per-kernel model, the board's own or its emulated twin's, and where it came from.
    kernels: Option<(KernelModel, String)>,
}

impl Simulator {
    /// A simulator for `board`; fails when the board file has no cost model, or names an
    /// emulated twin that cannot be read.
    pub fn new(board: Board) -> Result<Simulator, MeasureError> {
        let cost = board
            .cost_model
            .clone()
            .ok_or_else(|| MeasureError::NoCostModel(board.name.clone()))?;
        let kernels = match (&board.kernel_model, &board.emulated_twin) {
            (Some(km), _) => Some((km.clone(), format!("calibrated on {}", km.measured_on))),
            (None, Some(twin)) => {
                let twin_board = load_board(twin).map_err(|e| {
                    MeasureError::Model(format!("board {}'s emulated twin: {e}", board.name))
                })?;
                twin_board.kernel_model.map(|km| {
                    let note = format!(
                        "inherited from its emulated twin {twin}: the twin's cycles at this \
                         board's {} Hz, assuming no flash wait states (code in cache or \
                         zero-wait memory), not calibrated on the board itself",
                        board.clock_hz
                    );
                    (km, note)
                })
            }
            (None, None) => None,
        };
        Ok(Simulator {
            board,
            cost,
            kernels,
        })
    }

    /// The latency of the ONNX model `bytes` predicted in milliseconds, without running it
    /// (a model that does not run is not caught here; [`Meter::measure`] runs it once).
    pub fn predict_ms(&self, bytes: &[u8], what: &str) -> Result<f64, MeasureError> {
        Ok(self.ms(self.cycles(bytes, what, &mut Vec::new())?))
    }

    /// `cycles` at the board's clock, in milliseconds.
    fn ms(&self, cycles: f64) -> f64 {
        cycles / self.board.clock_hz as f64 * 1e3
    }

    /// The predicted cycles of `bytes`: by the kernel model where the board has one that
    /// prices every kernel, else by the cost model node by node; why, and what to trust less,
    /// goes to `warnings`.
    fn cycles(
        &self,
        bytes: &[u8],
        what: &str,
        warnings: &mut Vec<String>,
    ) -> Result<f64, MeasureError> {
        match self.kernel_cycles(bytes, what) {
            Some(Ok((cycles, note))) => {
                warnings.push(note);
                return Ok(cycles);
            }
            Some(Err(e)) => warnings.push(format!(
                "the kernel model cannot predict it: {e}; the cost model does"
            )),
            None => {}
        }
        // The cost model's node-by-node work is read only where it prices the model.
        let work = analyse(bytes, what)?;
        let fallback = work.fallback_ops();
        if !fallback.is_empty() {
            warnings.push(format!(
                "no cost-model kind for {}: priced as elementwise work per output element (a fallback)",
                fallback.join(", ")
            ));
        }
        if self.cost.source != "calibrated" {
            warnings.push(format!(
                "board {}'s latency rests on an uncalibrated estimate (published kernel figures, not our engine measured): run `edgenas calibrate`",
                self.board.name
            ));
        }
        Ok(predict_cycles(&work, &self.cost))
    }

    /// The cycles of `bytes` predicted by the kernel model, with its note; `None` without one,
    /// or with a warning when the model has a kernel it was not calibrated on.
    fn kernel_cycles(&self, bytes: &[u8], what: &str) -> Option<Result<(f64, String), String>> {
        let (km, note) = self.kernels.as_ref()?;
        let counts = match compiled_counts(bytes, what) {
            Ok(c) => c,
            Err(e) => return Some(Err(format!("the engine cannot compile it ({e})"))),
        };
        Some(
            kernel_model::predict_cycles(km, &counts)
                .map(|c| {
                    (
                        c,
                        format!("predicted per kernel of the compiled model: kernel model {note}"),
                    )
                })
                .map_err(|e| e.to_string()),
        )
    }
}

/// Cycles per unit of `kind` in `costs`.
pub fn per_unit(costs: &OpCosts, kind: CostKind) -> f64 {
    match kind {
        CostKind::Conv => costs.conv,
        CostKind::Depthwise => costs.depthwise,
        CostKind::Pointwise => costs.pointwise,
        CostKind::Dense => costs.dense,
        CostKind::Pool => costs.pool,
        CostKind::AvgPool => costs.avg_pool.unwrap_or(costs.pool),
        CostKind::Elementwise => costs.elementwise,
    }
}

/// Cycles per output element of `kind` in `costs` (0 where the cost model has none; an
/// element-wise op's cost per unit is already per output element).
pub fn per_output(costs: &OpCosts, kind: CostKind) -> f64 {
    let Some(p) = &costs.per_output else {
        return 0.0;
    };
    match kind {
        CostKind::Conv => p.conv,
        CostKind::Depthwise => p.depthwise,
        CostKind::Pointwise => p.pointwise,
        CostKind::Dense => p.dense,
        CostKind::Pool => p.pool,
        CostKind::AvgPool => p.avg_pool,
        CostKind::Elementwise => 0.0,
    }
}

/// The predicted cycles of one inference.
pub fn predict_cycles(work: &ModelWork, cost: &CostModel) -> f64 {
    cost.model_overhead_cycles
        + work
            .nodes
            .iter()
            .map(|n| {
                let costs = match n.precision {
                    CostPrecision::Int8 => &cost.int8,
                    CostPrecision::F32 => &cost.f32,
                };
                cost.node_overhead_cycles
                    + per_unit(costs, n.kind) * n.work
                    + per_output(costs, n.kind) * n.outputs
            })
            .sum::<f64>()
}

impl Meter for Simulator {
    fn backend(&self) -> &'static str {
        "simulator"
    }

    fn measure(&self, bytes: &[u8], what: &str) -> Result<Measurement, MeasureError> {
        let model = TractModel::load(bytes, what)?;
        let zeros = vec![0.0; model.input_shape().iter().product()];
        model.run(&zeros)?;
        let mut warnings = Vec::new();
        let cycles = self.cycles(bytes, what, &mut warnings)?;
        Ok(Measurement {
            board: self.board.name.clone(),
            backend: self.backend().into(),
            kind: Kind::Predicted,
            latency_ms: Latency::predicted(self.ms(cycles)),
            cycles: Some(cycles),
            instructions: None,
            ram_bytes: None,
            flash_bytes: Some(bytes.len() as u64),
            warnings,
            board_facts: None,
            ops: None,
            front_end: None,
        })
    }
}
