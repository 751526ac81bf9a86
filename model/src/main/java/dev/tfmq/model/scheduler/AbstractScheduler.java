package dev.tfmq.model.scheduler;

import org.nd4j.linalg.api.ndarray.INDArray;

/** What DDIM and DDPM share: the tables and the conversion of a model output into x0 and ε predictions. */
abstract class AbstractScheduler implements Scheduler {
    protected final SchedulerConfig config;
    protected final NoiseSchedule schedule;

    AbstractScheduler(SchedulerConfig config) {
        this.config = config;
        this.schedule = NoiseSchedule.of(config);
    }

    @Override
    public SchedulerConfig config() { return config; }

    @Override
    public NoiseSchedule noiseSchedule() { return schedule; }

    /** ᾱ at a time-step of the training grid, checked. */
    protected double alphaBar(long t) {
        if (t < 0 || t >= schedule.numTrainTimesteps()) {
            throw new IllegalArgumentException("time-step " + t + " outside [0, " + schedule.numTrainTimesteps() + ")");
        }
        return schedule.alphaCumprod((int) t);
    }

    /**
     * Coefficients of x0 = px·x + pm·m and ε = ex·x + em·m (m: model output) at ᾱ_t = a, per prediction type;
     * ε is derived from the unclipped x0, as diffusers does with {@code use_clipped_model_output=False}.
     * Returns {px, pm, ex, em}.
     */
    protected double[] predictionCoefficients(double a) {
        double sa = Math.sqrt(a);
        double sb = Math.sqrt(1 - a);
        return switch (config.predictionType()) {
            case EPSILON -> new double[]{1 / sa, -sb / sa, 0, 1};
            case SAMPLE -> new double[]{0, 1, 1 / sb, -sa / sb};
            case V_PREDICTION -> new double[]{sa, -sb, sb, sa};
        };
    }

    protected double clip(double x0) {
        if (!config.clipSample()) return x0;
        double r = config.clipSampleRange();
        return x0 < -r ? -r : (x0 > r ? r : x0);
    }

    protected static void checkNoise(boolean uses, INDArray noise, long t) {
        if (uses && noise == null) throw new IllegalArgumentException("the step at time-step " + t + " needs noise");
    }
}
