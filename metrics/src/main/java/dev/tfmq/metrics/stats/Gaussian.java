package dev.tfmq.metrics.stats;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Mean and unbiased covariance of a feature set in double precision, with the number of samples behind them
 * ({@code n = -1} when a reference file did not record it). This is what a Fréchet distance consumes.
 *
 * @param mu    mean, length D
 * @param sigma covariance, D×D row-major
 */
public record Gaussian(double[] mu, double[] sigma, long n) {
    public Gaussian {
        if (sigma.length != (long) mu.length * mu.length) {
            throw new IllegalArgumentException("covariance of " + sigma.length + " entries does not match a mean of dimension "
                    + mu.length);
        }
    }

    public int dim() { return mu.length; }

    public static Gaussian of(FeatureStatistics s) {
        return new Gaussian(s.mean().data().asDouble(), s.covariance().dup('c').data().asDouble(), s.count());
    }

    /** From arrays of any floating type: mu [D], sigma [D, D]. */
    public static Gaussian of(INDArray mu, INDArray sigma, long n) {
        if (mu.rank() != 1) throw new IllegalArgumentException("mu must be 1-d, shape " + java.util.Arrays.toString(mu.shape()));
        long d = mu.length();
        if (sigma.rank() != 2 || sigma.rows() != d || sigma.columns() != d) {
            throw new IllegalArgumentException("sigma must be [" + d + ", " + d + "], shape " + java.util.Arrays.toString(sigma.shape()));
        }
        return new Gaussian(mu.castTo(DataType.DOUBLE).dup('c').data().asDouble(),
                sigma.castTo(DataType.DOUBLE).dup('c').data().asDouble(), n);
    }

    /** Relative tolerance of the symmetry check: float32-stored covariances agree to ~1e-7 of their scale. */
    public static final double SYMMETRY_TOLERANCE = 1e-6;

    /**
     * Why {@code m} ([d, d], row-major) cannot be a covariance (or a co-moment), or null when it can: every entry
     * finite, symmetric within {@link #SYMMETRY_TOLERANCE} of the largest diagonal entry, no negative diagonal
     * entry. One pass over the D² entries, done once when a file is read; a negative variance used to give a
     * negative FID with exit 0.
     */
    public static String covarianceProblem(double[] m, int d) {
        double scale = 0;
        for (int i = 0; i < d; i++) {
            double v = m[i * d + i];
            if (!Double.isFinite(v)) return "diagonal entry [" + i + ", " + i + "] = " + v + " is not finite";
            scale = Math.max(scale, Math.abs(v));
        }
        double tol = SYMMETRY_TOLERANCE * scale;
        for (int i = 0; i < d; i++) {
            if (m[i * d + i] < -tol) return "diagonal entry [" + i + ", " + i + "] = " + m[i * d + i] + " is negative (a variance)";
            for (int j = 0; j < i; j++) {
                double a = m[i * d + j], b = m[j * d + i];
                if (!Double.isFinite(a) || !Double.isFinite(b)) {
                    return "entry [" + i + ", " + j + "] or [" + j + ", " + i + "] is not finite (" + a + ", " + b + ")";
                }
                if (Math.abs(a - b) > tol) {
                    return "is not symmetric: [" + i + ", " + j + "] = " + a + " but [" + j + ", " + i + "] = " + b
                            + " (tolerance " + tol + ")";
                }
            }
        }
        return null;
    }

    /** Why {@code count} cannot be the sample count of statistics, or null: a whole number of at least 2. */
    public static String countProblem(double count) {
        return count >= 2 && count == Math.rint(count) ? null : "= " + count + ": statistics need a whole sample count of at least 2";
    }

    /** Why {@code v} cannot be a mean, or null: every entry finite. */
    public static String meanProblem(double[] v) {
        for (int i = 0; i < v.length; i++) {
            if (!Double.isFinite(v[i])) return "entry [" + i + "] = " + v[i] + " is not finite";
        }
        return null;
    }

    public INDArray muArray() { return Nd4j.create(mu.clone(), new long[] {mu.length}, DataType.DOUBLE); }

    public INDArray sigmaArray() { return Nd4j.create(sigma.clone(), new long[] {mu.length, mu.length}, DataType.DOUBLE); }
}
