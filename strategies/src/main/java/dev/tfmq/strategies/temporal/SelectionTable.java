package dev.tfmq.strategies.temporal;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The outcome of disturbance-aware selection: for each TIB member (and, at the finer granularity, each
 * time-step) the strategy chosen and the disturbance both candidates had when it was chosen. Selected by the
 * output error ({@link SelectionMeasure#OUTPUT}), the table holds one choice per time-step for all members together,
 * and the disturbance is each candidate's mean relative L2 error of ε̂ at that step.
 */
public final class SelectionTable {
    /** One decision: the chosen strategy and the measured disturbance of each candidate (selection metric). */
    public record Choice(MaintenanceStrategy strategy, double tib, double cache) {}

    /**
     * Selection granularity: one choice per member, one per (member, time-step), or one per time-step shared by
     * every member (the output measure's: the output error is a property of the whole serving at that step).
     */
    public enum Granularity { MEMBER, MEMBER_STEP, STEP }

    private final Granularity granularity;
    private final DisturbanceMetric metric;
    private final SelectionMeasure measure;
    private final Map<String, Choice> perMember = new LinkedHashMap<>();
    private final Map<String, Map<Long, Choice>> perStep = new LinkedHashMap<>();
    private final Map<Long, Choice> perTimestep = new java.util.TreeMap<>(java.util.Comparator.reverseOrder());

    /** A table selected by temporal-feature distance under {@code metric}. */
    public SelectionTable(Granularity granularity, DisturbanceMetric metric) {
        this(granularity, metric, SelectionMeasure.FEATURE);
    }

    /**
     * @param metric  the feature distance (measure FEATURE); the output measure always uses the relative L2 of ε̂
     */
    public SelectionTable(Granularity granularity, DisturbanceMetric metric, SelectionMeasure measure) {
        if ((measure == SelectionMeasure.OUTPUT) != (granularity == Granularity.STEP)) {
            throw new IllegalArgumentException("selection by " + measure + " with granularity " + granularity
                    + ": the output measure decides per time-step (STEP), the feature measure per member (MEMBER, MEMBER_STEP)");
        }
        this.granularity = granularity;
        this.metric = metric;
        this.measure = measure;
    }

    public Granularity granularity() { return granularity; }

    public DisturbanceMetric metric() { return metric; }

    public SelectionMeasure measure() { return measure; }

    public void put(String member, Choice c) { perMember.put(member, c); }

    public void put(String member, long t, Choice c) {
        perStep.computeIfAbsent(member, k -> new LinkedHashMap<>()).put(t, c);
    }

    /** The decision of time-step t for every member (granularity STEP). */
    public void put(long t, Choice c) {
        if (granularity != Granularity.STEP) throw new IllegalStateException("a " + granularity + " table has no per-time-step decisions");
        perTimestep.put(t, c);
    }

    public Map<String, Choice> perMember() { return Collections.unmodifiableMap(perMember); }

    /** Time-step → decision for every member, largest time-step first (granularity STEP). */
    public Map<Long, Choice> perTimestep() { return Collections.unmodifiableMap(perTimestep); }

    public Map<String, Map<Long, Choice>> perStep() { return Collections.unmodifiableMap(perStep); }

    /** The strategy for a member at a time-step; fails when the table has no decision for it. */
    public MaintenanceStrategy strategy(String member, long t) {
        if (granularity == Granularity.MEMBER) {
            Choice c = perMember.get(member);
            if (c == null) throw new IllegalStateException("selection table has no decision for member '" + member + "'");
            return c.strategy();
        }
        if (granularity == Granularity.STEP) {
            Choice c = perTimestep.get(t);
            if (c == null) throw new IllegalStateException("selection table has no decision for time-step " + t);
            return c.strategy();
        }
        Map<Long, Choice> m = perStep.get(member);
        Choice c = m == null ? null : m.get(t);
        if (c == null) {
            throw new IllegalStateException("selection table has no decision for member '" + member + "' at time-step " + t);
        }
        return c.strategy();
    }

    public boolean has(String member, long t) {
        if (granularity == Granularity.MEMBER) return perMember.containsKey(member);
        if (granularity == Granularity.STEP) return perTimestep.containsKey(t);
        Map<Long, Choice> m = perStep.get(member);
        return m != null && m.containsKey(t);
    }

    /** How many decisions picked each strategy. */
    public Map<MaintenanceStrategy, Integer> counts() {
        Map<MaintenanceStrategy, Integer> n = new java.util.EnumMap<>(MaintenanceStrategy.class);
        for (MaintenanceStrategy s : MaintenanceStrategy.values()) n.put(s, 0);
        perMember.values().forEach(c -> n.merge(c.strategy(), 1, Integer::sum));
        perStep.values().forEach(m -> m.values().forEach(c -> n.merge(c.strategy(), 1, Integer::sum)));
        perTimestep.values().forEach(c -> n.merge(c.strategy(), 1, Integer::sum));
        return n;
    }
}
