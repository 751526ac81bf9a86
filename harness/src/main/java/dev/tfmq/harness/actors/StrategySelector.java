package dev.tfmq.harness.actors;

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
 * temporal-feature disturbance at every sampling time-step (policy in {@link SelectionPolicy}), hands it to the
 * coordinator (which has the quantized worker apply it), then keeps a live mean of the applied choice's disturbance
 * per member for the dashboard.
 */
public final class StrategySelector {
    public sealed interface Command extends CborMessage permits ProbeMeasured, StepObserved {}

    /** time-step → member → candidate → disturbance. */
    public record ProbeMeasured(List<String> candidates, List<String> members,
                                Map<Long, Map<String, Map<String, Double>>> measured) implements Command {}

    /** The applied strategy's temporal-feature relative L2 per member at one step. */
    public record StepObserved(int step, long timestep, Map<String, Double> relL2) implements Command {}

    private StrategySelector() {}

    public static Behavior<Command> create(String mode, String metric, long[] timesteps, ActorRef<RunCoordinator.Command> coordinator,
                                           ActorRef<Publisher.Command> publisher) {
        return Behaviors.setup(ctx -> {
            SelectionTable[] table = {null};
            Map<String, double[]> live = new LinkedHashMap<>();
            long[] observed = {0};
            return Behaviors.receive(Command.class)
                    .onMessage(ProbeMeasured.class, p -> {
                        SelectionPolicy policy = new SelectionPolicy(mode, metric, p.candidates(), p.members(), timesteps);
                        p.measured().forEach(policy::observe);
                        table[0] = policy.decide();
                        coordinator.tell(new RunCoordinator.SelectionDecided(table[0]));
                        publisher.tell(new Publisher.SelectionUpdate(table[0], Map.of()));
                        return Behaviors.same();
                    })
                    .onMessage(StepObserved.class, o -> {
                        o.relL2().forEach((m, v) -> {
                            double[] s = live.computeIfAbsent(m, k -> new double[2]);
                            s[0] += v;
                            s[1]++;
                        });
                        if (++observed[0] % timesteps.length == 0 && table[0] != null) {
                            Map<String, Double> means = new LinkedHashMap<>();
                            live.forEach((m, s) -> means.put(m, s[0] / s[1]));
                            publisher.tell(new Publisher.SelectionUpdate(table[0], means));
                        }
                        return Behaviors.same();
                    })
                    .build();
        });
    }
}
