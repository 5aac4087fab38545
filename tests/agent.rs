//! The Linux-board agent seen from the host: `edgenas measure --board` a board file that points
//! at an agent on loopback measures through it; a wrong token, an oversized model and random
//! bytes are refused, and the agent still measures afterwards. The agent runs in this process
//! (the same server as the `edgenas-agent` binary, whose command line tests/agent_cli.rs
//! checks); `edgenas` is the real binary.

use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;
use std::thread;

use edgenas::candidate::Candidate;
use edgenas::measure::export_untrained;
use edgenas::space::load_space;
use edgenas_agent::server::{Agent, Limits};
use edgenas_wire::Timer;
use edgenas_wire::protocol::{
    KEEPALIVE, MAX_REPLY_BYTES, MAX_REQUEST_BYTES, Op, Reply, Request, read_frame, write_frame,
};
use serde_json::Value;

const TOKEN: &str = "a-shared-token-of-some-length";

/// Starts an agent on a free loopback port and returns its address.
fn start_agent(token: Option<&str>, limits: Limits) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap().to_string();
    let agent = Arc::new(Agent::new(token.map(str::to_string), limits, false));
    thread::spawn(move || agent.serve(listener));
    address
}

/// A copy of the shipped `raspberry-pi-4` board file whose agent is at `address`.
fn board_file(dir: &Path, name: &str, address: &str, token_file: Option<&Path>) -> PathBuf {
    let shipped = include_str!("../boards/raspberry-pi-4.toml");
    let mut text = shipped.replace(
        "agent = \"raspberrypi.local:7878\"",
        &format!("agent = \"{address}\""),
    );
    assert_ne!(text, shipped, "the shipped board file names its agent");
    if let Some(f) = token_file {
        text = text.replace(
            "[connection]\n",
            &format!("[connection]\nagent_token_file = \"{}\"\n", f.display()),
        );
    }
    let path = dir.join(format!("{name}.toml"));
    std::fs::write(&path, text).unwrap();
    path
}

/// A small untrained model file.
fn model(dir: &Path) -> PathBuf {
    let space = load_space("ds-cnn").unwrap();
    let genotype = space
        .parse_genotype(
            "stem.out=32,ds.depth=2,ds.b1.out=32,ds.b2.out=32,ds.b1.kernel=3,ds.b2.kernel=3",
        )
        .unwrap();
    let c = Candidate::new(&space, genotype).unwrap();
    let path = dir.join("m.onnx");
    std::fs::write(&path, export_untrained(&c.network, false, 0).unwrap()).unwrap();
    path
}

/// Sets the board file's `connection.retry_waits_seconds` to `waits` (a TOML array).
fn set_retry_waits(board: &Path, waits: &str) {
    let text = std::fs::read_to_string(board).unwrap();
    let text = text.replace(
        "[connection]\n",
        &format!("[connection]\nretry_waits_seconds = {waits}\n"),
    );
    std::fs::write(board, text).unwrap();
}

fn measure(model: &Path, board: &Path, extra: &[&str], token: Option<&str>) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_edgenas"));
    cmd.arg("measure")
        .arg(model)
        .arg("--board")
        .arg(board)
        .args(extra)
        .env_remove("EDGENAS_AGENT_TOKEN");
    if let Some(t) = token {
        cmd.env("EDGENAS_AGENT_TOKEN", t);
    }
    cmd.output().unwrap()
}

