//! The firmware's mailbox protocol over any [`Transport`].

use std::time::Duration;

use super::{LinkError, Transport, elf};

/// Words of the mailbox, and the indices the host uses (device/firmware/src/main.rs).
mod word {
    pub const COUNT: usize = 32;
    pub const MAGIC: usize = 0;
    pub const STATUS: usize = 1;
    pub const COMMAND: usize = 2;
    pub const ERROR: usize = 3;
    pub const ERROR_DETAIL: usize = 4;
    pub const BLOB_ADDR: usize = 5;
    pub const RUNS_DONE: usize = 14;
    pub const CYCLES: usize = 15;
    pub const HIGH_WATER: usize = 16;
    pub const CHECKSUM: usize = 17;
    pub const FE_ADDR: usize = 18;
    pub const STAMPS_ADDR: usize = 24;
}

const MAGIC: u32 = 0x4D47_4445;
const READY: u32 = 1;
const DONE: u32 = 3;
const RUN: u32 = 1;
/// What the host fills the stamp buffer with: a slot the firmware did not write keeps it.
const NOT_STAMPED: u32 = u32::MAX;

/// The firmware's addresses the host uses, from its ELF symbols.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FirmwareSymbols {
    /// `EDGENAS_MAILBOX`.
    pub mailbox: u32,
    /// `edgenas_done`: the firmware calls it after booting and after every command.
    pub done: u32,
    /// `edgenas_inference_begin`: called before each inference (the instruction counter
    /// starts there).
    pub begin: u32,
    /// `edgenas_inference_end`: called after each inference.
    pub end: u32,
    /// `edgenas_op_end`: called as each op of an inference finishes.
    pub op_end: u32,
}

impl FirmwareSymbols {
    /// The symbols of the firmware ELF file at `path`.
    pub fn read(path: &std::path::Path) -> Result<FirmwareSymbols, LinkError> {
        let bytes = std::fs::read(path)
            .map_err(|e| LinkError::Firmware(format!("cannot read {}: {e}", path.display())))?;
        FirmwareSymbols::of(&bytes)
    }

    /// The symbols of the firmware ELF `bytes`.
    pub fn of(bytes: &[u8]) -> Result<FirmwareSymbols, LinkError> {
        let names = [
            "EDGENAS_MAILBOX",
            "edgenas_done",
            "edgenas_inference_begin",
            "edgenas_inference_end",
            "edgenas_op_end",
        ];
        match elf::symbols(bytes, &names).map_err(|e| LinkError::Firmware(e.to_string()))?[..] {
            [mailbox, done, begin, end, op_end] => Ok(FirmwareSymbols {
                mailbox,
                done,
                begin,
                end,
                op_end,
            }),
            _ => Err(LinkError::Firmware("it lacks one of its symbols".into())),
        }
    }
}

/// The RAM where the host puts the blob, the arena, the input and the output: above what the
/// firmware keeps for itself (its `memory.x`), to the end of the board's RAM.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DataRegion {
    /// First address.
    pub start: u32,
    /// One past the last address.
    pub end: u32,
}

impl DataRegion {
    /// The RAM the host may write a model into when it measures on `board`: above the
    /// firmware's share, to the end of RAM (boards with a memory map).
    pub fn of(board: &edgenas_model::board::Board) -> Option<DataRegion> {
        let m = &board.memory;
        let origin = m.ram_origin?;
        let start = origin.checked_add(m.firmware_ram_bytes?)?;
        let end = origin.checked_add(m.ram_bytes?)?;
        Some(DataRegion {
            start: u32::try_from(start).ok()?,
            end: u32::try_from(end).ok()?,
        })
    }

    /// Where buffers of these sizes go, one after another, each 16-byte aligned.
    fn layout(&self, sizes: &[usize]) -> Result<Vec<u32>, LinkError> {
        let align = |a: u64| a.div_ceil(16) * 16;
        let mut at = Vec::with_capacity(sizes.len());
        let mut next = self.start as u64;
        for &size in sizes {
            next = align(next);
            at.push(next as u32);
            next += size as u64;
        }
        if next > self.end as u64 {
            return Err(LinkError::TooBig {
                needed: next - self.start as u64,
                available: self.end - self.start,
            });
        }
        Ok(at)
    }
}

