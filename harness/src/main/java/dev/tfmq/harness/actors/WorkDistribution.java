package dev.tfmq.harness.actors;

import dev.tfmq.harness.eval.SelectionTable;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.javadsl.ActorContext;

/**
 * Where the coordinator's batches come from and where finished batches go: on one node, straight from a
 * {@link BatchSource} to the aggregator ({@link #LOCAL}); in a cluster run, through a ledger that also serves
 * remote workers (see {@code dev.tfmq.harness.cluster}). The aggregator commits in batch order either way.
 */
public interface WorkDistribution {
    /** Live actors a distribution may hand its own actors. */
    record Pipeline(ActorRef<MetricAggregator.Command> aggregator, ActorRef<Publisher.Command> publisher,
                    ActorRef<StrategySelector.Command> selector) {}

    /** Where the local monitor and feature worker send a finished batch's parts. */
    ActorRef<MetricAggregator.Command> results(ActorContext<RunCoordinator.Command> ctx, RunPlan plan, Pipeline pipeline);

    /** What the local conductor pulls batches from. */
    ActorRef<BatchSource.Command> source(ActorContext<RunCoordinator.Command> ctx, RunPlan plan);

    /** Whether the coordinator's own conductor samples. */
    boolean localWorkers();

    /** The selection is applied everywhere on this node: batches may be handed out now. */
    void samplingStarted(SelectionTable table);

    WorkDistribution LOCAL = new WorkDistribution() {
        @Override
        public ActorRef<MetricAggregator.Command> results(ActorContext<RunCoordinator.Command> ctx, RunPlan plan, Pipeline pipeline) {
            return pipeline.aggregator();
        }

        @Override
        public ActorRef<BatchSource.Command> source(ActorContext<RunCoordinator.Command> ctx, RunPlan plan) {
            return ctx.spawn(BatchSource.create(plan.state().committedBatches(), plan.samples(), plan.batchSize()), "source");
        }

        @Override
        public boolean localWorkers() {
            return true;
        }

        @Override
        public void samplingStarted(SelectionTable table) {}
    };
}
