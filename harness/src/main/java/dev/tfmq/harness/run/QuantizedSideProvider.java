package dev.tfmq.harness.run;

import com.typesafe.config.Config;
import dev.tfmq.harness.pipeline.DenoiserSide;
import dev.tfmq.model.scheduler.SchedulerConfig;
import dev.tfmq.model.scheduler.TimestepSchedule;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;
import java.util.function.Supplier;

/**
 * Builds the quantized side of a run from a recipe: calibrates (or loads the cached artifact from
 * {@code artifactDir}) and returns a factory of independent model instances, one per worker thread. Found with
 * {@link java.util.ServiceLoader}; the strategies module registers the TFMQ recipes.
 */
public interface QuantizedSideProvider {
    /** Whether this provider implements the named recipe. */
    boolean handles(String recipe);

    /**
     * Checks the recipe (with the run's bits) without calibrating, so that a bad recipe key fails before any expensive
     * phase, naming the key and the value.
     */
    void check(String recipeName, Config recipe, int weightBits, int activationBits);

    /**
     * @param artifactDir cache entry for this (model, scheduler, recipe, bits, overrides): reuse what is there, or
     *                    calibrate and write the artifact there
     */
    Prepared prepare(Request request) throws IOException;

    /**
     * @param schedulerFile the scheduler_config.json the run samples with; {@code sampler}/{@code eta}/{@code steps}
     *                      the run's sampler, which calibration must target
     */
    record Request(Path modelDir, String recipeName, Config recipe, int weightBits, int activationBits,
                   SchedulerConfig scheduler, Path schedulerFile, String sampler, double eta, int steps,
                   TimestepSchedule schedule, long seed, Path artifactDir, java.io.PrintStream log) {}

    /**
     * @param cacheHit   the artifact was loaded, not calibrated
     * @param provenance what to record (artifact checksum, calibration time, sizes ...)
     */
    record Prepared(Supplier<DenoiserSide> factory, boolean cacheHit, Map<String, Object> provenance) {}
}
