//! Value parsers of the numeric flags: a number out of range is refused by clap with one
//! message naming its bound (`invalid value '-1' for '--trials <TRIALS>': must be at least
//! 1`), whether it was written `--trials -1` or `--trials=-1` (the command line takes
//! negative numbers as values: [`super::parse`]).

/// A whole number of at least `min`.
fn integer(text: &str, min: i128) -> Result<i128, String> {
    let value: i128 = text
        .trim()
        .parse()
        .map_err(|_| format!("`{text}` is not a whole number"))?;
    if value < min {
        return Err(match min {
            0 => "must be 0 or more".into(),
            _ => format!("must be at least {min}"),
        });
    }
    Ok(value)
}

/// A number of at least `min` that fits `T`.
fn bounded<T: TryFrom<i128>>(text: &str, min: i128) -> Result<T, String> {
    T::try_from(integer(text, min)?).map_err(|_| format!("`{text}` is too large"))
}

/// A count of at least 1 (`--trials`, `--epochs`, `-n`).
pub fn count(text: &str) -> Result<usize, String> {
    bounded(text, 1)
}

/// A 64-bit count of at least 1 (`--seeds`, `--max-macs`).
pub fn count_u64(text: &str) -> Result<u64, String> {
    bounded(text, 1)
}

/// A factor of at least 2 (`--eta`).
pub fn at_least_two(text: &str) -> Result<usize, String> {
    bounded(text, 2)
}

/// A count that may be 0 (`--finalists`, `--patience`, `--history`).
pub fn whole(text: &str) -> Result<usize, String> {
    bounded(text, 0)
}

/// A seed: any whole number from 0.
pub fn seed(text: &str) -> Result<u64, String> {
    bounded(text, 0)
}

/// A trial's number (from 1).
pub fn trial_id(text: &str) -> Result<i64, String> {
    bounded(text, 1)
}

/// A finite number.
fn real(text: &str) -> Result<f64, String> {
    let value: f64 = text
        .trim()
        .parse()
        .map_err(|_| format!("`{text}` is not a number"))?;
    if !value.is_finite() {
        return Err("must be a finite number".into());
    }
    Ok(value)
}

/// A number above 0 (a limit, seconds, a learning rate).
pub fn positive(text: &str) -> Result<f64, String> {
    match real(text)? {
        v if v > 0.0 => Ok(v),
        _ => Err("must be above 0".into()),
    }
}

/// A number of 0 or more (momentum, weight decay).
pub fn non_negative(text: &str) -> Result<f64, String> {
    match real(text)? {
        v if v >= 0.0 => Ok(v),
        _ => Err("must be 0 or more".into()),
    }
}

/// A percentile: 0 to 100.
pub fn percent(text: &str) -> Result<f64, String> {
    match real(text)? {
        v if (0.0..=100.0).contains(&v) => Ok(v),
        _ => Err("must be from 0 to 100".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_bound_is_named_and_large_or_malformed_numbers_are_refused() {
        assert_eq!(count("3"), Ok(3));
        assert_eq!(count("0"), Err("must be at least 1".into()));
        assert_eq!(count("-1"), Err("must be at least 1".into()));
        assert_eq!(whole("0"), Ok(0));
        assert_eq!(seed("-2"), Err("must be 0 or more".into()));
        assert_eq!(
            count_u64("99999999999999999999999"),
            Err("`99999999999999999999999` is too large".into())
        );
        assert_eq!(count("2.5"), Err("`2.5` is not a whole number".into()));
        assert_eq!(positive("0.5"), Ok(0.5));
        assert_eq!(positive("-1"), Err("must be above 0".into()));
        assert_eq!(positive("0"), Err("must be above 0".into()));
        assert_eq!(positive("NaN"), Err("must be a finite number".into()));
        assert_eq!(non_negative("0"), Ok(0.0));
        assert_eq!(percent("100.5"), Err("must be from 0 to 100".into()));
    }
}
