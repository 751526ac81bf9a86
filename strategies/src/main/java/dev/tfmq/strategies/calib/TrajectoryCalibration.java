package dev.tfmq.strategies.calib;

import dev.tfmq.model.Denoiser;
import dev.tfmq.model.scheduler.NoiseSource;
import dev.tfmq.model.scheduler.Sampler;
import dev.tfmq.model.scheduler.Scheduler;
import dev.tfmq.model.scheduler.TimestepSchedule;
import dev.tfmq.strategies.recipe.ProgressListener;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.util.Arrays;

/**
 * Calibration inputs from the full-precision model's own sampling trajectories (method spec §3.3, Q-Diffusion
 * style). For every chosen step k, fresh noise is denoised from step 0 to step k and x at step k is recorded with
 * its time-step. Each step gets its own trajectories (sample indices k·n … k·n + n − 1 of the noise source), as in
 * the reference code, which costs O(N²) model calls; {@link #collectShared} is the O(N) variant that records all
 * chosen steps of one set of trajectories through the {@link Sampler}'s step listener.
 *
 * <p>The partial loops follow the Sampler's noise convention exactly (stream 0 for x_T, stream k + 1 for the noise of
 * step k), so x at step k equals what a full Sampler run over the same sample indices shows at step k.
 */
public final class TrajectoryCalibration {
    /** Phase and item of the work reported to the progress listener (counted in sample-steps: x of one sample moved one step). */
    public static final String PHASE = "calibration-data";
    public static final String ITEM = "trajectories";
    public static final String UNIT = "sample-steps";

    private final Denoiser model;
    private final Scheduler scheduler;
    private final TimestepSchedule schedule;
    private final NoiseSource noise;
    private final long[] chw;
    private final int batch;
    private final ProgressListener progress;

    public TrajectoryCalibration(Denoiser model, Scheduler scheduler, TimestepSchedule schedule, long seed, long[] chw, int batch) {
        this(model, scheduler, schedule, seed, chw, batch, ProgressListener.NONE);
    }

    /** As above, reporting the sample-steps done to {@code progress}. */
    public TrajectoryCalibration(Denoiser model, Scheduler scheduler, TimestepSchedule schedule, long seed, long[] chw, int batch,
                                 ProgressListener progress) {
        if (batch < 1) throw new IllegalArgumentException("calibration batch size must be >= 1, got " + batch);
        this.model = model;
        this.scheduler = scheduler;
        this.schedule = schedule;
        this.noise = new NoiseSource(seed);
        this.chw = chw.clone();
        this.batch = batch;
        this.progress = progress;
    }

    /** Q-Diffusion's choice: {@code count} steps uniformly spaced over the schedule, indices 0, N/count, 2N/count, … */
    public static int[] uniformSteps(int scheduleSize, int count) {
        if (count < 1 || count > scheduleSize) {
            throw new IllegalArgumentException("number of calibration steps must be in [1, " + scheduleSize + "], got " + count);
        }
        int[] out = new int[count];
        for (int i = 0; i < count; i++) out[i] = (int) ((long) i * scheduleSize / count);
        return out;
    }

    /** Independent trajectories per step: {@code perStep[j]} samples at step {@code steps[j]}. */
    public void collect(int[] steps, int[] perStep, CalibrationStore out) {
        if (steps.length != perStep.length) throw new IllegalArgumentException(steps.length + " steps but " + perStep.length + " counts");
        long total = 0;
        for (int j = 0; j < steps.length; j++) total += (long) perStep[j] * checkStep(steps[j]);
        long[] done = {0};
        progress.onWork(PHASE, ITEM, 0, total, UNIT);
        long base = 0;
        for (int j = 0; j < steps.length; j++) {
            int k = checkStep(steps[j]);
            for (int s = 0; s < perStep[j]; s += batch) {
                int n = Math.min(batch, perStep[j] - s);
                long[] idx = new long[n];
                for (int i = 0; i < n; i++) idx[i] = base + s + i;
                out.add(k, schedule.timestep(k), runTo(k, idx, done, total));
            }
            base += perStep[j];
        }
    }

    public void collect(int[] steps, int perStep, CalibrationStore out) {
        int[] counts = new int[steps.length];
        Arrays.fill(counts, perStep);
        collect(steps, counts, out);
    }

    /** x at step k of the trajectories of these sample indices. */
    INDArray runTo(int k, long[] idx) {
        return runTo(k, idx, new long[1], 0);
    }

    /** As above, adding the sample-steps done to {@code done[0]} and reporting them against {@code total}. */
    private INDArray runTo(int k, long[] idx, long[] done, long total) {
        long[] shape = {idx.length, chw[0], chw[1], chw[2]};
        INDArray x = Nd4j.create(DataType.FLOAT, shape);
        INDArray next = Nd4j.create(DataType.FLOAT, shape);
        INDArray eps = Nd4j.create(DataType.FLOAT, shape);
        INDArray z = Nd4j.create(DataType.FLOAT, shape);
        long[] tb = new long[idx.length];
        noise.fill(x, idx, NoiseSource.STREAM_INITIAL);
        for (int s = 0; s < k; s++) {
            long t = schedule.timestep(s);
            long prev = schedule.previous(s);
            Arrays.fill(tb, t);
            model.predict(x, tb, eps);
            boolean uses = scheduler.usesNoise(t, prev);
            if (uses) noise.fill(z, idx, NoiseSource.streamForStep(s));
            scheduler.step(eps, t, prev, x, uses ? z : null, null, next);
            INDArray tmp = x;
            x = next;
            next = tmp;
            done[0] += idx.length;
            if (total > 0) progress.onWork(PHASE, ITEM, done[0], total, UNIT);
        }
        return x;
    }

    /** One set of trajectories (sample indices 0..n−1) recorded at every chosen step: O(N) model calls. */
    public void collectShared(int[] steps, int samples, CalibrationStore out) {
        boolean[] want = new boolean[schedule.size()];
        for (int k : steps) want[checkStep(k)] = true;
        Sampler sampler = new Sampler(model, scheduler, schedule);
        long total = (long) samples * schedule.size();
        long[] done = {0};
        progress.onWork(PHASE, ITEM, 0, total, UNIT);
        for (int s = 0; s < samples; s += batch) {
            int n = Math.min(batch, samples - s);
            long[] idx = new long[n];
            for (int i = 0; i < n; i++) idx[i] = s + i;
            sampler.sample(idx, chw, noise, (k, t, xt, mo, x0, xp) -> {
                if (want[k]) out.add(k, t, xt);
                done[0] += n;
                progress.onWork(PHASE, ITEM, done[0], total, UNIT);
            });
        }
    }

    private int checkStep(int k) {
        if (k < 0 || k >= schedule.size()) {
            throw new IllegalArgumentException("calibration step " + k + " is outside the schedule's steps [0, " + schedule.size() + ")");
        }
        return k;
    }
}
