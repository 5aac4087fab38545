//! `image-folder:PATH`: one sub-folder per class of PNG, JPEG or BMP images.

use std::path::Path;

use image::imageops::FilterType;

use super::{DataError, Samples, folder};
use edgenas_model::network::Shape;

/// The largest image side read, in pixels: a phone's photo fits; a header claiming more is more
/// likely damaged, and decoding what it claims takes seconds (a fuzzed JPEG header of 8192 ×
/// 8192 pixels: 2.1 s; of 4096 × 4096: 0.6 s).
const MAX_SIDE: u32 = 4096;

/// The most one image's decoding may allocate (4096 × 4096 RGBA is 64 MiB).
const MAX_DECODE_BYTES: u64 = 128 << 20;

/// The decoder's limits: [`MAX_SIDE`] and [`MAX_DECODE_BYTES`] (the image crate's default
/// lets a damaged header of a few bytes claim 512 MiB).
fn limits() -> image::Limits {
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(MAX_DECODE_BYTES);
    limits
}

/// `img` resized to `width × height`: shrunk by averaging the pixels that fall on each output
/// pixel (fast: each source pixel is read once, so a photo's size costs little), enlarged or
/// reshaped by a triangle filter.
fn fit(img: image::DynamicImage, width: u32, height: u32) -> image::DynamicImage {
    if img.width() >= width && img.height() >= height {
        img.thumbnail_exact(width, height)
    } else {
        img.resize_exact(width, height, FilterType::Triangle)
    }
}

/// Reads `root/CLASS/*.{png,jpg,jpeg,bmp}`; classes are the sorted sub-folder names. Each image
/// is resized to `(channels, height, width)` ([`fit`]) and converted to grey
/// (1 channel) or RGB (3 channels); values stay 0–255 until normalisation. Hidden files are
/// skipped; any other file that does not decode as an image is an error.
pub fn load(
    root: &str,
    (channels, height, width): (usize, usize, usize),
) -> Result<Samples, DataError> {
    if channels != 1 && channels != 3 {
        return Err(DataError::new(
            root,
            format!("images convert to 1 or 3 channels; the space asks for {channels}"),
        ));
    }
    let classes = folder::class_folders(root, &[])?;
    if classes.is_empty() {
        return Err(DataError::new(
            root,
            "has no class sub-folders (expected one folder per class)",
        ));
    }
    let mut x = Vec::new();
    let mut labels = Vec::new();
    for (label, class) in classes.iter().enumerate() {
        let dir = Path::new(root).join(class);
        let files = folder::visible_files(&dir)?;
        if files.is_empty() {
            return Err(DataError::new(
                dir.display(),
                format!("class `{class}` is empty"),
            ));
        }
        for file in files {
            let mut reader = image::ImageReader::open(&file)
                .and_then(|r| r.with_guessed_format())
                .map_err(|e| DataError::new(file.display(), format!("cannot read: {e}")))?;
            reader.limits(limits());
            let img = reader.decode().map_err(|e| {
                DataError::new(
                    file.display(),
                    format!("not an image edgenas can read (PNG, JPEG, BMP): {e}"),
                )
            })?;
            let img = fit(img, width as u32, height as u32);
            if channels == 1 {
                x.extend(img.to_luma8().pixels().map(|p| p.0[0] as f32));
            } else {
                let rgb = img.to_rgb8();
                for c in 0..3 {
                    x.extend(rgb.pixels().map(|p| p.0[c] as f32));
                }
            }
            labels.push(label as u32);
        }
    }
    Ok(Samples {
        shape: Shape::Image {
            c: channels,
            h: height,
            w: width,
        },
        x,
        labels,
        class_names: classes,
    })
}
