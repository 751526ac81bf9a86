package dev.tfmq.strategies.recon;

import dev.tfmq.model.nn.Ops;
import dev.tfmq.strategies.quant.FloatAccess;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.DynamicCustomOp;
import org.nd4j.linalg.factory.Nd4j;

import java.nio.DoubleBuffer;
import java.nio.FloatBuffer;
import java.util.stream.IntStream;

/**
 * Kernels of the reconstruction graphs on channels-last feature maps [B, H, W, C], the forward pass's layout.
 * oneDNN convolves NHWC directly, while every channel-first convolution is reordered to its blocked layout and
 * back; and ND4J's {@code conv2d_bp} runs at a tenth of the forward convolution's rate here. So the backward of a
 * stride-1 convolution is built from fast parts instead: the input gradient is the forward convolution of the
 * output gradient with the spatially flipped, transposed kernel, and the weight gradient is one GEMM of the
 * gathered input patches (im2col) with the output gradient. Only float32 takes that path; float64 (the
 * finite-difference checks) uses {@code conv2d_bp}, which is the reference the fast path is tested against.
 */
public final class ChannelsLast {
    private ChannelsLast() {}

    /** [B, C, H, W] → a new [B, H, W, C]. */
    public static INDArray fromChannelFirst(INDArray x) { return x.permute(0, 2, 3, 1).dup('c'); }

    /** [B, H, W, C] → a new [B, C, H, W]. */
    public static INDArray toChannelFirst(INDArray x) { return x.permute(0, 3, 1, 2).dup('c'); }

    // ---- convolution (stride 1, symmetric padding) ----------------------------------------------------------

    /** PyTorch's [O, I, kh, kw] as oneDNN's [kh, kw, I, O]. */
    public static INDArray hwio(INDArray oihw) { return oihw.permute(2, 3, 1, 0).dup('c'); }

    /** x [B, H, W, I] ∗ w (OIHW) + b → [B, H', W', O]. */
    public static INDArray conv2d(INDArray x, INDArray wOihw, INDArray b, int stride, int pad) {
        long oh = (x.size(1) + 2L * pad - wOihw.size(2)) / stride + 1;
        long ow = (x.size(2) + 2L * pad - wOihw.size(3)) / stride + 1;
        INDArray out = Nd4j.createUninitialized(x.dataType(), x.size(0), oh, ow, wOihw.size(0));
        Ops.conv2dHwio(x, hwio(wOihw), b, stride, pad, out, true);
        return out;
    }

    /**
     * {dx (null unless asked), dW in OIHW, db (null when b is null)} of a convolution. float32 at stride 1 with
     * "same" padding takes the fast path; everything else {@code conv2d_bp} (which always computes dx).
     */
    public static INDArray[] conv2dBackward(INDArray x, INDArray wOihw, INDArray b, int stride, int pad, INDArray dy,
                                            boolean needInput) {
        int k = (int) wOihw.size(2);
        boolean fast = x.dataType() == DataType.FLOAT && stride == 1 && wOihw.size(3) == k && 2 * pad == k - 1;
        if (!fast) return reference(x, wOihw, b, stride, pad, dy);
        INDArray dyc = FloatAccess.isContiguousC(dy) ? dy : dy.dup('c');
        INDArray dx = needInput ? inputGradient(dyc, wOihw, pad) : null;
        INDArray dw = weightGradient(x, dyc, k, pad);
        INDArray db = b == null ? null : dyc.sum(0, 1, 2);
        return new INDArray[] {dx, dw, db};
    }

