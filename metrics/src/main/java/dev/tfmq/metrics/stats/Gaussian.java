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

    public INDArray muArray() { return Nd4j.create(mu.clone(), new long[] {mu.length}, DataType.DOUBLE); }

    public INDArray sigmaArray() { return Nd4j.create(sigma.clone(), new long[] {mu.length, mu.length}, DataType.DOUBLE); }
}
