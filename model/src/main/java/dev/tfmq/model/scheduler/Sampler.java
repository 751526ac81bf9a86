package dev.tfmq.model.scheduler;

import dev.tfmq.model.Denoiser;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.util.Arrays;

/**
 * A full sampling loop: x_T from the {@link NoiseSource} (stream 0 per sample), then for each step k of the
 * {@link TimestepSchedule}: model prediction at t_k, scheduler update to the previous time-step (with the noise of
 * stream k + 1 when the scheduler adds noise), and a callback to an optional {@link StepListener}.
 *
 * <p>The buffers (x, x_prev, model output, x0, noise, time-steps) are allocated once per batch shape and reused for
 * every step and every later call with the same shape; the step arithmetic runs in place. Not thread-safe: use one
 * sampler per thread.
 */
public final class Sampler {

    /** Observes each step; the arrays are the sampler's buffers, valid only during the call (copy to keep them). */
    @FunctionalInterface
    public interface StepListener {
        /**
         * @param step        step index k (0 = first, at the largest time-step)
         * @param t           the time-step the model saw
         * @param xt          the model input x_t
         * @param modelOutput the model's prediction
         * @param x0          the (clipped) x0 prediction
         * @param xPrev       the updated sample
         */
        void onStep(int step, long t, INDArray xt, INDArray modelOutput, INDArray x0, INDArray xPrev);
    }

    private final Denoiser model;
    private final Scheduler scheduler;
    private final TimestepSchedule timesteps;
    private final DataType dataType;

    private long[] shape;
    private INDArray x, xNext, modelOut, x0, noise;
    private long[] tBuf;

    public Sampler(Denoiser model, Scheduler scheduler, TimestepSchedule timesteps) {
        this(model, scheduler, timesteps, DataType.FLOAT);
    }

    /** @param dataType FLOAT, or DOUBLE for a float64 loop (the denoiser then receives float64 arrays) */
    public Sampler(Denoiser model, Scheduler scheduler, TimestepSchedule timesteps, DataType dataType) {
        if (dataType != DataType.FLOAT && dataType != DataType.DOUBLE) {
            throw new IllegalArgumentException("sampler data type must be FLOAT or DOUBLE, got " + dataType);
        }
        if (timesteps.numTrainTimesteps() != scheduler.noiseSchedule().numTrainTimesteps()) {
            throw new IllegalArgumentException("time-steps are for " + timesteps.numTrainTimesteps()
                    + " training steps but the scheduler has " + scheduler.noiseSchedule().numTrainTimesteps());
        }
        this.model = model;
        this.scheduler = scheduler;
        this.timesteps = timesteps;
        this.dataType = dataType;
    }

    public TimestepSchedule timesteps() { return timesteps; }

    public Scheduler scheduler() { return scheduler; }

    /**
     * Draws the samples with the given global indices.
     *
     * @param sampleIndices global sample indices (they select the noise; any grouping into batches gives the same
     *                      images for the same indices)
     * @param sampleShape   {C, H, W}
     * @return a new [B, C, H, W] array of final samples
     */
    public INDArray sample(long[] sampleIndices, long[] sampleShape, NoiseSource noiseSource, StepListener listener) {
        if (sampleShape.length != 3) throw new IllegalArgumentException("sample shape must be {C, H, W}");
        long[] full = {sampleIndices.length, sampleShape[0], sampleShape[1], sampleShape[2]};
        ensureBuffers(full);
        noiseSource.fill(x, sampleIndices, NoiseSource.STREAM_INITIAL);
        INDArray out = Nd4j.create(dataType, full);
        loop(sampleIndices, noiseSource, listener, out);
        return out;
    }

    /**
     * Runs the loop from a given x_T (copied, not modified) and writes the final samples into {@code out}; the noise
     * source is consulted only for steps that add noise (may be null when none does).
     */
    public void run(INDArray initial, long[] sampleIndices, NoiseSource noiseSource, StepListener listener, INDArray out) {
        if (initial.rank() != 4) throw new IllegalArgumentException("x_T must be [B, C, H, W], got " + Arrays.toString(initial.shape()));
        if (initial.size(0) != sampleIndices.length) {
            throw new IllegalArgumentException(sampleIndices.length + " sample indices for a batch of " + initial.size(0));
        }
        if (!Arrays.equals(initial.shape(), out.shape())) {
            throw new IllegalArgumentException("output shape " + Arrays.toString(out.shape()) + " differs from x_T "
                    + Arrays.toString(initial.shape()));
        }
        ensureBuffers(initial.shape());
        x.assign(initial);
        loop(sampleIndices, noiseSource, listener, out);
    }

    private void loop(long[] sampleIndices, NoiseSource noiseSource, StepListener listener, INDArray out) {
        for (int k = 0; k < timesteps.size(); k++) {
            long t = timesteps.timestep(k);
            long prev = timesteps.previous(k);
            Arrays.fill(tBuf, t);
            model.predict(x, tBuf, modelOut);
            boolean uses = scheduler.usesNoise(t, prev);
            if (uses) {
                if (noiseSource == null) throw new IllegalArgumentException("step " + k + " needs a noise source");
                noiseSource.fill(noise, sampleIndices, NoiseSource.streamForStep(k));
            }
            scheduler.step(modelOut, t, prev, x, uses ? noise : null, x0, xNext);
            if (listener != null) listener.onStep(k, t, x, modelOut, x0, xNext);
            INDArray tmp = x;
            x = xNext;
            xNext = tmp;
        }
        out.assign(x);
    }

    private void ensureBuffers(long[] full) {
        if (shape != null && Arrays.equals(shape, full)) return;
        shape = full.clone();
        x = Nd4j.create(dataType, full);
        xNext = Nd4j.create(dataType, full);
        modelOut = Nd4j.create(dataType, full);
        x0 = Nd4j.create(dataType, full);
        noise = Nd4j.create(dataType, full);
        tBuf = new long[(int) full[0]];
    }
}
