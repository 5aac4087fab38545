//! Folding batch norms into the convolution or dense layer before them.

use edgenas_model::cost::{Deployment, deployment};
use edgenas_model::network::Network;
use edgenas_model::network::layers::Fold;
use edgenas_model::weights::{Array, LayerWeights, Weights};

/// The weight and bias each convolution or dense node has once the batch norm after it (if the
/// device folds one, see `cost::deployment`) is folded in: with `s = γ / √(var + ε)`,
/// `W' = W·s` per output channel and `b' = (b − mean)·s + β`. Other nodes get `None`.
pub(crate) fn folded(
    net: &Network,
    weights: &Weights,
) -> Result<Vec<Option<(Array, Array)>>, String> {
    let deployed = deployment(net);
    let mut out = vec![None; net.nodes.len()];
    for (id, node) in net.nodes.iter().enumerate() {
        let (weight, bias) = match weights.get(&node.name) {
            Some(LayerWeights::Conv2d { weight, bias })
            | Some(LayerWeights::Dense { weight, bias }) => (weight, bias),
            _ => continue,
        };
        let channels = weight.shape[0];
        let per_channel = weight.data.len() / channels;
        let mut w = weight.clone();
        let mut b = bias
            .clone()
            .unwrap_or_else(|| Array::full(&[channels], 0.0));
        let bn = net.consumers(id).into_iter().find(|&c| {
            net.nodes[c].layer.op().fold() == Some(Fold::Weights)
                && deployed[c] == Deployment::Merged
        });
        if let Some(bn) = bn {
            let name = &net.nodes[bn].name;
            let (scale, shift) = weights
                .batch_norm_affine(name)
                .ok_or_else(|| format!("node {name} has no batch norm weights"))?;
            for c in 0..channels {
                let s = scale[c] as f32;
                for v in &mut w.data[c * per_channel..(c + 1) * per_channel] {
                    *v *= s;
                }
                b.data[c] = (b.data[c] as f64 * scale[c] + shift[c]) as f32;
            }
        }
        out[id] = Some((w, b));
    }
    Ok(out)
}
