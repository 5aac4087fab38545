//! Candidates decoded for a data set: its sample shape and classes, not the space's default.

use edgenas_model::candidate::{Candidate, CandidateError};
use edgenas_model::space::{Genotype, SearchSpace};

use crate::{DataError, Dataset};

/// Why a candidate cannot be built for a data set given by its spec.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ForDataError {
    /// The data set cannot be loaded.
    #[error(transparent)]
    Data(#[from] DataError),
    /// The genotype does not decode for the data set's samples.
    #[error(transparent)]
    Candidate(#[from] CandidateError),
}

/// Decoding a [`Candidate`] for a data set.
pub trait ForData: Sized {
    /// Loads the data set `spec` for `genotype` (image folders are converted to the input the
    /// space gives the genotype; other data sets keep their shape) and decodes the genotype for
    /// the data set's sample shape and classes. `seed` fixes the split.
    fn for_data(
        space: &SearchSpace,
        genotype: Genotype,
        spec: &str,
        seed: u64,
    ) -> Result<(Self, Dataset), ForDataError>;

    /// Decodes `genotype` for `dataset`'s sample shape and classes.
    fn for_dataset(
        space: &SearchSpace,
        genotype: Genotype,
        dataset: &Dataset,
    ) -> Result<Self, CandidateError>;
}

impl ForData for Candidate {
    fn for_data(
        space: &SearchSpace,
        genotype: Genotype,
        spec: &str,
        seed: u64,
    ) -> Result<(Candidate, Dataset), ForDataError> {
        let format = Candidate::input_format(space, &genotype).map_err(CandidateError::from)?;
        let dataset = crate::load(spec, format, seed)?;
        let candidate = Candidate::for_dataset(space, genotype, &dataset)?;
        Ok((candidate, dataset))
    }

    fn for_dataset(
        space: &SearchSpace,
        genotype: Genotype,
        dataset: &Dataset,
    ) -> Result<Candidate, CandidateError> {
        Candidate::for_samples(
            space,
            genotype,
            &dataset.name,
            dataset.shape,
            dataset.classes(),
        )
    }
}
