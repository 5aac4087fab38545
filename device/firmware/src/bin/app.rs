//! edgenas app: one model baked into a firmware image (`edgenas deploy --target firmware`).
//!
//! At boot it runs the model on the baked input (a sample of the test split) in the arena the
//! search planned, and prints, once a second, the class, the cycles the inference took (the
//! DWT cycle counter; QEMU does not emulate it and reads 0), the arena's high-water mark and
//! the output bytes — over RTT (`probe-rs run` shows it) and, with the `semihosting` feature
//! (QEMU), on the host's standard output, where it stops after [`EMULATED_RUNS`] runs.
//!
//! What it bakes in comes from `EDGENAS_APP_DIR` (build.rs checks it): `app.rs` (constants
//! written by `edgenas deploy`: board, clock, caches, arena and output sizes, labels),
//! `model-int8.blob` and `input.bin`.
#![no_std]
#![no_main]

use core::fmt::{self, Write};
use core::ptr::addr_of_mut;
use core::sync::atomic::{Ordering, compiler_fence};

use cortex_m::peripheral::DWT;
use cortex_m_rt::entry;
use edgenas_engine::{DType, Engine};

/// The constants `edgenas deploy` wrote for this model and board.
mod model {
    include!(concat!(env!("EDGENAS_APP_DIR"), "/app.rs"));
}

/// Runs before an emulated board's image exits (a real board runs forever).
const EMULATED_RUNS: u32 = 3;

/// `T`, aligned as the engine needs its blob and arena.
#[repr(C, align(8))]
struct Aligned<T: ?Sized>(T);

static BLOB: &Aligned<[u8]> = &Aligned(*include_bytes!(concat!(
    env!("EDGENAS_APP_DIR"),
    "/model-int8.blob"
)));

static INPUT: &[u8] = include_bytes!(concat!(env!("EDGENAS_APP_DIR"), "/input.bin"));

static mut ARENA: Aligned<[u8; model::ARENA_BYTES]> = Aligned([0; model::ARENA_BYTES]);

/// Where the app prints: RTT's channel 0, and semihosting on an emulated board.
struct Console;

impl Write for Console {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        rtt_target::rprint!("{}", s);
        #[cfg(feature = "semihosting")]
        cortex_m_semihosting::hio::hstdout()
            .map_err(|_| fmt::Error)?
            .write_str(s)?;
        Ok(())
    }
}

/// The index of the largest output element (the last of equals, as the host picks it): the
/// class.
fn class(output: &[u8], dtype: DType) -> usize {
    let values = output.chunks_exact(dtype.size()).map(|b| match dtype {
        DType::Int8 => b[0] as i8 as f32,
        DType::F32 => f32::from_le_bytes([b[0], b[1], b[2], b[3]]),
    });
    let mut best = (0, f32::NEG_INFINITY);
    for (i, v) in values.enumerate() {
        if v >= best.1 {
            best = (i, v);
        }
    }
    best.0
}

/// Called after each run's line: a debugger's breakpoint here finds a whole line in RTT's
/// buffer (tests/capi.rs reads it from QEMU so).
#[unsafe(no_mangle)]
#[inline(never)]
pub extern "C" fn edgenas_app_printed() {
    compiler_fence(Ordering::SeqCst);
}

/// One inference and its line of output.
fn run(engine: &mut Engine, console: &mut Console, n: u32) -> fmt::Result {
    let mut output = [0u8; model::OUTPUT_BYTES];
    let start = DWT::cycle_count();
    if let Err(e) = engine.run(INPUT, &mut output) {
        return writeln!(console, "edgenas-app: error: {e}");
    }
    let cycles = DWT::cycle_count().wrapping_sub(start);
    let k = class(&output, engine.output().dtype);
    let label = model::LABELS.get(k).copied().unwrap_or("?");
    let us = cycles as u64 * 1_000_000 / model::CLOCK_HZ as u64;
    write!(
        console,
        "run {n}: class {k} ({label}); {cycles} cycles = {us} us at {} MHz; arena {} bytes; output",
        model::CLOCK_HZ / 1_000_000,
        engine.high_water_mark()
    )?;
    for b in output {
        write!(console, " {b:02x}")?;
    }
    writeln!(console)
}

#[entry]
fn main() -> ! {
    if let Some(mut p) = cortex_m::Peripherals::take() {
        p.DCB.enable_trace();
        p.DWT.enable_cycle_counter();
        // A Cortex-M7 starts with its caches off; the engine runs as a product would, with
        // them on (nothing here uses DMA, so the data cache needs no maintenance).
        if model::CACHES {
            p.SCB.enable_icache();
            p.SCB.enable_dcache(&mut p.CPUID);
        }
    }
    rtt_target::rtt_init_print!();
    let mut console = Console;
    let _ = writeln!(
        console,
        "edgenas-app on {}: {} bytes of model, arena {} bytes",
        model::BOARD,
        BLOB.0.len(),
        model::ARENA_BYTES
    );
    // SAFETY: `main` runs once and is the only place that names ARENA.
    let arena = unsafe { &mut (*addr_of_mut!(ARENA)).0 };
    let mut engine = match Engine::new(&BLOB.0, arena) {
        Ok(engine) => engine,
        Err(e) => {
            let _ = writeln!(console, "edgenas-app: error: {e}");
            stop()
        }
    };
    for n in 1.. {
        let _ = run(&mut engine, &mut console, n);
        edgenas_app_printed();
        match cfg!(feature = "semihosting") {
            true if n >= EMULATED_RUNS => stop(),
            true => {}
            false => cortex_m::asm::delay(model::CLOCK_HZ),
        }
    }
    stop()
}

/// Ends the program: QEMU exits; a board waits.
fn stop() -> ! {
    #[cfg(feature = "semihosting")]
    cortex_m_semihosting::debug::exit(cortex_m_semihosting::debug::EXIT_SUCCESS);
    loop {
        cortex_m::asm::wfi();
    }
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    let _ = writeln!(Console, "edgenas-app: panic: {info}");
    stop()
}
