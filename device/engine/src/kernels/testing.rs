//! What the kernels' tests share: a deterministic generator of inputs and constants, and op
//! records.

extern crate std;
use std::vec::Vec;

use super::int8::{Weighted, Zeros};
use crate::blob::{Activation, Geometry, NO_TENSOR, OpKind, OpRecord};

/// A small deterministic generator (xorshift).
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    pub fn bytes(&mut self, n: usize) -> Vec<i8> {
        (0..n).map(|_| self.next() as i8).collect()
    }
    pub fn words(&mut self, n: usize, range: core::ops::Range<i32>) -> Vec<i32> {
        let span = (range.end - range.start) as u64;
        (0..n)
            .map(|_| range.start + (self.next() % span) as i32)
            .collect()
    }
}

impl Rng {
    /// Input and output zero points.
    pub fn zeros(&mut self) -> Zeros {
        Zeros {
            a: self.below(256) as i32 - 128,
            b: 0,
            y: self.below(256) as i32 - 128,
        }
    }
}

/// Random weights, biases and requantisation constants of `channels` filters of `k`.
pub struct Constants {
    /// The weights, then [`AFTER`] random bytes (what a blob stores after them is never 0s).
    pub weights: Vec<i8>,
    pub bias: Vec<i32>,
    pub multiplier: Vec<i32>,
    pub shift: Vec<i32>,
}

/// The bytes after a test's weights: as many as the shortest constants after a blob's (the
/// biases, multipliers and shifts of 2 filters).
const AFTER: usize = 24;

impl Constants {
    pub fn random(
        rng: &mut Rng,
        channels: usize,
        k: usize,
        bias: core::ops::Range<i32>,
        shift: core::ops::Range<i32>,
    ) -> Constants {
        Constants {
            weights: rng.bytes(channels * k + AFTER),
            bias: rng.words(channels, bias),
            multiplier: rng.words(channels, 1 << 29..i32::MAX),
            shift: rng.words(channels, shift),
        }
    }

    pub fn weighted(&self) -> Weighted<'_> {
        Weighted {
            weights: &self.weights[..self.weights.len() - AFTER],
            weights_and_after: &self.weights,
            bias: &self.bias,
            multiplier: &self.multiplier,
            shift: &self.shift,
        }
    }
}

/// An op record of `kind` with a square window, stride and padding, clamped to −100..=120.
pub fn record(kind: OpKind, kernel: usize, stride: usize, pad: usize) -> OpRecord {
    OpRecord {
        kind,
        activation: Activation::None,
        act_min: -100,
        act_max: 120,
        inputs: [0, NO_TENSOR],
        output: 1,
        geometry: Geometry {
            kernel: [kernel as u8; 2],
            stride: [stride as u8; 2],
            padding: [pad as u8; 2],
            groups: 1,
            count_include_pad: false,
        },
        words: [0; 3],
    }
}
