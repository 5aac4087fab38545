//! The arena planner: every tensor of a model gets an offset in one buffer.
//!
//! The input is the model's tensors (their sizes in bytes) and its steps in execution order.
//! A tensor lives from the step that produces it (or from the start, for a model input) to the
//! last step that reads it (or to the end, for a model output). Tensors whose lifetimes overlap
//! never share bytes; the others may. Two kinds of sharing make a step's output use the same
//! bytes as one of its inputs:
//!
//! * [`Reuse::Alias`]: the output *is* the input with another shape (flatten, reshape). Always
//!   applied; the sizes must be equal.
//! * [`Reuse::InPlace`]: the op may overwrite one of its inputs (relu, batch norm, add, softmax).
//!   The first input that no later step reads, and whose bytes the output fits in, is taken.
//!
//! Tensors that share bytes form one *buffer*. Buffers are placed greedily, each at the lowest
//! offset where it overlaps no placed buffer that is live at the same time (the strategy of
//! TensorFlow Lite Micro's greedy planner), in four orders; the smallest arena wins. Its size is
//! the end of the highest buffer, and it is never below [`Plan::peak_live_bytes`], the largest
//! set of buffers live at one time. The plan is deterministic: the same graph gives the same
//! offsets on every machine.

use alloc::vec;
use alloc::vec::Vec;
use core::fmt;

use crate::format::align_up;

/// How a step's output may share bytes with one of its inputs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reuse {
    /// The output gets bytes of its own.
    Fresh,
    /// The op may write its output over any input that nothing reads later.
    InPlace,
    /// The output is this input (an index into `Step::inputs`), reinterpreted: no data moves.
    Alias(usize),
}

/// One op of the model, in execution order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Step {
    /// Tensors the op reads.
    pub inputs: Vec<usize>,
    /// The tensor the op writes.
    pub output: usize,
    /// Whether the output may share bytes with an input.
    pub reuse: Reuse,
    /// Working memory the op needs while it runs (0 for none).
    pub scratch_bytes: usize,
}

/// A planning problem: tensor sizes, steps, and which tensors the caller reads at the end.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Graph {
    /// Size in bytes of every tensor, indexed by tensor id.
    pub tensor_bytes: Vec<usize>,
    /// The ops in execution order.
    pub steps: Vec<Step>,
    /// Tensors that must stay intact until the end (the model outputs).
    pub outputs: Vec<usize>,
}

/// A run of bytes in the arena shared by one or more tensors, or one step's scratch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Buffer {
    /// Offset from the start of the arena.
    pub offset: usize,
    /// Size in bytes, aligned.
    pub bytes: usize,
    /// First moment the buffer is live (0 is before the first step, step `i` is moment `i + 1`).
    pub first: usize,
    /// Last moment the buffer is live (inclusive).
    pub last: usize,
}

/// The result of planning.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Plan {
    /// Arena offset of every tensor (0 for a tensor that no step touches).
    pub tensor_offsets: Vec<usize>,
    /// Arena offset of each step's scratch, where it has one.
    pub scratch_offsets: Vec<Option<usize>>,
    /// Every buffer that was placed.
    pub buffers: Vec<Buffer>,
    /// Size of the arena in bytes.
    pub arena_bytes: usize,
}

/// Why a graph cannot be planned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PlanError {
    /// A step names a tensor id that does not exist.
    UnknownTensor {
        /// Index of the step.
        step: usize,
        /// The tensor id it names.
        tensor: usize,
    },
    /// Two steps write the same tensor.
    WrittenTwice {
        /// The tensor written twice.
        tensor: usize,
    },
    /// A step reads a tensor that a later step produces.
    ReadBeforeWritten {
        /// Index of the step.
        step: usize,
        /// The tensor it reads too early.
        tensor: usize,
    },
    /// A `Reuse` names an input index the step does not have.
    BadReuseIndex {
        /// Index of the step.
        step: usize,
    },
    /// An alias between tensors of different sizes.
    AliasSizeMismatch {
        /// Index of the step.
        step: usize,
    },
}

