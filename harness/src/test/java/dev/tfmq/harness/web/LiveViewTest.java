package dev.tfmq.harness.web;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tfmq.harness.TestModels;
import dev.tfmq.harness.run.RunLauncher;
import dev.tfmq.model.testing.SystemRequirements;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.OutputStream;
import java.io.PrintStream;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.WebSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * During a real run: a headless Chromium (Debian chromium, driven over the DevTools protocol) loads the dashboard and
 * sees its charts, heatmap and sample grids update; a real Prometheus server (Debian prometheus) scrapes /metrics.
 */
class LiveViewTest {
    static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path tmp;

    /** Captures the dashboard URL the launcher prints. */
    static final class UrlCatcher extends OutputStream {
        final CompletableFuture<String> url = new CompletableFuture<>();
        final StringBuilder line = new StringBuilder();

        @Override
        public synchronized void write(int b) {
            if (b == '\n') {
                String l = line.toString();
                if (l.startsWith("tfmq: dashboard at ")) url.complete(l.substring(19).split(" ")[0]);
                line.setLength(0);
            } else {
                line.append((char) b);
            }
        }
    }

    /** Minimal DevTools client: Runtime.evaluate over the page's WebSocket. */
    static final class Cdp implements WebSocket.Listener {
        final WebSocket ws;
        final Map<Integer, CompletableFuture<JsonNode>> pending = new ConcurrentHashMap<>();
        final AtomicInteger ids = new AtomicInteger();
        final StringBuilder buf = new StringBuilder();

        Cdp(String wsUrl) throws Exception {
            ws = HttpClient.newHttpClient().newWebSocketBuilder().buildAsync(URI.create(wsUrl), this).get(20, TimeUnit.SECONDS);
        }

        @Override
        public CompletionStage<?> onText(WebSocket w, CharSequence data, boolean last) {
            buf.append(data);
            if (System.getenv("TFMQ_DEBUG") != null) System.err.println("cdp <- " + data);
            if (last) {
                try {
                    JsonNode n = JSON.readTree(buf.toString());
                    if (n.has("id")) {
                        CompletableFuture<JsonNode> f = pending.remove(n.get("id").asInt());
                        if (f != null) f.complete(n);
                    }
                } catch (Exception e) {
                    pending.values().forEach(f -> f.completeExceptionally(e));
                }
                buf.setLength(0);
            }
            w.request(1);
            return null;
        }

        JsonNode eval(String expression) throws Exception {
            int id = ids.incrementAndGet();
            CompletableFuture<JsonNode> f = new CompletableFuture<>();
            pending.put(id, f);
            String msg = JSON.writeValueAsString(Map.of("id", id, "method", "Runtime.evaluate",
                    "params", Map.of("expression", expression, "returnByValue", true)));
            ws.sendText(msg, true).get(10, TimeUnit.SECONDS);
            JsonNode r = f.get(5, TimeUnit.SECONDS);
            return r.path("result").path("result").path("value");
        }
    }

