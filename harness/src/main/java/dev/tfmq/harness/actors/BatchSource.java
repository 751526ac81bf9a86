package dev.tfmq.harness.actors;

import dev.tfmq.harness.eval.SelectionTable;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.Behaviors;

import java.util.ArrayDeque;
import java.util.Deque;
import java.util.HashMap;
import java.util.Map;

/**
 * Hands out seeded sample batches on request (work pulling: a consumer asks when it has room, so nothing is
 * produced faster than it is consumed). Batch i is always the same sample ids, so noise and results do not depend on
 * who asks or when; a resumed run starts at the first uncommitted batch.
 *
 * <p>A batch is handed out only once the coordinator has {@link Release}d it, with the selection it must be sampled
 * with: under online selection, the table of batch i is decided by the commits before it, so batch i may not start
 * before those are in (see {@code OnlineSelection}).
 */
public final class BatchSource {
    public sealed interface Command extends CborMessage permits RequestBatch, Release {}

    public record RequestBatch(ActorRef<BatchConductor.Command> replyTo) implements Command {}

    /**
     * Batches [from, to) may be handed out; {@code selection}: the table to sample them with, or null to keep the one
     * the workers applied before sampling.
     */
    public record Release(int from, int to, SelectionTable selection) implements Command {}

    private BatchSource() {}

    public static Behavior<Command> create(int firstBatch, int samples, int batchSize) {
        return Behaviors.setup(ctx -> new Object() {
            final int total = (samples + batchSize - 1) / batchSize;
            final Map<Integer, SelectionTable> tables = new HashMap<>();
            final Deque<ActorRef<BatchConductor.Command>> parked = new ArrayDeque<>();
            int next = firstBatch, released = firstBatch;

            Behavior<Command> behavior() {
                return Behaviors.receive(Command.class)
                        .onMessage(RequestBatch.class, r -> {
                            parked.add(r.replyTo());
                            serve();
                            return Behaviors.same();
                        })
                        .onMessage(Release.class, r -> {
                            if (r.from() > released) {
                                throw new IllegalStateException("batches released out of order: [" + r.from() + ", " + r.to()
                                        + ") after batches up to " + released);
                            }
                            for (int i = r.from(); i < r.to(); i++) if (r.selection() != null) tables.put(i, r.selection());
                            released = Math.max(released, Math.min(r.to(), total));
                            serve();
                            return Behaviors.same();
                        })
                        .build();
            }

            void serve() {
                while (!parked.isEmpty()) {
                    if (next >= total) {
                        parked.poll().tell(new BatchConductor.SourceExhausted());
                    } else if (next < released) {
                        int i = next++;
                        long first = (long) i * batchSize;
                        int size = (int) Math.min(batchSize, samples - first);
                        parked.poll().tell(new BatchConductor.Assigned(new BatchSpec(i, first, size), tables.remove(i)));
                    } else {
                        return;
                    }
                }
            }
        }.behavior());
    }
}
