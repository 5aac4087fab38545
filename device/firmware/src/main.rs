//! edgenas firmware: the device engine behind a mailbox in RAM.
//!
//! One image serves every candidate: the host (through a debug probe or a gdb server) writes a
//! blob, an input and the addresses of the arena and the output into RAM, fills the mailbox
//! and sets `command`; the firmware runs the model `runs` times and calls `edgenas_done`, where
//! the host has a breakpoint (or polls `status`). It also calls it once at boot, when the
//! mailbox is ready. The mailbox layout is shared with
//! `host/src/measure/qemu/mod.rs`; see docs/firmware.md.
#![no_std]
#![no_main]

use core::ptr::{addr_of, addr_of_mut};
use core::sync::atomic::{Ordering, compiler_fence};

use cortex_m::peripheral::DWT;
use cortex_m_rt::entry;
use edgenas_engine::front_end::{FrontEnd, FrontEndError};
use edgenas_engine::{Engine, Error, crc32};

/// `EDGM`, written at boot.
const MAGIC: u32 = 0x4D47_4445;
/// Words of the mailbox.
const WORDS: usize = 32;

// Word indices.
const W_MAGIC: usize = 0;
const W_STATUS: usize = 1;
const W_COMMAND: usize = 2;
const W_ERROR: usize = 3;
const W_ERROR_DETAIL: usize = 4;
const W_BLOB_ADDR: usize = 5;
const W_BLOB_LEN: usize = 6;
const W_ARENA_ADDR: usize = 7;
const W_ARENA_LEN: usize = 8;
const W_INPUT_ADDR: usize = 9;
const W_INPUT_LEN: usize = 10;
const W_OUTPUT_ADDR: usize = 11;
const W_OUTPUT_LEN: usize = 12;
const W_RUNS: usize = 13;
const W_RUNS_DONE: usize = 14;
const W_CYCLES: usize = 15;
const W_HIGH_WATER: usize = 16;
const W_CHECKSUM: usize = 17;
const W_FE_ADDR: usize = 18;
const W_FE_LEN: usize = 19;
const W_FE_SCRATCH_ADDR: usize = 20;
const W_FE_SCRATCH_LEN: usize = 21;
const W_FEATURES_ADDR: usize = 22;
const W_FEATURES_LEN: usize = 23;
const W_STAMPS_ADDR: usize = 24;
const W_STAMPS_LEN: usize = 25;

/// The op index `edgenas_op_end` is called with when the front end has finished.
const FRONT_END_DONE: usize = usize::MAX;

// Status values.
const READY: u32 = 1;
const BUSY: u32 = 2;
const DONE: u32 = 3;
const FAILED: u32 = 4;
const PANICKED: u32 = 5;

/// The command that runs a model.
const RUN: u32 = 1;

/// The mailbox, in a section that reset code never clears (the host finds it by its symbol).
#[repr(C, align(4))]
pub struct Mailbox([u32; WORDS]);

#[unsafe(no_mangle)]
#[unsafe(link_section = ".uninit.EDGENAS_MAILBOX")]
static mut EDGENAS_MAILBOX: Mailbox = Mailbox([0; WORDS]);

fn read(word: usize) -> u32 {
    // SAFETY: the mailbox is a static of WORDS u32s and `word < WORDS` at every call site;
    // volatile because the host writes it while the core is halted.
    unsafe { addr_of!(EDGENAS_MAILBOX.0[word]).read_volatile() }
}

fn write(word: usize, value: u32) {
    // SAFETY: as in `read`; only this core writes the mailbox while it runs.
    unsafe { addr_of_mut!(EDGENAS_MAILBOX.0[word]).write_volatile(value) }
}

/// Where the host waits: a breakpoint on this function means a command has finished.
#[unsafe(no_mangle)]
#[inline(never)]
pub extern "C" fn edgenas_done() {
    compiler_fence(Ordering::SeqCst);
    write(W_RUNS_DONE, read(W_RUNS_DONE));
}

/// Marks the start of one inference (the instruction counter of the QEMU plugin starts here).
#[unsafe(no_mangle)]
#[inline(never)]
pub extern "C" fn edgenas_inference_begin() {
    compiler_fence(Ordering::SeqCst);
}

/// Marks the end of op `op` of an inference (the QEMU plugin reports the instructions since
/// the inference began or the last op ended here, so the host can profile the model by op).
#[unsafe(no_mangle)]
#[inline(never)]
pub extern "C" fn edgenas_op_end(op: usize) {
    compiler_fence(Ordering::SeqCst);
    core::hint::black_box(op);
}

/// Stamp slots: the inference's start, the front end's end, then each op's end.
const STAMP_BEGIN: usize = 0;
const STAMP_FRONT_END: usize = 1;
const STAMP_FIRST_OP: usize = 2;

