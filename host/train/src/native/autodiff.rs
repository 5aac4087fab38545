//! The native ops on flex's autodiff wrapper: each records its backward step (burn's
//! `Backward`, with what it needs kept as state or checkpointed) and runs the forward on flex.

use burn::backend::autodiff::NodeId;
use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::tensor::FloatTensor;
use burn::backend::{Autodiff, Flex};
use burn::tensor::ops::{ConvOptions, MaxPoolOptions};

use super::flex::max_pool;
use super::{
    NativeTraining, clamp, conv, geometry, map_in_place, norm, pool, pool_geometry, tensor, values,
};

#[derive(Debug)]
struct ClampBackward;

impl Backward<Flex, 1> for ClampBackward {
    /// The output and the bounds.
    type State = (FloatTensor<Flex>, f32, f32);

    fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
        let [node_x] = ops.parents;
        let grad = grads.consume::<Flex>(&ops.node);
        let (y, low, high) = ops.state;
        if let Some(node) = node_x {
            let (_, y) = values(&y);
            let dx = map_in_place(grad, |dy| clamp::backward(dy, &y, low, high));
            grads.register::<Flex>(node.id, dx);
        }
    }
}

#[derive(Debug)]
struct MaxPoolBackward;

impl Backward<Flex, 1> for MaxPoolBackward {
    /// The input's dimensions, the options, and where each maximum came from.
    type State = (Vec<usize>, MaxPoolOptions<2>, Vec<u32>);

    fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
        let [node_x] = ops.parents;
        let grad = grads.consume::<Flex>(&ops.node);
        let (dims, options, from) = ops.state;
        if let Some(node) = node_x {
            let (_, dy) = values(&grad);
            let p = pool_geometry(&dims, &options);
            grads.register::<Flex>(node.id, tensor(pool::max_backward(&p, &from, &dy), dims));
        }
    }
}

#[derive(Debug)]
struct NormBackward;

impl Backward<Flex, 3> for NormBackward {
    type State = (NodeId, NodeId, FloatTensor<Flex>, FloatTensor<Flex>, f64);

    fn backward(
        self,
        ops: Ops<Self::State, 3>,
        grads: &mut Gradients,
        checkpointer: &mut Checkpointer,
    ) {
        let [node_x, node_gamma, node_beta] = ops.parents;
        let grad = grads.consume::<Flex>(&ops.node);
        let (x_state, gamma_state, mean, variance, epsilon) = ops.state;
        let x: FloatTensor<Flex> = checkpointer.retrieve_node_output(x_state);
        let gamma: FloatTensor<Flex> = checkpointer.retrieve_node_output(gamma_state);
        let (dims, x) = values(&x);
        let (_, gamma) = values(&gamma);
        let (_, dy) = values(&grad);
        let s = norm::Statistics {
            mean: values(&mean).1.into_owned(),
            variance: values(&variance).1.into_owned(),
        };
        let layout = norm::Layout::of(&dims);
        let g = norm::backward(layout, &x, &s, &gamma, epsilon, &dy);
        let channels = vec![layout.channels];
        if let Some(node) = node_x {
            grads.register::<Flex>(node.id, tensor(g.x, dims));
        }
        if let Some(node) = node_gamma {
            grads.register::<Flex>(node.id, tensor(g.gamma, channels.clone()));
        }
        if let Some(node) = node_beta {
            grads.register::<Flex>(node.id, tensor(g.beta, channels));
        }
    }
}

#[derive(Debug)]
struct ConvBackward;

impl Backward<Flex, 3> for ConvBackward {
    type State = (NodeId, NodeId, ConvOptions<2>);

    fn backward(
        self,
        ops: Ops<Self::State, 3>,
        grads: &mut Gradients,
        checkpointer: &mut Checkpointer,
    ) {
        let [node_x, node_w, node_b] = ops.parents;
        let grad = grads.consume::<Flex>(&ops.node);
        let (x_state, w_state, options) = ops.state;
        let x: FloatTensor<Flex> = checkpointer.retrieve_node_output(x_state);
        let w: FloatTensor<Flex> = checkpointer.retrieve_node_output(w_state);
        let (x_dims, x) = values(&x);
        let (w_dims, w) = values(&w);
        let (dy_dims, dy) = values(&grad);
        let g = geometry(&x_dims, &w_dims, &dy_dims, &options);
        if let Some(node) = node_x {
            grads.register::<Flex>(node.id, tensor(conv::input_gradient(&g, &w, &dy), x_dims));
        }
        if let Some(node) = node_w {
            grads.register::<Flex>(node.id, tensor(conv::weight_gradient(&g, &x, &dy), w_dims));
        }
        if let Some(node) = node_b {
            grads.register::<Flex>(
                node.id,
                tensor(conv::bias_gradient(&g, &dy), vec![g.out_channels]),
            );
        }
    }
}

impl<C: CheckpointStrategy> NativeTraining for Autodiff<Flex, C> {
    fn native_conv2d(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        options: ConvOptions<2>,
    ) -> FloatTensor<Self> {
        match ConvBackward
            .prepare::<C>([x.node(), weight.node(), bias.node()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(mut prep) => {
                let xs = prep.checkpoint(&x);
                let ws = prep.checkpoint(&weight);
                let out = Flex::native_conv2d(
                    x.into_primitive(),
                    weight.into_primitive(),
                    bias.into_primitive(),
                    options.clone(),
                );
                prep.finish((xs, ws, options), out)
            }
            OpsKind::UnTracked(prep) => prep.finish(Flex::native_conv2d(
                x.into_primitive(),
                weight.into_primitive(),
                bias.into_primitive(),
                options,
            )),
        }
    }

    fn native_batch_norm_train(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        beta: FloatTensor<Self>,
        epsilon: f64,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>) {
        let statistic = |t| FloatTensor::<Self>::new(t);
        match NormBackward
            .prepare::<C>([x.node(), gamma.node(), beta.node()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(mut prep) => {
                let xs = prep.checkpoint(&x);
                let gs = prep.checkpoint(&gamma);
                let (y, mean, variance) = Flex::native_batch_norm_train(
                    x.into_primitive(),
                    gamma.into_primitive(),
                    beta.into_primitive(),
                    epsilon,
                );
                let y = prep.finish((xs, gs, mean.clone(), variance.clone(), epsilon), y);
                (y, statistic(mean), statistic(variance))
            }
            OpsKind::UnTracked(prep) => {
                let (y, mean, variance) = Flex::native_batch_norm_train(
                    x.into_primitive(),
                    gamma.into_primitive(),
                    beta.into_primitive(),
                    epsilon,
                );
                (prep.finish(y), statistic(mean), statistic(variance))
            }
        }
    }

    fn native_max_pool2d(x: FloatTensor<Self>, options: MaxPoolOptions<2>) -> FloatTensor<Self> {
        match MaxPoolBackward
            .prepare::<C>([x.node()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => {
                let (y, dims, from) = max_pool(&x.into_primitive(), &options);
                prep.finish((dims, options, from), y)
            }
            OpsKind::UnTracked(prep) => {
                prep.finish(Flex::native_max_pool2d(x.into_primitive(), options))
            }
        }
    }

    fn native_clamp(x: FloatTensor<Self>, low: f32, high: f32) -> FloatTensor<Self> {
        match ClampBackward
            .prepare::<C>([x.node()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => {
                let y = Flex::native_clamp(x.into_primitive(), low, high);
                prep.finish((y.clone(), low, high), y)
            }
            OpsKind::UnTracked(prep) => {
                prep.finish(Flex::native_clamp(x.into_primitive(), low, high))
            }
        }
    }
}
