package dev.tfmq.strategies.temporal;

import java.util.Collections;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeMap;

/**
 * Accumulates temporal-feature disturbance measurements as steps run: for each (strategy, TIB member) and each
 * (strategy, member, time-step) the count and the sums of both metrics, so means are exact averages of what was
 * fed. It decides nothing — {@link StrategySelector} reads it.
 */
public final class DisturbanceMonitor {
    /** Count and metric sums of one key. */
    public static final class Stats {
        private long count;
        private final double[] sums = new double[DisturbanceMetric.values().length];

        void add(double[] values) {
            count++;
            for (int i = 0; i < values.length; i++) sums[i] += values[i];
        }

        public long count() { return count; }

        public double mean(DisturbanceMetric m) {
            if (count == 0) throw new IllegalStateException("no measurements");
            return sums[m.ordinal()] / count;
        }
    }

    private final Map<MaintenanceStrategy, Map<String, Stats>> perMember = new EnumMap<>(MaintenanceStrategy.class);
    private final Map<MaintenanceStrategy, Map<String, TreeMap<Long, Stats>>> perStep = new EnumMap<>(MaintenanceStrategy.class);

    /** Measures a candidate feature against the FP feature and records both metrics. */
    public double[] record(MaintenanceStrategy s, String member, long t, double[] fp, double[] candidate) {
        double[] v = new double[DisturbanceMetric.values().length];
        for (DisturbanceMetric m : DisturbanceMetric.values()) v[m.ordinal()] = m.of(fp, candidate);
        recordValues(s, member, t, v);
        return v;
    }

    /** Records already computed metric values (indexed by {@link DisturbanceMetric#ordinal()}). */
    public void recordValues(MaintenanceStrategy s, String member, long t, double[] values) {
        if (values.length != DisturbanceMetric.values().length) {
            throw new IllegalArgumentException("expected " + DisturbanceMetric.values().length + " metric values, got " + values.length);
        }
        perMember.computeIfAbsent(s, k -> new LinkedHashMap<>()).computeIfAbsent(member, k -> new Stats()).add(values);
        perStep.computeIfAbsent(s, k -> new LinkedHashMap<>()).computeIfAbsent(member, k -> new TreeMap<>())
                .computeIfAbsent(t, k -> new Stats()).add(values);
    }

    /** Stats of a member over all time-steps, or null when never measured. */
    public Stats member(MaintenanceStrategy s, String member) {
        return perMember.getOrDefault(s, Map.of()).get(member);
    }

    /** Stats of a member at one time-step, or null when never measured. */
    public Stats step(MaintenanceStrategy s, String member, long t) {
        TreeMap<Long, Stats> m = perStep.getOrDefault(s, Map.of()).get(member);
        return m == null ? null : m.get(t);
    }

    /** Members measured for a strategy, in first-measurement order. */
    public java.util.Set<String> members(MaintenanceStrategy s) {
        return Collections.unmodifiableSet(perMember.getOrDefault(s, Map.of()).keySet());
    }

    /** Time-steps measured for a member, ascending. */
    public java.util.Set<Long> timesteps(MaintenanceStrategy s, String member) {
        TreeMap<Long, Stats> m = perStep.getOrDefault(s, Map.of()).get(member);
        return m == null ? java.util.Set.of() : Collections.unmodifiableSet(m.keySet());
    }
}
