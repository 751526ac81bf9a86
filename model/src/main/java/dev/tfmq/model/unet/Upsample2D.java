package dev.tfmq.model.unet;

import dev.tfmq.model.io.FormatException;
import dev.tfmq.model.nn.BufferPool;
import dev.tfmq.model.nn.Conv2d;
import dev.tfmq.model.nn.Module;
import dev.tfmq.model.nn.ModuleKind;
import dev.tfmq.model.nn.Ops;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.util.List;

/** Nearest-neighbour ×2 upsampling followed by a 3×3 convolution. */
public final class Upsample2D extends Module {
    final Conv2d conv;
    private final BufferPool pool;

    Upsample2D(String path, Weights w, int channels, long outSize, BufferPool pool) throws FormatException {
        super(path, ModuleKind.UPSAMPLE);
        this.pool = pool;
        conv = new Conv2d(path + ".conv", w.take(path + ".conv.weight", channels, channels, 3, 3),
                w.take(path + ".conv.bias", channels), 1, 1, outSize, outSize);
    }

    List<Module> children() { return List.of(conv); }

    public void forward(INDArray x, INDArray out) {
        before(x);
        INDArray up = pool.get(path() + ":nearest", x.size(0), x.size(1), 2 * x.size(2), 2 * x.size(3));
        Ops.upsampleNearest2x(x, up);
        conv.forward(up, out);
        after(out);
    }

    /** Channels-last: x [B, H, W, C] → out [B, 2H, 2W, C]. */
    public void forwardChannelsLast(INDArray x, INDArray out) {
        before(x);
        INDArray up = pool.get(path() + ":nearestNhwc", x.size(0), 2 * x.size(1), 2 * x.size(2), x.size(3));
        Ops.upsampleNearest2x(x, up, true);
        conv.forwardChannelsLast(up, out);
        after(out);
    }

    @Override
    public long macsPerImage() { return conv.macsPerImage(); }
}
