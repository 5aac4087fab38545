//! `edgenas inspect`: one genotype's layers and static costs, and whether it fits a board.

use anyhow::{Context, Result};
use edgenas::board::{Board, load_board};
use edgenas::candidate::Candidate;
use edgenas::cost::{DType, Fit};
use edgenas::data::ForData;
use edgenas::network::Layer;
use edgenas::space::{SearchSpace, nb201};
use serde_json::json;

use super::format::{Table, bytes, count, margin};
use super::named;
use super::pick::CandidateArgs;

/// Arguments of `edgenas inspect`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pick: CandidateArgs,
    /// A board (shipped name or path): say whether the network fits it and by how much.
    #[arg(long)]
    board: Option<String>,
    /// Decode for this data set's sample shape and classes, as `train` does (digits,
    /// image-folder:PATH, csv:PATH[#COLUMN], npy:X.npy,Y.npy).
    #[arg(long)]
    data: Option<String>,
    /// Datum type that RAM, flash and the fit are computed for.
    #[arg(long, value_parser = named::<DType>(), default_value = "int8")]
    dtype: DType,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

pub fn run(args: Args) -> Result<()> {
    let (space, genotype) = args.pick.load()?;
    let board = args.board.as_deref().map(load_board).transpose()?;
    let text = genotype.to_text();
    let (candidate, class_names) = match &args.data {
        Some(spec) => {
            let (c, dataset) = Candidate::for_data(&space, genotype, spec, 0)?;
            (c, dataset.class_names)
        }
        None => (
            Candidate::new(&space, genotype).with_context(|| format!("decoding {text}"))?,
            Vec::new(),
        ),
    };
    let dtype = args.dtype;
    let fit = board.as_ref().map(|b| candidate.fit(b, dtype));
    if args.json {
        let mut value = to_json(&space, &candidate, board.as_ref(), dtype, fit.as_ref());
        value["class_names"] = json!(class_names);
        super::print_json(&value)
    } else {
        let text = to_text(
            &space,
            &candidate,
            &class_names,
            board.as_ref(),
            dtype,
            fit.as_ref(),
        );
        print!("{text}");
        Ok(())
    }
}

fn to_json(
    space: &SearchSpace,
    c: &Candidate,
    board: Option<&Board>,
    dtype: DType,
    fit: Option<&Fit>,
) -> serde_json::Value {
    let net = &c.network;
    let (fe_ram, fe_flash) = c.front_end_bytes();
    let layers: Vec<_> = net
        .nodes
        .iter()
        .enumerate()
        .map(|(i, n)| {
            json!({
                "name": n.name,
                "op": n.layer.op().kind(),
                "attributes": n.layer.op().attributes(),
                "layer": n.layer,
                "inputs": n.inputs.iter().map(|&j| net.nodes[j].name.clone()).collect::<Vec<_>>(),
                "output": n.shape.dims(),
                "params": c.costs.layers[i].params,
                "macs": c.costs.layers[i].macs,
            })
        })
        .collect();
    let by_dtype = |d: DType| {
        let dc = c.costs.device(d);
        json!({ "peak_ram_bytes": dc.peak_ram_bytes, "model_bytes": dc.model_bytes })
    };
    json!({
        "space": space.name,
        "genotype": c.genotype.to_json(),
        "genotype_text": c.genotype.to_text(),
        "hash": c.genotype.hash(),
        "nb201_arch": nb201::arch_string(&c.genotype),
        "input": net.input_shape().dims(),
        "front_end": c.front_end,
        "front_end_ram_bytes": fe_ram,
        "front_end_flash_bytes": fe_flash,
        "front_end_latency_ms": c.front_end.zip(board).and_then(|(f, b)| f.predicted_ms(b)),
        "classes": net.classes,
        "layers": layers,
        "params": c.costs.params,
        "macs": c.costs.macs,
        "dtype": dtype.name(),
        "peak_ram_bytes": c.costs.device(dtype).peak_ram_bytes,
        "model_bytes": c.costs.device(dtype).model_bytes,
        "flash_bytes": c.flash_bytes(board, dtype),
        "by_dtype": { "int8": by_dtype(DType::Int8), "f32": by_dtype(DType::F32) },
        "board": board.map(|b| b.name.clone()),
        "fit": fit,
        "fits": fit.map(|f| f.fits),
    })
}