fn json(out: &Output) -> Value {
    assert!(
        out.status.success(),
        "edgenas measure failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn stderr(out: &Output) -> String {
    assert!(!out.status.success(), "edgenas measure should have failed");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn edgenas_measure_times_a_model_through_the_agent() {
    let dir = tempfile::tempdir().unwrap();
    let address = start_agent(Some(TOKEN), Limits::default());
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, format!("{TOKEN}\n")).unwrap();
    let board = board_file(dir.path(), "pi", &address, Some(&token_file));
    let model = model(dir.path());
    let size = std::fs::metadata(&model).unwrap().len();

    // The default meter picks the agent when it answers; the host's timing settings reach it.
    let m = json(&measure(&model, &board, &["--runs", "25", "--json"], None));
    assert_eq!(m["board"], "raspberry-pi-4");
    assert_eq!(
        (m["backend"].as_str(), m["kind"].as_str()),
        (Some("agent"), Some("measured"))
    );
    let latency = &m["latency_ms"];
    assert_eq!(latency["runs"], 25);
    let (p10, median, p90) = (
        latency["p10"].as_f64().unwrap(),
        latency["median"].as_f64().unwrap(),
        latency["p90"].as_f64().unwrap(),
    );
    assert!(
        0.0 < p10 && p10 <= median && median <= p90 && median < 1000.0,
        "{latency}"
    );
    assert_eq!(m["flash_bytes"], size);
    // Peak RSS of the agent's process: more than the model, less than this machine's memory.
    let facts = &m["board_facts"];
    let ram = m["ram_bytes"]
        .as_u64()
        .expect("the agent reports its peak RSS");
    assert!(
        ram > size && ram < facts["memory_bytes"].as_u64().unwrap(),
        "{m}"
    );
    assert_eq!(facts["arch"], std::env::consts::ARCH);
    assert!(facts["cores"].as_u64().unwrap() >= 1);
    if std::env::consts::ARCH != "aarch64" {
        let warned = m["warnings"].as_array().unwrap().iter().any(|w| {
            w.as_str()
                .is_some_and(|w| w.contains("cortex-a72") && w.contains("that machine's"))
        });
        assert!(
            warned,
            "no warning that the agent is not on a Cortex-A72: {m}"
        );
    }

    // The same from the environment's token, in words, with --meter agent.
    let out = measure(
        &model,
        &board,
        &["--meter", "agent", "--runs", "5"],
        Some(TOKEN),
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains("raspberry-pi-4 (agent, measured)") && text.contains("over 5 runs"),
        "{text}"
    );
    assert!(
        text.contains(std::env::consts::ARCH) && text.contains("peak RSS"),
        "{text}"
    );
}

#[test]
fn wrong_tokens_big_models_and_random_bytes_are_refused_and_the_agent_still_measures() {
    let dir = tempfile::tempdir().unwrap();
    let model = model(dir.path());
    let size = std::fs::metadata(&model).unwrap().len();
    let address = start_agent(
        Some(TOKEN),
        Limits {
            max_model_bytes: size,
            ..Limits::default()
        },
    );
    let board = board_file(dir.path(), "pi", &address, None);
    let agent = ["--meter", "agent", "--runs", "3", "--json"];

    let wrong = stderr(&measure(&model, &board, &agent, Some("not-the-token")));
    assert!(wrong.contains("refused: wrong or missing token"), "{wrong}");
    let none = stderr(&measure(&model, &board, &agent, None));
    assert!(none.contains("refused: wrong or missing token"), "{none}");
    // The default meter does not hide a refusal behind a prediction.
    let auto = stderr(&measure(&model, &board, &["--json"], Some("not-the-token")));
    assert!(auto.contains("refused: wrong or missing token"), "{auto}");

    let mut bigger = std::fs::read(&model).unwrap();
    bigger.push(0);
    let big_model = dir.path().join("big.onnx");
    std::fs::write(&big_model, &bigger).unwrap();
    let big = stderr(&measure(&big_model, &board, &agent, Some(TOKEN)));
    assert!(big.contains(&format!("at most {size} bytes")), "{big}");

    let mut s = TcpStream::connect(&address).unwrap();
    s.write_all(&[
        0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03, 0x9a,
    ])
    .unwrap();
    let Reply::Refused { reason } = read_frame(&mut s, MAX_REPLY_BYTES).unwrap() else {
        panic!("random bytes were not refused")
    };
    assert!(reason.contains("not an edgenas agent request"), "{reason}");

    let m = json(&measure(&model, &board, &agent, Some(TOKEN)));
    assert_eq!(
        (m["backend"].as_str(), m["latency_ms"]["runs"].as_u64()),
        (Some("agent"), Some(3))
    );
}

#[test]
fn without_an_agent_auto_predicts_and_agent_says_why() {
    let dir = tempfile::tempdir().unwrap();
    let closed = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = closed.local_addr().unwrap().to_string();
    drop(closed);
    let board = board_file(dir.path(), "pi", &address, None);
    let model = model(dir.path());
    let m = json(&measure(&model, &board, &["--json"], None));
    assert_eq!(
        (m["backend"].as_str(), m["kind"].as_str()),
        (Some("simulator"), Some("predicted"))
    );
    // The fallback is said, in the JSON and on standard error: a prediction is never taken
    // for a measurement.
    let said = format!("no edgenas-agent answers for board raspberry-pi-4 at {address}");
    assert!(
        m["warnings"][0].as_str().unwrap().contains(&said)
            && m["warnings"][0]
                .as_str()
                .unwrap()
                .contains("predicted by the simulator"),
        "{m}"
    );
    let out = measure(&model, &board, &[], None);
    assert!(out.status.success());
    let e = String::from_utf8_lossy(&out.stderr);
    assert!(e.contains(&said), "{e}");
    let e = stderr(&measure(&model, &board, &["--meter", "agent"], None));
    assert!(
        e.contains("cannot reach the agent of board raspberry-pi-4") && e.contains(&address),
        "{e}"
    );
    let host = stderr(&measure(
        &model,
        Path::new("host"),
        &["--meter", "agent"],
        None,
    ));
    assert!(host.contains("Linux boards"), "{host}");
}

#[test]
fn calibrate_fits_a_linux_board_from_its_agent() {
    let dir = tempfile::tempdir().unwrap();
    let address = start_agent(None, Limits::default());
    let board = board_file(dir.path(), "pi", &address, None);
    let out = dir.path().join("pi-calibrated.toml");
    let run = Command::new(env!("CARGO_BIN_EXE_edgenas"))
        .args(["calibrate", "--f32-only", "--json", "--board"])
        .arg(&board)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    let fit = json(&run);
    assert!(
        fit["points"].as_array().is_some_and(|p| p.len() >= 40),
        "{fit}"
    );
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(
        text.contains("source = \"calibrated\"") && text.contains(&address),
        "{text}"
    );
    let shown = Command::new(env!("CARGO_BIN_EXE_edgenas"))
        .args(["boards", "--json"])
        .arg(&out)
        .output()
        .unwrap();
    let shown = json(&shown);
    assert!(
        shown[0]["cost_model"]["fit"]["spearman"].as_f64().unwrap() > 0.5,
        "{shown}"
    );
}

/// How a fake agent misbehaves, once it has read the host's request.
#[derive(Clone, Copy, Debug)]
enum Fault {
    /// Closes the connection without a word.
    DiesBeforeAnswering,
    /// Answers with bytes that are not a frame.
    SendsGarbage,
    /// Says "continue", reads the model, then closes (the agent crashed mid-measurement).
    DiesMidMeasurement,
    /// Says "continue", reads the model, then answers with a frame that is not a reply.
    SendsGarbageMidMeasurement,
    /// Says "continue", reads the model, says it is working once, then nothing more while it
    /// keeps the connection open (a frozen agent, or a cable pulled without a reset).
    StallsMidMeasurement,
}

/// A fake agent on a free loopback port that misbehaves as `fault` on every connection;
/// returns its address.
fn start_faulty_agent(fault: Fault) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap().to_string();
    thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut s) = stream else { continue };
            thread::spawn(move || {
                let request: Result<Request, _> = read_frame(&mut s, MAX_REQUEST_BYTES);
                let Ok(request) = request else { return };
                let read_model = |s: &mut TcpStream| {
                    let mut model = vec![0u8; request.model_bytes as usize];
                    std::io::Read::read_exact(s, &mut model).is_ok()
                };
                match fault {
                    Fault::DiesBeforeAnswering => {}
                    Fault::SendsGarbage => {
                        let _ = s.write_all(b"\x00\xffnot a frame at all, just noise\n");
                    }
                    Fault::DiesMidMeasurement => {
                        let _ = write_frame(&mut s, &Reply::Continue);
                        read_model(&mut s);
                    }
                    Fault::SendsGarbageMidMeasurement => {
                        let _ = write_frame(&mut s, &Reply::Continue);
                        if read_model(&mut s) {
                            let _ = write_frame(&mut s, &serde_json::json!({"latency": "soon"}));
                        }
                    }
                    Fault::StallsMidMeasurement => {
                        let _ = write_frame(&mut s, &Reply::Continue);
                        if read_model(&mut s) {
                            let _ = write_frame(&mut s, &Reply::Working);
                            thread::sleep(std::time::Duration::from_secs(120));
                        }
                    }
                }
            });
        }
    });
    address
}

