//! 2-D max pooling on contiguous NCHW `f32` slices, forward (with where each maximum came from)
//! and backward (each output's gradient back to that input).

use super::parallel::for_each_chunk;

/// The geometry of one pooling: `planes` maps (samples × channels) of `input` pixels pooled to
/// `output` pixels by a `kernel` window every `stride`, `padding` before the first row and
/// column (padding never wins a maximum).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pool {
    /// Samples × channels.
    pub planes: usize,
    /// Input height and width.
    pub input: [usize; 2],
    /// Window height and width.
    pub kernel: [usize; 2],
    /// Stride along height and width.
    pub stride: [usize; 2],
    /// Padding before the first row and column.
    pub padding: [usize; 2],
    /// Output height and width.
    pub output: [usize; 2],
}

impl Pool {
    fn in_plane(&self) -> usize {
        self.input[0] * self.input[1]
    }

    fn out_plane(&self) -> usize {
        self.output[0] * self.output[1]
    }

    /// The input indices along `axis` that output `o`'s window covers inside the map.
    fn window(&self, axis: usize, o: usize) -> std::ops::Range<usize> {
        let start = o * self.stride[axis];
        let first = start.saturating_sub(self.padding[axis]);
        let end = (start + self.kernel[axis]).saturating_sub(self.padding[axis]);
        first..end.min(self.input[axis])
    }
}

/// The maximum of each window, and where in its plane it lies (the first of equal maxima).
pub fn max_forward(p: &Pool, x: &[f32]) -> (Vec<f32>, Vec<u32>) {
    let (in_plane, out_plane) = (p.in_plane(), p.out_plane());
    let mut out: Vec<(f32, u32)> = vec![(f32::NEG_INFINITY, 0); p.planes * out_plane];
    let work = p.planes * out_plane * p.kernel[0] * p.kernel[1];
    let plane = |plane: usize, out: &mut [(f32, u32)], _: &mut ()| {
        let x = &x[plane * in_plane..(plane + 1) * in_plane];
        for oy in 0..p.output[0] {
            let rows = p.window(0, oy);
            for ox in 0..p.output[1] {
                let (mut max, mut from) = out[oy * p.output[1] + ox];
                for iy in rows.clone() {
                    for ix in p.window(1, ox) {
                        // Selected without a branch: on real data which input wins is a coin
                        // toss, and mispredicted branches took most of the pooling's time.
                        let at = iy * p.input[1] + ix;
                        let wins = x[at] > max;
                        max = if wins { x[at] } else { max };
                        from = if wins { at as u32 } else { from };
                    }
                }
                out[oy * p.output[1] + ox] = (max, from);
            }
        }
    };
    for_each_chunk(&mut out, out_plane, work, || (), plane);
    out.into_iter().unzip()
}

/// The input's gradient: each output's gradient `dy` added at its maximum's place `from`.
pub fn max_backward(p: &Pool, from: &[u32], dy: &[f32]) -> Vec<f32> {
    let (in_plane, out_plane) = (p.in_plane(), p.out_plane());
    let mut dx = vec![0.0; p.planes * in_plane];
    let plane = |plane: usize, dx: &mut [f32], _: &mut ()| {
        let at = plane * out_plane..(plane + 1) * out_plane;
        for (&i, &d) in from[at.clone()].iter().zip(&dy[at]) {
            dx[i as usize] += d;
        }
    };
    for_each_chunk(&mut dx, in_plane, p.planes * out_plane, || (), plane);
    dx
}