impl fmt::Display for PlanError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PlanError::UnknownTensor { step, tensor } => {
                write!(f, "step {step} names tensor {tensor}, which does not exist")
            }
            PlanError::WrittenTwice { tensor } => write!(f, "tensor {tensor} is written twice"),
            PlanError::ReadBeforeWritten { step, tensor } => {
                write!(f, "step {step} reads tensor {tensor} before it is written")
            }
            PlanError::BadReuseIndex { step } => {
                write!(f, "step {step} reuses an input it does not have")
            }
            PlanError::AliasSizeMismatch { step } => {
                write!(f, "step {step} aliases tensors of different sizes")
            }
        }
    }
}

impl core::error::Error for PlanError {}

/// Lifetime and size of one group of tensors that share bytes (kept at the union-find root).
#[derive(Clone, Copy, Debug)]
struct Group {
    first: usize,
    last: usize,
    bytes: usize,
}

struct Groups {
    parent: Vec<usize>,
    group: Vec<Group>,
}

impl Groups {
    fn find(&mut self, mut t: usize) -> usize {
        while self.parent[t] != t {
            self.parent[t] = self.parent[self.parent[t]];
            t = self.parent[t];
        }
        t
    }

    fn merge(&mut self, a: usize, b: usize) -> usize {
        let (ra, rb) = (self.find(a), self.find(b));
        if ra != rb {
            let (ga, gb) = (self.group[ra], self.group[rb]);
            self.parent[rb] = ra;
            self.group[ra] = Group {
                first: ga.first.min(gb.first),
                last: ga.last.max(gb.last),
                bytes: ga.bytes.max(gb.bytes),
            };
        }
        ra
    }
}

/// Plans `graph`: one offset per tensor, one per scratch, and the arena size.
pub fn plan(graph: &Graph) -> Result<Plan, PlanError> {
    let n = graph.tensor_bytes.len();
    let end = graph.steps.len() + 1;
    let (first, last) = lifetimes(graph)?;

    let mut groups = Groups {
        parent: (0..n).collect(),
        group: (0..n)
            .map(|t| Group {
                first: first[t].unwrap_or(0),
                last: last[t],
                bytes: align_up(graph.tensor_bytes[t]),
            })
            .collect(),
    };
    for (i, step) in graph.steps.iter().enumerate() {
        let moment = i + 1;
        match step.reuse {
            Reuse::Fresh => {}
            Reuse::Alias(k) => {
                let input = step.inputs[k];
                if graph.tensor_bytes[input] != graph.tensor_bytes[step.output] {
                    return Err(PlanError::AliasSizeMismatch { step: i });
                }
                groups.merge(input, step.output);
            }
            Reuse::InPlace => {
                let out_bytes = align_up(graph.tensor_bytes[step.output]);
                let roots: Vec<usize> = step.inputs.iter().map(|&t| groups.find(t)).collect();
                let dying = roots.into_iter().find(|&root| {
                    let g = groups.group[root];
                    g.last == moment && out_bytes <= g.bytes
                });
                if let Some(root) = dying {
                    groups.merge(root, step.output);
                }
            }
        }
    }

    // Buffers: one per group that anything touches, one per scratch.
    let mut buffer_of_root = vec![usize::MAX; n];
    let mut buffers = Vec::new();
    for t in (0..n).filter(|&t| first[t].is_some() || last[t] > 0) {
        let root = groups.find(t);
        if buffer_of_root[root] == usize::MAX {
            let g = groups.group[root];
            buffer_of_root[root] = buffers.len();
            buffers.push(Buffer {
                offset: 0,
                bytes: g.bytes,
                first: g.first,
                last: g.last,
            });
        }
    }
    let mut scratch_buffer = vec![None; graph.steps.len()];
    for (i, step) in graph.steps.iter().enumerate() {
        if step.scratch_bytes > 0 {
            scratch_buffer[i] = Some(buffers.len());
            buffers.push(Buffer {
                offset: 0,
                bytes: align_up(step.scratch_bytes),
                first: i + 1,
                last: i + 1,
            });
        }
    }
    for b in &mut buffers {
        b.last = b.last.min(end);
    }

    let arena_bytes = place(&mut buffers);
    let tensor_offsets = (0..n)
        .map(|t| match buffer_of_root[groups.find(t)] {
            usize::MAX => 0,
            b => buffers[b].offset,
        })
        .collect();
    let scratch_offsets = scratch_buffer
        .iter()
        .map(|b| b.map(|b| buffers[b].offset))
        .collect();
    Ok(Plan {
        tensor_offsets,
        scratch_offsets,
        buffers,
        arena_bytes,
    })
}

