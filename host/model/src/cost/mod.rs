//! Exact static costs of a network: parameters, MACs, peak activation RAM and model flash.
//!
//! RAM comes from the device engine's own arena planner ([`memory`]), flash from the engine's
//! size rules of the device model format ([`flash`]); both for int8 and f32. [`fit`] compares
//! them with a board.

mod deploy;
pub mod fit;
pub mod flash;
pub mod lowering;
pub mod memory;

pub use deploy::{Deployment, deployment};
pub use edgenas_engine::DType;
pub use fit::{Fit, fit};

use crate::network::Network;

/// The static costs of one layer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LayerCost {
    /// Trainable parameters.
    pub params: u64,
    /// Multiply-accumulates per inference.
    pub macs: u64,
    /// Elements of the layer's output tensor.
    pub output_elements: usize,
}

/// What a network needs on a device for one datum type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DeviceCost {
    /// int8 or f32.
    pub dtype: DType,
    /// The arena the planner lays every activation out in: the peak activation RAM.
    pub peak_ram_bytes: usize,
    /// Bytes of the device model (header, records, weights, biases, quantisation parameters).
    pub model_bytes: usize,
}

/// The static costs of a network.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Costs {
    /// Trainable parameters in total.
    pub params: u64,
    /// Multiply-accumulates per inference in total.
    pub macs: u64,
    /// Per node of the network, in its order.
    pub layers: Vec<LayerCost>,
    /// On a device, int8.
    pub int8: DeviceCost,
    /// On a device, f32.
    pub f32: DeviceCost,
}

impl Costs {
    /// The device costs for a datum type.
    pub fn device(&self, dtype: DType) -> DeviceCost {
        match dtype {
            DType::Int8 => self.int8,
            DType::F32 => self.f32,
        }
    }
}

/// Computes every static cost of `net`.
pub fn costs(net: &Network) -> Costs {
    let layers: Vec<LayerCost> = net
        .nodes
        .iter()
        .enumerate()
        .map(|(id, node)| {
            let inputs = net.input_shapes(id);
            let op = node.layer.op();
            LayerCost {
                params: op.params(&inputs),
                macs: op.macs(&inputs, &node.shape),
                output_elements: node.shape.elements(),
            }
        })
        .collect();
    let device = |dtype| DeviceCost {
        dtype,
        peak_ram_bytes: memory::peak_ram_bytes(net, dtype),
        model_bytes: flash::model_bytes(net, dtype),
    };
    Costs {
        params: layers.iter().map(|l| l.params).sum(),
        macs: layers.iter().map(|l| l.macs).sum(),
        layers,
        int8: device(DType::Int8),
        f32: device(DType::F32),
    }
}
