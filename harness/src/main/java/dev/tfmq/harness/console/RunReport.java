package dev.tfmq.harness.console;

import com.fasterxml.jackson.databind.JsonNode;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The end of {@code tfmq run}/{@code quickstart} in the terminal: a compact table of FP vs quantized FID/sFID/KID
 * with intervals and N, the paired metrics, calibration time, throughput, the gate verdict and where the reports
 * are. Built from summary.json's content, so what the terminal shows is what the file says.
 */
public final class RunReport {
    private RunReport() {}

    public static String table(JsonNode s, Path runDir, String dashboardUrl) {
        StringBuilder b = new StringBuilder();
        JsonNode run = s.path("run"), recipe = s.path("recipe");
        b.append(String.format(Locale.ROOT, "tfmq: %s — %s %s against full precision, %d samples per side, %s %d steps, seed %d%n",
                run.path("name").asText(), recipe.path("name").asText(), recipe.path("bits").asText(),
                run.path("samples_per_side").asLong(), run.path("scheduler").asText().toUpperCase(Locale.ROOT),
                run.path("steps").asInt(), run.path("seed").asLong()));
        JsonNode fp = s.at("/quality/fp"), q = s.at("/quality/quantized");
        List<String[]> rows = new ArrayList<>();
        rows.add(new String[] {"metric", "full precision", "quantized", "n"});
        for (String m : List.of("fid", "sfid", "kid")) {
            if (!fp.has(m) && !q.has(m)) continue;
            rows.add(new String[] {label(m), estimate(fp.path(m)), estimate(q.path(m)), count(q.path(m).isMissingNode() ? fp.path(m) : q.path(m))});
        }
        JsonNode between = s.at("/quality/fp_vs_quantized/fid");
        if (!between.isMissingNode()) rows.add(new String[] {"FID fp↔quantized", "", estimate(between), count(between)});
        JsonNode paired = s.path("paired");
        for (String m : List.of("psnr", "ssim", "mse")) {
            if (paired.has(m)) rows.add(new String[] {"paired " + label(m), "", estimate(paired.path(m)), count(paired.path(m))});
        }
        b.append(columns(rows, "  "));
        JsonNode qp = s.at("/provenance/quantization");
        if (!qp.isMissingNode()) {
            double secs = qp.path("prepare_seconds").asDouble(Double.NaN);
            b.append(String.format(Locale.ROOT, "calibration  %s (%s)%n", Durations.format(secs),
                    qp.path("cache_hit").asBoolean() ? "artifact loaded from the cache" : "calibrated in this run"));
        }
        JsonNode tp = s.path("throughput");
        if (!tp.isMissingNode()) {
            double eff = tp.path("efficiency_vs_forward_bound").asDouble(Double.NaN);
            b.append(String.format(Locale.ROOT, "throughput   %.2f samples/s per side over %s%s%n", tp.path("samples_per_second").asDouble(),
                    Durations.format(tp.path("wall_seconds").asDouble()),
                    Double.isFinite(eff) ? String.format(Locale.ROOT, " (%.0f %% of the forward-pass bound)", 100 * eff) : ""));
        }
        JsonNode online = s.at("/selection/online");
        if (!online.isMissingNode()) b.append(onlineSelection(online));
        JsonNode gate = s.path("gate");
        if (!gate.isMissingNode()) {
            JsonNode rules = gate.path("rules");
            b.append(String.format(Locale.ROOT, "gate         %s (%d rule%s, %s)%n", "pass".equals(gate.path("verdict").asText()) ? "PASS" : "FAIL",
                    rules.size(), rules.size() == 1 ? "" : "s", gate.path("decide").asText()));
            for (JsonNode r : rules) {
                b.append(String.format(Locale.ROOT, "  %s %-28s %s [%s, %s] vs limit %s%n", r.path("passed").asBoolean() ? "pass" : "FAIL",
                        r.path("rule").asText(), num(r.path("value").asDouble()), num(r.path("low").asDouble()),
                        num(r.path("high").asDouble()), num(r.path("limit").asDouble())));
            }
        }
        for (JsonNode w : s.path("warnings")) b.append("warning      ").append(w.asText()).append('\n');
        b.append("reports      ").append(runDir.resolve("summary.json")).append(", ").append(runDir.resolve("gate-report.md"))
                .append(", ").append(runDir.resolve("disturbance.csv")).append('\n');
        if (dashboardUrl != null) b.append("dashboard    ").append(dashboardUrl).append(" (closed with the run)\n");
        return b.toString();
    }

    /** The online selection by the output error: final servings, and each revision with its evidence. */
    private static String onlineSelection(JsonNode online) {
        StringBuilder b = new StringBuilder();
        StringBuilder counts = new StringBuilder();
        online.path("final_steps_by_serving").fields().forEachRemaining(e -> counts.append(counts.length() == 0 ? "" : ", ")
                .append(e.getValue().asInt()).append(' ').append(e.getKey()));
        JsonNode revisions = online.path("revisions");
        b.append(String.format(Locale.ROOT, "selection    by the output error, per step: %s; %d revision%s online%n", counts,
                revisions.size(), revisions.size() == 1 ? "" : "s"));
        for (JsonNode r : revisions) {
            b.append(String.format(Locale.ROOT, "  t=%-4d %s -> %s from batch %d (n = %d, e_tib - e_cache %.3g [%.3g, %.3g])%n",
                    r.path("timestep").asLong(), r.path("from").asText(), r.path("to").asText(), r.path("fromBatch").asInt(),
                    r.path("n").asLong(), r.path("meanDifference").asDouble(), r.path("low").asDouble(), r.path("high").asDouble()));
        }
        return b.toString();
    }

    private static String label(String metric) {
        return switch (metric) {
            case "fid" -> "FID";
            case "sfid" -> "sFID";
            case "kid" -> "KID";
            case "psnr" -> "PSNR (dB)";
            case "ssim" -> "SSIM";
            case "mse" -> "MSE";
            default -> metric;
        };
    }

    /** {@code value [low, high]} with four significant digits, or "-" when absent. */
    static String estimate(JsonNode e) {
        if (e == null || e.isMissingNode() || e.isNull()) return "-";
        String v = num(e.path("value").asDouble(Double.NaN));
        if (!e.has("low") || !e.has("high")) return v;
        return v + " [" + num(e.path("low").asDouble()) + ", " + num(e.path("high").asDouble()) + "]";
    }

    private static String count(JsonNode e) {
        return e.has("n") ? Long.toString(e.path("n").asLong()) : "";
    }

    static String num(double v) {
        if (!Double.isFinite(v)) return String.valueOf(v);
        double a = Math.abs(v);
        if (a != 0 && (a < 1e-3 || a >= 1e6)) return String.format(Locale.ROOT, "%.3e", v);
        String t = String.format(Locale.ROOT, "%.4g", v);
        return t;
    }

    /** Left-aligned columns separated by {@code gap}. */
    static String columns(List<String[]> rows, String gap) {
        int cols = rows.get(0).length;
        int[] w = new int[cols];
        for (String[] r : rows) for (int i = 0; i < cols; i++) w[i] = Math.max(w[i], r[i].codePointCount(0, r[i].length()));
        StringBuilder b = new StringBuilder();
        for (String[] r : rows) {
            StringBuilder line = new StringBuilder();
            for (int i = 0; i < cols; i++) {
                line.append(r[i]);
                if (i < cols - 1) line.append(" ".repeat(w[i] - r[i].codePointCount(0, r[i].length()))).append(gap);
            }
            b.append(line.toString().stripTrailing()).append('\n');
        }
        return b.toString();
    }
}
