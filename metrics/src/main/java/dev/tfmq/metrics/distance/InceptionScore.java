package dev.tfmq.metrics.distance;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Inception Score (Salimans et al. 2016) from classifier logits: softmax in double, the samples cut into
 * {@code splits} contiguous parts (part i = rows [i·N/splits, (i+1)·N/splits)), exp(mean KL(p(y|x) ‖ p(y))) per
 * part, mean and population std over parts — the convention of the ADM evaluator and pytorch IS code.
 */
public final class InceptionScore {
    public static final int DEFAULT_SPLITS = 10;

    /** @param n samples behind the score */
    public record Result(double mean, double std, int splits, long n) {}

    private InceptionScore() {}

    public static Result compute(INDArray logits, int splits) {
        if (logits.rank() != 2) throw new IllegalArgumentException("logits must be [N, K]");
        int n = logits.rows();
        int k = logits.columns();
        if (splits < 1 || n < splits) {
            throw new IllegalArgumentException("Inception Score needs at least one sample per split: N=" + n + ", splits=" + splits);
        }
        double[] z = logits.castTo(DataType.DOUBLE).dup('c').data().asDouble();
        double[] logp = new double[n * k];
        for (int i = 0; i < n; i++) {
            double max = Double.NEGATIVE_INFINITY;
            for (int c = 0; c < k; c++) max = Math.max(max, z[i * k + c]);
            double sum = 0;
            for (int c = 0; c < k; c++) sum += Math.exp(z[i * k + c] - max);
            double logSum = Math.log(sum) + max;
            for (int c = 0; c < k; c++) logp[i * k + c] = z[i * k + c] - logSum;
        }
        double[] scores = new double[splits];
        double[] py = new double[k];
        for (int s = 0; s < splits; s++) {
            int from = (int) ((long) s * n / splits);
            int to = (int) ((long) (s + 1) * n / splits);
            java.util.Arrays.fill(py, 0);
            for (int i = from; i < to; i++) {
                for (int c = 0; c < k; c++) py[c] += Math.exp(logp[i * k + c]);
            }
            for (int c = 0; c < k; c++) py[c] /= (to - from);
            double kl = 0;
            for (int i = from; i < to; i++) {
                for (int c = 0; c < k; c++) {
                    double lp = logp[i * k + c];
                    kl += Math.exp(lp) * (lp - Math.log(py[c]));
                }
            }
            scores[s] = Math.exp(kl / (to - from));
        }
        double mean = 0;
        for (double v : scores) mean += v;
        mean /= splits;
        double var = 0;
        for (double v : scores) var += (v - mean) * (v - mean);
        return new Result(mean, Math.sqrt(var / splits), splits, n);
    }
}
