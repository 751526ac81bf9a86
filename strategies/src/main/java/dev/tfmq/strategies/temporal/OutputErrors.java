package dev.tfmq.strategies.temporal;

import java.util.Arrays;

/**
 * The error each candidate serving causes in the denoiser's output, per sampling step and probe sample: the relative
 * L2 ‖ε̂_candidate(x_t) − ε̂_FP(x_t)‖ / ‖ε̂_FP(x_t)‖ on the FP trajectory's own x_t. The two arrays are paired: row k,
 * column i of both is the same input.
 *
 * @param timesteps the time-step of each step k
 * @param tib       [k][i]: every member served by the quantized TIB
 * @param cache     [k][i]: every cacheable member served by the cache
 */
public record OutputErrors(long[] timesteps, double[][] tib, double[][] cache) {
    public OutputErrors {
        if (tib.length != timesteps.length || cache.length != timesteps.length) {
            throw new IllegalArgumentException("output errors for " + timesteps.length + " steps, got " + tib.length + " (tib) and "
                    + cache.length + " (cache) rows");
        }
        for (int k = 0; k < tib.length; k++) {
            if (tib[k].length != cache[k].length) {
                throw new IllegalArgumentException("step " + k + " (t = " + timesteps[k] + "): " + tib[k].length + " TIB errors but "
                        + cache[k].length + " cache errors; the candidates must be measured on the same inputs");
            }
        }
    }

    public int steps() { return timesteps.length; }

    public static double mean(double[] v) {
        if (v.length == 0) throw new IllegalArgumentException("no output errors to average");
        return Arrays.stream(v).sum() / v.length;
    }

    /**
     * Relative L2 of each row of {@code candidate} against the same row of {@code fp} (rows of {@code rowLength}
     * values): the per-sample output error.
     */
    public static double[] perRow(float[] candidate, float[] fp, int rowLength) {
        if (candidate.length != fp.length || fp.length % rowLength != 0) {
            throw new IllegalArgumentException("outputs of " + candidate.length + " and " + fp.length + " values do not pair up in rows of " + rowLength);
        }
        double[] out = new double[fp.length / rowLength];
        for (int r = 0; r < out.length; r++) out[r] = relativeL2(candidate, fp, r * rowLength, rowLength);
        return out;
    }

    /** ‖a − ref‖ / ‖ref‖ over {@code [off, off + n)} of both (0 when both are zero there, +∞ when only ref is). */
    public static double relativeL2(float[] a, float[] ref, int off, int n) {
        double num = 0, den = 0;
        for (int j = off; j < off + n; j++) {
            double r = ref[j];
            double d = a[j] - r;
            num += d * d;
            den += r * r;
        }
        return den == 0 ? (num == 0 ? 0 : Double.POSITIVE_INFINITY) : Math.sqrt(num / den);
    }
}
