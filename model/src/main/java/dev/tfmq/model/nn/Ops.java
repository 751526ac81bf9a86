package dev.tfmq.model.nn;

import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.DynamicCustomOp;
import org.nd4j.linalg.api.ops.impl.broadcast.BroadcastAddOp;
import org.nd4j.linalg.api.ops.impl.broadcast.BroadcastMulOp;
import org.nd4j.linalg.api.ops.impl.transforms.strict.Swish;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The few tensor kernels the UNet needs, each writing into a caller-owned output so that a forward pass over
 * a fixed batch size touches no fresh memory (first-touch page faults cost ~2.7 ms/MiB on these VMs).
 */
public final class Ops {
    private Ops() {}

    /**
     * 2-D convolution, NCHW, weights in PyTorch layout [O, I, kH, kW], symmetric zero padding.
     * oneDNN serves this op in the onednn build of ND4J.
     */
    public static void conv2d(INDArray x, INDArray w, INDArray bias, int stride, int padding, INDArray out) {
        conv2dHwio(x, w.permute(2, 3, 1, 0).dup('c'), bias, stride, padding, out);
    }

    /** As {@link #conv2d} with weights already in [kH, kW, I, O] order (oneDNN's preferred layout here). */
    public static void conv2dHwio(INDArray x, INDArray w, INDArray bias, int stride, int padding, INDArray out) {
        conv2dHwio(x, w, bias, stride, padding, out, false);
    }

    /**
     * As above; with {@code channelsLast} the activations are [B, H, W, C] (NHWC). oneDNN convolves NHWC directly,
     * while NCHW input is reordered to its blocked layout and back on every call: about 2x the time for the
     * UNet's 32-128-channel convolutions on this machine.
     */
    public static void conv2dHwio(INDArray x, INDArray w, INDArray bias, int stride, int padding, INDArray out,
                                  boolean channelsLast) {
        int kh = (int) w.size(0);
        int kw = (int) w.size(1);
        DynamicCustomOp.DynamicCustomOpsBuilder b = DynamicCustomOp.builder("conv2d")
                .addOutputs(out)
                .addIntegerArguments(kh, kw, stride, stride, padding, padding, 1, 1, 0, channelsLast ? 1 : 0, 0);
        if (bias != null) b.addInputs(x, w, bias);
        else b.addInputs(x, w);
        Nd4j.exec(b.build());
    }

    /** Batched matrix product over the leading dimension: out[n] = op(a[n]) · op(b[n]). */
    public static void matmul(INDArray a, INDArray b, boolean transA, boolean transB, double alpha, INDArray out) {
        DynamicCustomOp op = DynamicCustomOp.builder("matmul")
                .addInputs(a, b)
                .addOutputs(out)
                .addIntegerArguments(transA ? 1 : 0, transB ? 1 : 0, 0)
                .addFloatingPointArguments(alpha, 0.0)
                .build();
        Nd4j.exec(op);
    }

    /** Softmax over the last dimension, in place. */
    public static void softmaxLastDim(INDArray x) {
        DynamicCustomOp op = DynamicCustomOp.builder("softmax")
                .addInputs(x)
                .addOutputs(x)
                .addIntegerArguments(x.rank() - 1)
                .build();
        Nd4j.exec(op);
    }

    /** SiLU (x · sigmoid(x)), from {@code x} into {@code out} (may be the same array). */
    public static void silu(INDArray x, INDArray out) {
        Nd4j.getExecutioner().exec(new Swish(x, out));
    }

    /** Nearest-neighbour upsampling by 2 in H and W, NCHW. */
    public static void upsampleNearest2x(INDArray x, INDArray out) {
        upsampleNearest2x(x, out, false);
    }

    /** Nearest-neighbour upsampling by 2, NCHW or (channelsLast) NHWC. */
    public static void upsampleNearest2x(INDArray x, INDArray out, boolean channelsLast) {
        DynamicCustomOp op = DynamicCustomOp.builder("upsampling2d")
                .addInputs(x)
                .addOutputs(out)
                .addIntegerArguments(2, 2, channelsLast ? 0 : 1)
                .build();
        Nd4j.exec(op);
    }

    /** out[:, c, ...] += v[c] for a [B, C, ...] array viewed as rank 3. */
    public static void addChannelVector(INDArray x3, INDArray v) {
        Nd4j.getExecutioner().exec(new BroadcastAddOp(x3, v, x3, 1));
    }

    /** x[b, :, c] += v[b, c] for a channels-last [B, T, C] array and v [B, C]. */
    public static void addPerImageChannel(INDArray x3, INDArray v) {
        Nd4j.getExecutioner().exec(new BroadcastAddOp(x3, v, x3, 0, 2));
    }

    /** x[b, :, c] *= v[b, c] for a channels-last [B, T, C] array and v [B, C]. */
    public static void mulPerImageChannel(INDArray x3, INDArray v) {
        Nd4j.getExecutioner().exec(new BroadcastMulOp(x3, v, x3, 0, 2));
    }

    /** x[:, c, ...] *= v[c] for a [B, C, ...] array viewed as rank 3. */
    public static void mulChannelVector(INDArray x3, INDArray v) {
        Nd4j.getExecutioner().exec(new BroadcastMulOp(x3, v, x3, 1));
    }
}