    /** ND4J's conv2d_bp in NHWC with OIHW weights: {dx, dW, db}. */
    static INDArray[] reference(INDArray x, INDArray wOihw, INDArray b, int stride, int pad, INDArray dy) {
        INDArray w = hwio(wOihw);
        INDArray dx = Nd4j.createUninitialized(x.dataType(), x.shape());
        INDArray dw = Nd4j.createUninitialized(w.dataType(), w.shape());
        INDArray db = b == null ? null : Nd4j.createUninitialized(b.dataType(), b.shape());
        int kh = (int) w.size(0), kw = (int) w.size(1);
        DynamicCustomOp.DynamicCustomOpsBuilder op = DynamicCustomOp.builder("conv2d_bp")
                .addIntegerArguments(kh, kw, stride, stride, pad, pad, 1, 1, 0, 1, 0);
        if (b != null) op.addInputs(x, w, b, dy).addOutputs(dx, dw, db);
        else op.addInputs(x, w, dy).addOutputs(dx, dw);
        Nd4j.exec(op.build());
        return new INDArray[] {dx, dw.permute(3, 2, 0, 1).dup('c'), db};
    }

    /**
     * dx = dy ∗ W' with W'[a, b, o, i] = W[o, i, k−1−a, k−1−b] (the transposed convolution at stride 1, as a forward
     * convolution with the same padding).
     */
    static INDArray inputGradient(INDArray dy, INDArray wOihw, int pad) {
        int o = (int) wOihw.size(0), in = (int) wOihw.size(1), k = (int) wOihw.size(2);
        INDArray wc = FloatAccess.isContiguousC(wOihw) ? wOihw : wOihw.dup('c');
        INDArray flipped = Nd4j.createUninitialized(wc.dataType(), k, k, o, in);
        FloatAccess src = FloatAccess.of(wc), dst = FloatAccess.of(flipped);
        for (int oc = 0; oc < o; oc++) {
            for (int ic = 0; ic < in; ic++) {
                long s = ((long) oc * in + ic) * k * k;
                for (int a = 0; a < k; a++) {
                    for (int bb = 0; bb < k; bb++) {
                        dst.set(((long) (a * k + bb) * o + oc) * in + ic, src.get(s + (long) (k - 1 - a) * k + (k - 1 - bb)));
                    }
                }
            }
        }
        INDArray dx = Nd4j.createUninitialized(dy.dataType(), dy.size(0), dy.size(1), dy.size(2), in);
        Ops.conv2dHwio(dy, flipped, null, 1, pad, dx, true);
        return dx;
    }

    /** dW[o, i, a, b] = Σ x[n, h+a−p, w+b−p, i]·dy[n, h, w, o]: the patches of x (im2col) times dy, one GEMM. */
    static INDArray weightGradient(INDArray x, INDArray dy, int k, int pad) {
        long n = x.size(0), h = x.size(1), w = x.size(2), ci = x.size(3), co = dy.size(3);
        long rows = n * h * w;
        INDArray xc = FloatAccess.isContiguousC(x) ? x : x.dup('c');
        INDArray patches = k == 1 ? xc.reshape('c', rows, ci) : im2col(xc, k, pad);
        INDArray dw = Nd4j.createUninitialized(x.dataType(), (long) k * k * ci, co);
        Nd4j.gemm(patches, dy.reshape('c', rows, co), dw, true, false, 1.0, 0.0);
        return dw.reshape('c', k, k, ci, co).permute(3, 2, 0, 1).dup('c');
    }

    /**
     * Patches [B·H·W, k·k·C] of a float32 NHWC image batch for a stride-1 convolution with padding {@code pad}: for
     * each output pixel and kernel row, the k neighbouring pixels of one input row are contiguous, so each is one
     * bulk copy (zeros where the window leaves the image).
     */
    static INDArray im2col(INDArray x, int k, int pad) {
        int n = (int) x.size(0), h = (int) x.size(1), w = (int) x.size(2), c = (int) x.size(3);
        int rowLen = k * k * c;
        INDArray col = Nd4j.createUninitialized(DataType.FLOAT, (long) n * h * w, rowLen);
        FloatBuffer src = x.data().asNioFloat();
        FloatBuffer dst = col.data().asNioFloat();
        int srcBase = (int) x.offset(), dstBase = (int) col.offset();
        float[] zeros = new float[k * c];
        IntStream.range(0, n * h).parallel().forEach(task -> {
            int img = task / h, i = task % h;
            for (int j = 0; j < w; j++) {
                int d = dstBase + ((task * w) + j) * rowLen;
                for (int a = 0; a < k; a++, d += k * c) {
                    int r = i + a - pad;
                    if (r < 0 || r >= h) {
                        dst.put(d, zeros, 0, k * c);
                        continue;
                    }
                    int c0 = j - pad, c1 = j - pad + k; // columns [c0, c1) of input row r
                    int lo = Math.max(0, c0), hi = Math.min(w, c1);
                    if (lo > c0) dst.put(d, zeros, 0, (lo - c0) * c);
                    dst.put(d + (lo - c0) * c, src, srcBase + ((img * h + r) * w + lo) * c, (hi - lo) * c);
                    if (hi < c1) dst.put(d + (hi - c0) * c, zeros, 0, (c1 - hi) * c);
                }
            }
        });
        return col;
    }

