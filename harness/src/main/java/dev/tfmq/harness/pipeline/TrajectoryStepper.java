package dev.tfmq.harness.pipeline;

import dev.tfmq.model.scheduler.NoiseSource;
import dev.tfmq.model.scheduler.Scheduler;
import dev.tfmq.model.scheduler.TimestepSchedule;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.util.Arrays;

/**
 * Advances one batch of one side's trajectories a step at a time: x_T from the {@link NoiseSource} (stream 0 per
 * sample), then at step k the model's prediction at t_k, the scheduler update with the noise of stream k + 1, exactly
 * as {@link dev.tfmq.model.scheduler.Sampler} does — so both sides, fed the same sample ids, see the same initial
 * and per-step noise, and a step-by-step run equals a full sampler run. Buffers are reused across batches of one
 * size. Not thread-safe: one per worker.
 */
public final class TrajectoryStepper {
    private final DenoiserSide model;
    private final Scheduler scheduler;
    private final TimestepSchedule schedule;
    private final NoiseSource noise;
    private final long[] sampleShape;

    private long[] ids;
    private int nextStep;
    private INDArray x, xNext, out, x0, noiseBuf, probeOut;
    private long[] tBuf, tProbe;

    public TrajectoryStepper(DenoiserSide model, Scheduler scheduler, TimestepSchedule schedule, NoiseSource noise, long[] sampleShape) {
        if (sampleShape.length != 3) throw new IllegalArgumentException("sample shape must be {C, H, W}");
        this.model = model;
        this.scheduler = scheduler;
        this.schedule = schedule;
        this.noise = noise;
        this.sampleShape = sampleShape.clone();
    }

    public TimestepSchedule schedule() { return schedule; }

    public DenoiserSide model() { return model; }

    /** Starts a batch: x = x_T of these sample ids. */
    public void begin(long[] sampleIds) {
        long[] full = {sampleIds.length, sampleShape[0], sampleShape[1], sampleShape[2]};
        if (x == null || !Arrays.equals(x.shape(), full)) {
            x = Nd4j.create(DataType.FLOAT, full);
            xNext = Nd4j.create(DataType.FLOAT, full);
            out = Nd4j.create(DataType.FLOAT, full);
            x0 = Nd4j.create(DataType.FLOAT, full);
            noiseBuf = Nd4j.create(DataType.FLOAT, full);
            tBuf = new long[sampleIds.length];
        }
        ids = sampleIds.clone();
        noise.fill(x, ids, NoiseSource.STREAM_INITIAL);
        nextStep = 0;
    }

    public int nextStep() { return nextStep; }

    public boolean finished() { return ids != null && nextStep == schedule.size(); }

    /** x_t before the next step (the model input of step {@link #nextStep()}); a live buffer. */
    public INDArray current() { return x; }

    /** The model output of the last step; a live buffer. */
    public INDArray lastOutput() { return out; }

    /**
     * Runs the model on {@code probeInput} (rows of another trajectory's x_t at the next step's time-step) without
     * touching this trajectory; returns a live buffer.
     */
    public INDArray probe(INDArray probeInput) {
        long[] shape = probeInput.shape();
        if (probeOut == null || !Arrays.equals(probeOut.shape(), shape)) {
            probeOut = Nd4j.create(DataType.FLOAT, shape);
            tProbe = new long[(int) shape[0]];
        }
        Arrays.fill(tProbe, schedule.timestep(nextStep));
        model.predict(probeInput, tProbe, probeOut);
        return probeOut;
    }

    /** Step k = {@link #nextStep()}: prediction at x_t, then the scheduler update. */
    public void step() {
        if (ids == null) throw new IllegalStateException("no batch begun");
        if (nextStep >= schedule.size()) throw new IllegalStateException("batch already at the last step");
        int k = nextStep;
        long t = schedule.timestep(k);
        long prev = schedule.previous(k);
        Arrays.fill(tBuf, t);
        model.predict(x, tBuf, out);
        boolean uses = scheduler.usesNoise(t, prev);
        if (uses) noise.fill(noiseBuf, ids, NoiseSource.streamForStep(k));
        scheduler.step(out, t, prev, x, uses ? noiseBuf : null, x0, xNext);
        INDArray tmp = x;
        x = xNext;
        xNext = tmp;
        nextStep++;
    }

    /** The model input of the step just taken (valid after {@link #step()} until the next one). */
    public INDArray previousInput() { return xNext; }
}
