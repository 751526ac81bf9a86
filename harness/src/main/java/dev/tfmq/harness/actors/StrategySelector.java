package dev.tfmq.harness.actors;

import dev.tfmq.harness.eval.OnlineSelection;
import dev.tfmq.harness.eval.SelectionPolicy;
import dev.tfmq.harness.eval.SelectionTable;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.Behaviors;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Disturbance-aware selection fed by the monitor: decides the strategy table from every candidate's measured
 * temporal-feature disturbance at every sampling time-step (policy in {@link SelectionPolicy}) — or, when the
 * quantized side was calibrated by the output error, starts from its calibration-time table, which the run then
 * revises online as batches are committed — hands it to the coordinator (which has the quantized worker apply it),
 * then keeps a live mean of the applied choice's disturbance per member for the dashboard.
 */
public final class StrategySelector {
    public sealed interface Command extends CborMessage permits ProbeMeasured, StepObserved, Revised {}

    /**
     * time-step → member → candidate → disturbance; {@code calibrated}: the quantized side's table selected by the
     * output error, to start from (null: decide from the disturbance).
     */
    public record ProbeMeasured(List<String> candidates, List<String> members,
                                Map<Long, Map<String, Map<String, Double>>> measured, SelectionTable calibrated) implements Command {}

    /** The online revision of an output table after a commit: its latest decisions and their evidence. */
    public record Revised(SelectionTable table, OnlineSelection.View online) implements Command {}

    /** The applied strategy's temporal-feature relative L2 per member at one step. */
    public record StepObserved(int step, long timestep, Map<String, Double> relL2) implements Command {}

    private StrategySelector() {}

    private static Map<String, Double> liveMeans(Map<String, double[]> live) {
        Map<String, Double> means = new LinkedHashMap<>();
        live.forEach((m, s) -> means.put(m, s[0] / s[1]));
        return means;
    }

    public static Behavior<Command> create(String mode, String metric, long[] timesteps, ActorRef<RunCoordinator.Command> coordinator,
                                           ActorRef<Publisher.Command> publisher) {
        return Behaviors.setup(ctx -> {
            SelectionTable[] table = {null};
            OnlineSelection.View[] online = {null};
            Map<String, double[]> live = new LinkedHashMap<>();
            long[] observed = {0};
            return Behaviors.receive(Command.class)
                    .onMessage(ProbeMeasured.class, p -> {
                        if (p.calibrated() != null && p.calibrated().byOutput()) {
                            table[0] = p.calibrated();
                        } else {
                            SelectionPolicy policy = new SelectionPolicy(mode, metric, p.candidates(), p.members(), timesteps);
                            p.measured().forEach(policy::observe);
                            table[0] = policy.decide();
                        }
                        coordinator.tell(new RunCoordinator.SelectionDecided(table[0]));
                        publisher.tell(new Publisher.SelectionUpdate(table[0], Map.of(), null));
                        return Behaviors.same();
                    })
                    .onMessage(Revised.class, r -> {
                        table[0] = r.table();
                        online[0] = r.online();
                        publisher.tell(new Publisher.SelectionUpdate(table[0], liveMeans(live), online[0]));
                        return Behaviors.same();
                    })
                    .onMessage(StepObserved.class, o -> {
                        o.relL2().forEach((m, v) -> {
                            double[] s = live.computeIfAbsent(m, k -> new double[2]);
                            s[0] += v;
                            s[1]++;
                        });
                        if (++observed[0] % timesteps.length == 0 && table[0] != null) {
                            publisher.tell(new Publisher.SelectionUpdate(table[0], liveMeans(live), online[0]));
                        }
                        return Behaviors.same();
                    })
                    .build();
        });
    }
}
