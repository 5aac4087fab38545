//! Reading one WAV file into a clip of the front end's rate and length.

use std::path::Path;

use crate::DataError;

/// Reads a mono 16-bit PCM WAV file as samples at `rate` Hz: a file at 8 or 16 kHz is read at
/// the other of the two by halving (a [¼ ½ ¼] low-pass, then every second sample) or doubling
/// (linear interpolation) its rate; any other rate, more channels, another sample format, or a
/// file that ends early is an error naming the file.
pub fn read(path: &Path, rate: u32) -> Result<Vec<i16>, DataError> {
    let err = |m: String| DataError::new(path.display(), m);
    let mut reader =
        hound::WavReader::open(path).map_err(|e| err(format!("not a readable WAV file: {e}")))?;
    let spec = reader.spec();
    if spec.channels != 1 {
        return Err(err(format!(
            "has {} channels; audio data sets are mono (mix it down first, e.g. `sox in.wav -c 1 out.wav`)",
            spec.channels
        )));
    }
    if spec.sample_format != hound::SampleFormat::Int || spec.bits_per_sample != 16 {
        return Err(err(format!(
            "holds {}-bit {} samples; audio data sets are 16-bit PCM",
            spec.bits_per_sample,
            match spec.sample_format {
                hound::SampleFormat::Int => "integer",
                hound::SampleFormat::Float => "float",
            }
        )));
    }
    let samples = reader
        .samples::<i16>()
        .collect::<Result<Vec<i16>, _>>()
        .map_err(|e| err(format!("cannot read its samples (truncated?): {e}")))?;
    if samples.is_empty() {
        return Err(err("holds no samples".into()));
    }
    match (spec.sample_rate, rate) {
        (from, to) if from == to => Ok(samples),
        (from, to) if from == 2 * to => Ok(halve(&samples)),
        (from, to) if 2 * from == to => Ok(double(&samples)),
        (from, to) => Err(err(format!(
            "is at {from} Hz; the space's front end reads {to} Hz (files at {} or {} Hz are \
             converted; resample others first, e.g. `sox in.wav -r {to} out.wav`)",
            to / 2,
            to * 2
        ))),
    }
}

/// Pads (with silence on both sides) or cuts (keeping the middle) `samples` to `len`.
pub fn fit(samples: &[i16], len: usize) -> Vec<i16> {
    if samples.len() >= len {
        let start = (samples.len() - len) / 2;
        return samples[start..start + len].to_vec();
    }
    let before = (len - samples.len()) / 2;
    let mut out = vec![0; len];
    out[before..before + samples.len()].copy_from_slice(samples);
    out
}

fn halve(x: &[i16]) -> Vec<i16> {
    let at = |i: isize| x[i.clamp(0, x.len() as isize - 1) as usize] as i32;
    (0..x.len().div_ceil(2) as isize)
        .map(|k| {
            let i = 2 * k;
            ((at(i - 1) + 2 * at(i) + at(i + 1) + 2) >> 2) as i16
        })
        .collect()
}

fn double(x: &[i16]) -> Vec<i16> {
    let mut out = Vec::with_capacity(2 * x.len());
    for (i, &s) in x.iter().enumerate() {
        out.push(s);
        let next = x.get(i + 1).copied().unwrap_or(s);
        out.push(((s as i32 + next as i32) >> 1) as i16);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clips_are_centred_when_padded_or_cut() {
        assert_eq!(fit(&[1, 2], 6), vec![0, 0, 1, 2, 0, 0]);
        assert_eq!(fit(&[1, 2, 3, 4, 5, 6], 2), vec![3, 4]);
    }

    #[test]
    fn rates_convert_by_two_and_keep_a_constant() {
        assert_eq!(halve(&[100; 8]), vec![100; 4]);
        assert_eq!(double(&[0, 10]), vec![0, 5, 10, 10]);
    }
}
