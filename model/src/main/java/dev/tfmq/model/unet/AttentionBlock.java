package dev.tfmq.model.unet;

import dev.tfmq.model.io.FormatException;
import dev.tfmq.model.nn.BufferPool;
import dev.tfmq.model.nn.FusedKernels;
import dev.tfmq.model.nn.GroupNorm;
import dev.tfmq.model.nn.Linear;
import dev.tfmq.model.nn.Module;
import dev.tfmq.model.nn.ModuleHook;
import dev.tfmq.model.nn.ModuleKind;
import dev.tfmq.model.nn.Ops;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

import java.util.ArrayList;
import java.util.List;

/**
 * diffusers' spatial self-attention (the converted deprecated attention block): optional group norm, q/k/v
 * projections over channels, softmax(q·kᵀ/√d)·v per head, output projection, residual, rescale.
 *
 * <p>Computed channel-first: a head's q, k and v are contiguous [d, H·W] slices of the [B, C, H·W] buffers,
 * so all heads of a chunk of images run as one batched matrix product without any transposition.
 * Images are processed in chunks so that the score matrices stay within a fixed budget (32 MiB).
 */
public final class AttentionBlock extends Module {
    static long scoreBudgetBytes = 32L << 20;

    final GroupNorm groupNorm;
    final Linear toQ;
    final Linear toK;
    final Linear toV;
    final Linear toOut;
    private final int heads;
    private final int headDim;
    private final double rescale;
    private final long channels;
    private final BufferPool pool;
    private ModuleHook probsHook;
    private final FusedKernels.Staging staging = new FusedKernels.Staging();

    AttentionBlock(String path, Weights w, int channels, Integer attentionHeadDim, Integer groups, double eps,
                   double rescale, long size, BufferPool pool) throws FormatException {
        super(path, ModuleKind.ATTENTION);
        this.channels = channels;
        this.pool = pool;
        this.rescale = rescale;
        this.headDim = attentionHeadDim == null ? channels : attentionHeadDim;
        this.heads = channels / headDim;
        long tokens = size * size;
        groupNorm = groups == null ? null : new GroupNorm(path + ".group_norm", w.take(path + ".group_norm.weight", channels),
                w.take(path + ".group_norm.bias", channels), groups, eps, pool);
        toQ = linear(path + ".to_q", w, channels, tokens);
        toK = linear(path + ".to_k", w, channels, tokens);
        toV = linear(path + ".to_v", w, channels, tokens);
        toOut = linear(path + ".to_out.0", w, channels, tokens);
    }

    private static Linear linear(String p, Weights w, int c, long tokens) throws FormatException {
        return new Linear(p, w.take(p + ".weight", c, c), w.take(p + ".bias", c), tokens);
    }

    List<Module> children() {
        List<Module> l = new ArrayList<>();
        if (groupNorm != null) l.add(groupNorm);
        l.addAll(List.of(toQ, toK, toV, toOut));
        return l;
    }

    public int heads() { return heads; }

    public int headDim() { return headDim; }

    public boolean hasGroupNorm() { return groupNorm != null; }

    public Linear toQ() { return toQ; }

    public Linear toK() { return toK; }

    public Linear toV() { return toV; }

    public Linear toOut() { return toOut; }

    /**
     * Hook on the softmax output (the attention probabilities, [n, T, T] for a chunk of n·heads rows), called
     * with path {@code <this path>.softmax}; quantizers use it to quantize the probabilities before they meet v.
     */
    public void setProbsHook(ModuleHook hook) { this.probsHook = hook; }

    public void forward(INDArray x, INDArray out) {
        before(x);
        long b = x.size(0);
        long t = x.size(2) * x.size(3);
        INDArray x3 = x.reshape('c', b, channels, t);
        INDArray normed = pool.get(path() + ":normed", b, channels, t);
        if (groupNorm != null) groupNorm.forward(x3, normed, false);
        else normed.assign(x3);
        INDArray q = pool.get(path() + ":q", b, channels, t);
        INDArray k = pool.get(path() + ":k", b, channels, t);
        INDArray v = pool.get(path() + ":v", b, channels, t);
        toQ.forwardChannels(normed, q);
        toK.forwardChannels(normed, k);
        toV.forwardChannels(normed, v);
        INDArray attn = pool.get(path() + ":attn", b, channels, t);
        double scale = 1.0 / Math.sqrt(headDim);
        if (probsHook == null && FusedKernels.enabled() && q.dataType() == DataType.FLOAT) {
            // streaming kernel: the probabilities never exist as a tensor, so it only serves unhooked passes
            FusedKernels.attention(staging, q, k, v, attn, heads, headDim, (float) scale);
        } else {
            core(q, k, v, attn, b, t, scale);
        }
        toOut.forwardChannels(attn, out.reshape('c', b, channels, t));
        out.addi(x);
        if (rescale != 1.0) out.divi(rescale);
        after(out);
    }

