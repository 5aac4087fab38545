//! `edgenas-agent`, the binary: where it agrees to listen, and how it refuses a wrong token,
//! an oversized model, random bytes, a slow client and one request too many while it goes on
//! serving good requests. (A model measured through it by `edgenas measure`: tests/agent.rs.)

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use edgenas_wire::Timer;
use edgenas_wire::protocol::{MAX_REPLY_BYTES, Op, Reply, Request, read_frame, write_frame};

/// An agent process on a free loopback port, killed when dropped.
struct Running {
    child: Child,
    address: String,
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn agent(args: &[&str]) -> Running {
    let mut child = Command::new(env!("CARGO_BIN_EXE_edgenas-agent"))
        .args(["--listen", "127.0.0.1:0", "--quiet"])
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("the agent starts");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let address = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("the agent printed {line:?}"))
        .to_string();
    Running { child, address }
}

fn request(token: Option<&str>, op: Op, model_bytes: u64) -> Request {
    Request {
        token: token.map(str::to_string),
        op,
        model_bytes,
        name: "m.onnx".into(),
        timer: Timer::default(),
    }
}

/// Sends `request` and returns the agent's first reply.
fn ask(address: &str, request: &Request) -> Reply {
    let mut s = TcpStream::connect(address).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    write_frame(&mut s, request).unwrap();
    read_frame(&mut s, MAX_REPLY_BYTES).unwrap()
}

fn refusal(reply: Reply) -> String {
    match reply {
        Reply::Refused { reason } => reason,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

/// A good request works: the agent answers with this machine's facts.
fn still_serves(address: &str, token: &str) {
    match ask(address, &request(Some(token), Op::Facts, 0)) {
        Reply::Facts { facts } => {
            assert_eq!(facts.arch, std::env::consts::ARCH);
            assert!(facts.cores >= 1);
        }
        other => panic!("expected the board's facts, got {other:?}"),
    }
}

#[test]
fn off_loopback_it_will_not_listen_without_a_token() {
    let out = Command::new(env!("CARGO_BIN_EXE_edgenas-agent"))
        .args(["--listen", "0.0.0.0:0"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("not a loopback address") && err.contains("--token-file"),
        "{err}"
    );
    let missing = Command::new(env!("CARGO_BIN_EXE_edgenas-agent"))
        .args([
            "--listen",
            "127.0.0.1:0",
            "--token-file",
            "/nonexistent/token",
        ])
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("/nonexistent/token"));
}

#[test]
fn bad_requests_are_refused_and_the_agent_goes_on_serving() {
    let dir = tempfile::tempdir().unwrap();
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, "correct-horse-battery\n").unwrap();
    let a = agent(&[
        "--token-file",
        token_file.to_str().unwrap(),
        "--max-model-kb",
        "64",
        "--request-timeout-seconds",
        "1",
    ]);
    let token = "correct-horse-battery";
    still_serves(&a.address, token);

    // A wrong token, and none at all.
    let wrong = refusal(ask(
        &a.address,
        &request(Some("correct-horse-batterY"), Op::Facts, 0),
    ));
    assert!(wrong.contains("wrong or missing token"), "{wrong}");
    let none = refusal(ask(&a.address, &request(None, Op::Measure, 100)));
    assert!(none.contains("wrong or missing token"), "{none}");

    // A model over the limit is refused before it is sent.
    let big = refusal(ask(
        &a.address,
        &request(Some(token), Op::Measure, 64 * 1024 + 1),
    ));
    assert!(
        big.contains("65537 bytes") && big.contains("at most 65536"),
        "{big}"
    );

    // Random bytes.
    let mut s = TcpStream::connect(&a.address).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let mut x: u64 = 0x2545_F491_4F6C_DD1D;
    let junk: Vec<u8> = (0..4096)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect();
    s.write_all(&junk).unwrap();
    let reason = refusal(read_frame(&mut s, MAX_REPLY_BYTES).unwrap());
    assert!(reason.contains("not an edgenas agent request"), "{reason}");
    drop(s);

    // A model that is not ONNX fails to load, as a model failure, not a refusal.
    let mut s = TcpStream::connect(&a.address).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    write_frame(&mut s, &request(Some(token), Op::Measure, 1000)).unwrap();
    assert_eq!(
        read_frame::<Reply>(&mut s, MAX_REPLY_BYTES).unwrap(),
        Reply::Continue
    );
    s.write_all(&junk[..1000]).unwrap();
    match read_frame(&mut s, MAX_REPLY_BYTES).unwrap() {
        Reply::Failed { reason } => assert!(reason.contains("m.onnx"), "{reason}"),
        other => panic!("expected a failed measurement, got {other:?}"),
    }
    drop(s);

    // A slow client: half a request, then nothing; the agent gives up after its 1 s.
    let mut s = TcpStream::connect(&a.address).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    s.write_all(b"EDGENAS\x01\x00\x00").unwrap();
    let waiting = Instant::now();
    let reason = refusal(read_frame(&mut s, MAX_REPLY_BYTES).unwrap());
    assert!(reason.contains("did not arrive in time"), "{reason}");
    assert!(waiting.elapsed() < Duration::from_secs(10));
    let mut rest = Vec::new();
    assert_eq!(
        s.read_to_end(&mut rest).unwrap_or(0),
        0,
        "the connection is closed"
    );

    still_serves(&a.address, token);
}

#[test]
fn one_request_too_many_is_refused_as_busy() {
    let a = agent(&["--max-requests", "1", "--request-timeout-seconds", "3"]);
    // One client holds the only slot by sending nothing.
    let holder = TcpStream::connect(&a.address).unwrap();
    thread::sleep(Duration::from_millis(300));
    let reason = refusal(ask(&a.address, &request(None, Op::Facts, 0)));
    assert!(
        reason.contains("busy") && reason.contains("--max-requests"),
        "{reason}"
    );
    drop(holder);
    // Once it is gone (the agent notices the closed connection at once), the slot is free.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match ask(&a.address, &request(None, Op::Facts, 0)) {
            Reply::Facts { .. } => break,
            other => assert!(Instant::now() < deadline, "still refused: {other:?}"),
        }
        thread::sleep(Duration::from_millis(100));
    }
}
