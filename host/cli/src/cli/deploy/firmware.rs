//! `edgenas deploy --target firmware`: our firmware with the model baked in (the `edgenas-app`
//! binary of `device/firmware`), built for a board and checked against its memory map.

use std::ops::Range;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, Result, bail};
use edgenas::board::{Board, BoardKind, load_board};
use edgenas::compile::{HostEngine, from_bytes, to_bytes};
use object::Endianness;
use object::elf::{FileHeader32, PT_LOAD};
use object::read::elf::{FileHeader, ProgramHeader};
use serde_json::{Value, json};

use super::toolchain::{CARGO, RUSTC, check_debian_rust, cortex_m, source_tree};
use super::{Exported, latency_text, tensor_text, write_all};

/// The folder under OUT with what the image bakes in (`EDGENAS_APP_DIR` of the build).
const APP_DIR: &str = "app";

/// A board the firmware builds for: a Cortex-M4 or M7 with a memory map.
struct Target {
    board: Board,
    /// `EDGENAS_BOARD` for the firmware's build script: a shipped name or the file's path.
    board_arg: String,
    flash: Range<u64>,
    ram: Range<u64>,
}

impl Target {
    fn new(name_or_path: &str) -> Result<Target> {
        let board = load_board(name_or_path)?;
        if !matches!(board.kind, BoardKind::Mcu | BoardKind::Emulator) {
            bail!(
                "{}: --target firmware is for microcontrollers; a {:?} board runs `edgenas deploy --target c` or the agent",
                board.name,
                board.kind
            );
        }
        if !matches!(cortex_m(&board), Some(("thumbv7em-none-eabihf", ..))) {
            bail!(
                "{}: the firmware builds for Cortex-M4 and M7 cores with an FPU, not {}; deploy with --target c --board instead",
                board.name,
                board.core
            );
        }
        let m = &board.memory;
        let (Some(flash_origin), Some(flash), Some(ram_origin), Some(ram)) =
            (m.flash_origin, m.flash_bytes, m.ram_origin, m.ram_bytes)
        else {
            bail!(
                "{}: the board file needs [memory] flash_origin, flash_bytes, ram_origin and ram_bytes to build a firmware (docs/boards.md)",
                board.name
            );
        };
        let board_arg = match name_or_path.ends_with(".toml") {
            true => std::fs::canonicalize(name_or_path)
                .with_context(|| format!("--board {name_or_path}"))?
                .to_string_lossy()
                .into_owned(),
            false => board.name.clone(),
        };
        Ok(Target {
            flash: flash_origin..flash_origin + flash,
            ram: ram_origin..ram_origin + ram,
            board,
            board_arg,
        })
    }

    /// Whether QEMU runs it (the image then prints over semihosting too, and exits).
    fn emulated(&self) -> bool {
        self.board.kind == BoardKind::Emulator
    }
}

/// What the image prints for the baked input: the host engine's run of it.
struct Expected {
    class: usize,
    label: String,
    output: Vec<u8>,
    /// The output bytes in hex, as the image prints them.
    hex: String,
}

/// The baked input, a test sample from `check.json` in the input tensor's bytes, and what the
/// host engine makes of it.
fn baked_input(model: &Exported) -> Result<(Vec<u8>, Expected)> {
    let check: Value = serde_json::from_slice(&model.file("check.json")?)
        .context("check.json is not JSON: export the model again")?;
    let sample: Vec<f32> = check["samples"][0]
        .as_array()
        .context("check.json has no sample: export the model again")?
        .iter()
        .map(|v| v.as_f64().unwrap_or(0.0) as f32)
        .collect();
    let mut host = HostEngine::new(&model.blob)?;
    let mut engine = host.engine()?;
    let (input, output) = (engine.input(), engine.output());
    if sample.len() != input.elements() {
        bail!(
            "check.json's sample has {} values, the model's input {}: export the model again",
            sample.len(),
            input.elements()
        );
    }
    let x = to_bytes(&input, &sample);
    let mut y = vec![0u8; output.bytes as usize];
    engine.run(&x, &mut y)?;
    let class = super::super::evaluate::argmax(&from_bytes(&output, &y));
    let label = model.classes.get(class).cloned().unwrap_or("?".into());
    let hex: Vec<String> = y.iter().map(|b| format!("{b:02x}")).collect();
    Ok((
        x,
        Expected {
            class,
            label,
            output: y,
            hex: hex.join(" "),
        },
    ))
}

