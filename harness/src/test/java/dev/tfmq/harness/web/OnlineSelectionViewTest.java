package dev.tfmq.harness.web;

import dev.tfmq.harness.actors.Publisher;
import dev.tfmq.harness.eval.OnlineSelection;
import dev.tfmq.harness.eval.SelectionTable;
import dev.tfmq.strategies.temporal.OutputErrors;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/** An online revision of the selection reaches /metrics, the dashboard's state and its page. */
class OnlineSelectionViewTest {
    @Test
    void revisionsBecomeGaugesAndADashboardTable() throws Exception {
        Map<Long, String> serving = new LinkedHashMap<>();
        serving.put(900L, "tib");
        serving.put(100L, "tib");
        SelectionTable table = SelectionTable.byOutput(List.of("tib", "cache"), List.of("down_blocks.0.resnets.0.time_emb_proj"), serving,
                Map.of(900L, Map.of("tib", 0.02, "cache", 0.03), 100L, Map.of("tib", 0.05, "cache", 0.051)));
        OnlineSelection online = new OnlineSelection(table, new long[] {900, 100}, new OnlineSelection.Settings(4, 0.95, 2));
        // t = 100: the cache is clearly better online, although calibration chose the TIB
        List<OnlineSelection.Revision> r = online.commit(0, new OutputErrors(new long[] {900, 100},
                new double[][] {{0.020, 0.021, 0.019, 0.022}, {0.060, 0.061, 0.059, 0.062}},
                new double[][] {{0.030, 0.031, 0.029, 0.032}, {0.050, 0.051, 0.049, 0.052}}));
        assertEquals(1, r.size());
        assertEquals(100, r.get(0).timestep());
        assertEquals(2, r.get(0).fromBatch(), "in force delay-batches after the commit that decided it");
        assertEquals("tib", online.tableFor(1).stepChoice(100), "batch 1 was handed out before the revision");
        assertEquals("cache", online.tableFor(2).stepChoice(100));
        assertEquals("tib", online.tableFor(2).stepChoice(900));

        Publisher.SelectionUpdate u = new Publisher.SelectionUpdate(online.tableFor(Integer.MAX_VALUE), Map.of(), online.view());
        PrometheusSink prometheus = new PrometheusSink("r", "tfmq");
        try (Dashboard d = Dashboard.start("127.0.0.1", 0, "r", "tfmq W4A8", prometheus)) {
            prometheus.publish("selection", u);
            d.publish("selection", u);
            String metrics = new String(prometheus.scrape(), StandardCharsets.UTF_8);
            for (String line : List.of("tfmq_selection_revisions{recipe=\"tfmq\",run=\"r\"} 1.0",
                    "tfmq_selection_step_output_error{recipe=\"tfmq\",run=\"r\",step=\"1\",strategy=\"cache\"} 0.0505",
                    "tfmq_strategy_choices{recipe=\"tfmq\",run=\"r\",strategy=\"cache\"} 1.0")) {
                assertTrue(metrics.contains(line), line + " missing from\n" + metrics);
            }
            String state = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(d.url() + "api/state")).build(),
                    HttpResponse.BodyHandlers.ofString()).body();
            assertTrue(state.contains("\"online\":{\"steps\":[") && state.contains("\"revisions\":[{\"decidedAfterBatch\":0,\"fromBatch\":2"), state);
            String page = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(d.url())).build(),
                    HttpResponse.BodyHandlers.ofString()).body();
            assertTrue(page.contains("id=\"online-steps\""), "the page has the online selection table");
            String js = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(d.url() + "dashboard.js")).build(),
                    HttpResponse.BodyHandlers.ofString()).body();
            assertTrue(js.contains("function onlineSelection(o)"), "the script draws it");
        }
    }
}
