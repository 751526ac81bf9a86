package dev.tfmq.harness.actors;

import dev.tfmq.harness.eval.DisturbanceTable;
import dev.tfmq.harness.eval.ImageFeaturizer;
import dev.tfmq.harness.eval.OnlineSelection;
import dev.tfmq.harness.eval.QualitySnapshot;
import dev.tfmq.harness.eval.SelectionTable;
import dev.tfmq.harness.eval.Tensor;
import dev.tfmq.harness.pipeline.Nd4jThreads;
import dev.tfmq.harness.run.RunDirectory;
import dev.tfmq.harness.run.RunState;
import dev.tfmq.metrics.paired.PairedImageMetrics;
import dev.tfmq.strategies.temporal.OutputErrors;
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
 *
 * <p>Under a selection by the output error, committing is also where the table is revised: each batch's probe
 * errors, in batch order, feed the online selection; every revision is journaled ({@code selection-revised}) and
 * published, and after the commit of batch c the coordinator may release batch c + delay with its table.
 */
public final class MetricAggregator {
    public sealed interface Command extends CborMessage permits BatchFeatures, BatchDisturbance, SamplingStarted {}

    public record BatchFeatures(BatchSpec batch, Tensor fpPooled, Tensor qPooled, Tensor fpSpatial, Tensor qSpatial,
                                double[] mse, double[] psnr, double[] ssim, long fpForwardNanos, long qForwardNanos,
                                ActorRef<BatchConductor.Command> conductor) implements Command {}

    /** @param outputErrors every candidate's ε̂ error on the FP probe rows per step (output selection only, else null) */
    public record BatchDisturbance(BatchSpec batch, DisturbanceTable.State table, OutputErrors outputErrors) implements Command {}

    /** Sampling begins now with this selection (also recorded in the checkpoint). */
    public record SamplingStarted(SelectionTable selection) implements Command {}

    /** Final state handed to the coordinator. */
    /** @param online the online revision of an output table (null for a table decided once) */
    public record Result(long samples, int batches, QualitySnapshot quality, List<QualitySnapshot> history,
                         DisturbanceTable.State disturbance, SelectionTable selection, OnlineSelection.View online,
                         double samplesPerSecond, double wallSeconds, double fpForwardSeconds, double qForwardSeconds,
                         long samplesThisSession) {}

    private MetricAggregator() {}

    /**
     * @param timesteps the schedule's time-steps (of a batch's probe errors)
     * @param online    the settling rule and delay of an output table's online revision
     */
    public static Behavior<Command> create(RunState state, RunDirectory dir, int totalBatches, int checkpointEvery,
                                           int evaluateEvery, long totalSamples, int nd4jThreads, long[] timesteps,
                                           OnlineSelection.Settings online, ActorRef<Publisher.Command> publisher,
                                           ActorRef<StrategySelector.Command> selector, ActorRef<RunCoordinator.Command> coordinator) {
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
                            OnlineSelection o = state.startSampling(s.selection(), timesteps, online);
                            start = System.nanoTime();
                            if (o != null) {
                                published(o);
                                // batches up to committed + delay − 1 have their tables already (revisions before the checkpoint)
                                for (int b = state.committedBatches(); b < Math.min(totalBatches, state.committedBatches() + online.delayBatches()); b++) {
                                    coordinator.tell(new RunCoordinator.BatchReleased(b, o.tableFor(b)));
                                }
                            }
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
                    List<OnlineSelection.Revision> revised = state.commit(f.batch(), extracted(f.fpPooled(), f.fpSpatial()),
                            extracted(f.qPooled(), f.qSpatial()), new PairedImageMetrics.PerSample(f.mse(), f.psnr(), f.ssim(), 1.0),
                            DisturbanceTable.of(d.table()), d.outputErrors());
                    sessionSamples += f.batch().size();
                    fpNanos += f.fpForwardNanos();
                    qNanos += f.qForwardNanos();
                    int done = state.committedBatches();
                    boolean last = done == totalBatches;
                    dir.journal("batch", Map.of("index", i, "samples", f.batch().size(), "committed_samples", state.samples()));
                    for (OnlineSelection.Revision r : revised) dir.journal(SELECTION_REVISED, revisionFields(r));
                    OnlineSelection o = state.online();
                    if (o != null) {
                        published(o);
                        int release = i + online.delayBatches();
                        if (release < totalBatches) coordinator.tell(new RunCoordinator.BatchReleased(release, o.tableFor(release)));
                    }
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

            /** The selector shows the latest decisions and their evidence. */
            void published(OnlineSelection o) {
                selector.tell(new StrategySelector.Revised(o.tableFor(Integer.MAX_VALUE), o.view()));
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
                        state.history(), state.disturbance().state(), state.selection(),
                        state.online() == null ? null : state.online().view(), secs > 0 ? sessionSamples / secs : 0,
                        secs, fpNanos / 1e9, qNanos / 1e9, sessionSamples)));
            }
        }.behavior());
    }

    /** The journal event of a revision (resume checks the checkpoint's revisions against these lines). */
    public static final String SELECTION_REVISED = "selection-revised";

    private static final com.fasterxml.jackson.databind.ObjectMapper SNAKE = new com.fasterxml.jackson.databind.ObjectMapper()
            .setPropertyNamingStrategy(com.fasterxml.jackson.databind.PropertyNamingStrategies.SNAKE_CASE);

    /** A revision as journal fields, snake_case like the journal's other events (decided_after_batch, from_batch, ...). */
    @SuppressWarnings("unchecked")
    public static Map<String, Object> revisionFields(OnlineSelection.Revision r) {
        return SNAKE.convertValue(r, Map.class);
    }

    private static ImageFeaturizer.Extracted extracted(Tensor pooled, Tensor spatial) {
        return new ImageFeaturizer.Extracted(pooled.toArray(), spatial == null ? null : spatial.toArray());
    }
}
