package dev.tfmq.metrics;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The generator of tools/fid_reference.py, operation for operation, so tests rebuild the reference inputs
 * bit-identically instead of storing them: SplitMix64 outputs, 53-bit uniforms, Irwin-Hall(4) normals.
 */
public final class PortableRandom {
    private static final long GAMMA = 0x9E3779B97F4A7C15L;

    private PortableRandom() {}

    public static double[] uniforms(long seed, int count) {
        double[] out = new double[count];
        for (int i = 0; i < count; i++) {
            long z = seed + (i + 1L) * GAMMA;
            z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
            z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
            z = z ^ (z >>> 31);
            out[i] = (z >>> 11) * 0x1.0p-53;
        }
        return out;
    }

    public static double[] normals(long seed, int count) {
        double[] u = uniforms(seed, 4 * count);
        double[] out = new double[count];
        for (int i = 0; i < count; i++) {
            out[i] = (((u[4 * i] + u[4 * i + 1]) + (u[4 * i + 2] + u[4 * i + 3])) - 2.0) * 1.7320508075688772;
        }
        return out;
    }

    /** features(seed, n, d, r, scale) of the Python script, as float32 [n, d]. */
    public static INDArray features(long seed, int n, int d, int r, double scale) {
        double[] w = normals(seed + 1, d * r);
        for (int i = 0; i < w.length; i++) w[i] *= scale;
        double[] z = normals(seed + 2, n * r);
        double[] e = uniforms(seed + 3, d);
        for (int j = 0; j < d; j++) e[j] = 0.1 + e[j];
        double[] eps = normals(seed + 4, n * d);
        double[] shared = normals(999, d);
        double[] own = normals(seed + 5, d);
        float[] x = new float[n * d];
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < d; j++) {
                double dot = 0;
                for (int k = 0; k < r; k++) dot += z[i * r + k] * w[j * r + k];
                double offset = (5.0 + shared[j]) + 0.1 * own[j];
                x[i * d + j] = (float) ((offset + dot) + eps[i * d + j] * e[j]);
            }
        }
        return Nd4j.create(x, new long[] {n, d}, 'c').castTo(DataType.FLOAT);
    }
}
