//! edgenas's search: the ask/tell [`strategy`] implementations, the trial loop ([`search`]),
//! the deployable files of a trained candidate ([`artifacts`]) and the study [`report`].
//! It trains through `edgenas-train` and names no burn type itself.
#![warn(missing_docs)]

pub mod artifacts;
pub mod front;
pub mod plan;
pub mod proxy;
pub mod report;
pub mod search;
pub mod strategy;
