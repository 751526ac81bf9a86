package dev.tfmq.model.nn;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.util.Map;

/**
 * Fully connected layer, weight [out, in]. Two layouts: row-major tokens ([N, in] → [N, out]) for the time
 * embedding, and channel-first feature maps ([in, T] → [out, T]) for attention, which keeps the UNet's NCHW
 * memory layout and avoids transposing every attention input.
 */
public final class Linear extends Module {
    private INDArray weight;
    private INDArray bias;
    private final long tokensPerImage;

    public Linear(String path, INDArray weight, INDArray bias, long tokensPerImage) {
        super(path, ModuleKind.LINEAR);
        this.weight = weight;
        this.bias = bias;
        this.tokensPerImage = tokensPerImage;
    }

    public INDArray weight() { return weight; }

    public INDArray bias() { return bias; }

    public long inFeatures() { return weight.size(1); }

    public long outFeatures() { return weight.size(0); }

    public void setWeight(INDArray w) {
        if (!java.util.Arrays.equals(w.shape(), weight.shape())) {
            throw new IllegalArgumentException(path() + ": weight shape " + java.util.Arrays.toString(w.shape())
                    + " != " + java.util.Arrays.toString(weight.shape()));
        }
        this.weight = w;
        this.weightF = null;
    }

    public void setBias(INDArray b) {
        this.bias = b;
        this.weightF = null;
    }

    /** [N, in] → [N, out]. */
    public void forwardRows(INDArray in, INDArray out) {
        before(in);
        Nd4j.gemm(in, weight, out, false, true, 1.0, 0.0);
        if (bias != null) out.addiRowVector(bias);
        after(out);
    }

    /**
     * Channel-first: in [B, in, T] → out [B, out, T], out[b] = W · in[b] + bias. Hooks see the whole batch.
     */
    public void forwardChannels(INDArray in, INDArray out) {
        before(in);
        if (FusedKernels.enabled() && in.dataType() == DataType.FLOAT && out.dataType() == DataType.FLOAT
                && weight.dataType() == DataType.FLOAT) {
            if (weightF == null) {
                weightF = weight.dup('c').reshape(weight.length()).toFloatVector();
                biasF = bias == null ? null : bias.dup('c').reshape(bias.length()).toFloatVector();
            }
            FusedKernels.channelLinear(staging, weightF, biasF, in, out);
        } else {
            Ops.matmul(batchedWeight(in.size(0)), in, false, false, 1.0, out);
            if (bias != null) Ops.addChannelVector(out, bias);
        }
        after(out);
    }

    /** Heap copies of weight and bias for the fused kernel; dropped whenever either is replaced. */
    private float[] weightF;
    private float[] biasF;
    private final FusedKernels.Staging staging = new FusedKernels.Staging();

    /**
     * The weight repeated per image, [B, out, in]: ND4J's batched matmul needs equal ranks, and one batched
     * call is ~4x faster than B separate gemm calls. Rebuilt only when the batch size or the weight changes.
     */
    private INDArray batchedWeight(long batch) {
        if (batched == null || batched.size(0) != batch || batchedFrom != weight) {
            batched = Nd4j.create(weight.dataType(), batch, weight.size(0), weight.size(1));
            for (long b = 0; b < batch; b++) batched.slice(b).assign(weight);
            batchedFrom = weight;
        }
        return batched;
    }

    private INDArray batched;
    private INDArray batchedFrom;

    @Override
    public Map<String, INDArray> parameters() { return params(path(), weight, bias); }

    @Override
    public long macsPerImage() { return tokensPerImage * weight.size(0) * weight.size(1); }
}
