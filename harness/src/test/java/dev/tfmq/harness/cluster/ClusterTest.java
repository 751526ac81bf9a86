package dev.tfmq.harness.cluster;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tfmq.harness.ClusterWorkerMain;
import dev.tfmq.harness.TestModels;
import dev.tfmq.harness.run.RunDirectory;
import dev.tfmq.harness.run.RunLauncher;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Cluster runs with real worker JVMs on loopback: the statistics equal a single-node run's bit for bit; a worker
 * killed with SIGKILL in the middle of a batch loses no sample, a late worker gets work, and no batch is counted
 * twice; a worker whose model files differ from the coordinator's refuses the run (exit code 2).
 */
class ClusterTest {
    static final List<String> EXACT = List.of("/quality", "/paired", "/disturbance", "/selection", "/quality_history", "/run");

    @TempDir
    Path tmp;

    final List<Process> workers = new ArrayList<>();

    @AfterEach
    void stopWorkers() throws IOException {
        workers.forEach(Process::destroyForcibly);
        if (System.getenv("TFMQ_DEBUG") == null) return;
        try (var logs = Files.list(tmp)) {
            for (Path f : logs.filter(f -> f.toString().endsWith(".log")).toList()) System.out.println("== " + f + "\n" + Files.readString(f));
        }
    }

    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    private static PrintStream quiet() {
        return System.getenv("TFMQ_DEBUG") != null ? System.out : new PrintStream(new ByteArrayOutputStream());
    }

    private static String[] settings(String[] base, String... more) {
        List<String> all = new ArrayList<>(Arrays.asList(base));
        all.addAll(List.of(more));
        return all.toArray(String[]::new);
    }

    private JsonNode singleNode(String... sets) throws Exception {
        return singleNode(TestModels.parts(0), sets);
    }

    private JsonNode singleNode(RunLauncher.Parts parts, String... sets) throws Exception {
        Path base = tmp.resolve("single");
        new RunLauncher(TestModels.config(base, sets), quiet()).run(base.resolve("run"), false, parts);
        return RunDirectory.JSON.readTree(base.resolve("run/summary.json").toFile());
    }

    /** Starts the coordinator in this JVM (in the background); its run directory is tmp/cluster/run. */
    private CompletableFuture<JsonNode> coordinator(int port, RunLauncher.Parts parts, String... sets) {
        Path base = tmp.resolve("cluster");
        String[] all = settings(sets, "cluster.port=" + port, "cluster.local-workers=false");
        all = settings(all, ClusterWorkerMain.FAST_DOWNING);
        var cfg = TestModels.config(base, all);
        return CompletableFuture.supplyAsync(() -> {
            try {
                new RunLauncher(cfg, quiet()).cluster(true).run(base.resolve("run"), false, parts);
                return RunDirectory.JSON.readTree(base.resolve("run/summary.json").toFile());
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
    }

    /** A worker JVM (same JVM flags as this one, so the same kernels) joining the coordinator. */
    private Process worker(String name, int coordinatorPort, int port, String mode, int delayMillis, String... more) throws IOException {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx1g"));
        cmd.addAll(ManagementFactory.getRuntimeMXBean().getInputArguments().stream()
                .filter(a -> a.startsWith("--add-modules") || a.equals("jdk.incubator.vector") || a.startsWith("-Dtfmq.root")).toList());
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), ClusterWorkerMain.class.getName(),
                "127.0.0.1:" + coordinatorPort, Integer.toString(port), mode, Integer.toString(delayMillis)));
        cmd.addAll(List.of(more));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(tmp.resolve(name + ".log").toFile()).start();
        workers.add(p);
        return p;
    }

    private List<JsonNode> journal() throws IOException {
        Path f = tmp.resolve("cluster/run/progress.jsonl");
        if (!Files.exists(f)) return List.of();
        List<JsonNode> out = new ArrayList<>();
        for (String line : Files.readAllLines(f)) {
            if (!line.isBlank()) out.add(RunDirectory.JSON.readTree(line));
        }
        return out;
    }

