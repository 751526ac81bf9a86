package dev.tfmq.harness.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tfmq.model.data.PixelRange;
import dev.tfmq.model.data.PngImages;
import dev.tfmq.model.io.Npz;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/** Issue 14 as a hostile user meets it: every bad input is exit 2 with a message naming it, before any work. */
class HardeningTest {
    @TempDir
    Path dir;

    static Path quickstart() {
        return CliCommandsTest.root().resolve("configs/quickstart.conf");
    }

    static void assertRefused(CliCommandsTest.Run r, String... parts) {
        assertEquals(2, r.code(), r.out() + r.err());
        for (String p : parts) assertTrue(r.err().contains(p), "'" + p + "' in: " + r.err());
        assertFalse(r.err().contains("\tat ") || r.err().contains("Exception"), "no stack trace or exception name: " + r.err());
    }

    @Test
    void runInputsThatCouldOnlyFailLateAreRefusedByTheCheck() {
        String runDir = dir.resolve("r").toString();
        // run.samples = 1 used to sample and checkpoint, then fail with a stack trace
        assertRefused(CliCommandsTest.run("run", quickstart().toString(), "--check", "--run-dir", runDir, "--set", "run.samples=1"),
                "tfmq.run.samples", "= 1", "[2, 10000000]");
        // a run name is one folder under runs/, never a path out of it
        for (String name : new String[]{"../../x", "a/b", "..", ".hidden", ""}) {
            assertRefused(CliCommandsTest.run("run", quickstart().toString(), "--check", "--set", "run.name=\"" + name + "\""),
                    "tfmq.run.name", "a plain name");
        }
        assertFalse(Files.exists(CliCommandsTest.root().resolve("../x")) && Files.isDirectory(CliCommandsTest.root().resolve("../x/grids")));
        // --resume on a directory that does not exist is a mistake, not a fresh run
        assertRefused(CliCommandsTest.run("run", quickstart().toString(), "--check", "--resume", "--run-dir", dir.resolve("typo").toString()),
                "--resume", dir.resolve("typo").toString(), "does not exist");
        assertFalse(Files.exists(dir.resolve("typo")));
    }

    private Path npz(String name, Map<String, INDArray> arrays) throws Exception {
        Path f = dir.resolve(name);
        Npz.write(f, arrays);
        return f;
    }

    private static Map<String, INDArray> gaussian(int d, double diagonal) {
        Map<String, INDArray> a = new LinkedHashMap<>();
        a.put("mu", Nd4j.zeros(DataType.DOUBLE, d));
        a.put("sigma", Nd4j.eye(d).castTo(DataType.DOUBLE).muli(diagonal));
        a.put("n", Nd4j.createFromArray(100L));
        return a;
    }

    @Test
    void fidRefusesImpossibleStatisticsAndWorksOnAHandfulOfImages() throws Exception {
        Path good = npz("good.npz", gaussian(4, 1.0));
        // a negative variance used to give "fid": -100.09 with exit 0
        Path negative = npz("negative.npz", gaussian(4, -25.0));
        assertRefused(CliCommandsTest.run("fid", good.toString(), negative.toString()),
                negative.toString(), "'sigma' diagonal entry [0, 0] = -25.0 is negative");
        Map<String, INDArray> skew = gaussian(4, 1.0);
        skew.get("sigma").putScalar(new long[]{0, 3}, 0.5);
        Path skewed = npz("skew.npz", skew);
        assertRefused(CliCommandsTest.run("fid", skewed.toString(), good.toString()), skewed.toString(), "'sigma' is not symmetric");
        CliCommandsTest.Run ok = CliCommandsTest.run("fid", good.toString(), npz("good2.npz", gaussian(4, 4.0)).toString());
        assertEquals(0, ok.code(), ok.err());

        // a statistics file of another feature network fails before any image is featurised
        Path images = dir.resolve("few");
        PngImages.write(images, Nd4j.rand(DataType.FLOAT, 3, 1, 28, 28), PixelRange.ZERO_ONE, 0);
        assertRefused(CliCommandsTest.run("fid", good.toString(), images.toString()), good.toString(), "'mu' has 4 entries", "256-d");

        // 2-6 images used to fail inside a bootstrap replicate; now they give a (wide) interval
        Path more = dir.resolve("more");
        PngImages.write(more, Nd4j.rand(DataType.FLOAT, 40, 1, 28, 28), PixelRange.ZERO_ONE, 0);
        for (int n : new int[]{2, 3, 6}) {
            Path folder = dir.resolve("n" + n);
            PngImages.write(folder, Nd4j.rand(DataType.FLOAT, n, 1, 28, 28), PixelRange.ZERO_ONE, 0);
            CliCommandsTest.Run r = CliCommandsTest.run("fid", folder.toString(), more.toString());
            assertEquals(0, r.code(), r.err());
            JsonNode j = new ObjectMapper().readTree(r.out());
            assertEquals(n, j.get("n_a").asInt());
            assertTrue(j.get("fid_ci").get("replicates").asInt() >= 2, r.out());
        }
        Path one = dir.resolve("one");
        PngImages.write(one, Nd4j.rand(DataType.FLOAT, 1, 1, 28, 28), PixelRange.ZERO_ONE, 0);
        assertRefused(CliCommandsTest.run("fid", one.toString(), more.toString()), "needs at least 2 images, has 1");
        assertRefused(CliCommandsTest.run("fid", good.toString(), good.toString(), "--confidence", "1.5"), "--confidence 1.5");
    }

