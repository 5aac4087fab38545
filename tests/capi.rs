//! The engine's C API (`device/capi`): the example program, compiled by the system's C
//! compiler against the static library, runs an exported finalist with the host engine's
//! output bytes and the arena the compiler planned; bad blobs and buffers come back as status
//! codes.
//!
//! The C half needs a C compiler (`cc`; `.ci/run` installs gcc): without one it says that it
//! skipped, except in CI, where it fails.

use std::path::{Path, PathBuf};
use std::process::Command;

use edgenas::compile::HostEngine;
use edgenas::rng::Rng;
use edgenas_capi::*;

use crate::common::{edgenas, repo_root};

/// Trains a random DS-CNN for one epoch on the digits and exports it into `dir`.
fn exported(dir: &Path) -> Vec<u8> {
    let out = edgenas(&[
        "train",
        "--space",
        "ds-cnn",
        "--random",
        "--seed",
        "3",
        "--data",
        "digits",
        "--epochs",
        "1",
        "--out",
        dir.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::read(dir.join("model-int8.blob")).unwrap()
}

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
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    target.join("debug/libedgenas_capi.a")
}

/// Whether a C compiler runs here (in CI it must).
fn have_cc() -> bool {
    let found = Command::new("cc").arg("--version").output().is_ok();
    assert!(
        found || std::env::var_os("CI").is_none(),
        "CI must compile the C example: no `cc`"
    );
    if !found {
        eprintln!("skipped the C example: no C compiler (`cc`) here");
    }
    found
}

#[test]
fn the_c_example_runs_a_finalist_with_the_host_engines_bytes_and_the_planned_arena() {
    if !have_cc() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("model");
    let blob = exported(&model);
    let program = dir.path().join("example");
    let capi = repo_root().join("device/capi");
    let cc = Command::new("cc")
        .args(["-std=c11", "-Wall", "-Wextra", "-Werror", "-O1"])
        .arg("-I")
        .arg(capi.join("include"))
        .arg("-I")
        .arg(&model)
        .arg(capi.join("examples/main.c"))
        .arg(static_library())
        .args([
            "-lgcc_s",
            "-lutil",
            "-lrt",
            "-lpthread",
            "-lm",
            "-ldl",
            "-lc",
            "-o",
        ])
        .arg(&program)
        .output()
        .unwrap();
    assert!(
        cc.status.success(),
        "{}",
        String::from_utf8_lossy(&cc.stderr)
    );

    let mut host = HostEngine::new(&blob).unwrap();
    let (input_bytes, output_bytes, planned) = {
        let e = host.engine().unwrap();
        let planned = e.blob().header().arena_bytes as usize;
        (e.input().bytes as usize, e.output().bytes as usize, planned)
    };
    let mut rng = Rng::new(7);
    for sample in 0..3 {
        let x: Vec<u8> = (0..input_bytes).map(|_| rng.below(256) as u8).collect();
        let file = dir.path().join(format!("input-{sample}"));
        std::fs::write(&file, &x).unwrap();
        let run = Command::new(&program).arg(&file).output().unwrap();
        assert!(
            run.status.success(),
            "{}",
            String::from_utf8_lossy(&run.stderr)
        );
        let text = String::from_utf8(run.stdout).unwrap();
        let mut lines = text.lines();
        // `arena PLANNED planned USED used`: the arena the blob asks for is the compiler's
        // plan, and the run uses all of it, no more.
        let arena: Vec<usize> = lines
            .next()
            .unwrap()
            .split(' ')
            .filter_map(|w| w.parse().ok())
            .collect();
        assert_eq!(arena, [planned, planned], "{text}");
        let c_output: Vec<u8> = lines
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
        assert_eq!(c_output, y, "sample {sample}");
    }
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
