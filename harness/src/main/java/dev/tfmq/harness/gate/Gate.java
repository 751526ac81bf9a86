package dev.tfmq.harness.gate;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tfmq.harness.config.GateMetrics;
import dev.tfmq.harness.config.RunConfig;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The regression gate: each rule bounds one metric of a candidate summary — by an absolute limit, or by a margin
 * around this run's full-precision value or a baseline summary's value — in the metric's better direction, and is
 * decided on the confidence interval, not the point estimate: with {@code fail-if-certainly-worse} a rule fails only
 * when the whole interval lies beyond the limit; with {@code pass-if-certainly-within} it passes only when the whole
 * interval lies within it.
 */
public final class Gate {
    public record RuleResult(String rule, String metric, double value, double low, double high, long n, double reference,
                             double limit, boolean passed, String reason) {}

    public record Verdict(boolean passed, String decide, List<RuleResult> rules) {
        public Map<String, Object> toMap() {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("verdict", passed ? "pass" : "fail");
            m.put("decide", decide);
            m.put("rules", rules);
            return m;
        }
    }

    private Gate() {}

    /**
     * @param baseline a baseline summary, required by rules with compare = baseline
     * @throws IllegalArgumentException when a summary lacks a metric a rule needs (exit code 2, not a gate failure)
     */
    public static Verdict evaluate(RunConfig.Gate gate, JsonNode candidate, JsonNode baseline) {
        List<RuleResult> out = new ArrayList<>();
        boolean all = true;
        for (RunConfig.GateRule r : gate.rules()) {
            GateMetrics.Spec spec = GateMetrics.spec(r.metric());
            JsonNode v = require(candidate, spec.pointer(), "candidate", r.metric());
            // an estimate object {value, low, high, n}, or a plain number (disturbance means: no interval)
            double value = v.isNumber() ? v.asDouble() : v.isTextual() ? parse(v.asText()) : v.path("value").asDouble(Double.NaN);
            double low = v.has("low") ? v.path("low").asDouble() : value;
            double high = v.has("high") ? v.path("high").asDouble() : value;
            long n = v.has("n") ? v.path("n").asLong(-1) : candidate.at("/run/samples_per_side").asLong(-1);
            double reference;
            switch (r.compare()) {
                case "absolute" -> reference = Double.NaN;
                case "fp" -> reference = require(candidate, spec.fpPointer(), "candidate (full precision)", r.metric()).path("value").asDouble();
                case "baseline" -> {
                    if (baseline == null) throw new IllegalArgumentException("gate rule '" + r.describe() + "' needs a baseline summary");
                    reference = require(baseline, spec.pointer(), "baseline", r.metric()).path("value").asDouble();
                }
                default -> throw new IllegalArgumentException("gate rule compare '" + r.compare() + "': expected absolute, fp or baseline");
            }
            boolean lower = r.direction().equals("lower");
            double limit;
            if (r.compare().equals("absolute")) limit = r.margin();
            else if (r.marginKind().equals("relative")) limit = lower ? reference * (1 + r.margin()) : reference * (1 - r.margin());
            else limit = lower ? reference + r.margin() : reference - r.margin();
            boolean passed;
            String reason;
            if (gate.decide().equals("fail-if-certainly-worse")) {
                passed = lower ? !(low > limit) : !(high < limit);
                reason = passed ? "interval [" + f(low) + ", " + f(high) + "] reaches the limit " + f(limit)
                        : "whole interval [" + f(low) + ", " + f(high) + "] is " + (lower ? "above" : "below") + " the limit " + f(limit);
            } else {
                passed = lower ? high <= limit : low >= limit;
                reason = passed ? "whole interval [" + f(low) + ", " + f(high) + "] is within the limit " + f(limit)
                        : "interval [" + f(low) + ", " + f(high) + "] crosses the limit " + f(limit);
            }
            if (Double.isNaN(value) || Double.isNaN(limit)) {
                passed = false;
                reason = "value " + f(value) + " or limit " + f(limit) + " is not a number";
            }
            all &= passed;
            out.add(new RuleResult(r.describe(), r.metric(), value, low, high, n, reference, limit, passed, reason));
        }
        return new Verdict(all, gate.decide(), out);
    }

    private static double parse(String s) {
        try {
            return Double.parseDouble(s);
        } catch (NumberFormatException e) {
            return Double.NaN;
        }
    }

    private static JsonNode require(JsonNode summary, String pointer, String which, String metric) {
        JsonNode v = summary.at(pointer);
        if (v.isMissingNode() || v.isNull()) {
            throw new IllegalArgumentException(which + " summary has no '" + metric + "' (" + pointer + ")");
        }
        return v;
    }

    static String f(double v) {
        return String.format(Locale.ROOT, "%.6g", v);
    }
}
