package dev.tfmq.model.nn;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

import java.util.stream.IntStream;

/**
 * Fused float32 kernels on heap arrays with the JDK Vector API (AVX-512 here). They replace chains of ND4J ops
 * whose transcendental functions are scalar and whose small matrix products (attention heads of width 8) run far
 * below the machine's peak: group norm + SiLU in two passes instead of five, and attention as one streaming
 * kernel per head that never materialises the [T, T] probability matrix in memory.
 *
 * <p>Only {@link FusedKernels} touches this class, after checking that the incubator module is present.
 */
final class VectorMath {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;

    private VectorMath() {}

    /**
     * GroupNorm (+ optional SiLU) over x [b, c, hw] (c-order) into y. Statistics per (sample, group) in two passes
     * (mean, then centred sum of squares) to avoid E[x²] − E[x]² cancellation.
     */
    static void groupNorm(float[] x, float[] y, int b, int c, int hw, int groups, float[] gamma, float[] beta,
                          double eps, boolean silu) {
        int cpg = c / groups;
        int span = cpg * hw;
        IntStream.range(0, b * groups).parallel().forEach(bg -> {
            int base = bg * span;
            double mean = sum(x, base, span) / span;
            double var = centredSquares(x, base, span, (float) mean) / span;
            double inv = 1.0 / Math.sqrt(var + eps);
            int g = bg % groups;
            for (int k = 0; k < cpg; k++) {
                int ch = g * cpg + k;
                float s = (float) (gamma[ch] * inv);
                float sh = (float) (beta[ch] - mean * gamma[ch] * inv);
                affine(x, y, base + k * hw, hw, s, sh, silu);
            }
        });
    }

    private static double sum(float[] x, int from, int n) {
        FloatVector acc = FloatVector.zero(F);
        int i = 0;
        int bound = F.loopBound(n);
        double total = 0;
        for (; i < bound; i += F.length()) {
            acc = acc.add(FloatVector.fromArray(F, x, from + i));
            // flush to double every 4096 elements so long rows keep float32 partial sums short
            if ((i & 4095) == 4096 - F.length()) {
                total += acc.reduceLanes(VectorOperators.ADD);
                acc = FloatVector.zero(F);
            }
        }
        total += acc.reduceLanes(VectorOperators.ADD);
        for (; i < n; i++) total += x[from + i];
        return total;
    }

    private static double centredSquares(float[] x, int from, int n, float mean) {
        FloatVector acc = FloatVector.zero(F);
        FloatVector m = FloatVector.broadcast(F, mean);
        int i = 0;
        int bound = F.loopBound(n);
        double total = 0;
        for (; i < bound; i += F.length()) {
            FloatVector d = FloatVector.fromArray(F, x, from + i).sub(m);
            acc = d.fma(d, acc);
            if ((i & 4095) == 4096 - F.length()) {
                total += acc.reduceLanes(VectorOperators.ADD);
                acc = FloatVector.zero(F);
            }
        }
        total += acc.reduceLanes(VectorOperators.ADD);
        for (; i < n; i++) {
            double d = x[from + i] - mean;
            total += d * d;
        }
        return total;
    }

    private static void affine(float[] x, float[] y, int from, int n, float s, float sh, boolean silu) {
        FloatVector vs = FloatVector.broadcast(F, s);
        FloatVector vsh = FloatVector.broadcast(F, sh);
        int i = 0;
        int bound = F.loopBound(n);
        for (; i < bound; i += F.length()) {
            FloatVector v = FloatVector.fromArray(F, x, from + i).fma(vs, vsh);
            if (silu) v = v.div(v.neg().lanewise(VectorOperators.EXP).add(1f));
            v.intoArray(y, from + i);
        }
        for (; i < n; i++) {
            float v = x[from + i] * s + sh;
            y[from + i] = silu ? (float) (v / (1.0 + Math.exp(-v))) : v;
        }
    }

    /**
     * Multi-head attention core, channel-first: q, k, v, o are [b, heads·d, t]; for each image and head,
     * o[:, i] = Σ_j softmax_j(scale · q[:, i]·k[:, j]) v[:, j]. Each query row's scores live in a per-thread
     * scratch of t floats.
     */
    static void attention(float[] q, float[] k, float[] v, float[] o, int b, int heads, int d, int t, float scale) {
        int padded = (t + F.length() - 1) / F.length() * F.length();
        IntStream.range(0, b * heads).parallel().forEach(bh -> {
            float[] s = SCRATCH.get();
            if (s.length < padded) {
                s = new float[padded];
                SCRATCH.set(s);
            }
            float[] qi = new float[d];
            int base = bh * d * t;
            int bound = F.loopBound(t);
            for (int i = 0; i < t; i++) {
                for (int dd = 0; dd < d; dd++) qi[dd] = q[base + dd * t + i] * scale;
                // scores s[j] = q_i · k_j, vectorised over keys j
                int j = 0;
                FloatVector vmax = FloatVector.broadcast(F, Float.NEGATIVE_INFINITY);
                for (; j < bound; j += F.length()) {
                    FloatVector acc = FloatVector.zero(F);
                    for (int dd = 0; dd < d; dd++) {
                        acc = FloatVector.fromArray(F, k, base + dd * t + j).fma(FloatVector.broadcast(F, qi[dd]), acc);
                    }
                    acc.intoArray(s, j);
                    vmax = vmax.max(acc);
                }
                float max = vmax.reduceLanes(VectorOperators.MAX);
                for (; j < t; j++) {
                    float acc = 0;
                    for (int dd = 0; dd < d; dd++) acc += qi[dd] * k[base + dd * t + j];
                    s[j] = acc;
                    max = Math.max(max, acc);
                }
                // exp(s - max) and its sum
                FloatVector vm = FloatVector.broadcast(F, max);
                FloatVector vsum = FloatVector.zero(F);
                j = 0;
                for (; j < bound; j += F.length()) {
                    FloatVector e = FloatVector.fromArray(F, s, j).sub(vm).lanewise(VectorOperators.EXP);
                    e.intoArray(s, j);
                    vsum = vsum.add(e);
                }
                float sum = vsum.reduceLanes(VectorOperators.ADD);
                for (; j < t; j++) {
                    s[j] = (float) Math.exp(s[j] - max);
                    sum += s[j];
                }
                float invSum = 1f / sum;
                // o[:, i] = Σ_j p_j v[:, j]
                for (int dd = 0; dd < d; dd++) {
                    int row = base + dd * t;
                    FloatVector acc = FloatVector.zero(F);
                    j = 0;
                    for (; j < bound; j += F.length()) {
                        acc = FloatVector.fromArray(F, v, row + j).fma(FloatVector.fromArray(F, s, j), acc);
                    }
                    float r = acc.reduceLanes(VectorOperators.ADD);
                    for (; j < t; j++) r += v[row + j] * s[j];
                    o[row + i] = r * invSum;
                }
            }
        });
    }

    private static final ThreadLocal<float[]> SCRATCH = ThreadLocal.withInitial(() -> new float[0]);
}