/// What one command on the board gave.
#[derive(Clone, Debug, PartialEq)]
pub struct BoardRun {
    /// Instructions of each inference, counted by the QEMU plugin (empty on a real board).
    pub instructions: Vec<u64>,
    /// Instructions of each op of the first inference, in the blob's op order (empty on a real
    /// board); what follows the last op (copying the output out) is in `instructions` only.
    pub op_instructions: Vec<u64>,
    /// Instructions of the front end in the first inference, when it ran one (counted from the
    /// start of the inference; the network's first op counts from the front end's end).
    pub front_end_instructions: Option<u64>,
    /// Cycles of each inference under the emulated core's cycle model (empty on a real
    /// board): its cycle table applied to each instruction, or the instructions × the board
    /// file's cycles per instruction for a core without one.
    pub modelled_cycles: Vec<f64>,
    /// Modelled cycles of each op of the first inference, as `op_instructions`.
    pub op_cycles: Vec<f64>,
    /// Modelled cycles of the front end, as `front_end_instructions`.
    pub front_end_cycles: Option<f64>,
    /// The output tensor's bytes.
    pub output: Vec<u8>,
    /// The engine's arena high-water mark on the board.
    pub high_water: u32,
    /// DWT cycles of the last inference (0 under QEMU, which does not emulate the counter).
    pub cycles: u32,
    /// CRC-32 of the output, computed on the board.
    pub checksum: u32,
    /// The DWT cycle counter as the last inference started (slot 0), as its front end ended
    /// (slot 1) and as each op ended (slot 2 + op), written by the firmware; a slot it did not
    /// write (slot 1 without a front end) holds `u32::MAX`. All 0 under QEMU.
    pub stamps: Vec<u32>,
}

impl BoardRun {
    /// The DWT cycles of the last inference's front end (when it ran one) and of each of its
    /// ops, from the stamps; `None` where the counter did not run (QEMU) or the firmware wrote
    /// no stamps. Copying the output out, after the last op, is in `cycles` only.
    pub fn stamped_cycles(&self) -> Option<(Option<f64>, Vec<f64>)> {
        let (&begin, rest) = self.stamps.split_first()?;
        let (&front_end, ops) = rest.split_first()?;
        let ran = ops.last().is_some_and(|&last| last != begin);
        if !ran || ops.contains(&NOT_STAMPED) {
            return None;
        }
        let mut previous = begin;
        let mut since = |stamp: u32| {
            let cycles = stamp.wrapping_sub(previous);
            previous = stamp;
            f64::from(cycles)
        };
        let front_end = (front_end != NOT_STAMPED).then(|| since(front_end));
        Some((front_end, ops.iter().map(|&s| since(s)).collect()))
    }
}

