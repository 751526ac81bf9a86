package dev.tfmq.strategies.recipe;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigValueType;
import dev.tfmq.model.scheduler.Scheduler;
import dev.tfmq.model.scheduler.SchedulerConfig;
import dev.tfmq.model.scheduler.Schedulers;
import dev.tfmq.model.scheduler.TimestepSchedule;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Set;

/**
 * The deployed sampler (whose finite set of time-steps FSC and the cache are built for) and the calibration data:
 * Q-Diffusion style (weight-steps uniformly chosen steps × samples-per-step, activation calibration on
 * activation-steps; 0 = every step) or PTQ4DM (normal time-step draws), seeded, with a memory budget past which
 * the inputs spill to disk.
 */
public record CalibrationSettings(
        SchedulerConfig scheduler,
        SchedulerConfig.Kind samplerKind,
        double eta,
        int steps,
        Spacing spacing,
        DataMode data,
        int samplesPerStep,
        int weightSteps,
        int activationSteps,
        boolean independentTrajectories,
        int ptq4dmSamples,
        double ptq4dmMean,
        double ptq4dmStd,
        int batch,
        long memoryBudget,
        Path spillDir,
        long seed) {

    public enum Spacing { CONFIG, QUADRATIC }

    public enum DataMode { QDIFFUSION, PTQ4DM }

    public Scheduler createScheduler() { return Schedulers.create(scheduler, samplerKind, eta); }

    public TimestepSchedule schedule() {
        return spacing == Spacing.QUADRATIC ? TimestepSchedule.quadratic(scheduler.numTrainTimesteps(), steps)
                : TimestepSchedule.spaced(scheduler, steps);
    }

    /**
     * Reads the {@code calibration} block (or the config itself). {@code scheduler} is the folder (or file) of a
     * diffusers scheduler_config.json; relative paths resolve against {@code baseDir}.
     */
    public static CalibrationSettings fromConfig(Config config, Path baseDir) {
        Config c = config.hasPath("calibration") && config.getValue("calibration").valueType() == ConfigValueType.OBJECT
                ? config.getConfig("calibration") : config;
        ConfigFields f = new ConfigFields(c, "calibration", Set.of("scheduler", "sampler", "eta", "steps", "spacing", "data",
                "samples-per-step", "weight-steps", "activation-steps", "trajectories", "ptq4dm", "batch", "memory-budget",
                "spill-dir", "seed"));
        if (!f.has("scheduler")) throw new IllegalArgumentException(f.at("scheduler") + ": missing (folder of scheduler_config.json)");
        Path p = baseDir.resolve(f.string("scheduler", ""));
        Path file = Files.isDirectory(p) ? p.resolve("scheduler_config.json") : p;
        if (!Files.isRegularFile(file)) throw new IllegalArgumentException(f.at("scheduler") + ": no scheduler config at " + file);
        SchedulerConfig sc;
        try {
            sc = SchedulerConfig.read(file);
        } catch (IOException e) {
            throw new UncheckedIOException(f.at("scheduler") + ": cannot read " + file, e);
        }
        ConfigFields pf = new ConfigFields(f.sub("ptq4dm"), "calibration.ptq4dm", Set.of("samples", "mean", "std"));
        String spill = f.string("spill-dir", null);
        return new CalibrationSettings(sc,
                f.choice("sampler", "ddim", Map.of("ddim", SchedulerConfig.Kind.DDIM, "ddpm", SchedulerConfig.Kind.DDPM)),
                f.number("eta", 0.0, 0, 1), f.integer("steps", 100, 1, 100_000),
                f.choice("spacing", "config", Map.of("config", Spacing.CONFIG, "quadratic", Spacing.QUADRATIC)),
                f.choice("data", "qdiffusion", Map.of("qdiffusion", DataMode.QDIFFUSION, "ptq4dm", DataMode.PTQ4DM)),
                f.integer("samples-per-step", 256, 1, 1 << 20), f.integer("weight-steps", 20, 1, 100_000),
                f.integer("activation-steps", 0, 0, 100_000),
                f.choice("trajectories", "independent", Map.of("independent", true, "shared", false)),
                pf.integer("samples", 1024, 1, 1 << 24), pf.number("mean", 0.4, 0, 1), pf.number("std", 0.4, 1e-6, 10),
                f.integer("batch", 32, 1, 1 << 16), f.bytes("memory-budget", 2L << 30),
                spill == null ? null : baseDir.resolve(spill), f.longValue("seed", 1234, Long.MIN_VALUE));
    }
}
