package dev.tfmq.model.scheduler;

import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * diffusers 0.25 {@code DDIMScheduler.step} (with {@code use_clipped_model_output=False}, no thresholding):
 * <pre>
 *   a = ᾱ_t,  a' = ᾱ_prev (or, past the end, 1 if set_alpha_to_one else ᾱ_0)
 *   x0 = prediction per prediction_type, clipped to ±clip_sample_range if clip_sample;  ε from the unclipped x0
 *   σ  = η · √((1 − a')/(1 − a) · (1 − a/a'))
 *   x_prev = √a' · x0 + √(1 − a' − σ²) · ε + σ · z          (z standard normal; only when η &gt; 0)
 * </pre>
 */
public final class DDIMScheduler extends AbstractScheduler {
    private final double eta;

    public DDIMScheduler(SchedulerConfig config) { this(config, 0.0); }

    public DDIMScheduler(SchedulerConfig config, double eta) {
        super(config);
        if (!(eta >= 0) || Double.isInfinite(eta)) throw new IllegalArgumentException("eta must be >= 0, got " + eta);
        this.eta = eta;
    }

    public double eta() { return eta; }

    /** ᾱ used after the last step. */
    public double finalAlphaCumprod() {
        return config.setAlphaToOne() ? 1.0 : schedule.alphaCumprod(0);
    }

    private double alphaBarPrev(long prevT) {
        return prevT >= 0 ? alphaBar(prevT) : finalAlphaCumprod();
    }

    /** σ_t of the step from t to prevT. */
    public double sigma(long t, long prevT) {
        double a = alphaBar(t);
        double ap = alphaBarPrev(prevT);
        double variance = (1 - ap) / (1 - a) * (1 - a / ap);
        return eta * Math.sqrt(variance);
    }

    @Override
    public boolean usesNoise(long t, long prevT) { return eta > 0; }

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
        double[] c = predictionCoefficients(a);
        double px = c[0], pm = c[1], ex = c[2], em = c[3];
        double std = sigma(t, prevT);
        double cx0 = Math.sqrt(ap);
        double cdir = Math.sqrt(1 - ap - std * std);
        int n = x.length();
        for (int i = 0; i < n; i++) {
            double xi = x.get(i);
            double mi = m.get(i);
            double p0 = clip(px * xi + pm * mi);
            double e = ex * xi + em * mi;
            double v = cx0 * p0 + cdir * e;
            if (uses) v += std * z.get(i);
            if (x0 != null) x0.set(i, p0);
            out.set(i, v);
        }
    }

    @Override
    public String toString() { return "DDIM(eta=" + eta + ", " + config + ")"; }
}
