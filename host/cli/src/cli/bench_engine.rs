//! `edgenas bench engine`: the device engine's speed on the host next to tract's, on the same
//! ONNX models, timed side by side in one run.

use std::time::Instant;

use anyhow::Result;
use edgenas::candidate::Candidate;
use edgenas::compile::{self, HostEngine};
use edgenas::export::TractModel;
use edgenas::measure::export_untrained;
use edgenas::rng::Rng;
use edgenas::space::load_space;
use edgenas_engine::blob::{Blob, OpKind, OpRecord};
use serde_json::json;

use super::bench::median;
use super::format::Table;

#[derive(Debug, clap::Args)]
pub struct EngineArgs {
    /// Random genotypes per space.
    #[arg(long, default_value_t = 2, value_parser = super::numbers::count)]
    per_space: usize,
    /// Timed runs of each model by each runtime (alternating, after 3 warm-up runs each).
    #[arg(long, default_value_t = 30, value_parser = super::numbers::count)]
    runs: usize,
    /// Spaces (shipped names or paths).
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "ds-cnn,mobilenetv2-tiny,resnet-tiny,nb201"
    )]
    spaces: Vec<String>,
    /// The seed genotypes are drawn with.
    #[arg(long, default_value_t = 0, value_parser = super::numbers::seed)]
    seed: u64,
    /// Print JSON instead of tables.
    #[arg(long)]
    json: bool,
}

/// The kinds of MAC work the per-kind table reports.
const KINDS: [&str; 4] = ["conv", "depthwise", "pointwise", "dense"];

/// The MAC kind and count of an op, if it does MACs.
fn mac_work(blob: &Blob, op: &OpRecord) -> Option<(usize, u64)> {
    let out = blob.tensor(op.output as usize)?;
    let input = blob.tensor(op.inputs[0] as usize)?;
    let in_c = *input.shape().get(1)? as u64;
    let g = op.geometry;
    let (kind, per_output) = match op.kind {
        OpKind::Dense => (3, input.elements() as u64),
        OpKind::Conv => {
            let taps = g.kernel[0] as u64 * g.kernel[1] as u64;
            let kind = if g.groups > 1 && g.groups as u64 == in_c {
                1
            } else if taps == 1 {
                2
            } else {
                0
            };
            (kind, in_c / g.groups.max(1) as u64 * taps)
        }
        _ => return None,
    };
    Some((kind, out.elements() as u64 * per_output))
}

/// Median times (ms) of one model: whole runs of the engine and of tract, alternating, and of
/// each engine op.
struct Timing {
    engine_ms: f64,
    tract_ms: f64,
    per_kind: [(u64, f64); 4],
}

fn time_model(onnx: &[u8], runs: usize) -> Result<Timing> {
    let compiled = compile::compile(onnx, "model")?;
    let tract = TractModel::load(onnx, "model")?;
    let mut host = HostEngine::new(&compiled.blob)?;
    let n: usize = tract.input_shape().iter().product();
    let mut rng = Rng::new(3);
    let x: Vec<f32> = (0..n).map(|_| (rng.unit() * 2.0 - 1.0) as f32).collect();
    let mut tract_run = tract.runner(&x)?;
    let mut e = host.engine().map_err(anyhow::Error::msg)?;
    let input = compile::to_bytes(&e.input(), &x);
    let blob = *e.blob();
    let ops = e.ops();
    let (mut engine, mut theirs) = (Vec::new(), Vec::new());
    let mut per_op = vec![Vec::new(); ops];
    for run in 0..runs + 3 {
        let t = Instant::now();
        tract_run().map_err(anyhow::Error::msg)?;
        let tract_ms = t.elapsed().as_secs_f64() * 1e3;
        let t = Instant::now();
        e.tensor_mut(blob.header().input as usize)
            .copy_from_slice(&input);
        let mut op_ms = Vec::with_capacity(ops);
        for i in 0..ops {
            let s = Instant::now();
            e.run_op(i)?;
            op_ms.push(s.elapsed().as_secs_f64() * 1e3);
        }
        let engine_ms = t.elapsed().as_secs_f64() * 1e3;
        if run >= 3 {
            theirs.push(tract_ms);
            engine.push(engine_ms);
            for (v, ms) in per_op.iter_mut().zip(op_ms) {
                v.push(ms);
            }
        }
    }
    let mut per_kind = [(0u64, 0f64); 4];
    for (i, times) in per_op.iter_mut().enumerate() {
        let Some(op) = blob.op(i) else { continue };
        if let Some((kind, macs)) = mac_work(&blob, &op) {
            per_kind[kind].0 += macs;
            per_kind[kind].1 += median(times);
        }
    }
    Ok(Timing {
        engine_ms: median(&mut engine),
        tract_ms: median(&mut theirs),
        per_kind,
    })
}

