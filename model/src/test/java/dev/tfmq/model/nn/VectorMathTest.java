package dev.tfmq.model.nn;

import jdk.incubator.vector.FloatVector;
import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.*;

class VectorMathTest {
    @Test
    void expIsAccurateAndIdenticalInVectorAndScalarForm() {
        int lanes = FloatVector.SPECIES_PREFERRED.length();
        float[] x = new float[4096];
        SplittableRandom r = new SplittableRandom(7);
        for (int i = 0; i < x.length; i++) x[i] = (float) r.nextDouble(-80, 80);
        x[0] = 0f;
        x[1] = -1e-8f;
        x[2] = -87f;
        x[3] = 88f;
        x[4] = 95f;
        float[] y = new float[x.length];
        for (int i = 0; i < x.length; i += lanes) {
            VectorMath.exp(FloatVector.fromArray(FloatVector.SPECIES_PREFERRED, x, i)).intoArray(y, i);
        }
        double worst = 0;
        for (int i = 0; i < x.length; i++) {
            assertEquals(Float.floatToIntBits(VectorMath.exp(x[i])), Float.floatToIntBits(y[i]), "lane " + i + " x=" + x[i]);
            if (x[i] <= 88f) { // beyond, the input is clamped so that the result stays finite
                double rel = Math.abs(y[i] - Math.exp(x[i])) / Math.exp(x[i]);
                worst = Math.max(worst, rel);
            }
        }
        assertTrue(worst < 3e-7, "max relative error " + worst);
        assertEquals(1f, VectorMath.exp(0f));
        assertTrue(VectorMath.exp(-1000f) >= 0f && VectorMath.exp(-1000f) < 1e-37f);
        assertFalse(Float.isInfinite(VectorMath.exp(1000f)));
    }

    @Test
    void attentionKernelMatchesADirectComputation() {
        // t not a multiple of the vector width: the masked tail; d = 3 runs only the one-dimension path
        attentionMatchesDirectComputation(2, 2, 3, 21);
        // d = 8 and 16: the eight-dimension register blocks; d = 13: a block plus single dimensions; t = 37: the
        // four-key unrolled loop plus its remainder
        attentionMatchesDirectComputation(1, 2, 8, 37);
        attentionMatchesDirectComputation(2, 1, 16, 49);
        attentionMatchesDirectComputation(1, 2, 13, 6);
    }

    private static void attentionMatchesDirectComputation(int b, int heads, int d, int t) {
        SplittableRandom r = new SplittableRandom(3);
        float[] q = new float[b * heads * d * t];
        float[] k = new float[q.length];
        float[] v = new float[q.length];
        for (int i = 0; i < q.length; i++) {
            q[i] = (float) r.nextGaussian();
            k[i] = (float) r.nextGaussian();
            v[i] = (float) r.nextGaussian();
        }
        float[] o = new float[q.length];
        float scale = 0.7f;
        VectorMath.attention(q, k, v, o, b, heads, d, t, scale);
        for (int bh = 0; bh < b * heads; bh++) {
            int base = bh * d * t;
            for (int i = 0; i < t; i++) {
                double[] p = new double[t];
                double max = Double.NEGATIVE_INFINITY;
                for (int j = 0; j < t; j++) {
                    double s = 0;
                    for (int dd = 0; dd < d; dd++) s += q[base + dd * t + i] * k[base + dd * t + j];
                    p[j] = s * scale;
                    max = Math.max(max, p[j]);
                }
                double sum = 0;
                for (int j = 0; j < t; j++) {
                    p[j] = Math.exp(p[j] - max);
                    sum += p[j];
                }
                for (int dd = 0; dd < d; dd++) {
                    double e = 0;
                    for (int j = 0; j < t; j++) e += p[j] * v[base + dd * t + j];
                    assertEquals(e / sum, o[base + dd * t + i], 2e-6,
                            "d=" + d + " t=" + t + " bh " + bh + " i " + i + " d " + dd);
                }
            }
        }
    }

