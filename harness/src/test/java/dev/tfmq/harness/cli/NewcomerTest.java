package dev.tfmq.harness.cli;

import dev.tfmq.model.data.FashionMnist;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/**
 * What a newcomer meets first (issue 12): the quickstart needs no dataset, a run that does need an absent one fails
 * before any calibration with the command that provides it, and every subcommand answers --help.
 */
class NewcomerTest {
    @TempDir
    Path dir;
    String before;

    /** The dataset location points at an empty folder: as on a machine without the Debian package. */
    @BeforeEach
    void hideDataset() throws Exception {
        before = System.getProperty("tfmq.datasets.fashion-mnist");
        System.setProperty("tfmq.datasets.fashion-mnist", Files.createDirectories(dir.resolve("no-datasets")).toString());
    }

    @AfterEach
    void restore() {
        if (before == null) System.clearProperty("tfmq.datasets.fashion-mnist");
        else System.setProperty("tfmq.datasets.fashion-mnist", before);
    }

    Path quickstart() {
        return CliCommandsTest.root().resolve("configs/quickstart.conf");
    }

    @Test
    void quickstartResolvesWithoutTheDataset() {
        assertFalse(FashionMnist.available());
        CliCommandsTest.Run r = CliCommandsTest.run("quickstart", "--check", "--run-dir", dir.resolve("run").toString(),
                "--set", "quantization.cache-dir=" + dir.resolve("cache"));
        assertEquals(0, r.code(), r.out() + r.err());
        assertTrue(r.out().contains("models/fmnist-features/fashion-mnist-train.npz"), r.out());
        assertFalse(Files.exists(dir.resolve("run")), "--check writes nothing");
    }

    @Test
    void aRunThatNeedsTheAbsentDatasetFailsBeforeCalibration() {
        long t0 = System.nanoTime();
        CliCommandsTest.Run r = CliCommandsTest.run("run", quickstart().toString(), "--run-dir", dir.resolve("run").toString(),
                "--set", "metrics.reference.count=5000", "--set", "quantization.cache-dir=" + dir.resolve("cache"));
        double secs = (System.nanoTime() - t0) / 1e9;
        assertEquals(2, r.code(), r.out() + r.err());
        assertTrue(secs < 5, "failed after " + secs + " s");
        assertFalse(r.out().contains("preparing the quantized model"), "no calibration started: " + r.out());
        assertTrue(r.err().contains("tfmq.metrics.reference.dataset") && r.err().contains("reference.count = 5000"), r.err());
        assertTrue(r.err().contains(FashionMnist.INSTALL) && r.err().contains("TFMQ_FASHION_MNIST_DIR")
                && r.err().contains(dir.resolve("no-datasets").toString()), r.err());
        assertTrue(r.err().contains("reference.count = 60000"), "names the bundled alternative: " + r.err());
        assertFalse(r.err().contains("\tat "), "no stack trace: " + r.err());
    }

    @Test
    void missingInputsAreNamedByTheirConfigKey() {
        CliCommandsTest.Run model = CliCommandsTest.run("run", quickstart().toString(), "--check", "--set", "model.path=no-such-model",
                "--run-dir", dir.resolve("a").toString());
        assertEquals(2, model.code());
        assertTrue(model.err().contains("tfmq.model.path") && model.err().contains("no-such-model"), model.err());
        CliCommandsTest.Run features = CliCommandsTest.run("run", quickstart().toString(), "--check", "--set",
                "metrics.features=" + dir, "--run-dir", dir.resolve("b").toString());
        assertEquals(2, features.code());
        assertTrue(features.err().contains("tfmq.metrics.features") && features.err().contains("has no config.json"), features.err());
        CliCommandsTest.Run npz = CliCommandsTest.run("run", quickstart().toString(), "--check", "--set",
                "metrics.reference.dataset=" + dir.resolve("missing.npz"), "--run-dir", dir.resolve("c").toString());
        assertEquals(2, npz.code());
        assertTrue(npz.err().contains("missing.npz") && npz.err().contains("no such file"), npz.err());
    }

    @Test
    void aBadSelectionMeasureFailsWithExitTwoNamingTheKey() {
        Path recipe = CliCommandsTest.root().resolve("configs/recipes/tfmq-w4a8.conf");
        CliCommandsTest.Run q = CliCommandsTest.run("quantize", "--config", recipe.toString(), "--out", dir.resolve("a.safetensors").toString(),
                "--set", "recipe.temporal.selection.measure=bogus");
        assertEquals(2, q.code(), q.out() + q.err());
        assertTrue(q.err().contains("recipe.temporal.selection.measure") && q.err().contains("'bogus' is not one of"), q.err());
        assertFalse(Files.exists(dir.resolve("a.safetensors")));
        long t0 = System.nanoTime();
        CliCommandsTest.Run run = CliCommandsTest.run("run", quickstart().toString(), "--check", "--run-dir", dir.resolve("r").toString(),
                "--set", "quantization.overrides.recipe.temporal.selection.measure=bogus", "--set", "quantization.cache-dir=" + dir.resolve("cache"));
        assertEquals(2, run.code(), run.out() + run.err());
        assertTrue(run.err().contains("recipe.temporal.selection.measure") && run.err().contains("bogus"), run.err());
        assertTrue((System.nanoTime() - t0) / 1e9 < 5, "checked before any expensive phase");
        CliCommandsTest.Run rule = CliCommandsTest.run("run", quickstart().toString(), "--check", "--run-dir", dir.resolve("s").toString(),
                "--set", "selection.online.confidence=2");
        assertEquals(2, rule.code(), rule.out() + rule.err());
        assertTrue(rule.err().contains("tfmq.selection.online.confidence"), rule.err());
    }

    @Test
    void everySubcommandAnswersHelp() {
        List<List<String>> commands = new ArrayList<>();
        collect(new CommandLine(new Main()), new ArrayList<>(), commands);
        assertTrue(commands.size() > 15, "found " + commands);
        for (List<String> c : commands) {
            List<String> args = new ArrayList<>(c);
            args.add("--help");
            CliCommandsTest.Run r = CliCommandsTest.run(args.toArray(String[]::new));
            assertEquals(0, r.code(), String.join(" ", args) + ": " + r.err());
            assertTrue(r.out().contains("Usage:"), String.join(" ", args) + ": " + r.out());
        }
    }

    private static void collect(CommandLine cl, List<String> path, List<List<String>> out) {
        for (var e : cl.getSubcommands().entrySet()) {
            if (e.getValue().getCommand() instanceof CommandLine.HelpCommand) continue;
            List<String> p = new ArrayList<>(path);
            p.add(e.getKey());
            out.add(p);
            collect(e.getValue(), p, out);
        }
    }
}
