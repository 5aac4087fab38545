//! The engine's C API (`device/capi`): the example program, compiled by the system's C
//! compiler against the static library, runs an exported finalist with the host engine's
//! output bytes and the arena the compiler planned; bad blobs and buffers come back as status
//! codes.
//!
//! The host half needs a C compiler (`cc`); the Cortex-M half builds the library with Debian's
//! toolchain (`device/capi/build.sh`), the example with `arm-none-eabi-gcc` and newlib, and runs
//! it under QEMU (`.ci/run` installs them all). Without its tools a half says that it skipped,
//! except in CI, where it fails.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;

use edgenas::compile::HostEngine;
use edgenas::rng::Rng;
use edgenas_capi::*;

use crate::common::{assert_ok, edgenas, exported, have, ok, repo_root, search_args, stdout_json};

/// The static library, built as a user builds it: `cargo build -p edgenas-capi`, into a
/// target folder of its own (the test run holds the workspace's).
fn static_library() -> PathBuf {
    let target = repo_root().join("target/capi");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .current_dir(repo_root())
        .args([
            "build",
            "--locked",
            "-q",
            "-p",
            "edgenas-capi",
            "--target-dir",
        ])
        .arg(&target)
        .output()
        .unwrap();
    assert_ok(&out);
    target.join("debug/libedgenas_capi.a")
}

/// Runs the example `command` on three random inputs for `blob` (files in `dir`) and checks
/// that its output bytes are the host engine's, and that the arena the blob asks for is the
/// compiler's plan and is what each run used.
fn check_example(blob: &[u8], dir: &Path, command: impl Fn(&Path) -> Command) {
    let mut host = HostEngine::new(blob).unwrap();
    let (input_bytes, output_bytes, planned) = {
        let e = host.engine().unwrap();
        let planned = e.blob().header().arena_bytes as usize;
        (e.input().bytes as usize, e.output().bytes as usize, planned)
    };
    let mut rng = Rng::new(7);
    for sample in 0..3 {
        let x: Vec<u8> = (0..input_bytes).map(|_| rng.below(256) as u8).collect();
        let file = dir.join(format!("input-{sample}"));
        std::fs::write(&file, &x).unwrap();
        let run = ok(command(&file).output().unwrap());
        let text = String::from_utf8(run.stdout).unwrap();
        let mut lines = text.lines();
        // `arena PLANNED planned USED used`.
        let arena: Vec<usize> = lines
            .next()
            .unwrap()
            .split(' ')
            .filter_map(|w| w.parse().ok())
            .collect();
        assert_eq!(arena, [planned, planned], "{text}");
        let output: Vec<u8> = lines
            .next()
            .unwrap()
            .strip_prefix("output ")
            .unwrap()
            .split(' ')
            .map(|h| u8::from_str_radix(h, 16).unwrap())
            .collect();
        let mut e = host.engine().unwrap();
        let mut y = vec![0u8; output_bytes];
        e.run(&x, &mut y).unwrap();
        assert_eq!(output, y, "sample {sample}: {text}");
    }
}

/// Compiles a C program for this host with `cc` in `cwd` from `inputs` (include flags,
/// sources, the static library) and the system libraries a Rust static library needs, then
/// checks it with [`check_example`] (its files in `scratch`).
fn check_on_host(cwd: &Path, inputs: &[OsString], blob: &[u8], scratch: &Path) {
    let program = scratch.join("example");
    assert_ok(
        &Command::new("cc")
            .current_dir(cwd)
            .args(["-std=c11", "-Wall", "-Wextra", "-Werror", "-O1"])
            .args(inputs)
            .args([
                "-lgcc_s",
                "-lutil",
                "-lrt",
                "-lpthread",
                "-lm",
                "-ldl",
                "-lc",
            ])
            .arg("-o")
            .arg(&program)
            .output()
            .unwrap(),
    );
    check_example(blob, scratch, |input| {
        let mut c = Command::new(&program);
        c.arg(input);
        c
    });
}

#[test]
fn the_c_example_runs_a_finalist_with_the_host_engines_bytes_and_the_planned_arena() {
    if !have(&["cc"], "the host C example") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("model");
    let blob = exported(&model);
    let capi = repo_root().join("device/capi");
    let inputs = [
        "-I".into(),
        capi.join("include").into_os_string(),
        "-I".into(),
        model.into_os_string(),
        capi.join("examples/main.c").into_os_string(),
        static_library().into_os_string(),
    ];
    check_on_host(dir.path(), &inputs, &blob, dir.path());
}

