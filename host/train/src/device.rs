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

/// A device to train on. It wraps burn's device so that crates above this one hold a device
/// without naming burn.
#[derive(Clone, Debug)]
pub struct TrainDevice(Device);

impl TrainDevice {
    /// burn's CPU backend.
    pub fn cpu() -> TrainDevice {
        TrainDevice(Device::flex())
    }

    /// The burn device, for code that builds burn tensors itself.
    pub fn burn(&self) -> &Device {
        &self.0
    }
}

/// A training device this build of edgenas does not have.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("this edgenas was built without GPU training; rebuild with `--features gpu`")]
pub struct NoGpu;

/// The device for a choice, or why it is not available in this build.
pub fn device(choice: DeviceChoice) -> Result<TrainDevice, NoGpu> {
    match choice {
        DeviceChoice::Cpu => Ok(TrainDevice::cpu()),
        #[cfg(feature = "gpu")]
        DeviceChoice::Gpu => Ok(TrainDevice(Device::wgpu(Default::default()))),
        #[cfg(not(feature = "gpu"))]
        DeviceChoice::Gpu => Err(NoGpu),
    }
}
