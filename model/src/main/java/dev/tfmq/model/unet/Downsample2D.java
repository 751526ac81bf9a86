package dev.tfmq.model.unet;

import dev.tfmq.model.io.FormatException;
import dev.tfmq.model.nn.BufferPool;
import dev.tfmq.model.nn.Conv2d;
import dev.tfmq.model.nn.Module;
import dev.tfmq.model.nn.ModuleKind;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.indexing.NDArrayIndex;

import java.util.List;

/**
 * Stride-2 3×3 convolution. With {@code downsample_padding} 0, diffusers pads one zero row and column at the
 * bottom/right only (the original DDPM's asymmetric padding); that case convolves a zero-bordered copy.
 */
public final class Downsample2D extends Module {
    final Conv2d conv;
    private final boolean asymmetric;
    private final BufferPool pool;

    Downsample2D(String path, Weights w, int channels, int padding, long outSize, BufferPool pool) throws FormatException {
        super(path, ModuleKind.DOWNSAMPLE);
        this.pool = pool;
        this.asymmetric = padding == 0;
        conv = new Conv2d(path + ".conv", w.take(path + ".conv.weight", channels, channels, 3, 3),
                w.take(path + ".conv.bias", channels), 2, padding, outSize, outSize);
    }

    List<Module> children() { return List.of(conv); }

    public long outSize(long in) {
        return asymmetric ? (in + 1 - 3) / 2 + 1 : conv.outSize(in);
    }

    public void forward(INDArray x, INDArray out) {
        before(x);
        if (asymmetric) {
            long h = x.size(2);
            long w = x.size(3);
            INDArray padded = pool.get(path() + ":padded", x.size(0), x.size(1), h + 1, w + 1);
            // The last row and column are never written, so they stay zero from allocation.
            padded.get(NDArrayIndex.all(), NDArrayIndex.all(), NDArrayIndex.interval(0, h), NDArrayIndex.interval(0, w))
                    .assign(x);
            conv.forward(padded, out);
        } else {
            conv.forward(x, out);
        }
        after(out);
    }

    /** Channels-last: x [B, H, W, C] → out [B, H', W', C]. */
    public void forwardChannelsLast(INDArray x, INDArray out) {
        before(x);
        if (asymmetric) {
            long h = x.size(1);
            long w = x.size(2);
            INDArray padded = pool.get(path() + ":paddedNhwc", x.size(0), h + 1, w + 1, x.size(3));
            // the last row and column are never written, so they stay zero from allocation
            padded.get(NDArrayIndex.all(), NDArrayIndex.interval(0, h), NDArrayIndex.interval(0, w), NDArrayIndex.all())
                    .assign(x);
            conv.forwardChannelsLast(padded, out);
        } else {
            conv.forwardChannelsLast(x, out);
        }
        after(out);
    }

    @Override
    public long macsPerImage() { return conv.macsPerImage(); }
}
