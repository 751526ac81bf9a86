package dev.tfmq.metrics.uncertainty;

import java.util.Arrays;
import java.util.SplittableRandom;

/** Seeded percentile bootstrap of a mean, and the percentile rule shared by all bootstrap intervals. */
public final class Bootstrap {
    public static final int DEFAULT_REPLICATES = 1000;
    public static final double DEFAULT_CONFIDENCE = 0.95;

    private Bootstrap() {}

    /**
     * Mean of {@code values} with a percentile CI from {@code replicates} resamples with replacement. Use it on
     * per-sample paired values (e.g. PSNR of FP vs quantized image i), whose mean has low variance.
     */
    public static Interval mean(double[] values, int replicates, double confidence, long seed) {
        int n = values.length;
        if (n < 2) throw new IllegalArgumentException("a bootstrap interval needs at least 2 samples, have " + n);
        double total = 0;
        for (double v : values) total += v;
        SplittableRandom random = new SplittableRandom(seed);
        double[] means = new double[replicates];
        for (int r = 0; r < replicates; r++) {
            double s = 0;
            for (int i = 0; i < n; i++) s += values[random.nextInt(n)];
            means[r] = s / n;
        }
        return interval(total / n, means, confidence, n);
    }

    /** Percentile interval (linear interpolation between order statistics, numpy's default) around {@code value}. */
    public static Interval interval(double value, double[] replicateValues, double confidence, long n) {
        if (!(confidence > 0 && confidence < 1)) throw new IllegalArgumentException("confidence must be in (0, 1)");
        if (replicateValues.length < 2) throw new IllegalArgumentException("need at least 2 bootstrap replicates");
        double[] sorted = replicateValues.clone();
        Arrays.sort(sorted);
        double alpha = (1 - confidence) / 2;
        return new Interval(value, percentile(sorted, alpha), percentile(sorted, 1 - alpha), confidence,
                replicateValues.length, n);
    }

    static double percentile(double[] sorted, double q) {
        double pos = q * (sorted.length - 1);
        int lo = (int) Math.floor(pos);
        int hi = Math.min(lo + 1, sorted.length - 1);
        double frac = pos - lo;
        return sorted[lo] + (sorted[hi] - sorted[lo]) * frac;
    }
}