pub fn engine(args: EngineArgs) -> Result<()> {
    let mut rows = Vec::new();
    let mut kinds = [[(0u64, 0f64); 4]; 2];
    for name in &args.spaces {
        let space = load_space(name)?;
        let mut rng = Rng::new(args.seed);
        for _ in 0..args.per_space {
            let c = Candidate::new(&space, space.sample(&mut rng))?;
            let mut row = json!({
                "space": name,
                "genotype": c.genotype.to_string(),
                "macs": c.costs.macs,
            });
            for (k, (int8, label)) in [(true, "int8"), (false, "f32")].into_iter().enumerate() {
                let onnx = export_untrained(&c.network, int8, 1)?;
                let t = time_model(&onnx, args.runs)?;
                for (acc, (macs, ms)) in kinds[k].iter_mut().zip(t.per_kind) {
                    acc.0 += macs;
                    acc.1 += ms;
                }
                row[label] = json!({
                    "engine_ms": t.engine_ms,
                    "tract_ms": t.tract_ms,
                    "engine_mmacs_per_s": c.costs.macs as f64 / t.engine_ms / 1e3,
                    "tract_mmacs_per_s": c.costs.macs as f64 / t.tract_ms / 1e3,
                });
            }
            rows.push(row);
        }
    }
    let per_kind: Vec<_> = KINDS
        .iter()
        .enumerate()
        .map(|(i, kind)| {
            let rate = |(macs, ms): (u64, f64)| (ms > 0.0).then(|| macs as f64 / ms / 1e3);
            json!({
                "kind": kind,
                "macs": kinds[0][i].0,
                "int8_mmacs_per_s": rate(kinds[0][i]),
                "f32_mmacs_per_s": rate(kinds[1][i]),
            })
        })
        .collect();
    if args.json {
        return super::print_json(
            &json!({ "models": rows, "engine_kernels": per_kind, "runs": args.runs }),
        );
    }
    let mut t = Table::new(&[
        "space",
        ">MMACs",
        ">int8 engine ms",
        ">tract QDQ ms",
        ">engine/tract",
        ">f32 engine ms",
        ">tract f32 ms",
        ">engine/tract",
    ]);
    for r in &rows {
        let f = |p: &str, k: &str| r[p][k].as_f64().unwrap_or(f64::NAN);
        t.row(vec![
            r["space"].as_str().unwrap_or("").into(),
            format!("{:.2}", r["macs"].as_f64().unwrap_or(0.0) / 1e6),
            format!("{:.3}", f("int8", "engine_ms")),
            format!("{:.3}", f("int8", "tract_ms")),
            format!("{:.2}", f("int8", "engine_ms") / f("int8", "tract_ms")),
            format!("{:.3}", f("f32", "engine_ms")),
            format!("{:.3}", f("f32", "tract_ms")),
            format!("{:.2}", f("f32", "engine_ms") / f("f32", "tract_ms")),
        ]);
    }
    print!("{}", t.render());
    println!("\nengine kernels (median time per op, summed over the models above):");
    let mut k = Table::new(&["kind", ">MMACs", ">int8 MMAC/s", ">f32 MMAC/s"]);
    for p in &per_kind {
        let rate = |key: &str| p[key].as_f64().map_or("-".into(), |v| format!("{v:.0}"));
        k.row(vec![
            p["kind"].as_str().unwrap_or("").into(),
            format!("{:.2}", p["macs"].as_f64().unwrap_or(0.0) / 1e6),
            rate("int8_mmacs_per_s"),
            rate("f32_mmacs_per_s"),
        ]);
    }
    print!("{}", k.render());
    println!(
        "\n(medians of {} alternating runs; tract folds a QDQ model into f32 convolutions)",
        args.runs
    );
    Ok(())
}
