package dev.tfmq.harness;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tfmq.harness.run.RunDirectory;
import dev.tfmq.harness.run.RunLauncher;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A run interrupted at any point and resumed ends with exactly the numbers of an uninterrupted run. */
class ResumeTest {
    static final String[] SETTINGS = {"run.samples=64", "run.checkpoint-every-batches=2", "metrics.every-batches=3"};
    static final List<String> EXACT = List.of("/quality", "/paired", "/disturbance", "/selection", "/quality_history", "/run");

    @TempDir
    Path tmp;

    private JsonNode run(Path base, boolean resume, int crashAt) throws Exception {
        var cfg = TestModels.config(base, SETTINGS);
        new RunLauncher(cfg, System.getenv("TFMQ_DEBUG") != null ? System.out : new PrintStream(new ByteArrayOutputStream())).run(base.resolve("run"), resume, TestModels.parts(crashAt));
        return RunDirectory.JSON.readTree(base.resolve("run/summary.json").toFile());
    }

    private static void assertSameNumbers(JsonNode a, JsonNode b) {
        List<String> differ = EXACT.stream().filter(p -> !a.at(p).equals(b.at(p))).toList();
        assertEquals(List.of(), differ, "summary parts that differ after resume; first: "
                + (differ.isEmpty() ? "" : a.at(differ.get(0)) + " vs " + b.at(differ.get(0))));
        assertEquals(64, b.at("/run/samples_per_side").asLong());
    }

    @Test
    void crashAfterJournalBeforeCheckpointThenResumeGivesIdenticalNumbers() throws Exception {
        JsonNode reference = run(tmp.resolve("a"), false, 0);
        // 11 quantized forward calls per batch (6 steps + 5 probes): crash in batch 3, after batch 2 was journaled
        // but only batches 0-1 were checkpointed
        Exception e = assertThrows(RuntimeException.class, () -> run(tmp.resolve("b"), false, 11 * 3 + 4));
        assertTrue(String.valueOf(e.getMessage()).contains("injected crash"), e.toString());
        List<String> journal = Files.readAllLines(tmp.resolve("b/run/progress.jsonl"));
        assertTrue(journal.stream().anyMatch(l -> l.contains("\"event\":\"batch\"") && l.contains("\"index\":2")), journal.toString());
        assertThrows(IllegalArgumentException.class, () -> run(tmp.resolve("b"), false, 0), "refuses to overwrite without --resume");
        // what a checkpoint killed between create and rename leaves (issue 14: they survived a successful resume)
        Path stale = Files.createFile(tmp.resolve("b/run/.checkpoint.cbor.4242.tmp"));
        Path staleGrid = Files.createFile(tmp.resolve("b/run/grids/.latest-fp.png.77.tmp"));
        Path notOurs = Files.createFile(tmp.resolve("b/run/notes.tmp"));
        JsonNode resumed = run(tmp.resolve("b"), true, 0);
        assertSameNumbers(reference, resumed);
        assertEquals(64 - 16, resumed.at("/throughput/samples_this_session").asLong(), "only uncommitted batches were generated again");
        assertFalse(Files.exists(stale) || Files.exists(staleGrid), "stale temp files are removed by the next commit");
        assertTrue(Files.exists(notOurs), "files not named as our temp files are left alone");
        // issue 14: --resume on a missing directory used to start a fresh run
        Exception missing = assertThrows(java.io.FileNotFoundException.class, () -> run(tmp.resolve("typo"), true, 0));
        assertTrue(missing.getMessage().contains("--resume") && missing.getMessage().contains("does not exist"), missing.getMessage());
        assertFalse(Files.exists(tmp.resolve("typo/run")), "nothing was created");
    }

    /** Starts {@link ResumeMain} in a new JVM with this JVM's module flags. */
    private static Process child(Path dir, boolean resume) throws Exception {
        List<String> cmd = new java.util.ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx2g"));
        // the same JVM flags as this one (e.g. --add-modules jdk.incubator.vector selects the fused kernels)
        cmd.addAll(java.lang.management.ManagementFactory.getRuntimeMXBean().getInputArguments().stream()
                .filter(a -> a.startsWith("--add-modules") || a.equals("jdk.incubator.vector")).toList());
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), ResumeMain.class.getName(), dir.toString()));
        if (resume) cmd.add("--resume");
        Files.createDirectories(dir);
        return new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(dir.resolve(resume ? "resume.log" : "child.log").toFile()).start();
    }

    /**
     * As a user would: an uninterrupted CLI-like process, and a second one killed with SIGKILL mid-run and resumed
     * in a third. (Each run in a fresh JVM, as the CLI does.)
     */
    @Test
    void killMinus9InASubprocessThenResumeGivesIdenticalNumbers() throws Exception {
        Path a = tmp.resolve("a"), b = tmp.resolve("b");
        Process full = child(a, false);
        Process p = child(b, false);
        Path journal = b.resolve("run/progress.jsonl");
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(180);
        while (System.nanoTime() < deadline) {
            if (Files.exists(journal) && Files.readAllLines(journal).stream().filter(l -> l.contains("\"event\":\"batch\"")).count() >= 3) break;
            if (!p.isAlive()) break;
            Thread.sleep(20);
        }
        assertTrue(p.isAlive(), "child ended before it could be killed: " + Files.readString(b.resolve("child.log")));
        new ProcessBuilder("kill", "-9", Long.toString(p.pid())).start().waitFor();
        p.waitFor(30, TimeUnit.SECONDS);
        assertEquals(137, p.exitValue(), "killed by SIGKILL");
        assertTrue(Files.notExists(b.resolve("run/summary.json")));
        Process resume = child(b, true);
        assertTrue(resume.waitFor(180, TimeUnit.SECONDS) && resume.exitValue() == 0, "resume failed: " + Files.readString(b.resolve("resume.log")));
        assertTrue(full.waitFor(180, TimeUnit.SECONDS) && full.exitValue() == 0, "full run failed: " + Files.readString(a.resolve("child.log")));
        JsonNode reference = RunDirectory.JSON.readTree(a.resolve("run/summary.json").toFile());
        JsonNode resumed = RunDirectory.JSON.readTree(b.resolve("run/summary.json").toFile());
        assertSameNumbers(reference, resumed);
        assertTrue(resumed.at("/throughput/samples_this_session").asLong() < 64, "resume did not start from scratch");
        assertTrue(Files.readString(journal).contains("\"event\":\"resume\""));
    }
}
