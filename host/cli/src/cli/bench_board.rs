//! `edgenas bench board`: the engine on an emulated Cortex-M board: instructions per MAC of
//! each kernel kind, and MLPerf Tiny's reference networks next to published figures.

use anyhow::Result;
use edgenas::board::{Board, CycleTable, load_board};
use edgenas::candidate::Candidate;
use edgenas::measure::kernel_model;
use edgenas::measure::{
    Meter, OpProfile, QemuMeter, Simulator, compiled_counts, export_untrained, micro_models,
};
use edgenas::space::load_space;
use serde_json::{Value, json};

use super::format::Table;

#[derive(Debug, clap::Args)]
pub struct BoardArgs {
    /// The emulated board.
    #[arg(long, default_value = "qemu-mps2-an386")]
    board: String,
    /// Print JSON instead of tables.
    #[arg(long)]
    json: bool,
}

/// The calibration micro-models whose instructions per MAC are reported (one op each).
const KERNELS: [&str; 7] = [
    "conv3x3 16x16x16",
    "conv3x3 16x32x32",
    "conv3x3 32x32x32",
    "depthwise3x3 32x16x16",
    "depthwise5x5 32x16x16",
    "pointwise 16x16x16",
    "dense 512->256",
];

/// MLPerf Tiny v1.1 reference networks rebuilt in our spaces, with the published latencies on
/// the NUCLEO-L4R5ZI (120 MHz Cortex-M4): ST's submission and the TFLM reference.
/// MLPerf Tiny's networks in our spaces: label, space, genotype, and ST's and the TFLM
/// reference's published v1.1 latencies on the NUCLEO-L4R5ZI (`None`: not recorded here).
#[allow(clippy::type_complexity)]
const MLPERF: [(&str, &str, &str, Option<f64>, Option<f64>); 3] = [
    (
        "DS-CNN (KWS)",
        "ds-cnn",
        "stem.out=64,ds.depth=4,ds.b1.out=64,ds.b2.out=64,ds.b3.out=64,ds.b4.out=64,\
         ds.b1.kernel=3,ds.b2.kernel=3,ds.b3.kernel=3,ds.b4.kernel=3",
        Some(62.87),
        Some(181.92),
    ),
    (
        "ResNet-8 (IC)",
        "resnet-tiny",
        "stages=3,stem.out=16,s1.depth=1,s1.out=16,s2.depth=1,s2.out=32,s3.depth=1,s3.out=64",
        Some(214.00),
        Some(704.23),
    ),
    (
        "MobileNetV1-0.25 (VWW)",
        "mobilenetv1-vww",
        "resolution=96,stem.out=8,s1.out=16,s2.depth=2,s2.out=32,s3.depth=2,s3.out=64,\
         s4.depth=6,s4.out=128,s5.depth=2,s5.out=256",
        None,
        None,
    ),
];

/// The clock of the board MLPerf Tiny's figures were measured on.
const L4R5ZI_HZ: f64 = 120e6;

/// The instructions and cycles of one inference of `onnx`, and each of its ops'.
fn instructions(meter: &QemuMeter, onnx: &[u8], what: &str) -> Result<(u64, f64, Vec<OpProfile>)> {
    let m = meter.measure(onnx, what)?;
    let (Some(total), Some(cycles)) = (m.instructions, m.cycles) else {
        anyhow::bail!("{what}: the QEMU meter counted no instructions");
    };
    Ok((total, cycles, m.ops.unwrap_or_default()))
}

/// Instructions and MACs summed by op kind, the kinds in the order they first run.
fn by_kind(ops: &[OpProfile]) -> Vec<Value> {
    let mut kinds: Vec<(&str, u64, u64)> = Vec::new();
    for p in ops {
        // The QEMU meter counts every op's instructions.
        let instructions = p.instructions.unwrap_or(0);
        match kinds.iter_mut().find(|(k, ..)| *k == p.kind) {
            Some((_, n, macs)) => (*n, *macs) = (*n + instructions, *macs + p.macs),
            None => kinds.push((p.kind, instructions, p.macs)),
        }
    }
    kinds
        .into_iter()
        .map(|(kind, n, macs)| json!({ "kind": kind, "instructions": n, "macs": macs }))
        .collect()
}

