//! `edgenas deploy`: an exported model as a folder to copy into a C or C++ project.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use edgenas::compile::HostEngine;
use edgenas::export::write_path;
use edgenas_capi::files;
use edgenas_engine::blob::TensorRecord;
use serde_json::{Value, json};

/// Arguments of `edgenas deploy`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// An exported model: a search's finalist (`OUT/finalists/trial-ID`), or the folder of
    /// `edgenas train --out` or `edgenas export --out` (it needs `model-int8.blob`,
    /// `model-int8-blob.h`, `labels.txt` and `labels.h`).
    dir: PathBuf,
    /// What to make: `c`, a folder for any C or C++ project — `edgenas.h`, the model as a C
    /// array (`model-int8-blob.h`), `labels.h`, `main.c` (an example that runs it), a
    /// start-up file and linker script for QEMU's Cortex-M4F board, and a README with the
    /// arena size, the tensors and the latency the search measured.
    #[arg(long, value_enum, default_value = "c")]
    target: Target,
    /// The folder to write (created; files of the same names are replaced).
    #[arg(long)]
    out: PathBuf,
    /// A built `libedgenas_capi.a` to copy into OUT/lib (`cargo build --release -p
    /// edgenas-capi` for the host, `device/capi/build.sh [TARGET]` for a Cortex-M).
    #[arg(long)]
    library: Option<PathBuf>,
    /// Print JSON: `out`, `files`, `arena_bytes`, `input`, `output`, `classes`, `latency`.
    #[arg(long)]
    json: bool,
}

/// What `edgenas deploy` makes.
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
enum Target {
    /// A folder for a C or C++ project.
    C,
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

/// The README of the folder.
fn readme(info: &Value, library: bool) -> String {
    let t = |k: &str| {
        let t = &info[k];
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
    };
    let latency = match &info["latency"] {
        Value::Null => "not measured (a model from `edgenas train`)".to_string(),
        l => format!(
            "{:.3} ms on {} ({})",
            l["ms"].as_f64().unwrap_or(0.0),
            l["board"].as_str().unwrap_or(""),
            l["kind"].as_str().unwrap_or("")
        ),
    };
    let classes: Vec<&str> = info["classes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    let lib = match library {
        true => "lib/libedgenas_capi.a",
        false => "libedgenas_capi.a",
    };
    let have = match library {
        true => "`lib/libedgenas_capi.a` (the library given to `edgenas deploy`)",
        false => "no library (build it as below, and put it here)",
    };
    format!(
        "# An edgenas model for C and C++\n\n\
         - Arena: **{arena} bytes** (4-byte aligned): the RAM edgenas's cost model counts and a search checks against the board.\n\
         - Input: {input}.\n\
         - Output: {output}.\n\
         - Classes ({n}, in output order; `labels.h`): {classes}.\n\
         - Latency: {latency}.\n\n\
         Files: `edgenas.h` (the API), `model-int8-blob.h` (the model, `edgenas_blob_int8`), \
         `labels.h`, `labels.txt`, `main.c` (an example: prints the arena, the output bytes and \
         the class), `cortex-m/` (start-up and linker script for QEMU's mps2-an386), {have}.\n\n\
         The library: on a host `cargo build --release -p edgenas-capi` in the edgenas \
         repository (`target/release/libedgenas_capi.a`); for a Cortex-M \
         `device/capi/build.sh [thumbv7em-none-eabihf|thumbv7em-none-eabi|thumbv6m-none-eabi] \
         [CPU]` (`target/capi-thumb/TARGET/release/`).\n\n\
         On a host:\n\n    cc -std=c11 -O2 -I. main.c {lib} -lgcc_s -lutil -lrt \
         -lpthread -lm -ldl -lc -o example\n\n\
         On QEMU's Cortex-M4F (mps2-an386):\n\n    arm-none-eabi-gcc -std=c11 -O2 -mthumb \
         -mcpu=cortex-m4 -mfloat-abi=hard -mfpu=fpv4-sp-d16 --specs=rdimon.specs \
         -T cortex-m/mps2-an386.ld -I. cortex-m/startup.c main.c {lib} -o example.elf\n    \
         qemu-system-arm -M mps2-an386 -display none -serial null -monitor none \
         -semihosting-config enable=on,target=native -kernel example.elf\n\n\
         See docs/deploy.md in the edgenas repository.\n",
        arena = info["arena_bytes"],
        input = t("input"),
        output = t("output"),
        n = classes.len(),
        classes = classes.join(", "),
    )
}

pub fn run(args: Args) -> Result<()> {
    let Target::C = args.target;
    if args.out.exists() && !args.out.is_dir() {
        bail!("--out {} is a file: give a folder", args.out.display());
    }
    let blob = read(&args.dir, "model-int8.blob")?;
    let mut host = HostEngine::new(&blob)
        .with_context(|| format!("{}: model-int8.blob", args.dir.display()))?;
    let engine = host.engine()?;
    let classes: Vec<String> = String::from_utf8_lossy(&read(&args.dir, "labels.txt")?)
        .lines()
        .map(str::to_string)
        .collect();
    let info = json!({
        "out": args.out,
        "arena_bytes": engine.blob().header().arena_bytes,
        "input": tensor(&engine.input()),
        "output": tensor(&engine.output()),
        "classes": classes,
        "latency": latency(&args.dir),
    });
    let mut written: Vec<(String, Vec<u8>)> = vec![
        ("edgenas.h".into(), files::HEADER.into()),
        ("main.c".into(), files::EXAMPLE.into()),
        ("cortex-m/startup.c".into(), files::CORTEX_M_STARTUP.into()),
        (
            "cortex-m/mps2-an386.ld".into(),
            files::CORTEX_M_LINKER_SCRIPT.into(),
        ),
    ];
    for name in ["model-int8-blob.h", "labels.h", "labels.txt"] {
        written.push((name.into(), read(&args.dir, name)?));
    }
    if let Some(lib) = &args.library {
        let bytes = std::fs::read(lib)
            .with_context(|| format!("cannot read --library {}", lib.display()))?;
        written.push(("lib/libedgenas_capi.a".into(), bytes));
    }
    written.push((
        "README.md".into(),
        readme(&info, args.library.is_some()).into_bytes(),
    ));
    for (name, bytes) in &written {
        let path = args.out.join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("cannot create {}", parent.display()))?;
        }
        write_path(&path, bytes)?;
    }
    let names: Vec<&str> = written.iter().map(|(n, _)| n.as_str()).collect();
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
    println!(
        "arena {} bytes; see {} for how to build",
        info["arena_bytes"],
        args.out.join("README.md").display()
    );
    Ok(())
}
