package dev.tfmq.model.scheduler;

import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * diffusers 0.25 {@code DDPMScheduler.step} (ancestral sampling, no thresholding):
 * <pre>
 *   a = ᾱ_t,  a' = ᾱ_prev (1 past the end),  α_t = a/a',  β_t = 1 − α_t
 *   x0 = prediction per prediction_type, clipped to ±clip_sample_range if clip_sample
 *   x_prev = √a'·β_t/(1 − a) · x0 + √α_t·(1 − a')/(1 − a) · x_t + σ·z
 *   σ² = max((1 − a')/(1 − a) · β_t, 1e-20)  for fixed_small and fixed_small_log (σ = exp(½·log σ²)),
 *   σ² = β_t                                  for fixed_large and fixed_large_log,
 *   noise only for t &gt; 0.
 * </pre>
 * Note: diffusers 0.25 computes {@code fixed_large_log} as √(log β_t)·z, which is NaN; we take the variance it
 * names, β_t (the same as {@code fixed_large}).
 */
public final class DDPMScheduler extends AbstractScheduler {

    public DDPMScheduler(SchedulerConfig config) { super(config); }

    private double alphaBarPrev(long prevT) { return prevT >= 0 ? alphaBar(prevT) : 1.0; }

    /** σ of the step from t to prevT (applied only when t &gt; 0). */
    public double sigma(long t, long prevT) {
        double a = alphaBar(t);
        double ap = alphaBarPrev(prevT);
        double betaT = 1 - a / ap;
        double variance = Math.max((1 - ap) / (1 - a) * betaT, 1e-20);
        return switch (config.varianceType()) {
            case FIXED_SMALL -> Math.sqrt(variance);
            case FIXED_SMALL_LOG -> Math.exp(0.5 * Math.log(variance));
            case FIXED_LARGE, FIXED_LARGE_LOG -> Math.sqrt(betaT);
        };
    }

    @Override
    public boolean usesNoise(long t, long prevT) { return t > 0; }

    @Override
    public void step(INDArray modelOutput, long t, long prevT, INDArray sample, INDArray noise, INDArray x0Out,
                     INDArray prevOut) {
        boolean uses = usesNoise(t, prevT);
        checkNoise(uses, noise, t);
        FlatView m = FlatView.of(modelOutput, "model output");
        FlatView x = FlatView.of(sample, "sample");
        FlatView z = uses ? FlatView.of(noise, "noise") : null;
        FlatView x0 = x0Out == null ? null : FlatView.of(x0Out, "x0 output");
        FlatView out = FlatView.of(prevOut, "output");
        FlatView.requireSameLength(x, m, z, x0, out);

        double a = alphaBar(t);
        double ap = alphaBarPrev(prevT);
        double alphaT = a / ap;
        double betaT = 1 - alphaT;
        double[] c = predictionCoefficients(a);
        double px = c[0], pm = c[1];
        double c0 = Math.sqrt(ap) * betaT / (1 - a);
        double cs = Math.sqrt(alphaT) * (1 - ap) / (1 - a);
        double std = uses ? sigma(t, prevT) : 0;
        int n = x.length();
        for (int i = 0; i < n; i++) {
            double xi = x.get(i);
            double p0 = clip(px * xi + pm * m.get(i));
            double v = c0 * p0 + cs * xi;
            if (uses) v += std * z.get(i);
            if (x0 != null) x0.set(i, p0);
            out.set(i, v);
        }
    }

    @Override
    public String toString() { return "DDPM(" + config + ")"; }
}
