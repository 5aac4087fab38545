//! The targets of the folder data sets: WAV clips (`audio-folder:`) and images
//! (`image-folder:`), each mutant written as the one file of a one-class folder and loaded as
//! `edgenas search --data` would.

use std::io::Cursor;
use std::path::{Path, PathBuf};

use edgenas_data::audio::{Features, clips};
use edgenas_model::front_end::{FrontEnd, FrontEndKind, LogFloor};

use crate::targets::scratch;

/// The front end the WAV target reads with: 8 kHz, MFCC, as the KWS space's smallest choice.
const FRONT_END: FrontEnd = FrontEnd {
    kind: FrontEndKind::Mfcc,
    sample_rate: 8000,
    clip_ms: 250,
    frame_ms: 32,
    stride_ms: 16,
    mel_bands: 20,
    coefficients: 10,
    log_floor: LogFloor::Peak,
};

/// The folder `root/CLASS/` of this process's scratch space for `kind` holding `bytes` as
/// `file`; `root`'s path.
fn class_folder(kind: &str, class: &str, file: &str, bytes: &[u8]) -> PathBuf {
    let path = scratch(&format!("{kind}/{class}/{file}"), bytes);
    let root = path.parent().and_then(Path::parent);
    root.expect("the kind's folder").to_path_buf()
}

/// Reads a mutant as the one clip of an audio folder, then computes its features.
pub fn run_wav(bytes: &[u8]) {
    let root = class_folder("audio", "only", "a.wav", bytes);
    if let Ok(labelled) = clips(&root.to_string_lossy(), &FRONT_END) {
        let features = Features::new(FRONT_END);
        for (_, clip) in &labelled.clips {
            let _ = features.of(clip);
        }
    }
}

/// Mono 16-bit WAV files at 8 and 16 kHz (the rates read, one resampled), one of a stereo file
/// and one of 8-bit samples (refused), all written by hound.
pub fn wav_seeds() -> Vec<Vec<u8>> {
    let wav = |rate: u32, channels: u16, bits: u16, n: usize| {
        let spec = hound::WavSpec {
            channels,
            sample_rate: rate,
            bits_per_sample: bits,
            sample_format: hound::SampleFormat::Int,
        };
        let mut out = Cursor::new(Vec::new());
        let mut w = hound::WavWriter::new(&mut out, spec).expect("a WAV writer");
        for i in 0..n * channels as usize {
            let v = ((i as f32 * 0.07).sin() * 8000.0) as i32 >> (16 - bits);
            w.write_sample(v).expect("a sample");
        }
        w.finalize().expect("a WAV file");
        out.into_inner()
    };
    vec![
        wav(8000, 1, 16, 600),
        wav(16000, 1, 16, 900),
        wav(8000, 2, 16, 100),
        wav(8000, 1, 8, 100),
    ]
}

/// Reads a mutant as the image of one class of an image folder (the other class holds a
/// valid image), resized to 8×8 grey.
pub fn run_image(bytes: &[u8]) {
    static OTHER: std::sync::Once = std::sync::Once::new();
    OTHER.call_once(|| {
        class_folder("image", "other", "b.png", &image_seeds()[0]);
    });
    let root = class_folder("image", "only", "a.img", bytes);
    let _ = edgenas_data::load_all(&format!("image-folder:{}", root.display()), (1, 8, 8));
}

/// Small PNG (grey, RGB), JPEG and BMP images, written by the image crate.
pub fn image_seeds() -> Vec<Vec<u8>> {
    let rgb = image::RgbImage::from_fn(12, 9, |x, y| image::Rgb([x as u8 * 20, y as u8 * 28, 90]));
    let grey = image::DynamicImage::ImageRgb8(rgb.clone()).to_luma8();
    let encode = |img: image::DynamicImage, format| {
        let mut out = Cursor::new(Vec::new());
        img.write_to(&mut out, format).expect("an encoded image");
        out.into_inner()
    };
    vec![
        encode(
            image::DynamicImage::ImageLuma8(grey),
            image::ImageFormat::Png,
        ),
        encode(
            image::DynamicImage::ImageRgb8(rgb.clone()),
            image::ImageFormat::Png,
        ),
        encode(
            image::DynamicImage::ImageRgb8(rgb.clone()),
            image::ImageFormat::Jpeg,
        ),
        encode(image::DynamicImage::ImageRgb8(rgb), image::ImageFormat::Bmp),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_seeds_load_or_are_refused_as_their_formats_say() {
        let loads = |bytes: &[u8]| {
            let root = class_folder("audio", "only", "a.wav", bytes);
            clips(&root.to_string_lossy(), &FRONT_END).map(|c| c.clips[0].1.len())
        };
        let wav = wav_seeds();
        assert_eq!(loads(&wav[0]).unwrap(), FRONT_END.clip_samples());
        assert_eq!(loads(&wav[1]).unwrap(), FRONT_END.clip_samples());
        assert!(loads(&wav[2]).is_err() && loads(&wav[3]).is_err());
        for image in image_seeds() {
            run_image(&image);
            let root = class_folder("image", "only", "a.img", &image);
            let samples =
                edgenas_data::load_all(&format!("image-folder:{}", root.display()), (1, 8, 8));
            assert_eq!(samples.unwrap().x.len(), 2 * 64);
        }
    }
}