    @Test
    void aSmallNpzDeclaringAHugeArrayIsANamedErrorNotAnOutOfMemoryError() throws Exception {
        Path bomb = dir.resolve("bomb.npz");
        String dict = "{'descr': '<f8', 'fortran_order': False, 'shape': (16384, 16384), }";
        byte[] h = (dict + " ".repeat(128 - 10 - dict.length() - 1) + "\n").getBytes();
        try (java.util.zip.ZipOutputStream z = new java.util.zip.ZipOutputStream(Files.newOutputStream(bomb))) {
            z.putNextEntry(new java.util.zip.ZipEntry("sigma.npy"));
            z.write(new byte[]{(byte) 0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, (byte) h.length, 0});
            z.write(h);
            z.write(new byte[1 << 21]);
            z.closeEntry();
        }
        assertRefused(CliCommandsTest.run("fid", bomb.toString(), bomb.toString()), "bomb.npz:sigma.npy", "declares 2147483648 bytes",
                "over the limit");
    }

    @Test
    void aDashboardOnANonLoopbackAddressNeedsAToken() {
        assertTrue(dev.tfmq.harness.web.Dashboard.isLoopback("127.0.0.1") && dev.tfmq.harness.web.Dashboard.isLoopback("localhost")
                && dev.tfmq.harness.web.Dashboard.isLoopback("::1"));
        assertFalse(dev.tfmq.harness.web.Dashboard.isLoopback("0.0.0.0"));
        assertRefused(CliCommandsTest.run("run", quickstart().toString(), "--check", "--run-dir", dir.resolve("a").toString(),
                        "--set", "dashboard.host=0.0.0.0"),
                "tfmq.dashboard.host", "0.0.0.0", "tfmq.dashboard.token", "TFMQ_DASHBOARD_TOKEN");
        CliCommandsTest.Run withToken = CliCommandsTest.run("run", quickstart().toString(), "--check", "--run-dir", dir.resolve("b").toString(),
                "--set", "dashboard.host=0.0.0.0", "--set", "dashboard.token=abc");
        assertFalse(withToken.err().contains("tfmq.dashboard.host"), withToken.err());
        CliCommandsTest.Run off = CliCommandsTest.run("run", quickstart().toString(), "--check", "--run-dir", dir.resolve("c").toString(),
                "--set", "dashboard.host=0.0.0.0", "--set", "dashboard.enabled=false");
        assertFalse(off.err().contains("tfmq.dashboard.host"), off.err());
    }

    @Test
    void aMisspelledKeyFailsWithExitTwoInEveryCommandThatReadsAConfig() throws Exception {
        // issue 14, item 2: a test per command
        assertRefused(CliCommandsTest.run("run", quickstart().toString(), "--check", "--run-dir", dir.resolve("a").toString(),
                "--set", "run.sampels=8"), "tfmq.run.sampels", "samples");
        assertRefused(CliCommandsTest.run("quickstart", "--check", "--run-dir", dir.resolve("b").toString(),
                "--set", "metrics.bootstrap-replicate=8"), "tfmq.metrics.bootstrap-replicate", "bootstrap-replicates");
        Path recipe = CliCommandsTest.root().resolve("configs/recipes/tfmq-w4a8.conf");
        assertRefused(CliCommandsTest.run("quantize", "--config", recipe.toString(), "--out", dir.resolve("q.safetensors").toString(),
                "--set", "recipe.reconstruction.iteratons=3"), "iteratons", "iterations");
        assertFalse(Files.exists(dir.resolve("q.safetensors")));
        Path gate = dir.resolve("gate.conf");
        Files.writeString(gate, "tfmq.gate { rulez = [ { metric = fid, compare = absolute, margin = 1 } ] }");
        Path summary = dir.resolve("s.json");
        Files.writeString(summary, "{}");
        assertRefused(CliCommandsTest.run("gate", "--baseline", summary.toString(), "--candidate", summary.toString(), "--config",
                gate.toString()), "tfmq.gate.rulez", "did you mean 'rules'");
    }
}