/// The library built for `target` with Debian's toolchain (`device/capi/build.sh`).
fn thumb_library(target: &str, cpu: &str) -> PathBuf {
    let build = Command::new(repo_root().join("device/capi/build.sh"))
        .args([target, cpu])
        .output()
        .unwrap();
    assert_ok(&build);
    let library = String::from_utf8(build.stdout).unwrap();
    repo_root().join(library.lines().last().unwrap())
}

/// `arm-none-eabi-gcc` in `cwd` with `flags` compiling and linking `inputs` (the linker
/// script, include folders, sources and the library) with newlib's semihosting for stdio into
/// `program`.
fn link_for_cortex_m(flags: &[&str], cwd: &Path, inputs: &[OsString], program: &Path) {
    let gcc = Command::new("arm-none-eabi-gcc")
        .current_dir(cwd)
        .args(["-std=c11", "-Wall", "-Wextra", "-Werror", "-O2", "-mthumb"])
        .args(flags)
        .args(["--specs=rdimon.specs", "-Wl,--no-warn-execstack"])
        .args(inputs)
        .arg("-o")
        .arg(program)
        .output()
        .unwrap();
    assert!(
        gcc.status.success(),
        "{flags:?}: {}",
        String::from_utf8_lossy(&gcc.stderr)
    );
}

/// The repository's example for the model in `model` with `library`, for
/// [`link_for_cortex_m`]: the mps2-an386 linker script and start-up, the header, `main.c`.
fn repository_example(model: &Path, library: &Path) -> Vec<OsString> {
    let capi = repo_root().join("device/capi");
    vec![
        "-T".into(),
        capi.join("examples/cortex-m/mps2-an386.ld").into(),
        "-I".into(),
        capi.join("include").into(),
        "-I".into(),
        model.into(),
        capi.join("examples/cortex-m/startup.c").into(),
        capi.join("examples/main.c").into(),
        library.into(),
    ]
}

/// The command that runs `program` (the example for the Cortex-M4F) on QEMU's mps2-an386 with
/// an input file, for [`check_example`].
fn on_qemu(program: &Path) -> impl Fn(&Path) -> Command {
    move |input| {
        let mut c = Command::new("timeout");
        c.args(["60", "qemu-system-arm", "-M", "mps2-an386"])
            .args(["-display", "none", "-serial", "null", "-monitor", "none"])
            .arg("-semihosting-config")
            .arg(format!(
                "enable=on,target=native,arg=example,arg={}",
                input.display()
            ))
            .arg("-kernel")
            .arg(program);
        c
    }
}

/// The same example for a Cortex-M4F: the library built for `thumbv7em-none-eabihf`, the
/// program compiled and linked by `arm-none-eabi-gcc` against it, run on QEMU's mps2-an386.
#[test]
fn the_c_example_for_a_cortex_m4_runs_in_qemu_with_the_host_engines_bytes() {
    let tools = ["/usr/bin/rustc", "arm-none-eabi-gcc", "qemu-system-arm"];
    if !have(&tools, "the Cortex-M C example") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("model");
    let blob = exported(&model);
    let library = thumb_library("thumbv7em-none-eabihf", "cortex-m4");
    let program = dir.path().join("example.elf");
    let hard_float = ["-mcpu=cortex-m4", "-mfloat-abi=hard", "-mfpu=fpv4-sp-d16"];
    let inputs = repository_example(&model, &library);
    link_for_cortex_m(&hard_float, dir.path(), &inputs, &program);
    check_example(&blob, dir.path(), on_qemu(&program));
}

/// The soft-float Cortex-M4 and the Cortex-M0+ libraries link into the same example with
/// `arm-none-eabi-gcc` (QEMU has no board here to run the M0+ build with this example's RAM).
#[test]
fn the_c_library_links_for_soft_float_cortex_m4_and_cortex_m0_plus() {
    if !have(
        &["/usr/bin/rustc", "arm-none-eabi-gcc"],
        "the Cortex-M link check",
    ) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("model");
    exported(&model);
    for (target, cpu) in [
        ("thumbv7em-none-eabi", "cortex-m4"),
        ("thumbv6m-none-eabi", "cortex-m0plus"),
    ] {
        let library = thumb_library(target, cpu);
        let program = dir.path().join(format!("{target}.elf"));
        let flags = [format!("-mcpu={cpu}"), "-mfloat-abi=soft".to_string()];
        let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
        let inputs = repository_example(&model, &library);
        link_for_cortex_m(&flags, dir.path(), &inputs, &program);
        assert!(program.exists(), "{target}");
    }
}

