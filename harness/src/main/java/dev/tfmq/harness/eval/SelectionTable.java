package dev.tfmq.harness.eval;

import java.util.List;
import java.util.Map;

/**
 * The strategy chosen for each TIB member, from measured disturbance against full precision.
 *
 * @param mode       per-member or per-step
 * @param metric     relative-l2 or cosine
 * @param candidates the strategies that were measured, in preference order for ties
 * @param perMember  member → chosen strategy (per-member mode; in per-step mode the most frequent choice)
 * @param perStep    time-step → member → chosen strategy (per-step mode; empty otherwise)
 * @param measured   member → strategy → disturbance averaged over the sampling time-steps
 */
public record SelectionTable(String mode, String metric, List<String> candidates, Map<String, String> perMember,
                             Map<Long, Map<String, String>> perStep, Map<String, Map<String, Double>> measured) {

    /** The strategy of a member at a time-step. */
    public String choice(String member, long timestep) {
        if (mode.equals("per-step")) {
            Map<String, String> m = perStep.get(timestep);
            if (m == null) throw new IllegalArgumentException("no selection for time-step " + timestep
                    + " (selected for " + perStep.keySet() + ")");
            String c = m.get(member);
            if (c == null) throw new IllegalArgumentException("no selection for TIB member '" + member + "' at time-step " + timestep);
            return c;
        }
        String c = perMember.get(member);
        if (c == null) throw new IllegalArgumentException("no selection for TIB member '" + member + "'");
        return c;
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
