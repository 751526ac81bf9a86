package dev.tfmq.metrics.bench;

import dev.tfmq.metrics.FeatureAccumulator;
import dev.tfmq.metrics.distance.FrechetDistance;
import dev.tfmq.metrics.distance.FrechetResult;
import dev.tfmq.metrics.stats.FeatureStatistics;
import dev.tfmq.metrics.stats.Gaussian;
import dev.tfmq.metrics.uncertainty.PoissonBootstrapStatistics;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.util.Arrays;
import java.util.Locale;

/**
 * Cost of the metric bookkeeping against the generation it accompanies (issue 3, "Speed"):
 * streaming statistics update per sample at D = 256 and D = 2048 (batches of 64), and the Fréchet distance from
 * 2048-d statistics.
 *
 * <p>Usage: {@code MetricsBench [generationMsPerSample]} (default 60: a 20-step DDIM on a ~0.3 GFLOP UNet at about
 * 100 GFLOP/s). Prints medians of repeated timings and the update/generation ratio; the targets are a ratio below
 * 1 % and FID below 1 s on two cores.
 */
public final class MetricsBench {
    private MetricsBench() {}

    public static void main(String[] args) {
        double generationMs = args.length > 0 ? Double.parseDouble(args[0]) : 60.0;
        int batch = 64;
        StringBuilder report = new StringBuilder();
        report.append(String.format(Locale.ROOT, "tfmq metrics benchmark: %d cores, generation cost %.1f ms/sample%n",
                Runtime.getRuntime().availableProcessors(), generationMs));
        Nd4j.getRandom().setSeed(7);
        for (int d : new int[] {256, 2048}) {
            FeatureStatistics stats = new FeatureStatistics(d);
            INDArray x = Nd4j.rand(DataType.FLOAT, batch, d);
            int iters = d == 256 ? 400 : 40;
            for (int i = 0; i < 5; i++) stats.update(x); // warm-up, buffer allocation
            double[] t = new double[iters];
            for (int i = 0; i < iters; i++) {
                long t0 = System.nanoTime();
                stats.update(x);
                t[i] = (System.nanoTime() - t0) / 1e6;
            }
            double perSample = median(t) / batch;
            double best = Arrays.stream(t).min().orElseThrow() / batch;
            report.append(String.format(Locale.ROOT,
                    "stats update D=%4d: %.4f ms/sample (median of %d batches of %d; min %.4f), %.3f%% of generation%n",
                    d, perSample, iters, batch, best, 100 * perSample / generationMs));
        }
        {
            int dim = 256;
            int replicates = FeatureAccumulator.defaultReplicates(dim);
            PoissonBootstrapStatistics boot = new PoissonBootstrapStatistics(dim, replicates, 1);
            INDArray x = Nd4j.rand(DataType.FLOAT, batch, dim);
            for (int i = 0; i < 3; i++) boot.update(x, (long) i * batch);
            double[] t = new double[40];
            for (int i = 0; i < t.length; i++) {
                long t0 = System.nanoTime();
                boot.update(x, (long) (i + 3) * batch);
                t[i] = (System.nanoTime() - t0) / 1e6;
            }
            double perSample = median(t) / batch;
            report.append(String.format(Locale.ROOT,
                    "stats + %d Poisson-bootstrap replicates D=%d: %.4f ms/sample, %.3f%% of generation%n",
                    replicates, dim, perSample, 100 * perSample / generationMs));
        }
        int d = 2048;
        Gaussian a = randomGaussian(d, 3000, 1);
        Gaussian b = randomGaussian(d, 3000, 2);
        FrechetDistance.compute(a, b); // warm-up
        double[] t = new double[7];
        FrechetResult r = null;
        for (int i = 0; i < t.length; i++) {
            long t0 = System.nanoTime();
            r = FrechetDistance.compute(a, b);
            t[i] = (System.nanoTime() - t0) / 1e6;
        }
        // min: the uncontended cost (other processes share the cores); median: what a run typically saw
        report.append(String.format(Locale.ROOT, "Frechet distance D=%d (Cholesky + dsygst + dsyevr): min %.0f ms, median %.0f ms, runs %s ms, value %.6g%n",
                d, Arrays.stream(t).min().orElseThrow(), median(t), Arrays.toString(round(t)), r.value()));
        long t0 = System.nanoTime();
        FrechetResult e = FrechetDistance.compute(a, b, FrechetDistance.Method.EIGEN);
        report.append(String.format(Locale.ROOT, "Frechet distance D=%d (eigenvectors of Σ1, reference method): %.0f ms, value %.6g%n",
                d, (System.nanoTime() - t0) / 1e6, e.value()));
        Gaussian few = randomGaussian(d, 1000, 3);
        t0 = System.nanoTime();
        FrechetResult deficient = FrechetDistance.compute(few, b);
        report.append(String.format(Locale.ROOT, "Frechet distance D=%d, N1=1000 (singular Σ1, pivoted Cholesky path): %.0f ms, rank %d, warning: %s%n",
                d, (System.nanoTime() - t0) / 1e6, deficient.rank1(), deficient.warning()));
        System.out.print(report);
    }

    /** Covariance of N random 2048-d samples, built directly so the bench does not time the update twice. */
    private static Gaussian randomGaussian(int d, int n, long seed) {
        Nd4j.getRandom().setSeed(seed);
        INDArray x = Nd4j.randn(DataType.DOUBLE, n, d).muli(0.5).addi(Nd4j.rand(DataType.DOUBLE, 1, d));
        FeatureStatistics s = new FeatureStatistics(d);
        s.update(x);
        return Gaussian.of(s);
    }

    private static double median(double[] v) {
        double[] s = v.clone();
        Arrays.sort(s);
        return s.length % 2 == 1 ? s[s.length / 2] : 0.5 * (s[s.length / 2 - 1] + s[s.length / 2]);
    }

    private static double[] round(double[] v) {
        double[] r = new double[v.length];
        for (int i = 0; i < v.length; i++) r[i] = Math.round(v[i]);
        return r;
    }
}
