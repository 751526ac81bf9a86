package dev.tfmq.harness.cli;

import dev.tfmq.model.scheduler.Scheduler;
import dev.tfmq.model.scheduler.SchedulerConfig;
import dev.tfmq.model.scheduler.Schedulers;
import dev.tfmq.model.scheduler.TimestepSchedule;
import picocli.CommandLine.Option;

/**
 * The sampler options of every command that runs the denoising loop ({@code tfmq sample}, {@code tfmq probe bias}):
 * scheduler kind, time-step selection, DDIM η and the noise seed. {@code --steps} stays with each command, whose
 * defaults differ.
 */
final class SamplerOptions {
    @Option(names = "--scheduler", defaultValue = "ddim", description = "ddim or ddpm (default ${DEFAULT-VALUE})")
    String scheduler;

    @Option(names = "--skip", defaultValue = "uniform",
            description = "time-step selection: uniform (the config's timestep_spacing) or quadratic (DDIM CIFAR-10 setup)")
    String skip;

    @Option(names = "--eta", defaultValue = "0", description = "DDIM eta (default ${DEFAULT-VALUE})")
    double eta;

    @Option(names = "--seed", defaultValue = "0", description = "noise seed (default ${DEFAULT-VALUE})")
    long seed;

    SchedulerConfig.Kind kind() { return Schedulers.kind(scheduler); }

    Scheduler create(SchedulerConfig cfg) { return Schedulers.create(cfg, kind(), eta); }

    /** The sampling time-steps of {@code --skip} (uniform: the config's timestep_spacing; quadratic) and {@code steps}. */
    TimestepSchedule schedule(SchedulerConfig cfg, int steps) {
        return switch (skip) {
            case "uniform" -> TimestepSchedule.spaced(cfg, steps);
            case "quadratic" -> TimestepSchedule.quadratic(cfg.numTrainTimesteps(), steps);
            default -> throw new IllegalArgumentException("--skip '" + skip + "': expected uniform or quadratic");
        };
    }
}