    @Test
    void channelLinearMatchesADirectComputation() {
        // cout = 7: one four-row block plus single rows; t = 45: two-vector, one-vector and scalar position tails
        for (int[] c : new int[][]{{2, 7, 5, 45}, {1, 8, 3, 3}, {3, 4, 16, 64}}) {
            int b = c[0], cout = c[1], cin = c[2], t = c[3];
            SplittableRandom r = new SplittableRandom(11);
            float[] w = new float[cout * cin];
            float[] bias = new float[cout];
            float[] x = new float[b * cin * t];
            for (int i = 0; i < w.length; i++) w[i] = (float) r.nextGaussian();
            for (int i = 0; i < bias.length; i++) bias[i] = (float) r.nextGaussian();
            for (int i = 0; i < x.length; i++) x[i] = (float) r.nextGaussian();
            float[] y = new float[b * cout * t];
            float[] yNoBias = new float[y.length];
            VectorMath.channelLinear(w, bias, x, y, b, cout, cin, t);
            VectorMath.channelLinear(w, null, x, yNoBias, b, cout, cin, t);
            for (int n = 0; n < b; n++) {
                for (int o = 0; o < cout; o++) {
                    for (int j = 0; j < t; j++) {
                        double e = 0;
                        for (int i = 0; i < cin; i++) e += (double) w[o * cin + i] * x[(n * cin + i) * t + j];
                        int at = (n * cout + o) * t + j;
                        String where = "b=" + n + " o=" + o + " j=" + j + " of " + java.util.Arrays.toString(c);
                        assertEquals(e + bias[o], y[at], 1e-5, where);
                        assertEquals(e, yNoBias[at], 1e-5, where);
                    }
                }
            }
        }
    }

    @Test
    void groupNormMatchesTwoPassDefinition() {
        int b = 2, c = 6, hw = 35, groups = 3;
        SplittableRandom r = new SplittableRandom(5);
        float[] x = new float[b * c * hw];
        for (int i = 0; i < x.length; i++) x[i] = (float) (3 + 2 * r.nextGaussian());
        float[] gamma = {1f, 0.5f, -1f, 2f, 1f, 0.1f};
        float[] beta = {0f, 1f, 0.2f, -0.3f, 0f, 5f};
        float[] y = new float[x.length];
        VectorMath.groupNorm(x, y, b, c, hw, groups, gamma, beta, 1e-5, true);
        int cpg = c / groups;
        for (int n = 0; n < b; n++) {
            for (int g = 0; g < groups; g++) {
                double mean = 0;
                double sq = 0;
                int from = (n * c + g * cpg) * hw;
                for (int i = 0; i < cpg * hw; i++) mean += x[from + i];
                mean /= cpg * hw;
                for (int i = 0; i < cpg * hw; i++) sq += (x[from + i] - mean) * (x[from + i] - mean);
                double inv = 1 / Math.sqrt(sq / (cpg * hw) + 1e-5);
                for (int i = 0; i < cpg * hw; i++) {
                    int ch = g * cpg + i / hw;
                    double z = (x[from + i] - mean) * inv * gamma[ch] + beta[ch];
                    double silu = z / (1 + Math.exp(-z));
                    assertEquals(silu, y[from + i], 1e-5);
                }
            }
        }
    }

