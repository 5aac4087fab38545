//! `edgenas-agent`, the binary: where it agrees to listen, and how it refuses a wrong token,
//! an oversized model, random bytes, a slow client, a connection or a measurement too many, and
//! a crowd of hostile clients while it goes on serving good requests. (A model measured through it by `edgenas measure`: tests/agent.rs.)

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use edgenas_wire::Timer;
use edgenas_wire::protocol::{MAGIC, MAX_REPLY_BYTES, Op, Reply, Request, read_frame, write_frame};

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

    // A host of another protocol version is told so.
    let mut s = TcpStream::connect(&a.address).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    s.write_all(b"EDGENAS\x01\x00\x00\x00\x02{}").unwrap();
    let reason = refusal(read_frame(&mut s, MAX_REPLY_BYTES).unwrap());
    assert!(
        reason.contains("protocol version 1") && reason.contains("update edgenas and the agent"),
        "{reason}"
    );
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
    s.write_all(&MAGIC).unwrap();
    s.write_all(&[0, 0]).unwrap();
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

/// Waits until the agent answers `request` with something other than a busy refusal (the
/// slots of closed connections are given back as the agent notices them).
fn until_not_busy(address: &str, request: &Request) -> Reply {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match ask(address, request) {
            Reply::Refused { reason } if reason.contains("busy") => {
                assert!(Instant::now() < deadline, "still refused: {reason}");
                thread::sleep(Duration::from_millis(100));
            }
            other => return other,
        }
    }
}

#[test]
fn connections_and_measurements_over_the_limits_are_refused_as_busy() {
    let a = agent(&[
        "--max-requests",
        "1",
        "--max-connections",
        "4",
        "--request-timeout-seconds",
        "3",
    ]);
    let facts = request(None, Op::Facts, 0);
    // Clients that connect and send nothing hold connections, not measurements: with three of
    // them open, a fourth connection is still answered.
    let silent: Vec<TcpStream> = (0..3)
        .map(|_| TcpStream::connect(&a.address).unwrap())
        .collect();
    thread::sleep(Duration::from_millis(300));
    assert!(matches!(ask(&a.address, &facts), Reply::Facts { .. }));
    // With four open, a fifth is refused at once, naming the limit.
    let fourth = TcpStream::connect(&a.address).unwrap();
    thread::sleep(Duration::from_millis(300));
    let reason = refusal(ask(&a.address, &facts));
    assert!(
        reason.contains("busy") && reason.contains("--max-connections"),
        "{reason}"
    );
    drop((silent, fourth));
    assert!(matches!(
        until_not_busy(&a.address, &facts),
        Reply::Facts { .. }
    ));
    // A measurement whose model is held back holds the only measurement slot: another
    // measurement is refused, naming that limit, while facts are still answered. (An agent of
    // its own, with connections to spare: the one above gives back the slots of the closed
    // connections only as it notices them, which on a loaded machine can take a while.)
    let a = agent(&["--max-requests", "1", "--request-timeout-seconds", "3"]);
    let measure = request(None, Op::Measure, 1000);
    let mut holder = TcpStream::connect(&a.address).unwrap();
    holder
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    write_frame(&mut holder, &measure).unwrap();
    assert_eq!(
        read_frame::<Reply>(&mut holder, MAX_REPLY_BYTES).unwrap(),
        Reply::Continue
    );
    let reason = refusal(ask(&a.address, &measure));
    assert!(
        reason.contains("busy") && reason.contains("--max-requests"),
        "{reason}"
    );
    assert!(matches!(ask(&a.address, &facts), Reply::Facts { .. }));
    drop(holder);
    // Once it is gone, the slot is free again.
    assert_eq!(until_not_busy(&a.address, &measure), Reply::Continue);
}

/// Load: 64 clients at once, a quarter of them slow-loris (a byte of a request every half
/// second) or malformed, the rest asking for the board's facts: every well-formed client is
/// answered, none refused as busy. Prints the well-formed answers' median and 99th-percentile
/// times (docs/reliability.md).
#[test]
fn under_64_clients_a_quarter_of_them_hostile_every_good_one_is_answered() {
    let a = agent(&["--request-timeout-seconds", "5"]);
    let address = a.address.clone();
    let hostile: Vec<thread::JoinHandle<()>> = (0..16)
        .map(|i| {
            let address = address.clone();
            thread::spawn(move || {
                let mut s = TcpStream::connect(&address).unwrap();
                if i % 2 == 0 {
                    // Slow-loris: the magic, one byte at a time.
                    for &b in &MAGIC {
                        if s.write_all(&[b]).is_err() {
                            return;
                        }
                        thread::sleep(Duration::from_millis(500));
                    }
                } else {
                    let _ = s.write_all(b"GET / HTTP/1.1\r\nHost: agent\r\n\r\n");
                }
                let mut sink = Vec::new();
                let _ = s.read_to_end(&mut sink);
            })
        })
        .collect();
    thread::sleep(Duration::from_millis(200));
    let good: Vec<thread::JoinHandle<(Duration, Reply)>> = (0..48)
        .map(|_| {
            let address = address.clone();
            thread::spawn(move || {
                let started = Instant::now();
                let reply = ask(&address, &request(None, Op::Facts, 0));
                (started.elapsed(), reply)
            })
        })
        .collect();
    let mut times: Vec<Duration> = good
        .into_iter()
        .map(|h| {
            let (t, reply) = h.join().unwrap();
            assert!(matches!(reply, Reply::Facts { .. }), "{reply:?}");
            t
        })
        .collect();
    times.sort();
    println!(
        "48 well-formed of 64 clients: p50 {:?}, p99 {:?}",
        times[times.len() / 2],
        times[times.len() * 99 / 100]
    );
    for h in hostile {
        h.join().unwrap();
    }
    still_serves_without_token(&address);
}

/// The agent still answers a well-formed facts request (no token).
fn still_serves_without_token(address: &str) {
    assert!(matches!(
        ask(address, &request(None, Op::Facts, 0)),
        Reply::Facts { .. }
    ));
}