/// Boots the firmware to `edgenas_done` over `link`, runs `blob` `runs` times on `input` in
/// `region`, and reads the results. With `front_end` (a front-end blob), `input` is a clip the
/// front end turns into the network's input on the board, each inference. `timeout` bounds
/// the runs; booting gets 10 s.
#[allow(clippy::too_many_arguments)]
pub fn run(
    link: &mut dyn Transport,
    symbols: FirmwareSymbols,
    region: DataRegion,
    blob: &[u8],
    input: &[u8],
    front_end: Option<&[u8]>,
    runs: u32,
    timeout: Duration,
) -> Result<BoardRun, LinkError> {
    let parsed = edgenas_engine::blob::Blob::parse(blob).map_err(edgenas_engine::Error::from)?;
    let arena_bytes = parsed.header().arena_bytes;
    let output_len = parsed
        .tensor(parsed.header().output as usize)
        .map_or(0, |t| t.bytes);
    let stamps_len = 4 * (parsed.header().ops as usize + 2);
    let (fe_len, scratch_len, features_len) = match front_end {
        None => (0, 0, 0),
        Some(b) => {
            let fe = edgenas_onnx::compile::HostFrontEnd::new(b)?;
            (b.len(), 4 * fe.scratch_words(), fe.output_bytes())
        }
    };
    let sizes = [
        blob.len(),
        arena_bytes as usize,
        input.len(),
        output_len as usize,
        fe_len,
        scratch_len,
        features_len,
        stamps_len,
    ];
    let at = region.layout(&sizes)?;
    let mailbox = |i: usize| symbols.mailbox + 4 * i as u32;
    link.breakpoint(symbols.done)?;
    link.resume(Duration::from_secs(10))?;
    let (magic, status) = (
        link.read_u32(mailbox(word::MAGIC))?,
        link.read_u32(mailbox(word::STATUS))?,
    );
    if magic != MAGIC || status != READY {
        return Err(LinkError::NotUp { magic, status });
    }
    link.write(at[0], blob)?;
    link.write(at[2], input)?;
    if let Some(b) = front_end {
        link.write(at[4], b)?;
    }
    let words = [
        at[0],
        blob.len() as u32,
        at[1],
        arena_bytes,
        at[2],
        input.len() as u32,
        at[3],
        output_len,
        runs,
    ];
    let bytes: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
    link.write(mailbox(word::BLOB_ADDR), &bytes)?;
    let fe_words = [
        at[4],
        fe_len as u32,
        at[5],
        scratch_len as u32,
        at[6],
        features_len as u32,
    ];
    let bytes: Vec<u8> = fe_words.iter().flat_map(|w| w.to_le_bytes()).collect();
    link.write(mailbox(word::FE_ADDR), &bytes)?;
    link.write(at[7], &vec![0xff; stamps_len])?;
    let stamp_words = [at[7], stamps_len as u32];
    let bytes: Vec<u8> = stamp_words.iter().flat_map(|w| w.to_le_bytes()).collect();
    link.write(mailbox(word::STAMPS_ADDR), &bytes)?;
    link.write(mailbox(word::COMMAND), &RUN.to_le_bytes())?;
    link.resume(timeout)?;
    let m = link.read(symbols.mailbox, 4 * word::COUNT)?;
    let w = |i: usize| {
        m.get(4 * i..4 * i + 4)
            .map_or(0, |b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    };
    if w(word::STATUS) != DONE {
        return Err(LinkError::Engine {
            status: w(word::STATUS),
            error: w(word::ERROR),
            detail: w(word::ERROR_DETAIL),
        });
    }
    if w(word::RUNS_DONE) != runs {
        return Err(LinkError::Runs {
            done: w(word::RUNS_DONE),
            asked: runs,
        });
    }
    Ok(BoardRun {
        instructions: vec![],
        op_instructions: vec![],
        front_end_instructions: None,
        modelled_cycles: vec![],
        op_cycles: vec![],
        front_end_cycles: None,
        output: link.read(at[3], output_len as usize)?,
        high_water: w(word::HIGH_WATER),
        cycles: w(word::CYCLES),
        checksum: w(word::CHECKSUM),
        stamps: link
            .read(at[7], stamps_len)?
            .chunks_exact(4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stamped(stamps: Vec<u32>) -> BoardRun {
        BoardRun {
            instructions: vec![],
            op_instructions: vec![],
            front_end_instructions: None,
            modelled_cycles: vec![],
            op_cycles: vec![],
            front_end_cycles: None,
            output: vec![],
            high_water: 0,
            cycles: 0,
            checksum: 0,
            stamps,
        }
    }

    #[test]
    fn stamps_give_each_ops_cycles_across_a_counter_wrap() {
        let run = stamped(vec![u32::MAX - 9, NOT_STAMPED, 90, 100, 350]);
        assert_eq!(run.stamped_cycles(), Some((None, vec![100.0, 10.0, 250.0])));
        let with_front_end = stamped(vec![1000, 5000, 5100, 5400]);
        assert_eq!(
            with_front_end.stamped_cycles(),
            Some((Some(4000.0), vec![100.0, 300.0]))
        );
        // QEMU's counter stays at 0; an old firmware leaves the slots as the host filled them.
        assert_eq!(stamped(vec![0; 5]).stamped_cycles(), None);
        assert_eq!(
            stamped(vec![7, NOT_STAMPED, NOT_STAMPED]).stamped_cycles(),
            None
        );
        assert_eq!(stamped(vec![]).stamped_cycles(), None);
    }

    #[test]
    fn buffers_are_laid_out_aligned_inside_the_region() {
        let r = DataRegion {
            start: 0x2001_0000,
            end: 0x2002_0000,
        };
        let at = r.layout(&[1001, 4000, 30, 40]).unwrap();
        assert_eq!(at[0], 0x2001_0000);
        assert_eq!(at[1], 0x2001_0000 + 1008);
        assert_eq!(at[2], at[1] + 4000);
        assert_eq!(at[3], at[2] + 32);
        let too_big = r.layout(&[60_000, 10_000, 0, 0]).unwrap_err();
        assert_eq!(
            too_big,
            LinkError::TooBig {
                needed: 70_000,
                available: 0x1_0000
            }
        );
        assert!(too_big.to_string().contains("70000 bytes"), "{too_big}");
    }
}