    // ---- broadcast of a per-image channel vector -----------------------------------------------------------

    /** x[n, …, c] op= v[n, c] in place on a C-contiguous [B, H, W, C] (op: add or multiply). */
    static void perImageChannel(INDArray x, INDArray v, boolean multiply) {
        long b = x.size(0), c = x.size(3);
        INDArray x3 = x.reshape('c', b, x.length() / (b * c), c);
        INDArray vc = v.dup('c').reshape('c', b, c);
        for (long i = 0; i < b; i++) {
            INDArray rows = x3.slice(i);
            INDArray row = vc.getRow(i);
            if (multiply) rows.muliRowVector(row);
            else rows.addiRowVector(row);
        }
    }

    /** Σ over H and W: [B, H, W, C] → [B, C]. */
    static INDArray spatialSum(INDArray x) { return x.sum(1, 2); }

    // ---- group norm ----------------------------------------------------------------------------------------

    /** x̂ and 1/σ per (image, group), kept for the backward pass. */
    record Norm(INDArray xhat, double[] invStd, int groups) {}

    /**
     * y = γ·x̂ + β with x̂ normalised over each (image, group) of a [B, H, W, C] map; fills {@code cache}. Each image
     * is staged in a per-thread double array: both passes and the backward's stay in cache, and float64 inputs get
     * the same code.
     */
    static INDArray groupNorm(INDArray x, INDArray gamma, INDArray beta, int groups, double eps, Norm[] cache) {
        int b = (int) x.size(0), c = (int) x.size(3);
        int hw = (int) (x.length() / ((long) b * c));
        int cpg = c / groups;
        INDArray xc = FloatAccess.isContiguousC(x) ? x : x.dup('c');
        INDArray xhat = Nd4j.createUninitialized(x.dataType(), x.shape());
        INDArray y = Nd4j.createUninitialized(x.dataType(), x.shape());
        double[] g = FloatAccess.toDoubles(gamma), be = FloatAccess.toDoubles(beta);
        double[] inv = new double[b * groups];
        Images io = new Images(xc, xhat, y);
        IntStream.range(0, b).parallel().forEach(n -> {
            double[] v = Images.scratch(hw * c, 0);
            io.read(0, n, v);
            double[] sum = new double[groups], sq = new double[groups], mean = new double[c];
            for (int p = 0, at = 0; p < hw; p++) for (int ch = 0; ch < c; ch++) sum[ch / cpg] += v[at++];
            for (int ch = 0; ch < c; ch++) mean[ch] = sum[ch / cpg] / ((double) hw * cpg);
            for (int p = 0, at = 0; p < hw; p++) {
                for (int ch = 0; ch < c; ch++, at++) {
                    double d = v[at] - mean[ch];
                    sq[ch / cpg] += d * d;
                }
            }
            double[] is = new double[c];
            for (int gi = 0; gi < groups; gi++) {
                inv[n * groups + gi] = 1.0 / Math.sqrt(sq[gi] / ((double) hw * cpg) + eps);
            }
            for (int ch = 0; ch < c; ch++) is[ch] = inv[n * groups + ch / cpg];
            double[] out = Images.scratch(hw * c, 1);
            for (int p = 0, at = 0; p < hw; p++) {
                for (int ch = 0; ch < c; ch++, at++) {
                    double xh = (v[at] - mean[ch]) * is[ch];
                    v[at] = xh;
                    out[at] = g[ch] * xh + be[ch];
                }
            }
            io.write(1, n, v);
            io.write(2, n, out);
        });
        cache[0] = new Norm(xhat, inv, groups);
        return y;
    }

