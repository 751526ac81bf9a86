package dev.tfmq.model.scheduler;

import java.util.Arrays;
import java.util.Locale;

/**
 * The time-steps of one sampling run as a first-class object: step k evaluates the model at {@code timestep(k)} and
 * moves the sample to {@code previous(k)} (−1 means "past the last step": ᾱ of the final alpha, see the schedulers).
 * The quantization code can ask for the finite set of time-steps a run uses ({@link #distinctTimesteps()}).
 *
 * <p>Three families:
 * <ul>
 *   <li>{@link #spaced}: exactly diffusers 0.25 {@code set_timesteps(N)} for {@code leading}, {@code trailing} and
 *       {@code linspace} spacing plus {@code steps_offset}, and diffusers' own notion of the previous time-step,
 *       {@code t − T // N} (T = num_train_timesteps), which diffusers uses even where it is not the next listed
 *       time-step (e.g. linspace spacing).</li>
 *   <li>{@link #custom}: an explicit list; the previous time-step is the next entry, −1 after the last (as diffusers
 *       does for custom time-steps).</li>
 *   <li>{@link #quadratic}: the quadratic time-step skip of the DDIM paper's CIFAR-10 setup:
 *       seq_j = ⌊(j·√(0.8·T)/(N−1))²⌋, j = 0..N−1, computed like {@code numpy.linspace(0, sqrt(0.8*T), N)**2}, run from
 *       seq_{N−1} down to seq_0 with previous time-steps seq_{j−1} and −1 after seq_0. For large N the first few
 *       entries repeat (e.g. N = 100 starts 0, 0, 0, 0, 1, …); such a step has ᾱ_t = ᾱ_prev and leaves the sample
 *       unchanged, exactly as in the reference implementation, so the list is kept as the formula gives it.</li>
 * </ul>
 */
public final class TimestepSchedule {
    private final long[] timesteps;
    private final long[] previous;
    private final int numTrainTimesteps;
    private final String description;

    private TimestepSchedule(long[] timesteps, long[] previous, int numTrainTimesteps, String description) {
        this.timesteps = timesteps;
        this.previous = previous;
        this.numTrainTimesteps = numTrainTimesteps;
        this.description = description;
        for (int k = 0; k < timesteps.length; k++) {
            if (timesteps[k] < 0 || timesteps[k] >= numTrainTimesteps) {
                throw new IllegalArgumentException("time-step " + timesteps[k] + " at step " + k
                        + " is outside [0, " + numTrainTimesteps + ")");
            }
            if (previous[k] < -1 || previous[k] >= numTrainTimesteps) {
                throw new IllegalArgumentException("previous time-step " + previous[k] + " at step " + k
                        + " is outside [-1, " + numTrainTimesteps + ")");
            }
        }
    }

    /** diffusers {@code set_timesteps(numInferenceSteps)} with the config's spacing and steps_offset. */
    public static TimestepSchedule spaced(SchedulerConfig c, int numInferenceSteps) {
        return spaced(c.numTrainTimesteps(), numInferenceSteps, c.timestepSpacing(), c.stepsOffset());
    }

