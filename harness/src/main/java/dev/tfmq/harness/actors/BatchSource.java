package dev.tfmq.harness.actors;

import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.Behaviors;

/**
 * Hands out seeded sample batches on request (work pulling: a consumer asks when it has room, so nothing is
 * produced faster than it is consumed). Batch i is always the same sample ids, so noise and results do not depend on
 * who asks or when; a resumed run starts at the first uncommitted batch.
 */
public final class BatchSource {
    public sealed interface Command extends CborMessage permits RequestBatch {}

    public record RequestBatch(ActorRef<BatchConductor.Command> replyTo) implements Command {}

    private BatchSource() {}

    public static Behavior<Command> create(int firstBatch, int samples, int batchSize) {
        return Behaviors.setup(ctx -> {
            int[] next = {firstBatch};
            int total = (samples + batchSize - 1) / batchSize;
            return Behaviors.receive(Command.class)
                    .onMessage(RequestBatch.class, r -> {
                        if (next[0] >= total) {
                            r.replyTo().tell(new BatchConductor.SourceExhausted());
                        } else {
                            int i = next[0]++;
                            long first = (long) i * batchSize;
                            int size = (int) Math.min(batchSize, samples - first);
                            r.replyTo().tell(new BatchConductor.Assigned(new BatchSpec(i, first, size)));
                        }
                        return Behaviors.same();
                    })
                    .build();
        });
    }
}
