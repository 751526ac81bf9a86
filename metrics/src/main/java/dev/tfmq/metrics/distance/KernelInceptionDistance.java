package dev.tfmq.metrics.distance;

import dev.tfmq.metrics.linalg.Lapack;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.util.SplittableRandom;

/**
 * Kernel Inception Distance (Bińkowski et al. 2018): the unbiased estimate of MMD² with the cubic polynomial
 * kernel k(x, y) = (xᵀy/d + 1)³, averaged over random subsets (sampled without replacement, seeded), with the
 * standard deviation across subsets (population std, as torch-fidelity reports it).
 */
public final class KernelInceptionDistance {
    public static final int DEFAULT_SUBSET_SIZE = 1000;
    public static final int DEFAULT_SUBSETS = 100;

    /**
     * @param mean       mean MMD² over subsets
     * @param std        standard deviation over subsets
     * @param subsetSize samples per subset from each side (min of the request and both set sizes)
     * @param subsets    number of subsets
     * @param nReal      real features available
     * @param nFake      generated features available
     */
    public record Result(double mean, double std, int subsetSize, int subsets, long nReal, long nFake) {}

    private KernelInceptionDistance() {}

    public static Result compute(INDArray real, INDArray fake) {
        return compute(real, fake, DEFAULT_SUBSET_SIZE, DEFAULT_SUBSETS, 0L);
    }

    public static Result compute(INDArray real, INDArray fake, int subsetSize, int subsets, long seed) {
        int d = real.columns();
        if (fake.columns() != d) throw new IllegalArgumentException("feature dimension mismatch: " + d + " vs " + fake.columns());
        int nr = real.rows();
        int nf = fake.rows();
        int m = Math.min(subsetSize, Math.min(nr, nf));
        if (m < 2) throw new IllegalArgumentException("KID needs at least 2 samples per side, have " + nr + " and " + nf);
        if (subsets < 1) throw new IllegalArgumentException("subsets must be >= 1");
        double[] x = real.castTo(DataType.DOUBLE).dup('c').data().asDouble();
        double[] y = fake.castTo(DataType.DOUBLE).dup('c').data().asDouble();
        SplittableRandom random = new SplittableRandom(seed);
        double[] xs = new double[m * d];
        double[] ys = new double[m * d];
        double[] k = new double[m * m];
        double[] values = new double[subsets];
        for (int s = 0; s < subsets; s++) {
            gather(x, nr, d, m, random, xs);
            gather(y, nf, d, m, random, ys);
            double kxx = offDiagonalKernelSum(xs, xs, m, d, k, true);
            double kyy = offDiagonalKernelSum(ys, ys, m, d, k, true);
            double kxy = offDiagonalKernelSum(xs, ys, m, d, k, false);
            values[s] = (kxx + kyy) / ((double) m * (m - 1)) - 2 * kxy / ((double) m * m);
        }
        double mean = 0;
        for (double v : values) mean += v;
        mean /= subsets;
        double var = 0;
        for (double v : values) var += (v - mean) * (v - mean);
        return new Result(mean, Math.sqrt(var / subsets), m, subsets, nr, nf);
    }

    /** Copies m distinct random rows (partial Fisher-Yates over an index permutation). */
    private static void gather(double[] src, int n, int d, int m, SplittableRandom random, double[] dst) {
        int[] idx = new int[n];
        for (int i = 0; i < n; i++) idx[i] = i;
        for (int i = 0; i < m; i++) {
            int j = i + random.nextInt(n - i);
            int t = idx[i];
            idx[i] = idx[j];
            idx[j] = t;
            System.arraycopy(src, idx[i] * d, dst, i * d, d);
        }
    }

    /** Σ k(a_i, b_j) over all pairs, leaving out i = j when {@code skipDiagonal}. */
    private static double offDiagonalKernelSum(double[] a, double[] b, int m, int d, double[] k, boolean skipDiagonal) {
        Lapack.gemm(false, true, m, m, d, a, d, b, d, k, m);
        double sum = 0;
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < m; j++) {
                if (skipDiagonal && i == j) continue;
                double t = k[i * m + j] / d + 1.0;
                sum += t * t * t;
            }
        }
        return sum;
    }
}
