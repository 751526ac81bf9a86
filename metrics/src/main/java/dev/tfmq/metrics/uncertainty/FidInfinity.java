package dev.tfmq.metrics.uncertainty;

import dev.tfmq.metrics.distance.FrechetDistance;
import dev.tfmq.metrics.stats.FeatureStatistics;
import dev.tfmq.metrics.stats.Gaussian;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.util.SplittableRandom;

/**
 * FID∞ (Chong and Forsyth 2020): FID is biased upward by roughly a/N, so compute it on random subsets of several
 * sizes, fit FID = FID∞ + slope/N by least squares, and report the intercept. Subsets are drawn without
 * replacement with a seeded generator (the paper uses Sobol points; plain random subsets fit the same line).
 */
public final class FidInfinity {
    /**
     * @param fidInfinity intercept of the fit (extrapolation to N → ∞)
     * @param slope       coefficient of 1/N
     * @param sizes       subset sizes used
     * @param fids        FID at each size
     * @param n           samples available
     */
    public record Result(double fidInfinity, double slope, int[] sizes, double[] fids, long n) {}

    private FidInfinity() {}

    /** Evenly spaced sizes from n/5 (at least 2) to n, {@code points} of them. */
    public static int[] defaultSizes(int n, int points) {
        int lo = Math.max(2, n / 5);
        int[] s = new int[points];
        for (int i = 0; i < points; i++) s[i] = (int) Math.round(lo + (double) (n - lo) * i / Math.max(1, points - 1));
        return s;
    }

    public static Result compute(INDArray features, Gaussian reference, int[] sizes, long seed) {
        int n = features.rows();
        int d = features.columns();
        if (sizes.length < 2) throw new IllegalArgumentException("FID∞ needs at least 2 subset sizes");
        double[] x = features.castTo(DataType.DOUBLE).dup('c').data().asDouble();
        SplittableRandom random = new SplittableRandom(seed);
        double[] fids = new double[sizes.length];
        int[] idx = new int[n];
        for (int s = 0; s < sizes.length; s++) {
            int m = sizes[s];
            if (m < 2 || m > n) throw new IllegalArgumentException("subset size " + m + " outside [2, " + n + "]");
            for (int i = 0; i < n; i++) idx[i] = i;
            double[] sub = new double[m * d];
            for (int i = 0; i < m; i++) {
                int j = i + random.nextInt(n - i);
                int t = idx[i];
                idx[i] = idx[j];
                idx[j] = t;
                System.arraycopy(x, idx[i] * d, sub, i * d, d);
            }
            FeatureStatistics st = new FeatureStatistics(d);
            st.update(Nd4j.create(sub, new long[] {m, d}, DataType.DOUBLE));
            fids[s] = FrechetDistance.compute(Gaussian.of(st), reference).value();
        }
        // least squares of fid on 1/size
        double mx = 0;
        double my = 0;
        for (int s = 0; s < sizes.length; s++) {
            mx += 1.0 / sizes[s];
            my += fids[s];
        }
        mx /= sizes.length;
        my /= sizes.length;
        double sxy = 0;
        double sxx = 0;
        for (int s = 0; s < sizes.length; s++) {
            double dx = 1.0 / sizes[s] - mx;
            sxy += dx * (fids[s] - my);
            sxx += dx * dx;
        }
        if (sxx == 0) throw new IllegalArgumentException("FID∞ needs at least two different subset sizes");
        double slope = sxy / sxx;
        return new Result(my - slope * mx, slope, sizes.clone(), fids, n);
    }
}
