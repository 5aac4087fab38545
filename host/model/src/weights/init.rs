//! Seeded initial weights, drawn with our own generator so that a seed gives the same network
//! on every backend and machine, whatever else runs in the process.

use super::{Array, LayerWeights, Weights};
use crate::network::{Layer, Network};
use crate::rng::Rng;

/// He (Kaiming) uniform initialisation for convolutions and hidden dense layers,
/// `U(−√(6/fan_in), √(6/fan_in))`; the last dense layer (the logits) draws from
/// `U(−1/√fan_in, 1/√fan_in)`, as PyTorch's default does, so that training starts near a uniform
/// prediction. Biases start at 0; batch norms at γ = 1, β = 0, mean 0, variance 1.
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
        let in_shape = node.inputs.first().map(|&i| network.nodes[i].shape);
        let layer = match &node.layer {
            Layer::Conv2d(c) => {
                let per_group = in_shape.map_or(0, |s| s.channels()) / c.groups;
                let fan_in = per_group * c.kernel[0] * c.kernel[1];
                LayerWeights::Conv2d {
                    weight: draw(
                        &[c.out_channels, per_group, c.kernel[0], c.kernel[1]],
                        fan_in,
                        6.0,
                    ),
                    bias: c.bias.then(|| Array::full(&[c.out_channels], 0.0)),
                }
            }
            Layer::Dense(d) => {
                let fan_in = in_shape.map_or(0, |s| s.elements());
                let gain = if Some(id) == last_dense { 1.0 } else { 6.0 };
                LayerWeights::Dense {
                    weight: draw(&[d.out_features, fan_in], fan_in, gain),
                    bias: d.bias.then(|| Array::full(&[d.out_features], 0.0)),
                }
            }
            Layer::BatchNorm(b) => {
                let c = node.shape.channels();
                LayerWeights::BatchNorm {
                    gamma: Array::full(&[c], 1.0),
                    beta: Array::full(&[c], 0.0),
                    running_mean: Array::full(&[c], 0.0),
                    running_var: Array::full(&[c], 1.0),
                    epsilon: b.epsilon,
                }
            }
            _ => continue,
        };
        weights.layers.insert(node.name.clone(), layer);
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