    @Test
    void channelsLastGroupNormMatchesTheDefinitionWithTheFoldedTerms() {
        // c = 40: two full vectors and a scalar tail; hw = 150: three 64-row partial sums
        int b = 2, c = 40, hw = 150, groups = 5, cpg = c / groups;
        SplittableRandom r = new SplittableRandom(9);
        float[] x = new float[b * hw * c];
        for (int i = 0; i < x.length; i++) x[i] = (float) (3 + 2 * r.nextGaussian());
        float[] gamma = new float[c];
        float[] beta = new float[c];
        float[] pre = new float[b * c];
        float[] postScale = new float[b * c];
        float[] postShift = new float[b * c];
        for (int i = 0; i < c; i++) {
            gamma[i] = (float) r.nextGaussian();
            beta[i] = (float) r.nextGaussian();
        }
        for (int i = 0; i < b * c; i++) {
            pre[i] = (float) (4 * r.nextGaussian());
            postScale[i] = (float) (1 + r.nextGaussian());
            postShift[i] = (float) r.nextGaussian();
        }
        for (int variant = 0; variant < 3; variant++) {
            float[] p = variant == 1 ? pre : null;
            float[] ps = variant == 2 ? postScale : null;
            float[] pt = variant == 2 ? postShift : null;
            boolean silu = variant != 0;
            float[] y = new float[x.length];
            VectorMath.groupNormChannelsLast(x, y, b, hw, c, groups, gamma, beta, 1e-5, silu, p, ps, pt);
            for (int n = 0; n < b; n++) {
                for (int g = 0; g < groups; g++) {
                    double mean = 0;
                    double sq = 0;
                    for (int q = 0; q < hw; q++) {
                        for (int k = 0; k < cpg; k++) mean += value(x, p, n, q, g * cpg + k, hw, c);
                    }
                    mean /= hw * cpg;
                    for (int q = 0; q < hw; q++) {
                        for (int k = 0; k < cpg; k++) {
                            double d = value(x, p, n, q, g * cpg + k, hw, c) - mean;
                            sq += d * d;
                        }
                    }
                    double inv = 1 / Math.sqrt(sq / (hw * cpg) + 1e-5);
                    for (int q = 0; q < hw; q++) {
                        for (int k = 0; k < cpg; k++) {
                            int ch = g * cpg + k;
                            double z = (value(x, p, n, q, ch, hw, c) - mean) * inv * gamma[ch] + beta[ch];
                            if (ps != null) z = z * ps[n * c + ch] + pt[n * c + ch];
                            if (silu) z = z / (1 + Math.exp(-z));
                            assertEquals(z, y[(n * hw + q) * c + ch], 2e-5, "variant " + variant + " n " + n + " ch " + ch);
                        }
                    }
                }
            }
        }
    }

    private static double value(float[] x, float[] pre, int n, int q, int ch, int hw, int c) {
        return x[(n * hw + q) * c + ch] + (pre == null ? 0 : pre[n * c + ch]);
    }

    @Test
    void tokenMajorAttentionEqualsTheChannelFirstKernel() {
        // packed q|k|v rows with biases (stride 3c) and separate tensors (stride c) against the channel-first kernel
        int b = 2, heads = 3, d = 8, t = 37, c = heads * d;
        SplittableRandom r = new SplittableRandom(13);
        float[] packed = new float[b * t * 3 * c];
        for (int i = 0; i < packed.length; i++) packed[i] = (float) r.nextGaussian();
        float[][] bias = new float[3][c];
        for (float[] bb : bias) for (int i = 0; i < c; i++) bb[i] = (float) r.nextGaussian();
        float[][] first = new float[3][b * c * t];
        float[][] tokens = new float[3][b * t * c];
        for (int part = 0; part < 3; part++) {
            for (int n = 0; n < b; n++) {
                for (int j = 0; j < t; j++) {
                    for (int ch = 0; ch < c; ch++) {
                        float v = packed[(n * t + j) * 3 * c + part * c + ch] + bias[part][ch];
                        first[part][(n * c + ch) * t + j] = v;
                        tokens[part][(n * t + j) * c + ch] = v;
                    }
                }
            }
        }
        float[] expected = new float[b * c * t];
        VectorMath.attention(first[0], first[1], first[2], expected, b, heads, d, t, 0.3f);
        float[] fromPacked = new float[b * t * c];
        VectorMath.attentionTokens(packed, 0, packed, c, packed, 2 * c, 3 * c, bias[0], bias[1], bias[2], fromPacked,
                b, heads, d, t, 0.3f);
        float[] fromSeparate = new float[b * t * c];
        VectorMath.attentionTokens(tokens[0], 0, tokens[1], 0, tokens[2], 0, c, null, null, null, fromSeparate,
                b, heads, d, t, 0.3f);
        for (int n = 0; n < b; n++) {
            for (int j = 0; j < t; j++) {
                for (int ch = 0; ch < c; ch++) {
                    float e = expected[(n * c + ch) * t + j];
                    assertEquals(e, fromSeparate[(n * t + j) * c + ch], 0f, "separate n " + n + " j " + j + " ch " + ch);
                    assertEquals(e, fromPacked[(n * t + j) * c + ch], 1e-6, "packed n " + n + " j " + j + " ch " + ch);
                }
            }
        }
    }
}
