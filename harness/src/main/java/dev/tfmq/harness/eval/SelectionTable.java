package dev.tfmq.harness.eval;

import java.util.List;
import java.util.Map;

/**
 * The strategy chosen for each TIB member, from measured disturbance against full precision.
 *
 * @param mode         per-member or per-step
 * @param metric       relative-l2 or cosine (temporal-feature distance), or {@link #OUTPUT_METRIC}: the table was
 *                     selected by the denoiser's output error per time-step and is revised online
 * @param candidates   the strategies that were measured, in preference order for ties
 * @param perMember    member → chosen strategy (per-member mode; in per-step mode the most frequent choice)
 * @param perStep      time-step → member → chosen strategy (per-step mode; empty otherwise)
 * @param measured     member → strategy → disturbance averaged over the sampling time-steps
 * @param stepMeasured time-step → strategy → mean output error behind that step's decision (output tables only;
 *                     empty otherwise)
 *
 * <p>An output table serves each time-step one way: its rows list the cacheable members, all with the step's
 * serving; a member it does not list (the embedding, which no cache holds) keeps the first candidate, the TIB.
 */
public record SelectionTable(String mode, String metric, List<String> candidates, Map<String, String> perMember,
                             Map<Long, Map<String, String>> perStep, Map<String, Map<String, Double>> measured,
                             Map<Long, Map<String, Double>> stepMeasured) {
    /** The metric of a table selected by the output error (relative L2 of ε̂ on the FP trajectory's x_t). */
    public static final String OUTPUT_METRIC = "output-relative-l2";

    /** The candidates of an output table: every member served by the quantized TIB, or by the cache. */
    public static final String TIB = "tib", CACHE = "cache";

    public SelectionTable {
        // checkpoints and messages written before output tables existed have no step measurements
        if (stepMeasured == null) stepMeasured = Map.of();
    }

    /** A table selected by temporal-feature distance. */
    public SelectionTable(String mode, String metric, List<String> candidates, Map<String, String> perMember,
                          Map<Long, Map<String, String>> perStep, Map<String, Map<String, Double>> measured) {
        this(mode, metric, candidates, perMember, perStep, measured, Map.of());
    }

    /**
     * A table selected by the output error: time-step t serves every member of {@code members} by {@code serving(t)}.
     */
    public static SelectionTable byOutput(List<String> candidates, List<String> members, Map<Long, String> serving,
                                          Map<Long, Map<String, Double>> stepMeasured) {
        if (!candidates.equals(List.of(TIB, CACHE))) {
            throw new IllegalArgumentException("a table selected by the output error chooses between " + List.of(TIB, CACHE) + ", not " + candidates);
        }
        Map<Long, Map<String, String>> rows = new java.util.LinkedHashMap<>();
        Map<String, Long> votes = new java.util.LinkedHashMap<>();
        serving.forEach((t, c) -> {
            if (!candidates.contains(c)) throw new IllegalArgumentException("time-step " + t + " serves by '" + c + "', not one of " + candidates);
            Map<String, String> row = new java.util.LinkedHashMap<>();
            for (String m : members) row.put(m, c);
            rows.put(t, row);
            votes.merge(c, 1L, Long::sum);
        });
        // the most frequent serving, the first candidate on a tie (as for per-step feature tables)
        String majority = candidates.get(0);
        for (String c : candidates) if (votes.getOrDefault(c, 0L) > votes.getOrDefault(majority, 0L)) majority = c;
        Map<String, String> perMember = new java.util.LinkedHashMap<>();
        for (String m : members) perMember.put(m, majority);
        Map<String, Double> mean = new java.util.LinkedHashMap<>();
        for (String c : candidates) {
            mean.put(c, stepMeasured.values().stream().mapToDouble(v -> v.getOrDefault(c, Double.NaN)).average().orElse(Double.NaN));
        }
        Map<String, Map<String, Double>> measured = new java.util.LinkedHashMap<>();
        for (String m : members) measured.put(m, mean);
        return new SelectionTable("per-step", OUTPUT_METRIC, List.copyOf(candidates), perMember, rows, measured, Map.copyOf(stepMeasured));
    }

    /** Selected by the output error, one serving per time-step: the run revises it online. */
    public boolean byOutput() { return OUTPUT_METRIC.equals(metric); }

    /** Time-step → serving of an output table, in its order. */
    public Map<Long, String> serving() {
        Map<Long, String> out = new java.util.LinkedHashMap<>();
        for (long t : perStep.keySet()) out.put(t, stepChoice(t));
        return out;
    }

    /** This output table with some time-steps served otherwise (and the evidence behind the new decisions). */
    public SelectionTable revised(Map<Long, String> changes, Map<Long, Map<String, Double>> evidence) {
        Map<Long, String> serving = serving();
        serving.putAll(changes);
        Map<Long, Map<String, Double>> measuredNow = new java.util.LinkedHashMap<>(stepMeasured);
        measuredNow.putAll(evidence);
        List<String> members = perStep.isEmpty() ? List.of() : List.copyOf(perStep.values().iterator().next().keySet());
        return byOutput(candidates, members, serving, measuredNow);
    }

    /** The strategy of a member at a time-step. */
    public String choice(String member, long timestep) {
        if (mode.equals("per-step")) {
            Map<String, String> m = perStep.get(timestep);
            if (m == null) throw new IllegalArgumentException("no selection for time-step " + timestep
                    + " (selected for " + perStep.keySet() + ")");
            String c = m.get(member);
            if (c == null && byOutput()) return candidates.get(0);
            if (c == null) throw new IllegalArgumentException("no selection for TIB member '" + member + "' at time-step " + timestep);
            return c;
        }
        String c = perMember.get(member);
        if (c == null) throw new IllegalArgumentException("no selection for TIB member '" + member + "'");
        return c;
    }

    /** The serving of a whole time-step in an output table (every member it lists takes it). */
    public String stepChoice(long timestep) {
        if (!byOutput()) throw new IllegalStateException("a table selected by " + metric + " has no per-step serving");
        Map<String, String> m = perStep.get(timestep);
        if (m == null) throw new IllegalArgumentException("no selection for time-step " + timestep + " (selected for " + perStep.keySet() + ")");
        return m.isEmpty() ? candidates.get(0) : m.values().iterator().next();
    }

    /** How many members (or (step, member) pairs) chose each strategy. */
    public Map<String, Long> counts() {
        Map<String, Long> out = new java.util.LinkedHashMap<>();
        for (String c : candidates) out.put(c, 0L);
        if (mode.equals("per-step")) {
            perStep.values().forEach(m -> m.values().forEach(c -> out.merge(c, 1L, Long::sum)));
        } else {
            perMember.values().forEach(c -> out.merge(c, 1L, Long::sum));
        }
        return out;
    }
}
