package dev.tfmq.strategies.recon;

import dev.tfmq.strategies.recipe.QuantizationRecipe;

/**
 * AdaRound / BRECQ hyper-parameters (method spec §2.2–2.3): 20,000 iterations, batch 32, λ = 0.01, β annealed
 * from 20 to 2 after a warm-up of 20% of the iterations, Adam with lr 1e-3.
 */
public record ReconstructionSettings(boolean enabled, QuantizationRecipe.TibReconstruction tib, boolean blocks,
                                     int iterations, int batchSize, double lambda, double betaStart, double betaEnd,
                                     double warmup, double lr, long seed) {
    public static final int ITERATIONS = 20_000;
    public static final int BATCH = 32;
    public static final double LAMBDA = 0.01;
    public static final double BETA_START = 20;
    public static final double BETA_END = 2;
    public static final double WARMUP = 0.2;
    public static final double LR = 1e-3;

    public static ReconstructionSettings defaults(QuantizationRecipe.TibReconstruction tib) {
        return new ReconstructionSettings(true, tib, true, ITERATIONS, BATCH, LAMBDA, BETA_START, BETA_END, WARMUP, LR, 1234);
    }

    public ReconstructionSettings withIterations(int n) {
        return new ReconstructionSettings(enabled, tib, blocks, n, batchSize, lambda, betaStart, betaEnd, warmup, lr, seed);
    }
}