/// `app.rs`: the constants the image is built with.
fn constants(model: &Exported, target: &Target) -> Result<String> {
    let labels: Vec<String> = model.classes.iter().map(|c| format!("{c:?}")).collect();
    Ok(format!(
        "// Written by `edgenas deploy --target firmware` from {dir}; read by\n\
         // device/firmware/src/bin/app.rs.\n\
         pub const BOARD: &str = {board:?};\n\
         pub const CLOCK_HZ: u32 = {clock};\n\
         pub const CACHES: bool = {caches};\n\
         pub const ARENA_BYTES: usize = {arena};\n\
         pub const OUTPUT_BYTES: usize = {output};\n\
         pub const LABELS: &[&str] = &[{labels}];\n",
        dir = model.dir.display(),
        board = target.board.name,
        clock = u32::try_from(target.board.clock_hz).context("the board's clock_hz")?,
        caches = target.board.core == "cortex-m7",
        arena = model.info["arena_bytes"],
        output = model.info["output"]["bytes"],
        labels = labels.join(", "),
    ))
}

/// Builds `edgenas-app` for `target` with the files in `app` baked in; returns the ELF.
fn build(target: &Target, app: &Path) -> Result<PathBuf> {
    check_debian_rust()?;
    let source = source_tree()?.join("device/firmware");
    let target_dir = source.join("target/app").join(&target.board.name);
    let features = match target.emulated() {
        true => "app,semihosting",
        false => "app",
    };
    eprintln!(
        "building the firmware for {} ({}) with Debian's cargo …",
        target.board.name,
        source.display()
    );
    let status = Command::new(CARGO)
        .current_dir(&source)
        .env("RUSTC", RUSTC)
        .env("RUSTC_BOOTSTRAP", "1")
        .env("EDGENAS_BOARD", &target.board_arg)
        .env("EDGENAS_APP_DIR", app)
        .args(["build", "--release", "--locked", "--bin", "edgenas-app"])
        .args(["--features", features, "--target-dir"])
        .arg(&target_dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .status()
        .with_context(|| format!("cannot run {CARGO}"))?;
    if !status.success() {
        bail!(
            "the firmware did not build for {} ({status}): cargo's messages are above",
            target.board.name
        );
    }
    Ok(target_dir.join("thumbv7em-none-eabihf/release/edgenas-app"))
}

/// A loadable segment of the image: where it is loaded (flash) and where it runs.
struct Segment {
    load: Range<u64>,
    run: Range<u64>,
}

/// Checks that the image's entry point and every loadable segment lie in the board's flash and
/// RAM; returns what the JSON reports of it (entry, flash and RAM bytes, segments).
fn check_elf(bytes: &[u8], target: &Target) -> Result<Value> {
    let header = FileHeader32::<Endianness>::parse(bytes).context("not an ELF32 file")?;
    let endian = header.endian()?;
    let entry = u64::from(header.e_entry(endian)) & !1;
    let within = |r: &Range<u64>, map: &Range<u64>| map.start <= r.start && r.end <= map.end;
    let inside = |at: u64, map: &Range<u64>| map.contains(&at);
    if !inside(entry, &target.flash) {
        bail!(
            "the image's entry point {entry:#x} is not in {}'s flash {:#x}..{:#x}",
            target.board.name,
            target.flash.start,
            target.flash.end
        );
    }
    let mut segments = Vec::new();
    for ph in header.program_headers(endian, bytes)? {
        if ph.p_type(endian) != PT_LOAD || ph.p_memsz(endian) == 0 {
            continue;
        }
        let (paddr, vaddr) = (u64::from(ph.p_paddr(endian)), u64::from(ph.p_vaddr(endian)));
        let s = Segment {
            load: paddr..paddr + u64::from(ph.p_filesz(endian)),
            run: vaddr..vaddr + u64::from(ph.p_memsz(endian)),
        };
        let loaded_ok = s.load.is_empty() || within(&s.load, &target.flash);
        let runs_ok = within(&s.run, &target.flash) || within(&s.run, &target.ram);
        if !loaded_ok || !runs_ok {
            bail!(
                "a segment of the image (loaded at {:#x}..{:#x}, run at {:#x}..{:#x}) is outside {}'s flash and RAM",
                s.load.start,
                s.load.end,
                s.run.start,
                s.run.end,
                target.board.name
            );
        }
        segments.push(s);
    }
    let flash_bytes: u64 = segments.iter().map(|s| s.load.end - s.load.start).sum();
    let ram_bytes: u64 = segments
        .iter()
        .filter(|s| within(&s.run, &target.ram))
        .map(|s| s.run.end - s.run.start)
        .sum();
    let listed: Vec<Value> = segments
        .iter()
        .map(|s| {
            json!({
                "load": format!("{:#010x}", s.load.start),
                "run": format!("{:#010x}", s.run.start),
                "file_bytes": s.load.end - s.load.start,
                "memory_bytes": s.run.end - s.run.start,
            })
        })
        .collect();
    Ok(json!({
        "entry": format!("{entry:#010x}"),
        "flash_bytes": flash_bytes,
        "ram_bytes": ram_bytes,
        "segments": listed,
    }))
}

/// The README of the firmware folder.
fn readme(model: &Exported, target: &Target, firmware: &Value, expected: &Expected) -> String {
    let board = &target.board;
    let run = match (target.emulated(), &board.connection) {
        (true, c) => format!(
            "On QEMU:\n\n    qemu-system-arm -M {} -display none -serial null -monitor none \
             -semihosting-config enable=on,target=native -kernel firmware.elf\n\n\
             It prints three runs and exits (QEMU has no cycle counter: the cycles read 0; \
             `edgenas measure` counts the instructions).",
            c.qemu_machine.as_deref().unwrap_or("MACHINE")
        ),
        (false, c) => {
            let chip = c.probe_rs_chip.as_deref().unwrap_or("CHIP");
            format!(
                "Flash it with probe-rs and read its output over RTT:\n\n    \
                 probe-rs download --chip {chip} firmware.elf\n    \
                 probe-rs run --chip {chip} firmware.elf\n\n\
                 (`run` flashes too, then shows the RTT output: one line a second.)"
            )
        }
    };
    format!(
        "# edgenas firmware for {name}\n\n\
         `firmware.elf`: our firmware with the model baked in. At boot it runs the model on one \
         test sample (`app/input.bin`, from `check.json`) and prints, once a second, over RTT:\n\n    \
         run N: {line_head}; CYCLES cycles = MICROSECONDS us at {mhz} MHz; arena {arena} bytes; output …\n\n\
         For this model the host engine gives **class {class} ({label})** and the output bytes \
         `{output}`: the board must print the same.\n\n\
         - Entry point {entry}; flash {flash} bytes; static RAM {ram} bytes (the arena included), \
         inside {name}'s flash and RAM.\n\
         - Input: {input}. Output: {out}.\n\
         - Latency the search gave: {latency}.\n\n\
         The image leaves the clock tree as reset left it (an STM32 runs from its internal \
         oscillator, not at {mhz} MHz) and turns a Cortex-M7's caches on: the cycles are the \
         core's own count, the microseconds those cycles at the board file's {mhz} MHz. Flash \
         wait states at full speed can add cycles that the reset clock does not show.\n\n\
         {run}\n\n\
         `app/` holds what was baked in (`app.rs`, `model-int8.blob`, `input.bin`); an audio \
         model's image runs the network on the sample's features (the front end is not in it). \
         See docs/deploy.md in the edgenas repository.\n",
        name = board.name,
        line_head = format_args!("class {} ({})", expected.class, expected.label),
        mhz = board.clock_hz / 1_000_000,
        arena = model.info["arena_bytes"],
        class = expected.class,
        label = expected.label,
        output = expected.hex,
        entry = firmware["entry"].as_str().unwrap_or(""),
        flash = firmware["flash_bytes"],
        ram = firmware["ram_bytes"],
        input = tensor_text(&model.info, "input"),
        out = tensor_text(&model.info, "output"),
        latency = latency_text(&model.info),
    )
}

/// Builds the firmware image for `board` into `out`: `firmware.elf`, `app/` and a README;
/// returns the names written and the info for the JSON.
pub fn deploy(model: &Exported, board: &str, out: &Path) -> Result<(Vec<String>, Value)> {
    let target = Target::new(board)?;
    let (input, expected) = baked_input(model)?;
    let app_files = vec![
        (
            format!("{APP_DIR}/app.rs"),
            constants(model, &target)?.into_bytes(),
        ),
        (format!("{APP_DIR}/model-int8.blob"), model.blob.clone()),
        (format!("{APP_DIR}/input.bin"), input),
    ];
    let mut names = write_all(out, &app_files)?;
    let app = std::fs::canonicalize(out.join(APP_DIR))
        .with_context(|| format!("{}", out.join(APP_DIR).display()))?;
    let built = build(&target, &app)?;
    let elf = std::fs::read(&built).with_context(|| format!("cannot read {}", built.display()))?;
    let mut firmware = check_elf(&elf, &target)?;
    firmware["elf"] = json!(out.join("firmware.elf"));
    let readme = readme(model, &target, &firmware, &expected);
    names.extend(write_all(
        out,
        &[
            ("firmware.elf".into(), elf),
            ("README.md".into(), readme.into_bytes()),
        ],
    )?);
    let mut info = model.info.clone();
    info["board"] = json!(target.board.name);
    info["firmware"] = firmware;
    info["expected"] = json!({
        "class": expected.class,
        "label": expected.label,
        "output": expected.output,
        "output_hex": expected.hex,
    });
    Ok((names, info))
}
