//! `edgenas deploy --target c`: a folder for any C or C++ project.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, Result, bail};
use edgenas::board::{Board, load_board};
use edgenas_capi::files;
use serde_json::{Value, json};

use super::toolchain::{check_debian_rust, cortex_m, source_tree};
use super::{Exported, latency_text, tensor_text, write_all};

/// Where the folder's `lib/libedgenas_capi.a` comes from.
pub enum Library<'a> {
    /// None: the README says how to build one.
    None,
    /// The file `--library` names.
    Given(&'a Path),
    /// Built for the board `--board` names.
    ForBoard(&'a str),
}

/// A library built for a board: the file, and the board with its Rust target and gcc flags.
struct Built {
    file: PathBuf,
    board: Board,
    target: &'static str,
    gcc_flags: &'static str,
}

/// Builds the C library for `board`'s core with `device/capi/build.sh` (Debian's Rust).
fn build_for(board: &str) -> Result<Built> {
    let board = load_board(board)?;
    let Some((target, cpu, gcc_flags)) = cortex_m(&board) else {
        bail!(
            "{}: the C library builds for Cortex-M0+, M4 and M7 cores, not {}; on a host, build it with `cargo build --release -p edgenas-capi` and give it with --library",
            board.name,
            board.core
        );
    };
    check_debian_rust()?;
    let root = source_tree()?;
    eprintln!(
        "building the C library for {} ({target}, {cpu}) with Debian's cargo …",
        board.name
    );
    let out = Command::new(root.join("device/capi/build.sh"))
        .args([target, cpu])
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .context("cannot run device/capi/build.sh")?;
    if !out.status.success() {
        bail!(
            "the C library did not build for {} ({}): cargo's messages are above",
            board.name,
            out.status
        );
    }
    let file = root.join(format!(
        "target/capi-thumb/{target}/release/libedgenas_capi.a"
    ));
    Ok(Built {
        file,
        board,
        target,
        gcc_flags,
    })
}

/// How the README says to build the example with the library the folder has.
fn build_commands(built: Option<&Built>, have_library: bool) -> String {
    let lib = match have_library {
        true => "lib/libedgenas_capi.a",
        false => "libedgenas_capi.a",
    };
    let qemu = |flags: &str| {
        format!(
            "On QEMU's Cortex-M4F (mps2-an386):\n\n    arm-none-eabi-gcc -std=c11 -O2 -mthumb \
             {flags} --specs=rdimon.specs -T cortex-m/mps2-an386.ld -I. cortex-m/startup.c \
             main.c {lib} -o example.elf\n    qemu-system-arm -M mps2-an386 -display none \
             -serial null -monitor none -semihosting-config enable=on,target=native -kernel \
             example.elf\n"
        )
    };
    match built {
        Some(b) => {
            let mut text = format!(
                "`lib/libedgenas_capi.a` is built for {} ({}, `{}`). In your project, compile \
                 with the same core's flags and link it, with your start-up code and linker \
                 script:\n\n    arm-none-eabi-gcc -std=c11 -O2 -mthumb {} -I. -c main.c\n\n",
                b.board.name, b.board.core, b.target, b.gcc_flags
            );
            if b.board.connection.qemu_machine.as_deref() == Some("mps2-an386") {
                text.push_str(&qemu(b.gcc_flags));
            }
            text
        }
        None => format!(
            "The library: on a host `cargo build --release -p edgenas-capi` in the edgenas \
             repository (`target/release/libedgenas_capi.a`); for a board `edgenas deploy … \
             --board NAME` builds it (or `device/capi/build.sh \
             [thumbv7em-none-eabihf|thumbv7em-none-eabi|thumbv6m-none-eabi] [CPU]`).\n\n\
             On a host:\n\n    cc -std=c11 -O2 -I. main.c {lib} -lgcc_s -lutil -lrt \
             -lpthread -lm -ldl -lc -o example\n\n{}",
            qemu("-mcpu=cortex-m4 -mfloat-abi=hard -mfpu=fpv4-sp-d16")
        ),
    }
}

/// The README of the folder.
fn readme(info: &Value, built: Option<&Built>, library: bool) -> String {
    let classes: Vec<&str> = info["classes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    let have = match (library, built) {
        (true, Some(_)) => "`lib/libedgenas_capi.a` (the library, built for the board)",
        (true, None) => "`lib/libedgenas_capi.a` (the library given to `edgenas deploy`)",
        (false, _) => "no library (build it as below, and put it here)",
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
         {commands}\n\
         See docs/deploy.md in the edgenas repository.\n",
        arena = info["arena_bytes"],
        input = tensor_text(info, "input"),
        output = tensor_text(info, "output"),
        n = classes.len(),
        classes = classes.join(", "),
        latency = latency_text(info),
        commands = build_commands(built, library),
    )
}

/// Writes the C folder into `out`, with the library given or built for a board copied into
/// `lib/`; returns the names written and the info for the JSON.
pub fn deploy(model: &Exported, library: Library, out: &Path) -> Result<(Vec<String>, Value)> {
    let built = match library {
        Library::ForBoard(board) => Some(build_for(board)?),
        _ => None,
    };
    let library = match (&library, &built) {
        (Library::Given(file), _) => Some(file.to_path_buf()),
        (_, Some(b)) => Some(b.file.clone()),
        _ => None,
    };
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
        written.push((name.into(), model.file(name)?));
    }
    if let Some(lib) = &library {
        let bytes = std::fs::read(lib)
            .with_context(|| format!("cannot read the library {}", lib.display()))?;
        written.push(("lib/libedgenas_capi.a".into(), bytes));
    }
    written.push((
        "README.md".into(),
        readme(&model.info, built.as_ref(), library.is_some()).into_bytes(),
    ));
    let mut info = model.info.clone();
    if let Some(b) = &built {
        info["board"] = json!(b.board.name);
        info["library"] = json!({"target": b.target, "gcc_flags": b.gcc_flags});
    }
    Ok((write_all(out, &written)?, info))
}
