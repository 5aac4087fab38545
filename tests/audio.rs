//! Audio folders end to end: WAV clips the tests write themselves (tones whose pitch is the
//! class, voiced a little differently by each "speaker"), the speaker-honest split, training
//! through the front end, `evaluate`, and every kind of bad audio named by file. The Free
//! Spoken Digit Dataset in `../shared` is used when it is there.

use std::path::Path;

use crate::common::{edgenas, shared, stdout_json};
use edgenas::board::CycleTable;
use edgenas::candidate::{Candidate, InputFormat};
use edgenas::compile::{HostEngine, HostFrontEnd};
use edgenas::data;
use edgenas::export::StoredInfo;
use edgenas::front_end::FrontEnd;
use edgenas::measure::QemuMeter;
use edgenas::space::{load_space, parse_space};

/// A small keyword space for tones: a quick front end and one convolution.
const TONE_SPACE: &str = r#"
name = "tones"
description = "test: a small front end and one convolution"

[front_end]
type = "mfcc"
sample_rate = 8000
clip_ms = 500
frame_ms = 32
stride_ms = 32
mel_bands = 16
coefficients = { values = [8, 12] }

[input]
classes = 3

[[blocks]]
name = "stem"
type = "conv"
out = 8
stride = 2

[[blocks]]
name = "head"
type = "classifier"
"#;

const SPEAKERS: [&str; 4] = ["ann", "bob", "cyd", "dee"];
const PITCHES: [f64; 3] = [300.0, 900.0, 2400.0];

