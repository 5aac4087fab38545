//! Running an ONNX model with tract: what the agent times on the board, and on the host the
//! tract meter and the check of every export.

use std::sync::{Arc, Once};

use tract_onnx::prelude::*;
use tract_onnx::tract_core::knobs;

/// Leaves Intel AMX's int8 kernels out of tract's matrix products, once per process, before
/// tract first probes the machine; every entry to tract here calls it first.
///
/// tract-linalg 0.23.9's `avx512amx_mmm_i32_8x8` reads its packed operand in whole 16-row
/// tiles, past the operand's end: where that end is the end of a mapping, the process dies
/// with SIGSEGV. It did, now and then, in the end-to-end tests on a Sapphire Rapids machine (a
/// core dump placed the fault at its `tileloadd`), and it would in a user's search there.
/// The AVX-512 VNNI kernels take those products instead. This is tract's `TRACT_CPU_ISA`
/// setting at the level of a deployment's defaults, below the environment, so a user's own
/// `TRACT_CPU_ISA` still decides.
pub fn settle_tract() {
    static SETTLE: Once = Once::new();
    SETTLE.call_once(|| {
        // It fails only when another default was set for the knob first: none is here.
        let _ = knobs::set_config_global("TRACT_CPU_ISA", "-amx-int8");
    });
}

/// An ONNX model loaded, optimised and made runnable by tract, with a batch of 1.
pub struct TractModel {
    plan: Arc<TypedRunnableModel>,
    input_shape: Vec<usize>,
    what: String,
}

/// Why tract cannot load or run a model; each names the model (a file name).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TractFailure {
    /// The file is not an ONNX model tract can read, optimise and plan.
    #[error("{what}: tract cannot load it: {message}")]
    Load {
        /// The model.
        what: String,
        /// tract's words.
        message: String,
    },
    /// A value's shape is not fixed.
    #[error("{what}: {value} has no static shape")]
    NotStatic {
        /// The model.
        what: String,
        /// `the input`, or `node NAME`.
        value: String,
    },
    /// A run failed (an input of the wrong size, an op tract cannot evaluate).
    #[error("{what}: tract cannot run it: {message}")]
    Run {
        /// The model.
        what: String,
        /// tract's words.
        message: String,
    },
}

impl TractModel {
    /// Loads a model from its bytes; `what` (a file name) names it in errors. A corrupted or
    /// truncated file is an error, never a panic.
    pub fn load(bytes: &[u8], what: &str) -> Result<TractModel, TractFailure> {
        TractModel::load_observing(bytes, what, &[])
    }

    /// Like [`TractModel::load`], but the model's outputs are the tensors named `outputs`
    /// (intermediate values, to compare with a reference), or the model's own output when
    /// `outputs` is empty.
    pub fn load_observing(
        bytes: &[u8],
        what: &str,
        outputs: &[String],
    ) -> Result<TractModel, TractFailure> {
        settle_tract();
        let fail = |e: TractError| TractFailure::Load {
            what: what.into(),
            message: format!("{e:#}"),
        };
        let mut model = tract_onnx::onnx()
            .model_for_read(&mut &bytes[..])
            .map_err(fail)?;
        if !outputs.is_empty() {
            model
                .select_outputs_by_name(outputs.iter().map(String::as_str))
                .map_err(fail)?;
        }
        let typed = model.into_optimized().map_err(fail)?;
        let input_shape = typed
            .input_fact(0)
            .map_err(fail)?
            .shape
            .as_concrete()
            .ok_or_else(|| TractFailure::NotStatic {
                what: what.into(),
                value: "the input".into(),
            })?
            .to_vec();
        let plan = typed.into_runnable().map_err(fail)?;
        Ok(TractModel {
            plan,
            input_shape,
            what: what.into(),
        })
    }

    /// The input shape, batch included.
    pub fn input_shape(&self) -> &[usize] {
        &self.input_shape
    }

    /// The model's name in errors.
    pub fn what(&self) -> &str {
        &self.what
    }

    /// A run failure of this model.
    fn failed(&self, e: TractError) -> TractFailure {
        TractFailure::Run {
            what: self.what.clone(),
            message: format!("{e:#}"),
        }
    }

    /// Runs one sample (`input` holds the input's elements) and returns the output values.
    pub fn run(&self, input: &[f32]) -> Result<Vec<f32>, TractFailure> {
        Ok(self.run_all(input)?.swap_remove(0))
    }

    /// Runs one sample and returns the values of every output.
    pub fn run_all(&self, input: &[f32]) -> Result<Vec<Vec<f32>>, TractFailure> {
        let tensor = Tensor::from_shape(&self.input_shape, input).map_err(|e| self.failed(e))?;
        let out = self
            .plan
            .run(tvec!(tensor.into_tvalue()))
            .map_err(|e| self.failed(e))?;
        out.iter()
            .map(|t| {
                let view = t.to_plain_array_view::<f32>().map_err(|e| self.failed(e))?;
                Ok(view.iter().copied().collect())
            })
            .collect()
    }

    /// A closure that runs the model once on `input` and drops the result: what a meter
    /// times (the input tensor is built once, outside the timed part).
    pub fn runner(
        &self,
        input: &[f32],
    ) -> Result<impl FnMut() -> Result<(), TractFailure> + '_, TractFailure> {
        let tensor = Tensor::from_shape(&self.input_shape, input)
            .map_err(|e| self.failed(e))?
            .into_tvalue();
        Ok(move || {
            self.plan
                .run(tvec!(tensor.clone()))
                .map(|_| ())
                .map_err(|e| self.failed(e))
        })
    }

    /// Accuracy over samples laid one after another in `x` with their `labels`.
    pub fn accuracy(&self, x: &[f32], labels: &[u32]) -> Result<f64, TractFailure> {
        let size: usize = self.input_shape.iter().product();
        let mut correct = 0;
        for (sample, &label) in x.chunks(size).zip(labels) {
            let out = self.run(sample)?;
            let best = out
                .iter()
                .enumerate()
                .max_by(|a, b| a.1.total_cmp(b.1))
                .map(|(i, _)| i);
            correct += (best == Some(label as usize)) as usize;
        }
        Ok(correct as f64 / labels.len().max(1) as f64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tract_onnx::prelude::tract_linalg::isa::{Isa, native};

    #[test]
    fn tract_leaves_out_the_amx_int8_kernels() {
        settle_tract();
        let isa = native();
        assert!(!isa.iter().any(|i| i == Isa::X86_64AmxInt8), "{isa:?}");
        // Where the machine has AMX int8 (and the kernel lets this process use it), tract
        // would have taken it: there the assertion above is the one that matters.
        #[cfg(target_arch = "x86_64")]
        eprintln!(
            "AMX int8 on this machine: {}",
            tract_onnx::prelude::tract_linalg::x86_64::amx::has_amx_int8()
        );
    }
}
