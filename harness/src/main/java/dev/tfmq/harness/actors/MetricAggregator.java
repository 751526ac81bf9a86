package dev.tfmq.harness.actors;

import dev.tfmq.harness.eval.DisturbanceTable;
import dev.tfmq.harness.eval.ImageFeaturizer;
import dev.tfmq.harness.eval.QualitySnapshot;
import dev.tfmq.harness.eval.SelectionTable;
import dev.tfmq.harness.eval.Tensor;
import dev.tfmq.harness.pipeline.Nd4jThreads;
import dev.tfmq.harness.run.RunDirectory;
import dev.tfmq.harness.run.RunState;
import dev.tfmq.metrics.paired.PairedImageMetrics;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.Behaviors;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Commits batches in order once both their features and their disturbance table are in, checkpoints the run state
 * every few batches (the checkpoint is the commit point; the journal line follows it), recomputes FID/sFID/KID with
 * intervals periodically, and publishes progress. When the last batch is committed it writes the final checkpoint
 * and hands the result to the coordinator.
 */
public final class MetricAggregator {
    public sealed interface Command extends CborMessage permits BatchFeatures, BatchDisturbance, SamplingStarted {}

    public record BatchFeatures(BatchSpec batch, Tensor fpPooled, Tensor qPooled, Tensor fpSpatial, Tensor qSpatial,
                                double[] mse, double[] psnr, double[] ssim, long fpForwardNanos, long qForwardNanos,
                                ActorRef<BatchConductor.Command> conductor) implements Command {}

    public record BatchDisturbance(BatchSpec batch, DisturbanceTable.State table) implements Command {}

    /** Sampling begins now with this selection (also recorded in the checkpoint). */
    public record SamplingStarted(SelectionTable selection) implements Command {}

    /** Final state handed to the coordinator. */
    public record Result(long samples, int batches, QualitySnapshot quality, List<QualitySnapshot> history,
                         DisturbanceTable.State disturbance, SelectionTable selection, double samplesPerSecond,
                         double wallSeconds, double fpForwardSeconds, double qForwardSeconds, long samplesThisSession) {}

    private MetricAggregator() {}

    public static Behavior<Command> create(RunState state, RunDirectory dir, int totalBatches, int checkpointEvery,
                                           int evaluateEvery, long totalSamples, int nd4jThreads, ActorRef<Publisher.Command> publisher,
                                           ActorRef<RunCoordinator.Command> coordinator) {
        return Behaviors.setup(ctx -> new Object() {
            { Nd4jThreads.limitCurrentThread(nd4jThreads); }
            final Map<Integer, BatchFeatures> features = new HashMap<>();
            final Map<Integer, BatchDisturbance> tables = new HashMap<>();
            long start = System.nanoTime();
            long sessionSamples;
            long fpNanos, qNanos;

            Behavior<Command> behavior() {
                return Behaviors.receive(Command.class)
                        .onMessage(SamplingStarted.class, s -> {
                            state.selection(s.selection());
                            start = System.nanoTime();
                            if (state.committedBatches() >= totalBatches) finish();
                            return Behaviors.same();
                        })
                        .onMessage(BatchFeatures.class, f -> {
                            features.put(f.batch().index(), f);
                            drain();
                            return Behaviors.same();
                        })
                        .onMessage(BatchDisturbance.class, d -> {
                            tables.put(d.batch().index(), d);
                            drain();
                            return Behaviors.same();
                        })
                        .build();
            }

            void drain() {
                while (features.containsKey(state.committedBatches()) && tables.containsKey(state.committedBatches())) {
                    int i = state.committedBatches();
                    BatchFeatures f = features.remove(i);
                    BatchDisturbance d = tables.remove(i);
                    state.commit(f.batch(), extracted(f.fpPooled(), f.fpSpatial()), extracted(f.qPooled(), f.qSpatial()),
                            new PairedImageMetrics.PerSample(f.mse(), f.psnr(), f.ssim(), 1.0), DisturbanceTable.of(d.table()));
                    sessionSamples += f.batch().size();
                    fpNanos += f.fpForwardNanos();
                    qNanos += f.qForwardNanos();
                    int done = state.committedBatches();
                    boolean last = done == totalBatches;
                    dir.journal("batch", Map.of("index", i, "samples", f.batch().size(), "committed_samples", state.samples()));
                    if (done % evaluateEvery == 0 && !last) {
                        QualitySnapshot q = state.evaluate(false);
                        publisher.tell(new Publisher.QualityUpdate(q));
                    }
                    if (done % checkpointEvery == 0 || last) {
                        dir.writeCheckpoint(state.checkpoint());
                        dir.writeText("disturbance.csv", state.disturbance().toCsv());
                        dir.journal("checkpoint", Map.of("batches", done, "samples", state.samples()));
                    }
                    double secs = (System.nanoTime() - start) / 1e9;
                    double rate = secs > 0 ? sessionSamples / secs : 0;
                    double eta = rate > 0 ? (totalSamples - state.samples()) / rate : Double.NaN;
                    publisher.tell(new Publisher.ProgressUpdate(state.samples(), totalSamples, done, totalBatches, rate, eta,
                            boundRate()));
                    publisher.tell(new Publisher.DisturbanceUpdate(state.disturbance().state()));
                    f.conductor().tell(new BatchConductor.BatchCommitted(i));
                    if (last) finish();
                }
            }

            double boundRate() {
                double slower = Math.max(fpNanos, qNanos) / 1e9;
                return slower > 0 ? sessionSamples / slower : 0;
            }

            void finish() {
                QualitySnapshot q = state.evaluate(true);
                publisher.tell(new Publisher.QualityUpdate(q));
                dir.writeCheckpoint(state.checkpoint());
                dir.writeText("disturbance.csv", state.disturbance().toCsv());
                double secs = (System.nanoTime() - start) / 1e9;
                coordinator.tell(new RunCoordinator.AggregationDone(new Result(state.samples(), state.committedBatches(), q,
                        state.history(), state.disturbance().state(), state.selection(), secs > 0 ? sessionSamples / secs : 0,
                        secs, fpNanos / 1e9, qNanos / 1e9, sessionSamples)));
            }
        }.behavior());
    }

    private static ImageFeaturizer.Extracted extracted(Tensor pooled, Tensor spatial) {
        return new ImageFeaturizer.Extracted(pooled.toArray(), spatial == null ? null : spatial.toArray());
    }
}
