//! Space + genotype → network.

use std::collections::HashMap;

use super::blocks::BlockArgs;
use super::{Builder, Network, Shape};
use crate::front_end::{FrontEnd, FrontEndKind};
use crate::space::{FrontEndSpec, Genotype, InputFeatures, Param, SearchSpace, Slot, Value};

/// A genotype whose network cannot be built: the layer (or block) and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{layer}: {message}")]
pub struct DecodeError {
    /// The layer or block where building failed (`s2.b1.dw`).
    pub layer: String,
    /// What does not fit.
    pub message: String,
}

/// Builds the network that `genotype` selects in `space`. The genotype must belong to the
/// space (see `SearchSpace::parse_genotype`); shapes that cannot connect are errors.
pub fn decode(space: &SearchSpace, genotype: &Genotype) -> Result<Network, DecodeError> {
    decode_with_input(space, genotype, None)
}

/// Like [`decode`], with the input shape and number of classes set by a data set instead of the
/// space's `[input]` (digits are 1×8×8 with 10 classes, whatever the space was written for).
pub fn decode_with_input(
    space: &SearchSpace,
    genotype: &Genotype,
    input: Option<(Shape, usize)>,
) -> Result<Network, DecodeError> {
    let values: HashMap<&str, &Value> = genotype.iter().collect();
    let resolver = Resolver {
        space,
        values: &values,
    };
    let (input, classes) = match input {
        Some(given) => given,
        None => resolve_input(space, genotype)?,
    };
    let width_multiplier = match &space.width_multiplier {
        None => 1.0,
        Some(p) => resolver
            .resolve(p, "width_multiplier")?
            .and_then(|v| v.as_f64())
            .unwrap_or(1.0),
    };
    let mut b = Builder::new(input, classes);
    for block in &space.blocks {
        if !block.condition.holds(&values) {
            continue;
        }
        let repeat = resolver.int(&block.repeat, &block.name)?;
        for i in 1..=repeat {
            let instance = if repeat > 1 {
                format!("{}.b{i}", block.name)
            } else {
                block.name.clone()
            };
            let mut args = Vec::new();
            for (key, slot) in &block.params {
                let param = match slot {
                    Slot::Shared(p) => p,
                    Slot::PerRepeat(each) => &each[i - 1],
                };
                let at = format!("{instance}.{key}");
                let value = match resolver.resolve(param, &at)? {
                    Some(v) => v,
                    None => block.kind.default_of(key).ok_or_else(|| DecodeError {
                        layer: at.clone(),
                        message: "its choice is inactive in this genotype and the parameter has no default".into(),
                    })?,
                };
                // Only the first repetition of a block changes the resolution.
                let value = match *key {
                    "stride" if i > 1 => Value::Int(1),
                    "stride_w" if i > 1 => Value::Int(0),
                    _ => value,
                };
                args.push((*key, value));
            }
            b.set_block(&instance);
            let args = BlockArgs::new(&instance, args, width_multiplier);
            (block.kind.build)(&mut b, &args)?;
        }
    }
    Ok(b.finish())
}

/// The input shape and number of classes that the space's `[input]` (or its front end) gives
/// `genotype`.
pub fn resolve_input(
    space: &SearchSpace,
    genotype: &Genotype,
) -> Result<(Shape, usize), DecodeError> {
    let values: HashMap<&str, &Value> = genotype.iter().collect();
    let r = Resolver {
        space,
        values: &values,
    };
    let shape = match &space.input.features {
        InputFeatures::Image {
            channels,
            height,
            width,
        } => Shape::Image {
            c: r.int(channels, "input.channels")?,
            h: r.int(height, "input.height")?,
            w: r.int(width, "input.width")?,
        },
        InputFeatures::Audio(spec) => {
            let (c, h, w) = r.front_end(spec)?.dims();
            Shape::Image { c, h, w }
        }
    };
    Ok((shape, r.int(&space.input.classes, "input.classes")?))
}

/// The front end that `genotype` selects, for a space with a `[front_end]`.
pub fn resolve_front_end(
    space: &SearchSpace,
    genotype: &Genotype,
) -> Result<Option<FrontEnd>, DecodeError> {
    let InputFeatures::Audio(spec) = &space.input.features else {
        return Ok(None);
    };
    let values: HashMap<&str, &Value> = genotype.iter().collect();
    let r = Resolver {
        space,
        values: &values,
    };
    r.front_end(spec).map(Some)
}

/// Reads parameter values out of a genotype.
struct Resolver<'a> {
    space: &'a SearchSpace,
    values: &'a HashMap<&'a str, &'a Value>,
}

impl Resolver<'_> {
    /// The front end with the genotype's settings, checked.
    fn front_end(&self, spec: &FrontEndSpec) -> Result<FrontEnd, DecodeError> {
        let int = |p: &Param, key: &str| -> Result<u32, DecodeError> {
            let at = format!("front_end.{key}");
            let v = self.int(p, &at)?;
            u32::try_from(v).map_err(|_| DecodeError {
                layer: at,
                message: format!("{v} is too large"),
            })
        };
        let f = FrontEnd {
            kind: spec.kind,
            sample_rate: spec.sample_rate,
            clip_ms: int(&spec.clip_ms, "clip_ms")?,
            frame_ms: int(&spec.frame_ms, "frame_ms")?,
            stride_ms: int(&spec.stride_ms, "stride_ms")?,
            mel_bands: int(&spec.mel_bands, "mel_bands")?,
            coefficients: match spec.kind {
                FrontEndKind::Mfcc => int(&spec.coefficients, "coefficients")?,
                FrontEndKind::LogMel => int(&spec.mel_bands, "mel_bands")?,
            },
            log_floor: spec.log_floor,
        };
        f.check().map_err(|e| DecodeError {
            layer: "front_end".into(),
            message: e.to_string(),
        })?;
        Ok(f)
    }

    /// The value of a parameter; `None` when its choice is inactive in the genotype.
    fn resolve(&self, p: &Param, at: &str) -> Result<Option<Value>, DecodeError> {
        match p {
            Param::Fixed(v) => Ok(Some(v.clone())),
            Param::Choice(name) => match self.values.get(name.as_str()) {
                Some(v) => Ok(Some((*v).clone())),
                None if self.space.choice(name).is_some() => Ok(None),
                None => Err(DecodeError {
                    layer: at.to_string(),
                    message: format!("unknown choice `{name}`"),
                }),
            },
        }
    }

    fn int(&self, p: &Param, at: &str) -> Result<usize, DecodeError> {
        match self.resolve(p, at)? {
            Some(Value::Int(i)) if i >= 0 => Ok(i as usize),
            other => Err(DecodeError {
                layer: at.to_string(),
                message: format!("needs a non-negative integer, got {other:?}"),
            }),
        }
    }
}
