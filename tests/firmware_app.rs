//! `edgenas deploy --target firmware`: our firmware with an exported model baked in. On QEMU's
//! Cortex-M4F board the image prints, over semihosting and over RTT, the class and the output
//! bytes the host engine gives for the baked sample and the arena the compiler planned; for
//! the NUCLEO-F746ZG its entry point, vector table and loadable segments lie in the board
//! file's flash and RAM, as `probe-rs download` needs.
//!
//! It needs Debian's Rust (the firmware's toolchain), QEMU and `arm-none-eabi-readelf`
//! (`.ci/run` installs them); without them it says that it skipped, except in CI.

use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use edgenas::measure::mcu::{Gdb, elf};
use serde_json::Value;

use crate::common::{edgenas, exported, have, stdout_json};

/// `edgenas deploy MODEL --target firmware --board BOARD --out OUT --json`.
fn deploy(model: &Path, board: &str, out: &Path) -> Value {
    stdout_json(&edgenas(&[
        "deploy",
        model.to_str().unwrap(),
        "--target",
        "firmware",
        "--board",
        board,
        "--out",
        out.to_str().unwrap(),
        "--json",
    ]))
}

/// QEMU's mps2-an386 running `elf`, with `extra` arguments.
fn qemu(elf: &Path, extra: &[&str]) -> Command {
    let mut c = Command::new("qemu-system-arm");
    c.args(["-M", "mps2-an386", "-display", "none", "-serial", "null"])
        .args(["-monitor", "none", "-semihosting-config"])
        .arg("enable=on,target=native")
        .args(extra)
        .arg("-kernel")
        .arg(elf);
    c
}

/// Checks that `text` holds run lines (`run N: class K (LABEL); … arena A bytes; output HEX`)
/// with the class, label, arena and output bytes that `deploy` expects; returns how many.
fn check_runs(text: &str, d: &Value) -> usize {
    let e = &d["expected"];
    let head = format!("class {} ({});", e["class"], e["label"].as_str().unwrap());
    let tail = format!(
        "arena {} bytes; output {}",
        d["arena_bytes"],
        e["output_hex"].as_str().unwrap()
    );
    let runs: Vec<&str> = text.lines().filter(|l| l.starts_with("run ")).collect();
    for (n, line) in runs.iter().enumerate() {
        assert!(
            line.starts_with(&format!("run {}: {head}", n + 1)),
            "{line}"
        );
        assert!(line.ends_with(&tail), "{line}\nexpected …{tail}");
    }
    runs.len()
}

/// The text in RTT's up channel 0 of the image `elf` running on QEMU, read through QEMU's gdb
/// server at the first stop on `edgenas_app_printed` (after the first run's line).
fn rtt_text(elf_path: &Path) -> String {
    let bytes = std::fs::read(elf_path).unwrap();
    let at = elf::symbols(&bytes, &["_SEGGER_RTT", "edgenas_app_printed"]).unwrap();
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let gdb_arg = format!("tcp:127.0.0.1:{port}");
    let mut child = qemu(elf_path, &["-S", "-gdb", &gdb_arg])
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    let stream = loop {
        match TcpStream::connect(("127.0.0.1", port)) {
            Ok(s) => break s,
            Err(e) if Instant::now() > deadline => panic!("QEMU's gdb server: {e}"),
            Err(_) => std::thread::sleep(Duration::from_millis(20)),
        }
    };
    let mut gdb = Gdb::new(stream).unwrap();
    let result = (|| {
        gdb.request("?", Duration::from_secs(5))?;
        gdb.breakpoint(at[1] & !1)?;
        gdb.resume(Duration::from_secs(60))?;
        // The control block: "SEGGER RTT" (16 bytes), max up and down channels, then up
        // channel 0: name, buffer, size, write offset, read offset, flags.
        let block = gdb.read(at[0], 48)?;
        let word = |i: usize| u32::from_le_bytes(block[i..i + 4].try_into().unwrap());
        assert_eq!(&block[..10], b"SEGGER RTT");
        gdb.read(word(28), word(36) as usize)
    })();
    let _ = child.kill();
    let _ = child.wait();
    String::from_utf8(result.unwrap()).unwrap()
}

