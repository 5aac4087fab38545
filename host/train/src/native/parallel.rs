//! Running an op's independent pieces on every core, or on this thread when the op is too
//! small to pay for handing them to the thread pool.
//!
//! Our networks are small: a depthwise convolution of a batch of 32 on a 4×4 map is a few
//! thousand multiply-adds, less than what waking the pool's threads costs. The ops say how much
//! work they do and these helpers decide.

use rayon::prelude::*;

/// Below this many multiply-adds (or elements touched) an op runs on the calling thread.
const PARALLEL_WORK: usize = 1 << 17;

/// `f(index, chunk, scratch)` for each `chunk`-long piece of `data`, with a `scratch` made by
/// `init` for each task; `work` is the whole op's.
pub fn for_each_chunk<T, S, I, F>(data: &mut [T], chunk: usize, work: usize, init: I, f: F)
where
    T: Send,
    I: Fn() -> S + Sync + Send,
    F: Fn(usize, &mut [T], &mut S) + Sync + Send,
{
    if work < PARALLEL_WORK {
        let mut scratch = init();
        for (i, piece) in data.chunks_mut(chunk).enumerate() {
            f(i, piece, &mut scratch);
        }
    } else {
        data.par_chunks_mut(chunk)
            .enumerate()
            .for_each_init(init, |scratch, (i, piece)| f(i, piece, scratch));
    }
}

/// `f(i)` for `i` in `0..count`, in order; `work` is the whole op's.
pub fn map<R, F>(count: usize, work: usize, f: F) -> Vec<R>
where
    R: Send,
    F: Fn(usize) -> R + Sync + Send,
{
    if work < PARALLEL_WORK {
        (0..count).map(f).collect()
    } else {
        (0..count).into_par_iter().map(f).collect()
    }
}
