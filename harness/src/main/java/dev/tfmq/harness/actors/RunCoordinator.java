package dev.tfmq.harness.actors;

import dev.tfmq.harness.eval.SelectionTable;
import dev.tfmq.harness.pipeline.TrajectoryStepper;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.ChildFailed;
import org.apache.pekko.actor.typed.DispatcherSelector;
import org.apache.pekko.actor.typed.Terminated;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;

import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;

/**
 * Runs one evaluation: spawns the pipeline (source, conductor, FP and quantized workers on dedicated threads,
 * monitor, selector, feature worker, aggregator, publisher), has the selector decide the strategy table from both
 * models' temporal features (or start from the quantized side's table selected by the output error), has the
 * quantized worker apply it, starts sampling, and completes {@code result} when the aggregator has committed the last
 * batch — or with the error when any child fails. Batches are released to the source with the table they are
 * sampled with: all at once for a table decided once, one by one as the aggregator revises an output table online.
 */
public final class RunCoordinator {
    public sealed interface Command extends CborMessage
            permits SelectionDecided, SelectionApplied, BatchReleased, SamplingFinished, AggregationDone {}

    public record SelectionDecided(SelectionTable table) implements Command {}

    public record SelectionApplied(String side) implements Command {}

    /** Online selection: batch {@code batch} may be handed out, sampled with {@code table} (from the aggregator). */
    public record BatchReleased(int batch, SelectionTable table) implements Command {}

    public record SamplingFinished() implements Command {}

    public record AggregationDone(MetricAggregator.Result result) implements Command {}

    private RunCoordinator() {}

    public static Behavior<Command> create(RunPlan plan, CompletableFuture<MetricAggregator.Result> result) {
        return create(plan, result, WorkDistribution.LOCAL);
    }

