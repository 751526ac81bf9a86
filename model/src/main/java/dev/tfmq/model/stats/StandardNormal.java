package dev.tfmq.model.stats;

/**
 * The standard normal distribution's CDF and quantile, for the normal-approximation intervals of the metrics and of
 * the online selection's settling rule (one implementation, so both read the same z for the same confidence).
 */
public final class StandardNormal {
    private StandardNormal() {}

    /** The quantile z with Φ(z) = p, by bisection on the CDF (about 1e-7 accurate, enough for interval bounds). */
    public static double quantile(double p) {
        if (!(p > 0 && p < 1)) throw new IllegalArgumentException("normal quantile of " + p + ": p must be in (0, 1)");
        double lo = -10, hi = 10;
        for (int i = 0; i < 200; i++) {
            double mid = (lo + hi) / 2;
            if (cdf(mid) < p) lo = mid;
            else hi = mid;
        }
        return (lo + hi) / 2;
    }

    /** z of a two-sided interval at this confidence, e.g. 1.96 for 0.95. */
    public static double twoSided(double confidence) {
        return quantile(0.5 + confidence / 2);
    }

    public static double cdf(double x) {
        return 0.5 * erfc(-x / Math.sqrt(2));
    }

    /** Complementary error function, Chebyshev-fitted form with fractional error below 1.2e-7 everywhere. */
    private static double erfc(double x) {
        double z = Math.abs(x);
        double t = 1 / (1 + 0.5 * z);
        double r = t * Math.exp(-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418
                + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587
                + t * (-0.82215223 + t * 0.17087277)))))))));
        return x >= 0 ? r : 2 - r;
    }
}