/// The finalist of the README's quick start, shortened (two trials of one epoch): DS-CNNs on
/// the digits for the NUCLEO-F746ZG under 64 KiB of RAM and 5 ms; under `dir`.
fn searched_finalist(dir: &Path) -> PathBuf {
    let run = dir.join("run");
    let searched = edgenas(&search_args(
        &run,
        &[
            "--space",
            "ds-cnn",
            "--board",
            "nucleo-f746zg",
            "--max-ram-kb",
            "64",
            "--max-latency-ms",
            "5",
            "--trials",
            "2",
            "--epochs",
            "1",
            "--finalists",
            "1",
        ],
        true,
    ));
    let v = stdout_json(&searched);
    PathBuf::from(v["finalists"][0]["dir"].as_str().unwrap())
}

/// `edgenas deploy` turns a search's finalist into a folder that builds on its own: its
/// `main.c`, `edgenas.h` and model array compile against the library it was given, and the
/// program runs the finalist as the host engine does; the README states the arena, the
/// tensors, the classes and the latency the search predicted.
#[test]
fn deploy_writes_a_c_project_folder_that_builds_and_runs_the_finalist() {
    if !have(&["cc"], "the deployed C project") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let finalist = searched_finalist(dir.path());
    let project = dir.path().join("project");
    let library = static_library();
    let deployed = edgenas(&[
        "deploy",
        finalist.to_str().unwrap(),
        "--out",
        project.to_str().unwrap(),
        "--library",
        library.to_str().unwrap(),
        "--json",
    ]);
    let d = stdout_json(&deployed);
    let blob = std::fs::read(finalist.join("model-int8.blob")).unwrap();
    assert_eq!(d["classes"].as_array().unwrap().len(), 10);
    let readme = std::fs::read_to_string(project.join("README.md")).unwrap();
    let arena = d["arena_bytes"].as_u64().unwrap();
    assert!(readme.contains(&format!("**{arena} bytes**")), "{readme}");
    assert!(
        readme.contains("ms on nucleo-f746zg (predicted (simulator))"),
        "{readme}"
    );
    // The folder alone: no path into the repository.
    let inputs = [
        "-I.".into(),
        "main.c".into(),
        "lib/libedgenas_capi.a".into(),
    ];
    check_on_host(&project, &inputs, &blob, dir.path());
    // A folder that is not an export is refused, naming what is missing.
    let refused = edgenas(&["deploy", dir.path().to_str().unwrap(), "--out", "x"]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("model-int8.blob"));
}

/// With `--board`, `edgenas deploy` builds the library for the board's core itself: the folder
/// alone (its `cortex-m/` start-up and linker script, `main.c`, the header, the model and
/// `lib/`) compiles with `arm-none-eabi-gcc` and the flags the deploy names, and runs in QEMU
/// with the host engine's output bytes and the planned arena.
#[test]
fn deploy_for_a_board_builds_the_library_and_the_folder_runs_in_qemu() {
    let tools = ["/usr/bin/rustc", "arm-none-eabi-gcc", "qemu-system-arm"];
    if !have(&tools, "the deployed Cortex-M project") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let finalist = searched_finalist(dir.path());
    let project = dir.path().join("project");
    let d = stdout_json(&edgenas(&[
        "deploy",
        finalist.to_str().unwrap(),
        "--board",
        "qemu-mps2-an386",
        "--out",
        project.to_str().unwrap(),
        "--json",
    ]));
    assert_eq!(d["library"]["target"], "thumbv7em-none-eabihf");
    let flags: Vec<&str> = d["library"]["gcc_flags"]
        .as_str()
        .unwrap()
        .split(' ')
        .collect();
    let readme = std::fs::read_to_string(project.join("README.md")).unwrap();
    assert!(readme.contains(d["library"]["gcc_flags"].as_str().unwrap()));
    let inputs: Vec<OsString> = [
        "-T",
        "cortex-m/mps2-an386.ld",
        "-I.",
        "cortex-m/startup.c",
        "main.c",
        "lib/libedgenas_capi.a",
    ]
    .map(OsString::from)
    .to_vec();
    let program = dir.path().join("example.elf");
    link_for_cortex_m(&flags, &project, &inputs, &program);
    let blob = std::fs::read(finalist.join("model-int8.blob")).unwrap();
    check_example(&blob, dir.path(), on_qemu(&program));
    // The library for another core, or none for a core it does not build for.
    let pico = dir.path().join("pico");
    let p = stdout_json(&edgenas(&[
        "deploy",
        finalist.to_str().unwrap(),
        "--board",
        "rpi-pico",
        "--out",
        pico.to_str().unwrap(),
        "--json",
    ]));
    assert_eq!(p["library"]["target"], "thumbv6m-none-eabi");
    assert!(pico.join("lib/libedgenas_capi.a").exists());
    let refused = edgenas(&[
        "deploy",
        finalist.to_str().unwrap(),
        "--board",
        "raspberry-pi-4",
        "--out",
        dir.path().join("pi").to_str().unwrap(),
    ]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("--library"));
}