    /** As {@link #create(RunPlan, CompletableFuture)}, with batches handed out and collected by {@code distribution}. */
    public static Behavior<Command> create(RunPlan plan, CompletableFuture<MetricAggregator.Result> result, WorkDistribution distribution) {
        return Behaviors.setup(ctx -> new Object() {
            final ActorRef<Publisher.Command> publisher = watch(ctx, ctx.spawn(Publisher.create(plan.sinks()), "publisher"));
            final long[] ts = plan.schedule().timesteps();
            final ActorRef<StrategySelector.Command> selector = watch(ctx, ctx.spawn(StrategySelector.create(plan.selectionMode(),
                    plan.selectionMetric(), ts, ctx.getSelf(), publisher), "selector"));
            final ActorRef<MetricAggregator.Command> aggregator = watch(ctx, ctx.spawn(MetricAggregator.create(plan.state(), plan.dir(),
                    plan.totalBatches(), plan.checkpointEvery(), plan.evaluateEvery(), plan.samples(), plan.nd4jThreads(), ts,
                    plan.onlineSelection(), publisher, selector, ctx.getSelf()),
                    "aggregator", DispatcherSelector.fromConfig("tfmq-dispatchers.metrics")));
            final ActorRef<MetricAggregator.Command> results = distribution.results(ctx, plan,
                    new WorkDistribution.Pipeline(aggregator, publisher, selector));
            final ActorRef<DisturbanceMonitor.Command> monitor = watch(ctx, ctx.spawn(DisturbanceMonitor.create(ts,
                    plan.selectionMetric(), selector, results), "monitor"));
            final ActorRef<DenoisingWorker.Command> fp = watch(ctx, ctx.spawn(DenoisingWorker.create("fp", plan.fpModel(),
                    m -> new TrajectoryStepper(m, plan.scheduler().get(), plan.schedule(), plan.noise(), plan.sampleShape()),
                    plan.nd4jThreads(), plan.probeSamples(), monitor), "fp-worker", DispatcherSelector.fromConfig("tfmq-dispatchers.fp-worker")));
            final ActorRef<DenoisingWorker.Command> q = watch(ctx, ctx.spawn(DenoisingWorker.create("quantized", plan.quantizedModel(),
                    m -> new TrajectoryStepper(m, plan.scheduler().get(), plan.schedule(), plan.noise(), plan.sampleShape()),
                    plan.nd4jThreads(), plan.probeSamples(), monitor), "quantized-worker",
                    DispatcherSelector.fromConfig("tfmq-dispatchers.quantized-worker")));
            final ActorRef<FeatureWorker.Command> features = watch(ctx, ctx.spawn(FeatureWorker.create(plan.featurizer(), plan.dir(),
                    plan.gridsKept(), plan.nd4jThreads(), results, publisher), "features", DispatcherSelector.fromConfig("tfmq-dispatchers.metrics")));
            final ActorRef<BatchSource.Command> source = watch(ctx, distribution.source(ctx, plan));
            final ActorRef<BatchConductor.Command> conductor = watch(ctx, ctx.spawn(BatchConductor.create(ts.length,
                    plan.maxUncommitted(), source, fp, q, features, ctx.getSelf(), publisher), "conductor"));
            final Set<String> applied = new HashSet<>();
            SelectionTable table;
            boolean done;

            Behavior<Command> start() {
                publisher.tell(new Publisher.Status("selecting", "measuring temporal features of every strategy at "
                        + plan.schedule().distinctTimesteps().length + " time-steps"));
                long[] distinct = plan.schedule().distinctTimesteps();
                fp.tell(new DenoisingWorker.ProbeTemporal(distinct, monitor));
                q.tell(new DenoisingWorker.ProbeTemporal(distinct, monitor));
                return Behaviors.receive(Command.class)
                        .onMessage(SelectionDecided.class, s -> {
                            SelectionTable previous = plan.state().selection();
                            if (previous != null && !previous.equals(s.table())) {
                                throw new IllegalStateException("the strategy selection differs from the checkpoint's: "
                                        + s.table().perMember() + " vs " + previous.perMember());
                            }
                            table = s.table();
                            fp.tell(new DenoisingWorker.ApplySelection(table, ctx.getSelf()));
                            q.tell(new DenoisingWorker.ApplySelection(table, ctx.getSelf()));
                            return Behaviors.same();
                        })
                        .onMessage(SelectionApplied.class, a -> {
                            applied.add(a.side());
                            if (applied.size() == 2) {
                                Map<String, Object> journal = new java.util.LinkedHashMap<>();
                                journal.put("from_batch", plan.state().committedBatches());
                                journal.put("selection", table.perMember());
                                if (table.byOutput()) {
                                    journal.put("measure", "output");
                                    journal.put("per_step", table.serving());
                                }
                                plan.dir().journal("sampling", journal);
                                publisher.tell(new Publisher.Status("sampling", plan.samples() + " samples per side"));
                                aggregator.tell(new MetricAggregator.SamplingStarted(table));
                                distribution.samplingStarted(table);
                                // a table decided once: every batch may go now; an online one: the aggregator releases
                                if (!table.byOutput()) source.tell(new BatchSource.Release(plan.state().committedBatches(), plan.totalBatches(), null));
                                if (distribution.localWorkers()) conductor.tell(new BatchConductor.Begin());
                            }
                            return Behaviors.same();
                        })
                        .onMessage(BatchReleased.class, b -> {
                            source.tell(new BatchSource.Release(b.batch(), b.batch() + 1, b.table()));
                            return Behaviors.same();
                        })
                        .onMessage(SamplingFinished.class, f -> Behaviors.same())
                        .onMessage(AggregationDone.class, d -> {
                            done = true;
                            publisher.tell(new Publisher.Status("finished", d.result().samples() + " samples per side"));
                            result.complete(d.result());
                            return Behaviors.same();
                        })
                        .onSignal(ChildFailed.class, f -> {
                            result.completeExceptionally(f.getCause());
                            return Behaviors.stopped();
                        })
                        .onSignal(Terminated.class, t -> {
                            if (!done) result.completeExceptionally(new IllegalStateException(t.getRef().path().name() + " stopped unexpectedly"));
                            return Behaviors.stopped();
                        })
                        .build();
            }
        }.start());
    }

    private static <T> ActorRef<T> watch(ActorContext<Command> ctx, ActorRef<T> ref) {
        ctx.watch(ref);
        return ref;
    }
}
