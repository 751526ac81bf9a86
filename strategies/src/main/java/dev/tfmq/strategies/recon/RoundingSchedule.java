package dev.tfmq.strategies.recon;

/**
 * The regulariser schedule (BRECQ's LinearTempDecay, spec §2.2): off during the first {@code warmup}·K iterations,
 * then β(k) = end + (start − end)·max(0, 1 − (k − w)/(K − w)), w = warmup·K, annealing from 20 to 2.
 */
public record RoundingSchedule(int iterations, double warmup, double betaStart, double betaEnd) {
    public boolean regularized(int k) { return k >= warmup * iterations; }

    public double beta(int k) {
        double w = warmup * iterations;
        if (k < w) return 0;
        double rel = (k - w) / (iterations - w);
        return betaEnd + (betaStart - betaEnd) * Math.max(0.0, 1 - rel);
    }
}