/// The layer table and totals; `class_names` (from `--data`) name the outputs.
fn to_text(
    space: &SearchSpace,
    c: &Candidate,
    class_names: &[String],
    board: Option<&Board>,
    dtype: DType,
    fit: Option<&Fit>,
) -> String {
    let net = &c.network;
    let mut out = format!("space     {} ({})\n", space.name, space.source);
    out += &format!("genotype  {}\n", c.genotype);
    if let Some(arch) = nb201::arch_string(&c.genotype) {
        out += &format!("nb201     {arch}\n");
    }
    out += &format!("hash      {}\n", c.genotype.hash());
    if let Some(f) = c.front_end {
        out += &format!(
            "front end {}, {} MACs (f32)\n",
            f.summary(),
            count(f.macs())
        );
    }
    let names = match class_names {
        [] => String::new(),
        names => format!(": {}", names.join(", ")),
    };
    out += &format!(
        "input     {}, {} classes{names}\n\n",
        net.input_shape(),
        net.classes
    );
    let mut t = Table::new(&[
        ">#", "layer", "op", "attrs", "inputs", ">output", ">params", ">MACs",
    ]);
    for (i, n) in net.nodes.iter().enumerate() {
        if matches!(n.layer, Layer::Input(_)) {
            continue;
        }
        let inputs: Vec<String> = n.inputs.iter().map(|j| j.to_string()).collect();
        let l = &c.costs.layers[i];
        t.row(vec![
            i.to_string(),
            n.name.clone(),
            n.layer.op().kind().into(),
            n.layer.op().attributes(),
            inputs.join(","),
            n.shape.to_string(),
            l.params.to_string(),
            count(l.macs),
        ]);
    }
    out += &t.render();
    let (i8c, f32c) = (c.costs.int8, c.costs.f32);
    out += &format!(
        "\nparams    {} ({})\n",
        c.costs.params,
        count(c.costs.params)
    );
    out += &format!("MACs      {} ({})\n", c.costs.macs, count(c.costs.macs));
    out += &format!(
        "peak RAM  int8 {} ({} B)   f32 {} ({} B)   [activation arena]\n",
        bytes(i8c.peak_ram_bytes as u64),
        i8c.peak_ram_bytes,
        bytes(f32c.peak_ram_bytes as u64),
        f32c.peak_ram_bytes
    );
    out += &format!(
        "model     int8 {} ({} B)   f32 {} ({} B)   [device model in flash]\n",
        bytes(i8c.model_bytes as u64),
        i8c.model_bytes,
        bytes(f32c.model_bytes as u64),
        f32c.model_bytes
    );
    let (fe_ram, fe_flash) = c.front_end_bytes();
    if c.front_end.is_some() {
        out += &format!(
            "front end RAM {} ({fe_ram} B: clip and scratch)   flash {} ({fe_flash} B: tables)\n",
            bytes(fe_ram),
            bytes(fe_flash)
        );
    }
    let (arena, model) = if c.front_end.is_some() {
        ("arena + front end", "model + front end")
    } else {
        ("arena", "model")
    };
    if let (Some(b), Some(f)) = (board, fit) {
        out += &format!(
            "\nboard     {} ({}), {}\n",
            b.name,
            b.description,
            dtype.name()
        );
        out += &need_line(
            "RAM",
            arena,
            f.ram_needed_bytes,
            b.memory.runtime_ram_bytes,
            f.ram_available_bytes,
            f.ram_margin_bytes,
        );
        out += &need_line(
            "flash",
            model,
            f.flash_needed_bytes,
            b.memory.runtime_flash_bytes,
            f.flash_available_bytes,
            f.flash_margin_bytes,
        );
        if let Some(ms) = c.front_end.and_then(|fe| fe.predicted_ms(b)) {
            out += &format!("front end {ms:.2} ms predicted on the board (before the network)\n");
        }
        out += &format!("fits      {}\n", if f.fits { "yes" } else { "NO" });
    }
    out
}

/// `RAM       29.0 KiB needed (arena + 16.0 KiB runtime) of 320.0 KiB, margin +291.0 KiB`.
fn need_line(
    label: &str,
    what: &str,
    needed: u64,
    runtime: u64,
    available: Option<u64>,
    margin_bytes: Option<i64>,
) -> String {
    let available = available.map_or("unlimited".into(), bytes);
    let margin = margin_bytes.map_or(String::new(), |m| format!(", margin {}", margin(m)));
    format!(
        "{label:<9} {} needed ({what} + {} runtime) of {available}{margin}\n",
        bytes(needed),
        bytes(runtime)
    )
}