/// Checks the graph and returns, per tensor, the moment it is written (`None` for a model input)
/// and the last moment it is read.
#[allow(clippy::type_complexity)]
fn lifetimes(graph: &Graph) -> Result<(Vec<Option<usize>>, Vec<usize>), PlanError> {
    let n = graph.tensor_bytes.len();
    let end = graph.steps.len() + 1;
    let mut first: Vec<Option<usize>> = vec![None; n];
    let mut last = vec![0; n];
    for (i, step) in graph.steps.iter().enumerate() {
        let moment = i + 1;
        for &t in step.inputs.iter().chain(core::iter::once(&step.output)) {
            if t >= n {
                return Err(PlanError::UnknownTensor { step: i, tensor: t });
            }
        }
        match step.reuse {
            Reuse::Alias(k) if k >= step.inputs.len() => {
                return Err(PlanError::BadReuseIndex { step: i });
            }
            _ => {}
        }
        if first[step.output].is_some() {
            return Err(PlanError::WrittenTwice {
                tensor: step.output,
            });
        }
        first[step.output] = Some(moment);
        last[step.output] = last[step.output].max(moment);
    }
    for (i, step) in graph.steps.iter().enumerate() {
        let moment = i + 1;
        for &t in &step.inputs {
            if first[t].is_some_and(|w| w >= moment) {
                return Err(PlanError::ReadBeforeWritten { step: i, tensor: t });
            }
            last[t] = last[t].max(moment);
        }
    }
    for &t in &graph.outputs {
        if t >= n {
            return Err(PlanError::UnknownTensor {
                step: graph.steps.len(),
                tensor: t,
            });
        }
        last[t] = end;
    }
    Ok((first, last))
}

/// Places buffers greedily in several orders (largest first, earliest first, longest-lived
/// first, largest size × lifetime first) and keeps the smallest arena; returns its size.
fn place(buffers: &mut [Buffer]) -> usize {
    type Key = fn(&Buffer) -> (usize, usize);
    let orders: [Key; 4] = [
        |b| (usize::MAX - b.bytes, b.first),
        |b| (b.first, usize::MAX - b.bytes),
        |b| (usize::MAX - (b.last - b.first), usize::MAX - b.bytes),
        |b| (usize::MAX - b.bytes * (b.last - b.first + 1), b.first),
    ];
    let mut best: Option<(usize, Vec<usize>)> = None;
    for key in orders {
        let mut order: Vec<usize> = (0..buffers.len()).collect();
        order.sort_by_key(|&i| (key(&buffers[i]), i));
        let (arena, offsets) = place_in_order(buffers, &order);
        if best.as_ref().is_none_or(|(a, _)| arena < *a) {
            best = Some((arena, offsets));
        }
    }
    let (arena, offsets) = best.unwrap_or_default();
    for (b, offset) in buffers.iter_mut().zip(offsets) {
        b.offset = offset;
    }
    arena
}

/// Places each buffer, in `order`, at the lowest offset where it overlaps no buffer placed
/// before it that is live at the same time. Returns the arena size and the offsets.
fn place_in_order(buffers: &[Buffer], order: &[usize]) -> (usize, Vec<usize>) {
    let mut offsets = vec![0; buffers.len()];
    let mut placed: Vec<usize> = Vec::with_capacity(buffers.len());
    let mut arena = 0;
    for &b in order {
        let me = buffers[b];
        if me.bytes == 0 {
            continue;
        }
        let mut busy: Vec<(usize, usize)> = placed
            .iter()
            .filter(|&&p| buffers[p].first <= me.last && me.first <= buffers[p].last)
            .map(|&p| (offsets[p], offsets[p] + buffers[p].bytes))
            .collect();
        busy.sort_unstable();
        let mut offset = 0;
        for (start, stop) in busy {
            if offset + me.bytes <= start {
                break;
            }
            offset = offset.max(stop);
        }
        offsets[b] = offset;
        arena = arena.max(offset + me.bytes);
        placed.push(b);
    }
    (arena, offsets)
}