    public static TimestepSchedule spaced(int numTrain, int n, SchedulerConfig.TimestepSpacing spacing, int stepsOffset) {
        if (n < 1 || n > numTrain) {
            throw new IllegalArgumentException("number of inference steps must be in [1, " + numTrain + "], got " + n);
        }
        long[] ts;
        switch (spacing) {
            case LEADING -> {
                long ratio = numTrain / n;
                ts = new long[n];
                for (int k = 0; k < n; k++) ts[k] = (long) (n - 1 - k) * ratio + stepsOffset;
            }
            case TRAILING -> {
                // np.round(np.arange(T, 0, -T / n)).astype(np.int64) - 1, with numpy's arange arithmetic
                double step = -((double) numTrain / n);
                double start = numTrain;
                int len = (int) Math.ceil((0 - start) / step);
                double delta = (start + step) - start;
                ts = new long[len];
                for (int k = 0; k < len; k++) {
                    double v = k == 0 ? start : k == 1 ? start + step : start + k * delta;
                    ts[k] = (long) Math.rint(v) - 1;
                }
            }
            case LINSPACE -> {
                // np.linspace(0, T - 1, n).round()[::-1]
                ts = new long[n];
                double stepv = n == 1 ? 0 : (double) (numTrain - 1) / (n - 1);
                for (int j = 0; j < n; j++) {
                    double v = (j == n - 1 && n > 1) ? numTrain - 1 : j * stepv;
                    ts[n - 1 - j] = (long) Math.rint(v);
                }
            }
            default -> throw new IllegalArgumentException(String.valueOf(spacing));
        }
        long[] prev = new long[ts.length];
        long ratio = numTrain / n;
        for (int k = 0; k < ts.length; k++) prev[k] = ts[k] - ratio >= 0 ? ts[k] - ratio : -1;
        return new TimestepSchedule(ts, prev, numTrain,
                spacing.name().toLowerCase(Locale.ROOT) + "(" + n + (stepsOffset != 0 ? ", offset " + stepsOffset : "") + ")");
    }

    /**
     * An explicit, non-increasing list of time-steps (repeats allowed: such a step leaves the sample unchanged);
     * the previous time-step of each is the next entry, −1 after the last.
     */
    public static TimestepSchedule custom(long[] timesteps, int numTrainTimesteps) {
        if (timesteps.length == 0) throw new IllegalArgumentException("empty time-step list");
        for (int k = 1; k < timesteps.length; k++) {
            if (timesteps[k] > timesteps[k - 1]) {
                throw new IllegalArgumentException("time-steps must not increase: " + timesteps[k - 1] + " then "
                        + timesteps[k] + " at step " + k);
            }
        }
        long[] ts = timesteps.clone();
        long[] prev = new long[ts.length];
        for (int k = 0; k < ts.length; k++) prev[k] = k + 1 < ts.length ? ts[k + 1] : -1;
        return new TimestepSchedule(ts, prev, numTrainTimesteps, "custom(" + ts.length + ")");
    }

    /** The quadratic skip with the DDIM paper's fraction 0.8 of the training steps. */
    public static TimestepSchedule quadratic(int numTrainTimesteps, int n) {
        return quadratic(numTrainTimesteps, n, 0.8);
    }

    /** seq_j = ⌊(j·√(fraction·T)/(N−1))²⌋ for j = 0..N−1, stepped from the last down to the first. */
    public static TimestepSchedule quadratic(int numTrainTimesteps, int n, double fraction) {
        if (n < 1) throw new IllegalArgumentException("number of steps must be >= 1, got " + n);
        if (!(fraction > 0 && fraction <= 1)) throw new IllegalArgumentException("fraction must be in (0, 1], got " + fraction);
        double stop = Math.sqrt(numTrainTimesteps * fraction);
        long[] seq = new long[n];
        double step = n == 1 ? 0 : stop / (n - 1);
        for (int j = 0; j < n; j++) {
            double y = (j == n - 1 && n > 1) ? stop : j * step;
            seq[j] = (long) (y * y);
        }
        long[] ts = new long[n];
        for (int k = 0; k < n; k++) ts[k] = seq[n - 1 - k];
        TimestepSchedule c = custom(ts, numTrainTimesteps);
        return new TimestepSchedule(c.timesteps, c.previous, numTrainTimesteps, "quadratic(" + n + ")");
    }

    public int size() { return timesteps.length; }

    public long timestep(int k) { return timesteps[k]; }

    /** The time-step the sample moves to at step k; −1 after the last step. */
    public long previous(int k) { return previous[k]; }

    public long[] timesteps() { return timesteps.clone(); }

    public long[] previousTimesteps() { return previous.clone(); }

    /** The distinct time-steps at which the model is evaluated, in descending order. */
    public long[] distinctTimesteps() {
        return Arrays.stream(timesteps).distinct().boxed().sorted((a, b) -> Long.compare(b, a))
                .mapToLong(Long::longValue).toArray();
    }

    public int numTrainTimesteps() { return numTrainTimesteps; }

    @Override
    public String toString() { return description + Arrays.toString(timesteps); }
}
