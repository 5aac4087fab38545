//! Calibrating the per-kernel predictor: random kernel configurations, chained a few to a
//! model, measured op by op on a board whose meter reports each op's cycles (an emulated
//! board by the QEMU plugin, a microcontroller by the firmware's DWT stamps), then fitted
//! ([`fit_kernel_model`]).
//!
//! As nn-Meter samples kernel configurations rather than whole networks, the set draws each
//! op's kind and geometry at random (channels 1–96, maps 3–48 pixels, kernels 1–7 and
//! keyword-spotting stems of 10×4, strides 1 and 2, pools, additions, activations, dense layers of 8–1024 inputs) from its own seed, so
//! it shares no network with a space a search or a benchmark draws from.

use super::calibrate::export_untrained;
use super::kernel_model::{KernelSample, ModelCounts, fit_kernel_model, model_counts};
use super::mcu::compile_with_input;
use super::{MeasureError, Meter};
use edgenas_engine::blob::Blob;
use edgenas_model::board::KernelModel;
use edgenas_model::network::layers::{
    Activation, ActivationKind, Add, BatchNorm, Conv2d, Dense, GlobalAvgPool, Layer, Pool,
    PoolKind, Softmax, Zero,
};
use edgenas_model::network::{Builder, Network, Shape};
use edgenas_model::rng::Rng;

/// `count` random chains of kernels drawn with `seed`: each a few convolutions (general,
/// depthwise, pointwise), pools, additions and activations on one map, some ending in a global
/// pool and a dense layer.
pub fn kernel_models(count: usize, seed: u64) -> Vec<(String, Network)> {
    let mut rng = Rng::new(seed ^ 0x6b65_726e_656c);
    (0..count).map(|i| chain(&mut rng, i)).collect()
}

fn pick<T: Copy>(rng: &mut Rng, items: &[T]) -> T {
    items[rng.below(items.len())]
}

fn chain(rng: &mut Rng, index: usize) -> (String, Network) {
    if rng.below(6) == 0 {
        let inputs = pick(rng, &[8, 16, 40, 64, 100, 256, 400, 1024]);
        let outputs = pick(rng, &[2, 5, 10, 12, 32, 64, 128]);
        let mut b = Builder::new(Shape::Vector(inputs), 10);
        let dense = Layer::Dense(Dense {
            out_features: outputs,
            bias: true,
        });
        let mut x = b.add("dense", dense, &[0]).expect("a dense layer fits");
        if rng.below(2) == 0 {
            x = b
                .add("softmax", Layer::Softmax(Softmax), &[x])
                .expect("a softmax fits a vector");
        }
        b.set_current(x);
        return (format!("k{index} dense {inputs}->{outputs}"), b.finish());
    }
    let c = pick(rng, &[1, 3, 4, 8, 12, 16, 24, 32, 48, 64, 96]);
    let hw = 3 + rng.below(46);
    let mut b = Builder::new(Shape::Image { c, h: hw, w: hw }, 10);
    b.set_block("k");
    let mut x = b.current();
    let mut names = Vec::new();
    for step in 0..2 + rng.below(4) {
        let Shape::Image { c, h, .. } = b.shape(x) else {
            break;
        };
        let conv = |out_channels, kernel: [usize; 2], stride, groups| {
            Layer::Conv2d(Conv2d {
                out_channels,
                kernel,
                stride: [stride; 2],
                padding: kernel.map(|k| k / 2),
                groups,
                bias: true,
            })
        };
        let largest = [1, 3, 5, 7]
            .into_iter()
            .filter(|&k| k <= h)
            .max()
            .unwrap_or(1);
        let kernel = pick(rng, &[1, 3, 3, 5, 7]).min(largest);
        let stride = if h >= 6 { pick(rng, &[1, 1, 2]) } else { 1 };
        if rng.below(10) == 0 {
            // A constant zero map added in: NB-201's `none` edges (a Fill op).
            let zero = Layer::Zero(Zero { shape: b.shape(x) });
            let z = b.add(&format!("zero{step}"), zero, &[]).expect("zeros fit");
            x = b
                .add(&format!("op{step}"), Layer::Add(Add), &[x, z])
                .expect("same shapes add");
            names.push("zero add".into());
            continue;
        }
        // Two activations in a row do not compile in int8 (the second has no quantised input:
        // noted in the issue), so an activation never follows one.
        let after_activation = names.last().is_some_and(|n: &String| n == "activation");
        let (label, layer) = match rng.below(if after_activation { 8 } else { 9 }) {
            0 | 1 => {
                let out = pick(rng, &[4, 8, 16, 24, 32, 48, 64]);
                // Now and then a keyword-spotting stem: DS-CNN's 10×4 window of stride 2.
                if h >= 12 && rng.below(4) == 0 {
                    ("conv10x4/2".into(), conv(out, [10, 4], 2, 1))
                } else {
                    let kernel = kernel.max(3).min(largest);
                    (
                        format!("conv{kernel}/{stride}"),
                        conv(out, [kernel; 2], stride, 1),
                    )
                }
            }
            2 | 3 => {
                // On a small map, now and then a window larger than the map, as the late
                // stages of a MobileNet have: the engine runs those on another kernel.
                let kernel = if h < 7 && rng.below(3) == 0 {
                    pick(rng, &[5, 7])
                } else {
                    kernel.max(3).min(largest)
                };
                (
                    format!("depthwise{kernel}/{stride}"),
                    conv(c, [kernel; 2], stride, c),
                )
            }
            // Strided as a residual network's shortcut is, now and then.
            4 => (
                format!("pointwise/{stride}"),
                conv(pick(rng, &[4, 8, 16, 32, 64, 96]), [1, 1], stride, 1),
            ),
            5 if h >= 2 => {
                let kind = pick(rng, &[PoolKind::Max, PoolKind::Avg]);
                let k = pick(rng, &[2, 3]).min(h);
                let padding = if k == 3 { rng.below(2) } else { 0 };
                (
                    format!("pool{k}"),
                    Layer::Pool(Pool {
                        kind,
                        kernel: k,
                        stride: pick(rng, &[1, 2]),
                        padding,
                        count_include_pad: rng.below(2) == 0,
                    }),
                )
            }
            6 => ("add".into(), Layer::Add(Add)),
            7 => (
                "batch_norm".into(),
                Layer::BatchNorm(BatchNorm { epsilon: 1e-5 }),
            ),
            _ => {
                let kind = pick(
                    rng,
                    &[
                        ActivationKind::Relu,
                        ActivationKind::Relu6,
                        ActivationKind::HardSwish,
                    ],
                );
                ("activation".into(), Layer::Activation(Activation { kind }))
            }
        };
        let inputs = if matches!(layer, Layer::Add(_)) {
            vec![x, x]
        } else {
            vec![x]
        };
        match b.add(&format!("op{step}"), layer, &inputs) {
            Ok(next) => {
                x = next;
                names.push(label);
            }
            Err(_) => continue,
        }
    }
    if rng.below(3) == 0 {
        x = b
            .add("gap", Layer::GlobalAvgPool(GlobalAvgPool), &[x])
            .expect("a global pool fits any map");
        x = b.flat(x).expect("a pooled map flattens");
        let dense = Layer::Dense(Dense {
            out_features: pick(rng, &[2, 10, 12]),
            bias: true,
        });
        x = b.add("dense", dense, &[x]).expect("a dense layer fits");
        x = b
            .add("softmax", Layer::Softmax(Softmax), &[x])
            .expect("a softmax fits a vector");
        names.push("gap dense softmax".into());
    }
    b.set_current(x);
    (
        format!("k{index} {c}x{hw}x{hw} {}", names.join(" ")),
        b.finish(),
    )
}

