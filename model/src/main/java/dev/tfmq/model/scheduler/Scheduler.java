package dev.tfmq.model.scheduler;

import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * One reverse-diffusion update rule (DDIM or DDPM). Arrays are float32 or float64, contiguous in C order; the
 * per-step coefficients are computed in double and every element is updated in double and rounded once, in place
 * into the caller's buffers (no arrays are allocated). {@code prevOut} may be the same array as {@code sample}.
 */
public interface Scheduler {
    SchedulerConfig config();

    NoiseSchedule noiseSchedule();

    /** diffusers {@code set_timesteps(numInferenceSteps)} for this config. */
    default TimestepSchedule timesteps(int numInferenceSteps) {
        return TimestepSchedule.spaced(config(), numInferenceSteps);
    }

    /** Whether {@link #step} at this time-step adds noise (and so needs a non-null {@code noise}). */
    boolean usesNoise(long t, long prevT);

    /**
     * One update from time-step {@code t} to {@code prevT} (−1: past the end).
     *
     * @param modelOutput the denoiser's prediction (ε, v or x0 per the config's prediction_type)
     * @param sample      x_t
     * @param noise       standard normal noise of the sample's shape, or null when {@link #usesNoise} is false
     * @param x0Out       receives the (clipped, if clip_sample) x0 prediction; may be null
     * @param prevOut     receives x_prev; may be {@code sample} itself
     */
    void step(INDArray modelOutput, long t, long prevT, INDArray sample, INDArray noise, INDArray x0Out, INDArray prevOut);

    /** out = √ᾱ_t · original + √(1 − ᾱ_t) · noise, with one time-step per batch row (diffusers {@code add_noise}). */
    default void addNoise(INDArray original, INDArray noise, long[] timesteps, INDArray out) {
        FlatView o = FlatView.of(original, "original");
        FlatView n = FlatView.of(noise, "noise");
        FlatView r = FlatView.of(out, "out");
        FlatView.requireSameLength(o, n, r);
        int b = (int) original.size(0);
        if (timesteps.length != b) {
            throw new IllegalArgumentException(timesteps.length + " time-steps for a batch of " + b);
        }
        int per = o.length() / b;
        for (int i = 0; i < b; i++) {
            double a = noiseSchedule().alphaCumprod(Math.toIntExact(timesteps[i]));
            double sa = Math.sqrt(a);
            double sb = Math.sqrt(1 - a);
            for (int j = i * per, e = j + per; j < e; j++) r.set(j, sa * o.get(j) + sb * n.get(j));
        }
    }
}
