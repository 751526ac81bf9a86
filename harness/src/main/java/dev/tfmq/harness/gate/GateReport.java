package dev.tfmq.harness.gate;

import java.util.Locale;
import java.util.Map;

/** The gate verdict as JUnit XML (one test case per rule) and as a Markdown summary for CI systems. */
public final class GateReport {
    private GateReport() {}

    public static String junitXml(String suite, Gate.Verdict v) {
        long failures = v.rules().stream().filter(r -> !r.passed()).count();
        StringBuilder sb = new StringBuilder("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        sb.append("<testsuite name=\"tfmq-gate.").append(esc(suite)).append("\" tests=\"").append(v.rules().size())
                .append("\" failures=\"").append(failures).append("\" errors=\"0\" skipped=\"0\">\n");
        for (Gate.RuleResult r : v.rules()) {
            sb.append("  <testcase classname=\"tfmq.gate.").append(esc(suite)).append("\" name=\"").append(esc(r.rule())).append("\"");
            if (r.passed()) {
                sb.append("/>\n");
            } else {
                sb.append(">\n    <failure message=\"").append(esc(r.reason())).append("\">")
                        .append(esc(r.metric() + " = " + Gate.f(r.value()) + " [" + Gate.f(r.low()) + ", " + Gate.f(r.high())
                                + "], n = " + r.n() + ", limit " + Gate.f(r.limit())))
                        .append("</failure>\n  </testcase>\n");
            }
        }
        sb.append("</testsuite>\n");
        return sb.toString();
    }

    public static String markdown(String run, Map<String, Object> summary, Gate.Verdict v) {
        StringBuilder sb = new StringBuilder();
        sb.append("## tfmq gate: ").append(run).append(" — **").append(v.passed() ? "PASS" : "FAIL").append("**\n\n");
        sb.append("Decided on the confidence interval (").append(v.decide()).append(").\n\n");
        if (v.rules().isEmpty()) sb.append("No gate rules configured.\n");
        else {
            sb.append("| rule | value | interval | n | limit | result |\n|---|---|---|---|---|---|\n");
            for (Gate.RuleResult r : v.rules()) {
                sb.append(String.format(Locale.ROOT, "| `%s` | %s | [%s, %s] | %d | %s | %s |%n", r.rule(), Gate.f(r.value()),
                        Gate.f(r.low()), Gate.f(r.high()), r.n(), Gate.f(r.limit()), r.passed() ? "pass" : "**fail**: " + r.reason()));
            }
        }
        if (summary != null && summary.get("quality") instanceof Map<?, ?> q) {
            sb.append("\n| metric | full precision | quantized |\n|---|---|---|\n");
            Map<?, ?> fp = (Map<?, ?>) q.get("fp");
            Map<?, ?> qq = (Map<?, ?>) q.get("quantized");
            for (Object key : qq.keySet()) sb.append("| ").append(key).append(" | ").append(est(fp.get(key))).append(" | ")
                    .append(est(qq.get(key))).append(" |\n");
        }
        return sb.toString();
    }

    private static String est(Object o) {
        if (o instanceof dev.tfmq.harness.eval.Estimate e) {
            return String.format(Locale.ROOT, "%.4g [%.4g, %.4g] (n = %d)", e.value(), e.low(), e.high(), e.n());
        }
        return o == null ? "—" : o.toString();
    }

    private static String esc(String s) {
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;");
    }
}
