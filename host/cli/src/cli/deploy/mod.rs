//! `edgenas deploy`: an exported model as a folder to copy into a C or C++ project, or as a
//! firmware image for a board.

mod c;
mod firmware;
mod toolchain;

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use edgenas::compile::HostEngine;
use edgenas::export::write_path;
use edgenas_engine::blob::TensorRecord;
use serde_json::{Value, json};

/// Arguments of `edgenas deploy`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// An exported model: a search's finalist (`OUT/finalists/trial-ID`), or the folder of
    /// `edgenas train --out` or `edgenas export --out` (it needs `model-int8.blob`,
    /// `model-int8-blob.h`, `labels.txt`, `labels.h` and, for `firmware`, `check.json`).
    dir: PathBuf,
    /// What to make. `c`: a folder for any C or C++ project — `edgenas.h`, the model as a C
    /// array (`model-int8-blob.h`), `labels.h`, `main.c` (an example that runs it), a
    /// start-up file and linker script for QEMU's Cortex-M4F board, and a README with the
    /// arena size, the tensors and the latency the search measured. `firmware`: our firmware
    /// with the model baked in, for `--board` (a Cortex-M4 or M7 board with a memory map):
    /// `firmware.elf` runs the model on a test sample once a second and prints the class and
    /// the cycles over RTT (`probe-rs run`; on QEMU's boards on standard output too). It is
    /// built with Debian's Rust, as `device/firmware` is (docs/firmware.md).
    #[arg(long, value_enum, default_value = "c")]
    target: Target,
    /// The board (a shipped name or a path to a `.toml` file): `--target firmware` builds its
    /// image; `--target c` builds the C library for its core (Cortex-M0+, M4, M7) into
    /// OUT/lib, with Debian's Rust as `device/capi/build.sh` does.
    #[arg(long)]
    board: Option<String>,
    /// The folder to write (created; files of the same names are replaced).
    #[arg(long)]
    out: PathBuf,
    /// `--target c`: a built `libedgenas_capi.a` to copy into OUT/lib instead (`cargo build
    /// --release -p edgenas-capi` for the host, `device/capi/build.sh [TARGET]` for a
    /// Cortex-M).
    #[arg(long)]
    library: Option<PathBuf>,
    /// Print JSON: `out`, `files`, `arena_bytes`, `input`, `output`, `classes`, `latency`; with
    /// `--target firmware` also `firmware` (the ELF, its entry point, flash and RAM used, the
    /// segments) and `expected` (the class and output bytes the image prints).
    #[arg(long)]
    json: bool,
}

/// What `edgenas deploy` makes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum Target {
    /// A folder for a C or C++ project.
    C,
    /// A firmware image for a board, with the model baked in.
    Firmware,
}

/// An exported model, as the deploy targets read it.
struct Exported {
    /// The folder it was read from.
    dir: PathBuf,
    /// `model-int8.blob`.
    blob: Vec<u8>,
    /// The class names, in output order.
    classes: Vec<String>,
    /// What the README and the JSON state: arena, tensors, classes, latency.
    info: Value,
}

impl Exported {
    /// Reads the export in `dir`; `out` is where the deployment goes.
    fn read(dir: &Path, out: &Path) -> Result<Exported> {
        let blob = read(dir, "model-int8.blob")?;
        // The engine checks every record of the blob, so a corrupt one is refused before
        // anything is written.
        let mut host = HostEngine::new(&blob)
            .with_context(|| format!("{}: model-int8.blob", dir.display()))?;
        let engine = host.engine()?;
        let classes: Vec<String> = String::from_utf8_lossy(&read(dir, "labels.txt")?)
            .lines()
            .map(str::to_string)
            .collect();
        let info = json!({
            "out": out,
            "arena_bytes": engine.blob().header().arena_bytes,
            "input": tensor(&engine.input()),
            "output": tensor(&engine.output()),
            "classes": classes,
            "latency": latency(dir),
        });
        Ok(Exported {
            dir: dir.to_path_buf(),
            blob,
            classes,
            info,
        })
    }

    /// `name` in the export's folder.
    fn file(&self, name: &str) -> Result<Vec<u8>> {
        read(&self.dir, name)
    }
}

/// A tensor as the README and the JSON state it.
fn tensor(t: &TensorRecord) -> Value {
    json!({
        "dtype": t.dtype.name(),
        "shape": t.shape(),
        "bytes": t.bytes,
        "scale": t.scale,
        "zero_point": t.zero_point,
    })
}

