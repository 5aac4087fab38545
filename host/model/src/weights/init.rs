//! Seeded initial weights, drawn with our own generator so that a seed gives the same network
//! on every backend and machine, whatever else runs in the process.

use super::{Array, Weights};
use crate::network::{Layer, Network};
use crate::rng::Rng;

/// Each layer's initial weights ([`LayerOp::initial_weights`]), drawn in node order from one
/// generator: He (Kaiming) uniform for convolutions and hidden dense layers,
/// `U(−√(6/fan_in), √(6/fan_in))`; the last dense layer (the logits) draws from
/// `U(−1/√fan_in, 1/√fan_in)`, as PyTorch's default does, so that training starts near a uniform
/// prediction. Biases start at 0; batch norms at γ = 1, β = 0, mean 0, variance 1.
///
/// [`LayerOp::initial_weights`]: crate::network::layers::LayerOp::initial_weights
pub fn initial_weights(network: &Network, seed: u64) -> Weights {
    let mut rng = Rng::new(seed);
    let last_dense = network
        .nodes
        .iter()
        .rposition(|n| matches!(n.layer, Layer::Dense(_)));
    let mut weights = Weights::default();
    let mut draw = |shape: &[usize], fan_in: usize, gain: f64| {
        let bound = (gain / fan_in.max(1) as f64).sqrt();
        Array {
            shape: shape.to_vec(),
            data: (0..shape.iter().product::<usize>())
                .map(|_| ((2.0 * rng.unit() - 1.0) * bound) as f32)
                .collect(),
        }
    };
    for (id, node) in network.nodes.iter().enumerate() {
        let inputs = network.input_shapes(id);
        let logits = Some(id) == last_dense;
        if let Some(layer) =
            node.layer
                .op()
                .initial_weights(&inputs, &node.shape, logits, &mut draw)
        {
            weights.layers.insert(node.name.clone(), layer);
        }
    }
    weights
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::space::load_space;

    #[test]
    fn initial_weights_fit_every_shipped_space_and_depend_on_the_seed_only() {
        for (name, _) in crate::space::SHIPPED_SPACES {
            let space = load_space(name).unwrap();
            let g = space.sample(&mut Rng::new(4));
            let net = crate::network::decode(&space, &g).unwrap();
            let w = initial_weights(&net, 11);
            w.check(&net).unwrap();
            assert_eq!(w, initial_weights(&net, 11), "{name}");
            assert_ne!(w, initial_weights(&net, 12), "{name}");
        }
    }
}
