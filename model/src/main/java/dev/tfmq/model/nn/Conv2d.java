package dev.tfmq.model.nn;

import org.nd4j.linalg.api.ndarray.INDArray;

import java.util.Map;

/** Conv2d with PyTorch weight layout [out, in, k, k] and symmetric zero padding. */
public final class Conv2d extends Module {
    private INDArray weight;
    /** The weight in [kH, kW, in, out] order, which ND4J's oneDNN path convolves without a per-call reorder. */
    private INDArray kernelHwio;
    private INDArray bias;
    private final int stride;
    private final int padding;
    private final long outH;
    private final long outW;

    /**
     * @param outH output height at the model's nominal sample size (for FLOP counts only)
     */
    public Conv2d(String path, INDArray weight, INDArray bias, int stride, int padding, long outH, long outW) {
        super(path, ModuleKind.CONV);
        this.weight = weight;
        this.kernelHwio = weight.permute(2, 3, 1, 0).dup('c');
        this.bias = bias;
        this.stride = stride;
        this.padding = padding;
        this.outH = outH;
        this.outW = outW;
    }

    public INDArray weight() { return weight; }

    public INDArray bias() { return bias; }

    public int stride() { return stride; }

    public int padding() { return padding; }

    public long outChannels() { return weight.size(0); }

    public long inChannels() { return weight.size(1); }

    public int kernel() { return (int) weight.size(2); }

    /** Replaces the weight (e.g. with its fake-quantized version); the shape must stay the same. */
    public void setWeight(INDArray w) {
        if (!java.util.Arrays.equals(w.shape(), weight.shape())) {
            throw new IllegalArgumentException(path() + ": weight shape " + java.util.Arrays.toString(w.shape())
                    + " != " + java.util.Arrays.toString(weight.shape()));
        }
        this.weight = w;
        this.kernelHwio = w.permute(2, 3, 1, 0).dup('c');
    }

    public void setBias(INDArray b) { this.bias = b; }

    public long outSize(long in) {
        return (in + 2L * padding - kernel()) / stride + 1;
    }

    public void forward(INDArray in, INDArray out) {
        before(in);
        Ops.conv2dHwio(in, kernelHwio, bias, stride, padding, out);
        after(out);
    }

    /** Channels-last: in [B, H, W, in] → out [B, H', W', out]. */
    public void forwardChannelsLast(INDArray in, INDArray out) {
        before(in);
        Ops.conv2dHwio(in, kernelHwio, bias, stride, padding, out, true);
        after(out);
    }

    @Override
    public Map<String, INDArray> parameters() { return params(path(), weight, bias); }

    @Override
    public long macsPerImage() {
        return outH * outW * weight.size(0) * weight.size(1) * weight.size(2) * weight.size(3);
    }
}
