//! `edgenas compile`: an ONNX model to a device blob.

use std::path::PathBuf;

use anyhow::{Context, Result};
use edgenas::compile::{self, HostEngine};
use edgenas::export::{TractModel, c_header, write_path};
use edgenas::rng::Rng;
use edgenas_engine::blob::{Blob, OpKind};
use serde_json::json;

use super::format::{Table, bytes};

/// Arguments of `edgenas compile`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The ONNX model: `model.onnx` (f32) or `model-int8.onnx` (QDQ) from `train --out`, or
    /// another model made of the supported ops (docs/engine.md) with a static input shape.
    model: PathBuf,
    /// Where to write the blob [default: the model's path with the extension `.blob`].
    #[arg(long)]
    out: Option<PathBuf>,
    /// Also write the blob as a C array (16-byte aligned) into this header.
    #[arg(long)]
    header: Option<PathBuf>,
    /// Print JSON: `blob`, `blob_bytes`, `arena_bytes`, `tensors`, `ops` (kind, activation,
    /// input and output shapes, datum type), `check` (the largest difference between the
    /// engine's and tract's outputs on a random input).
    #[arg(long)]
    json: bool,
}

pub fn run(args: Args) -> Result<()> {
    let what = args.model.display().to_string();
    let onnx = std::fs::read(&args.model).with_context(|| format!("cannot read {what}"))?;
    let compiled = compile::compile(&onnx, &what)?;
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| args.model.with_extension("blob"));
    write_path(&out, &compiled.blob)?;
    if let Some(h) = &args.header {
        let name = out
            .file_stem()
            .map_or("model".into(), |s| s.to_string_lossy());
        write_path(
            h,
            c_header(&compiled.blob, &format!("edgenas_blob_{name}"), &what).as_bytes(),
        )?;
    }
    // One random input through the engine and through tract, as a check of the whole chain.
    let mut host = HostEngine::new(&compiled.blob)?;
    let tract = TractModel::load(&onnx, &what)?;
    let mut rng = Rng::new(1);
    let n: usize = tract.input_shape().iter().product();
    let x: Vec<f32> = (0..n).map(|_| (rng.unit() * 2.0 - 1.0) as f32).collect();
    let (ours, high_water) = host.run_f32(&x).map_err(anyhow::Error::msg)?;
    let theirs = tract.run(&x).map_err(anyhow::Error::msg)?;
    let difference = ours
        .iter()
        .zip(&theirs)
        .map(|(a, b)| (a - b).abs())
        .fold(0f32, f32::max);
    let blob = Blob::parse(&compiled.blob).map_err(|e| anyhow::anyhow!("{e}"))?;
    let shape = |t: usize| {
        blob.tensor(t)
            .map(|t| t.shape().to_vec())
            .unwrap_or_default()
    };
    let dtype = |t: usize| blob.tensor(t).map_or("?", |t| t.dtype.name());
    let ops: Vec<_> = (0..blob.header().ops as usize)
        .filter_map(|i| blob.op(i))
        .map(|op| {
            json!({
                "kind": format!("{:?}", op.kind),
                "activation": format!("{:?}", op.activation),
                "inputs": op.input_tensors().map(shape).collect::<Vec<_>>(),
                "output": shape(op.output as usize),
                "dtype": dtype(op.output as usize),
                "constant_bytes": if op.kind.has_constants() { op.constants().len() } else { 0 },
            })
        })
        .collect();
    if args.json {
        return super::print_json(&json!({
            "blob": out,
            "blob_bytes": compiled.blob.len(),
            "arena_bytes": compiled.arena_bytes,
            "high_water_bytes": high_water,
            "tensors": blob.header().tensors,
            "ops": ops,
            "check": { "max_abs_difference_from_tract": difference },
        }));
    }
    let mut table = Table::new(&[">op", "kind", "activation", "type", "output", ">constants"]);
    for (i, op) in ops.iter().enumerate() {
        let text = |k: &str| op[k].as_str().unwrap_or("").to_string();
        table.row(vec![
            i.to_string(),
            text("kind"),
            text("activation"),
            text("dtype"),
            op["output"].to_string(),
            bytes(op["constant_bytes"].as_u64().unwrap_or(0)),
        ]);
    }
    print!("{}", table.render());
    let convs = ops
        .iter()
        .filter(|o| o["kind"] == format!("{:?}", OpKind::Conv))
        .count();
    println!(
        "blob      {} ({}; {} tensors, {} ops, {convs} convolutions)",
        out.display(),
        bytes(compiled.blob.len() as u64),
        blob.header().tensors,
        ops.len()
    );
    println!(
        "arena     {} (high-water mark of a run: {})",
        bytes(compiled.arena_bytes as u64),
        bytes(high_water as u64)
    );
    println!("check     largest |engine − tract| on a random input: {difference:.3e}");
    Ok(())
}
