package dev.tfmq.strategies.temporal;

/**
 * Running statistics of paired output errors at one time-step: each candidate's mean, and Welford's mean and sum of
 * squared deviations of the paired difference d = e_TIB − e_cache (the same probe input under both servings, so the
 * sample-to-sample spread common to both cancels and the interval of the mean difference is far tighter than the two
 * means' intervals would be). Pure data with a {@link State} for checkpoints.
 */
public final class PairedErrors {
    /** Serialisable contents. */
    public record State(long n, double meanTib, double meanCache, double meanDifference, double m2) {}

    private long n;
    private double meanTib, meanCache, meanDiff, m2;

    public PairedErrors() {}

    public PairedErrors(State s) {
        n = s.n();
        meanTib = s.meanTib();
        meanCache = s.meanCache();
        meanDiff = s.meanDifference();
        m2 = s.m2();
    }

    /** One probe sample measured under both servings. */
    public void add(double tib, double cache) {
        if (!Double.isFinite(tib) || !Double.isFinite(cache)) {
            throw new IllegalArgumentException("output errors must be finite, got TIB " + tib + " and cache " + cache);
        }
        n++;
        meanTib += (tib - meanTib) / n;
        meanCache += (cache - meanCache) / n;
        double d = tib - cache;
        double delta = d - meanDiff;
        meanDiff += delta / n;
        m2 += delta * (d - meanDiff);
    }

    public long n() { return n; }

    public double meanTib() { return meanTib; }

    public double meanCache() { return meanCache; }

    /** Mean of e_TIB − e_cache: positive when the cache did better. */
    public double meanDifference() { return meanDiff; }

    /** Sample variance of the difference (NaN below two samples). */
    public double variance() { return n < 2 ? Double.NaN : m2 / (n - 1); }

    /** Half-width z·s/√n of the normal-approximation interval of the mean difference (NaN below two samples). */
    public double halfWidth(double z) { return n < 2 ? Double.NaN : z * Math.sqrt(variance() / n); }

    public State state() { return new State(n, meanTib, meanCache, meanDiff, m2); }
}
