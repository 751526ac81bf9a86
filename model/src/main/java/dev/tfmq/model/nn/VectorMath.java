package dev.tfmq.model.nn;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

import java.nio.FloatBuffer;
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
     * stay in a per-thread scratch that fits in L1/L2. Head dimensions are taken eight at a time with the eight
     * query (or output) vectors in named locals: the JIT keeps locals in registers, whereas an array of vectors
     * is boxed and every access would go through memory.
     */
    static void attention(float[] q, float[] k, float[] v, float[] o, int b, int heads, int d, int t, float scale) {
        int lanes = F.length();
        int blocks = (t + lanes - 1) / lanes;
        IntStream.range(0, b * heads * blocks).parallel().forEach(task -> {
            int bh = task / blocks;
            int i0 = (task % blocks) * lanes;
            int base = bh * d * t;
            float[] s = SCRATCH.get();
            if (s.length < t * lanes) {
                s = new float[t * lanes];
                SCRATCH.set(s);
            }
            queryBlock(q, k, v, o, base, base, base, base, d, t, i0, scale, s);
        });
    }

    /**
     * One block of queries [i0, i0 + lanes) of one head: q, k, v and o rows of head dimension m start at
     * {@code xBase + m·t}; scores and then probabilities live in s[0, t·lanes).
     */
    private static void queryBlock(float[] q, float[] k, float[] v, float[] o, int qBase, int kBase, int vBase,
                                   int oBase, int d, int t, int i0, float scale, float[] s) {
        int lanes = F.length();
        var mask = F.indexInRange(i0, t);
        int dd = 0;
        for (; dd + 8 <= d; dd += 8) scores8(q, qBase, k, kBase, s, dd, t, i0, mask, scale, dd == 0);
        for (; dd < d; dd++) scores1(q, qBase, k, kBase, s, dd, t, i0, mask, scale, dd == 0);
        FloatVector max = FloatVector.broadcast(F, Float.NEGATIVE_INFINITY);
        for (int j = 0; j < t; j++) max = max.max(FloatVector.fromArray(F, s, j * lanes));
        FloatVector sum = FloatVector.zero(F);
        for (int j = 0; j < t; j++) {
            FloatVector p = exp(FloatVector.fromArray(F, s, j * lanes).sub(max));
            p.intoArray(s, j * lanes);
            sum = sum.add(p);
        }
        FloatVector inv = FloatVector.broadcast(F, 1f).div(sum);
        dd = 0;
        for (; dd + 8 <= d; dd += 8) output8(v, vBase, o, oBase, s, dd, t, i0, mask, inv);
        for (; dd < d; dd++) output1(v, vBase, o, oBase, s, dd, t, i0, mask, inv);
    }

    /** s[j] (+)= Σ over head dims dd..dd+7 of scale·q[m, block] · k[m, j]. */
    private static void scores8(float[] q, int qBase, float[] k, int kBase, float[] s, int dd, int t, int i0,
                                VectorMask<Float> mask, float scale, boolean first) {
        int lanes = F.length();
        int qr = qBase + dd * t + i0;
        int r = kBase + dd * t;
        FloatVector q0 = FloatVector.fromArray(F, q, qr, mask).mul(scale);
        FloatVector q1 = FloatVector.fromArray(F, q, qr + t, mask).mul(scale);
        FloatVector q2 = FloatVector.fromArray(F, q, qr + 2 * t, mask).mul(scale);
        FloatVector q3 = FloatVector.fromArray(F, q, qr + 3 * t, mask).mul(scale);
        FloatVector q4 = FloatVector.fromArray(F, q, qr + 4 * t, mask).mul(scale);
        FloatVector q5 = FloatVector.fromArray(F, q, qr + 5 * t, mask).mul(scale);
        FloatVector q6 = FloatVector.fromArray(F, q, qr + 6 * t, mask).mul(scale);
        FloatVector q7 = FloatVector.fromArray(F, q, qr + 7 * t, mask).mul(scale);
        // four keys per iteration: each key's sum is a chain of eight dependent FMAs, and four independent chains
        // keep both FMA units busy instead of waiting out the FMA latency
        int j = 0;
        for (; j + 4 <= t; j += 4) {
            int kj = r + j;
            FloatVector s0 = first ? FloatVector.zero(F) : FloatVector.fromArray(F, s, j * lanes);
            FloatVector s1 = first ? FloatVector.zero(F) : FloatVector.fromArray(F, s, (j + 1) * lanes);
            FloatVector s2 = first ? FloatVector.zero(F) : FloatVector.fromArray(F, s, (j + 2) * lanes);
            FloatVector s3 = first ? FloatVector.zero(F) : FloatVector.fromArray(F, s, (j + 3) * lanes);
            s0 = q0.fma(FloatVector.broadcast(F, k[kj]), s0);
            s1 = q0.fma(FloatVector.broadcast(F, k[kj + 1]), s1);
            s2 = q0.fma(FloatVector.broadcast(F, k[kj + 2]), s2);
            s3 = q0.fma(FloatVector.broadcast(F, k[kj + 3]), s3);
            kj += t;
            s0 = q1.fma(FloatVector.broadcast(F, k[kj]), s0);
            s1 = q1.fma(FloatVector.broadcast(F, k[kj + 1]), s1);
            s2 = q1.fma(FloatVector.broadcast(F, k[kj + 2]), s2);
            s3 = q1.fma(FloatVector.broadcast(F, k[kj + 3]), s3);
            kj += t;
            s0 = q2.fma(FloatVector.broadcast(F, k[kj]), s0);
            s1 = q2.fma(FloatVector.broadcast(F, k[kj + 1]), s1);
            s2 = q2.fma(FloatVector.broadcast(F, k[kj + 2]), s2);
            s3 = q2.fma(FloatVector.broadcast(F, k[kj + 3]), s3);
            kj += t;
            s0 = q3.fma(FloatVector.broadcast(F, k[kj]), s0);
            s1 = q3.fma(FloatVector.broadcast(F, k[kj + 1]), s1);
            s2 = q3.fma(FloatVector.broadcast(F, k[kj + 2]), s2);
            s3 = q3.fma(FloatVector.broadcast(F, k[kj + 3]), s3);
            kj += t;
            s0 = q4.fma(FloatVector.broadcast(F, k[kj]), s0);
            s1 = q4.fma(FloatVector.broadcast(F, k[kj + 1]), s1);
            s2 = q4.fma(FloatVector.broadcast(F, k[kj + 2]), s2);
            s3 = q4.fma(FloatVector.broadcast(F, k[kj + 3]), s3);
            kj += t;
            s0 = q5.fma(FloatVector.broadcast(F, k[kj]), s0);
            s1 = q5.fma(FloatVector.broadcast(F, k[kj + 1]), s1);
            s2 = q5.fma(FloatVector.broadcast(F, k[kj + 2]), s2);
            s3 = q5.fma(FloatVector.broadcast(F, k[kj + 3]), s3);
            kj += t;
            s0 = q6.fma(FloatVector.broadcast(F, k[kj]), s0);
            s1 = q6.fma(FloatVector.broadcast(F, k[kj + 1]), s1);
            s2 = q6.fma(FloatVector.broadcast(F, k[kj + 2]), s2);
            s3 = q6.fma(FloatVector.broadcast(F, k[kj + 3]), s3);
            kj += t;
            s0 = q7.fma(FloatVector.broadcast(F, k[kj]), s0);
            s1 = q7.fma(FloatVector.broadcast(F, k[kj + 1]), s1);
            s2 = q7.fma(FloatVector.broadcast(F, k[kj + 2]), s2);
            s3 = q7.fma(FloatVector.broadcast(F, k[kj + 3]), s3);
            s0.intoArray(s, j * lanes);
            s1.intoArray(s, (j + 1) * lanes);
            s2.intoArray(s, (j + 2) * lanes);
            s3.intoArray(s, (j + 3) * lanes);
        }
        for (; j < t; j++) {
            int kj = r + j;
            FloatVector acc = first ? FloatVector.zero(F) : FloatVector.fromArray(F, s, j * lanes);
            acc = q0.fma(FloatVector.broadcast(F, k[kj]), acc);
            acc = q1.fma(FloatVector.broadcast(F, k[kj + t]), acc);
            acc = q2.fma(FloatVector.broadcast(F, k[kj + 2 * t]), acc);
            acc = q3.fma(FloatVector.broadcast(F, k[kj + 3 * t]), acc);
            acc = q4.fma(FloatVector.broadcast(F, k[kj + 4 * t]), acc);
            acc = q5.fma(FloatVector.broadcast(F, k[kj + 5 * t]), acc);
            acc = q6.fma(FloatVector.broadcast(F, k[kj + 6 * t]), acc);
            acc = q7.fma(FloatVector.broadcast(F, k[kj + 7 * t]), acc);
            acc.intoArray(s, j * lanes);
        }
    }

    private static void scores1(float[] q, int qBase, float[] k, int kBase, float[] s, int dd, int t, int i0,
                                VectorMask<Float> mask, float scale, boolean first) {
        int lanes = F.length();
        int r = kBase + dd * t;
        FloatVector q0 = FloatVector.fromArray(F, q, qBase + dd * t + i0, mask).mul(scale);
        for (int j = 0; j < t; j++) {
            FloatVector acc = first ? FloatVector.zero(F) : FloatVector.fromArray(F, s, j * lanes);
            q0.fma(FloatVector.broadcast(F, k[r + j]), acc).intoArray(s, j * lanes);
        }
    }

    /** o[m, block] = inv · Σ_j p[j] · v[m, j] for head dims dd..dd+7. */
    private static void output8(float[] v, int vBase, float[] o, int oBase, float[] s, int dd, int t, int i0,
                                VectorMask<Float> mask, FloatVector inv) {
        int lanes = F.length();
        int r = vBase + dd * t;
        int or = oBase + dd * t + i0;
        FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
        for (int j = 0; j < t; j++) {
            FloatVector p = FloatVector.fromArray(F, s, j * lanes);
            int vj = r + j;
            a0 = p.fma(FloatVector.broadcast(F, v[vj]), a0);
            a1 = p.fma(FloatVector.broadcast(F, v[vj + t]), a1);
            a2 = p.fma(FloatVector.broadcast(F, v[vj + 2 * t]), a2);
            a3 = p.fma(FloatVector.broadcast(F, v[vj + 3 * t]), a3);
            a4 = p.fma(FloatVector.broadcast(F, v[vj + 4 * t]), a4);
            a5 = p.fma(FloatVector.broadcast(F, v[vj + 5 * t]), a5);
            a6 = p.fma(FloatVector.broadcast(F, v[vj + 6 * t]), a6);
            a7 = p.fma(FloatVector.broadcast(F, v[vj + 7 * t]), a7);
        }
        a0.mul(inv).intoArray(o, or, mask);
        a1.mul(inv).intoArray(o, or + t, mask);
        a2.mul(inv).intoArray(o, or + 2 * t, mask);
        a3.mul(inv).intoArray(o, or + 3 * t, mask);
        a4.mul(inv).intoArray(o, or + 4 * t, mask);
        a5.mul(inv).intoArray(o, or + 5 * t, mask);
        a6.mul(inv).intoArray(o, or + 6 * t, mask);
        a7.mul(inv).intoArray(o, or + 7 * t, mask);
    }

    private static void output1(float[] v, int vBase, float[] o, int oBase, float[] s, int dd, int t, int i0,
                                VectorMask<Float> mask, FloatVector inv) {
        int lanes = F.length();
        int r = vBase + dd * t;
        FloatVector a0 = FloatVector.zero(F);
        for (int j = 0; j < t; j++) a0 = FloatVector.fromArray(F, s, j * lanes).fma(FloatVector.broadcast(F, v[r + j]), a0);
        a0.mul(inv).intoArray(o, oBase + dd * t + i0, mask);
    }

    /**
     * A linear layer over channel-first feature maps: y[n, o, :] = Σ_i w[o, i] · x[n, i, :] + bias[o], for x
     * [b, cin, t] and y [b, cout, t]. Register-blocked: four output rows × two vectors of positions (eight
     * accumulators) per inner loop, so each loaded x vector feeds four FMAs. ND4J's batched matmul runs these
     * [64 × 64]·[64 × 196] products at ~11 GFLOP/s on this machine.
     */
    static void channelLinear(float[] w, float[] bias, float[] x, float[] y, int b, int cout, int cin, int t) {
        int rowBlocks = (cout + 3) / 4;
        IntStream.range(0, b * rowBlocks).parallel().forEach(task -> {
            int n = task / rowBlocks;
            int o0 = (task % rowBlocks) * 4;
            int xb = n * cin * t;
            int yb = n * cout * t;
            if (o0 + 4 <= cout) {
                linearRows4(w, bias, x, y, xb, yb, o0, cin, t);
            } else {
                for (int o = o0; o < cout; o++) linearRow1(w, bias, x, y, xb, yb, o, cin, t);
            }
        });
    }

    private static void linearRows4(float[] w, float[] bias, float[] x, float[] y, int xb, int yb, int o0, int cin, int t) {
        int lanes = F.length();
        int w0 = o0 * cin;
        int w1 = w0 + cin;
        int w2 = w1 + cin;
        int w3 = w2 + cin;
        float b0 = bias == null ? 0f : bias[o0];
        float b1 = bias == null ? 0f : bias[o0 + 1];
        float b2 = bias == null ? 0f : bias[o0 + 2];
        float b3 = bias == null ? 0f : bias[o0 + 3];
        int j = 0;
        for (; j + 2 * lanes <= t; j += 2 * lanes) {
            FloatVector a00 = FloatVector.broadcast(F, b0), a01 = a00;
            FloatVector a10 = FloatVector.broadcast(F, b1), a11 = a10;
            FloatVector a20 = FloatVector.broadcast(F, b2), a21 = a20;
            FloatVector a30 = FloatVector.broadcast(F, b3), a31 = a30;
            for (int i = 0; i < cin; i++) {
                int xi = xb + i * t + j;
                FloatVector x0 = FloatVector.fromArray(F, x, xi);
                FloatVector x1 = FloatVector.fromArray(F, x, xi + lanes);
                FloatVector c0 = FloatVector.broadcast(F, w[w0 + i]);
                FloatVector c1 = FloatVector.broadcast(F, w[w1 + i]);
                FloatVector c2 = FloatVector.broadcast(F, w[w2 + i]);
                FloatVector c3 = FloatVector.broadcast(F, w[w3 + i]);
                a00 = x0.fma(c0, a00);
                a01 = x1.fma(c0, a01);
                a10 = x0.fma(c1, a10);
                a11 = x1.fma(c1, a11);
                a20 = x0.fma(c2, a20);
                a21 = x1.fma(c2, a21);
                a30 = x0.fma(c3, a30);
                a31 = x1.fma(c3, a31);
            }
            int yo = yb + o0 * t + j;
            a00.intoArray(y, yo);
            a01.intoArray(y, yo + lanes);
            a10.intoArray(y, yo + t);
            a11.intoArray(y, yo + t + lanes);
            a20.intoArray(y, yo + 2 * t);
            a21.intoArray(y, yo + 2 * t + lanes);
            a30.intoArray(y, yo + 3 * t);
            a31.intoArray(y, yo + 3 * t + lanes);
        }
        for (; j + lanes <= t; j += lanes) {
            FloatVector a0 = FloatVector.broadcast(F, b0);
            FloatVector a1 = FloatVector.broadcast(F, b1);
            FloatVector a2 = FloatVector.broadcast(F, b2);
            FloatVector a3 = FloatVector.broadcast(F, b3);
            for (int i = 0; i < cin; i++) {
                FloatVector x0 = FloatVector.fromArray(F, x, xb + i * t + j);
                a0 = x0.fma(FloatVector.broadcast(F, w[w0 + i]), a0);
                a1 = x0.fma(FloatVector.broadcast(F, w[w1 + i]), a1);
                a2 = x0.fma(FloatVector.broadcast(F, w[w2 + i]), a2);
                a3 = x0.fma(FloatVector.broadcast(F, w[w3 + i]), a3);
            }
            int yo = yb + o0 * t + j;
            a0.intoArray(y, yo);
            a1.intoArray(y, yo + t);
            a2.intoArray(y, yo + 2 * t);
            a3.intoArray(y, yo + 3 * t);
        }
        for (; j < t; j++) {
            for (int r = 0; r < 4; r++) {
                int wr = w0 + r * cin;
                float acc = bias == null ? 0f : bias[o0 + r];
                for (int i = 0; i < cin; i++) acc = Math.fma(x[xb + i * t + j], w[wr + i], acc);
                y[yb + (o0 + r) * t + j] = acc;
            }
        }
    }

    private static void linearRow1(float[] w, float[] bias, float[] x, float[] y, int xb, int yb, int o, int cin, int t) {
        int lanes = F.length();
        int wr = o * cin;
        float bo = bias == null ? 0f : bias[o];
        int j = 0;
        for (; j + lanes <= t; j += lanes) {
            FloatVector a = FloatVector.broadcast(F, bo);
            for (int i = 0; i < cin; i++) a = FloatVector.fromArray(F, x, xb + i * t + j).fma(FloatVector.broadcast(F, w[wr + i]), a);
            a.intoArray(y, yb + o * t + j);
        }
        for (; j < t; j++) {
            float acc = bo;
            for (int i = 0; i < cin; i++) acc = Math.fma(x[xb + i * t + j], w[wr + i], acc);
            y[yb + o * t + j] = acc;
        }
    }

    /**
     * GroupNorm over channels-last x [b, hw, c] into y, with two optional per-(image, channel) terms of the
     * ResnetBlock folded in: {@code pre} [b, c] is added to x before the statistics (the time-embedding projection),
     * and {@code postScale}/{@code postShift} [b, c] transform the normalised value (scale-shift conditioning:
     * y = norm(x)·(1 + scale) + shift, with 1 + scale passed in). Statistics per (image, group) in two passes
     * (mean, then centred squares), accumulated per channel along the rows and flushed to double every 64 rows.
     * Parallel over images.
     */
    static void groupNormChannelsLast(float[] x, float[] y, int b, int hw, int c, int groups, float[] gamma,
                                      float[] beta, double eps, boolean silu, float[] pre, float[] postScale,
                                      float[] postShift) {
        groupNormChannelsLast(FloatBuffer.wrap(x), FloatBuffer.wrap(y), b, hw, c, groups, gamma, beta, eps, silu, pre,
                postScale, postShift);
    }

    /**
     * As above on buffers (ND4J's native memory; {@code x} and {@code y} may be the same): each task copies one
     * image into a per-thread heap array, where its three passes stay in cache, and writes the result back.
     */
    static void groupNormChannelsLast(FloatBuffer xb, FloatBuffer yb, int b, int hw, int c, int groups, float[] gamma,
                                      float[] beta, double eps, boolean silu, float[] pre, float[] postScale,
                                      float[] postShift) {
        int cpg = c / groups;
        IntStream.range(0, b).parallel().forEach(n -> {
            float[] acc = ROW_SCRATCH.get();
            if (acc.length < 3 * c) {
                acc = new float[3 * c];
                ROW_SCRATCH.set(acc);
            }
            float[] x = IMAGE_SCRATCH.get();
            if (x.length < hw * c) {
                x = new float[hw * c];
                IMAGE_SCRATCH.set(x);
            }
            xb.get(n * hw * c, x, 0, hw * c);
            float[] y = x;
            double[] total = new double[c];
            int base = 0;
            int preAt = n * c;
            // pass 1: per-channel sums
            channelSums(x, base, hw, c, pre, preAt, null, acc, total);
            double[] mean = new double[groups];
            float[] meanC = new float[c];
            for (int g = 0; g < groups; g++) {
                double s = 0;
                for (int k = 0; k < cpg; k++) s += total[g * cpg + k];
                mean[g] = s / ((double) hw * cpg);
                for (int k = 0; k < cpg; k++) meanC[g * cpg + k] = (float) mean[g];
            }
            // pass 2: per-channel centred squares around the group mean
            java.util.Arrays.fill(total, 0);
            channelSums(x, base, hw, c, pre, preAt, meanC, acc, total);
            float[] scale = new float[c];
            float[] shift = new float[c];
            for (int g = 0; g < groups; g++) {
                double s = 0;
                for (int k = 0; k < cpg; k++) s += total[g * cpg + k];
                double inv = 1.0 / Math.sqrt(s / ((double) hw * cpg) + eps);
                for (int k = 0; k < cpg; k++) {
                    int ch = g * cpg + k;
                    double sc = gamma[ch] * inv;
                    double sh = beta[ch] - mean[g] * sc;
                    if (pre != null) sh += pre[preAt + ch] * sc; // normalise x + pre: fold pre into the shift
                    if (postScale != null) {
                        sc *= postScale[preAt + ch];
                        sh = sh * postScale[preAt + ch] + postShift[preAt + ch];
                    }
                    scale[ch] = (float) sc;
                    shift[ch] = (float) sh;
                }
            }
            // pass 3: y = x·scale + shift (+ SiLU), row by row
            int lanes = F.length();
            int bound = F.loopBound(c);
            for (int p = 0; p < hw; p++) {
                int row = base + p * c;
                int i = 0;
                for (; i < bound; i += lanes) {
                    FloatVector v = FloatVector.fromArray(F, x, row + i)
                            .fma(FloatVector.fromArray(F, scale, i), FloatVector.fromArray(F, shift, i));
                    if (silu) v = v.div(exp(v.neg()).add(1f));
                    v.intoArray(y, row + i);
                }
                for (; i < c; i++) {
                    float v = x[row + i] * scale[i] + shift[i];
                    y[row + i] = silu ? v / (exp(-v) + 1f) : v;
                }
            }
            yb.put(n * hw * c, y, 0, hw * c);
        });
    }

    /**
     * Per-channel sums over the rows of one image: of x + pre when {@code centre} is null, else of
     * (x + pre − centre)². Float partial sums per 64 rows, then double.
     */
    private static void channelSums(float[] x, int base, int hw, int c, float[] pre, int preAt, float[] centre,
                                    float[] acc, double[] total) {
        int lanes = F.length();
        int bound = F.loopBound(c);
        for (int p0 = 0; p0 < hw; p0 += 64) {
            java.util.Arrays.fill(acc, 0, c, 0f);
            int p1 = Math.min(hw, p0 + 64);
            for (int p = p0; p < p1; p++) {
                int row = base + p * c;
                int i = 0;
                for (; i < bound; i += lanes) {
                    FloatVector v = FloatVector.fromArray(F, x, row + i);
                    if (pre != null) v = v.add(FloatVector.fromArray(F, pre, preAt + i));
                    if (centre != null) {
                        v = v.sub(FloatVector.fromArray(F, centre, i));
                        v = v.mul(v);
                    }
                    v.add(FloatVector.fromArray(F, acc, i)).intoArray(acc, i);
                }
                for (; i < c; i++) {
                    float v = x[row + i];
                    if (pre != null) v += pre[preAt + i];
                    if (centre != null) {
                        v -= centre[i];
                        v *= v;
                    }
                    acc[i] += v;
                }
            }
            for (int i = 0; i < c; i++) total[i] += acc[i];
        }
    }

    /**
     * The attention core over token-major q, k, v (channels-last feature maps): token j of image n has its q at
     * {@code q[qOff + (n·t + j)·stride ...]} (likewise k and v; stride = heads·d for separate tensors, 3·heads·d for
     * one packed q|k|v tensor), plus the optional per-channel biases; o is [b, t, heads·d]. Per (image, head) the
     * head's columns are gathered (bias added) into channel-first [d, t] scratch, the query-block kernel of
     * {@link #attention} runs on them, and the output columns are scattered back.
     */
    static void attentionTokens(float[] q, int qOff, float[] k, int kOff, float[] v, int vOff, int stride,
                                float[] bq, float[] bk, float[] bv, float[] o, int b, int heads, int d, int t,
                                float scale) {
        attentionTokens(FloatBuffer.wrap(q), qOff, FloatBuffer.wrap(k), kOff, FloatBuffer.wrap(v), vOff, stride, bq, bk,
                bv, FloatBuffer.wrap(o), b, heads, d, t, scale);
    }

    /**
     * As above on buffers (ND4J's native memory). A task takes one image: its token rows are bulk-copied into a
     * per-thread heap slab (one copy when q, k and v are one packed buffer), every head is gathered from there
     * into channel-first scratch and computed, and the image's output rows go back in one bulk copy. With fewer
     * images than twice the cores, an image's heads are split over several tasks, each writing only its columns.
     */
    static void attentionTokens(FloatBuffer q, int qOff, FloatBuffer k, int kOff, FloatBuffer v, int vOff, int stride,
                                float[] bq, float[] bk, float[] bv, FloatBuffer o, int b, int heads, int d, int t,
                                float scale) {
        int lanes = F.length();
        int blocks = (t + lanes - 1) / lanes;
        int c = heads * d;
        boolean packed = q == k && k == v;
        float[] zero = new float[c];
        float[] biasQ = bq == null ? zero : bq;
        float[] biasK = bk == null ? zero : bk;
        float[] biasV = bv == null ? zero : bv;
        int cores = java.util.concurrent.ForkJoinPool.getCommonPoolParallelism() + 1;
        int split = Math.min(heads, Math.max(1, (2 * cores + b - 1) / b));
        int perTask = (heads + split - 1) / split;
        IntStream.range(0, b * split).parallel().forEach(task -> {
            int n = task / split;
            int h0 = (task % split) * perTask;
            int h1 = Math.min(heads, h0 + perTask);
            int slabLength = t * stride;
            float[] in = SLAB_SCRATCH.get();
            int need = (packed ? 1 : 3) * slabLength + t * c;
            if (in.length < need) {
                in = new float[need];
                SLAB_SCRATCH.set(in);
            }
            int from = n * slabLength;
            int qs = qOff;
            int ks = kOff;
            int vs = vOff;
            if (packed) {
                q.get(from, in, 0, slabLength);
            } else {
                q.get(from + qOff, in, 0, slabLength - qOff);
                k.get(from + kOff, in, slabLength, slabLength - kOff);
                v.get(from + vOff, in, 2 * slabLength, slabLength - vOff);
                qs = 0;
                ks = slabLength;
                vs = 2 * slabLength;
            }
            int outAt = (packed ? 1 : 3) * slabLength;
            float[] s = SCRATCH.get();
            int scratch = t * lanes + 4 * d * t;
            if (s.length < scratch) {
                s = new float[scratch];
                SCRATCH.set(s);
            }
            int qAt = t * lanes;
            int kAt = qAt + d * t;
            int vAt = kAt + d * t;
            int oAt = vAt + d * t;
            for (int h = h0; h < h1; h++) {
                int hd = h * d;
                for (int j = 0; j < t; j++) {
                    int at = j * stride + hd;
                    for (int dd = 0; dd < d; dd++) {
                        s[qAt + dd * t + j] = in[qs + at + dd] + biasQ[hd + dd];
                        s[kAt + dd * t + j] = in[ks + at + dd] + biasK[hd + dd];
                        s[vAt + dd * t + j] = in[vs + at + dd] + biasV[hd + dd];
                    }
                }
                for (int blk = 0; blk < blocks; blk++) {
                    queryBlock(s, s, s, s, qAt, kAt, vAt, oAt, d, t, blk * lanes, scale, s);
                }
                for (int j = 0; j < t; j++) {
                    int at = outAt + j * c + hd;
                    for (int dd = 0; dd < d; dd++) in[at + dd] = s[oAt + dd * t + j];
                }
            }
            if (split == 1) {
                o.put(n * t * c, in, outAt, t * c);
            } else {
                for (int j = 0; j < t; j++) {
                    o.put(n * t * c + j * c + h0 * d, in, outAt + j * c + h0 * d, (h1 - h0) * d);
                }
            }
        });
    }

    private static final ThreadLocal<float[]> SLAB_SCRATCH = ThreadLocal.withInitial(() -> new float[0]);
    private static final ThreadLocal<float[]> IMAGE_SCRATCH = ThreadLocal.withInitial(() -> new float[0]);
    private static final ThreadLocal<float[]> ROW_SCRATCH = ThreadLocal.withInitial(() -> new float[0]);
    private static final ThreadLocal<float[]> SCRATCH = ThreadLocal.withInitial(() -> new float[0]);
}