    private void await(String what, Predicate<List<JsonNode>> done, CompletableFuture<?> run) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        while (!done.test(journal())) {
            if (run.isDone()) run.join();
            assertTrue(System.nanoTime() < deadline, "timed out waiting for " + what + "; journal: " + journal());
            Thread.sleep(50);
        }
    }

    private static long count(List<JsonNode> journal, String event, String node) {
        return journal.stream().filter(j -> j.path("event").asText().equals(event)
                && (node == null || j.path("node").asText().equals(node))).count();
    }

    private static void assertSameStatistics(JsonNode single, JsonNode cluster) {
        List<String> differ = EXACT.stream().filter(p -> !single.at(p).equals(cluster.at(p))).toList();
        assertEquals(List.of(), differ, "summary parts that differ between the single-node and the cluster run; first: "
                + (differ.isEmpty() ? "" : single.at(differ.get(0)) + " vs " + cluster.at(differ.get(0))));
    }

    /** Each batch committed exactly once, in order. */
    private void assertEveryBatchCommittedOnce(int batches) throws IOException {
        List<Integer> committed = journal().stream().filter(j -> j.path("event").asText().equals("batch"))
                .map(j -> j.path("index").asInt()).toList();
        List<Integer> expected = new ArrayList<>();
        for (int i = 0; i < batches; i++) expected.add(i);
        assertEquals(expected, committed);
    }

    private static Map<String, Long> batchesPerNode(JsonNode summary) {
        Map<String, Long> m = new TreeMap<>();
        summary.at("/cluster/nodes").forEach(n -> m.put(n.path("address").asText(), n.path("batches").asLong()));
        return m;
    }

    @Test
    void twoWorkerJvmsGiveTheSingleNodeStatisticsBitForBit() throws Exception {
        String[] sets = {"run.samples=64", "metrics.every-batches=3"};
        JsonNode single = singleNode(sets);
        int port = freePort();
        CompletableFuture<JsonNode> run = coordinator(port, TestModels.parts(0), settings(sets, "cluster.min-workers=2"));
        int p1 = freePort(), p2 = freePort();
        worker("w1", port, p1, "tiny", 20);
        worker("w2", port, p2, "tiny", 20);
        JsonNode cluster = run.get(180, TimeUnit.SECONDS);
        assertSameStatistics(single, cluster);
        assertEquals(64, cluster.at("/run/samples_per_side").asLong());
        assertEveryBatchCommittedOnce(8);
        Map<String, Long> perNode = batchesPerNode(cluster);
        String w1 = "pekko://tfmq@127.0.0.1:" + p1, w2 = "pekko://tfmq@127.0.0.1:" + p2;
        assertTrue(perNode.get(w1) > 0 && perNode.get(w2) > 0, "both workers computed batches: " + perNode);
        assertEquals(8, perNode.values().stream().mapToLong(Long::longValue).sum(), "the coordinator sampled nothing: " + perNode);
        assertEquals(0, cluster.at("/cluster/duplicate_results_dropped").asInt());
        assertTrue(cluster.at("/cluster/samples_per_second").asDouble() > 0);
        for (Process w : workers) {
            assertTrue(w.waitFor(60, TimeUnit.SECONDS), "worker still running after the run ended");
            assertEquals(0, w.exitValue(), "a worker ends with exit code 0 when the run is over");
        }
    }

    /**
     * Selection by the output error revised online: the workers sample every batch with the table the coordinator
     * released it with, so the revisions and every statistic equal the single-node run's.
     */
    @Test
    void twoWorkerJvmsReviseTheOnlineSelectionAsASingleNodeDoes() throws Exception {
        Path artifact = dev.tfmq.harness.OnlineTestModels.writeArtifact(tmp);
        String[] sets = {"run.samples=64", "metrics.every-batches=3", "monitor.probe-samples=8", "selection.online.min-samples=8",
                "selection.online.delay-batches=3"};
        JsonNode single = singleNode(dev.tfmq.harness.OnlineTestModels.parts(artifact, 0), sets);
        assertTrue(single.at("/selection/online/revisions").size() > 0, "the run revised its table: " + single.at("/selection/online"));
        int port = freePort();
        CompletableFuture<JsonNode> run = coordinator(port, dev.tfmq.harness.OnlineTestModels.parts(artifact, 0),
                settings(sets, "cluster.min-workers=2"));
        worker("w1", port, freePort(), "online", 20, artifact.toString());
        worker("w2", port, freePort(), "online", 20, artifact.toString());
        JsonNode cluster = run.get(180, TimeUnit.SECONDS);
        assertSameStatistics(single, cluster);
        assertEquals(single.at("/selection/online/revisions"), cluster.at("/selection/online/revisions"));
        assertEveryBatchCommittedOnce(8);
    }

    @Test
    void aWorkerKilledMidBatchLosesNoSampleAndALateWorkerGetsWork() throws Exception {
        String[] sets = {"run.samples=320", "metrics.every-batches=8", "run.checkpoint-every-batches=4"};
        JsonNode single = singleNode(sets);
        int port = freePort();
        CompletableFuture<JsonNode> run = coordinator(port, TestModels.parts(0), settings(sets, "cluster.min-workers=2"));
        int p1 = freePort(), p2 = freePort(), p3 = freePort();
        String w1 = "pekko://tfmq@127.0.0.1:" + p1, w2 = "pekko://tfmq@127.0.0.1:" + p2, w3 = "pekko://tfmq@127.0.0.1:" + p3;
        // w2 is slow, so work is left for the late worker whatever the machine's speed
        Process victim = worker("w1", port, p1, "tiny", 60);
        worker("w2", port, p2, "tiny", 300);
        await("w1 to be on its third batch", j -> count(j, "batch-assigned", w1) >= 3, run);
        new ProcessBuilder("kill", "-9", Long.toString(victim.pid())).start().waitFor();
        assertTrue(victim.waitFor(30, TimeUnit.SECONDS));
        assertEquals(137, victim.exitValue(), "killed by SIGKILL");
        worker("w3", port, p3, "tiny", 0);
        JsonNode cluster = run.get(240, TimeUnit.SECONDS);

        List<JsonNode> journal = journal();
        List<JsonNode> reassigned = journal.stream().filter(j -> j.path("event").asText().equals("batches-reassigned")).toList();
        assertEquals(1, reassigned.size(), "one node lost: " + reassigned);
        assertEquals(w1, reassigned.get(0).path("node").asText());
        assertTrue(reassigned.get(0).path("batches").size() >= 1, "the killed worker held a batch: " + reassigned);
        assertTrue(count(journal, "batch-assigned", w3) >= 1, "the late worker got work");
        assertSameStatistics(single, cluster);
        assertEquals(320, cluster.at("/run/samples_per_side").asLong());
        assertEveryBatchCommittedOnce(40);
        Map<String, Long> perNode = batchesPerNode(cluster);
        assertEquals(40, perNode.values().stream().mapToLong(Long::longValue).sum(), "each batch accepted once: " + perNode);
        assertTrue(perNode.get(w3) > 0, "the late worker delivered: " + perNode);
        assertTrue(cluster.at("/cluster/batches_reassigned").asInt() >= 1);
    }

    @Test
    void aWorkerWhoseModelDiffersFromTheCoordinatorsRefusesTheRun() throws Exception {
        Path model = tmp.resolve("model");
        TestModels.writeTinyModelFolder(model);
        RunLauncher.Parts t = TestModels.parts(0);
        RunLauncher.Parts fromFiles = new RunLauncher.Parts(null, null, t.featurizer(), t.reference(), null, null, null);
        int port = freePort();
        CompletableFuture<JsonNode> run = coordinator(port, fromFiles, "run.samples=16", "model.path=\"" + model + "\"",
                "quantization.recipe=none", "quantization.weight-bits=32", "quantization.activation-bits=32", "cluster.min-workers=1");
        await("sampling to start", j -> count(j, "sampling", null) == 1, run);
        Path touched = model.resolve("config.json");
        String original = Files.readString(touched);
        Files.writeString(touched, original + "\n");
        Process refused = worker("refused", port, freePort(), "files", 0);
        assertTrue(refused.waitFor(120, TimeUnit.SECONDS), "the worker with other files did not stop");
        String log = Files.readString(tmp.resolve("refused.log"));
        assertEquals(2, refused.exitValue(), log);
        assertTrue(log.contains("model " + model + " (SHA-256 of the folder) differs from the coordinator's"), log);
        await("the refusal to be journaled", j -> count(j, "worker-refused", null) == 1, run);
        assertTrue(!run.isDone(), "the coordinator keeps the run for other workers");

        Files.writeString(touched, original);
        Process good = worker("good", port, freePort(), "files", 0);
        JsonNode summary = run.get(180, TimeUnit.SECONDS);
        assertEquals(16, summary.at("/run/samples_per_side").asLong());
        assertTrue(good.waitFor(60, TimeUnit.SECONDS));
        assertEquals(0, good.exitValue());
    }
}
