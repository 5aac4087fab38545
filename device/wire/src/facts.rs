//! What the agent tells about the board it runs on, and the peak resident memory of its own
//! process (Linux `/proc`; elsewhere the figures are absent).

use serde::{Deserialize, Serialize};

/// The board the agent runs on, as Linux reports it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BoardFacts {
    /// The host name.
    pub hostname: Option<String>,
    /// The board's model (`Raspberry Pi 4 Model B Rev 1.4`, from the device tree).
    pub model: Option<String>,
    /// The CPU (`model name` in `/proc/cpuinfo`, or the Arm core its part number names).
    pub cpu: Option<String>,
    /// The instruction set the agent was built for (`aarch64`, `x86_64`).
    pub arch: String,
    /// Cores the agent may run on.
    pub cores: usize,
    /// Physical memory in bytes.
    pub memory_bytes: Option<u64>,
    /// The kernel release.
    pub kernel: Option<String>,
    /// The agent's version.
    pub agent_version: String,
}

/// The facts of the machine this process runs on.
pub fn board_facts() -> BoardFacts {
    let cpuinfo = read("/proc/cpuinfo").unwrap_or_default();
    BoardFacts {
        hostname: read("/proc/sys/kernel/hostname").map(|s| s.trim().to_string()),
        model: read("/proc/device-tree/model")
            .map(|s| s.trim_end_matches('\0').trim().to_string())
            .or_else(|| field(&cpuinfo, "Model")),
        cpu: field(&cpuinfo, "model name").or_else(|| arm_core(&cpuinfo)),
        arch: std::env::consts::ARCH.to_string(),
        cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
        memory_bytes: read("/proc/meminfo").and_then(|m| kilobytes(&m, "MemTotal")),
        kernel: read("/proc/sys/kernel/osrelease").map(|s| s.trim().to_string()),
        agent_version: env!("CARGO_PKG_VERSION").to_string(),
    }
}

/// Resets the peak resident set size of this process to its current size (Linux ≥ 4.0:
/// writing 5 to `/proc/self/clear_refs`). False where that is not possible.
pub fn reset_peak_rss() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

/// The peak resident set size of this process since it started or since [`reset_peak_rss`]
/// (`VmHWM`).
pub fn peak_rss_bytes() -> Option<u64> {
    kilobytes(&read("/proc/self/status")?, "VmHWM")
}

/// The resident set size of this process now (`VmRSS`).
pub fn rss_bytes() -> Option<u64> {
    kilobytes(&read("/proc/self/status")?, "VmRSS")
}

fn read(path: &str) -> Option<String> {
    std::fs::read_to_string(path).ok()
}

/// The value of the first `key : value` line of `text`.
fn field(text: &str, key: &str) -> Option<String> {
    text.lines().find_map(|line| {
        let (k, v) = line.split_once(':')?;
        (k.trim() == key).then(|| v.trim().to_string())
    })
}

/// A `Key:   123 kB` line of `/proc` in bytes.
fn kilobytes(text: &str, key: &str) -> Option<u64> {
    let value = field(text, key)?;
    let kb: u64 = value.split_whitespace().next()?.parse().ok()?;
    Some(kb * 1024)
}

/// The Arm core that `/proc/cpuinfo`'s `CPU part` names (arm64 kernels give no model name).
fn arm_core(cpuinfo: &str) -> Option<String> {
    let part = field(cpuinfo, "CPU part")?;
    let core = match part.as_str() {
        "0xd03" => "Cortex-A53",
        "0xd04" => "Cortex-A35",
        "0xd05" => "Cortex-A55",
        "0xd07" => "Cortex-A57",
        "0xd08" => "Cortex-A72",
        "0xd09" => "Cortex-A73",
        "0xd0a" => "Cortex-A75",
        "0xd0b" => "Cortex-A76",
        "0xd0c" => "Neoverse-N1",
        "0xd41" => "Cortex-A78",
        "0xd42" => "Cortex-A78AE",
        _ => return Some(format!("Arm CPU part {part}")),
    };
    Some(core.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proc_lines_are_read() {
        let status = "Name:\tagent\nVmHWM:\t   20480 kB\nVmRSS:\t 10240 kB\n";
        assert_eq!(kilobytes(status, "VmHWM"), Some(20480 * 1024));
        assert_eq!(kilobytes(status, "VmSwap"), None);
        let pi = "processor\t: 0\nCPU implementer\t: 0x41\nCPU part\t: 0xd08\n\nModel\t\t: Raspberry Pi 4 Model B Rev 1.4\n";
        assert_eq!(arm_core(pi).as_deref(), Some("Cortex-A72"));
        assert_eq!(
            field(pi, "Model").as_deref(),
            Some("Raspberry Pi 4 Model B Rev 1.4")
        );
    }

    #[test]
    fn the_peak_follows_a_reset() {
        let Some(before) = rss_bytes() else {
            eprintln!("skipped: no /proc/self/status here");
            return;
        };
        // Touch 64 MiB, free it, reset: the peak falls back below what it was.
        let big = vec![1u8; 64 << 20];
        assert!(big.iter().map(|&b| b as u64).sum::<u64>() == 64 << 20);
        let high = peak_rss_bytes().unwrap();
        assert!(
            high >= before + (60 << 20),
            "{high} after touching 64 MiB, {before} before"
        );
        drop(big);
        if reset_peak_rss() {
            let after = peak_rss_bytes().unwrap();
            assert!(
                after + (32 << 20) < high,
                "{after} after the reset, {high} before"
            );
        }
    }
}
