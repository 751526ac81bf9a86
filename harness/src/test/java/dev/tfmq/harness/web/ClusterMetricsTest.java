package dev.tfmq.harness.web;

import dev.tfmq.harness.actors.Publisher;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertTrue;

/** The members of a cluster run on /metrics (one series per node) and in the dashboard's state. */
class ClusterMetricsTest {
    @Test
    void membersBecomePerNodeSeriesAndADashboardEvent() throws Exception {
        PrometheusSink prometheus = new PrometheusSink("r", "tfmq");
        try (Dashboard d = Dashboard.start("127.0.0.1", 0, "r", "tfmq W4A8", prometheus)) {
            Publisher.MembersUpdate m = new Publisher.MembersUpdate(List.of(
                    new Publisher.NodeRow("pekko://tfmq@10.0.0.1:25520", List.of("coordinator"), "up", 0, 0, 0, 0),
                    new Publisher.NodeRow("pekko://tfmq@10.0.0.2:41000", List.of("worker"), "up", 7, 448, 1, 12.5)), 2);
            prometheus.publish("members", m);
            d.publish("members", m);
            String metrics = new String(prometheus.scrape(), StandardCharsets.UTF_8);
            for (String line : List.of("tfmq_cluster_members{recipe=\"tfmq\",run=\"r\"} 2.0",
                    "tfmq_node_samples_done{node=\"pekko://tfmq@10.0.0.2:41000\",recipe=\"tfmq\",run=\"r\"} 448.0",
                    "tfmq_node_batches_done{node=\"pekko://tfmq@10.0.0.2:41000\",recipe=\"tfmq\",run=\"r\"} 7.0",
                    "tfmq_node_throughput_samples_per_second{node=\"pekko://tfmq@10.0.0.2:41000\",recipe=\"tfmq\",run=\"r\"} 12.5")) {
                assertTrue(metrics.contains(line), line + " missing from\n" + metrics);
            }
            String state = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(d.url() + "api/state")).build(),
                    HttpResponse.BodyHandlers.ofString()).body();
            assertTrue(state.contains("\"members\":{\"members\":[") && state.contains("\"samplesPerSecond\":12.5"), state);
            String page = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(d.url())).build(),
                    HttpResponse.BodyHandlers.ofString()).body();
            assertTrue(page.contains("id=\"members\""), "the page has the members table");
        }
    }
}