/// An agent that dies, talks nonsense or stalls, before or in the middle of a measurement,
/// fails that measurement in words naming the board — quickly (a stalled one after three
/// keep-alive periods of silence), without a panic — and so fails one trial of a search, not
/// the search.
#[test]
fn an_agent_that_dies_stalls_or_sends_garbage_fails_the_measurement_in_words() {
    let dir = tempfile::tempdir().unwrap();
    let model = model(dir.path());
    for fault in [
        Fault::DiesBeforeAnswering,
        Fault::SendsGarbage,
        Fault::DiesMidMeasurement,
        Fault::SendsGarbageMidMeasurement,
        Fault::StallsMidMeasurement,
    ] {
        let board = board_file(dir.path(), "faulty", &start_faulty_agent(fault), None);
        // Each fault once: trying again is tested on its own below.
        set_retry_waits(&board, "[]");
        let started = std::time::Instant::now();
        let out = measure(&model, &board, &["--meter", "agent"], None);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(1), "{fault:?}: {err}");
        assert!(err.contains("board raspberry-pi-4 at"), "{fault:?}: {err}");
        assert!(!err.contains("panicked"), "{fault:?}: {err}");
        let why = match fault {
            Fault::DiesBeforeAnswering | Fault::DiesMidMeasurement => {
                "the connection closed before a whole answer came"
            }
            Fault::SendsGarbage => "not an agent's reply",
            Fault::SendsGarbageMidMeasurement => "a malformed frame",
            Fault::StallsMidMeasurement => "it went silent",
        };
        assert!(err.contains(why), "{fault:?}: {err}");
        // Silence is judged after three keep-alive periods; everything else at once.
        let limit = KEEPALIVE * 3 + std::time::Duration::from_secs(10);
        assert!(
            started.elapsed() < limit,
            "{fault:?} took {:?}",
            started.elapsed()
        );
        println!("{fault:?}: {}", err.trim());
    }
}

