//! The fuzz targets: each parser of input edgenas does not write itself, with seeds it does.

use std::path::PathBuf;

use edgenas_model::board::{SHIPPED_BOARDS, parse_board};
use edgenas_model::candidate::Candidate;
use edgenas_model::space::{SHIPPED_SPACES, load_space, parse_space};
use edgenas_onnx::compile::{HostEngine, compile};
use edgenas_wire::Timer;
use edgenas_wire::protocol::{
    MAX_REPLY_BYTES, MAX_REQUEST_BYTES, Op, Reply, Request, read_frame, write_frame,
};

use crate::{Target, gdb_replies, media, study_rows};

/// Every target.
pub const TARGETS: &[Target] = &[
    Target {
        name: "space",
        what: "search-space TOML, then a sampled candidate's network and costs",
        seeds: space_seeds,
        run: |b| {
            if let Ok(space) = parse_space(&String::from_utf8_lossy(b), "fuzz.toml") {
                let mut rng = edgenas_model::rng::Rng::new(b.len() as u64);
                let _ = Candidate::new(&space, space.sample(&mut rng));
            }
        },
        text: true,
    },
    Target {
        name: "board",
        what: "board TOML (edgenas_model::board::parse_board)",
        seeds: board_seeds,
        run: |b| {
            let _ = parse_board(&String::from_utf8_lossy(b), "fuzz.toml");
        },
        text: true,
    },
    Target {
        name: "csv",
        what: "a CSV data set (`--data csv:FILE`)",
        seeds: csv_seeds,
        run: |b| {
            let path = scratch("fuzz.csv", b);
            let _ = edgenas_data::load_all(&format!("csv:{}", path.display()), (1, 1, 4));
        },
        text: true,
    },
    Target {
        name: "npy",
        what: "a NumPy feature file (`--data npy:X.npy,Y.npy`, X mutated)",
        seeds: npy_seeds,
        run: |b| {
            let x = scratch("fuzz-x.npy", b);
            let y = scratch("fuzz-y.npy", &npy("<i8", &[8], &[0u8; 64]));
            let spec = format!("npy:{},{}", x.display(), y.display());
            let _ = edgenas_data::load_all(&spec, (1, 1, 4));
        },
        text: false,
    },
    Target {
        name: "onnx",
        what: "an ONNX model compiled to a device blob (`edgenas compile`, `measure`)",
        seeds: onnx_seeds,
        run: |b| {
            let _ = compile(b, "fuzz.onnx");
        },
        text: false,
    },
    Target {
        name: "blob",
        what: "a device blob (checksum repaired, so mutants reach validation) loaded and run",
        seeds: blob_seeds,
        run: |b| {
            // The header's size and checksum made to match the mutant, as a careless or
            // hostile writer would, so that the checks behind them are what is tested.
            let mut b = b.to_vec();
            if b.len() >= 64 {
                let len = b.len() as u32;
                b[8..12].copy_from_slice(&len.to_le_bytes());
                let crc = edgenas_engine::crc32(&b[64..]);
                b[32..36].copy_from_slice(&crc.to_le_bytes());
            }
            if let Ok(mut host) = HostEngine::new(&b)
                && let Ok(mut engine) = host.engine()
            {
                let input = vec![0u8; engine.input().bytes as usize];
                let mut output = vec![0u8; engine.output().bytes as usize];
                let _ = engine.run(&input, &mut output);
            }
        },
        text: false,
    },
    Target {
        name: "agent",
        what: "the agent protocol's frames: a request as the agent reads it, a reply as the host does",
        seeds: agent_seeds,
        run: |b| {
            let _ = read_frame::<Request>(&mut &b[..], MAX_REQUEST_BYTES);
            let _ = read_frame::<Reply>(&mut &b[..], MAX_REPLY_BYTES);
        },
        text: false,
    },
    Target {
        name: "wav",
        what: "a WAV clip of an audio folder (`--data audio-folder:PATH`), then its MFCCs",
        seeds: media::wav_seeds,
        run: media::run_wav,
        text: false,
    },
    Target {
        name: "image",
        what: "a PNG, JPEG or BMP image of an image folder (`--data image-folder:PATH`)",
        seeds: media::image_seeds,
        run: media::run_image,
        text: false,
    },
    Target {
        name: "gdb",
        what: "a gdb server's replies to the client that drives QEMU and debug probes",
        seeds: gdb_replies::seeds,
        run: gdb_replies::run,
        text: false,
    },
    Target {
        name: "study",
        what: "a study's settings and a trial row as read back on resume (SQLite)",
        seeds: study_rows::seeds,
        run: study_rows::run,
        text: true,
    },
];