    /**
     * The same block on a channels-last x [B, H, W, C] (float32 with the fused kernels): the feature map is
     * already token-major [B·T, C], so the projections are plain matrix products over all tokens of the batch.
     * Hooks on the projections see [B·T, C] tensors; a probabilities hook gets the same [n, T, T] scores as in
     * the channel-first layout (q, k, v are transposed for that path).
     */
    public void forwardChannelsLast(INDArray x, INDArray out) {
        before(x);
        long b = x.size(0);
        long t = x.size(1) * x.size(2);
        INDArray x3 = x.reshape('c', b, t, channels);
        INDArray normed = pool.get(path() + ":normedT", b * t, channels);
        if (groupNorm != null) groupNorm.forwardChannelsLast(x3, normed.reshape('c', b, t, channels), false, null, null, null);
        else normed.reshape('c', b, t, channels).assign(x3);
        INDArray attn = pool.get(path() + ":attnT", b * t, channels);
        double scale = 1.0 / Math.sqrt(headDim);
        if (probsHook == null && toQ.hook() == null && toK.hook() == null && toV.hook() == null) {
            // nobody looks at q, k or v: one matrix product for all three, biases added inside the kernel
            INDArray qkv = pool.get(path() + ":qkvT", b * t, 3 * channels);
            Nd4j.gemm(normed, packedQkv(), qkv, false, true, 1.0, 0.0);
            FusedKernels.attentionPacked(qkv.reshape('c', b, t, 3 * channels), packedBiases[0],
                    packedBiases[1], packedBiases[2], attn.reshape('c', b, t, channels), heads, headDim, (float) scale);
            finishChannelsLast(x, attn, out, b, t);
            return;
        }
        INDArray q = pool.get(path() + ":qT", b * t, channels);
        INDArray k = pool.get(path() + ":kT", b * t, channels);
        INDArray v = pool.get(path() + ":vT", b * t, channels);
        toQ.forwardRows(normed, q);
        toK.forwardRows(normed, k);
        toV.forwardRows(normed, v);
        if (probsHook == null) {
            FusedKernels.attentionTokens(q.reshape('c', b, t, channels), k.reshape('c', b, t, channels),
                    v.reshape('c', b, t, channels), attn.reshape('c', b, t, channels), heads, headDim, (float) scale);
        } else {
            INDArray qc = pool.get(path() + ":q", b, channels, t);
            INDArray kc = pool.get(path() + ":k", b, channels, t);
            INDArray vc = pool.get(path() + ":v", b, channels, t);
            INDArray ac = pool.get(path() + ":attn", b, channels, t);
            qc.assign(q.reshape('c', b, t, channels).permute(0, 2, 1));
            kc.assign(k.reshape('c', b, t, channels).permute(0, 2, 1));
            vc.assign(v.reshape('c', b, t, channels).permute(0, 2, 1));
            core(qc, kc, vc, ac, b, t, scale);
            attn.reshape('c', b, t, channels).assign(ac.permute(0, 2, 1));
        }
        finishChannelsLast(x, attn, out, b, t);
    }

    private void finishChannelsLast(INDArray x, INDArray attn, INDArray out, long b, long t) {
        toOut.forwardRows(attn, out.reshape('c', b * t, channels));
        out.addi(x);
        if (rescale != 1.0) out.divi(rescale);
        after(out);
    }

    /** [3C, C]: the q, k and v weights stacked; rebuilt when any of them is replaced (fake quantization). */
    private INDArray packedQkv() {
        if (packed == null || packedFrom[0] != toQ.weight() || packedFrom[1] != toK.weight()
                || packedFrom[2] != toV.weight() || packedFrom[3] != toQ.bias() || packedFrom[4] != toK.bias()
                || packedFrom[5] != toV.bias()) {
            packed = Nd4j.vstack(toQ.weight(), toK.weight(), toV.weight()).castTo(DataType.FLOAT).dup('c');
            packedBiases = new float[][]{floats(toQ.bias()), floats(toK.bias()), floats(toV.bias())};
            packedFrom = new INDArray[]{toQ.weight(), toK.weight(), toV.weight(), toQ.bias(), toK.bias(), toV.bias()};
        }
        return packed;
    }

    private static float[] floats(INDArray a) {
        return a == null ? null : a.castTo(DataType.FLOAT).dup('c').reshape(a.length()).toFloatVector();
    }

    private INDArray packed;
    private float[][] packedBiases;
    private INDArray[] packedFrom;

    private void core(INDArray q, INDArray k, INDArray v, INDArray attn, long b, long t, double scale) {
        long chunk = Math.max(1, Math.min(b, scoreBudgetBytes / (heads * t * t * pool.dtype().width())));
        for (long s = 0; s < b; s += chunk) {
            long n = Math.min(chunk, b - s);
            INDArray qh = rows(q, s, n, t);
            INDArray kh = rows(k, s, n, t);
            INDArray vh = rows(v, s, n, t);
            INDArray oh = rows(attn, s, n, t);
            INDArray scores = pool.get(path() + ":scores", n * heads, t, t);
            // scores[i] = q_iᵀ k_i / √d  ([T, d]·[d, T])
            Ops.matmul(qh, kh, true, false, scale, scores);
            Ops.softmaxLastDim(scores);
            if (probsHook != null) probsHook.afterForward(path() + ".softmax", scores);
            // o_i = v_i · scores_iᵀ  ([d, T]·[T, T])
            Ops.matmul(vh, scores, false, true, 1.0, oh);
        }
    }

    /** Images [s, s+n) of a [B, C, T] buffer as [n·heads, d, T] (a view: the range is contiguous). */
    private INDArray rows(INDArray a, long s, long n, long t) {
        INDArray part = a.get(NDArrayIndex.interval(s, s + n), NDArrayIndex.all(), NDArrayIndex.all());
        return part.reshape('c', n * heads, headDim, t);
    }

    @Override
    public long macsPerImage() {
        long t = toQ.macsPerImage() / (channels * channels);
        return 4 * toQ.macsPerImage() + 2 * t * t * channels;
    }
}