/// `dir/name`, read; an error naming the file and what makes it.
fn read(dir: &Path, name: &str) -> Result<Vec<u8>> {
    let path = dir.join(name);
    std::fs::read(&path).with_context(|| {
        format!(
            "cannot read {}: give a folder that `edgenas train --out`, `edgenas export` or a search's finalists wrote",
            path.display()
        )
    })
}

/// The latency the search measured or predicted for the model, from its card (`trial.json`).
fn latency(dir: &Path) -> Option<Value> {
    let card: Value = serde_json::from_slice(&std::fs::read(dir.join("trial.json")).ok()?).ok()?;
    let t = &card["trial"];
    Some(json!({
        "ms": t["latency_ms"].as_f64()?,
        "kind": t["latency_kind"].as_str().unwrap_or("measured"),
        "board": card["board"].as_str().unwrap_or(""),
    }))
}

/// A tensor of the info as the READMEs state it: dtype, shape, bytes and quantisation.
fn tensor_text(info: &Value, key: &str) -> String {
    let t = &info[key];
    format!(
        "{} {} ({} bytes{})",
        t["dtype"].as_str().unwrap_or(""),
        t["shape"],
        t["bytes"],
        match t["dtype"].as_str() {
            Some("int8") => format!(", scale {}, zero point {}", t["scale"], t["zero_point"]),
            _ => String::new(),
        }
    )
}

/// The latency of the info in words, for the READMEs.
fn latency_text(info: &Value) -> String {
    match &info["latency"] {
        Value::Null => "not measured (a model from `edgenas train`)".to_string(),
        l => format!(
            "{:.3} ms on {} ({})",
            l["ms"].as_f64().unwrap_or(0.0),
            l["board"].as_str().unwrap_or(""),
            l["kind"].as_str().unwrap_or("")
        ),
    }
}

/// Writes each `(name, bytes)` under `out` (creating folders); returns the names.
fn write_all(out: &Path, files: &[(String, Vec<u8>)]) -> Result<Vec<String>> {
    for (name, bytes) in files {
        let path = out.join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("cannot create {}", parent.display()))?;
        }
        write_path(&path, bytes)?;
    }
    Ok(files.iter().map(|(n, _)| n.clone()).collect())
}

pub fn run(args: Args) -> Result<()> {
    if args.out.exists() && !args.out.is_dir() {
        bail!("--out {} is a file: give a folder", args.out.display());
    }
    match (args.target, &args.board, &args.library) {
        (Target::Firmware, None, _) => {
            bail!("--target firmware needs --board (`edgenas boards` lists them)")
        }
        (Target::Firmware, _, Some(_)) => {
            bail!("--library is for --target c: the firmware builds the engine itself")
        }
        (Target::C, Some(_), Some(_)) => {
            bail!("give --board (to build the library for it) or --library, not both")
        }
        _ => {}
    }
    let model = Exported::read(&args.dir, &args.out)?;
    let (names, info) = match (args.target, &args.board, &args.library) {
        (Target::Firmware, Some(board), _) => firmware::deploy(&model, board, &args.out)?,
        (_, Some(board), _) => c::deploy(&model, c::Library::ForBoard(board), &args.out)?,
        (_, None, Some(file)) => c::deploy(&model, c::Library::Given(file), &args.out)?,
        (_, None, None) => c::deploy(&model, c::Library::None, &args.out)?,
    };
    if args.json {
        let mut info = info;
        info["files"] = json!(names);
        return super::print_json(&info);
    }
    println!(
        "wrote {} files into {}: {}",
        names.len(),
        args.out.display(),
        names.join(", ")
    );
    if let Some(elf) = info["firmware"]["elf"].as_str() {
        println!(
            "firmware {elf}: entry {}, flash {} bytes, RAM {} bytes; it must print class {} ({})",
            info["firmware"]["entry"].as_str().unwrap_or(""),
            info["firmware"]["flash_bytes"],
            info["firmware"]["ram_bytes"],
            info["expected"]["class"],
            info["expected"]["label"].as_str().unwrap_or("")
        );
    }
    println!(
        "arena {} bytes; see {} for how to {}",
        info["arena_bytes"],
        args.out.join("README.md").display(),
        match args.target {
            Target::C => "build",
            Target::Firmware => "flash and run it",
        }
    );
    Ok(())
}
