//! The hard limits of a search, checked in order of cost: static figures first (RAM, flash,
//! MACs: exact, from the network alone), then latency measured or predicted before training.

use edgenas_model::board::Board;
use edgenas_model::cost::Fit;
use edgenas_study::Limits;

/// A limit that no model could meet, or that is not a limit.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum LimitError {
    /// Zero, negative or not a number.
    #[error("{flag} must be above 0")]
    NotPositive {
        /// The limit's flag (`--max-ram-kb`).
        flag: &'static str,
    },
    /// `--max-macs 0`.
    #[error("--max-macs must be at least 1")]
    NoMacs,
    /// A memory limit the board's runtime alone exceeds.
    #[error(
        "{flag} {limit_kb} conflicts with board {board}: its runtime alone takes {runtime_kb:.1} KiB of {memory}"
    )]
    BelowRuntime {
        /// The limit's flag.
        flag: &'static str,
        /// The limit, KiB.
        limit_kb: f64,
        /// The board.
        board: String,
        /// What the board's runtime takes, KiB.
        runtime_kb: f64,
        /// `RAM` or `flash`.
        memory: &'static str,
    },
}

/// Checks that the limits make sense for `board`: positive numbers, and room for a model once
/// the board's runtime has taken its share.
pub fn validate(limits: &Limits, board: &Board) -> Result<(), LimitError> {
    let positive = |flag: &'static str, v: Option<f64>| match v {
        Some(v) if !(v.is_finite() && v > 0.0) => Err(LimitError::NotPositive { flag }),
        _ => Ok(()),
    };
    positive("--max-latency-ms", limits.max_latency_ms)?;
    positive("--max-ram-kb", limits.max_ram_kb)?;
    positive("--max-flash-kb", limits.max_flash_kb)?;
    if limits.max_macs == Some(0) {
        return Err(LimitError::NoMacs);
    }
    let runtime = [
        (
            "--max-ram-kb",
            limits.max_ram_kb,
            board.memory.runtime_ram_bytes,
            "RAM",
        ),
        (
            "--max-flash-kb",
            limits.max_flash_kb,
            board.memory.runtime_flash_bytes,
            "flash",
        ),
    ];
    for (flag, limit, taken, memory) in runtime {
        if let Some(kb) = limit
            && kb * 1024.0 <= taken as f64
        {
            return Err(LimitError::BelowRuntime {
                flag,
                limit_kb: kb,
                board: board.name.clone(),
                runtime_kb: taken as f64 / 1024.0,
                memory,
            });
        }
    }
    Ok(())
}

/// What breaks the static limits (the board's memory and the user's RAM, flash and MACs
/// limits), one line each; empty if nothing does.
pub fn static_violations(limits: &Limits, fit: &Fit, macs: u64) -> Vec<String> {
    let mut out = Vec::new();
    let kb = |b: u64| b as f64 / 1024.0;
    let memories = [
        (
            "RAM",
            fit.ram_needed_bytes,
            fit.ram_available_bytes,
            fit.ram_margin_bytes,
            "--max-ram-kb",
            limits.max_ram_kb,
        ),
        (
            "flash",
            fit.flash_needed_bytes,
            fit.flash_available_bytes,
            fit.flash_margin_bytes,
            "--max-flash-kb",
            limits.max_flash_kb,
        ),
    ];
    for (what, needed, available, margin, flag, limit) in memories {
        if let Some(margin) = margin.filter(|m| *m < 0) {
            out.push(format!(
                "{what} {:.1} KiB exceeds the board's {:.1} KiB by {:.1} KiB",
                kb(needed),
                kb(available.unwrap_or_default()),
                -margin as f64 / 1024.0
            ));
        }
        if let Some(limit) = limit
            && kb(needed) > limit
        {
            out.push(format!("{what} {:.1} KiB > {flag} {limit}", kb(needed)));
        }
    }
    if let Some(limit) = limits.max_macs
        && macs > limit
    {
        out.push(format!("{macs} MACs > --max-macs {limit}"));
    }
    out
}

/// What breaks the latency limit, if it does.
pub fn latency_violation(limits: &Limits, latency_ms: f64) -> Option<String> {
    limits
        .max_latency_ms
        .filter(|l| latency_ms > *l)
        .map(|l| format!("latency {latency_ms:.3} ms > --max-latency-ms {l}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use edgenas_model::board::load_board;

    #[test]
    fn limits_are_checked_against_the_board() {
        let board = load_board("nucleo-f746zg").unwrap();
        let ok = Limits {
            max_ram_kb: Some(200.0),
            ..Limits::default()
        };
        assert!(validate(&ok, &board).is_ok());
        let negative = Limits {
            max_latency_ms: Some(-1.0),
            ..Limits::default()
        };
        assert_eq!(
            validate(&negative, &board),
            Err(LimitError::NotPositive {
                flag: "--max-latency-ms"
            })
        );
        let tiny = Limits {
            max_flash_kb: Some(0.5),
            ..Limits::default()
        };
        let err = validate(&tiny, &board).unwrap_err().to_string();
        assert!(err.contains("conflicts with board nucleo-f746zg"), "{err}");
    }

    #[test]
    fn each_broken_limit_is_named_with_its_figures() {
        let fit = Fit {
            dtype: "int8",
            ram_needed_bytes: 300 * 1024,
            ram_available_bytes: Some(256 * 1024),
            flash_needed_bytes: 100 * 1024,
            flash_available_bytes: Some(1024 * 1024),
            ram_margin_bytes: Some(-44 * 1024),
            flash_margin_bytes: Some(924 * 1024),
            fits: false,
        };
        let limits = Limits {
            max_flash_kb: Some(64.0),
            max_macs: Some(1000),
            ..Limits::default()
        };
        let v = static_violations(&limits, &fit, 5000);
        assert_eq!(v.len(), 3, "{v:?}");
        assert_eq!(
            v[0],
            "RAM 300.0 KiB exceeds the board's 256.0 KiB by 44.0 KiB"
        );
        assert_eq!(v[1], "flash 100.0 KiB > --max-flash-kb 64");
        assert_eq!(v[2], "5000 MACs > --max-macs 1000");
        assert_eq!(latency_violation(&limits, 3.0), None);
    }
}
