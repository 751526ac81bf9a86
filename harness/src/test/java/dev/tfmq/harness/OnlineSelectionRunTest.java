package dev.tfmq.harness;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tfmq.harness.run.RunDirectory;
import dev.tfmq.harness.run.RunLauncher;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/**
 * A run whose quantized side was selected by the output error: it starts from the calibration-time table, revises
 * it online from the probe samples' errors, journals every revision, and a run killed mid-way and resumed ends with
 * the same revisions and numbers as an uninterrupted one.
 */
class OnlineSelectionRunTest {
    static final List<String> EXACT = List.of("/quality", "/paired", "/disturbance", "/selection", "/quality_history", "/run");
    static final String[] SETTINGS = {"run.samples=64", "run.batch-size=8", "monitor.probe-samples=8", "run.checkpoint-every-batches=2",
            "metrics.every-batches=3", "selection.online.min-samples=8"};

    @TempDir
    static Path artifacts;
    static Path artifact;

    @BeforeAll
    static void calibrate() throws IOException {
        artifact = OnlineTestModels.writeArtifact(artifacts);
    }

    private static JsonNode run(Path base, boolean resume, int crashAt) throws Exception {
        var cfg = TestModels.config(base, SETTINGS);
        PrintStream log = System.getenv("TFMQ_DEBUG") != null ? System.out : new PrintStream(new ByteArrayOutputStream());
        new RunLauncher(cfg, log).run(base.resolve("run"), resume, OnlineTestModels.parts(artifact, crashAt));
        return RunDirectory.JSON.readTree(base.resolve("run/summary.json").toFile());
    }

    static List<JsonNode> journal(Path base, String event) throws IOException {
        List<JsonNode> out = new java.util.ArrayList<>();
        for (String l : Files.readAllLines(base.resolve("run/progress.jsonl"))) {
            JsonNode n = RunDirectory.JSON.readTree(l);
            if (n.path("event").asText().equals(event)) out.add(n);
        }
        return out;
    }

    @Test
    void revisionsAreJournaledAppliedLaterAndRestoredOnResume(@TempDir Path tmp) throws Exception {
        JsonNode a = run(tmp.resolve("a"), false, 0);
        JsonNode online = a.at("/selection/online");
        assertEquals("output", a.at("/selection/measure").asText());
        assertEquals(6, online.path("per_step").size(), "one serving per sampling step");
        int revisions = online.path("revisions").size();
        assertTrue(revisions > 0, "the inverted calibration table was revised: " + online);
        List<JsonNode> journaled = journal(tmp.resolve("a"), "selection-revised");
        assertEquals(revisions, journaled.size(), "every revision is in the journal once");
        for (JsonNode r : journaled) {
            assertEquals(r.path("decided_after_batch").asInt() + 2, r.path("from_batch").asInt(), "applies delay-batches after its commit");
            assertTrue(r.path("n").asLong() >= 8, "not before min-samples: " + r);
            boolean toCache = r.path("to").asText().equals("cache");
            assertTrue(toCache ? r.path("low").asDouble() > 0 : r.path("high").asDouble() < 0, "the interval excluded zero: " + r);
        }
        // every time-step flips at most once
        assertEquals(revisions, journaled.stream().map(r -> r.path("timestep").asLong()).distinct().count());
        assertEquals("output", journal(tmp.resolve("a"), "sampling").get(0).path("measure").asText());

        // killed in batch 5 (17 quantized forward calls per batch: 6 steps, 5 probes, 6 probes of the other serving)
        Path b = tmp.resolve("b");
        Exception e = assertThrows(RuntimeException.class, () -> run(b, false, 17 * 5 + 4));
        assertTrue(String.valueOf(e.getMessage()).contains("injected crash"), e.toString());
        // a copy whose journal lost its revision lines is refused, not continued from either record
        Path c = tmp.resolve("c");
        copy(b.resolve("run"), c.resolve("run"));
        List<String> lines = Files.readAllLines(c.resolve("run/progress.jsonl"));
        Files.write(c.resolve("run/progress.jsonl"), lines.stream().filter(l -> !l.contains("selection-revised")).toList());
        var refused = assertThrows(IllegalStateException.class, () -> run(c, true, 0));
        assertTrue(refused.getMessage().contains("selection revisions"), refused.getMessage());

        JsonNode resumed = run(b, true, 0);
        List<String> differ = EXACT.stream().filter(p -> !a.at(p).equals(resumed.at(p))).toList();
        assertEquals(List.of(), differ, "summary parts that differ after resume; first: "
                + (differ.isEmpty() ? "" : a.at(differ.get(0)) + " vs " + resumed.at(differ.get(0))));
        JsonNode resume = journal(b, "resume").get(0);
        assertTrue(resume.path("selection_revisions").asInt() > 0, "the checkpoint's revisions were restored: " + resume);
        assertTrue(resumed.at("/throughput/samples_this_session").asLong() < 64, "the resume did not start from scratch");
    }

    private static void copy(Path from, Path to) throws IOException {
        try (var files = Files.walk(from)) {
            for (Path p : files.toList()) {
                Path q = to.resolve(from.relativize(p).toString());
                if (Files.isDirectory(p)) Files.createDirectories(q);
                else Files.copy(p, q);
            }
        }
    }
}
