package dev.tfmq.metrics.uncertainty;

import dev.tfmq.metrics.distance.FrechetDistance;
import dev.tfmq.metrics.stats.FeatureStatistics;
import dev.tfmq.metrics.stats.Gaussian;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Streaming bootstrap of FID over samples: next to the statistics of all samples, B replicate
 * {@link FeatureStatistics} each see every sample with a Poisson(1) weight (Hanley and MacGibbon; Oza's online
 * bagging). As N grows, Poisson(1) counts are distributed like the multinomial counts of resampling N of N with
 * replacement, so replicate FIDs give a (bias-shifted) percentile CI without keeping any feature.
 *
 * <p>Why this design: it streams (no feature store, same per-batch update as the main statistics), and it merges —
 * the weight of a sample is a pure function of (seed, replicate, global sample id), so workers that process
 * disjoint id ranges produce replicates whose merge equals a single pass over all samples.
 *
 * <p>Cost: B extra gemms per batch and B·D²·8 bytes (B = 50: 26 MB at D = 256, 1.7 GB at D = 2048 — for
 * Inception features use fewer replicates or a reservoir-based bootstrap), and B extra Fréchet distances at the end.
 */
public final class PoissonBootstrapStatistics {
    public static final int DEFAULT_REPLICATES = 50;

    private final long seed;
    private final FeatureStatistics all;
    private final FeatureStatistics[] replicates;
    private int[] weights;

    public PoissonBootstrapStatistics(int dim, int replicates, long seed) {
        if (replicates < 2) throw new IllegalArgumentException("need at least 2 replicates");
        this.seed = seed;
        this.all = new FeatureStatistics(dim);
        this.replicates = new FeatureStatistics[replicates];
        for (int r = 0; r < replicates; r++) this.replicates[r] = new FeatureStatistics(dim);
    }

    public FeatureStatistics all() { return all; }

    public int replicates() { return replicates.length; }

    public FeatureStatistics replicate(int r) { return replicates[r]; }

    /** Adds a batch whose first row has the global sample id {@code firstId} (rows have consecutive ids). */
    public void update(INDArray features, long firstId) {
        int b = features.rows();
        all.update(features);
        if (weights == null || weights.length != b) weights = new int[b];
        for (int r = 0; r < replicates.length; r++) {
            for (int i = 0; i < b; i++) weights[i] = poissonOne(seed, r, firstId + i);
            replicates[r].update(features, weights);
        }
    }

    public void merge(PoissonBootstrapStatistics other) {
        if (other.replicates.length != replicates.length || other.seed != seed) {
            throw new IllegalArgumentException("can only merge bootstrap statistics with the same seed and replicate count");
        }
        all.merge(other.all);
        for (int r = 0; r < replicates.length; r++) replicates[r].merge(other.replicates[r]);
    }

    /** FID against fixed reference statistics, with a percentile CI over the replicates. */
    public Interval fid(Gaussian reference, double confidence) {
        double value = FrechetDistance.compute(Gaussian.of(all), reference).value();
        double[] reps = new double[replicates.length];
        int used = 0;
        for (int r = 0; r < replicates.length; r++) {
            if (replicates[r].count() < 2) continue;
            reps[used++] = FrechetDistance.compute(Gaussian.of(replicates[r]), reference).value();
        }
        return biasShifted(value, usable(reps, used), confidence, all.count());
    }

    /**
     * The replicate values that could be computed. A replicate whose Poisson weights sum to less than 2 has no
     * covariance: with a handful of samples (2-6 images) a few replicates are such, and are left out instead of
     * failing the whole interval. With N in the dozens or more this never happens, so those numbers are unchanged.
     */
    private double[] usable(double[] reps, int used) {
        if (used < 2) {
            throw new IllegalArgumentException("a bootstrap interval needs at least 2 replicates with 2 or more samples; "
                    + all.count() + " samples gave " + used + " of " + replicates.length);
        }
        return used == reps.length ? reps : java.util.Arrays.copyOf(reps, used);
    }

    /** FID between two bootstrapped sets; replicate r of one is paired with replicate r of the other. */
    public Interval fid(PoissonBootstrapStatistics other, double confidence) {
        if (other.replicates.length != replicates.length) throw new IllegalArgumentException("replicate counts differ");
        double value = FrechetDistance.compute(Gaussian.of(all), Gaussian.of(other.all)).value();
        double[] reps = new double[replicates.length];
        int used = 0;
        for (int r = 0; r < replicates.length; r++) {
            if (replicates[r].count() < 2 || other.replicates[r].count() < 2) continue;
            reps[used++] = FrechetDistance.compute(Gaussian.of(replicates[r]), Gaussian.of(other.replicates[r])).value();
        }
        return biasShifted(value, usable(reps, used), confidence, all.count());
    }

    /**
     * Percentile interval of the replicates shifted by their mean bias. A resample repeats about a third of the
     * samples, so its covariance is noisier and its FID is biased upwards (FID's estimation bias grows like 1/N);
     * plain percentiles then often lie entirely above the point estimate. Subtracting the bootstrap's own bias
     * estimate, mean(replicates) − value, recentres the interval on the estimate while keeping its width.
     */
    static Interval biasShifted(double value, double[] reps, double confidence, long n) {
        double mean = 0;
        for (double r : reps) mean += r;
        mean /= reps.length;
        double bias = mean - value;
        double[] shifted = new double[reps.length];
        for (int i = 0; i < reps.length; i++) shifted[i] = reps[i] - bias;
        return Bootstrap.interval(value, shifted, confidence, n);
    }

    /** Poisson(1) count by inversion of one uniform derived from (seed, replicate, id) with SplitMix64 mixing. */
    static int poissonOne(long seed, int replicate, long id) {
        long z = mix(seed ^ mix(replicate * 0x9E3779B97F4A7C15L + 0x632BE59BD9B4E019L) ^ mix(id + 0x1234567L));
        double u = (z >>> 11) * 0x1.0p-53;
        double p = Math.exp(-1.0);
        double cdf = p;
        int k = 0;
        while (u >= cdf && k < 20) {
            k++;
            p /= k;
            cdf += p;
        }
        return k;
    }

    private static long mix(long z) {
        z += 0x9E3779B97F4A7C15L;
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }
}
