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
        int b = 2, heads = 2, d = 3, t = 21; // t not a multiple of the vector width: exercises the masked tail
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
                    assertEquals(e / sum, o[base + dd * t + i], 2e-6, "bh " + bh + " i " + i + " d " + dd);
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
}