    @Test
    void browserSeesChartsUpdateAndPrometheusScrapesDuringARun() throws Exception {
        Path chromium = SystemRequirements.requireBinary("chromium", "apt-get install -y chromium chromium-driver");
        Path prometheusBin = SystemRequirements.requireBinary("prometheus", "apt-get install -y prometheus");
        var cfg = TestModels.config(tmp, "run.samples=320", "run.batch-size=8", "dashboard.enabled=true", "dashboard.port=0",
                "metrics.every-batches=2", "run.checkpoint-every-batches=4", "run.name=live-test");
        UrlCatcher catcher = new UrlCatcher();
        CompletableFuture<RunLauncher.Outcome> run = CompletableFuture.supplyAsync(() -> {
            try {
                return new RunLauncher(cfg, new PrintStream(catcher, true)).run(tmp.resolve("run"), false, TestModels.parts(0));
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
        String url = catcher.url.get(60, TimeUnit.SECONDS);
        assertTrue(url.startsWith("http://127.0.0.1:"), "loopback by default: " + url);

        // ---- Prometheus scraping /metrics every second
        int promPort;
        try (ServerSocket s = new ServerSocket(0)) {
            promPort = s.getLocalPort();
        }
        URI target = URI.create(url);
        Path promDir = Files.createDirectories(tmp.resolve("prometheus"));
        Files.writeString(promDir.resolve("prometheus.yml"), """
                global: { scrape_interval: 1s, evaluation_interval: 1s }
                scrape_configs:
                  - job_name: tfmq
                    metrics_path: /metrics
                    static_configs: [ { targets: ['%s:%d'] } ]
                """.formatted(target.getHost(), target.getPort()));
        Process prom = new ProcessBuilder(prometheusBin.toString(), "--config.file=" + promDir.resolve("prometheus.yml"),
                "--storage.tsdb.path=" + promDir.resolve("data"), "--web.listen-address=127.0.0.1:" + promPort)
                .redirectErrorStream(true).redirectOutput(promDir.resolve("prometheus.log").toFile()).start();

        // ---- headless Chromium on the dashboard
        Path profile = Files.createDirectories(tmp.resolve("chromium-profile"));
        Process browser = new ProcessBuilder(chromium.toString(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--user-data-dir=" + profile, "--remote-debugging-port=0", url)
                .redirectErrorStream(true).redirectOutput(tmp.resolve("chromium.log").toFile()).start();
        try {
            Path portFile = profile.resolve("DevToolsActivePort");
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (!Files.exists(portFile) || Files.readAllLines(portFile).isEmpty()) {
                assertTrue(System.nanoTime() < deadline && browser.isAlive(), "chromium did not start: " + Files.readString(tmp.resolve("chromium.log")));
                Thread.sleep(50);
            }
            int cdpPort = Integer.parseInt(Files.readAllLines(portFile).get(0).trim());
            HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
            String wsUrl = null;
            while (wsUrl == null) {
                JsonNode targets = JSON.readTree(http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + cdpPort + "/json/list")).build(),
                        HttpResponse.BodyHandlers.ofString()).body());
                for (JsonNode t : targets) if (t.path("type").asText().equals("page") && t.path("url").asText().startsWith(url)) wsUrl = t.path("webSocketDebuggerUrl").asText();
                if (wsUrl == null) Thread.sleep(100);
            }
            Cdp cdp = new Cdp(wsUrl);
            String probe = "window.tfmq ? JSON.stringify({q: tfmq.qualityPoints(), c: tfmq.chartPoints(), h: tfmq.heatmapCells(),"
                    + " s: tfmq.samplesDone(), g: document.getElementById('grid-q').naturalWidth,"
                    + " sel: document.querySelectorAll('#selection tbody tr').length, status: document.getElementById('status').textContent}) : null";
            String text = http.send(HttpRequest.newBuilder(URI.create(url + "metrics")).build(), HttpResponse.BodyHandlers.ofString()).body();
            assertTrue(text.contains("# TYPE tfmq_samples_done gauge"), text);
            assertFalse(text.contains("sample_id"), "no per-sample labels");
            List<JsonNode> seen = new ArrayList<>();
            deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
            while (System.nanoTime() < deadline && !run.isDone()) {
                try {
                    JsonNode v = cdp.eval(probe);
                    if (v.isTextual()) seen.add(JSON.readTree(v.asText()));
                } catch (java.util.concurrent.TimeoutException slow) {
                    // the page was busy; poll again
                }
                Thread.sleep(300);
            }
            List<JsonNode> during = seen.stream().filter(n -> n.get("s").asLong() > 0 && n.get("s").asLong() < 320).toList();
            assertTrue(during.size() >= 2, "page observed during the run: " + seen);
            JsonNode first = during.get(0), last = during.get(during.size() - 1);
            assertTrue(last.get("s").asLong() > first.get("s").asLong(), "progress advanced without a reload: " + first + " -> " + last);
            assertTrue(last.get("c").asInt() > first.get("c").asInt(), "chart data points grew without a reload: " + first + " -> " + last);
            assertTrue(last.get("q").asInt() > first.get("q").asInt(), "quality history grew: " + first + " -> " + last);
            assertTrue(last.get("h").asInt() > 0, "heatmap drawn: " + last);
            assertTrue(last.get("g").asInt() > 0, "quantized sample grid shown: " + last);
            assertTrue(last.get("sel").asInt() > 0, "selection table filled: " + last);

            // ---- Prometheus saw the run's metrics while it ran
            String q = "http://127.0.0.1:" + promPort + "/api/v1/query?query=";
            JsonNode samples = null;
            deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (System.nanoTime() < deadline) {
                try {
                    samples = JSON.readTree(http.send(HttpRequest.newBuilder(URI.create(q + "max_over_time(tfmq_samples_done%5B5m%5D)")).build(),
                            HttpResponse.BodyHandlers.ofString()).body());
                    if (samples.at("/data/result").size() > 0) break;
                } catch (java.io.IOException notYet) {
                    // Prometheus still starting
                }
                Thread.sleep(500);
            }
            assertTrue(samples != null && samples.at("/data/result").size() == 1, "Prometheus scraped tfmq_samples_done: " + samples
                    + "\n" + Files.readString(promDir.resolve("prometheus.log")));
            JsonNode series = samples.at("/data/result/0");
            assertEquals("live-test", series.at("/metric/run").asText());
            assertTrue(series.at("/value/1").asDouble() > 0);
            JsonNode perStep = JSON.readTree(http.send(HttpRequest.newBuilder(URI.create(q + "count(max_over_time(tfmq_step_temporal_rel_l2%5B5m%5D))")).build(),
                    HttpResponse.BodyHandlers.ofString()).body());
            assertTrue(perStep.at("/data/result/0/value/1").asInt() > 0, "per-step, per-member disturbance series: " + perStep);
            JsonNode jvm = JSON.readTree(http.send(HttpRequest.newBuilder(URI.create(q + "count(max_over_time(jvm_memory_used_bytes%5B5m%5D))")).build(),
                    HttpResponse.BodyHandlers.ofString()).body());
            assertTrue(jvm.at("/data/result/0/value/1").asInt() > 0, "JVM metrics: " + jvm);
        } finally {
            browser.descendants().forEach(ProcessHandle::destroyForcibly);
            browser.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            prom.destroy();
            prom.waitFor(10, TimeUnit.SECONDS);
        }
        assertEquals(0, run.get(120, TimeUnit.SECONDS).exitCode());
        assertTrue(Files.readString(tmp.resolve("run/summary.json"), StandardCharsets.UTF_8).contains("\"samples_per_side\" : 320"));
    }
}