pub fn board(args: BoardArgs) -> Result<()> {
    let board: Board = load_board(&args.board)?;
    let meter = QemuMeter::new(&board)?;
    let cycle_model = CycleTable::of(&board.core).map_or_else(
        || {
            format!(
                "instructions × {} cycles per instruction",
                board.connection.cycles_per_instruction.unwrap_or(1.0)
            )
        },
        |t| format!("the {} cycle table: {}", board.core, t.source),
    );
    let models = micro_models();
    let mut kernels = Vec::new();
    for name in KERNELS {
        let (_, net) = models
            .iter()
            .find(|(n, _)| n == name)
            .ok_or_else(|| anyhow::anyhow!("no calibration model {name}"))?;
        let macs = edgenas::cost::costs(net).macs;
        let mut row = json!({ "kernel": name, "macs": macs });
        for (int8, label) in [(true, "int8"), (false, "f32")] {
            let (n, _, ops) = instructions(&meter, &export_untrained(net, int8, 1)?, name)?;
            let [op] = &ops[..] else {
                anyhow::bail!("{name} compiles to {} ops, not one", ops.len());
            };
            anyhow::ensure!(op.macs == macs, "{name}: the op has {} MACs", op.macs);
            let Some(op_n) = op.instructions else {
                anyhow::bail!("{name}: the QEMU meter counted no instructions for its op");
            };
            row[label] = json!({
                "instructions": n,
                "per_mac": n as f64 / macs as f64,
                "op_instructions": op_n,
                "op_per_mac": op_n as f64 / macs as f64,
            });
        }
        kernels.push(row);
    }
    let mut mlperf = Vec::new();
    for (label, space, genotype, st, tflm) in MLPERF {
        let space = load_space(space)?;
        let c = Candidate::new(&space, space.parse_genotype(genotype)?)?;
        let bytes = export_untrained(&c.network, true, 1)?;
        let (n, cycles, ops) = instructions(&meter, &bytes, label)?;
        // What the board file's kernel model predicts, and the L4R5ZI's (its emulated twin's,
        // unless it has its own) through the simulator a search uses.
        let kernel_ms = match &board.kernel_model {
            Some(km) => {
                let counts = compiled_counts(&bytes, label)?;
                Some(kernel_model::predict_cycles(km, &counts)? / L4R5ZI_HZ * 1e3)
            }
            None => None,
        };
        let l4r5 = Simulator::new(load_board("nucleo-l4r5zi")?)?.measure(&bytes, label)?;
        mlperf.push(json!({
            "kernel_model_ms_at_120_mhz": kernel_ms,
            "nucleo_l4r5zi_simulator_ms": l4r5.latency_ms.median,
            "by_kind": by_kind(&ops),
            "network": label,
            "genotype": genotype,
            "macs": c.costs.macs,
            "instructions": n,
            "per_mac": n as f64 / c.costs.macs as f64,
            "cycles": cycles,
            "emulated_ms_at_120_mhz": cycles / L4R5ZI_HZ * 1e3,
            "st_ms": st,
            "tflm_reference_ms": tflm,
        }));
    }
    let out = json!({
        "board": board.name,
        "cycle_model": cycle_model,
        "kernels": kernels,
        "mlperf_tiny": mlperf,
    });
    if args.json {
        return super::print_json(&out);
    }
    print_tables(&out);
    Ok(())
}

/// A published latency, or `-` where none is recorded.
fn published(v: &Value) -> String {
    v.as_f64()
        .map_or_else(|| "-".into(), |ms| format!("{ms:.2}"))
}

fn print_tables(out: &Value) {
    let f = |v: &Value| v.as_f64().unwrap_or(f64::NAN);
    let mut t = Table::new(&[
        "kernel (one op)",
        ">MACs",
        ">int8 op",
        ">int8 model",
        ">f32 op",
        ">f32 model",
    ]);
    for k in out["kernels"].as_array().into_iter().flatten() {
        t.row(vec![
            k["kernel"].as_str().unwrap_or("").into(),
            k["macs"].to_string(),
            format!("{:.2}", f(&k["int8"]["op_per_mac"])),
            format!("{:.2}", f(&k["int8"]["per_mac"])),
            format!("{:.2}", f(&k["f32"]["op_per_mac"])),
            format!("{:.2}", f(&k["f32"]["per_mac"])),
        ]);
    }
    println!(
        "{}: instructions per MAC counted in QEMU, of the op alone and of the whole one-op model \
         (with copying the input in and the output out)",
        out["board"].as_str().unwrap_or("")
    );
    print!("{}", t.render());
    let mut m = Table::new(&[
        "MLPerf Tiny (int8)",
        ">MMACs",
        ">instr/MAC",
        ">ours ms @120 MHz",
        ">kernel model ms",
        ">L4R5ZI simulator ms",
        ">ST ms",
        ">TFLM ref ms",
    ]);
    for r in out["mlperf_tiny"].as_array().into_iter().flatten() {
        m.row(vec![
            r["network"].as_str().unwrap_or("").into(),
            format!("{:.2}", f(&r["macs"]) / 1e6),
            format!("{:.2}", f(&r["per_mac"])),
            format!("{:.1}", f(&r["emulated_ms_at_120_mhz"])),
            format!("{:.1}", f(&r["kernel_model_ms_at_120_mhz"])),
            format!("{:.1}", f(&r["nucleo_l4r5zi_simulator_ms"])),
            published(&r["st_ms"]),
            published(&r["tflm_reference_ms"]),
        ]);
    }
    println!();
    print!("{}", m.render());
    for r in out["mlperf_tiny"].as_array().into_iter().flatten() {
        let mut k = Table::new(&["kind", ">MMACs", ">instructions", ">instr/MAC", ">share"]);
        let total = f(&r["instructions"]);
        for row in r["by_kind"].as_array().into_iter().flatten() {
            let (n, macs) = (f(&row["instructions"]), f(&row["macs"]));
            k.row(vec![
                row["kind"].as_str().unwrap_or("").into(),
                format!("{:.2}", macs / 1e6),
                format!("{n}"),
                if macs > 0.0 {
                    format!("{:.2}", n / macs)
                } else {
                    "-".into()
                },
                format!("{:.1} %", 100.0 * n / total),
            ]);
        }
        println!("\n{} by op kind", r["network"].as_str().unwrap_or(""));
        print!("{}", k.render());
    }
    println!(
        "\n(ours: emulated cycles ÷ 120 MHz, the NUCLEO-L4R5ZI's clock, cycles by {}; \
         published: MLPerf Tiny v1.1 on that board)",
        out["cycle_model"].as_str().unwrap_or("?")
    );
}
