//! `edgenas-fuzz-libfuzzer`: the targets of `edgenas-fuzz` under libFuzzer, coverage-guided.
//! Built by `fuzz/coverage.sh` (stable Rust: SanitizerCoverage through `-C passes`, no
//! nightly flag); the target is named by `EDGENAS_FUZZ_TARGET`. A panic, a run over
//! `-timeout` or an allocation over 1 GiB is a crash that libFuzzer saves.

#![no_main]

use std::sync::OnceLock;

use edgenas_fuzz::Target;
use edgenas_fuzz::alloc::{Largest, TOO_LARGE};
use edgenas_fuzz::targets::target;

#[global_allocator]
static ALLOCATOR: Largest = Largest {
    abort_above: TOO_LARGE,
};

/// The target `EDGENAS_FUZZ_TARGET` names (checked by `fuzz/coverage.sh` before the run).
fn chosen() -> &'static Target {
    static CHOSEN: OnceLock<&'static Target> = OnceLock::new();
    CHOSEN.get_or_init(|| {
        let name = std::env::var("EDGENAS_FUZZ_TARGET").unwrap_or_default();
        target(&name).unwrap_or_else(|| {
            eprintln!("EDGENAS_FUZZ_TARGET={name:?} names no target (edgenas-fuzz --list)");
            std::process::exit(2)
        })
    })
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| (chosen().run)(data));
