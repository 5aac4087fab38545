//! Search spaces: network templates with named choice points, read from `search-spaces/*.toml`.
//!
//! A [`SearchSpace`] is an input description, an optional width multiplier, a list of
//! [`Choice`]s and a list of [`BlockSpec`]s. Block parameters are literals or choices; decoding
//! a [`Genotype`] (one value per active choice) into a network is `network::decode`. The file
//! format is documented in `docs/search-spaces.md`.

mod choice;
mod condition;
mod genotype;
pub mod nb201;
mod parse;
mod shipped;
mod value;

pub use crate::error::{FileError, GenotypeError};
pub use choice::{Choice, Domain};
pub use condition::{CmpOp, Condition, ConditionError, Term};
pub use genotype::Genotype;
pub use parse::parse_space;
pub use shipped::{SHIPPED_SPACES, load_space};
pub use value::Value;

use crate::front_end::{FrontEndKind, LogFloor};
use crate::network::blocks::BlockKind;

/// A parameter of the input or of a block: a literal, or the value of a named choice.
#[derive(Clone, Debug, PartialEq)]
pub enum Param {
    /// The same value in every genotype.
    Fixed(Value),
    /// The value the genotype gives the named choice.
    Choice(String),
}

/// One parameter of a block: shared by every repetition, or one per repetition.
#[derive(Clone, Debug, PartialEq)]
pub enum Slot {
    /// One value for every repetition of the block.
    Shared(Param),
    /// The `i`-th entry serves repetition `i + 1` (choices named `BLOCK.bI.KEY`).
    PerRepeat(Vec<Param>),
}

/// The network's input and the number of classes.
#[derive(Clone, Debug, PartialEq)]
pub struct InputSpec {
    /// What the network reads.
    pub features: InputFeatures,
    /// Number of classes of the classifier head.
    pub classes: Param,
}

/// What a space's network reads: images (or any map of that shape), or the features its audio
/// front end computes from a clip.
#[derive(Clone, Debug, PartialEq)]
pub enum InputFeatures {
    /// A map of channels × height × width.
    Image {
        /// Channels of the input image (1 for a grey image or a spectrogram, 3 for RGB).
        channels: Param,
        /// Height in pixels.
        height: Param,
        /// Width in pixels.
        width: Param,
    },
    /// The features of an audio front end (`[front_end]`), 1 × frames × features.
    Audio(FrontEndSpec),
}

/// The `[front_end]` table: each setting a literal or a choice (see [`crate::front_end`]).
#[derive(Clone, Debug, PartialEq)]
pub struct FrontEndSpec {
    /// Log-mel or MFCC.
    pub kind: FrontEndKind,
    /// The clips' sample rate (8000 or 16000 Hz).
    pub sample_rate: u32,
    /// Clip length in ms.
    pub clip_ms: Param,
    /// Frame length in ms.
    pub frame_ms: Param,
    /// Frame step in ms.
    pub stride_ms: Param,
    /// Mel filters.
    pub mel_bands: Param,
    /// Cepstral coefficients kept (MFCC; ignored for log-mel).
    pub coefficients: Param,
    /// The floor under the mel energies (a literal; `peak` by default).
    pub log_floor: LogFloor,
}

/// A block of the template: a registered block type with its parameters, repeated.
#[derive(Clone, Debug)]
pub struct BlockSpec {
    /// Unique name (used to name choices and layers).
    pub name: String,
    /// The block type from the registry (`conv`, `inverted_residual`, …).
    pub kind: &'static BlockKind,
    /// The block exists only when this holds.
    pub condition: Condition,
    /// How many times the block is repeated (the first repetition takes `stride`, the others
    /// stride 1).
    pub repeat: Param,
    /// The parameters, by name, in the order of the block type's definition.
    pub params: Vec<(&'static str, Slot)>,
    /// Line of the block in its file.
    pub line: usize,
}

/// A parsed, validated search space.
#[derive(Clone, Debug)]
pub struct SearchSpace {
    /// Short name (`mobilenetv2-tiny`).
    pub name: String,
    /// One-line description.
    pub description: String,
    /// Where the space was read from (a path, or `shipped:NAME`).
    pub source: String,
    /// The input shape and classes.
    pub input: InputSpec,
    /// Multiplies the channels of every block parameter marked as channels.
    pub width_multiplier: Option<Param>,
    /// Every choice point, in declaration order; a choice's condition reads only earlier ones.
    pub choices: Vec<Choice>,
    /// The template's blocks in order.
    pub blocks: Vec<BlockSpec>,
}

impl SearchSpace {
    /// The choice with this name.
    pub fn choice(&self, name: &str) -> Option<&Choice> {
        self.choices.iter().find(|c| c.name == name)
    }
}