/// A measurement longer than the host's silence limit still ends well: the agent says it is
/// working every keep-alive period until the answer.
#[test]
fn a_long_measurement_keeps_the_host_waiting_with_keepalives() {
    let dir = tempfile::tempdir().unwrap();
    let address = start_agent(None, Limits::default());
    let model = std::fs::read(model(dir.path())).unwrap();
    let mut s = TcpStream::connect(&address).unwrap();
    s.set_read_timeout(Some(KEEPALIVE * 2)).unwrap();
    let request = Request {
        token: None,
        op: Op::Measure,
        model_bytes: model.len() as u64,
        name: "m.onnx".into(),
        // Warming up alone outlasts one keep-alive period.
        timer: Timer {
            warmup_time: KEEPALIVE + std::time::Duration::from_secs(1),
            ..Timer::default()
        },
    };
    write_frame(&mut s, &request).unwrap();
    assert_eq!(
        read_frame::<Reply>(&mut s, MAX_REPLY_BYTES).unwrap(),
        Reply::Continue
    );
    s.write_all(&model).unwrap();
    let started = std::time::Instant::now();
    let mut working = 0;
    loop {
        match read_frame::<Reply>(&mut s, MAX_REPLY_BYTES).unwrap() {
            Reply::Working => working += 1,
            Reply::Measured { measurement, .. } => {
                assert!(measurement.latency_ms.median > 0.0);
                break;
            }
            other => panic!("expected keep-alives and a measurement, got {other:?}"),
        }
    }
    assert!(started.elapsed() > KEEPALIVE, "{:?}", started.elapsed());
    assert!(working >= 1, "{working} keep-alives");
}

/// A board whose agent is not up yet (rebooting, a cable being put back) when a measurement
/// starts is measured once it answers: the link's failures are tried again, and the
/// measurement says it needed more than one attempt.
#[test]
fn an_agent_that_comes_back_is_measured_on_a_later_attempt() {
    let dir = tempfile::tempdir().unwrap();
    let model = model(dir.path());
    let address = {
        let free = TcpListener::bind("127.0.0.1:0").unwrap();
        free.local_addr().unwrap().to_string()
    };
    let board = board_file(dir.path(), "rebooting", &address, None);
    set_retry_waits(&board, "[1.5]");
    let late = address.clone();
    thread::spawn(move || {
        thread::sleep(std::time::Duration::from_millis(500));
        let listener = TcpListener::bind(&late).unwrap();
        let agent = Arc::new(Agent::new(None, Limits::default(), false));
        agent.serve(listener)
    });
    let m = json(&measure(
        &model,
        &board,
        &["--meter", "agent", "--json"],
        None,
    ));
    assert_eq!(m["kind"], "measured", "{m}");
    let warnings = m["warnings"].to_string();
    assert!(
        warnings.contains("measured at attempt 2") && warnings.contains("cannot reach the agent"),
        "{warnings}"
    );
    // A board that stays away fails the measurement after its attempts, saying how many.
    let gone = {
        let free = TcpListener::bind("127.0.0.1:0").unwrap();
        free.local_addr().unwrap().to_string()
    };
    let board = board_file(dir.path(), "gone", &gone, None);
    set_retry_waits(&board, "[0.2, 0.2]");
    let err = stderr(&measure(&model, &board, &["--meter", "agent"], None));
    assert!(
        err.contains("cannot reach the agent") && err.contains("tried 3 times"),
        "{err}"
    );
}
