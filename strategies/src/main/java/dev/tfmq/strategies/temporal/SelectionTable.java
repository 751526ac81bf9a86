package dev.tfmq.strategies.temporal;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The outcome of disturbance-aware selection: for each TIB member (and, at the finer granularity, each
 * time-step) the strategy chosen and the disturbance both candidates had when it was chosen.
 */
public final class SelectionTable {
    /** One decision: the chosen strategy and the measured disturbance of each candidate (selection metric). */
    public record Choice(MaintenanceStrategy strategy, double tib, double cache) {}

    /** Selection granularity: one choice per member, or one per (member, time-step). */
    public enum Granularity { MEMBER, MEMBER_STEP }

    private final Granularity granularity;
    private final DisturbanceMetric metric;
    private final Map<String, Choice> perMember = new LinkedHashMap<>();
    private final Map<String, Map<Long, Choice>> perStep = new LinkedHashMap<>();

    public SelectionTable(Granularity granularity, DisturbanceMetric metric) {
        this.granularity = granularity;
        this.metric = metric;
    }

    public Granularity granularity() { return granularity; }

    public DisturbanceMetric metric() { return metric; }

    public void put(String member, Choice c) { perMember.put(member, c); }

    public void put(String member, long t, Choice c) {
        perStep.computeIfAbsent(member, k -> new LinkedHashMap<>()).put(t, c);
    }

    public Map<String, Choice> perMember() { return Collections.unmodifiableMap(perMember); }

    public Map<String, Map<Long, Choice>> perStep() { return Collections.unmodifiableMap(perStep); }

    /** The strategy for a member at a time-step; fails when the table has no decision for it. */
    public MaintenanceStrategy strategy(String member, long t) {
        if (granularity == Granularity.MEMBER) {
            Choice c = perMember.get(member);
            if (c == null) throw new IllegalStateException("selection table has no decision for member '" + member + "'");
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
        Map<Long, Choice> m = perStep.get(member);
        return m != null && m.containsKey(t);
    }

    /** How many decisions picked each strategy. */
    public Map<MaintenanceStrategy, Integer> counts() {
        Map<MaintenanceStrategy, Integer> n = new java.util.EnumMap<>(MaintenanceStrategy.class);
        for (MaintenanceStrategy s : MaintenanceStrategy.values()) n.put(s, 0);
        perMember.values().forEach(c -> n.merge(c.strategy(), 1, Integer::sum));
        perStep.values().forEach(m -> m.values().forEach(c -> n.merge(c.strategy(), 1, Integer::sum)));
        return n;
    }
}
