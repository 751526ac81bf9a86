package dev.tfmq.model.nn;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
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

    // exp(x) = 2^n · e^r with n = round(x / ln 2), r = x − n·ln 2 ∈ [−ln2/2, ln2/2], e^r by a degree-6 polynomial
    // (relative error < 2e-7). Built from IEEE basic operations only, so the interpreter and every JIT tier give
    // bit-identical results; the Vector API's own EXP may switch from per-lane Math.exp to an SVML stub once
    // compiled, which would make runs (and resumed or distributed runs) differ in the last bits.
    private static final float LOG2E = 1.44269504088896341f;
    private static final float LN2_HI = 0.693359375f;
    private static final float LN2_LO = -2.12194440e-4f;
    private static final float ROUND = 12582912f; // 1.5 · 2^23: adding and subtracting it rounds to an integer
    private static final int ROUND_BITS = 0x4B400000; // bit pattern of ROUND
    private static final float C2 = 0.5f;
    private static final float C3 = 1.6666666e-1f;
    private static final float C4 = 4.1666405e-2f;
    private static final float C5 = 8.3333699e-3f;
    private static final float C6 = 1.3930436e-3f;
    private static final float C7 = 1.9842604e-4f;

    static FloatVector exp(FloatVector x) {
        x = x.max(-87.3f).min(88.0f);
        // t = ROUND + n exactly, so t's low mantissa bits hold n: 2^n comes from t's bits without a conversion
        FloatVector t = x.mul(LOG2E).add(ROUND);
        FloatVector n = t.sub(ROUND);
        FloatVector r = n.fma(FloatVector.broadcast(F, -LN2_HI), x);
        r = n.fma(FloatVector.broadcast(F, -LN2_LO), r);
        FloatVector p = r.fma(C7, C6);
        p = p.fma(r, FloatVector.broadcast(F, C5));
        p = p.fma(r, FloatVector.broadcast(F, C4));
        p = p.fma(r, FloatVector.broadcast(F, C3));
        p = p.fma(r, FloatVector.broadcast(F, C2));
        p = p.fma(r, FloatVector.broadcast(F, 1f));
        p = p.fma(r, FloatVector.broadcast(F, 1f));
        IntVector bits = ((IntVector) t.reinterpretAsInts()).sub(ROUND_BITS - 127).lanewise(VectorOperators.LSHL, 23);
        return p.mul(bits.reinterpretAsFloats());
    }

    /** The same function lane by lane (same operations, same rounding) for loop tails. */
    static float exp(float x) {
        x = Math.min(Math.max(x, -87.3f), 88.0f);
        float t = x * LOG2E + ROUND;
        float n = t - ROUND;
        float r = Math.fma(n, -LN2_HI, x);
        r = Math.fma(n, -LN2_LO, r);
        float p = Math.fma(r, C7, C6);
        p = Math.fma(p, r, C5);
        p = Math.fma(p, r, C4);
        p = Math.fma(p, r, C3);
        p = Math.fma(p, r, C2);
        p = Math.fma(p, r, 1f);
        p = Math.fma(p, r, 1f);
        return p * Float.intBitsToFloat((Float.floatToRawIntBits(t) - (ROUND_BITS - 127)) << 23);
    }

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
            if (silu) v = v.div(exp(v.neg()).add(1f));
            v.intoArray(y, from + i);
        }
        for (; i < n; i++) {
            float v = x[from + i] * s + sh;
            y[from + i] = silu ? v / (exp(-v) + 1f) : v;
        }
    }

    /**
     * Multi-head attention core, channel-first: q, k, v, o are [b, heads·d, t]; for each image and head,
     * o[:, i] = Σ_j softmax_j(scale · q[:, i]·k[:, j]) v[:, j].
     *
     * <p>Vectorised over a block of queries (one SIMD lane per query): in the channel-first layout a row of q or o
     * holds consecutive queries, so scores, the running max, exp, the normaliser and the output accumulate
     * lane-wise with scalar broadcasts of k and v — no horizontal reductions. The block's scores ([t] vectors)
     * stay in a per-thread scratch that fits in L1/L2.
     */
    static void attention(float[] q, float[] k, float[] v, float[] o, int b, int heads, int d, int t, float scale) {
        int lanes = F.length();
        int blocks = (t + lanes - 1) / lanes;
        IntStream.range(0, b * heads * blocks).parallel().forEach(task -> {
            int bh = task / blocks;
            int i0 = (task % blocks) * lanes;
            int base = bh * d * t;
            float[] s = SCRATCH.get();
            if (s.length < (t + d) * lanes) {
                s = new float[(t + d) * lanes];
                SCRATCH.set(s);
            }
            var mask = F.indexInRange(i0, t);
            // queries of this block, pre-scaled: qs[dd] lanes = scale * q[dd][i0 .. i0+lanes)
            FloatVector[] qs = new FloatVector[d];
            for (int dd = 0; dd < d; dd++) {
                qs[dd] = FloatVector.fromArray(F, q, base + dd * t + i0, mask).mul(scale);
            }
            FloatVector max = FloatVector.broadcast(F, Float.NEGATIVE_INFINITY);
            for (int j = 0; j < t; j++) {
                FloatVector acc = FloatVector.zero(F);
                for (int dd = 0; dd < d; dd++) acc = qs[dd].fma(FloatVector.broadcast(F, k[base + dd * t + j]), acc);
                acc.intoArray(s, j * lanes);
                max = max.max(acc);
            }
            FloatVector sum = FloatVector.zero(F);
            int accBase = t * lanes;
            for (int dd = 0; dd < d; dd++) FloatVector.zero(F).intoArray(s, accBase + dd * lanes);
            for (int j = 0; j < t; j++) {
                FloatVector p = exp(FloatVector.fromArray(F, s, j * lanes).sub(max));
                sum = sum.add(p);
                for (int dd = 0; dd < d; dd++) {
                    int at = accBase + dd * lanes;
                    p.fma(FloatVector.broadcast(F, v[base + dd * t + j]), FloatVector.fromArray(F, s, at)).intoArray(s, at);
                }
            }
            FloatVector inv = FloatVector.broadcast(F, 1f).div(sum);
            for (int dd = 0; dd < d; dd++) {
                FloatVector.fromArray(F, s, accBase + dd * lanes).mul(inv).intoArray(o, base + dd * t + i0, mask);
            }
        });
    }

    private static final ThreadLocal<float[]> SCRATCH = ThreadLocal.withInitial(() -> new float[0]);
}