/// Writes a mono 16-bit WAV file of `samples` at `rate`.
fn write_wav(path: &Path, rate: u32, channels: u16, samples: &[i16]) {
    let spec = hound::WavSpec {
        channels,
        sample_rate: rate,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(path, spec).unwrap();
    for &s in samples {
        w.write_sample(s).unwrap();
    }
    w.finalize().unwrap();
}

/// A tone of `hz` for `len` samples at 8 kHz, with a fade in and out.
fn tone(hz: f64, len: usize, amplitude: f64) -> Vec<i16> {
    (0..len)
        .map(|i| {
            let fade = (i.min(len - i) as f64 / 200.0).min(1.0);
            let t = i as f64 / 8000.0;
            (amplitude * fade * (std::f64::consts::TAU * hz * t).sin()) as i16
        })
        .collect()
}

/// `root/CLASS/SPEAKER_N.wav`: three classes of tones, each speaker's a few per cent off.
fn write_tones(root: &Path, per_speaker: usize) {
    for (c, pitch) in PITCHES.iter().enumerate() {
        let dir = root.join(format!("tone{c}"));
        std::fs::create_dir_all(&dir).unwrap();
        for (s, speaker) in SPEAKERS.iter().enumerate() {
            for n in 0..per_speaker {
                let hz = pitch * (1.0 + 0.03 * s as f64 - 0.04);
                let len = 1500 + 300 * n;
                let clip = tone(hz, len, 3000.0 + 1000.0 * n as f64);
                write_wav(&dir.join(format!("{speaker}_{n}.wav")), 8000, 1, &clip);
            }
        }
    }
}

/// `edgenas train` of the space file `space` on the audio folder `root`, with `more`.
fn train_on(space: &Path, root: &Path, more: &[&str]) -> std::process::Output {
    let data = format!("audio-folder:{}", root.display());
    let args = ["train", "--space", space.to_str().unwrap(), "--data", &data];
    edgenas(&[&args[..], more].concat())
}

#[test]
fn a_folder_of_clips_trains_through_the_front_end_split_by_speaker_and_evaluates() {
    let tmp = tempfile::tempdir().unwrap();
    let (root, space, model) = (
        tmp.path().join("tones"),
        tmp.path().join("tones.toml"),
        tmp.path().join("model"),
    );
    write_tones(&root, 6);
    std::fs::write(&space, TONE_SPACE).unwrap();
    let spec = format!("audio-folder:{}", root.display());
    let train = stdout_json(&train_on(
        &space,
        &root,
        &[
            "--genotype",
            "front_end.coefficients=12",
            "--epochs",
            "30",
            "--batch-size",
            "8",
            "--out",
            model.to_str().unwrap(),
            "--json",
        ],
    ));
    let data = &train["data"];
    // 4 speakers: one to test, one to validate, two to train (with one augmented copy each).
    assert_eq!(data["test"], 18, "{data}");
    assert_eq!(data["valid"], 18);
    assert_eq!(data["train"], 72);
    let split = data["split"].as_str().unwrap();
    assert!(split.starts_with("by speaker: test "), "{split}");
    assert_eq!(data["input"], serde_json::json!([1, 15, 12]));
    assert_eq!(data["front_end"]["coefficients"], 12);
    assert!(
        train["test_accuracy"].as_f64().unwrap() >= 0.9,
        "tones of three pitches, test speaker unseen: {}",
        train["test_accuracy"]
    );
    let card: serde_json::Value =
        serde_json::from_slice(&std::fs::read(model.join("front_end.json")).unwrap()).unwrap();
    assert_eq!(
        card["classes"],
        serde_json::json!(["tone0", "tone1", "tone2"])
    );

    // Scoring every clip, through the stored front end and normalisation.
    let eval = stdout_json(&edgenas(&[
        "evaluate",
        model.to_str().unwrap(),
        "--data",
        &spec,
        "--json",
    ]));
    let models = eval["models"].as_array().unwrap();
    assert_eq!(
        models.len(),
        3,
        "model.onnx, model-int8.onnx, and the device's front end and engine"
    );
    let (int8, device) = (&models[1], &models[2]);
    assert!(device["file"].as_str().unwrap().starts_with("device"));
    let gap = (int8["accuracy"].as_f64().unwrap() - device["accuracy"].as_f64().unwrap()).abs();
    assert!(
        gap <= 0.03,
        "tract on host features {int8} against the device {device}"
    );
    for m in models {
        assert_eq!(m["samples"], 72);
        let confusion: Vec<Vec<u64>> = serde_json::from_value(m["confusion"].clone()).unwrap();
        assert_eq!(confusion.iter().flatten().sum::<u64>(), 72);
        let diagonal: u64 = (0..3).map(|i| confusion[i][i]).sum();
        assert!(
            (m["accuracy"].as_f64().unwrap() - diagonal as f64 / 72.0).abs() < 1e-9,
            "{m}"
        );
        assert!(m["accuracy"].as_f64().unwrap() >= 0.9, "{m}");
        assert_eq!(m["per_class"][2]["class"], "tone2");
        assert_eq!(m["per_class"][2]["samples"], 24);
    }
    features_agree_on_host_and_device(&model, &spec, &root);

    // A text table names each class, and the wrong classes are refused.
    let text = edgenas(&["evaluate", model.to_str().unwrap(), "--data", &spec]);
    let text = String::from_utf8(text.stdout).unwrap();
    assert!(
        text.contains("tone1") && text.contains("confusion"),
        "{text}"
    );
    std::fs::rename(root.join("tone2"), root.join("zzz")).unwrap();
    let wrong = edgenas(&["evaluate", model.to_str().unwrap(), "--data", &spec]);
    let stderr = String::from_utf8_lossy(&wrong.stderr);
    assert!(!wrong.status.success());
    assert!(stderr.contains("are not the model's"), "{stderr}");
}

/// The device's integer front end (`front_end.blob`, f32 output) against the host's f32
/// features with the stored normalisation, on every clip.
fn features_agree_on_host_and_device(model: &Path, spec: &str, root: &Path) {
    let onnx = std::fs::read(model.join("model.onnx")).unwrap();
    let info = StoredInfo::from_bytes(&onnx, "model.onnx").unwrap();
    let front_end = info.front_end.unwrap();
    let format = InputFormat {
        dims: front_end.dims(),
        front_end: Some(front_end),
    };
    let mut host = data::load_all(spec, format).unwrap();
    info.normalisation.unwrap().apply(&mut host.x, host.shape);
    let mut device =
        HostFrontEnd::new(&std::fs::read(model.join("front_end.blob")).unwrap()).unwrap();
    let clips = data::audio::clips(root.to_str().unwrap(), &front_end)
        .unwrap()
        .clips;
    let size = host.shape.elements();
    let (mut worst, mut total) = (0f32, 0f64);
    for ((_, clip), expected) in clips.iter().zip(host.x.chunks(size)) {
        let bytes = device.run(clip).unwrap();
        for (b, e) in bytes.chunks(4).zip(expected) {
            let d = f32::from_le_bytes([b[0], b[1], b[2], b[3]]);
            worst = worst.max((d - e).abs());
            total += (d - e).abs() as f64;
        }
    }
    let mean = total / host.x.len() as f64;
    eprintln!("normalised features, device against host: largest difference {worst}, mean {mean}");
    assert!(worst < LARGEST_DIFFERENCE, "{worst}");
    assert!(mean < MEAN_DIFFERENCE, "{mean}");
}

/// The largest difference of a normalised feature (in standard deviations of the training
/// split) between the device's integer front end and the host's f32 one: the tones' highest
/// cepstral coefficients vary little, so a small error in them is a large share of their
/// deviation.
const LARGEST_DIFFERENCE: f32 = 0.1;
/// The mean absolute difference.
const MEAN_DIFFERENCE: f64 = 0.01;

/// Trains a model of `space_text` on tones into `dir` and runs three clips through its
/// front end and network on the emulated board and on the host: the outputs must be equal byte
/// for byte. Returns the model's folder and its front end.
fn board_and_host_agree(
    meter: &QemuMeter,
    dir: &Path,
    space_text: &str,
) -> (std::path::PathBuf, FrontEnd) {
    let (root, space, model) = (dir.join("tones"), dir.join("tones.toml"), dir.join("model"));
    write_tones(&root, 3);
    std::fs::write(&space, space_text).unwrap();
    let out = train_on(
        &space,
        &root,
        &[
            "--random",
            "--epochs",
            "2",
            "--out",
            model.to_str().unwrap(),
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let read = |name: &str| std::fs::read(model.join(name)).unwrap();
    let (fe_blob, net_blob) = (read("front_end-int8.blob"), read("model-int8.blob"));
    let space = parse_space(space_text, "tones.toml").unwrap();
    let front_end = Candidate::input_format(&space, &space.first_genotype())
        .unwrap()
        .front_end
        .unwrap();
    let clips = data::audio::clips(root.to_str().unwrap(), &front_end)
        .unwrap()
        .clips;
    // On the host: the front end, then the engine.
    let mut host_fe = HostFrontEnd::new(&fe_blob).unwrap();
    let mut host = HostEngine::new(&net_blob).unwrap();
    for (_, clip) in clips.iter().take(3) {
        let features = host_fe.run(clip).unwrap();
        let expected = host.run_bytes(&features).unwrap();
        let bytes: Vec<u8> = clip.iter().flat_map(|s| s.to_le_bytes()).collect();
        let run = meter
            .run_blob(&net_blob, &bytes, Some(&fe_blob), 1)
            .unwrap();
        let blob = edgenas_engine::blob::Blob::parse(&net_blob).unwrap();
        let output = blob.tensor(blob.header().output as usize).unwrap();
        assert_eq!(
            edgenas::compile::from_bytes(&output, &run.output),
            expected,
            "the board's output is the host's"
        );
        let front = run.front_end_instructions.unwrap();
        let network: u64 = run.op_instructions.iter().sum();
        assert!(
            front > 0 && front + network <= run.instructions[0],
            "{run:?}"
        );
    }
    (model, front_end)
}

#[test]
fn the_front_end_runs_on_the_emulated_board_before_the_network_as_on_the_host() {
    let Some(meter) = crate::qemu::meter("qemu-mps2-an386") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    // A frame of 40 ms padded to a transform of 512 points (its assembly's other paths: the
    // zeros past the frame, a stage more), under the fixed log floor (the default is the
    // clip's peak).
    let padded = tmp.path().join("padded");
    std::fs::create_dir_all(&padded).unwrap();
    board_and_host_agree(
        &meter,
        &padded,
        &TONE_SPACE.replace("frame_ms = 32", "frame_ms = 40\nlog_floor = \"fixed\""),
    );
    let (model, front_end) = board_and_host_agree(&meter, tmp.path(), TONE_SPACE);
    let read = |name: &str| std::fs::read(model.join(name)).unwrap();
    let (fe_blob, net_blob) = (read("front_end-int8.blob"), read("model-int8.blob"));
    // And the meter: the front end as its own share of the latency.
    let m = meter
        .measure_with_front_end(&read("model-int8.onnx"), "model-int8.onnx", &fe_blob)
        .unwrap();
    let share = m.front_end.unwrap();
    assert!(share.latency_ms > 0.0 && share.latency_ms < m.latency_ms.median);
    // The predictor's cycles for this front end (half a second, 16 bands: not one of those it
    // was fitted to) are the emulated core's within 5 %: an engine change that moves them
    // fails here until `bench/front-end.sh` is rerun and the figures refitted.
    let m4 = &CycleTable::of("cortex-m4f").unwrap().front_end;
    let (predicted, measured) = (front_end.device_cycles(m4), share.cycles.unwrap());
    eprintln!("front end on the emulated M4: {measured} cycles, predicted {predicted:.0}");
    assert!(
        (predicted / measured - 1.0).abs() < 0.05,
        "predicted {predicted} cycles, measured {measured}"
    );
    assert_eq!(
        m.ops.unwrap().len(),
        edgenas_engine::blob::Blob::parse(&net_blob)
            .unwrap()
            .header()
            .ops as usize
    );
}

#[test]
fn bad_audio_is_named_by_file_with_a_clear_error_never_a_panic() {
    let tmp = tempfile::tempdir().unwrap();
    let space = tmp.path().join("tones.toml");
    std::fs::write(&space, TONE_SPACE).unwrap();
    let case = |name: &str, spoil: &dyn Fn(&Path), expect: &[&str]| {
        let root = tmp.path().join(name);
        write_tones(&root, 1);
        spoil(&root);
        let out = train_on(&space, &root, &["--random", "--epochs", "1"]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{name}: {stderr}");
        assert!(!stderr.contains("panicked"), "{name}: {stderr}");
        for e in expect {
            assert!(stderr.contains(e), "{name}: expected `{e}` in {stderr}");
        }
    };
    case(
        "truncated",
        &|root| {
            let f = root.join("tone0/bob_0.wav");
            let bytes = std::fs::read(&f).unwrap();
            std::fs::write(&f, &bytes[..bytes.len() / 2 + 1]).unwrap();
        },
        &["bob_0.wav", "truncated"],
    );
    case(
        "stereo",
        &|root| write_wav(&root.join("tone1/cyd_0.wav"), 8000, 2, &[0; 4000]),
        &["cyd_0.wav", "2 channels", "mono"],
    );
    case(
        "rate",
        &|root| write_wav(&root.join("tone1/cyd_0.wav"), 44100, 1, &[0; 4000]),
        &["cyd_0.wav", "44100 Hz", "8000 Hz"],
    );
    case(
        "empty-class",
        &|root| std::fs::create_dir(root.join("tone3")).unwrap(),
        &["tone3", "holds no WAV files"],
    );
    case(
        "no-wav",
        &|root| {
            for c in 0..3 {
                std::fs::remove_dir_all(root.join(format!("tone{c}"))).unwrap();
            }
            std::fs::write(root.join("notes.txt"), "no clips").unwrap();
        },
        &["has no class sub-folders"],
    );
    case(
        "not-a-wav",
        &|root| std::fs::write(root.join("tone0/ann_0.wav"), "not audio").unwrap(),
        &["ann_0.wav", "not a readable WAV file"],
    );
    // An audio folder with a space that has no front end, and the other way round.
    let root = tmp.path().join("truncated");
    let out = edgenas(&[
        "train",
        "--space",
        "ds-cnn",
        "--random",
        "--data",
        &format!("audio-folder:{}", root.display()),
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("[front_end]"), "{stderr}");
    let out = edgenas(&["train", "--space", "kws", "--random", "--data", "digits"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("audio-folder:PATH"), "{stderr}");
}

#[test]
fn split_by_none_splits_files_and_options_are_checked() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("tones");
    write_tones(&root, 5);
    let space = parse_space(TONE_SPACE, "tones.toml").unwrap();
    let format = Candidate::input_format(&space, &space.first_genotype()).unwrap();
    let spec = format!("audio-folder:{}#split-by=none,augment=0", root.display());
    let d = data::load(&spec, format, 1).unwrap();
    // 20 clips a class: 3 test, 3 valid, 14 train, speakers mixed.
    assert_eq!((d.train.len(), d.valid.len(), d.test.len()), (42, 9, 9));
    assert!(d.split.starts_with("by class"), "{}", d.split);
    let bad = format!("audio-folder:{}#augment=lots", root.display());
    let e = data::load(&bad, format, 1).unwrap_err();
    assert!(e.message.contains("augment=lots"), "{e}");
    // Two speakers cannot be split by speaker: the default says so, `speaker` refuses.
    for s in ["cyd", "dee"] {
        for c in 0..3 {
            for n in 0..5 {
                std::fs::remove_file(root.join(format!("tone{c}/{s}_{n}.wav"))).unwrap();
            }
        }
    }
    let auto = format!("audio-folder:{}", root.display());
    let d = data::load(&auto, format, 1).unwrap();
    assert!(d.split.contains("fewer than 3 speakers"), "{}", d.split);
    let strict = format!("audio-folder:{}#split-by=speaker", root.display());
    let e = data::load(&strict, format, 1).unwrap_err();
    assert!(e.message.contains("at least 3 speakers"), "{e}");
}

#[test]
fn speech_commands_lists_decide_the_split_and_background_noise_is_not_a_class() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("speech");
    write_tones(&root, 3);
    let noise = root.join("_background_noise_");
    std::fs::create_dir(&noise).unwrap();
    write_wav(&noise.join("hum.wav"), 16000, 1, &tone(50.0, 16000, 2000.0));
    std::fs::write(
        root.join("testing_list.txt"),
        "tone0/ann_0.wav\ntone1/ann_0.wav\n",
    )
    .unwrap();
    std::fs::write(root.join("validation_list.txt"), "tone2/bob_1.wav\n").unwrap();
    let space = parse_space(TONE_SPACE, "tones.toml").unwrap();
    let format = Candidate::input_format(&space, &space.first_genotype()).unwrap();
    let d = data::load(&format!("audio-folder:{}", root.display()), format, 1).unwrap();
    assert_eq!(d.class_names, vec!["tone0", "tone1", "tone2"]);
    assert_eq!((d.test.len(), d.valid.len()), (2, 1));
    assert_eq!(
        d.train.len(),
        2 * (36 - 3),
        "each training clip and one augmented copy"
    );
    assert!(d.split.contains("testing_list.txt"), "{}", d.split);
    assert!(d.split.contains("background noise"), "{}", d.split);
}

#[test]
fn the_spoken_digits_are_split_by_speaker() {
    let Some(fsdd) = shared("data/fsdd", "the_spoken_digits_are_split_by_speaker") else {
        return;
    };
    let space = load_space("kws").unwrap();
    let format = Candidate::input_format(&space, &space.first_genotype()).unwrap();
    let d = data::load(&format!("audio-folder:{}", fsdd.display()), format, 0).unwrap();
    assert_eq!(d.classes(), 10);
    // Five speakers, 500 clips each: one tests, one validates, three train (×2 augmented).
    assert_eq!(
        (d.test.len(), d.valid.len(), d.train.len()),
        (500, 500, 3000)
    );
    let speakers = ["george", "jackson", "nicolas", "theo", "yweweler"];
    for s in speakers {
        assert_eq!(
            d.split.matches(s).count(),
            1,
            "{s} in one split: {}",
            d.split
        );
    }
}

#[test]
fn a_front_end_table_is_checked_like_the_rest_of_a_space() {
    let bad = |from: &str, to: &str| {
        let text = TONE_SPACE.replace(from, to);
        parse_space(&text, "tones.toml").unwrap_err().to_string()
    };
    let e = bad("type = \"mfcc\"", "type = \"log_mel\"");
    assert!(e.contains("`coefficients` is for mfcc"), "{e}");
    let e = bad("classes = 3", "classes = 3\nheight = 49");
    assert!(e.contains("gives only `classes`"), "{e}");
    let e = bad("sample_rate = 8000", "sample_rate = 44100");
    assert!(e.contains("8000 or 16000"), "{e}");
    let e = bad("frame_ms = 32", "frame_ms = 32\nhop_ms = 10");
    assert!(e.contains("unknown key"), "{e}");
    let e = bad("frame_ms = 32", "frame_ms = 32\nlog_floor = \"quiet\"");
    assert!(
        e.contains("front_end.log_floor") && e.contains("fixed, peak"),
        "{e}"
    );
    // A frame longer than the clip decodes to no front end: the first genotype is refused.
    let e = bad("clip_ms = 500", "clip_ms = 20");
    assert!(e.contains("longer than the clip"), "{e}");
}

#[test]
fn a_front_ends_sample_shape_is_known_without_loading_the_clips_through_it() {
    // What a search's candidates are decoded with: each front end of the space gives the
    // shape and classes its loaded data set would have.
    let dir = tempfile::tempdir().unwrap();
    write_tones(dir.path(), 2);
    let spec = format!("audio-folder:{}", dir.path().display());
    let space = parse_space(TONE_SPACE, "tones.toml").unwrap();
    let formats: Vec<InputFormat> = ["front_end.coefficients=8", "front_end.coefficients=12"]
        .iter()
        .map(|g| Candidate::input_format(&space, &space.parse_genotype(g).unwrap()).unwrap())
        .collect();
    assert_ne!(formats[0], formats[1]);
    let mut datasets = data::Datasets::new(&spec, 0);
    datasets.get(formats[0]).unwrap();
    for &format in &formats {
        let loaded = data::load(&spec, format, 0).unwrap();
        assert_eq!(
            datasets.shape_and_classes(format).unwrap(),
            (loaded.shape, loaded.classes())
        );
    }
}
