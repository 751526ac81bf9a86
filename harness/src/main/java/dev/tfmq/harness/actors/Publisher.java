package dev.tfmq.harness.actors;

import dev.tfmq.harness.eval.DisturbanceTable;
import dev.tfmq.harness.eval.OnlineSelection;
import dev.tfmq.harness.eval.QualitySnapshot;
import dev.tfmq.harness.eval.SelectionTable;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.Behaviors;

import java.util.List;
import java.util.Map;

/**
 * Fans live updates out to the dashboard and Prometheus ({@link LiveSink}s). Event names and payloads:
 * {@code progress} → {@link ProgressUpdate}, {@code step} → {@link StepDone}, {@code quality} → {@link QualitySnapshot}, {@code disturbance} →
 * {@link DisturbanceTable.State}, {@code selection} → {@link SelectionUpdate}, {@code grids} → {@link GridsReady},
 * {@code status} → {@link Status}, {@code members} → {@link MembersUpdate} (cluster runs).
 */
public final class Publisher {
    public sealed interface Command extends CborMessage
            permits ProgressUpdate, StepDone, QualityUpdate, DisturbanceUpdate, SelectionUpdate, GridsReady, Status, MembersUpdate {}

    /** @param forwardBoundRate samples/s if the slower model's forward passes were all the work (this session) */
    public record ProgressUpdate(long samplesDone, long totalSamples, int batchesDone, int totalBatches,
                                 double samplesPerSecond, double etaSeconds, double forwardBoundRate) implements Command {}

    /**
     * Both sides finished denoising step {@code step} (0-based, of {@code steps}) of a batch of {@code samples}: the
     * terminal's progress moves per step rather than per committed batch. Single-node runs only.
     */
    public record StepDone(int batchIndex, int step, int steps, int samples) implements Command {}

    public record QualityUpdate(QualitySnapshot snapshot) implements Command {}

    public record DisturbanceUpdate(DisturbanceTable.State table) implements Command {}

    /**
     * @param live   member → mean relative L2 of the applied strategy over the steps run so far
     * @param online per-step evidence and revisions of an output table revised online (null otherwise)
     */
    public record SelectionUpdate(SelectionTable table, Map<String, Double> live, OnlineSelection.View online) implements Command {}

    public record GridsReady(int batch, String fpPngBase64, String quantizedPngBase64) implements Command {}

    /** Run phase: e.g. "calibrating", "selecting", "sampling", "finished", "failed". */
    public record Status(String phase, String detail) implements Command {}

    /**
     * One cluster member as the dashboard and Prometheus show it. {@code samplesPerSecond}: samples of the batches
     * this node delivered, over the time from its first assignment to its latest delivery.
     */
    public record NodeRow(String address, List<String> roles, String status, int batchesDone, long samplesDone,
                          int batchesHeld, double samplesPerSecond) {}

    /** The cluster's members (and nodes that left, with their last numbers); {@code up}: members now up. */
    public record MembersUpdate(List<NodeRow> members, int up) implements Command {}

    private Publisher() {}

    public static Behavior<Command> create(List<LiveSink> sinks) {
        return Behaviors.receive(Command.class)
                .onMessage(ProgressUpdate.class, m -> send(sinks, "progress", m))
                .onMessage(StepDone.class, m -> send(sinks, "step", m))
                .onMessage(QualityUpdate.class, m -> send(sinks, "quality", m.snapshot()))
                .onMessage(DisturbanceUpdate.class, m -> send(sinks, "disturbance", m.table()))
                .onMessage(SelectionUpdate.class, m -> send(sinks, "selection", m))
                .onMessage(GridsReady.class, m -> send(sinks, "grids", m))
                .onMessage(Status.class, m -> send(sinks, "status", m))
                .onMessage(MembersUpdate.class, m -> send(sinks, "members", m))
                .build();
    }

    private static Behavior<Command> send(List<LiveSink> sinks, String event, Object payload) {
        for (LiveSink s : sinks) s.publish(event, payload);
        return Behaviors.same();
    }
}
