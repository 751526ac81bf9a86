package dev.tfmq.strategies.recon;

import org.nd4j.linalg.api.ndarray.INDArray;

import java.util.List;

/**
 * A reconstruction unit as a differentiable function of its cached inputs: a ResnetBlock2D, an attention block or a
 * single layer, rebuilt from the model's modules with the learnable weights in {@link WeightSlot}s. Only weight
 * gradients are needed (the cached inputs are constants), so backward passes stop at the first learned layer.
 */
abstract class BlockGraph {
    /** Forward on one mini-batch; inputs[0] is the block input, further entries are block-specific. */
    abstract INDArray forward(INDArray[] inputs);

    /** Accumulates dL/dα of every learned weight for the last forward pass. */
    abstract void backward(INDArray dOut);

    abstract List<AdaRoundQuantizer> learnables();
}
