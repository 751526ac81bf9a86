package dev.tfmq.strategies.temporal;

import dev.tfmq.model.Denoiser;
import dev.tfmq.model.scheduler.NoiseSource;
import dev.tfmq.model.scheduler.Sampler;
import dev.tfmq.model.scheduler.Scheduler;
import dev.tfmq.model.scheduler.TimestepSchedule;
import dev.tfmq.model.unet.TemporalFeatureSource;
import dev.tfmq.model.unet.UNet2DModel;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Measures both maintenance candidates by the error they cause in the denoiser's output (the
 * {@link SelectionMeasure#OUTPUT} measure): the FP model's own trajectory is recorded once ({@link #record}, x_t and
 * ε̂_FP(x_t) at every sampling step), then the fully quantized model (weights and activations) predicts on the same
 * x_t twice per step, once with every member served by its quantized TIB and once with every cacheable member served
 * by the cache ({@link #measure}).
 *
 * <p>Why FP-trajectory inputs: on the quantized model's own trajectory each candidate would be judged on inputs its
 * earlier steps already moved, so the errors of different steps would mix; on x_t^FP the error at step k is what
 * that step's serving alone adds.
 */
public final class OutputErrorProbe {
    /**
     * The FP model's DDIM trajectory of samples 0..n−1 of the calibration noise: x_t (the model input) and ε̂_FP(x_t)
     * at every step k, [n, C, H, W] float32 copies.
     */
    public record FpTrajectory(long[] timesteps, List<INDArray> inputs, List<INDArray> outputs) {
        public int samples() { return (int) inputs.get(0).size(0); }
    }

    private OutputErrorProbe() {}

    /**
     * Runs the full-precision denoiser over the whole schedule for {@code samples} samples of the seeded noise (the
     * Sampler's conventions, so the trajectory is the one {@code tfmq sample} draws), in batches of {@code batch}.
     */
    public static FpTrajectory record(Denoiser fp, Scheduler scheduler, TimestepSchedule schedule, long seed, long[] chw,
                                      int samples, int batch) {
        if (samples < 1) throw new IllegalArgumentException("the output-error probe needs at least one sample, got " + samples);
        int steps = schedule.size();
        List<List<INDArray>> xs = new ArrayList<>(), eps = new ArrayList<>();
        for (int k = 0; k < steps; k++) {
            xs.add(new ArrayList<>());
            eps.add(new ArrayList<>());
        }
        Sampler sampler = new Sampler(fp, scheduler, schedule);
        NoiseSource noise = new NoiseSource(seed);
        for (int s = 0; s < samples; s += batch) {
            long[] idx = new long[Math.min(batch, samples - s)];
            for (int i = 0; i < idx.length; i++) idx[i] = s + i;
            // the listener's arrays are the sampler's live buffers: keep copies
            sampler.sample(idx, chw, noise, (k, t, xt, out, x0, xPrev) -> {
                xs.get(k).add(xt.dup('c'));
                eps.get(k).add(out.dup('c'));
            });
        }
        List<INDArray> inputs = new ArrayList<>(), outputs = new ArrayList<>();
        for (int k = 0; k < steps; k++) {
            inputs.add(concat(xs.get(k)));
            outputs.add(concat(eps.get(k)));
        }
        long[] ts = new long[steps];
        for (int k = 0; k < steps; k++) ts[k] = schedule.timestep(k);
        return new FpTrajectory(ts, inputs, outputs);
    }

    /**
     * The output error of both candidates at every step of the FP trajectory.
     *
     * @param quantized the fully quantized denoiser (it sets the time-step context of per-step activation tables)
     * @param model     the UNet it runs, whose temporal-feature source is switched per candidate and put back after
     */
    public static OutputErrors measure(Denoiser quantized, UNet2DModel model, TemporalFeatureCache cache, FpTrajectory fp) {
        if (cache == null) throw new IllegalArgumentException("the output-error probe compares the TIB with the cache, and this model has no cache");
        TemporalFeatureSource restore = model.temporalFeatureSource();
        int steps = fp.timesteps().length;
        double[][] tib = new double[steps][], cached = new double[steps][];
        try {
            for (int k = 0; k < steps; k++) {
                INDArray x = fp.inputs().get(k);
                long[] ts = new long[(int) x.size(0)];
                Arrays.fill(ts, fp.timesteps()[k]);
                // null: the model computes its temporal features with its own quantized TIB
                tib[k] = errors(quantized, model, null, x, ts, fp.outputs().get(k));
                cached[k] = errors(quantized, model, cache, x, ts, fp.outputs().get(k));
            }
        } finally {
            model.setTemporalFeatureSource(restore);
        }
        return new OutputErrors(fp.timesteps().clone(), tib, cached);
    }

    private static double[] errors(Denoiser q, UNet2DModel model, TemporalFeatureSource serving, INDArray x, long[] ts,
                                   INDArray fpOut) {
        model.setTemporalFeatureSource(serving);
        INDArray out = Nd4j.create(DataType.FLOAT, x.shape());
        q.predict(x, ts, out);
        int row = (int) (fpOut.length() / fpOut.size(0));
        return OutputErrors.perRow(floats(out), floats(fpOut), row);
    }

    private static float[] floats(INDArray a) {
        return a.castTo(DataType.FLOAT).dup('c').data().asFloat();
    }

    private static INDArray concat(List<INDArray> parts) {
        return parts.size() == 1 ? parts.get(0) : Nd4j.concat(0, parts.toArray(INDArray[]::new));
    }
}
