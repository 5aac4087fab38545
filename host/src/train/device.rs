//! Where training runs.

use burn::prelude::Device;

/// The training device the user asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeviceChoice {
    /// burn's `flex` backend: pure Rust, on every CPU core (the fastest CPU backend that builds
    /// here; see `docs/training.md`).
    Cpu,
    /// burn's `wgpu` backend (Vulkan, Metal, DX12); needs the `gpu` cargo feature.
    Gpu,
}

/// The burn device for a choice, or why it is not available in this build.
pub fn device(choice: DeviceChoice) -> Result<Device, String> {
    match choice {
        DeviceChoice::Cpu => Ok(Device::flex()),
        #[cfg(feature = "gpu")]
        DeviceChoice::Gpu => Ok(Device::wgpu(Default::default())),
        #[cfg(not(feature = "gpu"))]
        DeviceChoice::Gpu => {
            Err("this edgenas was built without GPU training; rebuild with `--features gpu`".into())
        }
    }
}