/// The loop counts of the ONNX model `bytes` compiled for the engine.
pub fn compiled_counts(bytes: &[u8], name: &str) -> Result<ModelCounts, MeasureError> {
    let (compiled, _) = compile_with_input(bytes, name)?;
    let blob = Blob::parse(&compiled.blob).map_err(edgenas_engine::Error::from)?;
    Ok(model_counts(&blob)?)
}

/// Measures `bytes` with `meter` (which must report each op's cycles) as a sample of the
/// kernel model.
pub fn measure_sample(
    meter: &dyn Meter,
    bytes: &[u8],
    name: &str,
) -> Result<KernelSample, MeasureError> {
    let counts = compiled_counts(bytes, name)?;
    let m = meter.measure(bytes, name)?;
    let no_ops = || {
        MeasureError::Unreachable(format!(
            "the {} meter reports no per-op cycles: the kernel model is calibrated on an \
             emulated board (qemu-mps2-an386, qemu-mps2-an500) or a microcontroller through \
             its probe (whose DWT cycle counter runs)",
            meter.backend()
        ))
    };
    let ops = m.ops.as_ref().ok_or_else(no_ops)?;
    let total_cycles = m.cycles.ok_or_else(no_ops)?;
    if ops.len() != counts.ops.len() {
        return Err(MeasureError::Model(format!(
            "{name}: the board reported {} ops of the blob's {}",
            ops.len(),
            counts.ops.len()
        )));
    }
    Ok(KernelSample {
        name: name.to_string(),
        counts,
        op_cycles: ops.iter().map(|o| o.cycles).collect(),
        total_cycles,
    })
}

/// A calibrated kernel model of the board `board_name` from `models` measured with `meter`, f32
/// and int8 (QDQ), with the samples it was fitted on. `progress` hears each model's name.
pub fn calibrate_kernels(
    board_name: &str,
    meter: &dyn Meter,
    models: &[(String, Network)],
    date: &str,
    progress: &mut dyn FnMut(&str),
) -> Result<(KernelModel, Vec<KernelSample>), MeasureError> {
    let mut samples = Vec::new();
    for (name, net) in models {
        for int8 in [false, true] {
            let bytes = export_untrained(net, int8, 0)?;
            let label = format!("{name}{}", if int8 { " int8" } else { "" });
            match measure_sample(meter, &bytes, &label) {
                Ok(sample) => samples.push(sample),
                // A chain the board cannot hold (the MPS2 AN500 has 3 MiB for models) is
                // left out: other chains cover its kernels.
                Err(e) if e.is_too_big() => {}
                Err(e) => return Err(e),
            }
            progress(&label);
        }
    }
    Ok((fit_kernel_model(&samples, board_name, date), samples))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernel_models_are_valid_varied_and_reproducible() {
        let a = kernel_models(60, 3);
        let b = kernel_models(60, 3);
        assert_eq!(
            a.iter().map(|(n, _)| n).collect::<Vec<_>>(),
            b.iter().map(|(n, _)| n).collect::<Vec<_>>()
        );
        let names: String = a.iter().map(|(n, _)| n.as_str()).collect();
        for kind in [
            "conv",
            "depthwise",
            "pointwise",
            "pool",
            "add",
            "dense",
            "softmax",
            "zero",
        ] {
            assert!(names.contains(kind), "no {kind} in {names}");
        }
        for (_, net) in &a {
            export_untrained(net, true, 0).expect("exports");
        }
    }
}
