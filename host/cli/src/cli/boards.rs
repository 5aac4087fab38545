//! `edgenas boards`: list or describe boards.

use anyhow::Result;
use edgenas::board::{Board, SHIPPED_BOARDS, load_board};

use super::format::{Table, bytes};

/// Arguments of `edgenas boards`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Boards to show: shipped names or paths to `.toml` files. Without any, list the shipped
    /// boards.
    boards: Vec<String>,
    /// List the debug probes attached to this machine instead (ST-LINK, J-Link, CMSIS-DAP,
    /// found over USB by probe-rs), each with the chip behind it when probe-rs recognises it.
    #[arg(long, conflicts_with = "boards")]
    probes: bool,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

pub fn run(args: Args) -> Result<()> {
    if args.probes {
        return probes(args.json);
    }
    let names: Vec<String> = if args.boards.is_empty() {
        SHIPPED_BOARDS.iter().map(|(n, _)| n.to_string()).collect()
    } else {
        args.boards.clone()
    };
    let boards = names
        .iter()
        .map(|n| load_board(n))
        .collect::<Result<Vec<Board>, _>>()?;
    if args.json {
        return super::print_json(&serde_json::to_value(&boards)?);
    }
    let mut t = Table::new(&[
        "name",
        "kind",
        "core",
        ">clock",
        ">RAM",
        ">flash",
        "reached through",
        "cost model",
    ]);
    let limit = |b: Option<u64>| b.map_or("unlimited".to_string(), bytes);
    for b in &boards {
        let c = &b.connection;
        let via = [
            c.probe_rs_chip.as_ref().map(|x| format!("probe-rs {x}")),
            c.gdb.as_ref().map(|x| format!("gdb {x}")),
            c.agent.as_ref().map(|x| format!("agent {x}")),
            c.qemu_machine.as_ref().map(|x| format!("qemu {x}")),
        ]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(", ");
        t.row(vec![
            b.name.clone(),
            format!("{:?}", b.kind).to_lowercase(),
            b.core.clone(),
            format!("{} MHz", b.clock_hz / 1_000_000),
            limit(b.memory.ram_bytes),
            limit(b.memory.flash_bytes),
            if via.is_empty() {
                "this machine".into()
            } else {
                via
            },
            b.cost_model
                .as_ref()
                .map_or("none".into(), |m| m.source.clone()),
        ]);
    }
    print!("{}", t.render());
    Ok(())
}

/// `edgenas boards --probes`.
#[cfg(feature = "probe")]
fn probes(json: bool) -> Result<()> {
    let probes = edgenas::measure::mcu::probe::list_probes(true);
    if json {
        return super::print_json(&serde_json::json!({ "probes": probes }));
    }
    if probes.is_empty() {
        println!(
            "No debug probe is attached (probe-rs looked for ST-LINK, J-Link and CMSIS-DAP \
             probes over USB; on Linux, check the udev rules in docs/boards.md)."
        );
        return Ok(());
    }
    let mut t = Table::new(&["probe", "USB id", "serial", "chip"]);
    for p in probes {
        t.row(vec![
            p.identifier,
            p.usb_id,
            p.serial.unwrap_or_default(),
            p.chip.or(p.chip_error).unwrap_or_default(),
        ]);
    }
    print!("{}", t.render());
    Ok(())
}

/// Without the `probe` feature, no probes can be listed.
#[cfg(not(feature = "probe"))]
fn probes(_json: bool) -> Result<()> {
    anyhow::bail!(
        "this edgenas was built without the `probe` feature (probe-rs): build it with default \
         features to list debug probes"
    )
}
