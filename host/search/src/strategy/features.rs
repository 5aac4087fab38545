//! A network's shape in a few numbers, read from the IR before any training: what the
//! [`super::KnownCosts`] strategies' surrogate predicts accuracy from.
//!
//! Genotypes are spellings; the network is what trains. Two spellings of one network (an NB201
//! cell whose dead branches differ, say) build the same IR and so get the same features, and a
//! surrogate over these numbers learns across spaces' spellings what depth and width buy.

use edgenas_model::network::{Network, layers::Layer};

/// How many numbers [`network_features`] gives.
pub const FEATURES: usize = 7;

/// The network's features: the most and the fewest weighted layers (convolutions, dense) on
/// a path from the input to the output, its convolutions with a 1×1 kernel and with a larger
/// one, its pooling layers, its additions, and ln(1 + multiply-adds).
pub fn network_features(net: &Network) -> [f64; FEATURES] {
    let n = net.nodes.len();
    // The fewest and the most weighted layers on a path from the input to each node.
    let (mut fewest, mut most) = (vec![0usize; n], vec![0usize; n]);
    let (mut pointwise, mut spatial, mut pools, mut adds, mut macs) = (0, 0, 0, 0, 0u64);
    for (id, node) in net.nodes.iter().enumerate() {
        let op = node.layer.op();
        let node_macs = op.macs(&net.input_shapes(id), &node.shape);
        macs += node_macs;
        let weighted = usize::from(node_macs > 0);
        if let Some(first) = node.inputs.first() {
            fewest[id] = node
                .inputs
                .iter()
                .map(|&i| fewest[i])
                .fold(fewest[*first], usize::min);
            most[id] = node
                .inputs
                .iter()
                .map(|&i| most[i])
                .fold(most[*first], usize::max);
        }
        fewest[id] += weighted;
        most[id] += weighted;
        match &node.layer {
            Layer::Conv2d(c) if c.kernel == [1, 1] => pointwise += 1,
            Layer::Conv2d(_) => spatial += 1,
            Layer::Pool(_) => pools += 1,
            Layer::Add(_) => adds += 1,
            _ => {}
        }
    }
    [
        most[net.output] as f64,
        fewest[net.output] as f64,
        f64::from(pointwise),
        f64::from(spatial),
        f64::from(pools),
        f64::from(adds),
        (1.0 + macs as f64).ln(),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use edgenas_model::network::decode;
    use edgenas_model::space::load_space;

    /// Features of an NB201 cell given as its six edges.
    fn cell(edges: &str) -> [f64; FEATURES] {
        let space = load_space("nb201").unwrap();
        let text = format!("|{}|", edges);
        let g = space.parse_genotype(&text).unwrap();
        network_features(&decode(&space, &g).unwrap())
    }

    #[test]
    fn two_spellings_of_one_network_have_the_same_features_and_depth_counts() {
        // One 3×3 convolution from input to output, spelled directly (edge 3←0) and through
        // node 1 with a skip (1←0 conv, 3←1 skip), dead branches aside.
        let direct = cell("none~0|+|none~0|none~1|+|nor_conv_3x3~0|none~1|none~2");
        let through = cell("nor_conv_3x3~0|+|none~0|none~1|+|none~0|skip_connect~1|none~2");
        assert_eq!(direct, through);
        // A residual pair (x + conv1(conv3(x))) in each of the 15 cells: a path two weighted
        // layers longer than the skip beside it, one more weighted layer on the longest path
        // and one more addition than the single convolution's cells.
        let residual =
            cell("skip_connect~0|+|none~0|nor_conv_3x3~1|+|skip_connect~0|none~1|nor_conv_1x1~2");
        let spread = |f: [f64; FEATURES]| f[0] - f[1];
        assert_eq!(spread(residual), spread(direct) + 2.0 * 15.0);
        assert_eq!(
            residual[0],
            direct[0] + 15.0,
            "one more weighted layer in each of 15 cells"
        );
        assert_eq!(residual[5], direct[5] + 15.0);
    }
}
