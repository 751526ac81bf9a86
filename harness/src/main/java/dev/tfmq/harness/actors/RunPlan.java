package dev.tfmq.harness.actors;

import dev.tfmq.harness.eval.ImageFeaturizer;
import dev.tfmq.harness.eval.OnlineSelection;
import dev.tfmq.harness.pipeline.DenoiserSide;
import dev.tfmq.harness.run.RunDirectory;
import dev.tfmq.harness.run.RunState;
import dev.tfmq.model.scheduler.NoiseSource;
import dev.tfmq.model.scheduler.Scheduler;
import dev.tfmq.model.scheduler.TimestepSchedule;

import java.util.List;
import java.util.function.Supplier;

/**
 * What the coordinator is started with (local objects, not messages): model factories run on each worker's own
 * thread, the feature network factory, the restored or fresh run state, the run directory and the live sinks.
 */
public record RunPlan(Supplier<DenoiserSide> fpModel, Supplier<DenoiserSide> quantizedModel,
                      Supplier<ImageFeaturizer> featurizer, Supplier<Scheduler> scheduler, TimestepSchedule schedule,
                      long seed, long[] sampleShape, int samples, int batchSize, int probeSamples, int nd4jThreads,
                      String selectionMode, String selectionMetric, OnlineSelection.Settings onlineSelection,
                      int checkpointEvery, int evaluateEvery, int gridsKept,
                      int maxUncommitted, RunState state, RunDirectory dir, List<LiveSink> sinks) {
    public int totalBatches() { return (samples + batchSize - 1) / batchSize; }

    public NoiseSource noise() { return new NoiseSource(seed); }
}