/// The target named `name`.
pub fn target(name: &str) -> Option<&'static Target> {
    TARGETS.iter().find(|t| t.name == name)
}

/// Writes `bytes` to `relative` (a file, maybe in folders) in this process's scratch folder;
/// its path.
pub(crate) fn scratch(relative: &str, bytes: &[u8]) -> PathBuf {
    let path = std::env::temp_dir()
        .join(format!("edgenas-fuzz-{}", std::process::id()))
        .join(relative);
    let folder = path.parent().expect("a file has a folder");
    std::fs::create_dir_all(folder).expect("the scratch folder");
    std::fs::write(&path, bytes).expect("the scratch file");
    path
}

fn space_seeds() -> Vec<Vec<u8>> {
    SHIPPED_SPACES
        .iter()
        .map(|(_, t)| t.as_bytes().to_vec())
        .collect()
}

fn board_seeds() -> Vec<Vec<u8>> {
    SHIPPED_BOARDS
        .iter()
        .map(|(_, t)| t.as_bytes().to_vec())
        .collect()
}

fn csv_seeds() -> Vec<Vec<u8>> {
    let rows = |header: &str, sep: &str| {
        let mut s = String::from(header);
        for i in 0..12 {
            let v: Vec<String> = (0..4)
                .map(|k| format!("{:.3}", (i * 7 + k) as f32 / 9.0))
                .collect();
            s.push_str(&format!(
                "{}{sep}{}\n",
                v.join(sep),
                ["cat", "dog", "owl"][i % 3]
            ));
        }
        s.into_bytes()
    };
    vec![rows("a,b,c,d,label\n", ","), rows("", ",")]
}

/// A NumPy v1.0 file of `dtype` and `shape` holding `data`.
fn npy(dtype: &str, shape: &[usize], data: &[u8]) -> Vec<u8> {
    let dims: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
    let comma = if shape.len() == 1 { "," } else { "" };
    let mut header = format!(
        "{{'descr': '{dtype}', 'fortran_order': False, 'shape': ({}{comma}), }}",
        dims.join(", ")
    );
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(data);
    out
}

fn npy_seeds() -> Vec<Vec<u8>> {
    let floats: Vec<u8> = (0..32)
        .flat_map(|i| (i as f32 / 7.0).to_le_bytes())
        .collect();
    let doubles: Vec<u8> = (0..32)
        .flat_map(|i| (i as f64 / 7.0).to_le_bytes())
        .collect();
    vec![npy("<f4", &[8, 4], &floats), npy("<f8", &[8, 4], &doubles)]
}

/// ONNX files of untrained networks sampled from two shipped spaces, f32 and int8 (small ones:
/// the blob target runs each mutant that still loads).
fn onnx_seeds() -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for (space, seed) in [("mlp", 1), ("mlp", 2), ("ds-cnn", 1)] {
        let space = load_space(space).expect("a shipped space");
        let genotype = space.sample(&mut edgenas_model::rng::Rng::new(seed));
        let c = Candidate::new(&space, genotype).expect("a candidate");
        for int8 in [false, true] {
            out.push(edgenas_measure::export_untrained(&c.network, int8, 1).expect("an export"));
        }
    }
    out
}

fn blob_seeds() -> Vec<Vec<u8>> {
    onnx_seeds()
        .iter()
        .map(|m| compile(m, "seed.onnx").expect("a seed compiles").blob)
        .collect()
}

fn agent_seeds() -> Vec<Vec<u8>> {
    let frame = |v: &dyn Fn(&mut Vec<u8>)| {
        let mut b = Vec::new();
        v(&mut b);
        b
    };
    let request = |op, token: Option<&str>| Request {
        token: token.map(str::to_string),
        op,
        model_bytes: 1234,
        name: "m.onnx".into(),
        timer: Timer::default(),
    };
    vec![
        frame(&|b| write_frame(b, &request(Op::Measure, Some("s3cret"))).expect("a frame")),
        frame(&|b| write_frame(b, &request(Op::Facts, None)).expect("a frame")),
        frame(&|b| write_frame(b, &Reply::Continue).expect("a frame")),
        frame(&|b| {
            write_frame(
                b,
                &Reply::Refused {
                    reason: "busy".into(),
                },
            )
            .expect("a frame")
        }),
    ]
}