    /** dx of the group norm for dy (γ fixed: its gradient is not needed). */
    static INDArray groupNormBackward(Norm cache, INDArray gamma, INDArray dy) {
        INDArray xh = cache.xhat();
        int b = (int) xh.size(0), c = (int) xh.size(3), groups = cache.groups();
        int hw = (int) (xh.length() / ((long) b * c));
        int cpg = c / groups;
        INDArray dyc = FloatAccess.isContiguousC(dy) ? dy : dy.dup('c');
        INDArray dx = Nd4j.createUninitialized(xh.dataType(), xh.shape());
        double[] g = FloatAccess.toDoubles(gamma);
        Images io = new Images(xh, dyc, dx);
        IntStream.range(0, b).parallel().forEach(n -> {
            double[] x = Images.scratch(hw * c, 0), d = Images.scratch(hw * c, 1);
            io.read(0, n, x);
            io.read(1, n, d);
            double[] m1 = new double[groups], m2 = new double[groups];
            for (int p = 0, at = 0; p < hw; p++) {
                for (int ch = 0; ch < c; ch++, at++) {
                    double dxh = d[at] * g[ch];
                    d[at] = dxh;
                    m1[ch / cpg] += dxh;
                    m2[ch / cpg] += dxh * x[at];
                }
            }
            double m = (double) hw * cpg;
            for (int gi = 0; gi < groups; gi++) {
                m1[gi] /= m;
                m2[gi] /= m;
            }
            for (int p = 0, at = 0; p < hw; p++) {
                for (int ch = 0; ch < c; ch++, at++) {
                    int gi = ch / cpg;
                    d[at] = (d[at] - m1[gi] - x[at] * m2[gi]) * cache.invStd()[n * groups + gi];
                }
            }
            io.write(2, n, d);
        });
        return dx;
    }

    /** Whole images of up to three same-shaped C-contiguous float32/float64 arrays, copied to and from doubles. */
    private static final class Images {
        private static final ThreadLocal<double[][]> SCRATCH = ThreadLocal.withInitial(() -> new double[2][0]);
        private static final ThreadLocal<float[]> FLOATS = ThreadLocal.withInitial(() -> new float[0]);
        private final INDArray[] arrays;
        private final int per;

        Images(INDArray... arrays) {
            this.arrays = arrays;
            this.per = (int) (arrays[0].length() / arrays[0].size(0));
        }

        static double[] scratch(int n, int slot) {
            double[][] s = SCRATCH.get();
            if (s[slot].length < n) s[slot] = new double[n];
            return s[slot];
        }

        private static float[] floats(int n) {
            float[] f = FLOATS.get();
            if (f.length < n) {
                f = new float[n];
                FLOATS.set(f);
            }
            return f;
        }

        void read(int which, int image, double[] dst) {
            INDArray a = arrays[which];
            int at = (int) a.offset() + image * per;
            if (a.dataType() == DataType.DOUBLE) {
                a.data().asNioDouble().get(at, dst, 0, per);
                return;
            }
            float[] f = floats(per);
            a.data().asNioFloat().get(at, f, 0, per);
            for (int i = 0; i < per; i++) dst[i] = f[i];
        }

        void write(int which, int image, double[] src) {
            INDArray a = arrays[which];
            int at = (int) a.offset() + image * per;
            if (a.dataType() == DataType.DOUBLE) {
                DoubleBuffer d = a.data().asNioDouble();
                d.put(at, src, 0, per);
                return;
            }
            float[] f = floats(per);
            for (int i = 0; i < per; i++) f[i] = (float) src[i];
            a.data().asNioFloat().put(at, f, 0, per);
        }
    }
}
