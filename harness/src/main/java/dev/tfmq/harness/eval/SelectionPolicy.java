package dev.tfmq.harness.eval;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Disturbance-aware selection: for each TIB member (and, in per-step mode, each time-step) pick the candidate
 * strategy whose temporal features are closest to full precision. Measurements arrive one time-step at a time
 * ({@link #observe}); {@link #decide} needs every (time-step, member, candidate) measured — a candidate that was not
 * measured is never chosen by default. Ties go to the candidate listed first.
 */
public final class SelectionPolicy {
    private final String mode;
    private final String metric;
    private final List<String> candidates;
    private final List<String> members;
    private final long[] timesteps;
    /** t → member → candidate → disturbance. */
    private final Map<Long, Map<String, Map<String, Double>>> values = new TreeMap<>();

    public SelectionPolicy(String mode, String metric, List<String> candidates, List<String> members, long[] timesteps) {
        if (!mode.equals("per-member") && !mode.equals("per-step")) {
            throw new IllegalArgumentException("selection mode '" + mode + "': expected per-member or per-step");
        }
        if (!metric.equals("relative-l2") && !metric.equals("cosine")) {
            throw new IllegalArgumentException("selection metric '" + metric + "': expected relative-l2 or cosine");
        }
        if (candidates.isEmpty()) throw new IllegalArgumentException("no candidate strategies to select from");
        this.mode = mode;
        this.metric = metric;
        this.candidates = List.copyOf(candidates);
        this.members = List.copyOf(members);
        this.timesteps = java.util.Arrays.stream(timesteps).distinct().toArray();
    }

    /**
     * The disturbance of every candidate's temporal features against the FP features at one time-step:
     * member → candidate → value under the metric.
     */
    public static Map<String, Map<String, Double>> measure(String metric, List<String> candidates, List<String> members,
                                                           Map<String, float[]> fp, Map<String, Map<String, float[]>> byCandidate) {
        Map<String, Map<String, Double>> out = new LinkedHashMap<>();
        for (String c : candidates) {
            Map<String, float[]> q = byCandidate.get(c);
            if (q == null) throw new IllegalArgumentException("candidate '" + c + "' reported no temporal features");
            for (String m : members) {
                float[] ref = fp.get(m), x = q.get(m);
                if (ref == null || x == null) {
                    throw new IllegalArgumentException("TIB member '" + m + "' missing from " + (ref == null ? "fp" : c) + " features");
                }
                double d = metric.equals("cosine") ? StepMeasures.cosineDistance(x, ref) : StepMeasures.relativeL2(x, ref);
                out.computeIfAbsent(m, k -> new LinkedHashMap<>()).put(c, d);
            }
        }
        return out;
    }

    /** Records the measured disturbance (member → candidate → value) at one time-step. */
    public void observe(long t, Map<String, Map<String, Double>> measured) {
        for (String m : members) {
            Map<String, Double> byC = measured.get(m);
            if (byC == null) throw new IllegalArgumentException("no measurement for TIB member '" + m + "' at t = " + t);
            for (String c : candidates) {
                if (!byC.containsKey(c)) throw new IllegalArgumentException("candidate '" + c + "' not measured for '" + m + "' at t = " + t);
            }
        }
        values.put(t, measured);
    }

    public String metric() { return metric; }

    public boolean complete() {
        for (long t : timesteps) if (!values.containsKey(t)) return false;
        return true;
    }

    public SelectionTable decide() {
        List<Long> missing = new ArrayList<>();
        for (long t : timesteps) if (!values.containsKey(t)) missing.add(t);
        if (!missing.isEmpty()) throw new IllegalStateException("selection has no measurements at time-steps " + missing);
        Map<String, Map<String, Double>> mean = new LinkedHashMap<>();
        for (String m : members) {
            Map<String, Double> byC = new LinkedHashMap<>();
            for (String c : candidates) {
                double s = 0;
                for (long t : timesteps) s += values.get(t).get(m).get(c);
                byC.put(c, s / timesteps.length);
            }
            mean.put(m, byC);
        }
        Map<String, String> perMember = new LinkedHashMap<>();
        Map<Long, Map<String, String>> perStep = new TreeMap<>();
        if (mode.equals("per-step")) {
            for (long t : timesteps) {
                Map<String, String> row = new LinkedHashMap<>();
                for (String m : members) row.put(m, argmin(values.get(t).get(m)));
                perStep.put(t, row);
            }
            for (String m : members) {
                Map<String, Double> votes = new LinkedHashMap<>();
                for (String c : candidates) votes.put(c, 0.0);
                for (long t : timesteps) votes.merge(perStep.get(t).get(m), -1.0, Double::sum);
                perMember.put(m, argmin(votes));
            }
        } else {
            for (String m : members) perMember.put(m, argmin(mean.get(m)));
        }
        return new SelectionTable(mode, metric, candidates, perMember, perStep, mean);
    }

    private String argmin(Map<String, Double> byCandidate) {
        String best = null;
        double bv = Double.POSITIVE_INFINITY;
        for (String c : candidates) {
            double v = byCandidate.get(c);
            if (best == null || v < bv) {
                best = c;
                bv = v;
            }
        }
        return best;
    }
}