/// Writes the cycle counter into slot `slot` of the host's stamp buffer (`W_STAMPS_ADDR`, a
/// word a slot), if the host gave one that long: on a real board the host reads each op's
/// cycles from the last inference's stamps.
#[inline(always)]
fn stamp(slot: usize) {
    let (at, slots) = (read(W_STAMPS_ADDR), read(W_STAMPS_LEN) as usize / 4);
    if at != 0 && slot < slots {
        // SAFETY: the host owns the buffer as it owns the other regions (see `region`): a word
        // per slot, aligned, in RAM above the firmware's own; `slot` is within its length.
        unsafe {
            (at as *mut u32)
                .add(slot)
                .write_volatile(DWT::cycle_count())
        }
    }
}

/// Marks the end of one inference (the QEMU plugin reports its count here).
#[unsafe(no_mangle)]
#[inline(never)]
pub extern "C" fn edgenas_inference_end() {
    compiler_fence(Ordering::SeqCst);
    write(W_RUNS_DONE, read(W_RUNS_DONE) + 1);
}

/// Why a command failed, as the mailbox's error code and detail.
struct Failure(u32, u32);

impl From<Error> for Failure {
    fn from(e: Error) -> Failure {
        let (code, detail) = error_code(&e);
        Failure(code, detail)
    }
}

impl From<FrontEndError> for Failure {
    fn from(e: FrontEndError) -> Failure {
        let (code, detail) = e.code();
        Failure(code, detail)
    }
}

fn error_code(e: &Error) -> (u32, u32) {
    match *e {
        Error::Blob(_) => (1, 0),
        Error::BadTensor { tensor, .. } => (2, tensor as u32),
        Error::BadOp { op, .. } => (3, op as u32),
        Error::Misaligned => (4, 0),
        Error::ArenaTooSmall { needed, .. } => (5, needed as u32),
        Error::InputSize { expected, .. } => (6, expected as u32),
        Error::OutputSize { expected, .. } => (7, expected as u32),
    }
}

/// A region of RAM the host described in the mailbox.
fn region(addr: usize, len: usize) -> &'static mut [u8] {
    // SAFETY: the host owns the protocol: it writes these addresses and lengths to regions of
    // RAM above the firmware's own (memory.x), which nothing else uses while a command runs,
    // and it keeps the blob, arena, input and output regions apart.
    unsafe { core::slice::from_raw_parts_mut(read(addr) as *mut u8, read(len) as usize) }
}

/// Runs the command: with a front end (`W_FE_LEN` > 0) the input is a clip of 16-bit samples
/// that the front end turns into the network's input in the features buffer, each inference.
fn serve() -> Result<(), Failure> {
    let blob = region(W_BLOB_ADDR, W_BLOB_LEN);
    let arena = region(W_ARENA_ADDR, W_ARENA_LEN);
    let input = region(W_INPUT_ADDR, W_INPUT_LEN);
    let output = region(W_OUTPUT_ADDR, W_OUTPUT_LEN);
    let mut front_end = match read(W_FE_LEN) {
        0 => None,
        _ => Some((
            FrontEnd::new(region(W_FE_ADDR, W_FE_LEN))?,
            region(W_FE_SCRATCH_ADDR, W_FE_SCRATCH_LEN),
            region(W_FEATURES_ADDR, W_FEATURES_LEN),
        )),
    };
    let mut engine = Engine::new(blob, arena)?;
    write(W_RUNS_DONE, 0);
    let mut cycles = 0u32;
    for _ in 0..read(W_RUNS).max(1) {
        edgenas_inference_begin();
        let start = DWT::cycle_count();
        stamp(STAMP_BEGIN);
        let network_input = match &mut front_end {
            None => &*input,
            Some((fe, scratch, features)) => {
                fe.run_bytes(input, scratch, features)?;
                stamp(STAMP_FRONT_END);
                edgenas_op_end(FRONT_END_DONE);
                &**features
            }
        };
        engine.run_observed(network_input, output, |op| {
            stamp(STAMP_FIRST_OP + op);
            edgenas_op_end(op)
        })?;
        cycles = DWT::cycle_count().wrapping_sub(start);
        edgenas_inference_end();
    }
    write(W_CYCLES, cycles);
    write(W_HIGH_WATER, engine.high_water_mark() as u32);
    write(W_CHECKSUM, crc32(output));
    Ok(())
}

#[entry]
fn main() -> ! {
    if let Some(mut p) = cortex_m::Peripherals::take() {
        p.DCB.enable_trace();
        p.DWT.enable_cycle_counter();
    }
    write(W_COMMAND, 0);
    write(W_MAGIC, MAGIC);
    write(W_STATUS, READY);
    // The host's breakpoint stops here once at boot: the mailbox is ready for a command.
    edgenas_done();
    loop {
        if read(W_COMMAND) != RUN {
            continue;
        }
        write(W_COMMAND, 0);
        write(W_STATUS, BUSY);
        match serve() {
            Ok(()) => write(W_STATUS, DONE),
            Err(Failure(code, detail)) => {
                write(W_ERROR, code);
                write(W_ERROR_DETAIL, detail);
                write(W_STATUS, FAILED);
            }
        }
        edgenas_done();
    }
}

#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    write(W_STATUS, PANICKED);
    loop {
        edgenas_done();
    }
}
