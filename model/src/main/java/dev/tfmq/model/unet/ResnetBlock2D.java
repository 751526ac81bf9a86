package dev.tfmq.model.unet;

import dev.tfmq.model.io.FormatException;
import dev.tfmq.model.nn.BufferPool;
import dev.tfmq.model.nn.Conv2d;
import dev.tfmq.model.nn.GroupNorm;
import dev.tfmq.model.nn.Linear;
import dev.tfmq.model.nn.Module;
import dev.tfmq.model.nn.ModuleKind;
import dev.tfmq.model.nn.Ops;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.indexing.NDArrayIndex;

import java.util.List;

/**
 * diffusers ResnetBlock2D: norm1 → SiLU → conv1 → (+ time_emb_proj(SiLU(temb)) | scale-shift after norm2)
 * → norm2 → SiLU → conv2, plus the (1×1 conv) shortcut, divided by the output scale factor.
 */
public final class ResnetBlock2D extends Module {
    final GroupNorm norm1;
    final Conv2d conv1;
    final Linear timeEmbProj;
    final GroupNorm norm2;
    final Conv2d conv2;
    final Conv2d convShortcut;
    private final boolean scaleShift;
    private final double outputScale;
    private final long outChannels;
    private final BufferPool pool;

    ResnetBlock2D(String path, Weights w, int in, int out, int temb, int groups, double eps, boolean scaleShift,
                  double outputScale, long size, BufferPool pool) throws FormatException {
        super(path, ModuleKind.RESNET);
        this.pool = pool;
        this.scaleShift = scaleShift;
        this.outputScale = outputScale;
        this.outChannels = out;
        norm1 = new GroupNorm(path + ".norm1", w.take(path + ".norm1.weight", in), w.take(path + ".norm1.bias", in),
                groups, eps, pool);
        conv1 = new Conv2d(path + ".conv1", w.take(path + ".conv1.weight", out, in, 3, 3), w.take(path + ".conv1.bias", out),
                1, 1, size, size);
        int projOut = scaleShift ? 2 * out : out;
        timeEmbProj = new Linear(path + ".time_emb_proj", w.take(path + ".time_emb_proj.weight", projOut, temb),
                w.take(path + ".time_emb_proj.bias", projOut), 1);
        norm2 = new GroupNorm(path + ".norm2", w.take(path + ".norm2.weight", out), w.take(path + ".norm2.bias", out),
                groups, eps, pool);
        conv2 = new Conv2d(path + ".conv2", w.take(path + ".conv2.weight", out, out, 3, 3), w.take(path + ".conv2.bias", out),
                1, 1, size, size);
        convShortcut = in != out
                ? new Conv2d(path + ".conv_shortcut", w.take(path + ".conv_shortcut.weight", out, in, 1, 1),
                w.take(path + ".conv_shortcut.bias", out), 1, 0, size, size)
                : null;
    }

    /** Registration order of diffusers' ResnetBlock2D. */
    List<Module> children() {
        return convShortcut == null ? List.of(norm1, conv1, timeEmbProj, norm2, conv2)
                : List.of(norm1, conv1, timeEmbProj, norm2, conv2, convShortcut);
    }

    public Linear timeEmbProj() { return timeEmbProj; }

    public long outChannels() { return outChannels; }

    /**
     * @param x        input [B, in, H, W] (left untouched)
     * @param temporal this block's temporal feature, time_emb_proj(SiLU(temb)), [B, out] or [B, 2·out]
     * @param out      destination [B, out, H, W]
     */
    public void forward(INDArray x, INDArray temporal, INDArray out) {
        before(x);
        long b = x.size(0);
        long h = x.size(2);
        long wd = x.size(3);
        INDArray t1 = pool.get(path() + ":norm1", x.shape());
        norm1.forward(x, t1, true);
        INDArray h1 = pool.get(path() + ":conv1", b, outChannels, h, wd);
        conv1.forward(t1, h1);
        INDArray rows = h1.reshape('c', b * outChannels, h * wd);
        if (!scaleShift) {
            rows.addiColumnVector(temporal.reshape('c', b * outChannels, 1));
            norm2.forward(h1, h1, true);
        } else {
            norm2.forward(h1, h1, false);
            INDArray[] ss = scaleAndShift(temporal, b);
            rows.muliColumnVector(ss[0].reshape('c', b * outChannels, 1));
            rows.addiColumnVector(ss[1].reshape('c', b * outChannels, 1));
            Ops.silu(h1, h1);
        }
        conv2.forward(h1, out);
        if (convShortcut != null) {
            INDArray sc = pool.get(path() + ":shortcut", b, outChannels, h, wd);
            convShortcut.forward(x, sc);
            out.addi(sc);
        } else {
            out.addi(x);
        }
        finish(out);
    }

    /**
     * The same block on channels-last tensors (x [B, H, W, in], out [B, H, W, out]; float32 with the fused
     * kernels). The time conditioning folds into norm2's kernel: the added projection (default) or the scale and
     * shift (scale_shift) are per-(image, channel) terms of the normalisation.
     */
    public void forwardChannelsLast(INDArray x, INDArray temporal, INDArray out) {
        before(x);
        long b = x.size(0);
        long h = x.size(1);
        long wd = x.size(2);
        INDArray t1 = pool.get(path() + ":norm1", x.shape());
        norm1.forwardChannelsLast(x, t1, true, null, null, null);
        INDArray h1 = pool.get(path() + ":conv1", b, h, wd, outChannels);
        conv1.forwardChannelsLast(t1, h1);
        if (!scaleShift) {
            norm2.forwardChannelsLast(h1, h1, true, temporal, null, null);
        } else {
            INDArray[] ss = scaleAndShift(temporal, b);
            norm2.forwardChannelsLast(h1, h1, true, null, ss[0], ss[1]);
        }
        conv2.forwardChannelsLast(h1, out);
        if (convShortcut != null) {
            INDArray sc = pool.get(path() + ":shortcut", b, h, wd, outChannels);
            convShortcut.forwardChannelsLast(x, sc);
            out.addi(sc);
        } else {
            out.addi(x);
        }
        finish(out);
    }

    /** Scale-shift conditioning: pooled [B, out] copies of 1 + scale and of shift from the [B, 2·out] feature. */
    private INDArray[] scaleAndShift(INDArray temporal, long b) {
        INDArray scale = pool.get(path() + ":scale", b, outChannels);
        INDArray shift = pool.get(path() + ":shift", b, outChannels);
        scale.assign(temporal.get(NDArrayIndex.all(), NDArrayIndex.interval(0, outChannels))).addi(1.0);
        shift.assign(temporal.get(NDArrayIndex.all(), NDArrayIndex.interval(outChannels, 2 * outChannels)));
        return new INDArray[] {scale, shift};
    }

    /** Output scale factor, then the hook. */
    private void finish(INDArray out) {
        if (outputScale != 1.0) out.divi(outputScale);
        after(out);
    }

    @Override
    public long macsPerImage() {
        long m = conv1.macsPerImage() + conv2.macsPerImage() + timeEmbProj.macsPerImage();
        return convShortcut == null ? m : m + convShortcut.macsPerImage();
    }
}
