package dev.tfmq.harness.actors;

import dev.tfmq.harness.eval.SelectionTable;
import dev.tfmq.harness.eval.Tensor;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.Behaviors;

/**
 * Drives the FP and the quantized worker through a batch in lockstep: both run step k at the same time on their own
 * threads; when both are done, step k + 1 starts, the quantized worker receiving the FP trajectory's new x_t rows for
 * its one-step error; a batch assigned with its own selection table (online selection) starts the quantized worker
 * on that table. Finished batches go to feature extraction; a new batch is pulled from the source only while
 * fewer than {@code maxUncommitted} finished batches wait for the aggregator to commit them (backpressure). Each
 * finished step is reported to {@code publisher} (null: not reported, as on cluster workers).
 */
public final class BatchConductor {
    public sealed interface Command extends CborMessage permits Begin, Assigned, SourceExhausted, Stepped, BatchCommitted {}

    public record Begin() implements Command {}

    /** Batch to sample next; {@code selection}: the table the quantized worker samples it with (null: keep the applied one). */
    public record Assigned(BatchSpec batch, SelectionTable selection) implements Command {}

    public record SourceExhausted() implements Command {}

    /**
     * A worker finished a step; {@code probeNext}: FP rows of the next x_t; {@code images}: final samples after the
     * last step; {@code forwardNanos}: the worker's compute time for the whole batch (last step only).
     */
    public record Stepped(String side, int batchIndex, int step, Tensor probeNext, Tensor images, long forwardNanos) implements Command {}

    public record BatchCommitted(int batchIndex) implements Command {}

    private BatchConductor() {}

    public static Behavior<Command> create(int steps, int maxUncommitted, ActorRef<BatchSource.Command> source,
                                           ActorRef<DenoisingWorker.Command> fpWorker, ActorRef<DenoisingWorker.Command> qWorker,
                                           ActorRef<FeatureWorker.Command> features, ActorRef<RunCoordinator.Command> coordinator,
                                           ActorRef<Publisher.Command> publisher) {
        return Behaviors.setup(ctx -> new Object() {
            BatchSpec current;
            Stepped fpDone, qDone;
            int uncommitted;
            boolean requested, exhausted;

            void pull() {
                if (current == null && !requested && !exhausted && uncommitted < maxUncommitted) {
                    requested = true;
                    source.tell(new BatchSource.RequestBatch(ctx.getSelf()));
                }
                if (exhausted && current == null && uncommitted == 0) coordinator.tell(new RunCoordinator.SamplingFinished());
            }

            Behavior<Command> behavior() {
                return Behaviors.receive(Command.class)
                        .onMessage(Begin.class, b -> {
                            pull();
                            return Behaviors.same();
                        })
                        .onMessage(Assigned.class, a -> {
                            requested = false;
                            current = a.batch();
                            fpWorker.tell(new DenoisingWorker.RunStep(current, 0, null, null, ctx.getSelf()));
                            qWorker.tell(new DenoisingWorker.RunStep(current, 0, null, a.selection(), ctx.getSelf()));
                            return Behaviors.same();
                        })
                        .onMessage(SourceExhausted.class, e -> {
                            requested = false;
                            exhausted = true;
                            pull();
                            return Behaviors.same();
                        })
                        .onMessage(Stepped.class, s -> {
                            if (current == null || s.batchIndex() != current.index()) {
                                throw new IllegalStateException("step report for batch " + s.batchIndex() + " while running "
                                        + (current == null ? "none" : current.index()));
                            }
                            if (s.side().equals("fp")) fpDone = s;
                            else qDone = s;
                            if (fpDone == null || qDone == null) return Behaviors.same();
                            int k = s.step();
                            if (fpDone.step() != k || qDone.step() != k) {
                                throw new IllegalStateException("workers out of step: fp " + fpDone.step() + ", quantized " + qDone.step());
                            }
                            Stepped f = fpDone, q = qDone;
                            fpDone = null;
                            qDone = null;
                            if (publisher != null) publisher.tell(new Publisher.StepDone(current.index(), k, steps, current.size()));
                            if (k + 1 < steps) {
                                fpWorker.tell(new DenoisingWorker.RunStep(current, k + 1, null, null, ctx.getSelf()));
                                qWorker.tell(new DenoisingWorker.RunStep(current, k + 1, f.probeNext(), null, ctx.getSelf()));
                            } else {
                                features.tell(new FeatureWorker.FeaturizeBatch(current, f.images(), q.images(),
                                        f.forwardNanos(), q.forwardNanos(), ctx.getSelf()));
                                uncommitted++;
                                current = null;
                                pull();
                            }
                            return Behaviors.same();
                        })
                        .onMessage(BatchCommitted.class, c -> {
                            uncommitted--;
                            pull();
                            return Behaviors.same();
                        })
                        .build();
            }
        }.behavior());
    }
}