impl Plan {
    /// The largest total size of buffers live at one moment: no arena can be smaller.
    pub fn peak_live_bytes(&self) -> usize {
        let end = self.buffers.iter().map(|b| b.last).max().unwrap_or(0);
        (0..=end)
            .map(|m| {
                self.buffers
                    .iter()
                    .filter(|b| b.first <= m && m <= b.last)
                    .map(|b| b.bytes)
                    .sum()
            })
            .max()
            .unwrap_or(0)
    }

    /// Whether any two buffers that are live at the same moment overlap in the arena.
    pub fn has_conflict(&self) -> bool {
        self.buffers.iter().enumerate().any(|(i, a)| {
            self.buffers[i + 1..].iter().any(|b| {
                let together = a.first <= b.last && b.first <= a.last;
                let overlap = a.offset < b.offset + b.bytes && b.offset < a.offset + a.bytes;
                together && overlap && a.bytes > 0 && b.bytes > 0
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(inputs: &[usize], output: usize, reuse: Reuse) -> Step {
        Step {
            inputs: inputs.to_vec(),
            output,
            reuse,
            scratch_bytes: 0,
        }
    }

    #[test]
    fn a_chain_needs_two_neighbours_at_a_time() {
        // t0 (100) -> t1 (200) -> t2 (50) -> t3 (10): the worst moment holds t0 and t1 = 300.
        let g = Graph {
            tensor_bytes: vec![100, 200, 50, 10],
            steps: vec![
                step(&[0], 1, Reuse::Fresh),
                step(&[1], 2, Reuse::Fresh),
                step(&[2], 3, Reuse::Fresh),
            ],
            outputs: vec![3],
        };
        let p = plan(&g).unwrap();
        assert_eq!(p.arena_bytes, 300);
        assert_eq!(p.peak_live_bytes(), 300);
        assert!(!p.has_conflict());
        // t2 reuses t0's bytes: both are placed at offsets that do not clash with t1.
        assert_ne!(p.tensor_offsets[1], p.tensor_offsets[2]);
    }

    #[test]
    fn a_residual_branch_keeps_its_input_alive() {
        // x(64) -> a(64) -> b(64); add(x, b) -> y(64). x lives until the add: 3 x 64 at step 2.
        let g = Graph {
            tensor_bytes: vec![64, 64, 64, 64],
            steps: vec![
                step(&[0], 1, Reuse::Fresh),
                step(&[1], 2, Reuse::Fresh),
                step(&[0, 2], 3, Reuse::InPlace),
            ],
            outputs: vec![3],
        };
        let p = plan(&g).unwrap();
        assert_eq!(p.arena_bytes, 192);
        assert_eq!(
            p.tensor_offsets[3], p.tensor_offsets[0],
            "add writes over x"
        );
    }

    #[test]
    fn in_place_ops_share_their_input_bytes() {
        // conv: x(40) -> c(80); relu in place -> r(80); flatten alias -> f(80); dense -> o(8).
        let g = Graph {
            tensor_bytes: vec![40, 80, 80, 80, 8],
            steps: vec![
                step(&[0], 1, Reuse::Fresh),
                step(&[1], 2, Reuse::InPlace),
                step(&[2], 3, Reuse::Alias(0)),
                step(&[3], 4, Reuse::Fresh),
            ],
            outputs: vec![4],
        };
        let p = plan(&g).unwrap();
        assert_eq!(p.arena_bytes, 120, "x + c at the conv, c + o at the dense");
        assert_eq!(p.tensor_offsets[1], p.tensor_offsets[2]);
        assert_eq!(p.tensor_offsets[2], p.tensor_offsets[3]);
    }

    #[test]
    fn in_place_is_refused_when_the_input_is_read_later() {
        // relu over x while x is still needed by a later step: the relu needs its own bytes.
        let g = Graph {
            tensor_bytes: vec![32, 32, 32],
            steps: vec![
                step(&[0], 1, Reuse::InPlace),
                step(&[0, 1], 2, Reuse::Fresh),
            ],
            outputs: vec![2],
        };
        let p = plan(&g).unwrap();
        assert_ne!(p.tensor_offsets[0], p.tensor_offsets[1]);
        assert_eq!(p.arena_bytes, 96);
    }

    #[test]
    fn scratch_is_live_only_during_its_step() {
        let g = Graph {
            tensor_bytes: vec![16, 16],
            steps: vec![Step {
                inputs: vec![0],
                output: 1,
                reuse: Reuse::Fresh,
                scratch_bytes: 10,
            }],
            outputs: vec![1],
        };
        let p = plan(&g).unwrap();
        assert_eq!(p.arena_bytes, 16 + 16 + 12);
        assert!(p.scratch_offsets[0].is_some());
    }

    #[test]
    fn malformed_graphs_are_errors() {
        let bad = Graph {
            tensor_bytes: vec![4],
            steps: vec![step(&[0], 3, Reuse::Fresh)],
            outputs: vec![],
        };
        assert_eq!(
            plan(&bad),
            Err(PlanError::UnknownTensor { step: 0, tensor: 3 })
        );
        let twice = Graph {
            tensor_bytes: vec![4, 4],
            steps: vec![step(&[0], 1, Reuse::Fresh), step(&[0], 1, Reuse::Fresh)],
            outputs: vec![],
        };
        assert_eq!(plan(&twice), Err(PlanError::WrittenTwice { tensor: 1 }));
        let early = Graph {
            tensor_bytes: vec![4, 4, 4],
            steps: vec![step(&[2], 1, Reuse::Fresh), step(&[0], 2, Reuse::Fresh)],
            outputs: vec![],
        };
        assert_eq!(
            plan(&early),
            Err(PlanError::ReadBeforeWritten { step: 0, tensor: 2 })
        );
        let alias = Graph {
            tensor_bytes: vec![4, 8],
            steps: vec![step(&[0], 1, Reuse::Alias(0))],
            outputs: vec![],
        };
        assert_eq!(plan(&alias), Err(PlanError::AliasSizeMismatch { step: 0 }));
    }

    /// A small deterministic generator for random graphs (no dependencies in a no_std crate).
    struct Lcg(u64);
    impl Lcg {
        fn below(&mut self, n: usize) -> usize {
            self.0 = self
                .0
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((self.0 >> 33) as usize) % n
        }
    }

    #[test]
    fn random_graphs_never_clash_and_never_beat_the_live_bound() {
        let mut rng = Lcg(7);
        for _ in 0..500 {
            let steps_n = 1 + rng.below(25);
            let mut g = Graph {
                tensor_bytes: vec![4 * (1 + rng.below(64))],
                ..Graph::default()
            };
            for _ in 0..steps_n {
                let produced = g.tensor_bytes.len();
                let inputs: Vec<usize> =
                    (0..1 + rng.below(2)).map(|_| rng.below(produced)).collect();
                let reuse = match rng.below(3) {
                    0 => Reuse::Fresh,
                    1 => Reuse::InPlace,
                    _ => Reuse::Alias(0),
                };
                let bytes = match reuse {
                    Reuse::Alias(_) => g.tensor_bytes[inputs[0]],
                    _ => 4 * (1 + rng.below(64)),
                };
                g.tensor_bytes.push(bytes);
                g.steps.push(Step {
                    inputs,
                    output: produced,
                    reuse,
                    scratch_bytes: 4 * rng.below(3),
                });
            }
            g.outputs = vec![g.tensor_bytes.len() - 1];
            let p = plan(&g).unwrap();
            assert!(!p.has_conflict(), "{g:?}");
            assert!(p.arena_bytes >= p.peak_live_bytes());
            let largest = g.tensor_bytes.iter().copied().max().unwrap();
            assert!(p.arena_bytes >= largest);
        }
    }
}