#[test]
fn deploy_builds_a_firmware_image_that_prints_the_host_engines_class_in_qemu() {
    let tools = ["/usr/bin/cargo", "qemu-system-arm"];
    if !have(&tools, "the firmware image on QEMU") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("model");
    exported(&model);
    let out = dir.path().join("image");
    let d = deploy(&model, "qemu-mps2-an386", &out);
    let elf_path = out.join("firmware.elf");
    assert_eq!(d["firmware"]["elf"], elf_path.to_str().unwrap());
    // Semihosting: three runs, then QEMU exits.
    let run = Command::new("timeout")
        .arg("60")
        .arg(qemu(&elf_path, &[]).get_program())
        .args(qemu(&elf_path, &[]).get_args())
        .output()
        .unwrap();
    assert!(run.status.success(), "{run:?}");
    let text = String::from_utf8(run.stdout).unwrap();
    assert_eq!(check_runs(&text, &d), 3, "{text}");
    // RTT, as probe-rs reads it on a board: the same first line.
    let rtt = rtt_text(&elf_path);
    assert_eq!(check_runs(&rtt, &d), 1, "{rtt}");
    let readme = std::fs::read_to_string(out.join("README.md")).unwrap();
    assert!(readme.contains("qemu-system-arm -M mps2-an386"), "{readme}");
}

/// `(load, run, file bytes, memory bytes)` of each `LOAD` program header, read by
/// `arm-none-eabi-readelf` (an opinion independent of edgenas's own check).
fn load_segments(elf_path: &Path) -> Vec<[u64; 4]> {
    let out = Command::new("arm-none-eabi-readelf")
        .arg("-lW")
        .arg(elf_path)
        .output()
        .unwrap();
    let hex = |s: &str| u64::from_str_radix(s.trim_start_matches("0x"), 16).unwrap();
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>())
        .filter(|f| f.first() == Some(&"LOAD"))
        .map(|f| [hex(f[3]), hex(f[2]), hex(f[4]), hex(f[5])])
        .collect()
}

#[test]
fn a_firmware_image_for_the_nucleo_f746zg_lies_in_its_flash_and_ram() {
    let tools = ["/usr/bin/cargo", "arm-none-eabi-readelf"];
    if !have(&tools, "the NUCLEO-F746ZG firmware image") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("model");
    exported(&model);
    let out = dir.path().join("image");
    let d = deploy(&model, "nucleo-f746zg", &out);
    // boards/nucleo-f746zg.toml: 1 MiB of flash at 0x08000000, 320 KiB of RAM at 0x20000000.
    let flash = 0x0800_0000..0x0810_0000u64;
    let ram = 0x2000_0000..0x2005_0000u64;
    let elf_path = out.join("firmware.elf");
    let segments = load_segments(&elf_path);
    assert!(!segments.is_empty());
    for [load, run, file, memory] in segments {
        assert!(file == 0 || flash.contains(&load) && load + file <= flash.end);
        let inside = |r: &std::ops::Range<u64>| r.contains(&run) && run + memory <= r.end;
        assert!(inside(&flash) || inside(&ram), "{run:#x} + {memory}");
    }
    let bytes = std::fs::read(&elf_path).unwrap();
    let at = elf::symbols(&bytes, &["__RESET_VECTOR", "_stack_start", "_SEGGER_RTT"]).unwrap();
    // The vector table at the start of flash; the stack at the top of RAM; RTT in RAM.
    assert_eq!(u64::from(at[0]), flash.start + 4);
    assert_eq!(u64::from(at[1]), ram.end);
    assert!(ram.contains(&u64::from(at[2])));
    let entry = u64::from_str_radix(
        d["firmware"]["entry"]
            .as_str()
            .unwrap()
            .trim_start_matches("0x"),
        16,
    )
    .unwrap();
    assert!(flash.contains(&entry));
    // The arena and the model are in the image: flash holds the blob, RAM the arena.
    let blob = std::fs::metadata(model.join("model-int8.blob"))
        .unwrap()
        .len();
    assert!(d["firmware"]["flash_bytes"].as_u64().unwrap() > blob);
    assert!(d["firmware"]["ram_bytes"].as_u64().unwrap() >= d["arena_bytes"].as_u64().unwrap());
    let readme = std::fs::read_to_string(out.join("README.md")).unwrap();
    assert!(
        readme.contains("probe-rs download --chip STM32F746ZGTx firmware.elf"),
        "{readme}"
    );
}

#[test]
fn deploy_refuses_a_firmware_it_cannot_build_in_words() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("model");
    exported(&model);
    let out = dir.path().join("image");
    for (board, says) in [
        (None, "--target firmware needs --board"),
        (Some("rpi-pico"), "Cortex-M4 and M7"),
        (Some("raspberry-pi-4"), "microcontrollers"),
        (Some("no-such-board"), "no-such-board"),
    ] {
        let mut args = vec!["deploy", model.to_str().unwrap(), "--target", "firmware"];
        args.extend(["--out", out.to_str().unwrap()]);
        if let Some(b) = board {
            args.extend(["--board", b]);
        }
        let refused = edgenas(&args);
        let stderr = String::from_utf8_lossy(&refused.stderr);
        assert_eq!(refused.status.code(), Some(1), "{board:?}: {stderr}");
        assert!(stderr.contains(says), "{board:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
    assert!(!out.join("firmware.elf").exists());
}
