package dev.tfmq.strategies.bias;

import dev.tfmq.model.nn.Conv2d;
import dev.tfmq.model.nn.Linear;
import dev.tfmq.model.nn.Module;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/** What the bias tools need to know of a conv or linear layer: its output channels, bias and linear response. */
final class OutputChannels {
    private OutputChannels() {}

    static int of(Module m) {
        if (m instanceof Conv2d c) return (int) c.outChannels();
        if (m instanceof Linear l) return (int) l.outFeatures();
        throw new IllegalArgumentException("module '" + m.path() + "' (" + m.kind() + ") is not a conv or linear layer");
    }

    /** The weight the layer computes with now (fake-quantized when quantization is applied). */
    static INDArray weight(Module m) {
        if (m instanceof Conv2d c) return c.weight();
        if (m instanceof Linear l) return l.weight();
        throw new IllegalArgumentException("module '" + m.path() + "' (" + m.kind() + ") is not a conv or linear layer");
    }

    static INDArray bias(Module m) {
        INDArray b = m instanceof Conv2d c ? c.bias() : m instanceof Linear l ? l.bias() : null;
        if (b == null) throw new IllegalArgumentException("layer '" + m.path() + "' has no bias to correct");
        return b;
    }

    static void setBias(Module m, INDArray b) {
        if (m instanceof Conv2d c) c.setBias(b);
        else if (m instanceof Linear l) l.setBias(b);
        else throw new IllegalArgumentException("module '" + m.path() + "' (" + m.kind() + ") is not a conv or linear layer");
    }

    /**
     * Per output channel, the mean over output positions of the layer's response without bias, {@code W * x}, to
     * one input image {@code x} (shape [C, H, W] for a conv, [C, T] or [C] for a linear). Since the layer is linear
     * and pads with zeros, this applied to the batch-mean input is the batch-and-position mean of the response.
     */
    static double[] meanResponse(Module m, INDArray weight, double[] image, long[] imageShape) {
        INDArray w = weight.castTo(DataType.DOUBLE);
        if (m instanceof Conv2d c) {
            if (imageShape.length != 3) throw new IllegalArgumentException(m.path() + ": conv input image must be [C, H, W]");
            INDArray x = Nd4j.createFromArray(image).reshape('c', 1, imageShape[0], imageShape[1], imageShape[2]);
            INDArray out = Nd4j.create(DataType.DOUBLE, 1, c.outChannels(), c.outSize(imageShape[1]), c.outSize(imageShape[2]));
            dev.tfmq.model.nn.Ops.conv2d(x, w, null, c.stride(), c.padding(), out);
            return out.reshape('c', c.outChannels(), -1).mean(1).toDoubleVector();
        }
        if (m instanceof Linear) {
            long in = imageShape[0];
            long positions = imageShape.length == 1 ? 1 : imageShape[1];
            INDArray x = Nd4j.createFromArray(image).reshape('c', in, positions);
            return w.mmul(x).mean(1).toDoubleVector();
        }
        throw new IllegalArgumentException("module '" + m.path() + "' (" + m.kind() + ") is not a conv or linear layer");
    }
}
