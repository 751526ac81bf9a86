package dev.tfmq.strategies.recon;

import dev.tfmq.strategies.quant.ActivationSite;
import dev.tfmq.strategies.quant.FloatAccess;
import dev.tfmq.strategies.quant.QuantGrid;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * An activation quantizer with a learnable step size (Q-Diffusion's activation reconstruction, LSQ-style):
 * x̂ = Δ·(clip(⌊x/Δ⌉ + z, 0, 2^b − 1) − z) with z fixed at its calibrated value. Gradients use the
 * straight-through estimator: ∂x̂/∂x = 1 inside the grid's range and 0 where it clips; ∂x̂/∂Δ = (q − z) − x/Δ
 * inside and (q − z) at a clipped value.
 */
final class StepSizeQuantizer {
    private final ActivationSite site;
    private final int bits;
    private final int zero;
    final double[] delta = new double[1];
    final double[] grad = new double[1];
    private INDArray x;
    private INDArray y;

    StepSizeQuantizer(ActivationSite site) {
        QuantGrid g = site.table().shared();
        if (g == null) {
            throw new IllegalStateException("step-size reconstruction needs one calibrated grid at '" + site.key()
                    + "' (it learns Q-Diffusion's single, time-step-independent parameters)");
        }
        this.site = site;
        this.bits = g.bits();
        this.zero = g.zeroPoint(0);
        this.delta[0] = g.scale(0);
    }

    ActivationSite site() { return site; }

    /**
     * x̂ for x. float32 runs on heap copies with buffers reused across iterations: the attention probabilities
     * this quantizer sees are tens of MB per batch, and fresh buffers every iteration cost more in first-touch
     * page faults than the arithmetic. The arithmetic (double, one rounding to float) is the same on both paths.
     */
    INDArray forward(INDArray in) {
        if (in.dataType() == DataType.FLOAT) return forwardFloat(in);
        x = in.dup('c');
        INDArray y = x.dup('c');
        FloatAccess f = FloatAccess.of(y);
        double d = delta[0];
        int max = (1 << bits) - 1;
        for (long i = 0, n = f.length(); i < n; i++) {
            double q = Math.rint(f.get(i) / d) + zero;
            f.set(i, d * (Math.max(0, Math.min(max, q)) - zero));
        }
        this.y = y;
        return y;
    }

    private INDArray forwardFloat(INDArray in) {
        int n = Math.toIntExact(in.length());
        xs = grow(xs, n);
        ys = grow(ys, n);
        heapOf(in, xs);
        double d = delta[0];
        int max = (1 << bits) - 1;
        float[] xa = xs;
        float[] ya = ys;
        // element-wise, so splitting the range over threads leaves every value as it was
        int total = n;
        int chunks = (n + (1 << 16) - 1) >> 16;
        java.util.stream.IntStream range = java.util.stream.IntStream.range(0, chunks);
        (chunks > 4 ? range.parallel() : range).forEach(c -> {
            int end = Math.min(total, (c + 1) << 16);
            for (int i = c << 16; i < end; i++) {
                double q = Math.rint(xa[i] / d) + zero;
                ya[i] = (float) (d * (Math.max(0, Math.min(max, q)) - zero));
            }
        });
        xLength = n;
        if (yFloat == null || !java.util.Arrays.equals(yFloat.shape(), in.shape())) {
            yFloat = Nd4j.create(DataType.FLOAT, in.shape());
        }
        floatsOf(yFloat).put(ys, 0, n);
        this.x = null;
        this.y = yFloat;
        return yFloat;
    }

    /** The output of the last forward pass. */
    INDArray forwardCachedOutput() { return y; }

    /** dL/dx for dL/dx̂, accumulating dL/dΔ. */
    INDArray backward(INDArray dy) {
        if (x == null) return backwardFloat(dy);
        INDArray dx = Nd4j.create(x.dataType(), x.shape());
        FloatAccess xs = FloatAccess.of(x);
        FloatAccess g = FloatAccess.of(dy.dup('c'));
        FloatAccess o = FloatAccess.of(dx);
        double d = delta[0];
        int max = (1 << bits) - 1;
        double acc = 0;
        for (long i = 0, n = xs.length(); i < n; i++) {
            double v = xs.get(i) / d;
            double q = Math.rint(v) + zero;
            double gi = g.get(i);
            if (q < 0) {
                acc += gi * (0 - zero);
            } else if (q > max) {
                acc += gi * (max - zero);
            } else {
                acc += gi * (q - zero - v);
                o.set(i, gi);
            }
        }
        grad[0] += acc;
        return dx;
    }

    private INDArray backwardFloat(INDArray dy) {
        int n = xLength;
        if (dy.length() != n) throw new IllegalArgumentException("gradient of " + dy.length() + " for " + n + " inputs");
        gs = grow(gs, n);
        ds = grow(ds, n);
        heapOf(dy.dataType() == DataType.FLOAT ? dy : dy.castTo(DataType.FLOAT), gs);
        double d = delta[0];
        int max = (1 << bits) - 1;
        double acc = 0;
        for (int i = 0; i < n; i++) {
            double v = xs[i] / d;
            double q = Math.rint(v) + zero;
            double gi = gs[i];
            if (q < 0) {
                acc += gi * (0 - zero);
                ds[i] = 0f;
            } else if (q > max) {
                acc += gi * (max - zero);
                ds[i] = 0f;
            } else {
                acc += gi * (q - zero - v);
                ds[i] = gs[i];
            }
        }
        grad[0] += acc;
        if (dxFloat == null || !java.util.Arrays.equals(dxFloat.shape(), dy.shape())) {
            dxFloat = Nd4j.create(DataType.FLOAT, dy.shape());
        }
        floatsOf(dxFloat).put(ds, 0, n);
        return dxFloat;
    }

    private static float[] grow(float[] a, int n) {
        return a != null && a.length >= n ? a : new float[n];
    }

    private static void heapOf(INDArray a, float[] dst) {
        INDArray c = FloatAccess.isContiguousC(a) ? a : a.dup('c');
        floatsOf(c).get(dst, 0, Math.toIntExact(c.length()));
    }

    private static java.nio.FloatBuffer floatsOf(INDArray a) {
        java.nio.FloatBuffer f = a.data().asNio().order(java.nio.ByteOrder.nativeOrder()).asFloatBuffer();
        f.position(Math.toIntExact(a.offset()));
        return f.slice();
    }

    private float[] xs;
    private float[] ys;
    private float[] gs;
    private float[] ds;
    private int xLength;
    private INDArray yFloat;
    private INDArray dxFloat;

    /** Writes the learned step into the site's shared grid. */
    void commit() { site.table().setShared(QuantGrid.perTensor(bits, delta[0], zero)); }
}