/// A 4-byte aligned copy of `bytes` (the engine reads blobs in place).
fn aligned(bytes: &[u8]) -> Vec<u32> {
    let mut words = vec![0u32; bytes.len().div_ceil(4)];
    bytemuck::cast_slice_mut::<u32, u8>(&mut words)[..bytes.len()].copy_from_slice(bytes);
    words
}

#[test]
fn bad_blobs_and_buffers_are_status_codes() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = exported(dir.path());
    let words = aligned(&bytes);
    let blob = bytemuck::cast_slice::<u32, u8>(&words)[..bytes.len()].as_ptr();
    let (mut arena_bytes, mut input, mut output) = (
        0usize,
        EdgenasTensorInfo::default(),
        EdgenasTensorInfo::default(),
    );
    // SAFETY: every pointer points to what its length says, or is null on purpose.
    unsafe {
        assert_eq!(
            edgenas_model_info(blob, bytes.len(), &mut arena_bytes, &mut input, &mut output),
            EDGENAS_OK
        );
        assert_eq!(input.dtype, EDGENAS_INT8);
        assert_eq!(input.bytes, input.elements);
        assert!(arena_bytes > 0 && output.elements == 10);
        let mut arena = vec![0u32; arena_bytes.div_ceil(4) + 1];
        let a = arena.as_mut_ptr() as *mut u8;
        let x = vec![0u8; input.bytes as usize];
        let mut y = vec![0u8; output.bytes as usize];
        let run =
            |blob: *const u8, blob_len: usize, a: *mut u8, a_len: usize, x: &[u8], y: &mut [u8]| {
                edgenas_run(
                    blob,
                    blob_len,
                    a,
                    a_len,
                    x.as_ptr(),
                    x.len(),
                    y.as_mut_ptr(),
                    y.len(),
                    std::ptr::null_mut(),
                )
            };
        assert_eq!(
            run(blob, bytes.len(), a, arena_bytes, &x, &mut y),
            EDGENAS_OK
        );
        assert_eq!(
            run(std::ptr::null(), 0, a, arena_bytes, &x, &mut y),
            EDGENAS_NULL_POINTER
        );
        assert_eq!(
            run(blob, bytes.len(), a, arena_bytes - 4, &x, &mut y),
            EDGENAS_ARENA_TOO_SMALL
        );
        assert_eq!(
            run(blob, bytes.len(), a.add(1), arena_bytes, &x, &mut y),
            EDGENAS_MISALIGNED
        );
        assert_eq!(
            run(blob, bytes.len(), a, arena_bytes, &x[1..], &mut y),
            EDGENAS_INPUT_SIZE
        );
        assert_eq!(
            run(blob, bytes.len(), a, arena_bytes, &x, &mut y[1..]),
            EDGENAS_OUTPUT_SIZE
        );
        // Garbage and a truncated blob are refused before anything runs.
        let garbage = aligned(&[0x5a; 256]);
        let g = garbage.as_ptr() as *const u8;
        assert_eq!(run(g, 256, a, arena_bytes, &x, &mut y), EDGENAS_BAD_BLOB);
        assert_eq!(
            edgenas_model_info(g, 256, &mut arena_bytes, &mut input, &mut output),
            EDGENAS_BAD_BLOB
        );
        assert_ne!(
            run(blob, bytes.len() / 2, a, arena_bytes, &x, &mut y),
            EDGENAS_OK
        );
        let name = std::ffi::CStr::from_ptr(edgenas_status_name(EDGENAS_ARENA_TOO_SMALL));
        assert_eq!(name.to_str().unwrap(), "EDGENAS_ARENA_TOO_SMALL");
    }
}
