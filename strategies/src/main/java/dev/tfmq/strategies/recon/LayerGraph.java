package dev.tfmq.strategies.recon;

import dev.tfmq.model.nn.Conv2d;
import dev.tfmq.model.nn.Linear;
import dev.tfmq.model.nn.Module;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.util.List;

/**
 * A standalone quantized layer (an upsampler conv, a quantized downsampler conv, time_embedding.linear_2 under
 * Q-Diffusion's scheme) reconstructed on its own cached input.
 */
final class LayerGraph extends BlockGraph {
    private final DataType type;
    private final Module layer;
    private final WeightSlot w;
    private final INDArray bias;
    private INDArray x;

    LayerGraph(Module layer, WeightSlot w, DataType type) {
        this.type = type;
        this.layer = layer;
        this.w = w;
        INDArray b = layer instanceof Conv2d c ? c.bias() : ((Linear) layer).bias();
        this.bias = b == null ? null : b.castTo(type);
    }

    @Override
    INDArray forward(INDArray[] in) {
        x = in[0];
        if (layer instanceof Conv2d c) return Kernels.conv2d(x, w.weight(type), bias, c.stride(), c.padding());
        return Kernels.linearRows(x, w.weight(type), bias);
    }

    @Override
    void backward(INDArray dOut) {
        if (layer instanceof Conv2d c) w.backward(Kernels.conv2dBackward(x, w.current(), bias, c.stride(), c.padding(), dOut)[1]);
        else w.backward(Kernels.linearRowsBackward(x, w.current(), bias, dOut)[1]);
    }

    @Override
    List<AdaRoundQuantizer> learnables() { return w.learner() == null ? List.of() : List.of(w.learner()); }
}
