package dev.tfmq.harness.web;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import io.prometheus.metrics.model.snapshots.CounterSnapshot;
import io.prometheus.metrics.model.snapshots.HistogramSnapshot;
import io.prometheus.metrics.model.snapshots.InfoSnapshot;
import io.prometheus.metrics.model.snapshots.MetricSnapshot;
import io.prometheus.metrics.model.snapshots.SummarySnapshot;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.lang.reflect.Field;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The Grafana dashboards under deploy/grafana may only query series that {@link PrometheusSink} exports, so a renamed
 * or removed metric breaks this test instead of leaving an empty panel that nobody notices.
 */
class GrafanaDashboardMetricsTest {
    static final ObjectMapper JSON = new ObjectMapper();

    static final Set<String> KEYWORDS = Set.of("by", "without", "on", "ignoring", "group_left", "group_right", "bool",
            "and", "or", "unless", "offset", "inf", "nan", "atan2");

    static Path repoRoot() {
        for (Path p = Path.of("").toAbsolutePath(); p != null; p = p.getParent()) {
            if (Files.isDirectory(p.resolve("deploy/grafana"))) return p;
        }
        fail("deploy/grafana not found above " + Path.of("").toAbsolutePath());
        return null;
    }

    /** Every series name the exporter can emit, with the suffixes the text format adds per metric type. */
    static Set<String> exportedNames() throws Exception {
        PrometheusSink sink = new PrometheusSink("r", "q");
        // the registry is private: the sink's public surface is the scrape, which omits label sets never written
        Field f = PrometheusSink.class.getDeclaredField("registry");
        f.setAccessible(true);
        Set<String> names = new TreeSet<>();
        for (MetricSnapshot s : ((PrometheusRegistry) f.get(sink)).scrape()) {
            String n = s.getMetadata().getPrometheusName();
            if (s instanceof CounterSnapshot) {
                names.add(n + "_total");
            } else if (s instanceof HistogramSnapshot) {
                names.addAll(List.of(n + "_bucket", n + "_count", n + "_sum"));
            } else if (s instanceof SummarySnapshot) {
                names.addAll(List.of(n, n + "_count", n + "_sum"));
            } else if (s instanceof InfoSnapshot) {
                names.add(n + "_info");
            } else {
                names.add(n);
            }
        }
        return names;
    }

    /** Metric names in a PromQL expression: identifiers that are not functions, keywords, labels or durations. */
    static Set<String> metricNames(String promql) {
        String e = promql
                .replaceAll("\\$\\{[^}]*}|\\$\\w+", "0")                        // Grafana variables
                .replaceAll("\"(\\\\.|[^\"\\\\])*\"|'(\\\\.|[^'\\\\])*'|`[^`]*`", "\"\"") // string literals
                .replaceAll("\\{[^}]*}", "")                                    // label matchers
                .replaceAll("\\[[^]]*]", "")                                    // range and subquery windows
                .replaceAll("\\b(by|without|on|ignoring|group_left|group_right)\\s*\\([^)]*\\)", " ");
        Set<String> names = new TreeSet<>();
        Matcher m = Pattern.compile("(?<![\\w.:])([A-Za-z_:][A-Za-z0-9_:]*+)(?!\\s*\\()").matcher(e);
        while (m.find()) {
            String id = m.group(1);
            // a number's exponent or duration unit is preceded by a digit, which the look-behind excludes
            if (!KEYWORDS.contains(id.toLowerCase())) names.add(id);
        }
        return names;
    }

    /** Every PromQL expression of a dashboard: panel targets (rows included) and variable queries. */
    static List<String> expressions(JsonNode dashboard) {
        List<String> out = new ArrayList<>();
        collectTargets(dashboard.path("panels"), out);
        Pattern labelValues = Pattern.compile("label_values\\(\\s*([^,)]+)\\s*,");
        for (JsonNode v : dashboard.path("templating").path("list")) {
            String q = v.path("query").isObject() ? v.path("query").path("query").asText() : v.path("query").asText();
            Matcher m = labelValues.matcher(q);
            if (m.find()) out.add(m.group(1));
            else if (q.startsWith("query_result(")) out.add(q.substring("query_result(".length(), q.length() - 1));
        }
        return out;
    }

    static void collectTargets(JsonNode panels, List<String> out) {
        for (JsonNode p : panels) {
            for (JsonNode t : p.path("targets")) if (t.hasNonNull("expr")) out.add(t.get("expr").asText());
            collectTargets(p.path("panels"), out);
        }
    }

    static List<Path> dashboards() throws IOException {
        try (Stream<Path> s = Files.list(repoRoot().resolve("deploy/grafana"))) {
            return s.filter(p -> p.toString().endsWith(".json")).sorted().toList();
        }
    }

    @Test
    void everyDashboardQueryUsesOnlyExportedMetrics() throws Exception {
        Set<String> exported = exportedNames();
        assertTrue(exported.contains("tfmq_samples_done") && exported.contains("jvm_memory_used_bytes"), "exporter names: " + exported);
        List<Path> files = dashboards();
        assertFalse(files.isEmpty(), "no dashboards in deploy/grafana");
        TreeMap<String, Set<String>> unknown = new TreeMap<>();
        Set<String> used = new TreeSet<>();
        for (Path file : files) {
            List<String> exprs = expressions(JSON.readTree(file.toFile()));
            assertFalse(exprs.isEmpty(), file + " has no PromQL");
            for (String expr : exprs) {
                Set<String> names = metricNames(expr);
                assertFalse(names.isEmpty(), file.getFileName() + ": no metric in '" + expr + "'");
                used.addAll(names);
                for (String n : names) {
                    if (!exported.contains(n)) {
                        unknown.computeIfAbsent(file.getFileName() + ": " + expr, k -> new TreeSet<>()).add(n);
                    }
                }
            }
        }
        assertTrue(unknown.isEmpty(), "dashboard queries use metrics PrometheusSink does not export: " + unknown
                + "\nexported: " + exported);
    }

    @Test
    void metricNameExtraction() {
        assertEquals(Set.of("tfmq_quality"), metricNames("tfmq_quality{run=~\"$run\", metric=\"fid\", side=~\"fp|quantized\"}"));
        assertEquals(Set.of("a_total", "b"), metricNames("sum by (node, run) (rate(a_total{x='y'}[$__rate_interval])) / on(node) group_left(z) max without (q) (b) > bool 1e3"));
        assertEquals(Set.of("tfmq_eta_seconds"), metricNames("max_over_time(tfmq_eta_seconds[5m] offset 1h) * 2"));
        assertEquals(Set.of(), metricNames("vector(1)"));
    }
}
