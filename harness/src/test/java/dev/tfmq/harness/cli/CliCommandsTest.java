package dev.tfmq.harness.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tfmq.model.data.PixelRange;
import dev.tfmq.model.data.PngImages;
import dev.tfmq.model.io.Npy;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.*;

/** The CLI commands of the runtime and metrics, run in-process on real files. */
class CliCommandsTest {
    @TempDir
    Path dir;

    static Path root() {
        return Path.of(System.getProperty("tfmq.root", "..")).toAbsolutePath().normalize();
    }

    static Path tiny() {
        return root().resolve("model/src/test/resources/fixtures/tiny-gray28");
    }

    record Run(int code, String out, String err) {}

    static Run run(String... args) {
        PrintStream oldOut = System.out;
        PrintStream oldErr = System.err;
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
        System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
        try {
            int code = Main.execute(args);
            return new Run(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
        } finally {
            System.setOut(oldOut);
            System.setErr(oldErr);
        }
    }

    @Test
    void modelForwardReproducesDiffusersOutput() throws Exception {
        Path out = dir.resolve("out.npy");
        Run r = run("model", "forward", "--model", tiny().resolve("unet").toString(), "--x", tiny().resolve("x.npy").toString(),
                "--t", tiny().resolve("t.npy").toString(), "--out", out.toString());
        assertEquals(0, r.code(), r.err());
        double err = Npy.read(out).sub(Npy.read(tiny().resolve("out.npy"))).amaxNumber().doubleValue();
        assertTrue(err < 1e-4, "max abs error " + err);
        Run bad = run("model", "forward", "--model", tiny().resolve("unet").toString(), "--x", tiny().resolve("x.npy").toString(),
                "--t", tiny().resolve("t.npy").toString(), "--out", out.toString(), "--dtype", "int8");
        assertEquals(2, bad.code());
        assertTrue(bad.err().contains("--dtype 'int8'"), bad.err());
    }

    @Test
    void modelForwardRefusesInputsItCannotRunBeforeRunningThem() throws Exception {
        // issue 14: 15x15 on two downsamplings crashed the JVM in libnd4jcpu; 3.7 was truncated to 3, NaN read as 0
        String unet = tiny().resolve("unet").toString();
        Path out = dir.resolve("out.npy");
        Path x15 = dir.resolve("x15.npy");
        Npy.write(x15, Nd4j.rand(DataType.FLOAT, 2, 1, 15, 15));
        Path t2 = dir.resolve("t2.npy");
        Npy.write(t2, Nd4j.createFromArray(10L, 20L));
        Run r = run("model", "forward", "--model", unet, "--x", x15.toString(), "--t", t2.toString(), "--out", out.toString());
        assertEquals(2, r.code(), r.err());
        assertTrue(r.err().contains(x15.toString()) && r.err().contains("height 15") && r.err().contains("multiple of 4"), r.err());
        assertFalse(r.err().contains("Exception") || r.err().contains("\tat "), r.err());
        Path empty = dir.resolve("empty.npy");
        Npy.write(empty, Nd4j.zeros(DataType.FLOAT, 0, 1, 28, 28));
        r = run("model", "forward", "--model", unet, "--x", empty.toString(), "--t", t2.toString(), "--out", out.toString());
        assertEquals(2, r.code(), r.err());
        assertTrue(r.err().contains("batch is empty"), r.err());

        Path x = tiny().resolve("x.npy");
        long batch = Npy.read(x).size(0);
        Object[][] steps = {
                {Nd4j.scalar(3.7), "time-step = 3.7 is not a whole number"},
                {Nd4j.scalar(Double.NaN), "time-step = NaN is not a whole number"},
                {Nd4j.scalar(-1.0), "time-step = -1.0 is negative"},
                {Nd4j.scalar(1000L), "outside the schedule's 1000 training time-steps [0, 999]"},
                {Nd4j.createFromArray(1L, 2L, 3L).reshape(1, 3), "must be a scalar or a vector"},
                {Nd4j.zeros(DataType.LONG, 0), "holds no time-step"},
                {Nd4j.zeros(DataType.LONG, batch + 1), (batch + 1) + " time-steps for a batch of " + batch},
        };
        for (Object[] c : steps) {
            Path t = dir.resolve("t.npy");
            Npy.write(t, (INDArray) c[0]);
            r = run("model", "forward", "--model", unet, "--x", x.toString(), "--t", t.toString(), "--out", out.toString());
            assertEquals(2, r.code(), c[1] + ": " + r.err());
            assertTrue(r.err().contains(t.toString()) && r.err().contains((String) c[1]), r.err());
        }
        assertFalse(Files.exists(out), "nothing is written for a refused input");
        // a whole number stored as a float is a valid time-step
        Path t = dir.resolve("t.npy");
        Npy.write(t, Nd4j.scalar(999.0));
        r = run("model", "forward", "--model", unet, "--x", x.toString(), "--t", t.toString(), "--out", out.toString());
        assertEquals(0, r.code(), r.err());
    }

    @Test
    void modelInfoCountsParametersAndMarksTheTib() {
        Run r = run("model", "info", "--model", tiny().resolve("unet").toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("parameters  1,163,105"), r.out());
        assertTrue(r.out().contains("FLOPs/image 0.429 GFLOP"), r.out());
        assertEquals(13, r.out().lines().filter(l -> l.endsWith("[TIB]")).count());
        Run missing = run("model", "info", "--model", dir.resolve("nothing").toString());
        assertEquals(2, missing.code());
        assertTrue(missing.err().contains("nothing"), missing.err());
    }

    @Test
    void sampleWritesAGrid() throws Exception {
        Path png = dir.resolve("grid.png");
        Path npy = dir.resolve("s.npy");
        Run r = run("sample", "--model", tiny().resolve("unet").toString(), "--steps", "2", "--num", "3", "--batch", "2",
                "--seed", "5", "--out", png.toString(), "--save-npy", npy.toString(), "--save-images", dir.resolve("imgs").toString());
        assertEquals(0, r.code(), r.err());
        assertEquals(3, dev.tfmq.model.data.ImageFolderReader.imageFiles(dir.resolve("imgs")).size());
        assertTrue(Files.size(png) > 100);
        INDArray s = Npy.read(npy);
        assertArrayEquals(new long[]{3, 1, 28, 28}, s.shape());
        // clip_sample keeps samples in [-1, 1]; a batch split of 2+1 draws the same noise as one batch of 3, so the
        // images agree up to float32 round-off (oneDNN blocks its sums differently per batch size)
        assertTrue(s.amaxNumber().doubleValue() <= 1.0);
        Path npy3 = dir.resolve("s3.npy");
        run("sample", "--model", tiny().resolve("unet").toString(), "--steps", "2", "--num", "3", "--batch", "3",
                "--seed", "5", "--out", png.toString(), "--save-npy", npy3.toString());
        assertEquals(0.0, Npy.read(npy3).sub(s).amaxNumber().doubleValue(), 1e-4);
    }

    @Test
    void sampleWithAQuantizedArtifact() throws Exception {
        Path unetDir = tiny().resolve("unet");
        var sc = dev.tfmq.model.scheduler.SchedulerConfig.builder(dev.tfmq.model.scheduler.SchedulerConfig.Kind.DDIM)
                .numTrainTimesteps(1000).build();
        var cal = new dev.tfmq.strategies.recipe.CalibrationSettings(sc, dev.tfmq.model.scheduler.SchedulerConfig.Kind.DDIM, 0.0, 4,
                dev.tfmq.strategies.recipe.CalibrationSettings.Spacing.CONFIG, dev.tfmq.strategies.recipe.CalibrationSettings.DataMode.QDIFFUSION,
                2, 2, 0, true, 8, 0.4, 0.4, 4, 1L << 24, null, 7);
        var cfg = com.typesafe.config.ConfigFactory.parseString("recipe.reconstruction { iterations = 3, batch-size = 2 }\n"
                        + "recipe.activation.step-size-reconstruction.iterations = 3")
                .withFallback(dev.tfmq.strategies.recipe.QuantizationRecipe.loadConfig(root().resolve("configs/recipes/q-diffusion-w4a8.conf")));
        var qm = dev.tfmq.strategies.recipe.RecipeRunner.quantize(dev.tfmq.model.unet.UNet2DModel.load(unetDir),
                dev.tfmq.strategies.recipe.QuantizationRecipe.fromConfig(cfg), cal, dev.tfmq.strategies.recipe.ProgressListener.NONE);
        Path artifact = dir.resolve("a.safetensors");
        dev.tfmq.strategies.recipe.QuantizationArtifact.write(artifact, qm);

        Path png = dir.resolve("g.png");
        Path fp = dir.resolve("fp.npy");
        Path q = dir.resolve("q.npy");
        assertEquals(0, run("sample", "--model", unetDir.toString(), "--steps", "3", "--num", "2", "--seed", "5",
                "--out", png.toString(), "--save-npy", fp.toString()).code());
        Run r = run("sample", "--model", unetDir.toString(), "--steps", "3", "--num", "2", "--seed", "5",
                "--out", png.toString(), "--save-npy", q.toString(), "--artifact", artifact.toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("quantized (q-diffusion)"), r.out());
        double diff = Npy.read(q).sub(Npy.read(fp)).amaxNumber().doubleValue();
        assertTrue(diff > 1e-3, "W4A8 samples differ from FP ones, max |diff| = " + diff);
        // the bias probe on the FP trajectories of the same model: one row per step, the layers, the CSV files
        Path csv = dir.resolve("probe");
        Run probe = run("probe", "bias", "--artifact", artifact.toString(), "--model", unetDir.toString(), "--steps", "3",
                "--num", "2", "--batch", "1", "--csv", csv.toString());
        assertEquals(0, probe.code(), probe.err());
        assertTrue(probe.out().contains("(q-diffusion W4A8), ddim 3 steps, 2 FP trajectories from seed 0"), probe.out());
        assertTrue(probe.out().contains("up_blocks.0.resnets.0.conv2"), probe.out());
        assertEquals(4, Files.readAllLines(csv.resolve("steps.csv")).size(), "header + 3 steps");
        assertTrue(Files.readString(csv.resolve("layers.csv")).contains("conv_out,fp,0,"));
        Run top = run("probe", "bias", "--artifact", artifact.toString(), "--model", unetDir.toString(), "--steps", "3",
                "--num", "1", "--top", "2", "--weights-only");
        assertEquals(0, top.code(), top.err());
        assertTrue(top.out().contains("activations off"), top.out());
        String layers = top.out().substring(top.out().indexOf("per layer"));
        assertEquals(4, layers.lines().count(), "title, header and the 2 layers of largest shift: " + layers);
        Run badProbe = run("probe", "bias", "--artifact", artifact.toString(), "--model", unetDir.toString(), "--num", "0");
        assertEquals(2, badProbe.code());
        assertTrue(badProbe.err().contains("--num must be >= 1"), badProbe.err());
        // issue 14 (integrity): a flipped byte in a packed tensor (same length) is refused, never sampled with
        Path corrupt = dir.resolve("corrupt.safetensors");
        byte[] bytes = Files.readAllBytes(artifact);
        bytes[bytes.length - 3] ^= 0x5a;
        Files.write(corrupt, bytes);
        Run flipped = run("sample", "--model", unetDir.toString(), "--steps", "3", "--num", "2", "--seed", "5",
                "--out", dir.resolve("c.png").toString(), "--artifact", corrupt.toString());
        assertEquals(2, flipped.code(), flipped.out() + flipped.err());
        assertTrue(flipped.err().contains(corrupt.toString()) && flipped.err().contains("data section SHA-256")
                && flipped.err().contains("the file is corrupt"), flipped.err());
        assertFalse(Files.exists(dir.resolve("c.png")));
        // an artifact is bound to the weights it was made from
        Path other = dir.resolve("other/unet");
        Files.createDirectories(other);
        Path cifar = root().resolve("model/src/test/resources/fixtures/ddpm-cifar-structure");
        for (String f : new String[] {"config.json", "diffusion_pytorch_model.safetensors"}) Files.copy(cifar.resolve(f), other.resolve(f));
        Files.createDirectories(dir.resolve("other/scheduler"));
        Files.copy(tiny().resolve("scheduler/scheduler_config.json"), dir.resolve("other/scheduler/scheduler_config.json"));
        Run wrong = run("sample", "--model", other.toString(), "--steps", "2", "--num", "1", "--out", png.toString(),
                "--artifact", artifact.toString());
        assertEquals(2, wrong.code());
        assertTrue(wrong.err().contains("SHA-256"), wrong.err());
    }

    @Test
    void dataPixelsMeasuresBrightnessAndSaturation() throws Exception {
        // four images: two white, one black, one mid-grey (128/255)
        INDArray imgs = Nd4j.zeros(DataType.FLOAT, 4, 1, 28, 28);
        imgs.slice(0).assign(1.0);
        imgs.slice(1).assign(1.0);
        imgs.slice(3).assign(128 / 255.0);
        Path folder = dir.resolve("px");
        PngImages.write(folder, imgs, PixelRange.ZERO_ONE, 0);
        Run r = run("data", "pixels", "--data", folder.toString());
        assertEquals(0, r.code(), r.err());
        double mean = (2 + 128 / 255.0) / 4;
        assertTrue(r.out().contains(String.format("%8.4f", mean)) && r.out().contains(" 50.000%") && r.out().contains(" 25.00%"), r.out());
        Run none = run("data", "pixels", "--data", dir.resolve("missing").toString());
        assertEquals(2, none.code());
        assertTrue(none.err().contains("missing"), none.err());
    }

    @Test
    void statsAndFidOnImageFoldersAndNpz() throws Exception {
        Path a = dir.resolve("a");
        Path b = dir.resolve("b");
        PngImages.write(a, Nd4j.rand(DataType.FLOAT, 40, 1, 28, 28), PixelRange.ZERO_ONE, 0);
        PngImages.write(b, Nd4j.rand(DataType.FLOAT, 30, 1, 28, 28).muli(0.5), PixelRange.ZERO_ONE, 0);
        Path stats = dir.resolve("a.npz");
        Run s = run("stats", "--data", a.toString(), "--out", stats.toString());
        assertEquals(0, s.code(), s.err());
        assertTrue(s.out().contains("N = 40"), s.out());

        ObjectMapper json = new ObjectMapper();
        Run same = run("fid", stats.toString(), stats.toString());
        assertEquals(0, same.code(), same.err());
        JsonNode j = json.readTree(same.out());
        assertEquals(0.0, j.get("fid").asDouble(), 1e-6);
        assertEquals(40, j.get("n_a").asInt());
        assertTrue(j.has("sfid"));

        Run diff = run("fid", stats.toString(), b.toString());
        assertEquals(0, diff.code(), diff.err());
        JsonNode d = json.readTree(diff.out());
        assertTrue(d.get("fid").asDouble() > 1.0, diff.out());
        assertEquals(30, d.get("n_b").asInt());
        assertTrue(d.has("fid_ci"), "a side featurised from images carries a bootstrap CI: " + diff.out());

        Run noWeights = run("fid", a.toString(), b.toString(), "--features", "inception");
        assertEquals(2, noWeights.code());
        assertTrue(noWeights.err().contains("--weights"), noWeights.err());
    }

    @Test
    void benchForwardAlternatesRoundsAndRunsTheReferenceWithoutTheLaunchersTuning() throws Exception {
        // a stand-in for the PyTorch script: answers only when the launcher's glibc/OpenMP settings were removed
        // from its environment (surefire sets MALLOC_MMAP_THRESHOLD_ like the launcher does)
        Path fake = dir.resolve("fake-python");
        java.nio.file.Files.writeString(fake, "#!/bin/sh\n"
                + "if [ -n \"$MALLOC_MMAP_THRESHOLD_\" ] || [ -n \"$OMP_WAIT_POLICY\" ]; then echo tuned env leaked; exit 3; fi\n"
                + "echo '{\"batch\": 1, \"median_s\": 0.5, \"torch\": \"fake\", \"threads\": 2}'\n"
                + "echo '{\"batch\": 2, \"median_s\": 1.0, \"torch\": \"fake\", \"threads\": 2}'\n");
        assertTrue(fake.toFile().setExecutable(true));
        assertNotNull(System.getenv("MALLOC_MMAP_THRESHOLD_"), "the test JVM runs with the launcher's setting");
        Run r = run("bench", "forward", "--model", tiny().resolve("unet").toString(), "--batches", "1,2", "--iters", "1",
                "--rounds", "2", "--python", fake.toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("median of 1 passes, then of 2 alternating rounds"), r.out());
        assertTrue(r.out().contains("note: PyTorch fake, 2 threads"), r.out());
        assertTrue(r.out().matches("(?s).*unet\\s+2\\s+[0-9.]+.*1000\\.0\\s+[0-9.]+x.*"), r.out());
        assertTrue(r.out().contains("unet batch 2: vs torch per round ["), r.out());
        assertFalse(r.out().contains("leaked"), r.out());
        assertEquals(2.5, dev.tfmq.harness.bench.ForwardBench.median(java.util.List.of(4.0, 1.0, 3.0, 2.0)));
        assertEquals(3.0, dev.tfmq.harness.bench.ForwardBench.median(java.util.List.of(3.0, 9.0, 1.0)));
        Run bad = run("bench", "forward", "--model", tiny().resolve("unet").toString(), "--rounds", "0", "--python", "off");
        assertNotEquals(0, bad.code());
        assertTrue((bad.out() + bad.err()).contains("--rounds must be at least 1, got 0"), bad.out() + bad.err());
    }

    @Test
    void benchReconReportsEveryUnitKindAgainstTheForwardPass() throws Exception {
        Path recipe = root().resolve("configs/recipes/tfmq-w4a8.conf");
        Path report = dir.resolve("recon.txt");
        Run r = run("bench", "recon", "--model", tiny().resolve("unet").toString(), "--config", recipe.toString(),
                "--iters", "4", "--rounds", "1", "--samples", "8", "--batch", "4", "--workspace-reference", "--report", report.toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("recipe tfmq (W4, TIB TIAR), batch 4, 4 iterations per unit (2 untimed)"), r.out());
        assertTrue(r.out().matches("(?s).*forward pass, batch 4: [0-9.]+ ms, [0-9.]+ GFLOP/s.*"), r.out());
        for (String kind : new String[] {"tib", "resnet", "attention", "layer", "all"}) {
            assertTrue(r.out().matches("(?s).*\\n" + kind + "\\s+[0-9]*\\s+[0-9.]+\\s+[0-9.]+\\s+[0-9.]+\\s+[0-9]+%\\s+[0-9.]+ \\([0-9.]+x\\).*"),
                    kind + " row missing:\n" + r.out());
        }
        assertTrue(r.out().contains("at 5,000 iterations per unit"), r.out());
        assertEquals(r.out(), java.nio.file.Files.readString(report));
        Run bad = run("bench", "recon", "--model", tiny().resolve("unet").toString(), "--iters", "2");
        assertEquals(2, bad.code());
        assertTrue(bad.err().contains("--iters must be more than 2, got 2"), bad.err());
    }
}
